//! Accounting for every copilot call: one `copilot_usage` row per call that reached the model
//! (who, which matter, model, tokens, latency, outcome; the text only when the firm opted in),
//! Prometheus series, and the firm admins' report.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

/// Series names (Prometheus). Labels: `outcome` (ok, cancelled, error, refused), `kind`
/// (prompt, completion), `code` (the error or refusal code the client saw).
pub const CALLS: &str = crate::metrics::name::COPILOT_CALLS;
pub const TOKENS: &str = crate::metrics::name::COPILOT_TOKENS;
pub const ERRORS: &str = crate::metrics::name::COPILOT_ERRORS;
/// A histogram (the recorder gives `*_seconds` series the latency buckets).
pub const LATENCY: &str = "hub_copilot_latency_seconds";

/// How a call that reached the model ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The client went away or pressed Stop.
    Cancelled,
    Error(&'static str),
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Cancelled => "cancelled",
            Outcome::Error(_) => "error",
        }
    }

    pub fn error_code(self) -> Option<&'static str> {
        match self {
            Outcome::Error(code) => Some(code),
            _ => None,
        }
    }
}

/// One call, as stored.
pub struct CallRecord {
    pub firm_id: String,
    pub user_id: String,
    pub case_id: Uuid,
    pub action: &'static str,
    pub model: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub tokens_estimated: bool,
    pub latency: Duration,
    pub first_token: Option<Duration>,
    pub outcome: Outcome,
    /// Only when the firm keeps content.
    pub prompt_text: Option<String>,
    pub answer_text: Option<String>,
}

