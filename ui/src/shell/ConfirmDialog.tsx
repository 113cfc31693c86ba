// A question before a change that cannot be taken back quietly: it says what will happen, and
// nothing happens until the lawyer confirms.
import { useEffect, useRef } from "preact/hooks";

export interface Confirmation {
  title: string;
  message: string;
  confirm: string;
  /** Runs on confirm; the dialog closes when it settles. */
  action: () => Promise<unknown>;
}

export function ConfirmDialog({ question, onClose }: { question: Confirmation | null; onClose: () => void }) {
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), [question]);
  if (!question) return null;
  return (
    <div class="modal-backdrop">
      <div
        class="modal"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="confirm-title"
        aria-describedby="confirm-message"
        data-testid="confirm-dialog"
        onKeyDown={(event) => {
          if (event.key === "Escape") onClose();
        }}
      >
        <h2 id="confirm-title">{question.title}</h2>
        <p id="confirm-message" data-testid="confirm-message">
          {question.message}
        </p>
        <div class="modal-actions">
          <button ref={cancel} onClick={onClose} data-testid="confirm-cancel">
            Cancel
          </button>
          <button
            class="danger"
            data-testid="confirm-ok"
            onClick={() => {
              void question.action().finally(onClose);
            }}
          >
            {question.confirm}
          </button>
        </div>
      </div>
    </div>
  );
}
