// Audit entries as a table: the firm's log (with the matter column) and a matter's own.
import type { AuditEntry } from "../ipc";
import { actionLabel, detailLine, formatInstant } from "../logic/audit";

export function AuditTable({ entries, withMatter, testid }: { entries: AuditEntry[]; withMatter: boolean; testid: string }) {
  return (
    <table class="audit-table" data-testid={testid}>
      <thead>
        <tr>
          <th>When</th>
          <th>Who</th>
          {withMatter && <th>Matter</th>}
          <th>What</th>
          <th>Detail</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((entry) => (
          <tr key={entry.id}>
            <td>{formatInstant(entry.at)}</td>
            <td title={entry.user_id ?? ""}>{entry.user_name ?? entry.user_id ?? "—"}</td>
            {withMatter && <td title={entry.case_id ?? ""}>{entry.case_title ?? entry.case_id ?? "—"}</td>}
            <td>{actionLabel(entry.action)}</td>
            <td>{detailLine(entry)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
