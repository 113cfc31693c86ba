//! Where the refresh token lives between runs of the app, with who it signs in (so the app can
//! name the lawyer before, or without, reaching the provider): the OS keychain in the desktop
//! app, a memory store in tests. The access token is never stored; it stays in memory
//! (`SignedIn`).

use std::sync::{Arc, Mutex};

use crate::LocalError;
use crate::identity::id_token::SignedInUser;

/// Keeps the one refresh token of the signed-in user and who that user is. Calls may block (the
/// OS keychain talks to a system service), so async code calls them on the blocking pool.
pub trait TokenStore: Send + Sync {
    /// The stored refresh token, or `None` when nobody is signed in.
    fn load(&self) -> Result<Option<String>, LocalError>;
    /// Replaces the stored refresh token (after sign-in and after every rotation).
    fn save(&self, refresh_token: &str) -> Result<(), LocalError>;
    /// Who the stored refresh token signs in, as the last ID token said.
    fn load_user(&self) -> Result<Option<SignedInUser>, LocalError>;
    /// Replaces who is signed in (after sign-in, and when a refresh brings a new ID token).
    fn save_user(&self, user: &SignedInUser) -> Result<(), LocalError>;
    /// Forgets the refresh token and the user; succeeds when there was none.
    fn clear(&self) -> Result<(), LocalError>;
}

impl std::fmt::Debug for dyn TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenStore(<redacted>)")
    }
}

/// A refresh token kept in process memory only (tests, or a "don't remember me" sign-in).
#[derive(Default)]
pub struct MemoryTokenStore {
    refresh_token: Mutex<Option<String>>,
    user: Mutex<Option<SignedInUser>>,
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

    fn load_user(&self) -> Result<Option<SignedInUser>, LocalError> {
        Ok(self.user.lock()?.clone())
    }

    fn save_user(&self, user: &SignedInUser) -> Result<(), LocalError> {
        *self.user.lock()? = Some(user.clone());
        Ok(())
    }

    fn clear(&self) -> Result<(), LocalError> {
        *self.refresh_token.lock()? = None;
        *self.user.lock()? = None;
        Ok(())
    }
}

impl std::fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryTokenStore(<redacted>)")
    }
}

/// The refresh token in the OS keychain: macOS Keychain, Windows Credential Manager, or the
/// freedesktop Secret Service (GNOME Keyring / KWallet) on Linux, under `service` / `account`;
/// who it signs in (JSON: subject, name, e-mail) in a second entry, `account` + `#user`.
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

    fn user_entry(&self) -> Result<keyring::Entry, LocalError> {
        keyring::Entry::new(&self.service, &format!("{}#user", self.account))
            .map_err(keychain_error)
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

    fn load_user(&self) -> Result<Option<SignedInUser>, LocalError> {
        match self.user_entry()?.get_password() {
            // An entry this build cannot read names nobody; the next ID token replaces it.
            Ok(json) => Ok(serde_json::from_str(&json).ok()),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(keychain_error(error)),
        }
    }

    fn save_user(&self, user: &SignedInUser) -> Result<(), LocalError> {
        let json = serde_json::to_string(user)
            .map_err(|error| LocalError::TokenStore(format!("cannot encode the user: {error}")))?;
        self.user_entry()?
            .set_password(&json)
            .map_err(keychain_error)
    }

    fn clear(&self) -> Result<(), LocalError> {
        // The token first: a user entry left behind names nobody once the token is gone.
        for entry in [self.entry()?, self.user_entry()?] {
            match entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => {}
                Err(error) => return Err(keychain_error(error)),
            }
        }
        Ok(())
    }
}

fn keychain_error(error: keyring::Error) -> LocalError {
    // keyring's messages name the platform failure, never the secret.
    LocalError::TokenStore(error.to_string())
}

/// Runs a (possibly blocking) token store call on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    store: &Arc<dyn TokenStore>,
    call: impl FnOnce(&dyn TokenStore) -> Result<T, LocalError> + Send + 'static,
) -> Result<T, LocalError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || call(store.as_ref()))
        .await
        .map_err(|error| LocalError::TokenStore(format!("token store task failed: {error}")))?
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
        let ada = SignedInUser {
            subject: "u1".into(),
            name: Some("Ada Lovelace".into()),
            email: Some("ada@firm.example".into()),
        };
        store.save_user(&ada).unwrap();
        assert_eq!(store.load().unwrap().as_deref(), Some("second"));
        assert_eq!(store.load_user().unwrap(), Some(ada));
        store.clear().unwrap();
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
        assert_eq!(store.load_user().unwrap(), None);
        assert_eq!(format!("{store:?}"), "MemoryTokenStore(<redacted>)");
    }
}
