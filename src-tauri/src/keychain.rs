//! Where the app keeps its secrets (the SQLCipher keys of the local databases, the refresh
//! token): the OS keychain (macOS Keychain, Windows Credential Manager, the Secret Service on
//! Linux), or — on a computer whose keychain cannot be used (no Secret Service, a locked or
//! refusing keychain) — a passphrase-protected key file in the data directory
//! (`local::Vault`, Argon2id). Chosen once per run: the key file when one exists, else the
//! keychain. When to make a database key, and never over an existing database, is decided by
//! `local::StoredKey`; this is only where it is kept.

use std::sync::{Arc, OnceLock};

use local::{KeySlot, LocalError, TokenStore, Vault};

const SERVICE: &str = "app.lawyershub.desktop.database";
/// The keychain service of refresh tokens (one entry per identity provider).
pub const TOKEN_SERVICE: &str = "app.lawyershub.desktop";

/// Where this run keeps secrets: set once, when the local data is opened.
static VAULT: OnceLock<Vault> = OnceLock::new();

/// From now on, secrets are kept in `vault` (set once; later calls are ignored).
pub fn use_vault(vault: Vault) {
    let _ = VAULT.set(vault);
}

/// Whether this run keeps its secrets in the passphrase-protected key file.
pub fn uses_vault() -> bool {
    VAULT.get().is_some()
}

/// The key slot of the database file at `database`.
pub fn key_slot(database: &std::path::Path) -> AppKeySlot {
    match VAULT.get() {
        Some(vault) => AppKeySlot::Vault(vault.key_slot(database)),
        None => AppKeySlot::Keychain(KeychainSlot::new(database)),
    }
}

/// The refresh-token store for sign-ins with `issuer`.
pub fn token_store(issuer: &str) -> Arc<dyn TokenStore> {
    match VAULT.get() {
        Some(vault) => Arc::new(vault.token_store(issuer)),
        None => Arc::new(local::KeychainTokenStore::new(TOKEN_SERVICE, issuer)),
    }
}

pub enum AppKeySlot {
    Keychain(KeychainSlot),
    Vault(local::VaultSlot),
}

impl KeySlot for AppKeySlot {
    fn get(&self) -> Result<Option<String>, LocalError> {
        match self {
            Self::Keychain(slot) => slot.get(),
            Self::Vault(slot) => slot.get(),
        }
    }

    fn set(&self, key: &str) -> Result<(), LocalError> {
        match self {
            Self::Keychain(slot) => slot.set(key),
            Self::Vault(slot) => slot.set(key),
        }
    }
}

pub struct KeychainSlot {
    /// The keychain entry's account: the absolute path it keys (the data directory for the
    /// default store, the file for an account's store), so two profiles on one machine (or two
    /// test instances) never share a key.
    account: String,
}

impl KeychainSlot {
    pub fn new(path: &std::path::Path) -> Self {
        Self {
            account: path.to_string_lossy().into_owned(),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, LocalError> {
        keyring::Entry::new(SERVICE, &self.account).map_err(unavailable)
    }
}

fn unavailable(error: keyring::Error) -> LocalError {
    LocalError::KeyUnavailable(error.to_string())
}

impl KeySlot for KeychainSlot {
    fn get(&self) -> Result<Option<String>, LocalError> {
        match self.entry()?.get_password() {
            Ok(key) => Ok(Some(key)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(unavailable(error)),
        }
    }

    fn set(&self, key: &str) -> Result<(), LocalError> {
        self.entry()?.set_password(key).map_err(unavailable)
    }
}
