// A matter's legal hold on its page: the badge and what it means for everyone; for firm admins
// the control to place or lift it, with a reason and a confirmation. The firm's server decides
// (admins only) and records both in the audit log.
import { useState } from "preact/hooks";
import { errorMessage, ipc } from "../ipc";
import { holdDescription, holdReasonProblem } from "../logic/holds";
import type { FirmView } from "../shell/useFirm";
import { ConfirmDialog, type Confirmation } from "../shell/ConfirmDialog";

export function LegalHold({ caseId, title, firm }: { caseId: string; title: string; firm: FirmView }) {
  const hold = firm.holds.get(caseId);
  const admin = firm.me?.firm_admin ?? false;
  const [editing, setEditing] = useState(false);
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setQuestion] = useState<Confirmation | null>(null);

  if (!hold && !admin) return null;

  const submit = () => {
    const problemText = holdReasonProblem(reason);
    if (problemText) return setProblem(problemText);
    const question = hold
      ? `Lift the legal hold on “${title}”? Its drafts and history can then be deleted again.`
      : `Place “${title}” under legal hold? Nothing of it can be deleted until a firm admin lifts the hold.`;
    setQuestion({
      title: hold ? "Lift the legal hold" : "Place a legal hold",
      message: question,
      confirm: hold ? "Lift hold" : "Place hold",
      action: () => {
        setBusy(true);
        return ipc
          .setLegalHold(caseId, !hold, reason.trim())
          .then((matters) => {
            firm.setMatters(matters);
            setEditing(false);
            setReason("");
            setProblem(null);
          })
          .catch((e: unknown) => setProblem(errorMessage(e)))
          .finally(() => setBusy(false));
      },
    });
  };

  return (
    <div class={hold ? "legal-hold held" : "legal-hold"} data-testid="legal-hold">
      <ConfirmDialog question={confirming} onClose={() => setQuestion(null)} />
      {hold && (
        <p>
          <span class="status status-hold" data-testid="hold-badge">
            Legal hold
          </span>{" "}
          {holdDescription(hold)}
        </p>
      )}
      {admin && !editing && (
        <button onClick={() => setEditing(true)} data-testid="hold-toggle">
          {hold ? "Lift legal hold…" : "Place legal hold…"}
        </button>
      )}
      {admin && editing && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          <input
            value={reason}
            placeholder={hold ? "Why the hold is lifted" : "Reason, e.g. Smith v. Jones litigation"}
            aria-label="Reason"
            maxLength={1000}
            onInput={(e) => setReason(e.currentTarget.value)}
            data-testid="hold-reason"
          />
          <button type="submit" disabled={busy} data-testid="hold-confirm">
            {hold ? "Lift hold" : "Place hold"}
          </button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      )}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
