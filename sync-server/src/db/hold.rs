//! Legal holds: the flag on `cases` and who placed it, when and why. Deletions of a held
//! matter's rows are refused by triggers (migration `20261207000064`) whoever runs them.

use serde::Serialize;
use uuid::Uuid;

/// A matter's hold, as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Hold {
    pub reason: String,
    pub placed_by: String,
    pub placed_at: chrono::DateTime<chrono::Utc>,
}

/// The matter's hold, if it is held.
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn hold_of(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
) -> Result<Option<Hold>, sqlx::Error> {
    sqlx::query_as::<_, Hold>(
        "SELECT COALESCE(legal_hold_reason, '') AS reason, COALESCE(legal_hold_by, '') AS placed_by,
                COALESCE(legal_hold_at, created_at) AS placed_at
         FROM cases WHERE id = $1 AND legal_hold",
    )
    .bind(case_id)
    .fetch_optional(executor)
    .await
}

/// Place a hold (or change its reason).
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn place(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    reason: &str,
    placed_by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE cases SET legal_hold = true, legal_hold_reason = $2, legal_hold_by = $3,
                legal_hold_at = now() WHERE id = $1",
    )
    .bind(case_id)
    .bind(reason)
    .bind(placed_by)
    .execute(executor)
    .await?;
    Ok(())
}

/// Lift the hold; returns whether there was one.
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn lift(executor: impl sqlx::PgExecutor<'_>, case_id: Uuid) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE cases SET legal_hold = false, legal_hold_reason = NULL, legal_hold_by = NULL,
                legal_hold_at = NULL WHERE id = $1 AND legal_hold",
    )
    .bind(case_id)
    .execute(executor)
    .await?
    .rows_affected()
        == 1)
}
