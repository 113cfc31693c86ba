//! Commands that talk to the firm's server over REST (`hub_local::firm`): my matters and their
//! legal holds, the audit log, sharing a matter (members, the firm directory), ethical walls, and
//! the copilot (its policy, usage, consent and answers; the model key stays on the server).
//! Answers stream to the window over a Tauri channel. All of these are online only: offline, the
//! window gets the `connection` code.

use std::sync::atomic::Ordering;

use local::firm::{
    AuditEntry, AuditFilter, ConflictCheck, ConflictQuery, CopilotAvailability, CopilotEvent,
    CopilotPolicy, CopilotRequest, FirmMatter, FirmRoles, FirmScreen, FirmServer, MatterRef,
    MatterRole, Member, Person, UsageReport,
};
use serde_json::json;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager};

use crate::error::{CommandError, CommandResult};
use crate::sync::AppState;

fn client(app: &AppHandle) -> CommandResult<FirmServer> {
    let state = app.state::<AppState>();
    let settings = state.settings();
    if settings.server_url.trim().is_empty() {
        return Err(CommandError::new(
            "no_server",
            "This needs your firm's server: set the server address in Settings.",
        ));
    }
    let token = state.token().ok_or_else(|| {
        CommandError::new(
            "signin_required",
            "Sign in to your firm to use the copilot.",
        )
    })?;
    Ok(FirmServer::new(settings.server_url.trim(), token)?)
}

/// The matter's members and roles, from the firm's server (read-only here: owners manage
/// them through the server's API).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn case_members(app: AppHandle, case_id: String) -> CommandResult<Vec<Member>> {
    let case_id = crate::commands::parse_case_id(&case_id)?;
    Ok(client(&app)?.members(&case_id).await?)
}

/// The lawyer's own role in a matter, for the editor: viewers read; commenters read and
/// comment; owners and editors edit, suggest, accept and comment. The firm's server decides, and its answer is remembered for
/// when the laptop is offline. A matter the server does not know yet (made on this computer and
/// not synced), or an app with no server, is the lawyer's own: owner. Whatever the window
/// shows, the server refuses a viewer's changes.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn my_role(app: AppHandle, case_id: String) -> CommandResult<String> {
    let state = app.state::<AppState>();
    let remembered = state
        .roles
        .lock()
        .ok()
        .and_then(|roles| roles.get(&case_id).cloned());
    let Ok(firm) = client(&app) else {
        return Ok(remembered.unwrap_or_else(|| "owner".into()));
    };
    let store = state.store();
    let account = tauri::async_runtime::spawn_blocking(move || store.account())
        .await
        .map_err(|error| CommandError::new("internal", error.to_string()))??;
    let Some(account) = account else {
        // This computer's store has not synced with the firm yet: its matters are its own.
        return Ok(remembered.unwrap_or_else(|| "owner".into()));
    };
    let matter = crate::commands::parse_case_id(&case_id)?;
    let Some(role) = local::firm::role_from_members(firm.members(&matter).await, &account.user)
    else {
        // Offline, or the server is down: what it said last, else editing (the server still
        // refuses what a viewer sends).
        return Ok(remembered.unwrap_or_else(|| "editor".into()));
    };
    if let Ok(mut roles) = state.roles.lock() {
        roles.insert(case_id, role.clone());
    }
    Ok(role)
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn copilot_availability(
    app: AppHandle,
    case_id: String,
) -> CommandResult<CopilotAvailability> {
    let case_id = crate::commands::parse_case_id(&case_id)?;
    Ok(client(&app)?.availability(&case_id).await?)
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn copilot_set_consent(
    app: AppHandle,
    case_id: String,
    consented: bool,
    note: Option<String>,
) -> CommandResult<()> {
    let case_id = crate::commands::parse_case_id(&case_id)?;
    let note = note.unwrap_or_default();
    Ok(client(&app)?
        .set_consent(&case_id, consented, note.trim())
        .await?)
}

fn parse_role(role: &str) -> CommandResult<MatterRole> {
    MatterRole::parse(role).ok_or_else(|| {
        CommandError::new(
            "invalid_input",
            "The role must be owner, editor, commenter or viewer.",
        )
    })
}

/// Whether the lawyer is a firm admin or the conflicts/risk role (which screens to offer).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn firm_roles(app: AppHandle) -> CommandResult<FirmRoles> {
    Ok(client(&app)?.firm_roles().await?)
}

/// Search the firm directory by name, email or id.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn search_directory(app: AppHandle, query: String) -> CommandResult<Vec<Person>> {
    Ok(client(&app)?.directory(query.trim()).await?)
}

/// Share a matter with someone, or change their role (owners and firm admins).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_member(
    app: AppHandle,
    case_id: String,
    user_id: String,
    role: String,
) -> CommandResult<()> {
    let case_id = crate::commands::parse_case_id(&case_id)?;
    let role = parse_role(&role)?;
    Ok(client(&app)?.set_member(&case_id, &user_id, role).await?)
}

/// Take someone off a matter (owners and firm admins); their app forgets it.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn remove_member(app: AppHandle, case_id: String, user_id: String) -> CommandResult<()> {
    let case_id = crate::commands::parse_case_id(&case_id)?;
    Ok(client(&app)?.remove_member(&case_id, &user_id).await?)
}

