//! The bridge between the sync client in `crates/local` and the window: starts and stops the
//! client as settings and sign-in change, and turns its events into window events.
//!
//! Events (payloads are JSON):
//! - `sync-state`   `{mode, pending}`: mode is `local` (no server set), `paused` (work offline),
//!   `signed_out`, `connecting`, `offline`, `syncing` or `synced`.
//!
//! Remote changes to a document the window opened go, as raw bytes (a Yjs v1 update, already
//! saved on this computer), to the channel the window passed to `open_doc` (`doc_channels`).
//!
//! - `awareness`    `{doc, states: [{client_id, clock, state}]}`: collaborators' cursors.
//! - `cases-changed` `{case_id}`: a matter or one of its drafts changed remotely.
//! - `sync-denied`  `{doc, reason}`: the server refused a document.
//! - `matter-removed` `{case_id, reason, discarded_changes}`: the firm removed the lawyer from a
//!   matter; it was purged from this computer with that many unsent changes.
//! - `sync-problem` `{message}`: why the server cannot be reached (certificate, proxy, network),
//!   `null` once connected.
//! - `store-switched` `{account}`: another account signed in; the window shows its own store.
//! - `account-mismatch` `{bound, signed_in, message}`: this computer's data belongs to another
//!   account (server, firm, user); nothing is synced until that account signs in again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use local::{DocName, SignedIn, StaticToken, Store, SyncEvent, SyncHandle, SyncState, TokenSource};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::settings::Settings;

/// What the sync status in the top bar says.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// No server set: everything stays on this computer.
    Local,
    /// "Work offline" is on.
    Paused,
    SignedOut,
    Connecting,
    Offline,
    Syncing,
    Synced,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SyncStatus {
    pub mode: SyncMode,
    pub pending: usize,
}

#[derive(Clone, Serialize)]
struct AwarenessState {
    client_id: u64,
    clock: u64,
    state: String,
}

#[derive(Clone, Serialize)]
struct Awareness {
    doc: String,
    states: Vec<AwarenessState>,
}

#[derive(Clone, Serialize)]
struct CaseChanged {
    case_id: local::CaseId,
}

#[derive(Clone, Serialize)]
struct Denied {
    doc: String,
    reason: String,
}

#[derive(Clone, Serialize)]
struct RoleChanged {
    case_id: local::CaseId,
}

#[derive(Clone, Serialize)]
struct MatterRemoved {
    case_id: local::CaseId,
    reason: String,
    discarded_changes: usize,
}

/// Everything the commands share.
pub struct AppState {
    /// The store of the account signed in now (see `switch_store`); take it with `store()`.
    pub store: std::sync::RwLock<ActiveStore>,
    /// The default store (`lawyers-hub.db`), kept open: who it belongs to decides where other
    /// accounts' data goes.
    pub default_store: Arc<Store>,
    pub data_dir: std::path::PathBuf,
    pub settings: Mutex<Settings>,
    /// A development token from the command line (never saved).
    pub dev_token: Option<String>,
    pub signed_in: Mutex<Option<Arc<SignedIn>>>,
    pub client: tokio::sync::Mutex<Option<SyncHandle>>,
    pub status: Mutex<SyncStatus>,
    /// Why the server cannot be reached now (shown under the sync state), if it cannot.
    pub problem: Mutex<Option<String>>,
    /// Every store file opened in this process, by path (one `Store` per file).
    pub open_stores: Mutex<std::collections::HashMap<std::path::PathBuf, Arc<Store>>>,
    /// Documents the window has open: re-subscribed whenever the client (re)starts.
    pub opened: Mutex<HashSet<DocName>>,
    /// The store each document the window opened was read from: its edits go there, never to
    /// another account's store the app switched to meanwhile.
    pub doc_stores: Mutex<std::collections::HashMap<DocName, Arc<Store>>>,
    /// Where remote changes to each open document go: the channels the window passed to
    /// `open_doc` (one per editor showing it), until `close_doc`.
    pub doc_channels: Mutex<std::collections::HashMap<DocName, Vec<tauri::ipc::Channel>>>,
    /// "development token" when started with one; who signed in with the identity provider is
    /// `signin::SignInState`'s.
    pub account: Mutex<Option<String>>,
    /// Copilot answers streaming now, by request number (Stop aborts the task, which closes the
    /// connection, which makes the server cancel the model call).
    pub copilot: Mutex<std::collections::HashMap<u64, tauri::async_runtime::JoinHandle<()>>>,
    /// The lawyer's role per matter, as the firm's server last said (`firm::my_role`).
    pub roles: Mutex<std::collections::HashMap<String, String>>,
    pub next_copilot: std::sync::atomic::AtomicU64,
}

