// AI governance for firm admins: the firm's copilot switch, and usage by person, matter and
// month with a CSV export (the server's report; walls hold against admins too).
import { useEffect, useState } from "preact/hooks";
import { ipc, type CopilotPolicy, type SyncStatus, type UsageGroup, type UsageReport } from "../ipc";
import { OFFLINE_MESSAGE, monthsAgo, problemText, tokensOf } from "../logic/sharing";
import { connectedToServer } from "../logic/syncLabel";
import { ConfirmDialog, type Confirmation } from "../shell/ConfirmDialog";

const PERIODS: { label: string; monthsBack: number }[] = [
  { label: "This month", monthsBack: 0 },
  { label: "Last 3 months", monthsBack: 2 },
  { label: "Last 12 months", monthsBack: 11 },
];

function UsageTable({ title, rows, name }: { title: string; rows: UsageGroup[]; name: (row: UsageGroup) => string }) {
  return (
    <section class="card">
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <p class="hint">No use in this period.</p>
      ) : (
        <table class="usage-table">
          <thead>
            <tr>
              <th />
              <th>Calls</th>
              <th>Tokens</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={name(row)} data-testid="usage-row">
                <td>{name(row)}</td>
                <td>{row.calls}</td>
                <td>{tokensOf(row).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function AiSettingsPage({ status }: { status: SyncStatus }) {
  const online = connectedToServer(status);
  const [policy, setPolicy] = useState<CopilotPolicy | null>(null);
  const [report, setReport] = useState<UsageReport | null>(null);
  const [period, setPeriod] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [question, setQuestion] = useState<Confirmation | null>(null);
  const since = () => monthsAgo(new Date(), PERIODS[period]?.monthsBack ?? 0);

  useEffect(() => {
    if (!online) return;
    ipc.copilotPolicy().then(setPolicy).catch((error: unknown) => setProblem(problemText(error)));
  }, [online]);
  useEffect(() => {
    if (!online) return;
    ipc.copilotUsage(since()).then(setReport).catch((error: unknown) => setProblem(problemText(error)));
  }, [online, period]);

  if (!online) {
    return (
      <section class="card" data-testid="ai-settings">
        <h1>AI</h1>
        <p class="error" role="alert">
          {OFFLINE_MESSAGE}
        </p>
      </section>
    );
  }
  const toggle = (enabled: boolean) =>
    setQuestion({
      title: enabled ? "Turn the copilot on" : "Turn the copilot off",
      message: enabled
        ? "Turn the copilot on for the whole firm? Lawyers can then use it on matters whose client has consented, within their monthly tokens."
        : "Turn the copilot off for the whole firm? Answers in progress stop, and nobody can use it until it is turned on again.",
      confirm: enabled ? "Turn on" : "Turn off",
      action: () =>
        ipc
          .setCopilotEnabled(enabled)
          .then(setPolicy)
          .catch((error: unknown) => setProblem(problemText(error))),
    });
  return (
    <div class="ai-settings" data-testid="ai-settings">
      <h1>AI</h1>
      <section class="card">
        <h2>Copilot for the firm</h2>
        {policy === null ? (
          <p class="hint">Asking the firm's server…</p>
        ) : (
          <>
            <label class="field checkbox">
              <input
                type="checkbox"
                checked={policy.enabled}
                onChange={(event) => {
                  const wanted = event.currentTarget.checked;
                  event.currentTarget.checked = policy.enabled;
                  toggle(wanted);
                }}
                data-testid="ai-enabled"
              />
              The copilot is {policy.enabled ? "on" : "off"} for the firm
            </label>
            {!policy.configured && <p class="hint">The server has no AI model configured: ask IT (see the server's README).</p>}
            <p class="hint">
              Model {policy.model}; {policy.effective_monthly_tokens.toLocaleString()} tokens per lawyer per month.
            </p>
          </>
        )}
      </section>
      <section class="card">
        <h2>Usage</h2>
        <select value={period} onChange={(event) => setPeriod(Number(event.currentTarget.value))} data-testid="usage-period">
          {PERIODS.map((option, index) => (
            <option key={option.label} value={index}>
              {option.label}
            </option>
          ))}
        </select>{" "}
        <button
          data-testid="usage-csv"
          onClick={() =>
            ipc
              .copilotUsageCsv(since())
              .then((path) => setSaved(`Saved ${path}`))
              .catch((error: unknown) => setProblem(problemText(error)))
          }
        >
          Export CSV
        </button>
        {saved && <p class="hint">{saved}</p>}
      </section>
      {report && (
        <>
          <UsageTable title="By person" rows={report.by_user} name={(row) => row.user_id ?? ""} />
          <UsageTable title="By matter" rows={report.by_case} name={(row) => row.title?.trim() || row.case_id || ""} />
          <UsageTable title="By month" rows={report.by_month} name={(row) => row.month ?? ""} />
        </>
      )}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <ConfirmDialog question={question} onClose={() => setQuestion(null)} />
    </div>
  );
}
