// The matter's audit log, for its owners and firm admins (the server refuses others, and the
// section then says so in one line).
import { useEffect, useState } from "preact/hooks";
import { errorMessage, ipc, type AuditEntry } from "../ipc";
import { AuditTable } from "../audit/AuditTable";

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
        <AuditTable entries={entries} withMatter={false} testid="matter-audit" />
      )}
    </section>
  );
}
