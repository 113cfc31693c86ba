//! The AI copilot proxy: `POST /api/v1/copilot/chat` streams a model's answer as Server-Sent
//! Events; the server holds the key, checks policy first, and accounts for every call. Also
//! the policy switches (firm, matter consent), the availability check the app asks before
//! showing the panel, and the admins' usage report. Contract: docs/openapi.json and the
//! README's "AI copilot" section.
//!
//! A refusal before the answer starts is a plain JSON error (`{code, message}`, with
//! `retry_after_secs` and `Retry-After` on 429). Once the response is `200 text/event-stream`
//! it carries `start`, then `delta`s, then exactly one `done` or `error`, unless the client
//! stops reading (Stop), which cancels the model call at once.

pub mod config;
pub mod policy;
pub mod policy_cache;
pub mod prompts;
pub mod upstream;
pub mod usage;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::access::is_firm_admin;
use crate::db;
use crate::db::copilot::FirmPolicy;
use crate::error::Error;
use crate::http::{ApiError, Caller, JsonBody, VerifiedCaller};
use crate::state::AppState;
use config::CopilotSettings;
use policy::{Availability, Quota, RateLimiter, StreamPermit};
use policy_cache::PolicyCache;
use prompts::{Action, Prompt};
use upstream::{Deltas, Progress, Stop, Upstream};
use usage::{CallRecord, Outcome, UsageQuery, UsageReport};

/// Most characters of an instruction ("more formal", "as an indemnity clause", …).
pub const MAX_INSTRUCTION_CHARS: usize = 2_000;

/// The copilot's shared parts: settings, the model client, the per-user limiter.
pub struct Copilot {
    settings: CopilotSettings,
    upstream: Upstream,
    limiter: Arc<RateLimiter>,
    cache: Arc<PolicyCache>,
}

impl Copilot {
    pub fn new(settings: &CopilotSettings) -> Self {
        Self {
            settings: settings.clone(),
            upstream: Upstream::new(settings),
            limiter: RateLimiter::new(settings.rate_per_minute, settings.max_concurrent),
            cache: Arc::new(PolicyCache::default()),
        }
    }

    /// The allowed checks kept in memory (see [`crate::copilot::policy_cache`]).
    pub fn cache(&self) -> &Arc<PolicyCache> {
        &self.cache
    }

    /// Something that could take the copilot away changed here: the next request reads afresh.
    pub fn policy_changed(&self) {
        self.cache.invalidate();
    }

    pub fn settings(&self) -> &CopilotSettings {
        &self.settings
    }
}

/// Every copilot route as (method, path); `docs/openapi.json` describes them (tested).
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/copilot/chat"),
    ("GET", "/api/v1/copilot/policy"),
    ("PUT", "/api/v1/copilot/policy"),
    ("GET", "/api/v1/copilot/usage"),
    ("GET", "/api/v1/copilot/usage.csv"),
    ("GET", "/api/v1/cases/{case}/copilot"),
    ("PUT", "/api/v1/cases/{case}/ai-consent"),
];

pub fn routes(settings: &CopilotSettings) -> axum::Router<AppState> {
    use axum::routing::{get, post, put};
    // Room for the longest text allowed (4 bytes a character, escaped) and the instruction.
    let body_limit = settings.max_input_chars.saturating_mul(6) + 64 * 1024;
    axum::Router::new()
        .route(
            "/api/v1/copilot/chat",
            post(chat).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/api/v1/copilot/policy", get(get_policy).put(put_policy))
        .route("/api/v1/copilot/usage", get(usage))
        .route("/api/v1/copilot/usage.csv", get(usage_csv))
        .route("/api/v1/cases/{case}/copilot", get(availability))
        .route("/api/v1/cases/{case}/ai-consent", put(put_consent))
}

/// Count a refusal by its code, then pass it on.
fn refused(error: ApiError) -> ApiError {
    usage::count_refusal(error.code());
    error
}

#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub case_id: Uuid,
    pub action: Action,
    /// The draft (summarize, review_risks; context for draft_clause) or the selection (redraft).
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub instruction: Option<String>,
}