/// Store the call and count it. A failed insert is logged, never lost silently, and never
/// fails the answer the lawyer already has.
pub async fn record(pool: &PgPool, call: CallRecord) {
    count_call(&call);
    let inserted = sqlx::query(
        "INSERT INTO copilot_usage (firm_id, user_id, case_id, action, model, prompt_tokens,
             completion_tokens, tokens_estimated, latency_ms, first_token_ms, outcome, error_code,
             prompt_text, answer_text)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&call.firm_id)
    .bind(&call.user_id)
    .bind(call.case_id)
    .bind(call.action)
    .bind(&call.model)
    .bind(call.prompt_tokens)
    .bind(call.completion_tokens)
    .bind(call.tokens_estimated)
    .bind(millis(call.latency))
    .bind(call.first_token.map(millis))
    .bind(call.outcome.as_str())
    .bind(call.outcome.error_code())
    .bind(&call.prompt_text)
    .bind(&call.answer_text)
    .execute(pool)
    .await;
    if let Err(error) = inserted {
        tracing::error!(
            %error,
            user = call.user_id,
            case = %call.case_id,
            prompt_tokens = call.prompt_tokens,
            completion_tokens = call.completion_tokens,
            "could not record copilot usage"
        );
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn count_call(call: &CallRecord) {
    metrics::counter!(CALLS, "outcome" => call.outcome.as_str()).increment(1);
    metrics::counter!(TOKENS, "kind" => "prompt").increment(call.prompt_tokens.max(0) as u64);
    metrics::counter!(TOKENS, "kind" => "completion")
        .increment(call.completion_tokens.max(0) as u64);
    metrics::histogram!(LATENCY).record(call.latency.as_secs_f64());
    if let Some(code) = call.outcome.error_code() {
        metrics::counter!(ERRORS, "code" => code).increment(1);
    }
}

/// A request refused before reaching the model (policy, limits, bad input).
pub fn count_refusal(code: &'static str) {
    metrics::counter!(CALLS, "outcome" => "refused").increment(1);
    metrics::counter!(ERRORS, "code" => code).increment(1);
}

/// Filters of `GET /api/v1/copilot/usage`.
#[derive(Debug, Deserialize)]
pub struct UsageQuery {
    /// RFC 3339; default: the start of this month (UTC).
    pub since: Option<DateTime<Utc>>,
    /// RFC 3339; default: now.
    pub until: Option<DateTime<Utc>>,
    pub user: Option<String>,
    pub case: Option<Uuid>,
    /// Most calls listed (newest first), default 100, at most 1000. Totals count them all.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct UsageTotals {
    pub calls: i64,
    pub ok: i64,
    pub cancelled: i64,
    pub errors: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct UserUsage {
    pub user_id: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct UsageCall {
    pub id: i64,
    pub user_id: String,
    pub case_id: Uuid,
    pub action: String,
    pub model: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub tokens_estimated: bool,
    pub latency_ms: i64,
    pub first_token_ms: Option<i64>,
    pub outcome: String,
    pub error_code: Option<String>,
    /// Present only for calls made while the firm kept content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_text: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct UsageReport {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub totals: UsageTotals,
    pub by_user: Vec<UserUsage>,
    pub calls: Vec<UsageCall>,
}

/// The rows a report covers. Rows of matters the reader (`$6`) is screened from are left out
/// entirely: an ethical wall holds against administrators too.
const FILTER: &str = "firm_id = $1 AND at >= $2 AND at < $3
    AND ($4::TEXT IS NULL OR user_id = $4) AND ($5::UUID IS NULL OR case_id = $5)
    AND NOT EXISTS (SELECT 1 FROM screens s WHERE s.case_id = copilot_usage.case_id AND s.user_id = $6)";

/// The report for a firm admin (`reader`).
pub async fn report(
    pool: &PgPool,
    firm_id: &str,
    reader: &str,
    query: &UsageQuery,
) -> Result<UsageReport, sqlx::Error> {
    let (month_start, _) = crate::copilot::policy::quota_period(Utc::now());
    let since = query.since.unwrap_or(month_start);
    let until = query.until.unwrap_or_else(Utc::now);
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let totals = sqlx::query_as::<_, UsageTotals>(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) AS calls,
                count(*) FILTER (WHERE outcome = 'ok') AS ok,
                count(*) FILTER (WHERE outcome = 'cancelled') AS cancelled,
                count(*) FILTER (WHERE outcome = 'error') AS errors,
                COALESCE(SUM(prompt_tokens), 0)::BIGINT AS prompt_tokens,
                COALESCE(SUM(completion_tokens), 0)::BIGINT AS completion_tokens
         FROM copilot_usage WHERE {FILTER}"
    )))
    .bind(firm_id)
    .bind(since)
    .bind(until)
    .bind(&query.user)
    .bind(query.case)
    .bind(reader)
    .fetch_one(pool)
    .await?;
    let by_user = sqlx::query_as::<_, UserUsage>(sqlx::AssertSqlSafe(format!(
        "SELECT user_id, count(*) AS calls,
                COALESCE(SUM(prompt_tokens), 0)::BIGINT AS prompt_tokens,
                COALESCE(SUM(completion_tokens), 0)::BIGINT AS completion_tokens
         FROM copilot_usage WHERE {FILTER}
         GROUP BY user_id ORDER BY SUM(prompt_tokens + completion_tokens) DESC, user_id"
    )))
    .bind(firm_id)
    .bind(since)
    .bind(until)
    .bind(&query.user)
    .bind(query.case)
    .bind(reader)
    .fetch_all(pool)
    .await?;
    let calls = sqlx::query_as::<_, UsageCall>(sqlx::AssertSqlSafe(format!(
        "SELECT id, user_id, case_id, action, model, prompt_tokens, completion_tokens,
                tokens_estimated, latency_ms, first_token_ms, outcome, error_code,
                prompt_text, answer_text, at
         FROM copilot_usage WHERE {FILTER}
         ORDER BY id DESC LIMIT $7"
    )))
    .bind(firm_id)
    .bind(since)
    .bind(until)
    .bind(&query.user)
    .bind(query.case)
    .bind(reader)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(UsageReport {
        since,
        until,
        totals,
        by_user,
        calls,
    })
}