/// The store in use and its file.
#[derive(Clone)]
pub struct ActiveStore {
    pub path: std::path::PathBuf,
    pub store: Arc<Store>,
}

impl AppState {
    /// The store of the account in use.
    pub fn store(&self) -> Arc<Store> {
        match self.store.read() {
            Ok(active) => active.store.clone(),
            Err(poisoned) => poisoned.into_inner().store.clone(),
        }
    }

    fn store_path(&self) -> std::path::PathBuf {
        match self.store.read() {
            Ok(active) => active.path.clone(),
            Err(poisoned) => poisoned.into_inner().path.clone(),
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn token(&self) -> Option<Arc<dyn TokenSource>> {
        if let Ok(signed_in) = self.signed_in.lock()
            && let Some(signed_in) = signed_in.as_ref()
        {
            return Some(signed_in.clone() as Arc<dyn TokenSource>);
        }
        self.dev_token
            .as_ref()
            .map(|token| Arc::new(StaticToken(token.clone())) as Arc<dyn TokenSource>)
    }

    /// Unsynced changes in the store in use (the store keeps the count; no query).
    pub fn pending(&self) -> usize {
        self.store().outbox_state().pending
    }

    /// Set and announce the sync status (only when it changed).
    pub fn publish(&self, app: &AppHandle, status: SyncStatus) {
        let changed = match self.status.lock() {
            Ok(mut current) if *current != status => {
                *current = status.clone();
                true
            }
            _ => false,
        };
        if changed && let Err(error) = app.emit("sync-state", status) {
            tracing::warn!(%error, "cannot emit sync-state");
        }
    }

    /// After a local edit was committed, leaving `pending` unsynced changes: show them (and
    /// return them). The sync client hears of the edit from the store itself (its outbox
    /// watch), so nothing here stands between the store and the client.
    pub fn saved(&self, app: &AppHandle, pending: usize) -> usize {
        let mode = self
            .status
            .lock()
            .map(|s| s.mode)
            .unwrap_or(SyncMode::Local);
        let mode = if mode == SyncMode::Synced {
            SyncMode::Syncing
        } else {
            mode
        };
        self.publish(app, SyncStatus { mode, pending });
        pending
    }

    /// Send a remote change to every editor showing `doc`, as raw bytes. A channel whose
    /// window is gone is dropped.
    fn deliver(&self, doc: &DocName, update: &[u8]) {
        let Ok(mut channels) = self.doc_channels.lock() else {
            return;
        };
        if let Some(listeners) = channels.get_mut(doc) {
            listeners.retain(|channel| {
                channel
                    .send(tauri::ipc::InvokeResponseBody::Raw(update.to_vec()))
                    .map_err(|error| tracing::debug!(%error, "an editor's channel is gone"))
                    .is_ok()
            });
        }
    }
}

fn event_for(state: &SyncState, pending: usize) -> SyncStatus {
    match state {
        SyncState::Offline => SyncStatus {
            mode: SyncMode::Offline,
            pending,
        },
        SyncState::Connecting => SyncStatus {
            mode: SyncMode::Connecting,
            pending,
        },
        SyncState::Syncing { pending } => SyncStatus {
            mode: SyncMode::Syncing,
            pending: *pending,
        },
        SyncState::Synced => SyncStatus {
            mode: SyncMode::Synced,
            pending: 0,
        },
    }
}

/// Stop the running client (if any) and start one for the current settings and token.
pub async fn restart(app: &AppHandle) {
    let state = app.state::<AppState>();
    let mut client = state.client.lock().await;
    if let Some(running) = client.take() {
        running.shutdown().await;
    }
    let settings = state.settings();
    let pending = state.pending();
    let url = settings.server_url.trim().to_owned();
    if url.is_empty() {
        state.publish(
            app,
            SyncStatus {
                mode: SyncMode::Local,
                pending,
            },
        );
        return;
    }
    if settings.work_offline {
        state.publish(
            app,
            SyncStatus {
                mode: SyncMode::Paused,
                pending,
            },
        );
        return;
    }
    let Some(token) = state.token() else {
        // "connecting" / "offline" while the sign-in kept from the last run is being restored.
        let mode = app
            .state::<crate::signin::SignInState>()
            .sync_mode_without_token();
        state.publish(app, SyncStatus { mode, pending });
        return;
    };
    state.publish(
        app,
        SyncStatus {
            mode: SyncMode::Connecting,
            pending,
        },
    );
    switch_store(app, &url, token.as_ref()).await;
    let config = local::SyncConfig {
        url,
        token,
        min_backoff: Duration::from_millis(250),
        max_backoff: Duration::from_secs(15),
    };
    // Starting marks the matters of an unbound store (SQLite): on a blocking thread.
    let store = state.store();
    let started =
        tauri::async_runtime::spawn_blocking(move || local::SyncClient::start(store, config)).await;
    let (handle, mut events) = match started {
        Ok(started) => started,
        Err(error) => {
            tracing::error!(%error, "the sync client could not start");
            return;
        }
    };
    if let Ok(opened) = state.opened.lock() {
        for doc in opened.iter() {
            handle.open(doc.clone());
        }
    }
    *client = Some(handle);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.recv().await {
            forward(&app, event);
        }
    });
}

