//! The firm directory: who works at the caller's firm, by name and email, so a matter can be
//! shared with a person rather than an identity-provider id. Rows are written when people
//! authenticate (`db::directory::ensure_principal`, from the verified token's claims); this module reads
//! them. A firm only ever sees its own people.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::db;
use crate::db::directory::Person;
use crate::http::{ApiError, Caller};
use crate::state::AppState;

/// Most people one answer lists.
pub const MAX_RESULTS: i64 = 50;
/// Longest search text accepted (characters).
pub const MAX_QUERY_CHARS: usize = 200;

#[derive(Deserialize)]
pub struct Search {
    /// Matched case-insensitively anywhere in the name, email or id; empty lists everyone.
    #[serde(default)]
    q: String,
    /// At most this many (1 to [`MAX_RESULTS`], the default).
    limit: Option<i64>,
}

/// `q` as a `LIKE` pattern that matches it literally anywhere (`%`, `_` and `\` escaped).
fn contains_pattern(q: &str) -> String {
    let mut pattern = String::with_capacity(q.len() + 2);
    pattern.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `GET /api/v1/directory?q=&limit=`: people of the caller's firm whose name, email or id
/// contains `q`, those it starts with first, then by name.
#[tracing::instrument(skip_all)]
pub async fn search(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(search): Query<Search>,
) -> Result<Json<Vec<Person>>, ApiError> {
    let q = search.q.trim();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("search for at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let limit = search.limit.unwrap_or(MAX_RESULTS).clamp(1, MAX_RESULTS);
    let contains = contains_pattern(q);
    // `contains` without its leading `%`: "starts with".
    let starts = &contains[1..];
    let people =
        db::directory::search(&state.pool, &caller.firm_id, &contains, starts, limit).await?;
    Ok(Json(people))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(contains_pattern(""), "%%");
        assert_eq!(contains_pattern("ada"), "%ada%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
