//! The account this computer's data belongs to, and the matters made here before the first
//! sign-in ("this computer only"), which the lawyer attaches to that account when they choose.
//! The rules live in `hub_local` (account.rs); these commands only call them.

use local::Account;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::commands::blocking;
use crate::error::CommandResult;
use crate::sync::AppState;

/// What the window shows about local-only matters.
#[derive(Debug, Clone, Serialize)]
pub struct LocalMatters {
    /// The account the store belongs to (None until the first sign-in syncs).
    pub account: Option<Account>,
    /// Matters made before the first sign-in, not uploaded anywhere.
    pub case_ids: Vec<String>,
}

/// Event `account-mismatch`: the signed-in account is not the one this computer's data belongs
/// to; the sync client sends nothing.
#[derive(Debug, Clone, Serialize)]
pub struct AccountMismatch {
    pub bound: Account,
    pub signed_in: Account,
    pub message: String,
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn local_matters(app: AppHandle) -> CommandResult<LocalMatters> {
    let store = app.state::<AppState>().store();
    blocking(move || {
        Ok::<_, local::LocalError>(LocalMatters {
            account: store.account()?,
            case_ids: store.local_only_matters()?,
        })
    })
    .await
}

/// The lawyer chose to upload the matters made on this computer to the account it syncs with.
/// Returns how many were attached.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn attach_local_matters(app: AppHandle) -> CommandResult<usize> {
    let store = app.state::<AppState>().store();
    let attached = blocking(move || store.attach_local_matters()).await?;
    tracing::info!(attached, "local matters attached to the account");
    if let Some(client) = app.state::<AppState>().client.lock().await.as_ref() {
        client.matters_attached();
    }
    Ok(attached)
}

/// Forward the sync client's refusal to the window (called from sync.rs).
pub fn announce_mismatch(app: &AppHandle, bound: Account, signed_in: Account) -> tauri::Result<()> {
    tracing::warn!(%bound, %signed_in, "signed in as another account than this computer's data");
    let message = format!(
        "This computer's Lawyers Hub data belongs to {} at {} on {}. Sign in as that account, or \
         set that server in Settings, to sync it. Nothing was sent to {} at {} on {}.",
        bound.user, bound.firm, bound.server, signed_in.user, signed_in.firm, signed_in.server
    );
    app.emit(
        "account-mismatch",
        AccountMismatch {
            bound,
            signed_in,
            message,
        },
    )
}
