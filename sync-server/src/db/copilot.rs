//! The copilot's tables: the firm policy, matter consent, and usage (one row per call that
//! reached the model).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// The firm's copilot settings (no row: off, nothing stored, the server's quota).
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct FirmPolicy {
    pub enabled: bool,
    pub store_content: bool,
    pub monthly_token_quota: Option<i64>,
}

#[tracing::instrument(level = "debug", skip_all, fields(firm = firm_id))]
pub async fn firm_policy(
    executor: impl sqlx::PgExecutor<'_>,
    firm_id: &str,
) -> Result<FirmPolicy, sqlx::Error> {
    Ok(sqlx::query_as::<_, FirmPolicy>(
        "SELECT enabled, store_content, monthly_token_quota FROM copilot_firm_policy WHERE firm_id = $1",
    )
    .bind(firm_id)
    .fetch_optional(executor)
    .await?
    .unwrap_or_default())
}

#[tracing::instrument(level = "debug", skip_all, fields(firm = firm_id))]
pub async fn save_firm_policy(
    executor: impl sqlx::PgExecutor<'_>,
    firm_id: &str,
    policy: &FirmPolicy,
    by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO copilot_firm_policy (firm_id, enabled, store_content, monthly_token_quota, updated_by)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (firm_id) DO UPDATE SET enabled = EXCLUDED.enabled,
             store_content = EXCLUDED.store_content,
             monthly_token_quota = EXCLUDED.monthly_token_quota,
             updated_by = EXCLUDED.updated_by, updated_at = now()",
    )
    .bind(firm_id)
    .bind(policy.enabled)
    .bind(policy.store_content)
    .bind(policy.monthly_token_quota)
    .bind(by)
    .execute(executor)
    .await?;
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn case_consented(pool: &PgPool, case_id: Uuid) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query_scalar::<_, bool>("SELECT consented FROM case_ai_consent WHERE case_id = $1")
            .bind(case_id)
            .fetch_optional(pool)
            .await?
            .unwrap_or(false),
    )
}

#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn save_case_consent(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    consented: bool,
    note: &str,
    by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_ai_consent (case_id, consented, note, set_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (case_id) DO UPDATE SET consented = EXCLUDED.consented, note = EXCLUDED.note,
             set_by = EXCLUDED.set_by, set_at = now()",
    )
    .bind(case_id)
    .bind(consented)
    .bind(note)
    .bind(by)
    .execute(executor)
    .await?;
    Ok(())
}

/// Tokens a user has used in the firm since `start`.
#[tracing::instrument(level = "debug", skip_all, fields(firm = firm_id))]
pub async fn tokens_used_since(
    pool: &PgPool,
    firm_id: &str,
    user_id: &str,
    start: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0)::BIGINT FROM copilot_usage
         WHERE firm_id = $1 AND user_id = $2 AND at >= $3",
    )
    .bind(firm_id)
    .bind(user_id)
    .bind(start)
    .fetch_one(pool)
    .await
}

/// Everything `check` needs, read in one round trip.
#[derive(sqlx::FromRow)]
pub struct StandingRow {
    pub case_firm: Option<String>,
    pub role: Option<String>,
    pub screened: bool,
    pub enabled: bool,
    pub store_content: bool,
    pub monthly_token_quota: Option<i64>,
    pub consented: bool,
    pub used_tokens: i64,
}

/// Where `user_id` stands for the copilot on a matter, read in one round trip.
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn standing(
    pool: &PgPool,
    case_id: Uuid,
    user_id: &str,
    firm_id: &str,
    month_start: DateTime<Utc>,
) -> Result<StandingRow, sqlx::Error> {
    sqlx::query_as::<_, StandingRow>(
        "SELECT (SELECT firm_id FROM cases WHERE id = $1) AS case_firm,
                (SELECT role FROM case_members WHERE case_id = $1 AND user_id = $2) AS role,
                EXISTS (SELECT 1 FROM screens WHERE case_id = $1 AND user_id = $2) AS screened,
                COALESCE(p.enabled, false) AS enabled,
                COALESCE(p.store_content, false) AS store_content,
                p.monthly_token_quota,
                COALESCE((SELECT consented FROM case_ai_consent WHERE case_id = $1), false)
                    AS consented,
                (SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0)::BIGINT
                 FROM copilot_usage WHERE firm_id = $3 AND user_id = $2 AND at >= $4)
                    AS used_tokens
         FROM (SELECT 1) AS one
         LEFT JOIN copilot_firm_policy p ON p.firm_id = $3",
    )
    .bind(case_id)
    .bind(user_id)
    .bind(firm_id)
    .bind(month_start)
    .fetch_one(pool)
    .await
}

