// The shell: top bar with the sync state, and one screen at a time.
import { useEffect, useState } from "preact/hooks";
import { events, ipc, errorMessage, type AppInfo, type SyncStatus } from "./ipc";
import { syncLabel } from "./logic/syncLabel";
import { Dashboard } from "./dashboard/Dashboard";
import { CasePage } from "./case/CasePage";
import { DraftEditor } from "./editor/DraftEditor";
import { SettingsPage } from "./settings/SettingsPage";

export type Route =
  | { screen: "dashboard" }
  | { screen: "case"; caseId: string }
  | { screen: "draft"; caseId: string; doc: string }
  | { screen: "settings" };

export function App() {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [status, setStatus] = useState<SyncStatus>({ mode: "local", pending: 0 });
  const [route, setRoute] = useState<Route>({ screen: "dashboard" });
  const [fatal, setFatal] = useState<string | null>(null);

  const reload = () =>
    ipc
      .appInfo()
      .then((next) => {
        setInfo(next);
        setStatus(next.status);
      })
      .catch((error: unknown) => setFatal(errorMessage(error)));

  useEffect(() => {
    void reload();
    const unlisten = events.syncState(setStatus);
    return () => void unlisten.then((stop) => stop());
  }, []);

  if (fatal) {
    return (
      <main class="fatal">
        <h1>Lawyers Hub could not start</h1>
        <p>{fatal}</p>
      </main>
    );
  }
  if (!info) return <main class="loading">Opening your matters…</main>;

  const label = syncLabel(status);
  return (
    <div class="shell">
      <header class="topbar">
        <button class="brand" onClick={() => setRoute({ screen: "dashboard" })}>
          Lawyers Hub
        </button>
        <nav>
          <button
            class={route.screen === "dashboard" ? "active" : ""}
            onClick={() => setRoute({ screen: "dashboard" })}
          >
            Matters
          </button>
          <button
            class={route.screen === "settings" ? "active" : ""}
            onClick={() => setRoute({ screen: "settings" })}
            data-testid="nav-settings"
          >
            Settings
          </button>
        </nav>
        <div class={`sync sync-${label.tone}`} data-testid="sync-state" data-mode={status.mode} title={label.text}>
          <span class="dot" />
          {label.text}
        </div>
      </header>
      <main class="content">
        {route.screen === "dashboard" && <Dashboard info={info} navigate={setRoute} />}
        {route.screen === "case" && <CasePage caseId={route.caseId} info={info} navigate={setRoute} />}
        {route.screen === "draft" && (
          <DraftEditor caseId={route.caseId} doc={route.doc} info={info} status={status} navigate={setRoute} />
        )}
        {route.screen === "settings" && <SettingsPage info={info} onSaved={reload} />}
      </main>
    </div>
  );
}
