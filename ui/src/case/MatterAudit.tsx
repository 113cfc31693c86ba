// The matter's audit log, for its owners and firm admins (the server refuses others, and the
// section then says so in one line).
import { useEffect, useState } from "preact/hooks";
import { errorMessage, ipc, type AuditEntry } from "../ipc";
import { actionLabel, detailLine, formatInstant } from "../logic/audit";

export function MatterAudit({ caseId, online }: { caseId: string; online: boolean }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (!online || !open) return;
    ipc
      .firmAudit({ case: caseId, limit: 200 })
      .then((found) => {
        setEntries(found);
        setProblem(null);
      })
      .catch((e: unknown) => setProblem(errorMessage(e)));
  }, [caseId, online, open]);
  return (
    <section class="card wide">
      <h2>Audit log</h2>
      {!open ? (
        <button onClick={() => setOpen(true)} data-testid="matter-audit-show">
          Show the matter's audit log
        </button>
      ) : !online ? (
        <p class="hint">The audit log is shown when you are connected to the firm's server.</p>
      ) : problem ? (
        <p class="hint">{problem}</p>
      ) : entries === null ? (
        <p class="hint">Asking the firm's server…</p>
      ) : entries.length === 0 ? (
        <p class="empty">No entries.</p>
      ) : (
        <table class="audit-table" data-testid="matter-audit">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>What</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id}>
                <td>{formatInstant(entry.at)}</td>
                <td title={entry.user_id ?? ""}>{entry.user_name ?? entry.user_id ?? "—"}</td>
                <td>{actionLabel(entry.action)}</td>
                <td>{detailLine(entry)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
