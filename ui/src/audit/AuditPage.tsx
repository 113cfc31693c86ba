// The firm's audit log for firm admins: filter by matter, person, action and dates, read it
// page by page, and export what the filters select as CSV (saved in Documents/Lawyers Hub).
// The server leaves out matters the admin is walled off.
import { useEffect, useState } from "preact/hooks";
import { errorMessage, ipc, type AuditEntry } from "../ipc";
import { actionLabel, AUDIT_ACTIONS, auditFilter, EMPTY_FORM, type AuditForm } from "../logic/audit";
import { AuditTable } from "./AuditTable";

const PAGE = 100;

export function AuditPage() {
  const [form, setForm] = useState<AuditForm>(EMPTY_FORM);
  const [applied, setApplied] = useState<AuditForm>(EMPTY_FORM);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const load = (filters: AuditForm, before?: number) => {
    ipc
      .firmAudit(auditFilter(filters, { limit: PAGE, before }))
      .then((page) => {
        setEntries((shown) => (before === undefined ? page : [...(shown ?? []), ...page]));
        setMore(page.length === PAGE);
        setProblem(null);
      })
      .catch((e: unknown) => setProblem(errorMessage(e)));
  };
  useEffect(() => load(EMPTY_FORM), []);

  const set = (key: keyof AuditForm) => (e: { currentTarget: HTMLInputElement }) =>
    setForm({ ...form, [key]: e.currentTarget.value });
  const textField = (key: "case" | "actor", label: string, placeholder: string) => (
    <label>
      {label}
      <input type="text" value={form[key]} placeholder={placeholder} onInput={set(key)} data-testid={`audit-${key}`} />
    </label>
  );
  const dateField = (key: "from" | "to", label: string) => (
    <label>
      {label}
      <input type="date" value={form[key]} onInput={set(key)} data-testid={`audit-${key}`} />
    </label>
  );

  return (
    <div class="audit-page" data-testid="audit-page">
      <h1>Audit log</h1>
      <p class="hint">
        Sign-ins, access changes, ethical walls, legal holds, AI consent and policy across the firm, newest first.
        Matters you are walled off are not shown.
      </p>
      <form
        class="audit-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(form);
          load(form);
        }}
      >
        {textField("case", "Matter id", "any matter")}
        {textField("actor", "Person (user id)", "anyone")}
        <label>
          Action
          <select value={form.action} onChange={(e) => setForm({ ...form, action: e.currentTarget.value })} data-testid="audit-action">
            <option value="">Any action</option>
            {AUDIT_ACTIONS.map((action) => (
              <option value={action} key={action}>
                {actionLabel(action)}
              </option>
            ))}
          </select>
        </label>
        {dateField("from", "From")}
        {dateField("to", "To")}
        <button type="submit" data-testid="audit-apply">Show</button>
        <button
          type="button"
          data-testid="audit-export"
          onClick={() =>
            ipc
              .exportAuditCsv(auditFilter(applied))
              .then((path) => setSaved(`Saved to ${path}`))
              .catch((e: unknown) => setProblem(errorMessage(e)))
          }
        >
          Export CSV
        </button>
      </form>
      {saved && <p class="hint" role="status">{saved}</p>}
      {problem && <p class="error" role="alert">{problem}</p>}
      {entries === null ? (
        !problem && <p class="loading">Asking the firm's server…</p>
      ) : entries.length === 0 ? (
        <p class="empty">No entries match.</p>
      ) : (
        <AuditTable entries={entries} withMatter={true} testid="audit-table" />
      )}
      {more && entries && (
        <button onClick={() => load(applied, entries[entries.length - 1]?.id)} data-testid="audit-more">
          Older entries
        </button>
      )}
    </div>
  );
}