impl ChatRequest {
    fn validate(&self, settings: &CopilotSettings) -> Result<(), ApiError> {
        let chars = self.text.chars().count();
        if chars > settings.max_input_chars {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "The text is too long for the copilot ({chars} characters; at most {}). \
                     Select a shorter part of the draft.",
                    settings.max_input_chars
                ),
            ));
        }
        let instruction = self.instruction.as_deref().unwrap_or("").trim();
        if instruction.chars().count() > MAX_INSTRUCTION_CHARS {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "The instruction is too long (at most {MAX_INSTRUCTION_CHARS} characters)."
                ),
            ));
        }
        if self.action.needs_text() && self.text.trim().is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "There is no text to work on: select some text or write the draft first.",
            ));
        }
        if self.action.needs_instruction() && instruction.is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Say what the clause should do, e.g. \"a mutual indemnity for IP claims\".",
            ));
        }
        Ok(())
    }
}

/// `POST /api/v1/copilot/chat`: the answer as Server-Sent Events.
#[tracing::instrument(skip_all)]
pub async fn chat(
    State(state): State<AppState>,
    VerifiedCaller(caller): VerifiedCaller,
    request: Result<JsonBody<ChatRequest>, ApiError>,
) -> Result<Response, ApiError> {
    let copilot = state.copilot.clone();
    let JsonBody(request) = request.map_err(refused)?;
    request.validate(&copilot.settings).map_err(refused)?;
    let allowed = policy::check(
        &state.pool,
        copilot.cache(),
        &copilot.settings,
        &caller,
        request.case_id,
    )
    .await
    .map_err(|error| refused(error.into()))?;
    let permit = copilot
        .limiter
        .acquire(&caller.user_id)
        .map_err(|refusal| refused(Error::from(refusal).into()))?;
    let instruction = request.instruction.as_deref().unwrap_or("").trim();
    let prompt = prompts::build(request.action, &request.text, instruction).map_err(|error| {
        tracing::error!(%error, "copilot prompt template is broken");
        refused(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "something went wrong; try again",
        ))
    })?;
    let call = Call {
        request_id: Uuid::new_v4(),
        firm_id: caller.firm_id,
        user_id: caller.user_id,
        case_id: request.case_id,
        action: request.action,
        prompt,
        policy: allowed.policy,
        quota: allowed.quota,
    };
    tracing::info!(
        request_id = %call.request_id,
        case = %call.case_id,
        action = call.action.as_str(),
        "copilot answer starts"
    );
    let (events, receiver) = mpsc::channel::<Event>(64);
    tokio::spawn(async move { run(&state, &copilot, call, permit, events).await });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|event| (Ok::<_, Infallible>(event), receiver))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

struct Call {
    request_id: Uuid,
    firm_id: String,
    user_id: String,
    case_id: Uuid,
    action: Action,
    prompt: Prompt,
    policy: FirmPolicy,
    quota: Quota,
}

impl Deltas for mpsc::Sender<Event> {
    async fn send_text(&self, text: String) -> bool {
        self.send(sse("delta", &json!({ "text": text })))
            .await
            .is_ok()
    }
}