/// The conflict-of-interest check the new-matter form runs before the matter is created: its
/// client and adverse and related parties against every matter of the firm.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn check_conflicts(app: AppHandle, query: ConflictQuery) -> CommandResult<ConflictCheck> {
    Ok(client(&app)?.check_conflicts(&query).await?)
}

/// Every ethical wall in the firm (admins and the conflicts/risk role).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn firm_screens(app: AppHandle) -> CommandResult<Vec<FirmScreen>> {
    Ok(client(&app)?.firm_screens().await?)
}

/// Every matter of the firm, for the walls screen's picker.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn matter_choices(app: AppHandle) -> CommandResult<Vec<MatterRef>> {
    Ok(client(&app)?.matter_choices().await?)
}

/// Wall someone off a matter, with the reason; their app loses the matter at once.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn add_screen(
    app: AppHandle,
    case_id: String,
    user_id: String,
    reason: String,
) -> CommandResult<()> {
    let case_id = crate::commands::parse_case_id(&case_id)?;
    Ok(client(&app)?
        .add_screen(&case_id, &user_id, reason.trim())
        .await?)
}

/// Lift a wall (the person is not given the matter back).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn lift_screen(app: AppHandle, case_id: String, user_id: String) -> CommandResult<()> {
    let case_id = crate::commands::parse_case_id(&case_id)?;
    Ok(client(&app)?.lift_screen(&case_id, &user_id).await?)
}

/// The firm's copilot policy.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn copilot_policy(app: AppHandle) -> CommandResult<CopilotPolicy> {
    Ok(client(&app)?.copilot_policy().await?)
}

/// Turn the copilot on or off for the firm (firm admins).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_copilot_enabled(app: AppHandle, enabled: bool) -> CommandResult<CopilotPolicy> {
    Ok(client(&app)?.set_copilot_enabled(enabled).await?)
}

/// Copilot usage by person, matter and month since `since` (RFC 3339; default this month).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn copilot_usage(app: AppHandle, since: Option<String>) -> CommandResult<UsageReport> {
    Ok(client(&app)?.copilot_usage(since.as_deref()).await?)
}

/// The same usage as a CSV file, saved where exports go; returns its path.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn copilot_usage_csv(app: AppHandle, since: Option<String>) -> CommandResult<String> {
    let csv = client(&app)?.copilot_usage_csv(since.as_deref()).await?;
    crate::commands::save_export(&app, "Copilot usage", "csv", csv.as_bytes())
}

/// Start an answer; its events go to `on_event`, ending with `done` or `error`. Returns the
/// request number for `copilot_stop`.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn copilot_chat(
    app: AppHandle,
    request: CopilotRequest,
    on_event: Channel<CopilotEvent>,
) -> CommandResult<u64> {
    let client = client(&app)?;
    let state = app.state::<AppState>();
    let id = state.next_copilot.fetch_add(1, Ordering::Relaxed);
    let handle = app.clone();
    let task = tauri::async_runtime::spawn(async move {
        let send = |event: CopilotEvent| {
            if let Err(error) = on_event.send(event) {
                tracing::warn!(%error, "copilot event could not reach the window");
            }
        };
        if let Err(error) = client.chat(&request, send).await {
            let error = CommandError::from(error);
            send(CopilotEvent {
                event: "error".into(),
                data: json!({ "code": error.code, "message": error.message }),
            });
        }
        if let Ok(mut running) = handle.state::<AppState>().copilot.lock() {
            running.remove(&id);
        }
    });
    if let Ok(mut running) = state.copilot.lock() {
        running.insert(id, task);
    }
    Ok(id)
}

/// Stop an answer: the connection to the server closes and the server cancels the model call.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn copilot_stop(app: AppHandle, id: u64) {
    let task = app
        .state::<AppState>()
        .copilot
        .lock()
        .ok()
        .and_then(|mut running| running.remove(&id));
    if let Some(task) = task {
        task.abort();
    }
}

/// My matters as the firm's server lists them, with their legal holds; the holds are recorded
/// in the store, which then refuses to delete anything of a held matter (offline too).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn firm_matters(app: AppHandle) -> CommandResult<Vec<FirmMatter>> {
    let matters = client(&app)?.matters().await?;
    let holds: Vec<local::LegalHold> = matters.iter().filter_map(FirmMatter::hold).collect();
    let store = app.state::<AppState>().store();
    crate::commands::blocking(move || store.record_legal_holds(&holds)).await?;
    Ok(matters)
}

/// Place (`held`) or lift a matter's legal hold, with a reason (firm admins; the server
/// decides), then record the firm's holds again.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_legal_hold(
    app: AppHandle,
    case_id: String,
    held: bool,
    reason: String,
) -> CommandResult<Vec<FirmMatter>> {
    let case_id = crate::commands::parse_case_id(&case_id)?;
    client(&app)?.set_hold(&case_id, held, &reason).await?;
    firm_matters(app).await
}

/// The firm's audit log (admins), or one matter's (`filter.case`, its owners).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn firm_audit(app: AppHandle, filter: AuditFilter) -> CommandResult<Vec<AuditEntry>> {
    Ok(client(&app)?.audit(&filter).await?)
}

/// The audit log with these filters as a CSV file in Documents/Lawyers Hub; returns its path.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn export_audit_csv(app: AppHandle, filter: AuditFilter) -> CommandResult<String> {
    let bytes = client(&app)?.audit_csv(&filter).await?;
    let today = chrono::Local::now().format("%Y-%m-%d");
    crate::commands::save_export(&app, &format!("Audit log {today}"), "csv", &bytes)
}
