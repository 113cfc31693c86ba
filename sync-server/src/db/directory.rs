//! The firm directory's rows: written from verified tokens, searched by people of the same firm.

use serde::Serialize;
use sqlx::PgPool;

use crate::auth::Principal;

/// Record a firm, a user and their firm directory entry from a verified token, in one
/// statement. Cheap when nothing changed: the directory row is rewritten only when the token
/// names the person differently (an absent claim keeps what is known), and `last_seen` moves at
/// most once a minute, so a stream of REST calls writes no rows.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn ensure_principal(pool: &PgPool, principal: &Principal) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH firm AS (
             INSERT INTO firms (id) VALUES ($2) ON CONFLICT DO NOTHING
         ), person AS (
             INSERT INTO users (id, firm_id) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET last_seen = now()
                 WHERE users.last_seen < now() - interval '1 minute'
         )
         INSERT INTO firm_directory (firm_id, user_id, name, email) VALUES ($2, $1, $3, $4)
         ON CONFLICT (firm_id, user_id) DO UPDATE
             SET name = COALESCE(EXCLUDED.name, firm_directory.name),
                 email = COALESCE(EXCLUDED.email, firm_directory.email),
                 updated_at = now()
             WHERE (EXCLUDED.name IS NOT NULL AND EXCLUDED.name IS DISTINCT FROM firm_directory.name)
                OR (EXCLUDED.email IS NOT NULL AND EXCLUDED.email IS DISTINCT FROM firm_directory.email)",
    )
    .bind(&principal.user_id)
    .bind(&principal.firm_id)
    .bind(&principal.profile.name)
    .bind(&principal.profile.email)
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct Person {
    id: String,
    name: Option<String>,
    email: Option<String>,
}

/// People of `firm_id` whose name, email or id matches the `LIKE` pattern `contains`, those
/// matching `starts` first, then by name; at most `limit`.
#[tracing::instrument(level = "debug", skip_all, fields(firm = firm_id, limit))]
pub async fn search(
    pool: &PgPool,
    firm_id: &str,
    contains: &str,
    starts: &str,
    limit: i64,
) -> Result<Vec<Person>, sqlx::Error> {
    sqlx::query_as::<_, Person>(
        r"SELECT user_id AS id, name, email FROM firm_directory
          WHERE firm_id = $1
            AND (name ILIKE $2 ESCAPE '\' OR email ILIKE $2 ESCAPE '\' OR user_id ILIKE $2 ESCAPE '\')
          ORDER BY (name ILIKE $3 ESCAPE '\' OR email ILIKE $3 ESCAPE '\') IS NOT TRUE,
                   lower(COALESCE(name, email, user_id)), user_id
          LIMIT $4",
    )
    .bind(firm_id)
    .bind(contains)
    .bind(starts)
    .bind(limit)
    .fetch_all(pool)
    .await
}
