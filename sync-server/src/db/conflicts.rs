//! The conflict-of-interest check's SQL: the firm-wide party index (`case_parties`) and what
//! changed in it since an instance last looked (`cases.parties_seq`), what a caller may see of
//! each matter hit, and the record of each check (`conflict_checks` and the audit log).

use sqlx::PgPool;
use uuid::Uuid;

use crate::db::audit::{self, Audit};

/// One party of a matter as indexed: `kind` is `client`, `adverse` or `related`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedParty {
    pub kind: &'static str,
    pub name: String,
    pub key: String,
}

/// Replace a matter's parties in the index (what its document names now).
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id, parties = parties.len()))]
pub async fn replace_parties(
    pool: &PgPool,
    case_id: Uuid,
    parties: &[IndexedParty],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // One writer per firm at a time, so the change numbers below become visible in the order
    // they are taken and an instance reading `parties_seq > n` never skips one (`changed_parties`).
    sqlx::query("SELECT pg_advisory_xact_lock(7316, hashtext(firm_id)) FROM cases WHERE id = $1")
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM case_parties WHERE case_id = $1")
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
    let kinds: Vec<&str> = parties.iter().map(|party| party.kind).collect();
    let names: Vec<&str> = parties.iter().map(|party| party.name.as_str()).collect();
    let keys: Vec<&str> = parties.iter().map(|party| party.key.as_str()).collect();
    sqlx::query(
        "INSERT INTO case_parties (case_id, firm_id, kind, name, key)
         SELECT c.id, c.firm_id, p.kind, p.name, p.key
         FROM cases c, unnest($2::text[], $3::text[], $4::text[]) AS p(kind, name, key)
         WHERE c.id = $1
         ON CONFLICT DO NOTHING",
    )
    .bind(case_id)
    .bind(&kinds)
    .bind(&names)
    .bind(&keys)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE cases SET parties_seq = nextval('case_parties_seq') WHERE id = $1")
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// A matter whose parties changed, with one of its parties (`None` fields: it has none now).
#[derive(Debug, sqlx::FromRow)]
pub struct PartyChange {
    pub case_id: Uuid,
    pub seq: i64,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub key: Option<String>,
}

/// The parties of every matter of the firm whose parties changed after change number `since`
/// (every indexed matter for 0), in one statement so they are one consistent picture.
#[tracing::instrument(level = "debug", skip_all, fields(since))]
pub async fn changed_parties(
    pool: &PgPool,
    firm_id: &str,
    since: i64,
) -> Result<Vec<PartyChange>, sqlx::Error> {
    sqlx::query_as::<_, PartyChange>(
        "SELECT c.id AS case_id, c.parties_seq AS seq, p.kind, p.name, p.key
         FROM cases c LEFT JOIN case_parties p ON p.case_id = c.id
         WHERE c.firm_id = $1 AND c.parties_seq > $2",
    )
    .bind(firm_id)
    .bind(since)
    .fetch_all(pool)
    .await
}

/// A matter hit by a check, as the caller stands on it.
#[derive(Debug, sqlx::FromRow)]
pub struct HitMatter {
    pub case_id: Uuid,
    pub title: Option<String>,
    pub member: bool,
    pub screened: bool,
    /// The first owner: the matter's responsible lawyer.
    pub owner_id: Option<String>,
    pub owner_name: Option<String>,
}

/// The caller's standing on each matter of `case_ids`, with its title and first owner.
#[tracing::instrument(level = "debug", skip_all, fields(cases = case_ids.len()))]
pub async fn hit_matters(
    pool: &PgPool,
    firm_id: &str,
    user_id: &str,
    case_ids: &[Uuid],
) -> Result<Vec<HitMatter>, sqlx::Error> {
    sqlx::query_as::<_, HitMatter>(
        "SELECT c.id AS case_id, c.title,
                EXISTS (SELECT 1 FROM case_members m WHERE m.case_id = c.id AND m.user_id = $2)
                    AS member,
                EXISTS (SELECT 1 FROM screens s WHERE s.case_id = c.id AND s.user_id = $2)
                    AS screened,
                o.user_id AS owner_id, d.name AS owner_name
         FROM cases c
         LEFT JOIN LATERAL (
             SELECT user_id FROM case_members m
             WHERE m.case_id = c.id AND m.role = 'owner'
             ORDER BY m.added_at, m.user_id LIMIT 1
         ) o ON true
         LEFT JOIN firm_directory d ON d.firm_id = c.firm_id AND d.user_id = o.user_id
         WHERE c.id = ANY($3) AND c.firm_id = $1",
    )
    .bind(firm_id)
    .bind(user_id)
    .bind(case_ids)
    .fetch_all(pool)
    .await
}

/// A check that ran, for `conflict_checks` and the audit log.
pub struct CheckRecord<'a> {
    pub id: Uuid,
    pub firm_id: &'a str,
    pub user_id: &'a str,
    pub request: serde_json::Value,
    pub hits: serde_json::Value,
    pub audit: serde_json::Value,
}

/// Store a check and its audit entry in one transaction.
#[tracing::instrument(level = "debug", skip_all, fields(check = %record.id))]
pub async fn record_check(pool: &PgPool, record: CheckRecord<'_>) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO conflict_checks (id, firm_id, user_id, request, hits) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(record.id)
    .bind(record.firm_id)
    .bind(record.user_id)
    .bind(&record.request)
    .bind(&record.hits)
    .execute(&mut *tx)
    .await?;
    audit::audit(
        &mut *tx,
        Audit {
            firm_id: record.firm_id,
            case_id: None,
            user_id: Some(record.user_id),
            action: "conflict_check",
            detail: record.audit,
        },
    )
    .await?;
    tx.commit().await
}

/// Attach a check to the matter whose document names it (once), with the lawyer's decision, and
/// write it into the matter's audit log. A check of another firm, or already attached to another
/// matter, is left alone. `check_id` `None` records a matter created without a check (offline),
/// once.
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn record_on_matter(
    pool: &PgPool,
    case_id: Uuid,
    check_id: Option<Uuid>,
    decision: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let Some((firm_id, owner)): Option<(String, String)> =
        sqlx::query_as("SELECT firm_id, created_by FROM cases WHERE id = $1")
            .bind(case_id)
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Ok(());
    };
    let (action, detail, user) = match check_id {
        Some(check_id) => {
            let user: Option<String> = sqlx::query_scalar(
                "UPDATE conflict_checks SET case_id = $2, decision = $4
                 WHERE id = $1 AND firm_id = $3 AND case_id IS NULL RETURNING user_id",
            )
            .bind(check_id)
            .bind(case_id)
            .bind(&firm_id)
            .bind(decision)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(user) = user else {
                return Ok(());
            };
            (
                "conflict_check_recorded",
                serde_json::json!({ "check_id": check_id, "decision": decision }),
                user,
            )
        }
        None => {
            let recorded: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM audit_log
                                WHERE case_id = $1 AND action = 'conflict_check_not_run')",
            )
            .bind(case_id)
            .fetch_one(&mut *tx)
            .await?;
            if recorded {
                return Ok(());
            }
            (
                "conflict_check_not_run",
                serde_json::json!({ "decision": decision }),
                owner,
            )
        }
    };
    audit::audit(
        &mut *tx,
        Audit {
            firm_id: &firm_id,
            case_id: Some(case_id),
            user_id: Some(&user),
            action,
            detail,
        },
    )
    .await?;
    tx.commit().await
}
