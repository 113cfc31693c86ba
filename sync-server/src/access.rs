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

/// The caller's role on a case: `None` when not a member or screened.
pub async fn case_access(
    executor: impl sqlx::PgExecutor<'_>,
    case_id: Uuid,
    user_id: &str,
) -> Result<Option<Role>, sqlx::Error> {
    let (role, screened): (Option<String>, bool) = sqlx::query_as(
        "SELECT (SELECT role FROM case_members WHERE case_id = $1 AND user_id = $2),
                EXISTS (SELECT 1 FROM screens WHERE case_id = $1 AND user_id = $2)",
    )
    .bind(case_id)
    .bind(user_id)
    .fetch_one(executor)
    .await?;
    Ok(if screened {
        None
    } else {
        role.as_deref().and_then(Role::parse)
    })
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

/// Audit without failing the caller: an audit write that fails is logged loudly.
pub async fn audit_best_effort(pool: &PgPool, entry: Audit<'_>) {
    let action = entry.action.to_owned();
    if let Err(error) = audit(pool, entry).await {
        tracing::error!(%error, action, "could not write the audit log");
    }
}
