//! The window's commands: each parses its input, calls `crates/local`, and maps the result.
//! Errors reach the UI as `{code, message}` (see error.rs).

use local::{CaseId, DocName};
use std::sync::Arc;

use local::Store;
use local::store::matter_record::{Case, CaseFields, CasePatch, Deadline, Party};
use local::store::projection::{
    CaseFilter, CaseSummary, DraftSummary, SearchHit, UpcomingDeadline,
};
use serde::Serialize;
use tauri::{AppHandle, Manager, State};

use crate::error::{CommandError, CommandResult};
use crate::policy::Policy;
use crate::settings::Settings;
use crate::signin::{SignInState, SignInStatus};
use crate::sync::{self, AppState, SyncStatus};

fn doc_name(doc: &str) -> CommandResult<DocName> {
    DocName::parse(doc).map_err(|error| CommandError::new("invalid_doc", error.to_string()))
}

#[derive(Serialize)]
pub struct AppInfo {
    version: &'static str,
    data_dir: String,
    settings: Settings,
    /// "development token" when started with one (sign-in is then not used).
    account: Option<String>,
    /// Who is signed in with the identity provider, and how sure the app is of it.
    sign_in: SignInStatus,
    status: SyncStatus,
    /// Why the server cannot be reached now, if it cannot (then `sync-problem` events).
    problem: Option<String>,
    today: String,
    /// The settings the firm's IT locked (read-only in Settings, "Set by your firm").
    locked: Vec<&'static str>,
    /// Policy values IT set that could not be applied, each saying what to change.
    policy_problems: Vec<String>,
    /// Whether the data is protected by a passphrase (no usable keychain on this computer).
    passphrase_protected: bool,
}

/// The first screen is on the window with its data (the dashboard's rows painted). Logged once,
/// with the time since the process started and the wall clock, for support ("the app takes N s
/// to open") and for `scripts/bench-app`, which starts the app as a user would (no WebDriver).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn ui_ready(screen: String, rows: u32) {
    static FIRST: std::sync::Once = std::sync::Once::new();
    FIRST.call_once(|| {
        let epoch_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| since.as_millis() as u64)
            .unwrap_or(0);
        tracing::info!(
            screen = screen.as_str(),
            rows,
            since_start_ms = crate::STARTED.get().map(|s| s.elapsed().as_millis() as u64),
            epoch_ms,
            "first screen ready"
        );
    });
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn app_info(
    state: State<'_, AppState>,
    sign_in: State<'_, SignInState>,
    policy: State<'_, Policy>,
) -> AppInfo {
    static FIRST: std::sync::Once = std::sync::Once::new();
    FIRST.call_once(|| {
        tracing::info!(
            since_start_ms = crate::STARTED.get().map(|s| s.elapsed().as_millis() as u64),
            "window asked for the app's state (UI script running)"
        );
    });
    AppInfo {
        version: crate::VERSION,
        data_dir: state.data_dir.to_string_lossy().into_owned(),
        settings: state.settings(),
        account: state.account.lock().ok().and_then(|a| a.clone()),
        sign_in: sign_in.status(),
        status: state
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or(SyncStatus {
                mode: sync::SyncMode::Local,
                pending: 0,
            }),
        problem: state
            .problem
            .lock()
            .ok()
            .and_then(|problem| problem.clone()),
        today: chrono::Local::now().format("%Y-%m-%d").to_string(),
        locked: policy.locked(),
        policy_problems: policy.problems.clone(),
        passphrase_protected: crate::keychain::uses_vault(),
    }
}

