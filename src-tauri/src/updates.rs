//! Updates from the firm's own server, never from the internet: the sync-server's feed
//! (`GET /api/v1/desktop/updates/{target}/{arch}/{current_version}`, filled by IT with
//! `sync-server releases add`) through `tauri-plugin-updater`, which checks each bundle's
//! minisign signature against the public key compiled into this build before anything is
//! installed. Checked at start and daily; the lawyer sees "Update ready — restart to install";
//! installing waits until every acknowledged change is on the server. IT may turn updates off
//! or choose the channel by policy; pinning a version and staged rollouts are the server's.

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_updater::UpdaterExt;

use crate::error::{CommandError, CommandResult};
use crate::sync::AppState;

/// Between automatic checks.
const DAILY: Duration = Duration::from_secs(24 * 60 * 60);
/// The header that puts this computer in the same rollout group on every check.
pub const INSTALL_ID_HEADER: &str = "x-hub-install-id";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UpdateState {
    /// Not checked yet.
    Idle,
    /// No checks: why (turned off by the firm or in Settings, no server, no key in this build).
    Off {
        reason: String,
    },
    Checking,
    UpToDate,
    Downloading {
        version: String,
    },
    /// Downloaded and its signature verified: restart to install.
    Ready {
        version: String,
        notes: String,
    },
    Installing {
        version: String,
    },
    /// The check, download or signature failed: nothing was installed.
    Failed {
        message: String,
    },
}

pub struct Updates {
    state: Mutex<UpdateState>,
    /// The verified update and its bytes, until installed.
    ready: Mutex<Option<(tauri_plugin_updater::Update, Vec<u8>)>>,
    /// One check at a time.
    checking: tokio::sync::Mutex<()>,
}

impl Default for Updates {
    fn default() -> Self {
        Self {
            state: Mutex::new(UpdateState::Idle),
            ready: Mutex::new(None),
            checking: tokio::sync::Mutex::new(()),
        }
    }
}

impl Updates {
    pub fn state(&self) -> UpdateState {
        self.state
            .lock()
            .map(|state| state.clone())
            .unwrap_or(UpdateState::Idle)
    }
}

fn publish(app: &AppHandle, state: UpdateState) {
    let updates = app.state::<Updates>();
    if let Ok(mut current) = updates.state.lock() {
        *current = state.clone();
    }
    if let Err(error) = app.emit("update-state", state) {
        tracing::warn!(%error, "cannot emit update-state");
    }
}

/// The public key compiled into this build (`plugins.updater.pubkey`); None: this build takes
/// no updates (IT builds installers with their own key: README, "For IT").
fn public_key(app: &AppHandle) -> Option<String> {
    app.config()
        .plugins
        .0
        .get("updater")
        .and_then(|updater| updater.get("pubkey"))
        .and_then(|key| key.as_str())
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
}

/// The feed on the firm's server, from its sync address:
/// `wss://hub.firm.example/api/v1/sync` → `https://hub.firm.example/api/v1/desktop/updates/…`.
pub fn feed_url(server_url: &str, channel: &str) -> Option<String> {
    let server = server_url.trim();
    let (scheme, rest) = if let Some(rest) = server.strip_prefix("wss://") {
        ("https", rest)
    } else if let Some(rest) = server.strip_prefix("ws://") {
        ("http", rest)
    } else {
        return None;
    };
    let authority = rest.split('/').next().filter(|host| !host.is_empty())?;
    Some(format!(
        "{scheme}://{authority}/api/v1/desktop/updates/{{{{target}}}}/{{{{arch}}}}/{{{{current_version}}}}\
         ?bundle={{{{bundle_type}}}}&channel={channel}"
    ))
}

/// A random id for this installation (in the data folder): the server puts it in a rollout
/// group, the same one on every check. Not tied to the lawyer.
fn install_id(app: &AppHandle) -> String {
    let state = app.state::<AppState>();
    let path = state.data_dir.join("install-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()) {
            return id.to_owned();
        }
    }
    let id: String = (0..16)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    if let Err(error) = std::fs::write(&path, &id) {
        tracing::warn!(%error, "cannot keep this installation's id");
    }
    id
}

/// Why updates are not checked now, if they are not.
fn why_off(app: &AppHandle) -> Option<String> {
    let Some(state) = app.try_state::<AppState>() else {
        return Some("Updates are checked once your data is open.".to_owned());
    };
    let settings = state.settings();
    if !settings.automatic_updates {
        let by = if app
            .state::<crate::policy::Policy>()
            .locked()
            .contains(&"automatic_updates")
        {
            "by your firm"
        } else {
            "in Settings"
        };
        return Some(format!("Updates are turned off {by}."));
    }
    if public_key(app).is_none() {
        return Some(
            "This build of Lawyers Hub takes no updates (it was built without an update key)."
                .to_owned(),
        );
    }
    if feed_url(&settings.server_url, &settings.update_channel).is_none() {
        return Some("Updates come from your firm's server, and none is set.".to_owned());
    }
    None
}

