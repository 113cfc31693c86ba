//! Where the sync client's bearer token comes from: `SignedIn` in the desktop app (refreshed in
//! the background), `StaticToken` in tests and benchmarks.

use crate::LocalError;

/// Supplies the bearer token sent in every `Auth` frame; asked again on every (re)connect so a
/// refreshed token is picked up.
pub trait TokenSource: Send + Sync {
    fn token(&self) -> Result<String, LocalError>;

    /// Ticks whenever a new token is available (a refresh), so an open connection can
    /// re-authenticate before the old one expires. `None` for tokens that never change.
    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

/// A token known in advance (tests, benchmarks).
pub struct StaticToken(pub String);

impl TokenSource for StaticToken {
    fn token(&self) -> Result<String, LocalError> {
        Ok(self.0.clone())
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}