/// "Copy diagnostics" in Settings: what the help desk asks first. No secrets: no token, no
/// key, no document text, no matter names; the server's address and the sync state only.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn diagnostics(app: AppHandle) -> String {
    let mut lines = vec![
        format!("Lawyers Hub {}", crate::VERSION),
        format!(
            "OS: {} {} ({})",
            std::env::consts::OS,
            os_release(),
            std::env::consts::ARCH
        ),
    ];
    let policy = app.state::<Policy>();
    lines.push(format!(
        "Managed policy: {}",
        policy.source.as_deref().unwrap_or("none")
    ));
    if !policy.locked().is_empty() {
        lines.push(format!(
            "Locked by the firm: {}",
            policy.locked().join(", ")
        ));
    }
    for problem in &policy.problems {
        lines.push(format!("Policy problem: {problem}"));
    }
    match app.try_state::<AppState>() {
        Some(state) => {
            let settings = state.settings();
            let server = if settings.server_url.is_empty() {
                "none (this computer only)".to_owned()
            } else {
                settings.server_url.clone()
            };
            lines.push(format!("Server: {server}"));
            lines.push(format!(
                "Sign-in: {}",
                if settings.oidc_issuer.is_empty() {
                    "not set up".to_owned()
                } else {
                    settings.oidc_issuer.clone()
                }
            ));
            lines.push(format!(
                "Proxy: {}",
                settings
                    .proxy()
                    .map(|proxy| local::net::redacted(&proxy))
                    .unwrap_or_else(|| "the system's".to_owned())
            ));
            if let Ok(status) = state.status.lock() {
                lines.push(format!(
                    "Sync: {:?}, {} change(s) waiting to be sent",
                    status.mode, status.pending
                ));
            }
            if let Some(problem) = state.problem.lock().ok().and_then(|p| p.clone()) {
                lines.push(format!("Last connection problem: {problem}"));
            }
            lines.push(format!(
                "Update channel: {}, automatic updates {}",
                settings.update_channel,
                if settings.automatic_updates {
                    "on"
                } else {
                    "off"
                }
            ));
            lines.push(format!("Data folder: {}", state.data_dir.display()));
        }
        None => lines.push("Local data: not open yet".to_owned()),
    }
    lines.push(format!(
        "Keys kept in: {}",
        if crate::keychain::uses_vault() {
            "a passphrase-protected key file"
        } else {
            "the system keychain"
        }
    ));
    lines.push(format!(
        "Updates: {:?}",
        app.state::<crate::updates::Updates>().state()
    ));
    if let Ok(dir) = app.path().app_log_dir() {
        lines.push(format!("Log files: {}", dir.display()));
    }
    for error in crate::recent_errors() {
        lines.push(format!("Recent error: {error}"));
    }
    lines.join("\n")
}

/// The OS release in one line (Linux: PRETTY_NAME of /etc/os-release).
fn os_release() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("PRETTY_NAME="))
                .map(|name| name.trim_matches('"').to_owned())
        })
        .unwrap_or_default()
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn save_settings(app: AppHandle, settings: Settings) -> CommandResult<()> {
    settings
        .validate()
        .map_err(|message| CommandError::new("invalid_settings", message))?;
    let Some(state) = app.try_state::<AppState>() else {
        return Err(CommandError::new("not_open", "Your data is not open yet."));
    };
    // What the firm locked stays the firm's, whatever the page sent; and it is not saved as the
    // lawyer's own choice (the value saved before stays).
    let policy = app.state::<Policy>();
    let to_save = policy.keep_unlocked(settings.clone(), &Settings::load(&state.data_dir));
    let settings = policy.apply(settings);
    to_save
        .save(&state.data_dir, &Settings::base())
        .map_err(|error| {
            CommandError::new(
                "settings_not_saved",
                format!("Settings could not be saved: {error}"),
            )
        })?;
    // Validated above: a proxy that cannot be used was refused before saving.
    local::net::set_proxy(settings.proxy())?;
    if let Ok(mut current) = state.settings.lock() {
        *current = settings;
    }
    // Another identity provider (or one set for the first time) may have a sign-in kept.
    crate::signin::resume(&app);
    sync::restart(&app).await;
    // Another server, channel or choice about updates: ask the (new) feed.
    crate::updates::check_soon(&app);
    Ok(())
}

