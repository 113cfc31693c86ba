// Settings: the firm's server, sign-in, the lawyer's name, "work offline", where data lives.
import { useState } from "preact/hooks";
import { ipc, errorMessage, type AppInfo, type Settings } from "../ipc";

export function SettingsPage({ info, onSaved }: { info: AppInfo; onSaved: () => void }) {
  const [settings, setSettings] = useState<Settings>(info.settings);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const [busy, setBusy] = useState(false);

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
  const text = (key: "server_url" | "display_name" | "oidc_issuer" | "oidc_client_id", label: string, placeholder: string) => (
    <label class="field">
      {label}
      <input
        value={settings[key]}
        placeholder={placeholder}
        onInput={(e) => setSettings({ ...settings, [key]: e.currentTarget.value })}
        data-testid={`setting-${key}`}
      />
    </label>
  );

  return (
    <div class="settings-page">
      <h1>Settings</h1>
      {message && <p class={message.error ? "error" : "notice"}>{message.text}</p>}
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
        <p>
          {info.account ? (
            <>
              Signed in: <strong>{info.account}</strong>
            </>
          ) : (
            "Not signed in."
          )}
        </p>
        {text("oidc_issuer", "Sign-in address (from your firm's IT)", "https://clerk.your-firm.com")}
        {text("oidc_client_id", "Client id (from your firm's IT)", "lawyers-hub-desktop")}
        <div class="actions">
          <button
            disabled={busy}
            onClick={() => {
              setBusy(true);
              ipc
                .saveSettings(settings)
                .then(() => ipc.signIn())
                .then((account) => {
                  setMessage({ text: `Signed in at ${account}.`, error: false });
                  onSaved();
                })
                .catch((e: unknown) => setMessage({ text: errorMessage(e), error: true }))
                .finally(() => setBusy(false));
            }}
          >
            Sign in with your browser
          </button>
          <button
            disabled={busy || !info.account}
            onClick={() =>
              ipc
                .signOut()
                .then(() => {
                  setMessage({ text: "Signed out. Your work stays on this computer.", error: false });
                  onSaved();
                })
                .catch((e: unknown) => setMessage({ text: errorMessage(e), error: true }))
            }
          >
            Sign out
          </button>
        </div>
      </section>
      <section class="card">
        <h2>This computer</h2>
        <p>
          Your matters and drafts are stored encrypted in <code data-testid="data-dir">{info.data_dir}</code>. The key
          is kept in your system keychain.
        </p>
        <p class="hint">Lawyers Hub {info.version}</p>
      </section>
      <div class="actions">
        <button class="primary" disabled={busy} onClick={() => save(settings)} data-testid="save-settings">
          Save settings
        </button>
      </div>
    </div>
  );
}
