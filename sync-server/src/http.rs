//! The HTTP edge shared by every handler (`rest`, `directory`, `copilot`, `metrics`): the one
//! error answer, [`ApiError`] (a status, a `{code, message}` body and, for a limit,
//! `Retry-After`), mapped from the domain's [`Error`] here and nowhere else; and the extractors
//! that turn `Authorization: Bearer <token>` into a verified caller.

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::Principal;
use crate::db;
use crate::error::{Error, Refusal};
use crate::state::AppState;

/// An API error: a stable code and a message a person can act on.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds the client should wait before trying again (429/503): `Retry-After`.
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error of the request itself, found at the edge (a body that does not parse, a field
    /// out of range), before any domain call.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// Tell the client when to try again: a `Retry-After` header and `retry_after_secs`.
    fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub(crate) fn code(&self) -> &'static str {
        self.code
    }
}

/// The HTTP answer to a domain error: the same statuses and `{code, message}` bodies the API
/// has always given.
impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let code = error.code();
        match error {
            Error::Database(error) => {
                // The cause goes to the log; the client gets a generic message.
                tracing::error!(%error, "database error in the REST API");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    "something went wrong; try again",
                )
            }
            Error::NotFound => Self::new(StatusCode::NOT_FOUND, code, "no such matter"),
            Error::Forbidden(message) => Self::forbidden(message),
            Error::TooManyNewCases => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, code, error.to_string())
            }
            Error::Conflict { message, .. } => Self::new(StatusCode::CONFLICT, code, message),
            Error::LegalHold { .. } => Self::new(StatusCode::CONFLICT, code, error.to_string()),
            Error::InvalidInput { message, .. } => {
                Self::new(StatusCode::BAD_REQUEST, code, message)
            }
            Error::Unauthorized(error) => {
                Self::new(StatusCode::UNAUTHORIZED, code, error.to_string())
            }
            Error::Copilot(refusal) => refusal_answer(refusal),
        }
    }
}

/// A copilot refusal: its status, `{code, message}` and, for a limit, when to try again.
fn refusal_answer(refusal: Refusal) -> ApiError {
    let (code, message) = (refusal.code(), refusal.to_string());
    match refusal {
        Refusal::NotConfigured => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message),
        Refusal::Disabled | Refusal::ConsentRequired => {
            ApiError::new(StatusCode::FORBIDDEN, code, message)
        }
        Refusal::QuotaExceeded { wait_secs, .. } | Refusal::RateLimited { wait_secs, .. } => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message).retry_after(wait_secs)
        }
        Refusal::TooManyStreams { .. } => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message).retry_after(1)
        }
    }
}

/// A handler's own database read (a list, a report): `?` maps it like the domain's.
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Error::Database(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        match self.retry_after {
            Some(seconds) => {
                body["retry_after_secs"] = json!(seconds);
                let retry_after = [(axum::http::header::RETRY_AFTER, seconds.to_string())];
                (self.status, retry_after, Json(body)).into_response()
            }
            None => (self.status, Json(body)).into_response(),
        }
    }
}

/// The verified caller of a REST route (recorded in `firms`, `users` and the firm directory on
/// sight).
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = bearer_principal(parts, state).await?;
        db::directory::ensure_principal(&state.pool, &principal).await?;
        Ok(Caller(principal))
    }
}

/// The verified caller, without recording them: for hot routes whose checks already require a
/// known member of a matter (the copilot's chat).
pub struct VerifiedCaller(pub Principal);

impl FromRequestParts<AppState> for VerifiedCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(VerifiedCaller(bearer_principal(parts, state).await?))
    }
}

async fn bearer_principal(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let token = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|header| header.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send Authorization: Bearer <token>",
            )
        })?;
    Ok(state
        .verifier
        .verify(token.trim())
        .await
        .map_err(Error::from)?)
}

/// A JSON request body whose problems answer `{code, message}` like every other error (axum's
/// own `Json` rejections are plain text): 415 without `application/json`, 400/422 for a
/// malformed body, 413 `too_large`. Every REST handler that reads a body takes this.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => {
                let status = rejection.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "invalid_request"
                };
                Err(ApiError::new(status, code, rejection.body_text()))
            }
        }
    }
}
