//! Members with roles and ethical walls (screens): where a user stands on a matter, and the
//! statements that change it.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::role::{Role, Standing};

#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn case_standing(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    user_id: &str,
) -> Result<Standing, sqlx::Error> {
    let (role, screened): (Option<String>, bool) = sqlx::query_as(
        "SELECT (SELECT role FROM case_members WHERE case_id = $1 AND user_id = $2),
                EXISTS (SELECT 1 FROM screens WHERE case_id = $1 AND user_id = $2)",
    )
    .bind(case_id)
    .bind(user_id)
    .fetch_one(executor)
    .await?;
    Ok(Standing {
        role: role.as_deref().and_then(Role::parse),
        screened,
    })
}

/// The access of many (case, user) pairs at once (a full re-check of open subscriptions).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn access_of_many(
    pool: &PgPool,
    pairs: &[(Uuid, std::sync::Arc<str>)],
) -> Result<Vec<Option<Role>>, sqlx::Error> {
    let cases: Vec<Uuid> = pairs.iter().map(|(case, _)| *case).collect();
    let users: Vec<&str> = pairs.iter().map(|(_, user)| &**user).collect();
    let rows: Vec<(i32, Option<String>)> = sqlx::query_as(
        "SELECT p.ord::int, m.role FROM UNNEST($1::uuid[], $2::text[]) WITH ORDINALITY AS p(case_id, user_id, ord)
         LEFT JOIN case_members m ON m.case_id = p.case_id AND m.user_id = p.user_id
         WHERE NOT EXISTS (SELECT 1 FROM screens s WHERE s.case_id = p.case_id AND s.user_id = p.user_id)",
    )
    .bind(&cases)
    .bind(&users)
    .fetch_all(pool)
    .await?;
    let mut access = vec![None; pairs.len()];
    for (ordinal, role) in rows {
        if let Some(slot) = usize::try_from(ordinal - 1)
            .ok()
            .and_then(|i| access.get_mut(i))
        {
            *slot = role.as_deref().and_then(Role::parse);
        }
    }
    Ok(access)
}

/// The caller's role on a case: `None` when not a member or screened.
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn case_access(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    user_id: &str,
) -> Result<Option<Role>, sqlx::Error> {
    Ok(case_standing(executor, case_id, user_id).await?.access())
}

/// The firm a matter belongs to (`None`: no such matter).
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn case_firm(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT firm_id FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(executor)
        .await
}

#[derive(Serialize, sqlx::FromRow)]
pub struct CaseSummary {
    id: Uuid,
    /// owner, editor, commenter or viewer (a CHECK constraint in the schema).
    role: String,
    title: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    /// Whether the matter is under legal hold (nothing of it may be deleted), and the hold's
    /// reason, who placed it and when (null when not held).
    legal_hold: bool,
    hold_reason: Option<String>,
    hold_by: Option<String>,
    hold_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The matters a user of a firm belongs to (never those they are screened from), newest first.
#[tracing::instrument(level = "debug", skip_all, fields(firm = firm_id))]
pub async fn cases_of(
    pool: &PgPool,
    firm_id: &str,
    user_id: &str,
) -> Result<Vec<CaseSummary>, sqlx::Error> {
    sqlx::query_as::<_, CaseSummary>(
        "SELECT c.id, m.role, c.title, c.created_at, c.legal_hold,
                c.legal_hold_reason AS hold_reason, c.legal_hold_by AS hold_by,
                c.legal_hold_at AS hold_at
         FROM cases c
         JOIN case_members m ON m.case_id = c.id AND m.user_id = $2
         WHERE c.firm_id = $1
           AND NOT EXISTS (SELECT 1 FROM screens s WHERE s.case_id = c.id AND s.user_id = $2)
         ORDER BY c.created_at DESC",
    )
    .bind(firm_id)
    .bind(user_id)
    .fetch_all(pool)
    .await
}

#[derive(Serialize, sqlx::FromRow)]
pub struct Member {
    user_id: String,
    /// From the firm directory: absent until the person has signed in with a token that names
    /// them.
    name: Option<String>,
    email: Option<String>,
    /// owner, editor, commenter or viewer (a CHECK constraint in the schema).
    role: String,
    added_by: String,
    added_at: chrono::DateTime<chrono::Utc>,
}

/// A matter's members, with names from the firm directory of the matter's own firm only: an id
/// that belongs to someone of another firm shows no name.
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn members(pool: &PgPool, case_id: Uuid) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as::<_, Member>(
        "SELECT m.user_id, d.name, d.email, m.role, m.added_by, m.added_at
         FROM case_members m
         JOIN cases c ON c.id = m.case_id
         LEFT JOIN firm_directory d ON d.firm_id = c.firm_id AND d.user_id = m.user_id
         WHERE m.case_id = $1 ORDER BY m.added_at, m.user_id",
    )
    .bind(case_id)
    .fetch_all(pool)
    .await
}

/// Lock the matter's row for the rest of the transaction: access changes to one matter run one
/// at a time.
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn lock_case(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1 FROM cases WHERE id = $1 FOR UPDATE")
        .bind(case_id)
        .execute(executor)
        .await?;
    Ok(())
}

