// Matters the firm removed from this computer: one notice each, whether it happened while the
// app was open (the `matter-removed` event, naming the matter if its title was on screen) or
// before a restart (what the store kept: no title), until the lawyer dismisses it.
import { useEffect, useRef, useState } from "preact/hooks";
import { errorMessage, events, ipc } from "../ipc";
import {
  liveNotice,
  removalNoticeText,
  takeTitleOnScreen,
  withLiveRemoval,
  withStoredRemovals,
  withoutNotice,
  type RemovalNotice,
} from "../logic/matterRemoval";

export function RemovalNotices() {
  const [notices, setNotices] = useState<RemovalNotice[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  // Dismissed while the stored list was still loading: it must not come back with it.
  const dismissed = useRef(new Set<string>());

  useEffect(() => {
    const unlisten = events.matterRemoved((removal) => {
      dismissed.current.delete(removal.case_id);
      setNotices((list) => withLiveRemoval(list, liveNotice(removal, takeTitleOnScreen(removal.case_id))));
    });
    ipc
      .removalNotices()
      .then((stored) => setNotices((list) => withStoredRemovals(list, stored, dismissed.current)))
      .catch((error: unknown) => setProblem(errorMessage(error)));
    return () => void unlisten.then((stop) => stop());
  }, []);

  const dismiss = (caseId: string) => {
    dismissed.current.add(caseId);
    setNotices((list) => withoutNotice(list, caseId));
    ipc.dismissRemovalNotice(caseId).catch((error: unknown) => setProblem(errorMessage(error)));
  };

  return (
    <>
      {notices.map((notice) => (
        <p class="error matter-removed" role="alert" data-testid="matter-removed" data-case-id={notice.case_id} key={notice.case_id}>
          {removalNoticeText(notice)}{" "}
          <button onClick={() => dismiss(notice.case_id)} data-testid="dismiss-matter-removed">
            Dismiss
          </button>
        </p>
      ))}
      {problem && <p class="error">{problem}</p>}
    </>
  );
}
