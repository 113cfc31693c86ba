//! Access changes reach every open subscription on every instance, and none is ever lost.
//!
//! The database announces every change of who may read a matter, whoever made it (this instance,
//! another one, an administrator in `psql`, a restore): triggers on `case_members`, `screens` and
//! `cases` notify [`CHANNEL`] with `case_id user_id` (or `*`), after commit and in commit order
//! (migration `20261201000040`). Each instance listens and re-reads the access of the open
//! subscriptions a notice names, then applies it ([`DocHub::set_access`]).
//!
//! What Redis pub/sub could lose (a full queue, a cut subscriber, a restart) cannot be lost here:
//! - the listening connection is checked by a heartbeat notice every [`HEARTBEAT`]; when nothing
//!   has been heard for [`DEAF_AFTER`], or the connection drops, every open subscription is
//!   re-checked, then again every [`HEARTBEAT`] until the listener is back, and once more when
//!   it is (changes may have committed while nobody listened);
//! - a change that commits while a document is being opened (between reading the role and
//!   registering the subscription) bumps the hub's access epoch before it is applied; the opener
//!   compares epochs after registering and re-reads its role if they differ.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use uuid::Uuid;

use crate::hub::DocHub;

/// The Postgres channel the access triggers notify.
pub const CHANNEL: &str = "hub_access";
/// How often each instance sends its heartbeat notice (and re-checks while deaf).
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// Silence after which the listening connection is presumed dead.
pub const DEAF_AFTER: Duration = Duration::from_millis(2_500);
/// The heartbeat's payload.
const ALIVE: &str = "alive";
/// Metric: full re-checks of every open subscription (after a gap in listening).
pub const RECHECKS: &str = "hub_access_rechecks_total";
/// Metric: 1 while this instance hears access notices.
pub const LISTENER_UP: &str = "hub_access_listener_up";

/// Re-read one user's access to one case and apply it to their open subscriptions here.
pub async fn recheck_one(hub: &DocHub, pool: &PgPool, case_id: Uuid, user_id: &str) {
    hub.bump_access_epoch();
    match crate::db::access::case_access(pool, case_id, user_id).await {
        Ok(role) => {
            let granted = role.is_some();
            hub.set_access(case_id, user_id, role);
            if granted {
                // Shared with them (or a wall lifted): their app asks what it may now see.
                hub.notify_user(user_id);
            }
        }
        Err(error) => {
            // Keep what is open (a Postgres outage must not cut every lawyer off); the full
            // re-check after the listener reconnects applies the change.
            tracing::warn!(%error, %case_id, "could not re-check access; retrying with the next re-check");
        }
    }
}

/// Re-read the access of every open subscription here and apply it.
pub async fn recheck_all(hub: &DocHub, pool: &PgPool) -> Result<(), sqlx::Error> {
    hub.bump_access_epoch();
    metrics::counter!(RECHECKS).increment(1);
    let pairs = hub.subscribed_users();
    for chunk in pairs.chunks(1000) {
        let access = crate::db::access::access_of_many(pool, chunk).await?;
        for ((case_id, user_id), role) in chunk.iter().zip(access) {
            hub.set_access(*case_id, user_id, role);
        }
    }
    Ok(())
}

async fn apply_notice(hub: &DocHub, pool: &PgPool, payload: &str) {
    if payload == "*" {
        if let Err(error) = recheck_all(hub, pool).await {
            tracing::warn!(%error, "could not re-check access after a bulk change");
        }
        // Whoever was given a matter among them asks what they may now see.
        hub.notify_all();
        return;
    }
    let Some((case, user)) = payload.split_once(' ') else {
        tracing::warn!(payload, "ignoring a malformed access notice");
        return;
    };
    match Uuid::parse_str(case) {
        Ok(case_id) => recheck_one(hub, pool, case_id, user).await,
        Err(_) => tracing::warn!(payload, "ignoring a malformed access notice"),
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Send `payload` on the Postgres `channel` every `every`, forever: a listener that hears
/// nothing, not even this, for a while knows its connection may be dead without having said so.
pub fn spawn_heartbeat(
    pool: PgPool,
    channel: &'static str,
    payload: &'static str,
    every: Duration,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let sent = crate::db::notify(&pool, channel, payload).await;
            if let Err(error) = sent {
                tracing::debug!(%error, channel, "heartbeat notice not sent");
            }
        }
    });
}

/// Listen for access notices forever (see the module's documentation).
pub fn spawn(hub: Arc<DocHub>, pool: PgPool) {
    spawn_heartbeat(pool.clone(), CHANNEL, ALIVE, HEARTBEAT);
    tokio::spawn(async move {
        loop {
            match listen(&pool).await {
                Ok(mut listener) => {
                    metrics::gauge!(LISTENER_UP).set(1.0);
                    // Whatever committed while nobody listened is applied now.
                    if let Err(error) = recheck_all(&hub, &pool).await {
                        tracing::warn!(%error, "could not re-check access after (re)connecting");
                    }
                    // A matter shared meanwhile reaches the app it is for (`notify_user` is
                    // sent only for the notices heard).
                    hub.notify_all();
                    loop {
                        match tokio::time::timeout(DEAF_AFTER, listener.try_recv()).await {
                            Ok(Ok(Some(notice))) => {
                                if notice.payload() != ALIVE {
                                    apply_notice(&hub, &pool, notice.payload()).await;
                                }
                            }
                            Ok(Ok(None)) => {
                                tracing::warn!(
                                    "access listener lost its connection; re-checking open subscriptions until it is back"
                                );
                                break;
                            }
                            Ok(Err(error)) => {
                                tracing::warn!(%error, "access listener failed");
                                break;
                            }
                            Err(_) => {
                                tracing::warn!(
                                    "no access notice (not even a heartbeat) for 2.5 s; reconnecting the listener"
                                );
                                break;
                            }
                        }
                    }
                    metrics::gauge!(LISTENER_UP).set(0.0);
                }
                Err(error) => {
                    tracing::debug!(%error, "access listener cannot connect");
                }
            }
            // Deaf: re-check everything now, then reconnect after a heartbeat.
            if let Err(error) = recheck_all(&hub, &pool).await {
                tracing::debug!(%error, "access re-check while deaf failed");
            }
            tokio::time::sleep(HEARTBEAT).await;
        }
    });
}
