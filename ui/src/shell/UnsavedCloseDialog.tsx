// The window's close guard (logic/closeGuard.ts decides; src-tauri/src/close_guard.rs asks): when
// the lawyer closes the window while edits are still not saved on this computer, and one last
// save does not get them saved, the window stays open and asks.
import { useEffect, useRef, useState } from "preact/hooks";
import { events, ipc } from "../ipc";
import { decideClose, pendingSaves } from "../logic/closeGuard";

export interface CloseQuestion {
  /** What the lawyer reads, or null when nothing is being asked. */
  message: string | null;
  keepOpen: () => void;
  discard: () => void;
}

function closeNow(): void {
  ipc.closeWindow().catch((error: unknown) => console.error("could not close the window", error));
}

/** Answers every close request of the window (mount once, for the app's whole life). */
export function useCloseGuard(): CloseQuestion {
  const [message, setMessage] = useState<string | null>(null);
  const deciding = useRef(false);

  useEffect(() => {
    const hold = (request: number) => {
      ipc.holdWindowOpen(request).catch((error: unknown) => console.error("could not hold the window", error));
    };
    const unlisten = events.closeRequested((request) => {
      // A second click on close while the last save is being tried: the first decides.
      if (deciding.current) return hold(request);
      deciding.current = true;
      decideClose(pendingSaves(), () => hold(request))
        .then((decision) => {
          if (decision.close) closeNow();
          else setMessage(decision.message);
        })
        .catch((error: unknown) => {
          // Deciding failed, which should not happen: ask rather than lose edits silently.
          console.error("could not decide about closing", error);
          setMessage(
            "Some changes may not be saved on this computer yet. " +
              "Keep the window open so they can be saved, or close and lose them.",
          );
        })
        .finally(() => {
          deciding.current = false;
        });
    });
    // Only now that it will be answered may the Rust side put a close request to the window.
    void unlisten.then(() => ipc.guardWindowClose());
    return () => void unlisten.then((stop) => stop());
  }, []);

  return {
    message,
    keepOpen: () => setMessage(null),
    discard: () => {
      setMessage(null);
      closeNow();
    },
  };
}

export function UnsavedCloseDialog({ question }: { question: CloseQuestion }) {
  const keep = useRef<HTMLButtonElement>(null);
  useEffect(() => keep.current?.focus(), [question.message]);
  if (question.message === null) return null;
  return (
    <div class="modal-backdrop">
      <div
        class="modal"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="unsaved-close-title"
        aria-describedby="unsaved-close-message"
        data-testid="unsaved-close"
        onKeyDown={(event) => {
          if (event.key === "Escape") question.keepOpen();
        }}
      >
        <h2 id="unsaved-close-title">Changes not saved</h2>
        <p id="unsaved-close-message">{question.message}</p>
        <div class="modal-actions">
          <button class="danger" onClick={question.discard} data-testid="unsaved-close-discard">
            Close and discard
          </button>
          <button class="primary" ref={keep} onClick={question.keepOpen} data-testid="unsaved-close-keep">
            Keep open
          </button>
        </div>
      </div>
    </div>
  );
}
