//! Who may do what with a matter: members with roles, ethical walls (screens), and the audit
//! log. A screened user, a non-member and a user of another firm all see the same thing: the
//! matter does not exist.

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// A member's role on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer = 1,
    Editor = 2,
    Owner = 3,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "owner" => Some(Role::Owner),
            "editor" => Some(Role::Editor),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    pub fn can_write(self) -> bool {
        self >= Role::Editor
    }

    /// The live-access encoding shared with open connections (0 = no access).
    pub fn code(access: Option<Role>) -> u8 {
        access.map_or(0, |role| role as u8)
    }

    pub fn from_code(code: u8) -> Option<Role> {
        match code {
            3 => Some(Role::Owner),
            2 => Some(Role::Editor),
            1 => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// Where a user stands on a case: their membership role and whether a wall bars them. A screened
/// user has no access whatever their role or firm role (administrators included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Option<Role>,
    pub screened: bool,
}

impl Standing {
    /// The access this standing gives on the matter's documents.
    pub fn access(self) -> Option<Role> {
        if self.screened { None } else { self.role }
    }
}

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
pub async fn case_access(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    user_id: &str,
) -> Result<Option<Role>, sqlx::Error> {
    Ok(case_standing(executor, case_id, user_id).await?.access())
}

/// One audit entry. Never token or document contents.
pub struct Audit<'a> {
    pub firm_id: &'a str,
    pub case_id: Option<Uuid>,
    pub user_id: Option<&'a str>,
    pub action: &'a str,
    pub detail: serde_json::Value,
}

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
pub async fn audit_best_effort(pool: &PgPool, entry: Audit<'_>) {
    let action = entry.action.to_owned();
    if let Err(error) = audit(pool, entry).await {
        tracing::error!(%error, action, "could not write the audit log");
    }
}