/// At start and then daily: check, and download a newer (or IT-pinned) version.
pub fn start(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // Let the window and the sync connection come up first.
        tokio::time::sleep(Duration::from_secs(3)).await;
        // After a failed check (the VPN not up yet, the server restarting): again in 5 minutes,
        // doubling up to a day.
        let mut retry = Duration::from_secs(5 * 60);
        loop {
            let wait = match check(&app).await {
                Ok(_) => {
                    retry = Duration::from_secs(5 * 60);
                    DAILY
                }
                Err(error) => {
                    tracing::warn!(
                        code = error.code.as_str(),
                        message = error.message.as_str(),
                        "update check failed"
                    );
                    let wait = retry;
                    retry = (retry * 2).min(DAILY);
                    wait
                }
            };
            tokio::time::sleep(wait).await;
        }
    });
}

/// Check now in the background (settings changed).
pub fn check_soon(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Err(error) = check(&app).await {
            tracing::warn!(code = error.code.as_str(), "update check failed");
        }
    });
}

async fn check(app: &AppHandle) -> CommandResult<UpdateState> {
    let updates = app.state::<Updates>();
    let _one = updates.checking.lock().await;
    if let Some(reason) = why_off(app) {
        let state = UpdateState::Off { reason };
        publish(app, state.clone());
        return Ok(state);
    }
    publish(app, UpdateState::Checking);
    match check_and_download(app).await {
        Ok(state) => {
            publish(app, state.clone());
            Ok(state)
        }
        Err(message) => {
            tracing::warn!(message = message.as_str(), "update not taken");
            publish(
                app,
                UpdateState::Failed {
                    message: message.clone(),
                },
            );
            Err(CommandError::new("update_failed", message))
        }
    }
}

async fn check_and_download(app: &AppHandle) -> Result<UpdateState, String> {
    let settings = app.state::<AppState>().settings();
    let url = feed_url(&settings.server_url, &settings.update_channel)
        .ok_or("Updates come from your firm's server, and none is set.")?;
    let endpoint = url
        .parse()
        .map_err(|error| format!("The update address {url} is not valid: {error}"))?;
    let mut builder = app
        .updater_builder()
        .endpoints(vec![endpoint])
        .map_err(explain)?
        .header(INSTALL_ID_HEADER, install_id(app))
        .map_err(explain)?
        .timeout(Duration::from_secs(120))
        // The firm's server decides what this computer runs: a newer version, or the version IT
        // pinned after a rollback. Every bundle must still carry our key's signature.
        .version_comparator(|current, release| release.version != current);
    if let Some(proxy) = settings.proxy() {
        let proxy = proxy.parse().map_err(|error| {
            format!(
                "The proxy {} is not valid: {error}",
                local::net::redacted(&proxy)
            )
        })?;
        builder = builder.proxy(proxy);
    }
    let updater = builder.build().map_err(explain)?;
    let Some(update) = updater.check().await.map_err(explain)? else {
        // A downloaded update the server no longer offers (IT pinned or rolled back) is dropped.
        if let Ok(mut ready) = app.state::<Updates>().ready.lock() {
            *ready = None;
        }
        tracing::info!("no update offered");
        return Ok(UpdateState::UpToDate);
    };
    let version = update.version.clone();
    let already = app
        .state::<Updates>()
        .ready
        .lock()
        .ok()
        .and_then(|ready| ready.as_ref().map(|(kept, _)| kept.version.clone()));
    if already.as_deref() == Some(version.as_str()) {
        let notes = update.body.clone().unwrap_or_default();
        return Ok(UpdateState::Ready { version, notes });
    }
    tracing::info!(version = version.as_str(), "update offered; downloading");
    publish(
        app,
        UpdateState::Downloading {
            version: version.clone(),
        },
    );
    // `download` checks the signature against the compiled-in key before returning the bytes.
    let bytes = update
        .download(|_, _| {}, || {})
        .await
        .map_err(|error| format!("The update to {version} was not taken: {}", explain(error)))?;
    tracing::info!(
        version = version.as_str(),
        bytes = bytes.len(),
        "update downloaded and its signature verified"
    );
    let notes = update.body.clone().unwrap_or_default();
    if let Ok(mut ready) = app.state::<Updates>().ready.lock() {
        *ready = Some((update, bytes));
    }
    Ok(UpdateState::Ready { version, notes })
}

