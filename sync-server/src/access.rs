//! Who may do what with a matter: members with roles, ethical walls (screens), and the audit of
//! every change. A screened user, a non-member and a user of another firm all see the same
//! thing: the matter does not exist. The SQL is in `db::access` and `db::audit`; the HTTP
//! routes (`rest`) parse, call one function here, and map the result.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::audit::Audit;
use crate::db::{self, audit};
use crate::error::Error;
use crate::role::{Role, Standing};

pub fn is_firm_admin(principal: &Principal) -> bool {
    principal.firm_admin
}

/// Firm admins and the conflicts/risk role (`HUB_CONFLICTS_VALUE`) manage ethical walls firm-wide.
pub fn manages_walls(principal: &Principal) -> bool {
    principal.firm_admin || principal.conflicts_officer
}

/// The firm-wide list of walls (admins and the risk role), leaving out matters the caller is
/// screened from.
#[tracing::instrument(skip_all)]
pub async fn firm_screens(
    pool: &PgPool,
    caller: &Principal,
) -> Result<Vec<db::access::FirmScreen>, Error> {
    if !manages_walls(caller) {
        return Err(Error::Forbidden(
            "only firm admins and the conflicts/risk role see the firm's ethical walls",
        ));
    }
    Ok(db::access::firm_screens(pool, &caller.firm_id, &caller.user_id).await?)
}

/// Every matter of the firm, for picking one to wall someone off (admins and the risk role).
#[tracing::instrument(skip_all)]
pub async fn firm_matters(
    pool: &PgPool,
    caller: &Principal,
) -> Result<Vec<db::access::FirmMatter>, Error> {
    if !manages_walls(caller) {
        return Err(Error::Forbidden(
            "only firm admins and the conflicts/risk role list every matter of the firm",
        ));
    }
    Ok(db::access::firm_matters(pool, &caller.firm_id, &caller.user_id).await?)
}

/// Who may see and change a matter's walls: its owners, firm admins and the risk role (never
/// someone screened from it).
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn require_walls(pool: &PgPool, case_id: Uuid, caller: &Principal) -> Result<(), Error> {
    if caller.conflicts_officer {
        let standing = case_in_firm(pool, case_id, caller).await?;
        if standing.screened {
            return Err(Error::NotFound);
        }
        return Ok(());
    }
    require(pool, case_id, caller, true).await
}

/// The case must exist in the caller's firm; returns where the caller stands on it.
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn case_in_firm(
    pool: &PgPool,
    case_id: Uuid,
    caller: &Principal,
) -> Result<Standing, Error> {
    let firm = db::access::case_firm(pool, case_id).await?;
    if firm.as_deref() != Some(caller.firm_id.as_str()) {
        return Err(Error::NotFound);
    }
    Ok(db::access::case_standing(pool, case_id, &caller.user_id).await?)
}

/// Members may read; owners and firm admins may change. Screened users see nothing, firm admins
/// included: an ethical wall holds against the people who manage walls too.
#[tracing::instrument(skip_all, fields(case = %case_id, manage))]
pub async fn require(
    pool: &PgPool,
    case_id: Uuid,
    caller: &Principal,
    manage: bool,
) -> Result<(), Error> {
    let standing = case_in_firm(pool, case_id, caller).await?;
    if standing.screened {
        return Err(Error::NotFound);
    }
    let role = standing.role;
    let admin = is_firm_admin(caller);
    match (role, manage) {
        (_, true) if admin => Ok(()),
        (Some(Role::Owner), _) => Ok(()),
        (Some(_), false) => Ok(()),
        (Some(_), true) => Err(Error::Forbidden(
            "only the matter's owners and firm admins can change access",
        )),
        (None, _) if admin && !manage => Ok(()),
        (None, _) => Err(Error::NotFound),
    }
}