fn sse(name: &str, data: &serde_json::Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

/// Roughly four characters a token: for calls the endpoint reported no usage for.
fn estimate_tokens(chars: usize) -> i64 {
    i64::try_from(chars.div_ceil(4)).unwrap_or(i64::MAX)
}

/// One answer, from the model to the client, then its accounting. Ends as soon as the client
/// stops reading: the model call is dropped with it.
async fn run(
    state: &AppState,
    copilot: &Copilot,
    call: Call,
    permit: StreamPermit,
    events: mpsc::Sender<Event>,
) {
    let started = tokio::time::Instant::now();
    let model = copilot.upstream.model().to_owned();
    let _ = events
        .send(sse(
            "start",
            &json!({
                "request_id": call.request_id,
                "model": model,
                "action": call.action.as_str(),
            }),
        ))
        .await;
    let mut progress = Progress::default();
    let result = {
        let answering = copilot
            .upstream
            .answer(&call.prompt, &mut progress, &events);
        tokio::select! {
            biased;
            () = events.closed() => Err(Stop::Cancelled),
            result = answering => result,
        }
    };
    let latency = started.elapsed();
    // The user's slot is free as soon as the model call is over.
    drop(permit);
    let (prompt_tokens, completion_tokens, estimated) = match &progress.usage {
        Some(usage) => (
            i64::from(usage.prompt_tokens),
            i64::from(usage.completion_tokens),
            false,
        ),
        None => (
            estimate_tokens(call.prompt.chars()),
            estimate_tokens(progress.answer.chars().count()),
            true,
        ),
    };
    let outcome = match result {
        Ok(()) => Outcome::Ok,
        Err(Stop::Cancelled) => Outcome::Cancelled,
        Err(Stop::Failed(failure)) => Outcome::Error(failure.code()),
    };
    tracing::info!(
        request_id = %call.request_id,
        outcome = outcome.as_str(),
        code = outcome.error_code(),
        attempts = progress.attempts,
        prompt_tokens,
        completion_tokens,
        latency_ms = latency.as_millis() as u64,
        "copilot answer ended"
    );
    // The lawyer gets the end of the answer first; the accounting follows.
    let last = match result {
        Ok(()) => Some(sse(
            "done",
            &json!({
                "finish_reason": progress.finish_reason,
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                    "estimated": estimated,
                },
                "latency_ms": latency.as_millis() as u64,
                "first_token_ms": progress.first_token.map(|first| first.as_millis() as u64),
                "quota": {
                    "used_tokens": call.quota.used_tokens + prompt_tokens + completion_tokens,
                    "monthly_tokens": call.quota.monthly_tokens,
                },
            }),
        )),
        Err(Stop::Failed(failure)) => Some(sse(
            "error",
            &json!({
                "code": failure.code(),
                "message": failure.message(),
                "retryable": failure.retryable(),
            }),
        )),
        Err(Stop::Cancelled) => None,
    };
    if let Some(last) = last {
        let _ = events.send(last).await;
    }
    // Ends the response: the client need not wait for the accounting.
    drop(events);
    let keep = call.policy.store_content;
    // Counted in what this instance keeps before the row is written, so the next check here
    // never misses it (an unwritten row is logged; the quota errs on the safe side).
    copilot.cache.add_tokens(
        &call.firm_id,
        &call.user_id,
        prompt_tokens.saturating_add(completion_tokens),
    );
    usage::record(
        &state.pool,
        CallRecord {
            firm_id: call.firm_id,
            user_id: call.user_id,
            case_id: call.case_id,
            action: call.action.as_str(),
            model,
            prompt_tokens,
            completion_tokens,
            tokens_estimated: estimated,
            latency,
            first_token: progress.first_token,
            outcome,
            prompt_text: keep.then(|| call.prompt.user.clone()),
            answer_text: keep.then(|| progress.answer.clone()),
        },
    )
    .await;
}

/// `GET /api/v1/cases/{case}/copilot`: may I use the copilot on this matter, and if not, why.
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn availability(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(case_id): Path<Uuid>,
) -> Result<Json<Availability>, ApiError> {
    let copilot = &state.copilot;
    let availability = policy::availability(
        &state.pool,
        copilot.cache(),
        &copilot.settings,
        &caller,
        case_id,
    )
    .await?;
    Ok(Json(availability))
}

#[derive(Debug, Serialize)]
pub struct PolicyView {
    /// The firm's switch.
    pub enabled: bool,
    /// Whether prompt and answer text are kept in the usage log.
    pub store_content: bool,
    /// The firm's own monthly tokens per user (null: the server's default).
    pub monthly_token_quota: Option<i64>,
    /// What applies: the firm's number or the server's default.
    pub effective_monthly_tokens: i64,
    /// Whether this server has a model endpoint configured.
    pub configured: bool,
    pub model: String,
    pub rate_per_minute: u32,
    pub max_concurrent: u32,
    pub max_input_chars: usize,
}

