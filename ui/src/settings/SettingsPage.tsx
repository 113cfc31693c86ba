// Settings: the firm's server, sign-in, the lawyer's name, "work offline", where data lives.
import { useEffect, useState } from "preact/hooks";
import { events, ipc, errorMessage, isCommandError, type AppInfo, type Settings, type UpdateState } from "../ipc";
import { updateLabel } from "../logic/updates";
import { accountLabel, canSignOut, signOutMessage, type SignInStatus } from "../logic/signIn";

export function SettingsPage({
  info,
  signIn,
  onSaved,
}: {
  info: AppInfo;
  /** Who is signed in, live (the kept sign-in is restored in the background after launch). */
  signIn: SignInStatus;
  onSaved: () => void;
}) {
  const [settings, setSettings] = useState<Settings>(info.settings);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState(false);
  const locked = new Set(info.locked);
  /** "Set by your firm": the value IT locked, shown read-only. */
  const lockNote = (key: keyof Settings) =>
    locked.has(key) ? (
      <span class="locked" data-testid={`locked-${key}`}>
        Set by your firm
      </span>
    ) : null;

  const save = (next: Settings) => {
    setBusy(true);
    ipc
      .saveSettings(next)
      .then(() => {
        setMessage({ text: "Settings saved.", error: false });
        onSaved();
      })
      .catch((e: unknown) => setMessage({ text: errorMessage(e), error: true }))
      .finally(() => setBusy(false));
  };
  const text = (
    key:
      | "server_url"
      | "display_name"
      | "oidc_issuer"
      | "oidc_client_id"
      | "oidc_scopes"
      | "oidc_audience"
      | "oidc_resource"
      | "proxy"
      | "update_channel",
    label: string,
    placeholder: string,
  ) => (
    <label class="field">
      <span>
        {label} {lockNote(key)}
      </span>
      <input
        value={settings[key]}
        placeholder={placeholder}
        readOnly={locked.has(key)}
        onInput={(e) => setSettings({ ...settings, [key]: e.currentTarget.value })}
        data-testid={`setting-${key}`}
      />
    </label>
  );
  const flag = (key: "automatic_updates" | "copilot_visible", label: string) => (
    <label class="switch">
      <input
        type="checkbox"
        checked={settings[key]}
        disabled={locked.has(key)}
        onChange={(e) => setSettings({ ...settings, [key]: e.currentTarget.checked })}
        data-testid={`setting-${key}`}
      />{" "}
      {label} {lockNote(key)}
    </label>
  );

  return (
    <div class="settings-page">
      <h1>Settings</h1>
      {message && <p class={message.error ? "error" : "notice"}>{message.text}</p>}
      {info.policy_problems.length > 0 && (
        <div class="warning" data-testid="policy-problems">
          <p>Some of your firm's managed settings could not be applied. Please tell IT:</p>
          <ul>
            {info.policy_problems.map((problem) => (
              <li>{problem}</li>
            ))}
          </ul>
        </div>
      )}
      <section class="card">
        <h2>You</h2>
        {text("display_name", "Your name (shown next to your cursor, used for “My matters”)", "Ada Lovelace")}
      </section>
      <section class="card">
        <h2>The firm's server</h2>
        {text("server_url", "Server address", "wss://hub.your-firm.com/api/v1/sync")}
        <label class="switch">
          <input
            type="checkbox"
            checked={settings.work_offline}
            onChange={(e) => {
              const next = { ...settings, work_offline: e.currentTarget.checked };
              setSettings(next);
              save(next);
            }}
            data-testid="work-offline"
          />{" "}
          Work offline (stay disconnected; everything is saved on this computer and syncs when you switch this off)
        </label>
      </section>
      <section class="card">
        <h2>Account</h2>
        <AccountLine status={signIn} devAccount={info.account} />
        {text("oidc_issuer", "Sign-in address (from your firm's IT)", "https://clerk.your-firm.com")}
        {text("oidc_client_id", "Client id (from your firm's IT)", "lawyers-hub-desktop")}
        <details class="advanced" data-testid="connection-advanced">
          <summary>Connection details (from your firm's IT)</summary>
          {text("oidc_scopes", "Extra sign-in scopes", "api://lawyers-hub-api/sync")}
          {text("oidc_audience", "API audience", "")}
          {text("oidc_resource", "API resource", "")}
          {text("proxy", "Proxy (empty: the system's)", "http://proxy.your-firm.com:3128")}
        </details>
        {signIn.state === "waiting_for_browser" ? (
          <div class="actions" data-testid="sign-in-waiting">
            <span class="hint">Waiting for your browser… finish signing in there.</span>
            <button onClick={() => void ipc.cancelSignIn()} data-testid="cancel-sign-in">
              Cancel
            </button>
          </div>
        ) : (
          <div class="actions">
            <button
              disabled={busy}
              onClick={() => {
                setBusy(true);
                setMessage(null);
                ipc
                  .saveSettings(settings)
                  .then(() => ipc.signIn())
                  .then(() => onSaved())
                  .catch((e: unknown) => {
                    // Cancelled by the lawyer: nothing to report.
                    if (!(isCommandError(e) && e.code === "signin_cancelled")) {
                      setMessage({ text: errorMessage(e), error: true });
                    }
                  })
                  .finally(() => setBusy(false));
              }}
              data-testid="sign-in"
            >
              {signIn.state === "expired" ? "Sign in again with your browser" : "Sign in with your browser"}
            </button>
            <button
              disabled={busy || !canSignOut(signIn)}
              onClick={() => {
                setBusy(true);
                ipc
                  .signOut()
                  .then((result) => {
                    setMessage({ text: signOutMessage(result), error: false });
                    onSaved();
                  })
                  .catch((e: unknown) => setMessage({ text: errorMessage(e), error: true }))
                  .finally(() => setBusy(false));
              }}
              data-testid="sign-out"
            >
              Sign out
            </button>
          </div>
        )}
      </section>
      <section class="card">
        <h2>This computer</h2>
        <p>
          Your matters and drafts are stored encrypted in <code data-testid="data-dir">{info.data_dir}</code>.{" "}
          {info.passphrase_protected
            ? "The key is protected by the passphrase you enter when Lawyers Hub starts."
            : "The key is kept in your system keychain."}
        </p>
        {flag("copilot_visible", "Show the AI copilot beside drafts")}
        <label class="field">
          <span>
            How much the log files say {lockNote("log_level")}
          </span>
          <select
            value={settings.log_level}
            disabled={locked.has("log_level")}
            onChange={(e) => setSettings({ ...settings, log_level: e.currentTarget.value })}
            data-testid="setting-log_level"
          >
            <option value="error">Errors only</option>
            <option value="warn">Warnings</option>
            <option value="info">Normal</option>
            <option value="debug">Detailed (for the help desk; never your documents or passwords)</option>
          </select>
        </label>
        <Diagnostics />
      </section>
      <section class="card">
        <h2>Updates</h2>
        <p class="hint">
          Lawyers Hub {info.version}. Updates come from your firm's server only, and each is checked against the firm's
          signing key before it is installed.
        </p>
        {flag("automatic_updates", "Check for updates at start and daily")}
        {text("update_channel", "Update channel", "stable")}
        <UpdateStatus />
      </section>
      <LocalData />
      <div class="actions">
        <button class="primary" disabled={busy} onClick={() => save(settings)} data-testid="save-settings">
          Save settings
        </button>
      </div>
    </div>
  );
}

/** Where updates stand, and "Check now". */
function UpdateStatus() {
  const [state, setState] = useState<UpdateState>({ state: "idle" });
  useEffect(() => {
    void ipc.updateStatus().then(setState).catch(() => undefined);
    const unlisten = events.updateState(setState);
    return () => void unlisten.then((stop) => stop());
  }, []);
  const label = updateLabel(state);
  return (
    <div class="actions">
      <span class={label.tone === "error" ? "error" : "hint"} data-testid="update-status" data-state={state.state}>
        {label.text}
      </span>
      <button
        disabled={state.state === "checking" || state.state === "downloading" || state.state === "installing"}
        onClick={() =>
          void ipc
            .checkForUpdate()
            .then(setState)
            .catch((e: unknown) => setState({ state: "failed", message: errorMessage(e) }))
        }
        data-testid="check-updates"
      >
        Check now
      </button>
    </div>
  );
}

/** "Copy diagnostics": what the help desk needs, no secrets. Shown too, for when copying fails. */
function Diagnostics() {
  const [text, setText] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  return (
    <div>
      <div class="actions">
        <button
          onClick={() =>
            void ipc.diagnostics().then((found) => {
              setText(found);
              navigator.clipboard
                .writeText(found)
                .then(() => setCopied(true))
                .catch(() => setCopied(false));
            })
          }
          data-testid="copy-diagnostics"
        >
          Copy diagnostics
        </button>
        {copied && <span class="hint">Copied. Paste it into your message to the help desk.</span>}
      </div>
      {text !== null && (
        <textarea class="diagnostics" readOnly rows={8} value={text} data-testid="diagnostics" />
      )}
    </div>
  );
}

/** "Signed in: Ada Lovelace (ada@firm.example)", or why not. */
function AccountLine({ status, devAccount }: { status: SignInStatus; devAccount: string | null }) {
  const label = accountLabel(status, devAccount);
  return (
    <p class={label.tone === "warn" ? "warning" : undefined} title={status.detail ?? undefined} data-testid="account">
      {status.state === "signed_in" || (status.state === "signed_out" && devAccount) ? (
        <>
          Signed in: <strong>{label.text}</strong>
        </>
      ) : (
        label.text
      )}
      {status.state === "offline" && (
        <span class="hint"> Your work is saved on this computer; syncing resumes when the sign-in can be checked.</span>
      )}
    </p>
  );
}

/** "Export my local data" (an encrypted archive in Documents/Lawyers Hub) and import. */
function LocalData() {
  const [passphrase, setPassphrase] = useState("");
  const [exports, setExports] = useState<string[]>([]);
  const [chosen, setChosen] = useState("");
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const refresh = () =>
    ipc
      .listLocalExports()
      .then((found) => {
        setExports(found);
        setChosen((current) => current || found[0] || "");
      })
      .catch(() => setExports([]));
  useEffect(() => void refresh(), []);
  const fail = (e: unknown) => setMessage({ text: errorMessage(e), error: true });
  return (
    <section class="card">
      <h2>Export or import my local data</h2>
      <p class="hint">
        An export holds every matter and draft on this computer, including changes not yet synced, encrypted with the
        passphrase you choose, and is saved in Documents/Lawyers Hub. To import on another computer, copy the file
        into that folder there. Keep the passphrase safe: without it the export cannot be opened.
      </p>
      {message && <p class={message.error ? "error" : "notice"} data-testid="local-data-message">{message.text}</p>}
      <label class="field">
        Passphrase (at least 8 characters)
        <input type="password" value={passphrase} onInput={(e) => setPassphrase(e.currentTarget.value)} data-testid="archive-passphrase" />
      </label>
      <div class="actions">
        <button
          onClick={() =>
            ipc
              .exportLocalData(passphrase)
              .then((done) => {
                setMessage({ text: `Exported ${done.documents} documents to ${done.path}`, error: false });
                void refresh();
              })
              .catch(fail)
          }
          data-testid="export-data"
        >
          Export my local data
        </button>
      </div>
      {exports.length > 0 && (
        <div class="inline-form">
          <select value={chosen} onChange={(e) => setChosen(e.currentTarget.value)} aria-label="Export file" data-testid="import-file">
            {exports.map((name) => (
              <option value={name}>{name}</option>
            ))}
          </select>
          <button
            onClick={() =>
              ipc
                .importLocalData(chosen, passphrase)
                .then((count) => setMessage({ text: `Imported ${count} documents; they sync when you are online.`, error: false }))
                .catch(fail)
            }
            data-testid="import-data"
          >
            Import
          </button>
        </div>
      )}
    </section>
  );
}
