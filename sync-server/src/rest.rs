//! REST `/api/v1` for what sync cannot express: my matters, members, screens (ethical walls),
//! the audit log and the firm directory (`crate::directory`). Every route takes `Authorization: Bearer <token>`; errors are JSON
//! `{code, message}`. Another firm's matter, or one the caller may not see, is `404 not_found`.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::access::{self, Audit, Role};
use crate::auth::Principal;
use crate::db;
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
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such matter")
    }

    pub(crate) fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// Tell the client when to try again: a `Retry-After` header and `retry_after_secs`.
    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub(crate) fn code(&self) -> &'static str {
        self.code
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        // The cause goes to the log; the client gets a generic message.
        tracing::error!(%error, "database error in the REST API");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "something went wrong; try again",
        )
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
        db::ensure_principal(&state.pool, &principal).await?;
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
    let unauthorized =
        |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| unauthorized("send Authorization: Bearer <token>"))?;
    let token = header
        .strip_prefix("Bearer ")
        .ok_or_else(|| unauthorized("send Authorization: Bearer <token>"))?;
    state
        .verifier
        .verify(token.trim())
        .await
        .map_err(|error| unauthorized(&error.to_string()))
}

pub(crate) fn is_firm_admin(principal: &Principal) -> bool {
    principal.firm_admin
}

