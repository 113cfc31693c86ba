// The new-matter form. Before the matter is created, its client and its adverse and related
// parties go to the firm's conflicts check; possible conflicts are shown, ranked, and the lawyer
// either goes back or opens the matter anyway (the check and that decision are on record with the
// firm). When the firm's server cannot be reached the lawyer may still open the matter, marked as
// not checked; an app with no firm server has nothing to check against.
import { useState } from "preact/hooks";
import {
  ipc,
  errorMessage,
  isCommandError,
  type CaseFields,
  type ConflictCheck,
  type ConflictQuery,
} from "../ipc";
import { checkFailure, conflictQuery, hitView, queryProblem, warningTitle } from "../logic/conflicts";

type Step =
  | { kind: "editing" }
  | { kind: "checking" }
  | { kind: "warning"; check: ConflictCheck }
  | { kind: "unavailable"; reason: string }
  | { kind: "creating" };

function firstParties(query: ConflictQuery): { role: string; name: string }[] {
  return [
    ...query.adverse.map((name) => ({ role: "opposing_party", name })),
    ...query.related.map((name) => ({ role: "related", name })),
  ];
}

export function NewCaseForm({
  defaultResponsible,
  onCancel,
  onCreated,
}: {
  defaultResponsible: string;
  onCancel: () => void;
  onCreated: (id: string) => void;
}) {
  const [fields, setFields] = useState<CaseFields>({
    title: "",
    client: "",
    matter_number: "",
    practice_area: "",
    status: "open",
    responsible: defaultResponsible,
    notes: "",
  });
  const [adverse, setAdverse] = useState("");
  const [related, setRelated] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [step, setStep] = useState<Step>({ kind: "editing" });
  const query = conflictQuery(fields.client, adverse, related);

  const field = (key: keyof CaseFields, label: string, testid?: string) => (
    <label>
      {label}
      <input
        value={fields[key]}
        onInput={(e) => setFields({ ...fields, [key]: e.currentTarget.value })}
        data-testid={testid}
      />
    </label>
  );

  const create = (conflict_check: string, conflict_decision: string) => {
    setStep({ kind: "creating" });
    ipc
      .createCase({ ...fields, conflict_check, conflict_decision }, firstParties(query))
      .then(onCreated)
      .catch((e: unknown) => {
        setError(errorMessage(e));
        setStep({ kind: "editing" });
      });
  };

  const submit = (event: Event) => {
    event.preventDefault();
    if (!fields.title.trim()) return setError("Give the matter a title.");
    const problem = queryProblem(query);
    if (problem) return setError(problem);
    setError(null);
    setStep({ kind: "checking" });
    ipc
      .checkConflicts(query)
      .then((check) => {
        if (check.total === 0) create(check.check_id, "clear");
        else setStep({ kind: "warning", check });
      })
      .catch((e: unknown) => {
        const failure = checkFailure(isCommandError(e) ? e : null);
        if (failure === "no_server") create("", "");
        else if (failure === "unavailable") setStep({ kind: "unavailable", reason: errorMessage(e) });
        else {
          setError(errorMessage(e));
          setStep({ kind: "editing" });
        }
      });
  };

  const busy = step.kind === "checking" || step.kind === "creating";
  return (
    <form class="card form" onSubmit={submit} data-testid="new-matter-form">
      <h2>New matter</h2>
      <div class="grid">
        {field("title", "Title", "matter-title")}
        {field("client", "Client", "matter-client")}
        {field("matter_number", "Matter number")}
        {field("practice_area", "Practice area")}
        {field("responsible", "Responsible lawyer")}
        <label>
          Status
          <select value={fields.status} onChange={(e) => setFields({ ...fields, status: e.currentTarget.value })}>
            <option value="open">Open</option>
            <option value="pending">Pending</option>
            <option value="closed">Closed</option>
          </select>
        </label>
      </div>
      <div class="grid">
        <PartyNames label="Adverse parties" value={adverse} onInput={setAdverse} testid="matter-adverse" />
        <PartyNames label="Related parties" value={related} onInput={setRelated} testid="matter-related" />
      </div>
      {step.kind === "warning" && (
        <ConflictWarning
          check={step.check}
          onBack={() => setStep({ kind: "editing" })}
          onProceed={() => create(step.check.check_id, "proceeded")}
        />
      )}
      {step.kind === "unavailable" && (
        <div class="conflict-warning" aria-live="assertive" data-testid="conflict-unavailable">
          <h3>The conflicts check could not run</h3>
          <p>{step.reason}</p>
          <p>
            You can open the matter now; it is marked as not checked, and the firm sees that when it syncs. Run the
            check as soon as you are back online.
          </p>
          <div class="actions">
            <button type="button" onClick={() => setStep({ kind: "editing" })}>
              Back to the form
            </button>
            <button type="button" onClick={() => create("", "offline")} data-testid="conflict-open-unchecked">
              Open without the check
            </button>
          </div>
        </div>
      )}
      {error && <p class="error">{error}</p>}
      {(step.kind === "editing" || busy) && (
        <div class="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={busy} data-testid="create-matter">
            {step.kind === "checking" ? "Checking for conflicts…" : "Check conflicts and create"}
          </button>
        </div>
      )}
    </form>
  );
}

/** A party field: names one per line (or separated by semicolons: `logic/conflicts` partyNames). */
function PartyNames({
  label,
  value,
  onInput,
  testid,
}: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  testid: string;
}) {
  return (
    <label>
      {label} <span class="hint">(one per line)</span>
      <textarea rows={2} value={value} onInput={(e) => onInput(e.currentTarget.value)} data-testid={testid} />
    </label>
  );
}

// The warnings are live regions rather than role="alert": in our end-to-end runs (WebKitGTK under
// Xvfb with the accessibility bus) a WebDriver screenshot never answered while this alert was
// shown; aria-live="assertive" is announced the same way by screen readers.
function ConflictWarning({
  check,
  onBack,
  onProceed,
}: {
  check: ConflictCheck;
  onBack: () => void;
  onProceed: () => void;
}) {
  return (
    <div class="conflict-warning" aria-live="assertive" aria-labelledby="conflict-warning-title" data-testid="conflict-warning">
      <h3 id="conflict-warning-title">{warningTitle(check)}</h3>
      <ol class="conflict-hits">
        {check.hits.map((hit, index) => {
          const view = hitView(hit);
          return (
            <li key={index} class={view.adverse ? "adverse" : undefined} data-testid="conflict-hit">
              <span>{view.text}</span> <span class="hint">{view.detail}</span>
            </li>
          );
        })}
      </ol>
      <p>
        Clear these with the people named before you act. If you open the matter anyway, the check and your decision
        are kept on record with the firm.
      </p>
      <div class="actions">
        <button type="button" onClick={onBack} data-testid="conflict-cancel">
          Back to the form
        </button>
        <button type="button" class="danger" onClick={onProceed} data-testid="conflict-proceed">
          Open the matter anyway
        </button>
      </div>
    </div>
  );
}