/// Whether `user_id` is an owner of the matter, and how many other owners it has.
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn ownership(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    user_id: &str,
) -> Result<(bool, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM case_members WHERE case_id = $1 AND user_id = $2 AND role = 'owner'),
                (SELECT count(*) FROM case_members WHERE case_id = $1 AND role = 'owner' AND user_id <> $2)",
    )
    .bind(case_id)
    .bind(user_id)
    .fetch_one(executor)
    .await
}

/// Whether a wall bars `user_id` from the matter.
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn is_screened(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM screens WHERE case_id = $1 AND user_id = $2)")
        .bind(case_id)
        .bind(user_id)
        .fetch_one(executor)
        .await
}

/// Make `user_id` a member with `role` (or change their role).
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn put_member(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    user_id: &str,
    role: Role,
    added_by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_members (case_id, user_id, role, added_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (case_id, user_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(case_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(added_by)
    .execute(executor)
    .await?;
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn delete_member(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM case_members WHERE case_id = $1 AND user_id = $2")
        .bind(case_id)
        .bind(user_id)
        .execute(executor)
        .await?;
    Ok(())
}

#[derive(Serialize, sqlx::FromRow)]
pub struct Screen {
    user_id: String,
    reason: String,
    added_by: String,
    added_at: chrono::DateTime<chrono::Utc>,
}

/// A matter's walls, oldest first.
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn screens(pool: &PgPool, case_id: Uuid) -> Result<Vec<Screen>, sqlx::Error> {
    sqlx::query_as::<_, Screen>(
        "SELECT user_id, reason, added_by, added_at FROM screens WHERE case_id = $1 ORDER BY added_at, user_id",
    )
    .bind(case_id)
    .fetch_all(pool)
    .await
}

/// A wall anywhere in the firm, with the matter's title and the names the firm's directory
/// knows (the firm-wide list for admins and the risk role).
#[derive(Serialize, sqlx::FromRow)]
pub struct FirmScreen {
    case_id: Uuid,
    case_title: Option<String>,
    user_id: String,
    name: Option<String>,
    email: Option<String>,
    reason: String,
    added_by: String,
    added_by_name: Option<String>,
    added_at: chrono::DateTime<chrono::Utc>,
}

/// Every wall on the firm's matters, newest first, except on matters `reader` is screened
/// from (a wall holds against the people who manage walls too).
#[tracing::instrument(level = "debug", skip_all, fields(firm = firm_id))]
pub async fn firm_screens(
    pool: &PgPool,
    firm_id: &str,
    reader: &str,
) -> Result<Vec<FirmScreen>, sqlx::Error> {
    sqlx::query_as::<_, FirmScreen>(
        "SELECT s.case_id, c.title AS case_title, s.user_id, d.name, d.email, s.reason,
                s.added_by, a.name AS added_by_name, s.added_at
         FROM screens s
         JOIN cases c ON c.id = s.case_id
         LEFT JOIN firm_directory d ON d.firm_id = c.firm_id AND d.user_id = s.user_id
         LEFT JOIN firm_directory a ON a.firm_id = c.firm_id AND a.user_id = s.added_by
         WHERE c.firm_id = $1
           AND NOT EXISTS (SELECT 1 FROM screens mine WHERE mine.case_id = s.case_id AND mine.user_id = $2)
         ORDER BY s.added_at DESC, s.case_id, s.user_id",
    )
    .bind(firm_id)
    .bind(reader)
    .fetch_all(pool)
    .await
}

/// A matter of the firm, for the walls screen's matter picker.
#[derive(Serialize, sqlx::FromRow)]
pub struct FirmMatter {
    id: Uuid,
    title: Option<String>,
}

/// Every matter of the firm (title order), except those `reader` is screened from.
#[tracing::instrument(level = "debug", skip_all, fields(firm = firm_id))]
pub async fn firm_matters(
    pool: &PgPool,
    firm_id: &str,
    reader: &str,
) -> Result<Vec<FirmMatter>, sqlx::Error> {
    sqlx::query_as::<_, FirmMatter>(
        "SELECT c.id, c.title FROM cases c
         WHERE c.firm_id = $1
           AND NOT EXISTS (SELECT 1 FROM screens s WHERE s.case_id = c.id AND s.user_id = $2)
         ORDER BY c.title NULLS LAST, c.id LIMIT 5000",
    )
    .bind(firm_id)
    .bind(reader)
    .fetch_all(pool)
    .await
}

/// Wall `user_id` off the matter (or change the reason).
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn put_screen(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    user_id: &str,
    reason: &str,
    added_by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO screens (case_id, user_id, reason, added_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (case_id, user_id) DO UPDATE SET reason = EXCLUDED.reason",
    )
    .bind(case_id)
    .bind(user_id)
    .bind(reason)
    .bind(added_by)
    .execute(executor)
    .await?;
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn delete_screen(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM screens WHERE case_id = $1 AND user_id = $2")
        .bind(case_id)
        .bind(user_id)
        .execute(executor)
        .await?;
    Ok(())
}
