//! REST `/api/v1` for what sync cannot express: my matters, members, screens (ethical walls),
//! legal holds, the audit log (a matter's, the firm's and its CSV export) and the firm directory (`crate::directory`). Every route takes
//! `Authorization: Bearer <token>`; errors are JSON `{code, message}` (`crate::http::ApiError`).
//! Another firm's matter, or one the caller may not see, is `404 not_found`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::access;
use crate::db;
use crate::db::access::{CaseSummary, FirmMatter, FirmScreen, Member, Screen};
use crate::db::audit::{AuditEntry, FirmAuditEntry};
use crate::error::Error;
use crate::firm_audit;
use crate::http::{ApiError, Caller, JsonBody};
use crate::role::Role;
use crate::state::AppState;

/// `GET /api/v1/cases`: the matters I belong to (never those I am screened from).
#[tracing::instrument(skip_all)]
pub async fn my_cases(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<CaseSummary>>, ApiError> {
    let cases = db::access::cases_of(&state.pool, &caller.firm_id, &caller.user_id).await?;
    Ok(Json(cases))
}

/// Who the caller is to the firm: what the app shows of the admin screens.
#[derive(serde::Serialize)]
pub struct Me {
    user_id: String,
    firm_id: String,
    firm_admin: bool,
    conflicts_officer: bool,
}

/// `GET /api/v1/me`: the caller's id, firm and firm roles (admin, conflicts/risk), as the
/// server reads them from the token.
#[tracing::instrument(skip_all)]
pub async fn me(Caller(caller): Caller) -> Json<Me> {
    Json(Me {
        firm_admin: access::is_firm_admin(&caller),
        conflicts_officer: caller.conflicts_officer,
        user_id: caller.user_id,
        firm_id: caller.firm_id,
    })
}

/// `GET /api/v1/cases/{case}/members`, with names from the firm directory of the matter's own
/// firm only: an id that belongs to someone of another firm shows no name.
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn members(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(case_id): Path<Uuid>,
) -> Result<Json<Vec<Member>>, ApiError> {
    access::require(&state.pool, case_id, &caller, false).await?;
    let members = db::access::members(&state.pool, case_id).await?;
    Ok(Json(members))
}

#[derive(Deserialize)]
pub struct SetRole {
    role: String,
}

/// Apply an access change to this instance's open connections at once. Every other instance
/// (and this one again) hears it from the database's own notice (`crate::access_watch`), which
/// cannot be lost the way a Redis message can.
fn propagate(state: &AppState, case_id: Uuid, user_id: &str, role: Option<Role>) {
    state.copilot.policy_changed();
    state.hub.set_access(case_id, user_id, role);
}

/// `PUT /api/v1/cases/{case}/members/{user}` `{"role": "owner"|"editor"|"commenter"|"viewer"}`
#[tracing::instrument(skip_all, fields(case = %case_id, member = %user_id))]
pub async fn put_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((case_id, user_id)): Path<(Uuid, String)>,
    JsonBody(body): JsonBody<SetRole>,
) -> Result<StatusCode, ApiError> {
    let role = Role::parse(&body.role).ok_or_else(|| Error::InvalidInput {
        code: "invalid_role",
        message: "role must be owner, editor, commenter or viewer".to_owned(),
    })?;
    access::set_member(&state.pool, &caller, case_id, &user_id, role).await?;
    propagate(&state, case_id, &user_id, Some(role));
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/cases/{case}/members/{user}`
#[tracing::instrument(skip_all, fields(case = %case_id, member = %user_id))]
pub async fn delete_member(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((case_id, user_id)): Path<(Uuid, String)>,
) -> Result<StatusCode, ApiError> {
    access::remove_member(&state.pool, &caller, case_id, &user_id).await?;
    propagate(&state, case_id, &user_id, None);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/screens` (firm admins and the conflicts/risk role): every wall in the firm.
#[tracing::instrument(skip_all)]
pub async fn firm_screens(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<FirmScreen>>, ApiError> {
    Ok(Json(access::firm_screens(&state.pool, &caller).await?))
}

/// `GET /api/v1/matters` (firm admins and the conflicts/risk role): every matter of the firm.
#[tracing::instrument(skip_all)]
pub async fn firm_matters(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<FirmMatter>>, ApiError> {
    Ok(Json(access::firm_matters(&state.pool, &caller).await?))
}

/// `GET /api/v1/cases/{case}/screens` (owners, firm admins and the conflicts/risk role)
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn screens(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(case_id): Path<Uuid>,
) -> Result<Json<Vec<Screen>>, ApiError> {
    access::require_walls(&state.pool, case_id, &caller).await?;
    let screens = db::access::screens(&state.pool, case_id).await?;
    Ok(Json(screens))
}

#[derive(Deserialize)]
pub struct AddScreen {
    #[serde(default)]
    reason: String,
}

/// `PUT /api/v1/cases/{case}/screens/{user}` `{"reason": "..."}`: wall a person off the matter.
/// Removes any membership and cuts their open connections off at once.
#[tracing::instrument(skip_all, fields(case = %case_id, screened = %user_id))]
pub async fn put_screen(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((case_id, user_id)): Path<(Uuid, String)>,
    JsonBody(body): JsonBody<AddScreen>,
) -> Result<StatusCode, ApiError> {
    access::add_screen(&state.pool, &caller, case_id, &user_id, &body.reason).await?;
    propagate(&state, case_id, &user_id, None);
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/cases/{case}/screens/{user}`: lift a wall (membership is not restored).
#[tracing::instrument(skip_all, fields(case = %case_id, screened = %user_id))]
pub async fn delete_screen(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((case_id, user_id)): Path<(Uuid, String)>,
) -> Result<StatusCode, ApiError> {
    access::lift_screen(&state.pool, &caller, case_id, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/cases/{case}/audit` (owners and firm admins): newest first, at most 500.
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn audit_log(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(case_id): Path<Uuid>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    access::require(&state.pool, case_id, &caller, true).await?;
    let entries = db::audit::case_log(&state.pool, case_id).await?;
    Ok(Json(entries))
}

/// `POST /api/v1/conflicts/check` `{"client": "...", "adverse": [...], "related": [...]}`: possible
/// conflicts of interest with the firm's matters, ranked; hits on matters the caller may not read
/// say only that a possible conflict exists and whom to ask. Stored and audited.
#[tracing::instrument(skip_all)]
pub async fn check_conflicts(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(request): JsonBody<crate::conflicts::CheckRequest>,
) -> Result<Json<crate::conflicts::CheckResult>, ApiError> {
    let result = crate::conflicts::check(&state.pool, &state.parties, &caller, &request).await?;
    Ok(Json(result))
}

#[derive(Deserialize)]
pub struct HoldChange {
    #[serde(default)]
    reason: String,
}

/// `PUT /api/v1/cases/{case}/hold` `{"reason": "..."}` (firm admins): place a legal hold.
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn put_hold(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(case_id): Path<Uuid>,
    JsonBody(body): JsonBody<HoldChange>,
) -> Result<StatusCode, ApiError> {
    crate::hold::place(&state.pool, &caller, case_id, &body.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/cases/{case}/hold` `{"reason": "..."}` (firm admins): lift the hold.
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn delete_hold(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(case_id): Path<Uuid>,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    // A DELETE body is optional to HTTP clients: none is a hold lifted without a reason,
    // which the domain refuses with a message that says what to send.
    let body: HoldChange = if body.is_empty() {
        HoldChange {
            reason: String::new(),
        }
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "send {\"reason\": \"why the hold is lifted\"}",
            )
        })?
    };
    crate::hold::lift(&state.pool, &caller, case_id, &body.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/audit?case=&actor=&action=&from=&to=&limit=&before=`: the firm's audit log
/// (firm admins; a matter's owners with `case`), newest first.
#[tracing::instrument(skip_all)]
pub async fn firm_audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(filters): Query<firm_audit::Filters>,
) -> Result<Json<Vec<FirmAuditEntry>>, ApiError> {
    let query = filters.parse(firm_audit::MAX_PAGE, firm_audit::DEFAULT_LIMIT)?;
    Ok(Json(
        firm_audit::entries(&state.pool, &caller, &query).await?,
    ))
}

/// `GET /api/v1/audit.csv` (same filters; up to 50,000 rows): the firm's audit log as CSV.
#[tracing::instrument(skip_all)]
pub async fn firm_audit_csv(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(filters): Query<firm_audit::Filters>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let query = filters.parse(firm_audit::MAX_EXPORT, firm_audit::MAX_EXPORT)?;
    let csv = firm_audit::export(&state.pool, &caller, &query).await?;
    let headers = [
        (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
        (
            axum::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"audit.csv\"",
        ),
    ];
    Ok((headers, csv))
}

/// Every REST route as (method, path); `docs/openapi.json` must describe exactly these (tested).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/cases"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/cases/{case}/members"),
    ("PUT", "/api/v1/cases/{case}/members/{user}"),
    ("DELETE", "/api/v1/cases/{case}/members/{user}"),
    ("GET", "/api/v1/cases/{case}/screens"),
    ("PUT", "/api/v1/cases/{case}/screens/{user}"),
    ("DELETE", "/api/v1/cases/{case}/screens/{user}"),
    ("GET", "/api/v1/cases/{case}/audit"),
    ("POST", "/api/v1/conflicts/check"),
    ("PUT", "/api/v1/cases/{case}/hold"),
    ("DELETE", "/api/v1/cases/{case}/hold"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/audit.csv"),
    ("GET", "/api/v1/screens"),
    ("GET", "/api/v1/matters"),
    ("GET", "/api/v1/directory"),
    ("GET", "/api/v1/stats"),
];

pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post, put};
    axum::Router::new()
        .route("/api/v1/cases", get(my_cases))
        .route("/api/v1/me", get(me))
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
        .route("/api/v1/conflicts/check", post(check_conflicts))
        .route(
            "/api/v1/cases/{case}/hold",
            put(put_hold).delete(delete_hold),
        )
        .route("/api/v1/audit", get(firm_audit))
        .route("/api/v1/audit.csv", get(firm_audit_csv))
        .route("/api/v1/screens", get(firm_screens))
        .route("/api/v1/matters", get(firm_matters))
        .route("/api/v1/directory", get(crate::directory::search))
        .route("/api/v1/stats", get(crate::metrics::stats))
}