/// Event `sync-problem` `{message}`: why the server cannot be reached (a certificate this
/// computer does not trust and its issuer, a proxy that refused, ...), or `null` once connected.
#[derive(Clone, Serialize)]
struct SyncProblem {
    message: Option<String>,
}

fn announce_problem(app: &AppHandle, message: Option<String>) {
    let state = app.state::<AppState>();
    let changed = match state.problem.lock() {
        Ok(mut current) if *current != message => {
            *current = message.clone();
            true
        }
        _ => false,
    };
    if changed && let Err(error) = app.emit("sync-problem", SyncProblem { message }) {
        tracing::warn!(%error, "cannot emit sync-problem");
    }
}

/// Event `store-switched` `{account}`: the window now shows another account's matters.
#[derive(Clone, Serialize)]
struct StoreSwitched {
    account: String,
}

/// Use the store of the account `token` signs into (one store file per account, see
/// `local::StoreFiles`): the default store when it belongs to that account or to nobody yet,
/// else the account's own file, made on first use. Called with the client stopped. If the
/// account cannot be told or its store cannot be opened, the current store stays, and the
/// sync client's own check refuses to send it anywhere it does not belong.
async fn switch_store(app: &AppHandle, url: &str, token: &dyn TokenSource) {
    let state = app.state::<AppState>();
    let account = match token
        .token()
        .and_then(|token| local::Account::of_token(url, &token))
    {
        Ok(account) => account,
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "cannot tell the sign-in's account");
            return;
        }
    };
    let files = local::StoreFiles::new(&state.data_dir);
    let default_path = files.default_path();
    let default_store = state.default_store.clone();
    let chosen = {
        let account = account.clone();
        crate::commands::blocking(move || {
            let owner = default_store.account()?;
            Ok::<_, local::LocalError>(files.path_for(owner.as_ref(), &account))
        })
        .await
    };
    let chosen = match chosen {
        Ok(path) => path,
        Err(error) => {
            tracing::warn!(?error, "cannot read whom the local store belongs to");
            return;
        }
    };
    if chosen == state.store_path() {
        return;
    }
    // One `Store` per file for the life of the process: two would each cache documents, and a
    // compaction in one could drop log rows the other wrote.
    let already_open = state
        .open_stores
        .lock()
        .ok()
        .and_then(|open| open.get(&chosen).cloned());
    let store = if chosen == default_path {
        Ok(state.default_store.clone())
    } else if let Some(store) = already_open {
        Ok(store)
    } else {
        let path = chosen.clone();
        crate::commands::blocking(move || open_account_store(&path)).await
    };
    if let (Ok(store), Ok(mut open)) = (&store, state.open_stores.lock()) {
        open.insert(chosen.clone(), store.clone());
    }
    let store = match store {
        Ok(store) => store,
        Err(error) => {
            tracing::error!(?error, path = %chosen.display(), "cannot open the account's store");
            return;
        }
    };
    if let Ok(mut active) = state.store.write() {
        *active = ActiveStore {
            path: chosen.clone(),
            store,
        };
    }
    // The documents the window had open belong to the other store: not subscribed here. An
    // edit still on its way to one of them is written to that store (`doc_stores`).
    if let Ok(mut opened) = state.opened.lock() {
        opened.clear();
    }
    remember_active_store(&state.data_dir, &chosen);
    tracing::info!(%account, path = %chosen.display(), "switched to the account's local store");
    if let Err(error) = app.emit(
        "store-switched",
        StoreSwitched {
            account: account.to_string(),
        },
    ) {
        tracing::warn!(%error, "cannot emit store-switched");
    }
}

