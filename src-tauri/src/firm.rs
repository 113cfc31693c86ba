//! Commands that talk to the firm's server over REST (`hub_local::firm`): my matters and their
//! legal holds, the audit log, a matter's members and the copilot (the model key stays on the server). Answers stream to the window
//! over a Tauri channel.

use std::sync::atomic::Ordering;

use local::firm::{
    AuditEntry, AuditFilter, CopilotAvailability, CopilotEvent, CopilotRequest, FirmMatter,
    FirmServer, Me, Member,
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
            "copilot_no_server",
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

/// The lawyer's own role in a matter, for the editor: viewers read; owners and editors edit,
/// suggest, accept and comment. The firm's server decides, and its answer is remembered for
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
    let role = match firm.members(&matter).await {
        Ok(members) => members
            .into_iter()
            .find(|member| member.user_id == account.user)
            .map(|member| member.role)
            .unwrap_or_else(|| "viewer".into()),
        Err(local::LocalError::CopilotRefused { code, .. }) if code == "not_found" => {
            "owner".into()
        }
        // Offline, or the server is down: what it said last, else editing (the server still
        // refuses what a viewer sends).
        Err(_) => return Ok(remembered.unwrap_or_else(|| "editor".into())),
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
) -> CommandResult<()> {
    let case_id = crate::commands::parse_case_id(&case_id)?;
    Ok(client(&app)?.set_consent(&case_id, consented).await?)
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

/// Who the firm's server takes the lawyer for (admins see the audit and hold controls).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn firm_me(app: AppHandle) -> CommandResult<Me> {
    Ok(client(&app)?.me().await?)
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
