// The shell: top bar with the sync state, and one screen at a time.
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { events, ipc, errorMessage, type AppInfo, type FirmRoles, type SyncStatus } from "./ipc";
import { connectedToServer, syncLabel } from "./logic/syncLabel";
import { currentSaveProblem, onSaveProblem } from "./logic/saveProblems";
import { leavesRemovedMatter } from "./logic/matterRemoval";
import { Dashboard } from "./dashboard/Dashboard";
import { CasePage } from "./case/CasePage";
import type { DraftEditorProps } from "./editor/DraftEditor";
import { parseRole, type MatterRole } from "./logic/permissions";
import { WallsPage } from "./admin/WallsPage";
import { AiSettingsPage } from "./admin/AiSettingsPage";
import { SettingsPage } from "./settings/SettingsPage";
import { AuditPage } from "./audit/AuditPage";
import { AccountNotices } from "./accounts/AccountNotices";
import { SignedInAs } from "./shell/SignedInAs";
import type { SignInStatus } from "./logic/signIn";
import { SyncProblem } from "./shell/SyncProblem";
import { whenAllSaved } from "./logic/closeGuard";
import { RemovalNotices } from "./shell/RemovalNotices";
import { UpdateBanner } from "./shell/UpdateBanner";
import { UnsavedCloseDialog, useCloseGuard } from "./shell/UnsavedCloseDialog";

export type Route =
  | { screen: "dashboard" }
  | { screen: "case"; caseId: string }
  | { screen: "draft"; caseId: string; doc: string }
  | { screen: "settings" }
  | { screen: "audit" }
  | { screen: "walls" }
  | { screen: "ai" };

/**
 * The editor (TipTap, ProseMirror, Yjs: most of the app's JavaScript) loads when a draft is
 * first opened, so start-up only parses what the dashboard needs.
 */
function LazyDraftEditor(props: DraftEditorProps) {
  const [Editor, setEditor] = useState<ComponentType<DraftEditorProps> | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  // The lawyer's role in the matter (viewers read only); editing until the server has said.
  const [role, setRole] = useState<MatterRole>("editor");
  useEffect(() => {
    import("./editor/DraftEditor")
      .then((module) => setEditor(() => module.DraftEditor))
      .catch((error: unknown) => setFailed(String(error)));
  }, []);
  useEffect(() => {
    let current = true;
    const ask = () =>
      ipc
        .myRole(props.caseId)
        .then((found) => {
          if (current) setRole(parseRole(found));
        })
        .catch(() => undefined);
    void ask();
    // An owner changed the lawyer's role while the draft is open: follow at once.
    const unlisten = events.roleChanged((change) => {
      if (change.case_id === props.caseId) void ask();
    });
    return () => {
      current = false;
      void unlisten.then((stop) => stop());
    };
  }, [props.caseId]);
  if (failed) return <p class="error">The editor could not be loaded: {failed}</p>;
  return Editor ? <Editor {...props} role={role} /> : <p class="loading">Opening the draft…</p>;
}

export function App() {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [signIn, setSignIn] = useState<SignInStatus | null>(null);
  const [status, setStatus] = useState<SyncStatus>({ mode: "local", pending: 0 });
  const [route, setRoute] = useState<Route>({ screen: "dashboard" });
  const [fatal, setFatal] = useState<string | null>(null);
  const [saveProblem, setSaveProblem] = useState<string | null>(currentSaveProblem);
  useEffect(() => onSaveProblem(setSaveProblem), []);
  const closeQuestion = useCloseGuard();
  // Firm admins get the firm's audit log and the AI screen; they and the conflicts/risk role the
  // Walls screen. The server decides who holds which (and refuses others).
  const [firmRoles, setFirmRoles] = useState<FirmRoles | null>(null);
  const online = connectedToServer(status);
  const connected = online;
  useEffect(() => {
    if (!online) return;
    ipc
      .firmRoles()
      .then(setFirmRoles)
      .catch(() => setFirmRoles(null));
  }, [online]);
  const firmAdmin = firmRoles?.firm_admin === true;
  useEffect(() => {
    // The notice itself is RemovalNotices'; here the window leaves the matter.
    const unlisten = events.matterRemoved((removal) => {
      setRoute((current) => (leavesRemovedMatter(current, removal.case_id) ? { screen: "dashboard" } : current));
    });
    return () => void unlisten.then((stop) => stop());
  }, []);

  // Another account signed in: every screen shows that account's store now, so start over.
  useEffect(() => {
    // Edits still being saved belong to the previous account's store: saved there first.
    const unlisten = events.storeSwitched(() => void whenAllSaved(() => window.location.reload()));
    return () => void unlisten.then((stop) => stop());
  }, []);

  const reload = () =>
    ipc
      .appInfo()
      .then((next) => {
        setInfo(next);
        setSignIn(next.sign_in);
        setStatus(next.status);
      })
      .catch((error: unknown) => setFatal(errorMessage(error)));

  useEffect(() => {
    void reload();
    const unlisten = events.syncState(setStatus);
    // The kept sign-in is restored in the background after launch: who is signed in arrives here.
    const unlistenSignIn = events.signInState(setSignIn);
    return () => {
      void unlisten.then((stop) => stop());
      void unlistenSignIn.then((stop) => stop());
    };
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

  const label = syncLabel(status, saveProblem);
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
            data-testid="nav-matters"
          >
            Matters
          </button>
          {firmAdmin && (
            <button
              class={route.screen === "audit" ? "active" : ""}
              onClick={() => setRoute({ screen: "audit" })}
              data-testid="nav-audit"
            >
              Audit
            </button>
          )}
          {firmRoles && (firmRoles.firm_admin || firmRoles.conflicts_officer) && (
            <button
              class={route.screen === "walls" ? "active" : ""}
              onClick={() => setRoute({ screen: "walls" })}
              data-testid="nav-walls"
            >
              Walls
            </button>
          )}
          {firmRoles?.firm_admin && (
            <button class={route.screen === "ai" ? "active" : ""} onClick={() => setRoute({ screen: "ai" })} data-testid="nav-ai">
              AI
            </button>
          )}
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
        <SignedInAs
          status={signIn ?? info.sign_in}
          devAccount={info.account}
          onOpen={() => setRoute({ screen: "settings" })}
        />
      </header>
      <SyncProblem initial={info.problem} />
      <UpdateBanner />
      {saveProblem && (
        <p class="error save-problem" role="alert" data-testid="save-problem">
          {saveProblem}
        </p>
      )}
      <RemovalNotices />
      <AccountNotices mode={status.mode} />
      <main class="content">
        {route.screen === "dashboard" && <Dashboard info={info} navigate={setRoute} />}
        {route.screen === "case" && <CasePage caseId={route.caseId} info={info} status={status} navigate={setRoute} />}
        {route.screen === "draft" && (
          <LazyDraftEditor
            caseId={route.caseId}
            doc={route.doc}
            info={info}
            status={status}
            navigate={setRoute}
            firmAdmin={firmRoles?.firm_admin ?? false}
          />
        )}
        {route.screen === "audit" && <AuditPage />}
        {route.screen === "walls" && <WallsPage status={status} />}
        {route.screen === "ai" && <AiSettingsPage status={status} />}
        {route.screen === "settings" && <SettingsPage info={info} signIn={signIn ?? info.sign_in} onSaved={reload} />}
      </main>
      <UnsavedCloseDialog question={closeQuestion} />
    </div>
  );
}
