//! Legal hold: firm admins place and lift a hold on a matter, with a reason, audited in the same
//! transaction. While a matter is held nothing of it is deleted: its drafts' deletions are undone
//! by the server (`connection`), its history is never compacted (`db::sync::compact_document`)
//! and Postgres refuses deleting its rows (triggers). The SQL is in `db::hold`.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::access::{self, is_firm_admin};
use crate::auth::Principal;
use crate::db;
use crate::db::hold::Hold;
use crate::error::Error;

/// The longest reason kept (a sentence or a docket reference, not a memo).
pub const MAX_REASON_CHARS: usize = 1000;

/// Only firm admins who are not walled off the matter place or lift holds.
async fn require_admin(pool: &PgPool, case_id: Uuid, caller: &Principal) -> Result<(), Error> {
    let standing = access::case_in_firm(pool, case_id, caller).await?;
    if standing.screened {
        return Err(Error::NotFound);
    }
    if !is_firm_admin(caller) {
        return Err(Error::Forbidden(
            "only firm admins can place or lift a legal hold",
        ));
    }
    Ok(())
}

fn checked_reason(reason: &str) -> Result<&str, Error> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::InvalidInput {
            code: "hold_reason_required",
            message: "say why: a legal hold needs a reason (a litigation, an investigation)"
                .to_owned(),
        });
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(Error::InvalidInput {
            code: "hold_reason_too_long",
            message: format!("the reason is longer than {MAX_REASON_CHARS} characters"),
        });
    }
    Ok(reason)
}

/// Place a hold on the matter (or change its reason), audited (`legal_hold_placed`).
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn place(
    pool: &PgPool,
    caller: &Principal,
    case_id: Uuid,
    reason: &str,
) -> Result<(), Error> {
    require_admin(pool, case_id, caller).await?;
    let reason = checked_reason(reason)?;
    let mut tx = pool.begin().await?;
    db::access::lock_case(&mut *tx, case_id).await?;
    db::hold::place(&mut *tx, case_id, reason, &caller.user_id).await?;
    access::commit_audited(
        tx,
        caller,
        case_id,
        "legal_hold_placed",
        json!({ "reason": reason }),
    )
    .await
}

/// Lift the matter's hold, audited (`legal_hold_lifted`, with the reason for lifting).
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn lift(
    pool: &PgPool,
    caller: &Principal,
    case_id: Uuid,
    reason: &str,
) -> Result<(), Error> {
    require_admin(pool, case_id, caller).await?;
    let reason = checked_reason(reason)?;
    let mut tx = pool.begin().await?;
    db::access::lock_case(&mut *tx, case_id).await?;
    if !db::hold::lift(&mut *tx, case_id).await? {
        return Err(Error::Conflict {
            code: "not_on_hold",
            message: "this matter is not under legal hold",
        });
    }
    access::commit_audited(
        tx,
        caller,
        case_id,
        "legal_hold_lifted",
        json!({ "reason": reason }),
    )
    .await
}

/// Refuse a deletion on a held matter, with the hold's reason ([`Error::LegalHold`]).
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn refuse_deletion(pool: &PgPool, case_id: Uuid) -> Result<(), Error> {
    match db::hold::hold_of(pool, case_id).await? {
        Some(Hold { reason, .. }) => Err(Error::LegalHold { reason }),
        None => Ok(()),
    }
}
