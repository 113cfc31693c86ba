//! The one error type of `hub-local`. `code()` is stable: the desktop app sends it to the UI as
//! `{code, message}` and the UI matches on the code, never on the message.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LocalError {
    #[error("the database key is wrong, or the file is not a Lawyers Hub database")]
    WrongKey,
    #[error("the database key is not available: {0}")]
    KeyUnavailable(String),
    /// The keychain holds no key for a database that exists: a new key could never open it.
    #[error(
        "The key to your local Lawyers Hub data is missing from the system keychain, so {} \
         cannot be opened. Restore the keychain entry (for example from a backup of your \
         keychain), or move {} aside to start fresh: your synced matters will download again.",
        database.display(),
        database.display()
    )]
    KeyMissing { database: std::path::PathBuf },
    #[error("the sign-in token is not available: {0}")]
    TokenUnavailable(String),
    /// SQLite could not grow the file (SQLITE_FULL): the disk, or the volume's quota, is full.
    /// The write was rolled back whole; retrying the same write once there is room succeeds.
    #[error("this computer's disk is full")]
    DiskFull,
    #[error("database error: {0}")]
    Database(rusqlite::Error),
    #[error(
        "the database was written by a newer version of the app (schema {found}, this build knows {known})"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("invalid update: {0}")]
    InvalidUpdate(String),
    #[error("invalid state vector: {0}")]
    InvalidStateVector(String),
    #[error(transparent)]
    Protocol(#[from] protocol::ProtocolError),
    #[error("internal state was poisoned by an earlier panic")]
    Poisoned,
    #[error("connection failed: {0}")]
    Connection(String),
    #[error("the identity provider could not be used: {0}")]
    SignInDiscovery(String),
    #[error("sign-in timed out: the browser did not come back to the app")]
    SignInTimeout,
    #[error(
        "sign-in refused: the browser's answer does not belong to this sign-in (state mismatch)"
    )]
    SignInStateMismatch,
    #[error("sign-in was not completed: {0}")]
    SignInDenied(String),
    #[error("the identity provider refused the sign-in: {0}")]
    SignInExchange(String),
    #[error("please sign in again")]
    SignInRequired,
    #[error("the keychain could not be used: {0}")]
    TokenStore(String),
    #[error("{0}")]
    InvalidInput(String),
    /// The sync token does not say which user and firm it is for (see account.rs).
    #[error("the account of this sign-in cannot be told: {0}")]
    AccountUnknown(String),
    /// This computer's data belongs to another account; nothing is synced.
    #[error(
        "This computer's Lawyers Hub data belongs to {} at {} on {}. Sign in as that account \
         (or set that server) to sync it; nothing was sent for {}.",
        bound.user, bound.firm, bound.server, signed_in
    )]
    AccountMismatch {
        bound: Box<crate::identity::Account>,
        signed_in: Box<crate::identity::Account>,
    },
    #[error("{0}")]
    NotFound(String),
    /// An export could not be made; the message is written for the lawyer.
    #[error("{0}")]
    Export(String),
    /// A Word file was refused; the message is written for the lawyer, the code says why.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// The matter is under legal hold (as the firm's server last said): nothing of it may be
    /// deleted. `reason` is the hold's.
    #[error(
        "This matter is under legal hold ({reason}): nothing of it can be deleted until a firm \
         admin lifts the hold."
    )]
    LegalHold { reason: String },
    /// The firm's server refused a copilot request; `message` is written for the lawyer.
    #[error("{message}")]
    CopilotRefused { code: String, message: String },
}

impl LocalError {
    /// A stable machine-readable code for the UI, logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongKey => "wrong_key",
            Self::KeyUnavailable(_) => "key_unavailable",
            Self::KeyMissing { .. } => "key_missing",
            Self::TokenUnavailable(_) => "token_unavailable",
            Self::DiskFull => "disk_full",
            Self::Database(_) => "database",
            Self::SchemaTooNew { .. } => "schema_too_new",
            Self::InvalidUpdate(_) => "invalid_update",
            Self::InvalidStateVector(_) => "invalid_state_vector",
            Self::Protocol(error) => error.code(),
            Self::Poisoned => "poisoned",
            Self::Connection(_) => "connection",
            Self::SignInDiscovery(_) => "signin_discovery",
            Self::SignInTimeout => "signin_timeout",
            Self::SignInStateMismatch => "signin_state_mismatch",
            Self::SignInDenied(_) => "signin_denied",
            Self::SignInExchange(_) => "signin_exchange",
            Self::SignInRequired => "signin_required",
            Self::TokenStore(_) => "token_store",
            Self::InvalidInput(_) => "invalid_input",
            Self::AccountUnknown(_) => "account_unknown",
            Self::AccountMismatch { .. } => "account_mismatch",
            Self::NotFound(_) => "not_found",
            Self::Export(_) => "export",
            Self::Import(error) => error.code(),
            Self::LegalHold { .. } => "legal_hold",
            Self::CopilotRefused { .. } => "copilot_refused",
        }
    }
}

impl From<rusqlite::Error> for LocalError {
    fn from(error: rusqlite::Error) -> Self {
        match &error {
            rusqlite::Error::SqliteFailure(failure, _)
                if failure.code == rusqlite::ErrorCode::DiskFull =>
            {
                Self::DiskFull
            }
            _ => Self::Database(error),
        }
    }
}

impl<T> From<std::sync::PoisonError<T>> for LocalError {
    fn from(_: std::sync::PoisonError<T>) -> Self {
        Self::Poisoned
    }
}
