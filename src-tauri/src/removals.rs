//! Notices of matters the firm removed from this computer, kept across restarts: the window
//! lists them at launch (beside the live `matter-removed` events) until the lawyer dismisses
//! each. What a notice holds is the store's tombstone (`local::RemovedMatter`): the case id,
//! when, the server's reason and how many unsent changes went. No title: the matter is gone, and
//! a title can be privileged.

use serde::Serialize;
use tauri::{AppHandle, Manager};

use crate::commands::blocking;
use crate::error::CommandResult;
use crate::sync::AppState;

/// A removal the lawyer has not dismissed yet.
#[derive(Debug, Clone, Serialize)]
pub struct RemovalNotice {
    pub case_id: String,
    /// Unix seconds.
    pub removed_at: i64,
    /// The server's reason ("access revoked", "document not found").
    pub reason: String,
    /// Unsent changes discarded with the matter; `None` when removed by a version that did not
    /// count them.
    pub discarded_changes: Option<u64>,
}

impl From<local::RemovedMatter> for RemovalNotice {
    fn from(removed: local::RemovedMatter) -> Self {
        Self {
            case_id: removed.case_id,
            removed_at: removed.removed_at,
            reason: removed.reason,
            discarded_changes: removed.discarded_changes,
        }
    }
}

/// The removals not dismissed yet, newest first.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn removal_notices(app: AppHandle) -> CommandResult<Vec<RemovalNotice>> {
    let store = app.state::<AppState>().store();
    let notices = blocking(move || store.removal_notices()).await?;
    Ok(notices.into_iter().map(RemovalNotice::from).collect())
}

/// The lawyer dismissed the notice about `case_id`; the matter stays removed. Returns whether a
/// notice was still listed.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn dismiss_removal_notice(app: AppHandle, case_id: String) -> CommandResult<bool> {
    let case_id = crate::commands::parse_case_id(&case_id)?;
    let store = app.state::<AppState>().store();
    blocking(move || store.dismiss_removal_notice(&case_id)).await
}