/// The case must exist in the caller's firm; returns where the caller stands on it.
pub(crate) async fn case_in_firm(
    state: &AppState,
    case_id: Uuid,
    caller: &Principal,
) -> Result<access::Standing, ApiError> {
    let firm: Option<String> = sqlx::query_scalar("SELECT firm_id FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(&state.pool)
        .await?;
    if firm.as_deref() != Some(caller.firm_id.as_str()) {
        return Err(ApiError::not_found());
    }
    Ok(access::case_standing(&state.pool, case_id, &caller.user_id).await?)
}

/// Members may read; owners and firm admins may change. Screened users see nothing, firm admins
/// included: an ethical wall holds against the people who manage walls too.
pub(crate) async fn require(
    state: &AppState,
    case_id: Uuid,
    caller: &Principal,
    manage: bool,
) -> Result<(), ApiError> {
    let standing = case_in_firm(state, case_id, caller).await?;
    if standing.screened {
        return Err(ApiError::not_found());
    }
    let role = standing.role;
    let admin = is_firm_admin(caller);
    match (role, manage) {
        (_, true) if admin => Ok(()),
        (Some(Role::Owner), _) => Ok(()),
        (Some(_), false) => Ok(()),
        (Some(_), true) => Err(ApiError::forbidden(
            "only the matter's owners and firm admins can change access",
        )),
        (None, _) if admin && !manage => Ok(()),
        (None, _) => Err(ApiError::not_found()),
    }
}

#[derive(Serialize, sqlx::FromRow)]
pub struct CaseSummary {
    id: Uuid,
    /// owner, editor or viewer (a CHECK constraint in the schema).
    role: String,
    title: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/v1/cases`: the matters I belong to (never those I am screened from).
pub async fn my_cases(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<CaseSummary>>, ApiError> {
    let cases = sqlx::query_as::<_, CaseSummary>(
        "SELECT c.id, m.role, c.title, c.created_at FROM cases c
         JOIN case_members m ON m.case_id = c.id AND m.user_id = $2
         WHERE c.firm_id = $1
           AND NOT EXISTS (SELECT 1 FROM screens s WHERE s.case_id = c.id AND s.user_id = $2)
         ORDER BY c.created_at DESC",
    )
    .bind(&caller.firm_id)
    .bind(&caller.user_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(cases))
}

#[derive(Serialize, sqlx::FromRow)]
pub struct Member {
    user_id: String,
    /// From the firm directory: absent until the person has signed in with a token that names
    /// them.
    name: Option<String>,
    email: Option<String>,
    /// owner, editor or viewer (a CHECK constraint in the schema).
    role: String,
    added_by: String,
    added_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/v1/cases/{case}/members`, with names from the firm directory of the matter's own
/// firm only: an id that belongs to someone of another firm shows no name.
pub async fn members(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(case_id): Path<Uuid>,
) -> Result<Json<Vec<Member>>, ApiError> {
    require(&state, case_id, &caller, false).await?;
    let members = sqlx::query_as::<_, Member>(
        "SELECT m.user_id, d.name, d.email, m.role, m.added_by, m.added_at
         FROM case_members m
         JOIN cases c ON c.id = m.case_id
         LEFT JOIN firm_directory d ON d.firm_id = c.firm_id AND d.user_id = m.user_id
         WHERE m.case_id = $1 ORDER BY m.added_at, m.user_id",
    )
    .bind(case_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(members))
}

#[derive(Deserialize)]
pub struct SetRole {
    role: String,
}

/// Write the audit row of an access change and commit it together with the change.
async fn commit_audited(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    caller: &Principal,
    case_id: Uuid,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let entry = Audit {
        firm_id: &caller.firm_id,
        case_id: Some(case_id),
        user_id: Some(&caller.user_id),
        action,
        detail,
    };
    access::audit(&mut *tx, entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Apply an access change to this instance's open connections at once. Every other instance
/// (and this one again) hears it from the database's own notice (`crate::access_watch`), which
/// cannot be lost the way a Redis message can.
fn propagate(state: &AppState, case_id: Uuid, user_id: &str, role: Option<Role>) {
    state.copilot.policy_changed();
    state.hub.set_access(case_id, user_id, role);
}

/// Lock the matter's row for the rest of `tx`: access changes to one matter run one at a time,
/// so two owners demoting each other cannot both see the other still an owner.
async fn lock_case(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    case_id: Uuid,
) -> Result<(), ApiError> {
    sqlx::query("SELECT 1 FROM cases WHERE id = $1 FOR UPDATE")
        .bind(case_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Refuse a change that would leave the matter without an owner: `user_id` stops being one.
async fn keep_an_owner(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    case_id: Uuid,
    user_id: &str,
) -> Result<(), ApiError> {
    let (is_owner, others): (bool, i64) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM case_members WHERE case_id = $1 AND user_id = $2 AND role = 'owner'),
                (SELECT count(*) FROM case_members WHERE case_id = $1 AND role = 'owner' AND user_id <> $2)",
    )
    .bind(case_id)
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    if is_owner && others == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "last_owner",
            "a matter must keep at least one owner: make someone else an owner first",
        ));
    }
    Ok(())
}

/// `PUT /api/v1/cases/{case}/members/{user}` `{"role": "owner"|"editor"|"viewer"}`
pub async fn put_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((case_id, user_id)): Path<(Uuid, String)>,
    Json(body): Json<SetRole>,
) -> Result<StatusCode, ApiError> {
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_role",
            "role must be owner, editor or viewer",
        )
    })?;
    require(&state, case_id, &caller, true).await?;
    let mut tx = state.pool.begin().await?;
    lock_case(&mut tx, case_id).await?;
    let screened: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM screens WHERE case_id = $1 AND user_id = $2)",
    )
    .bind(case_id)
    .bind(&user_id)
    .fetch_one(&mut *tx)
    .await?;
    if screened {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "screened",
            "this person is screened from the matter (ethical wall) and cannot be added",
        ));
    }
    if role != Role::Owner {
        keep_an_owner(&mut tx, case_id, &user_id).await?;
    }
    sqlx::query(
        "INSERT INTO case_members (case_id, user_id, role, added_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (case_id, user_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(case_id)
    .bind(&user_id)
    .bind(role.as_str())
    .bind(&caller.user_id)
    .execute(&mut *tx)
    .await?;
    commit_audited(
        tx,
        &caller,
        case_id,
        "access_granted",
        json!({ "member": user_id, "role": role.as_str() }),
    )
    .await?;
    propagate(&state, case_id, &user_id, Some(role));
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/cases/{case}/members/{user}`
pub async fn delete_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((case_id, user_id)): Path<(Uuid, String)>,
) -> Result<StatusCode, ApiError> {
    require(&state, case_id, &caller, true).await?;
    let mut tx = state.pool.begin().await?;
    lock_case(&mut tx, case_id).await?;
    keep_an_owner(&mut tx, case_id, &user_id).await?;
    sqlx::query("DELETE FROM case_members WHERE case_id = $1 AND user_id = $2")
        .bind(case_id)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
    commit_audited(
        tx,
        &caller,
        case_id,
        "access_revoked",
        json!({ "member": user_id }),
    )
    .await?;
    propagate(&state, case_id, &user_id, None);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, sqlx::FromRow)]
pub struct Screen {
    user_id: String,
    reason: String,
    added_by: String,
    added_at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/v1/cases/{case}/screens` (owners and firm admins)
pub async fn screens(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(case_id): Path<Uuid>,
) -> Result<Json<Vec<Screen>>, ApiError> {
    require(&state, case_id, &caller, true).await?;
    let screens = sqlx::query_as::<_, Screen>(
        "SELECT user_id, reason, added_by, added_at FROM screens WHERE case_id = $1 ORDER BY added_at, user_id",
    )
    .bind(case_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(screens))
}

#[derive(Deserialize)]
pub struct AddScreen {
    #[serde(default)]
    reason: String,
}

/// `PUT /api/v1/cases/{case}/screens/{user}` `{"reason": "..."}`: wall a person off the matter.
/// Removes any membership and cuts their open connections off at once.
pub async fn put_screen(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((case_id, user_id)): Path<(Uuid, String)>,
    Json(body): Json<AddScreen>,
) -> Result<StatusCode, ApiError> {
    require(&state, case_id, &caller, true).await?;
    if user_id == caller.user_id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "self_screen",
            "you cannot screen yourself",
        ));
    }
    let mut tx = state.pool.begin().await?;
    lock_case(&mut tx, case_id).await?;
    keep_an_owner(&mut tx, case_id, &user_id).await?;
    sqlx::query(
        "INSERT INTO screens (case_id, user_id, reason, added_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (case_id, user_id) DO UPDATE SET reason = EXCLUDED.reason",
    )
    .bind(case_id)
    .bind(&user_id)
    .bind(&body.reason)
    .bind(&caller.user_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM case_members WHERE case_id = $1 AND user_id = $2")
        .bind(case_id)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
    commit_audited(
        tx,
        &caller,
        case_id,
        "screen_added",
        json!({ "screened": user_id }),
    )
    .await?;
    propagate(&state, case_id, &user_id, None);
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/cases/{case}/screens/{user}`: lift a wall (membership is not restored).
pub async fn delete_screen(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((case_id, user_id)): Path<(Uuid, String)>,
) -> Result<StatusCode, ApiError> {
    require(&state, case_id, &caller, true).await?;
    if user_id == caller.user_id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "self_screen",
            "nobody can lift a screen on themselves: ask another owner or a firm admin",
        ));
    }
    let mut tx = state.pool.begin().await?;
    sqlx::query("DELETE FROM screens WHERE case_id = $1 AND user_id = $2")
        .bind(case_id)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
    commit_audited(
        tx,
        &caller,
        case_id,
        "screen_removed",
        json!({ "screened": user_id }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    id: i64,
    user_id: Option<String>,
    action: String,
    detail: serde_json::Value,
    at: chrono::DateTime<chrono::Utc>,
}

/// `GET /api/v1/cases/{case}/audit` (owners and firm admins): newest first, at most 500.
pub async fn audit_log(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(case_id): Path<Uuid>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    require(&state, case_id, &caller, true).await?;
    let entries = sqlx::query_as::<_, AuditEntry>(
        "SELECT id, user_id, action, detail, at FROM audit_log WHERE case_id = $1 ORDER BY id DESC LIMIT 500",
    )
    .bind(case_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(entries))
}

/// Every REST route as (method, path); `docs/openapi.json` must describe exactly these (tested).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/cases"),
    ("GET", "/api/v1/cases/{case}/members"),
    ("PUT", "/api/v1/cases/{case}/members/{user}"),
    ("DELETE", "/api/v1/cases/{case}/members/{user}"),
    ("GET", "/api/v1/cases/{case}/screens"),
    ("PUT", "/api/v1/cases/{case}/screens/{user}"),
    ("DELETE", "/api/v1/cases/{case}/screens/{user}"),
    ("GET", "/api/v1/cases/{case}/audit"),
    ("GET", "/api/v1/directory"),
    ("GET", "/api/v1/stats"),
];

pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, put};
    axum::Router::new()
        .route("/api/v1/cases", get(my_cases))
        .route("/api/v1/cases/{case}/members", get(members))
        .route(
            "/api/v1/cases/{case}/members/{user}",
            put(put_member).delete(delete_member),
        )
        .route("/api/v1/cases/{case}/screens", get(screens))
        .route(
            "/api/v1/cases/{case}/screens/{user}",
            put(put_screen).delete(delete_screen),
        )
        .route("/api/v1/cases/{case}/audit", get(audit_log))
        .route("/api/v1/directory", get(crate::directory::search))
        .route("/api/v1/stats", get(crate::metrics::stats))
}