/// Write the audit row of an access change and commit it together with the change.
pub(crate) async fn commit_audited(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    caller: &Principal,
    case_id: Uuid,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), Error> {
    let entry = Audit {
        firm_id: &caller.firm_id,
        case_id: Some(case_id),
        user_id: Some(&caller.user_id),
        action,
        detail,
    };
    audit::audit(&mut *tx, entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Refuse a change that would leave the matter without an owner: `user_id` stops being one.
async fn keep_an_owner(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    case_id: Uuid,
    user_id: &str,
) -> Result<(), Error> {
    let (is_owner, others) = db::access::ownership(&mut **tx, case_id, user_id).await?;
    if is_owner && others == 0 {
        return Err(Error::Conflict {
            code: "last_owner",
            message: "a matter must keep at least one owner: make someone else an owner first",
        });
    }
    Ok(())
}

/// Give `user_id` `role` on the matter (owners and firm admins), audited.
#[tracing::instrument(skip_all, fields(case = %case_id, member = user_id, role = role.as_str()))]
pub async fn set_member(
    pool: &PgPool,
    caller: &Principal,
    case_id: Uuid,
    user_id: &str,
    role: Role,
) -> Result<(), Error> {
    require(pool, case_id, caller, true).await?;
    let mut tx = pool.begin().await?;
    db::access::lock_case(&mut *tx, case_id).await?;
    if db::access::is_screened(&mut *tx, case_id, user_id).await? {
        return Err(Error::Conflict {
            code: "screened",
            message: "this person is screened from the matter (ethical wall) and cannot be added",
        });
    }
    if role != Role::Owner {
        keep_an_owner(&mut tx, case_id, user_id).await?;
    }
    db::access::put_member(&mut *tx, case_id, user_id, role, &caller.user_id).await?;
    commit_audited(
        tx,
        caller,
        case_id,
        "access_granted",
        json!({ "member": user_id, "role": role.as_str() }),
    )
    .await
}

/// Take `user_id` off the matter (owners and firm admins), audited.
#[tracing::instrument(skip_all, fields(case = %case_id, member = user_id))]
pub async fn remove_member(
    pool: &PgPool,
    caller: &Principal,
    case_id: Uuid,
    user_id: &str,
) -> Result<(), Error> {
    require(pool, case_id, caller, true).await?;
    let mut tx = pool.begin().await?;
    db::access::lock_case(&mut *tx, case_id).await?;
    keep_an_owner(&mut tx, case_id, user_id).await?;
    db::access::delete_member(&mut *tx, case_id, user_id).await?;
    commit_audited(
        tx,
        caller,
        case_id,
        "access_revoked",
        json!({ "member": user_id }),
    )
    .await
}

/// Wall `user_id` off the matter: removes any membership, audited.
#[tracing::instrument(skip_all, fields(case = %case_id, screened = user_id))]
pub async fn add_screen(
    pool: &PgPool,
    caller: &Principal,
    case_id: Uuid,
    user_id: &str,
    reason: &str,
) -> Result<(), Error> {
    require_walls(pool, case_id, caller).await?;
    if user_id == caller.user_id {
        return Err(Error::Conflict {
            code: "self_screen",
            message: "you cannot screen yourself",
        });
    }
    let mut tx = pool.begin().await?;
    db::access::lock_case(&mut *tx, case_id).await?;
    keep_an_owner(&mut tx, case_id, user_id).await?;
    db::access::put_screen(&mut *tx, case_id, user_id, reason, &caller.user_id).await?;
    db::access::delete_member(&mut *tx, case_id, user_id).await?;
    commit_audited(
        tx,
        caller,
        case_id,
        "screen_added",
        json!({ "screened": user_id }),
    )
    .await
}

/// Lift a wall (membership is not restored), audited.
#[tracing::instrument(skip_all, fields(case = %case_id, screened = user_id))]
pub async fn lift_screen(
    pool: &PgPool,
    caller: &Principal,
    case_id: Uuid,
    user_id: &str,
) -> Result<(), Error> {
    require_walls(pool, case_id, caller).await?;
    if user_id == caller.user_id {
        return Err(Error::Conflict {
            code: "self_screen",
            message: "nobody can lift a screen on themselves: ask another owner or a firm admin",
        });
    }
    let mut tx = pool.begin().await?;
    db::access::delete_screen(&mut *tx, case_id, user_id).await?;
    commit_audited(
        tx,
        caller,
        case_id,
        "screen_removed",
        json!({ "screened": user_id }),
    )
    .await
}
