//! The sync client's tokens held to the store's account.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::LocalError;
use crate::identity::{Account, TokenSource};

/// The client's token source, held to the store's account: a token for any other account is
/// never handed to the session (it keeps the last good one) and the client ends the
/// connection, to find the mismatch on the next connect.
pub(crate) struct BoundTokens {
    pub(crate) inner: Arc<dyn TokenSource>,
    pub(crate) url: String,
    pub(crate) account: Account,
    pub(crate) changed: AtomicBool,
}

impl BoundTokens {
    pub(crate) fn account_changed(&self) -> bool {
        self.changed.load(Ordering::Relaxed)
    }
}

impl TokenSource for BoundTokens {
    fn token(&self) -> Result<String, LocalError> {
        let token = self.inner.token()?;
        match Account::of_token(&self.url, &token) {
            Ok(account) if account == self.account => Ok(token),
            Ok(account) => {
                self.changed.store(true, Ordering::Relaxed);
                Err(LocalError::AccountMismatch {
                    bound: Box::new(self.account.clone()),
                    signed_in: Box::new(account),
                })
            }
            Err(error) => {
                self.changed.store(true, Ordering::Relaxed);
                Err(error)
            }
        }
    }

    fn changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.inner.changes()
    }
}