/// One call that reached the model, as stored.
pub struct UsageRow<'a> {
    pub firm_id: &'a str,
    pub user_id: &'a str,
    pub case_id: Uuid,
    pub action: &'a str,
    pub model: &'a str,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub tokens_estimated: bool,
    pub latency_ms: i64,
    pub first_token_ms: Option<i64>,
    pub outcome: &'a str,
    pub error_code: Option<&'a str>,
    /// Only when the firm keeps content.
    pub prompt_text: Option<&'a str>,
    pub answer_text: Option<&'a str>,
}

#[tracing::instrument(level = "debug", skip_all, fields(case = %row.case_id))]
pub async fn insert_usage(pool: &PgPool, row: &UsageRow<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO copilot_usage (firm_id, user_id, case_id, action, model, prompt_tokens,
             completion_tokens, tokens_estimated, latency_ms, first_token_ms, outcome, error_code,
             prompt_text, answer_text)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(row.firm_id)
    .bind(row.user_id)
    .bind(row.case_id)
    .bind(row.action)
    .bind(row.model)
    .bind(row.prompt_tokens)
    .bind(row.completion_tokens)
    .bind(row.tokens_estimated)
    .bind(row.latency_ms)
    .bind(row.first_token_ms)
    .bind(row.outcome)
    .bind(row.error_code)
    .bind(row.prompt_text)
    .bind(row.answer_text)
    .execute(pool)
    .await?;
    Ok(())
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
pub struct CaseUsage {
    pub case_id: Uuid,
    /// The matter's title as the server last read it (absent for a matter never titled).
    pub title: Option<String>,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct MonthUsage {
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// One line of the CSV export: a month, a person and a matter.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct UsageLine {
    pub month: String,
    pub user_id: String,
    pub user_name: Option<String>,
    pub case_id: Uuid,
    pub case_title: Option<String>,
    pub calls: i64,
    pub errors: i64,
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

/// The rows a report covers. Rows of matters the reader (`$6`) is screened from are left out
/// entirely: an ethical wall holds against administrators too.
const FILTER: &str = "firm_id = $1 AND at >= $2 AND at < $3
    AND ($4::TEXT IS NULL OR user_id = $4) AND ($5::UUID IS NULL OR case_id = $5)
    AND NOT EXISTS (SELECT 1 FROM screens s WHERE s.case_id = copilot_usage.case_id AND s.user_id = $6)";

/// Which usage rows a report covers (`reader`: the firm admin asking).
pub struct UsageFilter<'a> {
    pub firm_id: &'a str,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub user: Option<&'a str>,
    pub case: Option<Uuid>,
    pub reader: &'a str,
}

impl UsageFilter<'_> {
    /// Bind `$1`–`$6` of [`FILTER`], in its order.
    fn bind<'q, O>(
        &self,
        query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>
    where
        Self: 'q,
    {
        query
            .bind(self.firm_id)
            .bind(self.since)
            .bind(self.until)
            .bind(self.user)
            .bind(self.case)
            .bind(self.reader)
    }
}

#[tracing::instrument(level = "debug", skip_all, fields(firm = filter.firm_id))]
pub async fn usage_totals(
    pool: &PgPool,
    filter: &UsageFilter<'_>,
) -> Result<UsageTotals, sqlx::Error> {
    filter
        .bind(sqlx::query_as::<_, UsageTotals>(sqlx::AssertSqlSafe(
            format!(
                "SELECT count(*) AS calls,
                count(*) FILTER (WHERE outcome = 'ok') AS ok,
                count(*) FILTER (WHERE outcome = 'cancelled') AS cancelled,
                count(*) FILTER (WHERE outcome = 'error') AS errors,
                COALESCE(SUM(prompt_tokens), 0)::BIGINT AS prompt_tokens,
                COALESCE(SUM(completion_tokens), 0)::BIGINT AS completion_tokens
         FROM copilot_usage WHERE {FILTER}"
            ),
        )))
        .fetch_one(pool)
        .await
}

#[tracing::instrument(level = "debug", skip_all, fields(firm = filter.firm_id))]
pub async fn usage_by_user(
    pool: &PgPool,
    filter: &UsageFilter<'_>,
) -> Result<Vec<UserUsage>, sqlx::Error> {
    filter
        .bind(sqlx::query_as::<_, UserUsage>(sqlx::AssertSqlSafe(
            format!(
                "SELECT user_id, count(*) AS calls,
                COALESCE(SUM(prompt_tokens), 0)::BIGINT AS prompt_tokens,
                COALESCE(SUM(completion_tokens), 0)::BIGINT AS completion_tokens
         FROM copilot_usage WHERE {FILTER}
         GROUP BY user_id ORDER BY SUM(prompt_tokens + completion_tokens) DESC, user_id"
            ),
        )))
        .fetch_all(pool)
        .await
}

#[tracing::instrument(level = "debug", skip_all, fields(firm = filter.firm_id, limit))]
pub async fn usage_calls(
    pool: &PgPool,
    filter: &UsageFilter<'_>,
    limit: i64,
) -> Result<Vec<UsageCall>, sqlx::Error> {
    filter
        .bind(sqlx::query_as::<_, UsageCall>(sqlx::AssertSqlSafe(
            format!(
                "SELECT id, user_id, case_id, action, model, prompt_tokens, completion_tokens,
                tokens_estimated, latency_ms, first_token_ms, outcome, error_code,
                prompt_text, answer_text, at
         FROM copilot_usage WHERE {FILTER}
         ORDER BY id DESC LIMIT $7"
            ),
        )))
        .bind(limit)
        .fetch_all(pool)
        .await
}

#[tracing::instrument(level = "debug", skip_all, fields(firm = filter.firm_id))]
pub async fn usage_by_case(
    pool: &PgPool,
    filter: &UsageFilter<'_>,
) -> Result<Vec<CaseUsage>, sqlx::Error> {
    filter
        .bind(sqlx::query_as::<_, CaseUsage>(sqlx::AssertSqlSafe(
            format!(
                "SELECT case_id, (SELECT c.title FROM cases c WHERE c.id = copilot_usage.case_id) AS title,
                count(*) AS calls,
                COALESCE(SUM(prompt_tokens), 0)::BIGINT AS prompt_tokens,
                COALESCE(SUM(completion_tokens), 0)::BIGINT AS completion_tokens
         FROM copilot_usage WHERE {FILTER}
         GROUP BY case_id ORDER BY SUM(prompt_tokens + completion_tokens) DESC, case_id"
            ),
        )))
        .fetch_all(pool)
        .await
}

#[tracing::instrument(level = "debug", skip_all, fields(firm = filter.firm_id))]
pub async fn usage_by_month(
    pool: &PgPool,
    filter: &UsageFilter<'_>,
) -> Result<Vec<MonthUsage>, sqlx::Error> {
    filter
        .bind(sqlx::query_as::<_, MonthUsage>(sqlx::AssertSqlSafe(
            format!(
                "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, count(*) AS calls,
                COALESCE(SUM(prompt_tokens), 0)::BIGINT AS prompt_tokens,
                COALESCE(SUM(completion_tokens), 0)::BIGINT AS completion_tokens
         FROM copilot_usage WHERE {FILTER}
         GROUP BY 1 ORDER BY 1"
            ),
        )))
        .fetch_all(pool)
        .await
}

/// Per month, person and matter (the CSV export), with names from the firm's directory.
#[tracing::instrument(level = "debug", skip_all, fields(firm = filter.firm_id))]
pub async fn usage_lines(
    pool: &PgPool,
    filter: &UsageFilter<'_>,
) -> Result<Vec<UsageLine>, sqlx::Error> {
    filter
        .bind(sqlx::query_as::<_, UsageLine>(sqlx::AssertSqlSafe(
            format!(
                "SELECT u.month, u.user_id, d.name AS user_name, u.case_id, c.title AS case_title,
                u.calls, u.errors, u.prompt_tokens, u.completion_tokens
         FROM (SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, user_id, case_id,
                      count(*) AS calls, count(*) FILTER (WHERE outcome = 'error') AS errors,
                      COALESCE(SUM(prompt_tokens), 0)::BIGINT AS prompt_tokens,
                      COALESCE(SUM(completion_tokens), 0)::BIGINT AS completion_tokens
               FROM copilot_usage WHERE {FILTER}
               GROUP BY 1, 2, 3) u
         LEFT JOIN cases c ON c.id = u.case_id
         LEFT JOIN firm_directory d ON d.firm_id = $1 AND d.user_id = u.user_id
         ORDER BY u.month, u.user_id, u.case_id"
            ),
        )))
        .fetch_all(pool)
        .await
}
