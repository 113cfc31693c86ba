//! The SQLCipher key of the local database lives in the OS keychain (macOS Keychain, Windows
//! Credential Manager, the Secret Service on Linux), one entry per data directory. When to make
//! a key, and never over an existing database, is decided by `local::StoredKey`; this is only
//! the keychain slot it keeps the key in.

use local::{KeySlot, LocalError};

const SERVICE: &str = "app.lawyershub.desktop.database";

pub struct KeychainSlot {
    /// The keychain entry's account: the absolute data directory, so two profiles on one
    /// machine (or two test instances) never share a key.
    account: String,
}

impl KeychainSlot {
    pub fn new(data_dir: &std::path::Path) -> Self {
        Self {
            account: data_dir.to_string_lossy().into_owned(),
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