/// The file naming the store in use, so the next launch opens the same account's store before
/// anyone can tell who is signed in (offline, the sign-in still being restored): work done then
/// belongs to the account that was signed in, never to the default store's owner.
const ACTIVE_STORE_FILE: &str = "active-store";

fn remember_active_store(data_dir: &std::path::Path, path: &std::path::Path) {
    let Ok(relative) = path.strip_prefix(data_dir) else {
        return;
    };
    let temporary = data_dir.join(format!("{ACTIVE_STORE_FILE}.tmp"));
    let written = std::fs::write(&temporary, relative.to_string_lossy().as_bytes())
        .and_then(|()| std::fs::rename(&temporary, data_dir.join(ACTIVE_STORE_FILE)));
    if let Err(error) = written {
        tracing::warn!(%error, "cannot record which account's store is in use");
    }
}

/// The account store in use when the app last ran, if it was not the default one.
pub fn last_active_store(data_dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let recorded = std::fs::read_to_string(data_dir.join(ACTIVE_STORE_FILE)).ok()?;
    let recorded = recorded.trim();
    // Only a file of the accounts folder, by the name StoreFiles gives it: nothing else.
    let name = recorded.strip_prefix("accounts/")?;
    let stem = name.strip_suffix(".db")?;
    if stem.len() != 32 || !stem.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let path = data_dir.join("accounts").join(name);
    path.exists().then_some(path)
}

/// Open (or make) an account's own store file, its key in the keychain entry of that file.
pub fn open_account_store(path: &std::path::Path) -> Result<Arc<Store>, local::LocalError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|error| {
            local::LocalError::InvalidInput(format!(
                "cannot make the folder for this account's data ({}): {error}",
                dir.display()
            ))
        })?;
    }
    let key = local::StoredKey::new(crate::keychain::key_slot(path), path);
    Ok(Arc::new(Store::open(path, &key)?))
}

fn forward(app: &AppHandle, event: SyncEvent) {
    let state = app.state::<AppState>();
    let result = match event {
        SyncEvent::State(sync_state) => {
            let pending = state.pending();
            if matches!(sync_state, SyncState::Syncing { .. } | SyncState::Synced) {
                announce_problem(app, None);
            }
            state.publish(app, event_for(&sync_state, pending));
            Ok(())
        }
        SyncEvent::Problem(message) => {
            announce_problem(app, Some(message));
            Ok(())
        }
        SyncEvent::RemoteUpdate { doc, update } => {
            state.deliver(&doc, &update);
            app.emit(
                "cases-changed",
                CaseChanged {
                    case_id: doc.case_id(),
                },
            )
        }
        SyncEvent::Awareness { doc, states } => app.emit(
            "awareness",
            Awareness {
                doc: doc.as_str().to_owned(),
                states: states
                    .into_iter()
                    .map(|entry| AwarenessState {
                        client_id: entry.client_id,
                        clock: entry.clock,
                        state: entry.state,
                    })
                    .collect(),
            },
        ),
        SyncEvent::Denied { doc, reason } => {
            tracing::warn!(doc = %doc, %reason, "server refused a document");
            app.emit(
                "sync-denied",
                Denied {
                    doc: doc.as_str().to_owned(),
                    reason,
                },
            )
        }
        SyncEvent::RoleChanged { case_id } => {
            // The remembered role is stale: `my_role` asks the server again.
            if let Ok(mut roles) = state.roles.lock() {
                roles.remove(case_id.as_str());
            }
            app.emit("role-changed", RoleChanged { case_id })
        }
        SyncEvent::MatterRemoved {
            case_id,
            reason,
            discarded_changes,
        } => {
            // Not re-subscribed when the client restarts: the matter is gone.
            if let Ok(mut opened) = state.opened.lock() {
                opened.retain(|doc| doc.case_id() != case_id);
            }
            let case = CaseChanged { case_id };
            app.emit(
                "matter-removed",
                MatterRemoved {
                    case_id,
                    reason,
                    discarded_changes,
                },
            )
            // The dashboard and search reload and find the matter gone.
            .and_then(|()| app.emit("cases-changed", case))
        }
        SyncEvent::AccountMismatch { bound, signed_in } => {
            crate::accounts::announce_mismatch(app, bound, signed_in)
        }
    };
    if let Err(error) = result {
        tracing::warn!(%error, "cannot emit a sync event to the window");
    }
}

