//! Accounting for every copilot call: one `copilot_usage` row per call that reached the model
//! (who, which matter, model, tokens, latency, outcome; the text only when the firm opted in),
//! Prometheus series, and the firm admins' report.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db;
use crate::db::copilot::{
    CaseUsage, MonthUsage, UsageCall, UsageFilter, UsageRow, UsageTotals, UserUsage,
};

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
    let inserted = db::copilot::insert_usage(
        pool,
        &UsageRow {
            firm_id: &call.firm_id,
            user_id: &call.user_id,
            case_id: call.case_id,
            action: call.action,
            model: &call.model,
            prompt_tokens: call.prompt_tokens,
            completion_tokens: call.completion_tokens,
            tokens_estimated: call.tokens_estimated,
            latency_ms: millis(call.latency),
            first_token_ms: call.first_token.map(millis),
            outcome: call.outcome.as_str(),
            error_code: call.outcome.error_code(),
            prompt_text: call.prompt_text.as_deref(),
            answer_text: call.answer_text.as_deref(),
        },
    )
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

#[derive(Debug, Serialize)]
pub struct UsageReport {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub totals: UsageTotals,
    pub by_user: Vec<UserUsage>,
    pub by_case: Vec<CaseUsage>,
    pub by_month: Vec<MonthUsage>,
    pub calls: Vec<UsageCall>,
}

/// The report for a firm admin (`reader`).
pub async fn report(
    pool: &PgPool,
    firm_id: &str,
    reader: &str,
    query: &UsageQuery,
) -> Result<UsageReport, sqlx::Error> {
    let filter = filter(firm_id, reader, query);
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let totals = db::copilot::usage_totals(pool, &filter).await?;
    let by_user = db::copilot::usage_by_user(pool, &filter).await?;
    let by_case = db::copilot::usage_by_case(pool, &filter).await?;
    let by_month = db::copilot::usage_by_month(pool, &filter).await?;
    let calls = db::copilot::usage_calls(pool, &filter, limit).await?;
    Ok(UsageReport {
        since: filter.since,
        until: filter.until,
        totals,
        by_user,
        by_case,
        by_month,
        calls,
    })
}

fn filter<'a>(firm_id: &'a str, reader: &'a str, query: &'a UsageQuery) -> UsageFilter<'a> {
    let (month_start, _) = crate::copilot::policy::quota_period(Utc::now());
    UsageFilter {
        firm_id,
        since: query.since.unwrap_or(month_start),
        until: query.until.unwrap_or_else(Utc::now),
        user: query.user.as_deref(),
        case: query.case,
        reader,
    }
}

/// The CSV columns, in order.
pub const CSV_HEADER: &str =
    "month,user_id,user_name,case_id,case_title,calls,errors,prompt_tokens,completion_tokens";

/// The report as CSV for a firm admin (`reader`): one line per month, person and matter, the
/// same rows the JSON report covers (walls hold). Text cells are quoted, and a cell a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) is prefixed with `'`.
pub async fn report_csv(
    pool: &PgPool,
    firm_id: &str,
    reader: &str,
    query: &UsageQuery,
) -> Result<String, sqlx::Error> {
    let filter = filter(firm_id, reader, query);
    let lines = db::copilot::usage_lines(pool, &filter).await?;
    let mut csv = String::with_capacity(64 * (lines.len() + 1));
    csv.push_str(CSV_HEADER);
    csv.push_str("\r\n");
    for line in lines {
        let cells = [
            csv_text(&line.month),
            csv_text(&line.user_id),
            csv_text(line.user_name.as_deref().unwrap_or_default()),
            line.case_id.to_string(),
            csv_text(line.case_title.as_deref().unwrap_or_default()),
            line.calls.to_string(),
            line.errors.to_string(),
            line.prompt_tokens.to_string(),
            line.completion_tokens.to_string(),
        ];
        csv.push_str(&cells.join(","));
        csv.push_str("\r\n");
    }
    Ok(csv)
}

/// One quoted CSV cell (RFC 4180), made inert for spreadsheets (CSV injection).
pub fn csv_text(text: &str) -> String {
    let inert = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    format!("\"{}\"", inert.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::csv_text;

    #[test]
    fn csv_cells_are_quoted_and_formulas_made_inert() {
        assert_eq!(csv_text("Ada Lovelace"), "\"Ada Lovelace\"");
        assert_eq!(csv_text("Smith \"Jr\", QC"), "\"Smith \"\"Jr\"\", QC\"");
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_text("-1"), "\"'-1\"");
    }
}