/// What went wrong, in words IT can act on.
fn explain(error: tauri_plugin_updater::Error) -> String {
    use tauri_plugin_updater::Error as E;
    match error {
        E::Minisign(_) | E::Base64(_) | E::SignatureUtf8(_) => {
            "its signature does not match this build's update key, so it was refused and \
             nothing was installed. Tell IT: the bundle on the server may be damaged or \
             tampered with."
                .to_owned()
        }
        E::SignedVersionMismatch { .. } => format!(
            "it was signed for another version than the server announced, so it was refused \
             and nothing was installed ({error})"
        ),
        E::InsecureTransportProtocol => {
            "updates are only taken over https; the firm's server is not set up with TLS."
                .to_owned()
        }
        other => other.to_string(),
    }
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn update_status(updates: tauri::State<'_, Updates>) -> UpdateState {
    updates.state()
}

/// "Check for updates" in Settings.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn check_for_update(app: AppHandle) -> CommandResult<UpdateState> {
    check(&app).await
}

/// "Restart to install": once every change this computer sent is acknowledged by the server,
/// install the verified update and start the new version.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn install_update(app: AppHandle) -> CommandResult<()> {
    // Never mid-sync: wait (a little) for the outbox to drain while connected.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let state = app.state::<AppState>();
        let mode = state
            .status
            .lock()
            .map(|status| status.mode)
            .unwrap_or(crate::sync::SyncMode::Local);
        if !must_wait(&mode, state.pending()) {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(CommandError::new(
                "sync_in_progress",
                "Your latest changes are still being sent to the firm's server. Try again in a \
                 moment; nothing is lost meanwhile.",
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if let Some(reason) = why_off(&app) {
        return Err(CommandError::new("updates_off", reason));
    }
    let taken = app
        .state::<Updates>()
        .ready
        .lock()
        .ok()
        .and_then(|mut ready| ready.take());
    let Some((update, bytes)) = taken else {
        return Err(CommandError::new(
            "no_update",
            "There is no downloaded update to install.",
        ));
    };
    let version = update.version.clone();
    publish(
        &app,
        UpdateState::Installing {
            version: version.clone(),
        },
    );
    tracing::info!(version = version.as_str(), "installing update");
    let installed = tauri::async_runtime::spawn_blocking(move || update.install(bytes))
        .await
        .map_err(|error| CommandError::new("internal", error.to_string()))?;
    if let Err(error) = installed {
        let message = format!(
            "The update to {version} could not be installed: {}",
            explain(error)
        );
        publish(
            &app,
            UpdateState::Failed {
                message: message.clone(),
            },
        );
        return Err(CommandError::new("update_failed", message));
    }
    tracing::info!(version = version.as_str(), "update installed; restarting");
    app.restart();
}

/// Whether installing (which ends this process) must wait: connected, with changes the server
/// has not acknowledged yet. Offline, they wait safely in the outbox and go after the restart.
fn must_wait(mode: &crate::sync::SyncMode, pending: usize) -> bool {
    pending > 0
        && matches!(
            mode,
            crate::sync::SyncMode::Syncing | crate::sync::SyncMode::Synced
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::SyncMode;

    #[test]
    fn an_update_never_installs_while_changes_are_on_their_way_to_the_server() {
        assert!(must_wait(&SyncMode::Syncing, 3));
        assert!(must_wait(&SyncMode::Synced, 1));
        assert!(!must_wait(&SyncMode::Synced, 0));
        // Offline, signed out, paused or local only: the outbox keeps them across the restart.
        for mode in [
            SyncMode::Offline,
            SyncMode::Connecting,
            SyncMode::SignedOut,
            SyncMode::Paused,
            SyncMode::Local,
        ] {
            assert!(!must_wait(&mode, 5), "{mode:?}");
        }
    }

    #[test]
    fn the_feed_is_on_the_firms_server_over_https() {
        assert_eq!(
            feed_url("wss://hub.firm.example/api/v1/sync", "stable").as_deref(),
            Some(
                "https://hub.firm.example/api/v1/desktop/updates/{{target}}/{{arch}}/\
                 {{current_version}}?bundle={{bundle_type}}&channel=stable"
            )
        );
        assert_eq!(
            feed_url("wss://hub.firm.example:8443/api/v1/sync", "pilot")
                .unwrap()
                .split("/api")
                .next(),
            Some("https://hub.firm.example:8443")
        );
        assert!(
            feed_url("ws://127.0.0.1:8080/api/v1/sync", "stable")
                .unwrap()
                .starts_with("http://127.0.0.1:8080/")
        );
        assert_eq!(feed_url("", "stable"), None);
        assert_eq!(feed_url("wss:///api/v1/sync", "stable"), None);
    }
}
