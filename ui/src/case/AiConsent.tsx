// The client's consent to AI use on this matter, recorded (or withdrawn) by its owners with a
// note of how it was given. Online only: the firm's server keeps it and the copilot checks it.
import { useEffect, useState } from "preact/hooks";
import { ipc } from "../ipc";
import { OFFLINE_MESSAGE, problemText } from "../logic/sharing";

export function AiConsent({ caseId, online }: { caseId: string; online: boolean }) {
  const [consented, setConsented] = useState<boolean | null>(null);
  const [note, setNote] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const load = () =>
    ipc
      .copilotAvailability(caseId)
      .then((availability) => {
        setConsented(availability.consented);
        setProblem(null);
      })
      .catch((error: unknown) => setProblem(problemText(error)));
  useEffect(() => {
    if (online) void load();
  }, [caseId, online]);

  const record = (next: boolean) => {
    if (next && !note.trim()) {
      setProblem("Say how the client consented, e.g. “engagement letter of 3 March, clause 12”.");
      return;
    }
    ipc
      .copilotSetConsent(caseId, next, note)
      .then(() => {
        setSaved(next ? "Consent recorded." : "Consent withdrawn: the copilot is off on this matter.");
        setNote("");
        return load();
      })
      .catch((error: unknown) => setProblem(problemText(error)));
  };

  return (
    <section class="card" data-testid="ai-consent">
      <h2>Client consent to AI</h2>
      {!online ? (
        <p class="hint">{OFFLINE_MESSAGE}</p>
      ) : consented === null ? (
        <p class="hint">{problem ?? "Asking the firm's server…"}</p>
      ) : (
        <>
          <p data-testid="ai-consent-state">
            {consented ? "The client has consented to AI use on this matter." : "No consent recorded: the copilot is off on this matter."}
          </p>
          <label class="field">
            How the client consented (or why it is withdrawn)
            <input value={note} onInput={(event) => setNote(event.currentTarget.value)} data-testid="ai-consent-note" />
          </label>
          {consented ? (
            <button class="danger" onClick={() => record(false)} data-testid="ai-consent-withdraw">
              Withdraw consent
            </button>
          ) : (
            <button class="primary" onClick={() => record(true)} data-testid="ai-consent-record">
              Record consent
            </button>
          )}
          {saved && <p class="hint">{saved}</p>}
          {problem && (
            <p class="error" role="alert">
              {problem}
            </p>
          )}
        </>
      )}
    </section>
  );
}
