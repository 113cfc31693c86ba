//! The domain's error: what went wrong in terms of matters and people, never in terms of HTTP
//! or WebSocket frames. It is the one error of the domain layer (access, the sync core, the
//! copilot's policy, token verification): a refused token ([`AuthError`], re-exported by
//! `auth`) and a copilot refusal ([`Refusal`], re-exported by `copilot::policy`) are its typed
//! sources, defined here so this module imports no domain module. The edges map it, and only
//! they: `http::ApiError` to a status and `{code, message}` body, `connection`'s `answer` to a
//! refusal of one document or a close frame. [`Error::code`] is the stable code clients see.

use chrono::Utc;

/// Why a token was not accepted (`Error::Unauthorized`; HTTP 401, a refusal on the socket).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the token is invalid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token has no firm (organization)")]
    NoFirm,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    #[error("the sign-in is not complete (pending session)")]
    PendingSession,
    #[error("the token was issued to an application this server does not accept")]
    UnauthorizedParty,
}

/// Why the copilot is refused to a caller who may read the matter (one who may not gets the
/// domain's `Error::NotFound`, exactly like a missing matter). A typed source of the domain
/// [`Error`]; the HTTP edge (`crate::http`) maps each to its status, `{code, message}` body and
/// `Retry-After`; [`Refusal::code`] is that stable code.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "The AI copilot is not set up on your firm's server. Ask your administrator to \
         configure an AI model (HUB_COPILOT_API_KEY / HUB_COPILOT_BASE_URL)."
    )]
    NotConfigured,
    #[error("Your firm has turned the AI copilot off. A firm administrator can turn it on.")]
    Disabled,
    #[error(
        "The client has not consented to AI use on this matter. Once they have, the \
         matter's owner can record the consent, and the copilot becomes available."
    )]
    ConsentRequired,
    #[error(
        "You have used your AI allowance for this month ({used_tokens} of {monthly_tokens} \
         tokens). It renews on {renews_on}; a firm administrator can raise it.",
        renews_on = .renews.format("%-d %B %Y")
    )]
    QuotaExceeded {
        used_tokens: i64,
        monthly_tokens: i64,
        renews: chrono::DateTime<Utc>,
        /// Seconds until the quota renews.
        wait_secs: u64,
    },
    #[error(
        "You have asked the copilot {per_minute} times in the last minute, the most allowed. \
         Try again in {wait_secs} seconds."
    )]
    RateLimited { per_minute: usize, wait_secs: u64 },
    #[error(
        "You already have {in_flight} copilot answers in progress. Wait for one to finish, \
         or stop one."
    )]
    TooManyStreams { in_flight: u32 },
}

impl Refusal {
    /// The stable code clients see (`{code, message}`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotConfigured => "copilot_not_configured",
            Refusal::Disabled => "copilot_disabled",
            Refusal::ConsentRequired => "consent_required",
            Refusal::QuotaExceeded { .. } => "quota_exceeded",
            Refusal::RateLimited { .. } => "rate_limited",
            Refusal::TooManyStreams { .. } => "too_many_streams",
        }
    }
}

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
    /// The matter is under legal hold: nothing of it may be deleted. `reason` is the hold's.
    #[error(
        "This matter is under legal hold ({reason}): nothing of it can be deleted until a firm \
         admin lifts the hold."
    )]
    LegalHold { reason: String },
    /// The caller created too many matters in the last minute.
    #[error("too many new matters: wait a minute and try again")]
    TooManyNewCases,
    /// The request itself is wrong; the message says how to fix it.
    #[error("{message}")]
    InvalidInput { code: &'static str, message: String },
    /// The caller's token was not accepted (which check failed is the message).
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// The copilot is refused to the caller: not set up, off, no consent, or a limit.
    #[error(transparent)]
    Copilot(#[from] Refusal),
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
            Error::LegalHold { .. } => "legal_hold",
            Error::TooManyNewCases => "too_many_new_cases",
            Error::Unauthorized(_) => "unauthorized",
            Error::Copilot(refusal) => refusal.code(),
            Error::Database(_) => "server_error",
        }
    }
}
