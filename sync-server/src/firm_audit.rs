//! The firm-wide audit log: firm admins browse and export every entry of their firm (sign-ins,
//! access changes, walls, holds, the copilot's consent and policy, …) except those of matters
//! they are walled off; a matter's owner sees that matter's entries. The SQL is in
//! `db::audit::firm_log`; the CSV export ([`to_csv`]) quotes per RFC 4180 and defuses
//! spreadsheet formulas.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::access::{self, is_firm_admin};
use crate::auth::Principal;
use crate::db;
use crate::db::audit::{Audit, FirmAuditEntry, FirmLogQuery};
use crate::error::Error;
use crate::role::Role;

/// Entries per page when the caller does not say.
pub const DEFAULT_LIMIT: i64 = 200;
/// The most entries in one page of the API.
pub const MAX_PAGE: i64 = 1000;
/// The most entries in one CSV export.
pub const MAX_EXPORT: i64 = 50_000;

/// The filters as they arrive in the query string (`?case=&actor=&action=&from=&to=&limit=&before=`).
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    pub case: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// `YYYY-MM-DD` (that day, UTC, included) or RFC 3339.
    pub from: Option<String>,
    /// `YYYY-MM-DD` (that day, UTC, included) or RFC 3339 (excluded).
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub before: Option<i64>,
}

fn invalid(code: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidInput {
        code,
        message: message.into(),
    }
}

fn nonempty(value: Option<&String>) -> Option<String> {
    value
        .map(|text| text.trim())
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// A date or an instant; a date `to` means the end of that day.
fn instant(text: &str, end_of_day: bool, field: &str) -> Result<DateTime<Utc>, Error> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let day = if end_of_day {
            date.succ_opt().unwrap_or(date)
        } else {
            date
        };
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            invalid(
                "invalid_date",
                format!("{field} must be a date (2026-12-31) or an RFC 3339 time"),
            )
        })
}

impl Filters {
    /// Parse the filters once, at the edge; `max` caps the page.
    pub fn parse(&self, max: i64, default: i64) -> Result<FirmLogQuery, Error> {
        let case_id = nonempty(self.case.as_ref())
            .map(|case| {
                Uuid::parse_str(&case)
                    .map_err(|_| invalid("invalid_case", "case must be a matter id (a UUID)"))
            })
            .transpose()?;
        let from = nonempty(self.from.as_ref())
            .map(|from| instant(&from, false, "from"))
            .transpose()?;
        let to = nonempty(self.to.as_ref())
            .map(|to| instant(&to, true, "to"))
            .transpose()?;
        let limit = self.limit.unwrap_or(default);
        if !(1..=max).contains(&limit) {
            return Err(invalid(
                "invalid_limit",
                format!("limit must be between 1 and {max}"),
            ));
        }
        Ok(FirmLogQuery {
            case_id,
            actor: nonempty(self.actor.as_ref()),
            action: nonempty(self.action.as_ref()),
            from,
            to,
            before: self.before,
            limit,
        })
    }
}

/// The entries `caller` may see: a firm admin the whole firm's (never of a matter they are
/// screened from); anyone else only a matter they own, named by `case`.
#[tracing::instrument(skip_all, fields(firm = %caller.firm_id))]
pub async fn entries(
    pool: &PgPool,
    caller: &Principal,
    query: &FirmLogQuery,
) -> Result<Vec<FirmAuditEntry>, Error> {
    if !is_firm_admin(caller) {
        let Some(case_id) = query.case_id else {
            return Err(Error::Forbidden(
                "only firm admins see the firm's audit log; a matter's owners see its entries",
            ));
        };
        let standing = access::case_in_firm(pool, case_id, caller).await?;
        if standing.screened || standing.role.is_none() {
            return Err(Error::NotFound);
        }
        if standing.role != Some(Role::Owner) {
            return Err(Error::Forbidden(
                "only the matter's owners and firm admins see its audit log",
            ));
        }
    }
    Ok(db::audit::firm_log(pool, &caller.firm_id, &caller.user_id, query).await?)
}

/// [`entries`] for an export, which is itself audited (`audit_exported`, with the filters).
#[tracing::instrument(skip_all, fields(firm = %caller.firm_id))]
pub async fn export(
    pool: &PgPool,
    caller: &Principal,
    query: &FirmLogQuery,
) -> Result<String, Error> {
    let rows = entries(pool, caller, query).await?;
    db::audit::audit_best_effort(
        pool,
        Audit {
            firm_id: &caller.firm_id,
            case_id: query.case_id,
            user_id: Some(&caller.user_id),
            action: "audit_exported",
            detail: json!({
                "rows": rows.len(),
                "actor": query.actor,
                "action": query.action,
                "from": query.from,
                "to": query.to,
            }),
        },
    )
    .await;
    Ok(to_csv(&rows))
}

/// One CSV cell: a cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return) gets a leading `'`; a cell with a comma, a quote or a line
/// break is quoted, quotes doubled (RFC 4180).
pub fn csv_cell(value: &str) -> String {
    let defused = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    };
    if defused.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

/// The header of the CSV export.
pub const CSV_HEADER: [&str; 8] = [
    "id",
    "at",
    "matter",
    "matter_title",
    "user",
    "user_name",
    "action",
    "detail",
];

/// The entries as CSV: a header, one line per entry, CRLF line ends (RFC 4180).
pub fn to_csv(rows: &[FirmAuditEntry]) -> String {
    let mut out = CSV_HEADER.join(",");
    out.push_str("\r\n");
    for row in rows {
        let cells = [
            row.id.to_string(),
            row.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            row.case_id.map(|id| id.to_string()).unwrap_or_default(),
            row.case_title.clone().unwrap_or_default(),
            row.user_id.clone().unwrap_or_default(),
            row.user_name.clone().unwrap_or_default(),
            row.action.clone(),
            row.detail.to_string(),
        ];
        let line: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_per_rfc_4180() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"no\""), "\"say \"\"no\"\"\"");
        assert_eq!(csv_cell("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-2+3"), "'-2+3");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("a=b"), "a=b");
    }

    #[test]
    fn filters_parse_dates_and_bound_the_page() {
        let filters = Filters {
            from: Some("2026-12-01".into()),
            to: Some("2026-12-06".into()),
            ..Filters::default()
        };
        let query = filters.parse(MAX_PAGE, DEFAULT_LIMIT).unwrap();
        assert_eq!(
            query.from.unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        // A date `to` includes that whole day.
        assert_eq!(query.to.unwrap().to_rfc3339(), "2026-12-07T00:00:00+00:00");
        assert_eq!(query.limit, DEFAULT_LIMIT);
        let bad = Filters {
            limit: Some(MAX_PAGE + 1),
            ..Filters::default()
        };
        assert!(bad.parse(MAX_PAGE, DEFAULT_LIMIT).is_err());
        let bad = Filters {
            from: Some("1/12/2026".into()),
            ..Filters::default()
        };
        assert!(bad.parse(MAX_PAGE, DEFAULT_LIMIT).is_err());
    }
}
