//! "Export my local data" and import: an encrypted archive of every document on this computer
//! (`hub_local::export_archive`, Argon2id + XChaCha20-Poly1305), kept in Documents/Lawyers Hub.
//! Imports are merged into what is here (CRDT merge, nothing overwritten) and queued for sync.

use std::path::PathBuf;

use local::ArchiveError;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::commands::blocking;
use crate::error::{CommandError, CommandResult};
use crate::sync::{self, AppState};

const EXTENSION: &str = "lhx";

impl From<ArchiveError> for CommandError {
    fn from(error: ArchiveError) -> Self {
        match error {
            ArchiveError::Store(error) => error.into(),
            other => CommandError::new(
                other.code(),
                format!("{}.", capitalized(&other.to_string())),
            ),
        }
    }
}

pub(crate) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Documents/Lawyers Hub: the OS's Documents folder, else ~/Documents (a machine without
/// XDG user directories), else the data directory's `exports`.
pub fn exports_dir(app: &AppHandle) -> PathBuf {
    let path = app.path();
    path.document_dir()
        .or_else(|_| path.home_dir().map(|home| home.join("Documents")))
        .unwrap_or_else(|_| app.state::<AppState>().data_dir.join("exports"))
        .join("Lawyers Hub")
}

#[derive(Serialize)]
pub struct Exported {
    path: String,
    documents: usize,
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn export_local_data(app: AppHandle, passphrase: String) -> CommandResult<Exported> {
    let folder = exports_dir(&app);
    std::fs::create_dir_all(&folder).map_err(|error| {
        CommandError::new(
            "export",
            format!("Could not create {}: {error}", folder.display()),
        )
    })?;
    let stamp = chrono::Local::now().format("%Y-%m-%d-%H%M%S");
    let path = folder.join(format!("lawyers-hub-export-{stamp}.{EXTENSION}"));
    let store = app.state::<AppState>().store();
    let target = path.clone();
    let summary = blocking(move || local::export_archive(&store, &target, &passphrase)).await?;
    Ok(Exported {
        path: path.to_string_lossy().into_owned(),
        documents: summary.documents,
    })
}

/// Export files in Documents/Lawyers Hub, newest first (file names only).
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn list_local_exports(app: AppHandle) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(exports_dir(&app))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(&format!(".{EXTENSION}")))
                .collect()
        })
        .unwrap_or_default();
    names.sort_unstable_by(|a, b| b.cmp(a));
    names
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn import_local_data(
    app: AppHandle,
    file: String,
    passphrase: String,
) -> CommandResult<usize> {
    // Only a file name from the exports folder: never a path the page made up.
    if file.contains(['/', '\\']) || !file.ends_with(&format!(".{EXTENSION}")) {
        return Err(CommandError::new(
            "invalid_input",
            "Choose one of the listed export files.",
        ));
    }
    let path = exports_dir(&app).join(&file);
    let store = app.state::<AppState>().store();
    let summary = blocking(move || local::import_archive(&store, &path, &passphrase)).await?;
    // The merged documents are in the outbox: a fresh connection sends them.
    sync::restart(&app).await;
    if let Err(error) = app.emit("cases-changed", serde_json::json!({ "case_id": "" })) {
        tracing::warn!(%error, "cannot announce imported matters");
    }
    Ok(summary.documents)
}
