//! Where the refresh token lives between runs of the app: the OS keychain in the desktop app, a
//! memory store in tests. The access token is never stored; it stays in memory (`SignedIn`).

use std::sync::Mutex;

use crate::LocalError;

/// Keeps the one refresh token of the signed-in user. Calls may block (the OS keychain talks to
/// a system service), so async code calls them on the blocking pool.
pub trait TokenStore: Send + Sync {
    /// The stored refresh token, or `None` when nobody is signed in.
    fn load(&self) -> Result<Option<String>, LocalError>;
    /// Replaces the stored refresh token (after sign-in and after every rotation).
    fn save(&self, refresh_token: &str) -> Result<(), LocalError>;
    /// Forgets the refresh token; succeeds when there was none.
    fn clear(&self) -> Result<(), LocalError>;
}

impl std::fmt::Debug for dyn TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenStore(<redacted>)")
    }
}

/// A refresh token kept in process memory only (tests, or a "don't remember me" session).
#[derive(Default)]
pub struct MemoryTokenStore {
    refresh_token: Mutex<Option<String>>,
}

impl MemoryTokenStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> Result<Option<String>, LocalError> {
        Ok(self.refresh_token.lock()?.clone())
    }

    fn save(&self, refresh_token: &str) -> Result<(), LocalError> {
        *self.refresh_token.lock()? = Some(refresh_token.to_owned());
        Ok(())
    }

    fn clear(&self) -> Result<(), LocalError> {
        *self.refresh_token.lock()? = None;
        Ok(())
    }
}

impl std::fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryTokenStore(<redacted>)")
    }
}

/// The refresh token in the OS keychain: macOS Keychain, Windows Credential Manager, or the
/// freedesktop Secret Service (GNOME Keyring / KWallet) on Linux, under `service` / `account`.
#[derive(Debug, Clone)]
pub struct KeychainTokenStore {
    service: String,
    account: String,
}

impl KeychainTokenStore {
    /// `service` names the app (e.g. `"app.lawyershub.desktop"`); `account` tells sign-ins apart
    /// (e.g. the issuer URL, so switching identity providers does not reuse a token).
    pub fn new(service: impl Into<String>, account: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            account: account.into(),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, LocalError> {
        keyring::Entry::new(&self.service, &self.account).map_err(keychain_error)
    }
}

impl TokenStore for KeychainTokenStore {
    fn load(&self) -> Result<Option<String>, LocalError> {
        match self.entry()?.get_password() {
            Ok(token) => Ok(Some(token)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(keychain_error(error)),
        }
    }

    fn save(&self, refresh_token: &str) -> Result<(), LocalError> {
        self.entry()?
            .set_password(refresh_token)
            .map_err(keychain_error)
    }

    fn clear(&self) -> Result<(), LocalError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(keychain_error(error)),
        }
    }
}

fn keychain_error(error: keyring::Error) -> LocalError {
    // keyring's messages name the platform failure, never the secret.
    LocalError::TokenStore(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_saves_replaces_and_clears() {
        let store = MemoryTokenStore::new();
        assert_eq!(store.load().unwrap(), None);
        store.save("first").unwrap();
        store.save("second").unwrap();
        assert_eq!(store.load().unwrap().as_deref(), Some("second"));
        store.clear().unwrap();
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
        assert_eq!(format!("{store:?}"), "MemoryTokenStore(<redacted>)");
    }
}