/// Run `f` on the store on a blocking-pool thread. Every store call commits with fsync
/// (`synchronous = FULL`); a synchronous Tauri command would run on the main thread and a slow
/// disk would freeze the window, so commands never touch the store on the UI thread.
async fn on_store<T: Send + 'static>(
    app: &AppHandle,
    f: impl FnOnce(&Store) -> Result<T, local::LocalError> + Send + 'static,
) -> CommandResult<T> {
    let store = app.state::<AppState>().store();
    blocking(move || f(&store)).await
}

/// Run `job` on a blocking-pool thread, never the UI thread; its error becomes `{code, message}`.
pub(crate) async fn blocking<T: Send + 'static, E: Into<CommandError> + Send + 'static>(
    job: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> CommandResult<T> {
    tauri::async_runtime::spawn_blocking(job)
        .await
        .map_err(|error| {
            tracing::error!(%error, "blocking task failed");
            CommandError::new(
                "internal",
                "Lawyers Hub hit an internal error; please try again.",
            )
        })?
        .map_err(Into::into)
}

/// After an edit of the store in use: show the number of unsynced changes (returned). The sync
/// client hears of the edit from the store's outbox watch.
fn edited(app: &AppHandle) -> usize {
    let state = app.state::<AppState>();
    state.saved(app, state.pending())
}

/// After an edit written to `store`, which left `pending` unsynced changes there: as `edited`
/// when it is the store in use. An edit of a draft of the account used before a switch stays
/// in that account's outbox (no client runs for it), and the top bar keeps counting the
/// account in use.
fn edited_in(app: &AppHandle, store: &Arc<Store>, pending: usize) -> usize {
    let state = app.state::<AppState>();
    if Arc::ptr_eq(store, &state.store()) {
        state.saved(app, pending)
    } else {
        state.pending()
    }
}

/// A matter id from the window, parsed once here; the store takes the typed id.
pub(crate) fn parse_case_id(text: &str) -> CommandResult<CaseId> {
    CaseId::parse(text).map_err(|error| CommandError::new("invalid_input", error.to_string()))
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_cases(app: AppHandle, filter: CaseFilter) -> CommandResult<Vec<CaseSummary>> {
    on_store(&app, move |store| store.cases(&filter)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn upcoming_deadlines(
    app: AppHandle,
    today: String,
    days: u32,
) -> CommandResult<Vec<UpcomingDeadline>> {
    on_store(&app, move |store| store.upcoming_deadlines(&today, days)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn search(app: AppHandle, query: String) -> CommandResult<Vec<SearchHit>> {
    on_store(&app, move |store| store.search(&query)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_case(app: AppHandle, case_id: String) -> CommandResult<Case> {
    let case_id = parse_case_id(&case_id)?;
    let case = on_store(&app, move |store| store.case(&case_id)).await?;
    sync::open(&app, DocName::case(&case_id)).await;
    Ok(case)
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_case(
    app: AppHandle,
    fields: CaseFields,
    parties: Option<Vec<Party>>,
) -> CommandResult<CaseId> {
    // The first parties (client, adverse, related) go into the matter's first edit, so the
    // server indexes them for later conflicts checks together with the matter.
    let parties: Vec<(String, String)> = parties
        .unwrap_or_default()
        .into_iter()
        .map(|party| (party.role, party.name))
        .collect();
    let id = on_store(&app, move |store| {
        store.create_case_with_parties(&fields, &parties)
    })
    .await?;
    edited(&app);
    Ok(id)
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_case(app: AppHandle, case_id: String, patch: CasePatch) -> CommandResult<()> {
    let case_id = parse_case_id(&case_id)?;
    on_store(&app, move |store| store.update_case(&case_id, &patch)).await?;
    edited(&app);
    Ok(())
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn add_party(
    app: AppHandle,
    case_id: String,
    role: String,
    name: String,
) -> CommandResult<Party> {
    let case_id = parse_case_id(&case_id)?;
    let party = on_store(&app, move |store| store.add_party(&case_id, &role, &name)).await?;
    edited(&app);
    Ok(party)
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn add_deadline(
    app: AppHandle,
    case_id: String,
    date: String,
    title: String,
    kind: String,
) -> CommandResult<Deadline> {
    let case_id = parse_case_id(&case_id)?;
    let deadline = on_store(&app, move |store| {
        store.add_deadline(&case_id, &date, &title, &kind)
    })
    .await?;
    edited(&app);
    Ok(deadline)
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_deadline_done(
    app: AppHandle,
    case_id: String,
    id: String,
    done: bool,
) -> CommandResult<()> {
    let case_id = parse_case_id(&case_id)?;
    on_store(&app, move |store| {
        store.set_deadline_done(&case_id, &id, done)
    })
    .await?;
    edited(&app);
    Ok(())
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn remove_from_case(
    app: AppHandle,
    case_id: String,
    list: String,
    id: String,
) -> CommandResult<()> {
    let case_id = parse_case_id(&case_id)?;
    on_store(&app, move |store| {
        store.remove_from_case(&case_id, &list, &id)
    })
    .await?;
    edited(&app);
    Ok(())
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_drafts(app: AppHandle, case_id: String) -> CommandResult<Vec<DraftSummary>> {
    let case_id = parse_case_id(&case_id)?;
    on_store(&app, move |store| store.drafts(&case_id)).await
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_draft(app: AppHandle, case_id: String, title: String) -> CommandResult<String> {
    let case_id = parse_case_id(&case_id)?;
    let doc = on_store(&app, move |store| store.create_draft(&case_id, &title)).await?;
    edited(&app);
    Ok(doc.as_str().to_owned())
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rename_draft(app: AppHandle, doc: String, title: String) -> CommandResult<()> {
    let name = doc_name(&doc)?;
    // The draft's own store, if the window opened it (see `apply_local_update`).
    let store = app.state::<AppState>().store_for(&name);
    let target = store.clone();
    let draft = name.clone();
    blocking(move || target.rename_draft(&draft, &title)).await?;
    edited_in(&app, &store, store.outbox_state().pending);
    Ok(())
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_draft(app: AppHandle, doc: String) -> CommandResult<()> {
    let name = doc_name(&doc)?;
    let store = app.state::<AppState>().store_for(&name);
    let target = store.clone();
    let draft = name.clone();
    blocking(move || target.delete_draft(&draft)).await?;
    edited_in(&app, &store, store.outbox_state().pending);
    Ok(())
}

/// The whole document as one Yjs v1 update (binary), and subscribe it for live updates: remote
/// changes go to `updates` as raw bytes from the moment this is called (the window applies
/// those that arrive before the state after it), until `close_doc`.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn open_doc(
    app: AppHandle,
    doc: String,
    updates: tauri::ipc::Channel,
) -> CommandResult<tauri::ipc::Response> {
    let name = doc_name(&doc)?;
    let state = app.state::<AppState>();
    if let Ok(mut channels) = state.doc_channels.lock() {
        channels.entry(name.clone()).or_default().push(updates);
    }
    let store = state.store();
    let reader = store.clone();
    let opened = name.clone();
    let bytes = blocking(move || reader.full_state(&opened)).await?;
    sync::open_in(&app, name, &store).await;
    Ok(tauri::ipc::Response::new(bytes))
}

/// The editor closed `doc`: its channel (by id) gets no more remote changes.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn close_doc(app: AppHandle, doc: String, channel: u32) -> CommandResult<()> {
    let name = doc_name(&doc)?;
    if let Ok(mut channels) = app.state::<AppState>().doc_channels.lock()
        && let Some(listeners) = channels.get_mut(&name)
    {
        listeners.retain(|listener| listener.id() != channel);
        if listeners.is_empty() {
            channels.remove(&name);
        }
    }
    Ok(())
}

/// A change typed in the editor: the request body is the Yjs v1 update as raw bytes and the
/// `doc` header names the document. Durable on disk (update log + outbox, one transaction)
/// before this returns; the sync client hears of it from the store. Returns the number of
/// unsynced changes, counted by that same write. On an error nothing was written (`disk_full`
/// when the disk is): the editor keeps the bytes and sends them again, ahead of anything typed
/// since (ui/src/editor/saveQueue.ts).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn apply_local_update(
    app: AppHandle,
    request: tauri::ipc::Request<'_>,
) -> CommandResult<usize> {
    let doc = request
        .headers()
        .get("doc")
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| CommandError::new("invalid_doc", "the change names no document"))?;
    let tauri::ipc::InvokeBody::Raw(update) = request.body() else {
        return Err(CommandError::new(
            "invalid_input",
            "a change must be sent as raw bytes",
        ));
    };
    let update = update.clone();
    let name = doc_name(doc)?;
    let target = name.clone();
    // The store the document was read from: after a switch to another account's store, an
    // edit of a draft opened before still goes to its own account's store, never this one.
    let store_used = app.state::<AppState>().store_of_opened(&name)?;
    let store = store_used.clone();
    let pending = blocking(move || {
        // A save still queued in the editor when the firm removed the matter is discarded
        // like the matter's other unsent changes (docs/ARCHITECTURE.md, "Matter removal").
        if store.matter_removed(&target.case_id())? {
            return Ok(store.outbox_state().pending);
        }
        store.apply_local_update(&target, &update)
    })
    .await?;
    Ok(edited_in(&app, &store_used, pending))
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_awareness(app: AppHandle, doc: String, state: String) -> CommandResult<()> {
    if state.len() > 16 * 1024 {
        return Err(CommandError::new(
            "invalid_input",
            "awareness state too large",
        ));
    }
    sync::set_awareness(&app, &doc_name(&doc)?, state).await;
    Ok(())
}

/// Write the draft as a Word file into Documents/Lawyers Hub and return its path.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn export_docx(app: AppHandle, doc: String) -> CommandResult<String> {
    let doc = doc_name(&doc)?;
    let (title, bytes) = on_store(&app, move |store| {
        let draft = store.draft_for_export(&doc)?;
        let bytes = local::export::docx::export(&draft)?;
        Ok((draft.title, bytes))
    })
    .await?;
    save_export(&app, &title, "docx", &bytes)
}

/// A Word file imported as a new draft: its document name and what the import found.
#[derive(Serialize)]
pub struct ImportedDraft {
    pub doc: String,
    pub report: local::import::ImportReport,
}

/// Import a Word (.docx) file into a matter as a new draft. The window sends the file's bytes
/// raw (it reads the file the lawyer picked or dropped; this app has no file-system access for
/// the window), the matter in the `case` header and the file's name, percent-encoded, in
/// `file-name`. Files that are not .docx, password-protected, corrupt or too big are refused
/// with a message the lawyer can act on.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn import_docx(
    app: AppHandle,
    request: tauri::ipc::Request<'_>,
) -> CommandResult<ImportedDraft> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let case_id = parse_case_id(
        &header("case")
            .ok_or_else(|| CommandError::new("invalid_input", "the import names no matter"))?,
    )?;
    let file_name = header("file-name")
        .map(|name| percent_decode(&name))
        .unwrap_or_else(|| "Imported document.docx".to_owned());
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(CommandError::new(
            "invalid_input",
            "the Word file must be sent as raw bytes",
        ));
    };
    let bytes = bytes.clone();
    let author = app.state::<AppState>().settings().display_name;
    let (doc, report) = on_store(&app, move |store| {
        store.import_docx(&case_id, &file_name, &bytes, &author)
    })
    .await?;
    edited(&app);
    Ok(ImportedDraft {
        doc: doc.as_str().to_owned(),
        report,
    })
}

/// `%XX` escapes decoded (what `encodeURIComponent` wrote); invalid UTF-8 is replaced.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// Write a Word redline whose tracked changes take version `from` to version `to` of the draft
/// (`"current"`: the draft as it is now) into Documents/Lawyers Hub; returns its path.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn export_redline(
    app: AppHandle,
    doc: String,
    from: String,
    to: String,
) -> CommandResult<String> {
    let doc = doc_name(&doc)?;
    let (title, bytes) = on_store(&app, move |store| store.redline(&doc, &from, &to)).await?;
    save_export(&app, &format!("{title} (redline)"), "docx", &bytes)
}

/// Write the draft as a PDF (`paper`: "a4" or "letter") into Documents/Lawyers Hub and return
/// its path.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn export_pdf(app: AppHandle, doc: String, paper: String) -> CommandResult<String> {
    let paper = local::export::pdf::Paper::parse(&paper)
        .ok_or_else(|| CommandError::new("invalid_input", "paper must be \"a4\" or \"letter\""))?;
    let doc = doc_name(&doc)?;
    let (title, bytes) = on_store(&app, move |store| {
        let draft = store.draft_for_export(&doc)?;
        let bytes = local::export::pdf::export(&draft, paper)?;
        Ok((draft.title, bytes))
    })
    .await?;
    save_export(&app, &title, "pdf", &bytes)
}

/// Write open deadlines as a calendar file (.ics) into Documents/Lawyers Hub and return its
/// path: one matter's (`case_id`), or every matter's from `today` (`YYYY-MM-DD`, the lawyer's
/// own date) on. Importing a later file again updates the events (stable UIDs).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn export_deadlines_ics(
    app: AppHandle,
    case_id: Option<String>,
    today: String,
) -> CommandResult<String> {
    let case_id = case_id.as_deref().map(parse_case_id).transpose()?;
    let (name, calendar) = on_store(&app, move |store| {
        let name = match &case_id {
            Some(case_id) => format!("{} deadlines", store.case(case_id)?.fields.title),
            None => "Upcoming deadlines".to_owned(),
        };
        let calendar = store.deadlines_calendar(case_id.as_ref(), &today, &name)?;
        Ok((name, calendar))
    })
    .await?;
    save_export(&app, &name, "ics", calendar.as_bytes())
}

/// Save an export named after `title` (a draft's, or a report's) in the exports folder; returns its path.
pub(crate) fn save_export(
    app: &AppHandle,
    title: &str,
    extension: &str,
    bytes: &[u8],
) -> CommandResult<String> {
    let folder = crate::local_data::exports_dir(app);
    let file_stem: String = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim()
        .to_owned();
    let file_stem = if file_stem.is_empty() {
        "Draft".to_owned()
    } else {
        file_stem
    };
    let path = folder.join(format!("{file_stem}.{extension}"));
    std::fs::create_dir_all(&folder)
        .and_then(|()| std::fs::write(&path, bytes))
        .map_err(|error| {
            CommandError::new(
                "export",
                format!("Could not save {}: {error}", path.display()),
            )
        })?;
    Ok(path.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn file_names_come_back_as_the_window_encoded_them() {
        // encodeURIComponent("Draft SPA – theirs (v2).docx")
        assert_eq!(
            percent_decode("Draft%20SPA%20%E2%80%93%20theirs%20(v2).docx"),
            "Draft SPA – theirs (v2).docx"
        );
        // A stray % is kept, bad UTF-8 is replaced, never a panic.
        assert_eq!(percent_decode("100%.docx"), "100%.docx");
        assert_eq!(percent_decode("%ff%zz.docx"), "\u{fffd}%zz.docx");
    }
}
