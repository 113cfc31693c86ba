//! The domain's error: what went wrong in terms of matters and people, never in terms of HTTP
//! or WebSocket frames. The edges map it: `rest::ApiError` to a status and `{code, message}`
//! body, the sync connection to its close frames. [`Error::code`] is the stable code clients
//! see.

/// Why a domain operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such matter, or one the caller may not see (another firm's, or walled off): the two
    /// are reported alike.
    #[error("no such matter")]
    NotFound,
    /// The caller sees the matter but may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The change would break a rule of the matter (its last owner, a wall).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: &'static str,
    },
    /// The caller created too many matters in the last minute.
    #[error("too many new matters: wait a minute and try again")]
    TooManyNewCases,
    /// The request itself is wrong; the message says how to fix it.
    #[error("{message}")]
    InvalidInput { code: &'static str, message: String },
    /// Postgres failed: the cause is logged, the client gets a generic answer.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl Error {
    /// The stable code clients see (`{code, message}`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound => "not_found",
            Error::Forbidden(_) => "forbidden",
            Error::Conflict { code, .. } | Error::InvalidInput { code, .. } => code,
            Error::TooManyNewCases => "too_many_new_cases",
            Error::Database(_) => "server_error",
        }
    }
}
