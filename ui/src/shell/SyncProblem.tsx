// Why the firm's server cannot be reached, under the top bar: a certificate this computer does
// not trust (and who issued it), a certificate for another name, a proxy that refused, no
// network. Cleared as soon as the app connects.
import { useEffect, useState } from "preact/hooks";
import { events } from "../ipc";
import { syncProblemText } from "../logic/syncProblem";

export function SyncProblem({ initial }: { initial: string | null }) {
  const [problem, setProblem] = useState<string | null>(initial);
  useEffect(() => {
    const unlisten = events.syncProblem((change) => setProblem(change.message));
    return () => void unlisten.then((stop) => stop());
  }, []);
  const text = syncProblemText(problem);
  if (!text) return null;
  return (
    <p class="error sync-problem" role="status" data-testid="sync-problem">
      {text}
    </p>
  );
}