/// The window opened `doc`, read from `store`: its edits are written to that store (even if
/// the lawyer signs in as another account meanwhile: they are that account's work), and it is
/// subscribed for live updates if `store` is the one in use.
pub async fn open_in(app: &AppHandle, doc: DocName, store: &Arc<Store>) {
    let state = app.state::<AppState>();
    if let Ok(mut stores) = state.doc_stores.lock() {
        stores.insert(doc.clone(), store.clone());
    }
    if Arc::ptr_eq(store, &state.store()) {
        open(app, doc).await;
    }
}

impl AppState {
    /// Where a change to `doc` belongs: the store the window opened it from, else the store in
    /// use.
    pub fn store_for(&self, doc: &DocName) -> Arc<Store> {
        self.opened_from(doc).unwrap_or_else(|| self.store())
    }

    /// The store `doc` was opened from, where its edits belong.
    pub fn store_of_opened(&self, doc: &DocName) -> crate::error::CommandResult<Arc<Store>> {
        self.opened_from(doc).ok_or_else(|| {
            crate::error::CommandError::new(
                "document_not_open",
                "This draft is not open; open it again from the matter list.",
            )
        })
    }

    fn opened_from(&self, doc: &DocName) -> Option<Arc<Store>> {
        self.doc_stores
            .lock()
            .ok()
            .and_then(|stores| stores.get(doc).cloned())
    }
}

/// Subscribe a document for live updates (the matter page or editor opened it).
pub async fn open(app: &AppHandle, doc: DocName) {
    let state = app.state::<AppState>();
    if let Ok(mut opened) = state.opened.lock() {
        opened.insert(doc.clone());
    }
    if let Some(client) = state.client.lock().await.as_ref() {
        client.open(doc);
    }
}

pub async fn set_awareness(app: &AppHandle, doc: &DocName, state_json: String) {
    let state = app.state::<AppState>();
    if let Some(client) = state.client.lock().await.as_ref() {
        client.set_awareness(doc, state_json);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_last_accounts_store_is_reopened_and_nothing_else_is() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        assert_eq!(
            last_active_store(data),
            None,
            "nothing recorded: the default store"
        );
        let files = local::StoreFiles::new(data);
        let account = local::Account {
            server: "hub.firm.example:443/api/v1/sync".into(),
            firm: "firm-b".into(),
            user: "bob".into(),
        };
        let own = files.account_path(&account);
        std::fs::create_dir_all(own.parent().unwrap()).unwrap();
        std::fs::write(&own, b"").unwrap();
        remember_active_store(data, &own);
        assert_eq!(last_active_store(data), Some(own));
        // Back on the default store: nothing to reopen.
        remember_active_store(data, &files.default_path());
        assert_eq!(last_active_store(data), None);
        // A tampered record never opens anything else.
        for recorded in [
            "../../etc/passwd",
            "accounts/../lawyers-hub.db",
            "accounts/x.db",
        ] {
            std::fs::write(data.join(ACTIVE_STORE_FILE), recorded).unwrap();
            assert_eq!(last_active_store(data), None, "{recorded}");
        }
    }
}
