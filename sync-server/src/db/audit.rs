//! The audit log (per matter, per firm) and the firm-less security log. Never token or document
//! contents.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// One audit entry. Never token or document contents.
pub struct Audit<'a> {
    pub firm_id: &'a str,
    pub case_id: Option<Uuid>,
    pub user_id: Option<&'a str>,
    pub action: &'a str,
    pub detail: serde_json::Value,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn audit(
    executor: impl sqlx::PgExecutor<'_>,
    entry: Audit<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_log (firm_id, case_id, user_id, action, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(entry.firm_id)
        .bind(entry.case_id)
        .bind(entry.user_id)
        .bind(entry.action)
        .bind(entry.detail)
        .execute(executor)
        .await?;
    Ok(())
}

/// A refused attempt on a matter. It goes into the matter's audit log only when the matter
/// belongs to the caller's own firm; anything else (another firm's matter, a made-up id) goes to
/// the firm-less `security_log`, so nobody outside a firm can write into its log.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn audit_refusal(
    pool: &PgPool,
    claimed_firm: &str,
    user_id: &str,
    case_id: Option<Uuid>,
    action: &str,
    detail: serde_json::Value,
) {
    let result = async {
        let in_firm = sqlx::query(
            "INSERT INTO audit_log (firm_id, case_id, user_id, action, detail)
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM cases WHERE id = $2 AND firm_id = $1)",
        )
        .bind(claimed_firm)
        .bind(case_id)
        .bind(user_id)
        .bind(action)
        .bind(&detail)
        .execute(pool)
        .await?
        .rows_affected()
            == 1;
        if !in_firm {
            sqlx::query(
                "INSERT INTO security_log (claimed_firm, user_id, action, detail) VALUES ($1, $2, $3, $4)",
            )
            .bind(claimed_firm)
            .bind(user_id)
            .bind(action)
            .bind(&detail)
            .execute(pool)
            .await?;
        }
        Ok::<(), sqlx::Error>(())
    }
    .await;
    if let Err(error) = result {
        tracing::error!(%error, action, "could not record a refused attempt");
    }
}

/// Audit without failing the caller: an audit write that fails is logged loudly.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn audit_best_effort(pool: &PgPool, entry: Audit<'_>) {
    let action = entry.action.to_owned();
    if let Err(error) = audit(pool, entry).await {
        tracing::error!(%error, action, "could not write the audit log");
    }
}

#[derive(Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    id: i64,
    user_id: Option<String>,
    action: String,
    detail: serde_json::Value,
    at: chrono::DateTime<chrono::Utc>,
}

/// A matter's audit log: newest first, at most 500 entries.
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn case_log(pool: &PgPool, case_id: Uuid) -> Result<Vec<AuditEntry>, sqlx::Error> {
    sqlx::query_as::<_, AuditEntry>(
        "SELECT id, user_id, action, detail, at FROM audit_log WHERE case_id = $1 ORDER BY id DESC LIMIT 500",
    )
    .bind(case_id)
    .fetch_all(pool)
    .await
}

/// Which entries of a firm's audit log to list (all optional but the firm and the viewer).
#[derive(Debug, Clone, Default)]
pub struct FirmLogQuery {
    pub case_id: Option<Uuid>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// From this instant (inclusive).
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Up to this instant (exclusive).
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Entries older than this id (the next page).
    pub before: Option<i64>,
    pub limit: i64,
}

/// One entry of the firm-wide audit log, with the matter's title and the person's name.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct FirmAuditEntry {
    pub id: i64,
    pub case_id: Option<Uuid>,
    pub case_title: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub action: String,
    pub detail: serde_json::Value,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A firm's audit log as `viewer` may see it: never an entry of a matter `viewer` is screened
/// from. Newest first.
#[tracing::instrument(level = "debug", skip_all, fields(firm = firm_id))]
pub async fn firm_log(
    pool: &PgPool,
    firm_id: &str,
    viewer: &str,
    query: &FirmLogQuery,
) -> Result<Vec<FirmAuditEntry>, sqlx::Error> {
    sqlx::query_as::<_, FirmAuditEntry>(
        "SELECT a.id, a.case_id, c.title AS case_title, a.user_id, d.name AS user_name,
                a.action, a.detail, a.at
         FROM audit_log a
         LEFT JOIN cases c ON c.id = a.case_id AND c.firm_id = a.firm_id
         LEFT JOIN firm_directory d ON d.firm_id = a.firm_id AND d.user_id = a.user_id
         WHERE a.firm_id = $1
           AND ($2::uuid IS NULL OR a.case_id = $2)
           AND ($3::text IS NULL OR a.user_id = $3)
           AND ($4::text IS NULL OR a.action = $4)
           AND ($5::timestamptz IS NULL OR a.at >= $5)
           AND ($6::timestamptz IS NULL OR a.at < $6)
           AND ($7::bigint IS NULL OR a.id < $7)
           AND (a.case_id IS NULL OR NOT EXISTS
                (SELECT 1 FROM screens s WHERE s.case_id = a.case_id AND s.user_id = $8))
         ORDER BY a.id DESC LIMIT $9",
    )
    .bind(firm_id)
    .bind(query.case_id)
    .bind(query.actor.as_deref())
    .bind(query.action.as_deref())
    .bind(query.from)
    .bind(query.to)
    .bind(query.before)
    .bind(viewer)
    .bind(query.limit)
    .fetch_all(pool)
    .await
}