fn policy_view(settings: &CopilotSettings, policy: FirmPolicy) -> PolicyView {
    PolicyView {
        enabled: policy.enabled,
        store_content: policy.store_content,
        monthly_token_quota: policy.monthly_token_quota,
        effective_monthly_tokens: policy
            .monthly_token_quota
            .unwrap_or(settings.monthly_tokens),
        configured: settings.configured(),
        model: settings.model.clone(),
        rate_per_minute: settings.rate_per_minute,
        max_concurrent: settings.max_concurrent,
        max_input_chars: settings.max_input_chars,
    }
}

/// `GET /api/v1/copilot/policy`: the firm's copilot policy (any member of the firm).
#[tracing::instrument(skip_all)]
pub async fn get_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<PolicyView>, ApiError> {
    let policy = db::copilot::firm_policy(&state.pool, &caller.firm_id).await?;
    Ok(Json(policy_view(&state.copilot.settings, policy)))
}

/// Absent → `None` (keep), `null` → `Some(None)` (clear), a value → `Some(Some(value))`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize)]
pub struct PolicyChange {
    pub enabled: Option<bool>,
    pub store_content: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub monthly_token_quota: Option<Option<i64>>,
}

/// `PUT /api/v1/copilot/policy` (firm admins): change the fields given; audited.
#[tracing::instrument(skip_all)]
pub async fn put_policy(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(change): JsonBody<PolicyChange>,
) -> Result<Json<PolicyView>, ApiError> {
    if !is_firm_admin(&caller) {
        return Err(ApiError::forbidden(
            "only firm administrators can change the copilot policy",
        ));
    }
    if let Some(Some(quota)) = change.monthly_token_quota
        && quota < 0
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "monthly_token_quota cannot be negative (null: the server's default)",
        ));
    }
    let after = policy::change_firm_policy(
        &state.pool,
        &caller,
        change.enabled,
        change.store_content,
        change.monthly_token_quota,
    )
    .await?;
    state.copilot.policy_changed();
    Ok(Json(policy_view(&state.copilot.settings, after)))
}

#[derive(Debug, Deserialize)]
pub struct ConsentChange {
    pub consented: bool,
    /// How and when the client consented (e.g. "engagement letter of 3 March, clause 12").
    #[serde(default)]
    pub note: String,
}

/// `PUT /api/v1/cases/{case}/ai-consent` (the matter's owners, firm admins): record whether the
/// client consented to AI use on this matter; audited.
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn put_consent(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(case_id): Path<Uuid>,
    JsonBody(change): JsonBody<ConsentChange>,
) -> Result<StatusCode, ApiError> {
    crate::access::require(&state.pool, case_id, &caller, true).await?;
    if change.note.chars().count() > MAX_INSTRUCTION_CHARS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the note is too long (at most {MAX_INSTRUCTION_CHARS} characters)"),
        ));
    }
    policy::record_consent(
        &state.pool,
        &caller,
        case_id,
        change.consented,
        &change.note,
    )
    .await?;
    state.copilot.policy_changed();
    Ok(StatusCode::NO_CONTENT)
}

/// The usage filters of a firm admin's request.
fn usage_query(
    caller: &crate::auth::Principal,
    query: Result<Query<UsageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<UsageQuery, ApiError> {
    if !is_firm_admin(caller) {
        return Err(ApiError::forbidden(
            "only firm administrators can see copilot usage",
        ));
    }
    let Query(query) = query.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            rejection.body_text(),
        )
    })?;
    Ok(query)
}

/// `GET /api/v1/copilot/usage` (firm admins): totals, per user, matter and month, and the
/// latest calls.
#[tracing::instrument(skip_all)]
pub async fn usage(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<UsageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<UsageReport>, ApiError> {
    let query = usage_query(&caller, query)?;
    Ok(Json(
        usage::report(&state.pool, &caller.firm_id, &caller.user_id, &query).await?,
    ))
}

/// `GET /api/v1/copilot/usage.csv` (firm admins): the same rows as CSV, one line per month,
/// person and matter.
#[tracing::instrument(skip_all)]
pub async fn usage_csv(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<UsageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let query = usage_query(&caller, query)?;
    let csv = usage::report_csv(&state.pool, &caller.firm_id, &caller.user_id, &query).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"copilot-usage.csv\"",
            ),
        ],
        csv,
    ))
}
