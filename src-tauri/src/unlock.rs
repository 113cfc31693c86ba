//! Opening this computer's data at start, and what the window offers when it cannot be opened
//! yet. The window always opens: with no usable keychain (a Linux desktop without a Secret
//! Service, a locked or refusing keychain) the lawyer protects the data with a passphrase
//! instead (`local::Vault`, Argon2id); any other failure is explained, never a crash.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager};

use crate::error::{CommandError, CommandResult};
use crate::settings::Settings;

/// What opening the data needs, kept until it has been opened.
#[derive(Clone)]
pub struct Launch {
    pub data_dir: PathBuf,
    pub settings: Settings,
    pub dev_token: Option<String>,
}

/// Whether the data is open, and if not, what the lawyer can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Lock {
    Open,
    /// The keychain cannot be used and nothing is stored yet, or a passphrase protects the
    /// data already (`has_passphrase`): enter or choose one.
    NeedsPassphrase {
        has_passphrase: bool,
        reason: String,
    },
    /// The key to existing data is in a keychain that refuses now: unlock it and try again.
    KeychainRefused {
        reason: String,
    },
    /// Anything else, in words the lawyer or the help desk can act on.
    CannotOpen {
        reason: String,
    },
}

pub struct Gate {
    lock: Mutex<Lock>,
    launch: Launch,
    /// One unlock or retry at a time: two would open the data twice or race on the key file.
    busy: tokio::sync::Mutex<()>,
}

impl Gate {
    pub fn lock(&self) -> Lock {
        self.lock
            .lock()
            .map(|lock| lock.clone())
            .unwrap_or(Lock::CannotOpen {
                reason: "internal error (lock poisoned)".into(),
            })
    }

    fn set(&self, lock: Lock) {
        if let Ok(mut current) = self.lock.lock() {
            *current = lock;
        }
    }
}

/// At start: the data opened with the key file (when a passphrase protects it, after the
/// lawyer enters it) or the keychain. Never fails: what went wrong is the window's to show.
pub fn start(app: &AppHandle, launch: Launch) {
    let vault = local::Vault::path_in(&launch.data_dir);
    let lock = if vault.exists() {
        Lock::NeedsPassphrase {
            has_passphrase: true,
            reason: String::new(),
        }
    } else {
        open_now(app, &launch)
    };
    if lock != Lock::Open {
        tracing::warn!(?lock, "local data not opened at start");
    }
    app.manage(Gate {
        lock: Mutex::new(lock),
        launch,
        busy: tokio::sync::Mutex::new(()),
    });
}

/// The data folder itself could not be made: say so in the window.
pub fn fail(app: &AppHandle, reason: String) {
    tracing::error!(reason = reason.as_str(), "no data folder");
    app.manage(Gate {
        lock: Mutex::new(Lock::CannotOpen { reason }),
        launch: Launch {
            data_dir: PathBuf::new(),
            settings: Settings::default(),
            dev_token: None,
        },
        busy: tokio::sync::Mutex::new(()),
    });
}

fn open_now(app: &AppHandle, launch: &Launch) -> Lock {
    match crate::open_data(app, launch) {
        Ok(()) => Lock::Open,
        Err(local::LocalError::KeyUnavailable(reason)) => {
            let database = local::StoreFiles::new(&launch.data_dir).default_path();
            let holds_data = std::fs::metadata(&database).is_ok_and(|meta| meta.len() > 0);
            if holds_data && !crate::keychain::uses_vault() {
                Lock::KeychainRefused { reason }
            } else {
                Lock::NeedsPassphrase {
                    has_passphrase: false,
                    reason,
                }
            }
        }
        Err(error) => Lock::CannotOpen {
            reason: CommandError::from(error).message,
        },
    }
}

#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub fn lock_state(gate: tauri::State<'_, Gate>) -> Lock {
    gate.lock()
}

/// Enter the passphrase (or choose one, `create`) and open the data with the key file.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn unlock(app: AppHandle, passphrase: String, create: bool) -> CommandResult<Lock> {
    let gate = app.state::<Gate>();
    let _one = gate.busy.lock().await;
    // Only what the window offers: enter the passphrase that exists, or choose the first one.
    match gate.lock() {
        Lock::Open => return Ok(Lock::Open),
        Lock::NeedsPassphrase { has_passphrase, .. } if has_passphrase != create => {}
        Lock::KeychainRefused { .. } => {
            return Err(CommandError::new(
                "keychain_refused",
                "The key to your data is in the system keychain: unlock the keychain and try again.",
            ));
        }
        _ => {
            return Err(CommandError::new(
                "not_offered",
                "A passphrase cannot open this computer's data now; see the message above.",
            ));
        }
    }
    let path = local::Vault::path_in(&gate.launch.data_dir);
    let vault = tauri::async_runtime::spawn_blocking(move || {
        if create {
            local::Vault::create(&path, &passphrase)
        } else {
            local::Vault::unlock(&path, &passphrase)
        }
    })
    .await
    .map_err(|error| CommandError::new("internal", error.to_string()))?
    .map_err(|error| {
        CommandError::new(
            error.code(),
            format!("{}.", crate::local_data::capitalized(&error.to_string())),
        )
    })?;
    crate::keychain::use_vault(vault);
    let lock = open_now(&app, &gate.launch);
    gate.set(lock.clone());
    Ok(lock)
}

/// After the lawyer unlocked the keychain: open the data with it.
#[tauri::command]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn retry_keychain(app: AppHandle) -> CommandResult<Lock> {
    let gate = app.state::<Gate>();
    let _one = gate.busy.lock().await;
    match gate.lock() {
        Lock::KeychainRefused { .. } => {}
        other => return Ok(other),
    }
    let lock = open_now(&app, &gate.launch);
    gate.set(lock.clone());
    Ok(lock)
}
