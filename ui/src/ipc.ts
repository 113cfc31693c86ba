// The one module that talks to the Rust side: every command and event, typed.
// Errors from commands are `{code, message}`; match on `code`, show `message`.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AccountMismatch, LocalMatters } from "./logic/accounts";
import type { MatterRemoval, StoredRemoval } from "./logic/matterRemoval";
import type { Paper } from "./logic/paper";
import type { SignedOut, SignInStatus } from "./logic/signIn";

/** What a Word import found (hub-local's `ImportReport`). */
export interface ImportReport {
  title: string;
  paragraphs: number;
  headings: number;
  list_items: number;
  tables: number;
  footnotes: number;
  hyperlinks: number;
  page_breaks: number;
  /** Tracked changes per author. */
  suggestions: Record<string, { insertions: number; deletions: number }>;
  comments: { threads: number; replies: number };
  /** What the editor cannot hold, shown in the draft as a grey chip; `location`: "paragraph 12". */
  placeholders: { kind: string; label: string; location: string }[];
  warnings: string[];
}

export interface CommandError {
  code: string;
  message: string;
}

export function isCommandError(value: unknown): value is CommandError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { message?: unknown }).message === "string"
  );
}

/** A message a lawyer can read, whatever was thrown. */
export function errorMessage(error: unknown): string {
  if (isCommandError(error)) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export type SyncMode = "local" | "paused" | "signed_out" | "connecting" | "offline" | "syncing" | "synced";

export interface SyncStatus {
  mode: SyncMode;
  pending: number;
}

export interface Settings {
  server_url: string;
  display_name: string;
  work_offline: boolean;
  oidc_issuer: string;
  oidc_client_id: string;
  /** Extra sign-in scopes, space-separated (Entra ID: `api://<app-id>/sync`). */
  oidc_scopes: string;
  /** `audience` parameter for providers that need it (Auth0, some Okta set-ups). */
  oidc_audience: string;
  /** RFC 8707 `resource` indicator, for providers that take that instead. */
  oidc_resource: string;
  /** The firm's HTTP proxy (`http://proxy:3128`); empty: the system's. */
  proxy: string;
  /** The update channel the firm's server offers (`stable`, `pilot`, …). */
  update_channel: string;
  /** Check the firm's server for updates at start and daily. */
  automatic_updates: boolean;
  /** Show the AI copilot panel. */
  copilot_visible: boolean;
  /** How much the log files say: error, warn, info or debug. */
  log_level: string;
}

/** A setting the firm's IT may lock (read-only in Settings). */
export type SettingName = keyof Settings;

/** Whether this computer's data is open, and if not, what the lawyer can do. */
export type Lock =
  | { state: "open" }
  | { state: "needs_passphrase"; has_passphrase: boolean; reason: string }
  | { state: "keychain_refused"; reason: string }
  | { state: "cannot_open"; reason: string };

/** Updates from the firm's server. */
export type UpdateState =
  | { state: "idle" }
  | { state: "off"; reason: string }
  | { state: "checking" }
  | { state: "up_to_date" }
  | { state: "downloading"; version: string }
  | { state: "ready"; version: string; notes: string }
  | { state: "installing"; version: string }
  | { state: "failed"; message: string };

export interface AppInfo {
  version: string;
  data_dir: string;
  settings: Settings;
  /** "development token" when the app was started with one (sign-in is not used then). */
  account: string | null;
  /** Who is signed in with the identity provider (live: events.signInState). */
  sign_in: SignInStatus;
  status: SyncStatus;
  /** Why the server cannot be reached now, if it cannot. */
  problem: string | null;
  today: string;
  /** Settings the firm's IT locked ("Set by your firm"). */
  locked: SettingName[];
  /** Policy values IT set that could not be applied. */
  policy_problems: string[];
  /** The data is protected by a passphrase (no usable keychain). */
  passphrase_protected: boolean;
}

export interface CaseFields {
  title: string;
  client: string;
  matter_number: string;
  practice_area: string;
  status: string;
  responsible: string;
  notes: string;
  /** The firm's conflicts check this matter was opened after; written once, at creation. */
  conflict_check?: string;
  /** `clear`, `proceeded` (despite possible conflicts) or `offline` (the check could not run). */
  conflict_decision?: string;
}

export type CasePatch = Partial<CaseFields> & { archived?: boolean };

export interface Party {
  id: string;
  role: string;
  name: string;
}

export interface Deadline {
  id: string;
  date: string;
  title: string;
  kind: string;
  done: boolean;
}

export interface Case extends CaseFields {
  id: string;
  archived: boolean;
  parties: Party[];
  deadlines: Deadline[];
}

export interface CaseSummary {
  id: string;
  title: string;
  client: string;
  matter_number: string;
  practice_area: string;
  status: string;
  responsible: string;
  archived: boolean;
  next_deadline: string | null;
}

export type CaseSort = "next_deadline" | "title" | "client" | "matter_number" | "status";

export interface CaseFilter {
  status: string | null;
  practice_area: string | null;
  responsible: string | null;
  include_archived: boolean;
  sort: CaseSort;
}

export interface UpcomingDeadline {
  case_id: string;
  case_title: string;
  id: string;
  date: string;
  title: string;
  kind: string;
  overdue: boolean;
}

export interface DraftSummary {
  doc: string;
  case_id: string;
  id: string;
  title: string;
  updated_at: number;
}

export interface SearchHit {
  doc: string;
  case_id: string;
  kind: "case" | "draft";
  title: string;
  case_title: string;
  snippet: string;
}

export interface AwarenessState {
  client_id: number;
  clock: number;
  state: string;
}

export type CopilotAction = "summarize" | "redraft" | "draft_clause" | "review_risks";

export interface CopilotRequest {
  case_id: string;
  action: CopilotAction;
  text: string;
  instruction?: string;
}

/** One event of a streamed answer: start, delta {text}, done {usage…}, error {code, message}. */
export interface CopilotEvent {
  event: string;
  data: Record<string, unknown>;
}

export interface CopilotAvailability {
  available: boolean;
  reason_code: string | null;
  message: string;
  consented: boolean;
  model: string;
}

export interface Member {
  user_id: string;
  /** From the firm directory; absent from older servers, null until the person signed in. */
  name?: string | null;
  email?: string | null;
  /** owner, editor, commenter or viewer (text: a newer server may know more; see parseRole). */
  role: string;
  added_by: string;
  added_at: string;
}

/** One of my matters as the firm's server lists it, with its legal hold. */
export interface FirmMatter {
  id: string;
  role: "owner" | "editor" | "viewer";
  title: string | null;
  created_at: string;
  legal_hold: boolean;
  hold_reason: string | null;
  /** The firm admin who placed the hold. */
  hold_by: string | null;
  hold_at: string | null;
}

/** One entry of the audit log (never a token or a document's text). */
export interface AuditEntry {
  id: number;
  case_id: string | null;
  case_title: string | null;
  user_id: string | null;
  user_name: string | null;
  action: string;
  detail: Record<string, unknown>;
  at: string;
}

/** Filters of the audit log; dates are YYYY-MM-DD, both included. */
export interface AuditFilter {
  case?: string | null;
  actor?: string | null;
  action?: string | null;
  from?: string | null;
  to?: string | null;
  limit?: number | null;
  before?: number | null;
}

/** A person of the firm directory. */
export interface Person {
  id: string;
  name?: string | null;
  email?: string | null;
}

/** Who the lawyer is to the firm: which admin screens to show. */
export interface FirmRoles {
  user_id: string;
  firm_id: string;
  firm_admin: boolean;
  /** The conflicts/risk role: manages ethical walls. */
  conflicts_officer: boolean;
}

/** An ethical wall anywhere in the firm. */
export interface FirmScreen {
  case_id: string;
  case_title?: string | null;
  user_id: string;
  name?: string | null;
  email?: string | null;
  reason: string;
  added_by: string;
  added_by_name?: string | null;
  added_at: string;
}

/** What the new-matter form asks the firm's conflicts check. */
export interface ConflictQuery {
  client: string;
  adverse: string[];
  related: string[];
}

/** Whom to ask about a possible conflict on a matter the lawyer may not see. */
export type ConflictContact =
  | { role: "responsible_lawyer"; user_id: string; name?: string | null }
  | { role: "conflicts_role" };

/** A possible conflict: in full on a matter the lawyer may read, else only that it exists. */
export type ConflictHit =
  | {
      visibility: "detail";
      case_id: string;
      title?: string | null;
      party: string;
      /** `client`, `adverse` or `related`, on that matter. */
      party_kind: string;
      searched: string;
      searched_kind: string;
      score: number;
      /** `same_name`, `spelling_differs` or `name_contained`. */
      rule: string;
    }
  | { visibility: "restricted"; possible_conflict: boolean; ask: ConflictContact };

export interface ConflictCheck {
  check_id: string;
  total: number;
  hits: ConflictHit[];
}

/** A matter of the firm, for the walls screen's picker. */
export interface MatterRef {
  id: string;
  title?: string | null;
}

export interface CopilotPolicy {
  enabled: boolean;
  store_content: boolean;
  monthly_token_quota: number | null;
  effective_monthly_tokens: number;
  configured: boolean;
  model: string;
}

/** Calls and tokens of a person (user_id), a matter (case_id, title) or a month (YYYY-MM). */
export interface UsageGroup {
  user_id?: string;
  case_id?: string;
  title?: string | null;
  month?: string;
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
}

export interface UsageReport {
  since: string;
  until: string;
  by_user: UsageGroup[];
  by_case: UsageGroup[];
  by_month: UsageGroup[];
}

export const ipc = {
  lockState: () => invoke<Lock>("lock_state"),
  /** Enter the passphrase, or choose one (`create`), and open this computer's data. */
  unlock: (passphrase: string, create: boolean) => invoke<Lock>("unlock", { passphrase, create }),
  retryKeychain: () => invoke<Lock>("retry_keychain"),
  appInfo: () => invoke<AppInfo>("app_info"),
  /** Version, OS, server, sync state, last errors: no secrets (Settings → Copy diagnostics). */
  diagnostics: () => invoke<string>("diagnostics"),
  updateStatus: () => invoke<UpdateState>("update_status"),
  checkForUpdate: () => invoke<UpdateState>("check_for_update"),
  /** Install the downloaded, verified update and restart (waits for the outbox to drain). */
  installUpdate: () => invoke<void>("install_update"),
  /** The first screen has painted its data (logged once by the app, measured by bench-app). */
  uiReady: (screen: string, rows: number) => invoke<void>("ui_ready", { screen, rows }),
  saveSettings: (settings: Settings) => invoke<void>("save_settings", { settings }),
  listCases: (filter: CaseFilter) => invoke<CaseSummary[]>("list_cases", { filter }),
  upcomingDeadlines: (today: string, days: number) =>
    invoke<UpcomingDeadline[]>("upcoming_deadlines", { today, days }),
  search: (query: string) => invoke<SearchHit[]>("search", { query }),
  getCase: (caseId: string) => invoke<Case>("get_case", { caseId }),
  /** Create a matter offline, with its first parties (`role`: client, opposing_party, related). */
  createCase: (fields: CaseFields, parties: { role: string; name: string }[] = []) =>
    invoke<string>("create_case", { fields, parties }),
  checkConflicts: (query: ConflictQuery) => invoke<ConflictCheck>("check_conflicts", { query }),
  updateCase: (caseId: string, patch: CasePatch) => invoke<void>("update_case", { caseId, patch }),
  addParty: (caseId: string, role: string, name: string) =>
    invoke<Party>("add_party", { caseId, role, name }),
  addDeadline: (caseId: string, date: string, title: string, kind: string) =>
    invoke<Deadline>("add_deadline", { caseId, date, title, kind }),
  setDeadlineDone: (caseId: string, id: string, done: boolean) =>
    invoke<void>("set_deadline_done", { caseId, id, done }),
  removeFromCase: (caseId: string, list: "parties" | "deadlines", id: string) =>
    invoke<void>("remove_from_case", { caseId, list, id }),
  listDrafts: (caseId: string) => invoke<DraftSummary[]>("list_drafts", { caseId }),
  createDraft: (caseId: string, title: string) => invoke<string>("create_draft", { caseId, title }),
  renameDraft: (doc: string, title: string) => invoke<void>("rename_draft", { doc, title }),
  deleteDraft: (doc: string) => invoke<void>("delete_draft", { doc }),
  /**
   * The whole document as one Yjs v1 update. From the moment this is called, remote changes to
   * it (raw Yjs updates, already saved on this computer) go to `onUpdate` until `closeDoc` with
   * the returned channel.
   */
  openDoc: async (doc: string, onUpdate: (update: Uint8Array) => void) => {
    const updates = new Channel<ArrayBuffer>();
    updates.onmessage = (update) => onUpdate(new Uint8Array(update));
    const state = new Uint8Array(await invoke<ArrayBuffer>("open_doc", { doc, updates }));
    return { state, channel: updates.id };
  },
  closeDoc: (doc: string, channel: number) => invoke<void>("close_doc", { doc, channel }),
  /**
   * Durable on this computer when it resolves; returns the number of unsynced changes. The
   * update crosses as raw bytes (the document in a header), not as a JSON array of numbers.
   */
  applyLocalUpdate: (doc: string, update: Uint8Array) =>
    invoke<number>("apply_local_update", update, { headers: { doc } }),
  setAwareness: (doc: string, state: string) => invoke<void>("set_awareness", { doc, state }),
  /** Import a Word file into the matter as a new draft (raw bytes; the name rides in a header). */
  importDocx: (caseId: string, fileName: string, bytes: Uint8Array) =>
    invoke<{ doc: string; report: ImportReport }>("import_docx", bytes, {
      headers: { case: caseId, "file-name": encodeURIComponent(fileName) },
    }),
  exportDocx: (doc: string) => invoke<string>("export_docx", { doc }),
  /** Resolves to the saved file's path. */
  exportPdf: (doc: string, paper: Paper) => invoke<string>("export_pdf", { doc, paper }),
  /** A Word redline whose tracked changes take version `from` to version `to` ("current": the draft now). */
  exportRedline: (doc: string, from: string, to: string) => invoke<string>("export_redline", { doc, from, to }),
  /** The lawyer's own role in the matter (the server's word, remembered offline). */
  myRole: (caseId: string) => invoke<string>("my_role", { caseId }),
  caseMembers: (caseId: string) => invoke<Member[]>("case_members", { caseId }),
  /** My matters with their legal holds (also recorded on this computer, which then refuses deletions). */
  firmMatters: () => invoke<FirmMatter[]>("firm_matters"),
  /** Place (`held`) or lift a legal hold, with a reason (firm admins). Resolves to the refreshed matters. */
  setLegalHold: (caseId: string, held: boolean, reason: string) =>
    invoke<FirmMatter[]>("set_legal_hold", { caseId, held, reason }),
  firmAudit: (filter: AuditFilter) => invoke<AuditEntry[]>("firm_audit", { filter }),
  /** Resolves to the saved CSV file's path. */
  exportAuditCsv: (filter: AuditFilter) => invoke<string>("export_audit_csv", { filter }),
  /** Open deadlines as an .ics calendar file: one matter's, or (null) all upcoming from `today`. Resolves to its path. */
  exportDeadlinesIcs: (caseId: string | null, today: string) =>
    invoke<string>("export_deadlines_ics", { caseId, today }),
  /** Online only (code `connection` offline, `no_server` without a server). */
  firmRoles: () => invoke<FirmRoles>("firm_roles"),
  searchDirectory: (query: string) => invoke<Person[]>("search_directory", { query }),
  /** Share the matter with someone, or change their role (owners and firm admins). */
  setMember: (caseId: string, userId: string, role: string) => invoke<void>("set_member", { caseId, userId, role }),
  removeMember: (caseId: string, userId: string) => invoke<void>("remove_member", { caseId, userId }),
  firmScreens: () => invoke<FirmScreen[]>("firm_screens"),
  matterChoices: () => invoke<MatterRef[]>("matter_choices"),
  addScreen: (caseId: string, userId: string, reason: string) => invoke<void>("add_screen", { caseId, userId, reason }),
  liftScreen: (caseId: string, userId: string) => invoke<void>("lift_screen", { caseId, userId }),
  copilotPolicy: () => invoke<CopilotPolicy>("copilot_policy"),
  setCopilotEnabled: (enabled: boolean) => invoke<CopilotPolicy>("set_copilot_enabled", { enabled }),
  copilotUsage: (since: string | null) => invoke<UsageReport>("copilot_usage", { since }),
  /** Saves the CSV where exports go; resolves to its path. */
  copilotUsageCsv: (since: string | null) => invoke<string>("copilot_usage_csv", { since }),
  copilotAvailability: (caseId: string) => invoke<CopilotAvailability>("copilot_availability", { caseId }),
  copilotSetConsent: (caseId: string, consented: boolean, note: string) =>
    invoke<void>("copilot_set_consent", { caseId, consented, note }),
  /** Start an answer; events stream to `onEvent`. Resolves to the id for `copilotStop`. */
  copilotChat: (request: CopilotRequest, onEvent: (event: CopilotEvent) => void) => {
    const channel = new Channel<CopilotEvent>();
    channel.onmessage = onEvent;
    return invoke<number>("copilot_chat", { request, onEvent: channel });
  },
  copilotStop: (id: number) => invoke<void>("copilot_stop", { id }),
  exportLocalData: (passphrase: string) =>
    invoke<{ path: string; documents: number }>("export_local_data", { passphrase }),
  listLocalExports: () => invoke<string[]>("list_local_exports"),
  /** Merge an export (a file name from listLocalExports) into this computer's data. */
  importLocalData: (file: string, passphrase: string) => invoke<number>("import_local_data", { file, passphrase }),
  /** Opens the system browser and waits for it (`signin_cancelled` after cancelSignIn). */
  signIn: () => invoke<SignInStatus>("sign_in"),
  /** Ends the sign-in waiting for the browser. */
  cancelSignIn: () => invoke<void>("cancel_sign_in"),
  /** Revokes the sign-in at the provider when it can, and wipes it from this computer. */
  signOut: () => invoke<SignedOut>("sign_out"),
  localMatters: () => invoke<LocalMatters>("local_matters"),
  /** Upload the matters made before the first sign-in to the account; how many. */
  attachLocalMatters: () => invoke<number>("attach_local_matters"),
  /** Matters the firm removed from this computer whose notice the lawyer has not dismissed. */
  removalNotices: () => invoke<StoredRemoval[]>("removal_notices"),
  /** The lawyer read the notice; the matter stays removed. Whether a notice was still listed. */
  dismissRemovalNotice: (caseId: string) => invoke<boolean>("dismiss_removal_notice", { caseId }),
  /** This window answers every `close-requested` event from now on. */
  guardWindowClose: () => invoke<void>("guard_window_close"),
  /** The window is saving or asking the lawyer about close request `request`. */
  holdWindowOpen: (request: number) => invoke<void>("hold_window_open", { request }),
  /** Close the window now (nothing unsaved, or the lawyer chose to discard it). */
  closeWindow: () => invoke<void>("close_window"),
};

function on<T>(event: string, handler: (payload: T) => void): Promise<UnlistenFn> {
  return listen<T>(event, (message) => handler(message.payload));
}

export const events = {
  updateState: (handler: (state: UpdateState) => void) => on<UpdateState>("update-state", handler),
  syncState: (handler: (status: SyncStatus) => void) => on<SyncStatus>("sync-state", handler),
  /** Who is signed in changed (restored at launch, offline, refused, signed in or out). */
  signInState: (handler: (status: SignInStatus) => void) => on<SignInStatus>("sign-in-state", handler),
  awareness: (handler: (change: { doc: string; states: AwarenessState[] }) => void) =>
    on("awareness", handler),
  casesChanged: (handler: (change: { case_id: string }) => void) => on("cases-changed", handler),
  denied: (handler: (change: { doc: string; reason: string }) => void) => on("sync-denied", handler),
  /** The lawyer's role on an open matter changed (ask myRole again). */
  roleChanged: (handler: (change: { case_id: string }) => void) => on<{ case_id: string }>("role-changed", handler),
  /** The firm removed the lawyer from a matter; it is gone from this computer. */
  matterRemoved: (handler: (removal: MatterRemoval) => void) => on<MatterRemoval>("matter-removed", handler),
  /** Signed in as another account than this computer's data belongs to: nothing syncs. */
  accountMismatch: (handler: (mismatch: AccountMismatch) => void) =>
    on<AccountMismatch>("account-mismatch", handler),
  /** The lawyer asked to close the window; answer with holdWindowOpen or closeWindow. */
  closeRequested: (handler: (request: number) => void) => on<number>("close-requested", handler),
  /** Why the server cannot be reached (certificate, proxy, network), or null once connected. */
  syncProblem: (handler: (change: { message: string | null }) => void) =>
    on<{ message: string | null }>("sync-problem", handler),
  /** Signed in as another account: the app now shows that account's own local store. */
  storeSwitched: (handler: (switched: { account: string }) => void) =>
    on<{ account: string }>("store-switched", handler),
};
