//! The copilot's policy check in memory: "may this lawyer use the copilot on this matter, and how
//! much of their month have they used" is on every answer's path, and one Postgres round trip per
//! answer was most of the proxy's overhead on time to first token under load.
//!
//! Only answers that allowed a call are kept (a refusal is always read fresh, so a grant applies
//! at once). What could take the copilot away — a member removed or their role changed, a screen,
//! consent withdrawn, the firm's switch or quota, a matter moved or deleted — fires a Postgres
//! trigger that notifies `hub_copilot_policy` (migration `20261130000030`), whoever wrote it: this
//! instance, another one, or an administrator in `psql`. Every instance listens and drops
//! everything it holds; this instance also drops it before answering its own policy changes, so
//! here a revocation applies to the very next request. While the listening connection is down
//! nothing is kept. A connection can also die silently (a network partition without a reset):
//! every instance sends a heartbeat notice each [`HEARTBEAT`], and keeps nothing when it has heard
//! no notice for [`DEAF_AFTER`]. Notices arrive in commit order, so having heard a heartbeat means
//! having heard every revocation committed before it. Entries also expire after [`TTL`].
//!
//! Tokens used this month: the figure read with the entry plus what this instance has recorded
//! since; other instances' use shows after at most [`TTL`] (like concurrent answers, the quota is
//! enforced to within a few answers).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use uuid::Uuid;

use crate::db::copilot::FirmPolicy;

/// The Postgres channel the triggers notify.
pub const CHANNEL: &str = "hub_copilot_policy";
/// The longest an allowed check is reused.
pub const TTL: Duration = Duration::from_secs(30);
/// How often each instance sends its heartbeat notice.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// Nothing is used from memory when no notice has arrived for this long.
pub const DEAF_AFTER: Duration = Duration::from_millis(2_500);
/// The heartbeat's payload (a trigger's notice has an empty one).
const ALIVE: &str = "alive";
/// Most entries kept (a firm's active lawyer × matter pairs); past it, everything is dropped.
const MAX_ENTRIES: usize = 50_000;

/// What an allowed check read, for the next requests of the same lawyer on the same matter.
#[derive(Debug, Clone)]
pub struct Standing {
    pub firm_id: String,
    pub policy: FirmPolicy,
    pub used_tokens: i64,
    /// The quota period the token figure belongs to.
    pub month_start: chrono::DateTime<chrono::Utc>,
}

struct Entry {
    standing: Standing,
    generation: u64,
    loaded: Instant,
}

/// A token to hand back to [`PolicyCache::keep`]: the generation a check read under.
#[derive(Debug, Clone, Copy)]
pub struct Reading(u64);

pub struct PolicyCache {
    /// Bumped by every change that could revoke; entries of older generations are dead.
    generation: AtomicU64,
    /// Whether this instance is listening for the triggers (nothing is kept while it is not).
    listening: AtomicBool,
    /// When the last notice arrived, in milliseconds since `epoch`.
    last_heard_ms: AtomicU64,
    epoch: Instant,
    entries: Mutex<HashMap<(Uuid, String), Entry>>,
}

impl Default for PolicyCache {
    fn default() -> Self {
        Self {
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            last_heard_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl PolicyCache {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn heard(&self) {
        self.last_heard_ms.store(self.now_ms(), Ordering::Release);
    }

    /// Listening, and heard from recently enough to trust that silence means "no change".
    fn trusted(&self) -> bool {
        self.listening.load(Ordering::Acquire)
            && self
                .now_ms()
                .saturating_sub(self.last_heard_ms.load(Ordering::Acquire))
                < DEAF_AFTER.as_millis() as u64
    }

    /// The standing kept for `user` on `case`, if still good.
    pub fn get(
        &self,
        case_id: Uuid,
        user_id: &str,
        month_start: chrono::DateTime<chrono::Utc>,
    ) -> Option<Standing> {
        if !self.trusted() {
            return None;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get(&(case_id, user_id.to_owned()))?;
        (entry.generation == generation
            && entry.loaded.elapsed() < TTL
            && entry.standing.month_start == month_start)
            .then(|| entry.standing.clone())
    }

    /// Call before reading the policy from Postgres.
    pub fn reading(&self) -> Reading {
        Reading(self.generation.load(Ordering::Acquire))
    }

    /// Keep an allowed standing, unless something changed since `reading` (the read may predate
    /// a revocation) or nobody is listening for changes.
    pub fn keep(&self, reading: Reading, case_id: Uuid, user_id: &str, standing: Standing) {
        if !self.trusted() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // Checked under the lock that `invalidate` takes: no revocation slips in between.
        if self.generation.load(Ordering::Acquire) != reading.0 {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            (case_id, user_id.to_owned()),
            Entry {
                standing,
                generation: reading.0,
                loaded: Instant::now(),
            },
        );
    }

    /// Something that could revoke changed: forget everything.
    pub fn invalidate(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// This instance recorded `tokens` for `user` in `firm`: count them in what is kept.
    pub fn add_tokens(&self, firm_id: &str, user_id: &str, tokens: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        for ((_, user), entry) in entries.iter_mut() {
            if user == user_id && entry.standing.firm_id == firm_id {
                entry.standing.used_tokens = entry.standing.used_tokens.saturating_add(tokens);
            }
        }
    }

    fn set_listening(&self, listening: bool) {
        self.heard();
        self.listening.store(listening, Ordering::Release);
        self.invalidate();
    }

    /// Listening and hearing the heartbeats: checks may come from memory.
    pub fn is_listening(&self) -> bool {
        self.trusted()
    }

    /// Listen for the triggers forever, reconnecting with backoff; nothing is kept while the
    /// connection is down, and everything is dropped when it comes back (changes may have been
    /// missed in between).
    pub fn spawn_listener(self: &std::sync::Arc<Self>, pool: PgPool) {
        crate::access_watch::spawn_heartbeat(pool.clone(), CHANNEL, ALIVE, HEARTBEAT);
        let cache = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                match listen(&pool).await {
                    Ok(mut listener) => {
                        delay = Duration::from_millis(100);
                        cache.set_listening(true);
                        loop {
                            match listener.try_recv().await {
                                Ok(Some(notice)) => {
                                    if notice.payload() != ALIVE {
                                        cache.invalidate();
                                    }
                                    cache.heard();
                                }
                                Ok(None) => {
                                    tracing::warn!(
                                        "copilot policy listener lost its connection; \
                                         checking every request until it is back"
                                    );
                                    break;
                                }
                                Err(error) => {
                                    tracing::warn!(%error, "copilot policy listener failed");
                                    break;
                                }
                            }
                        }
                        cache.set_listening(false);
                    }
                    Err(error) => {
                        tracing::debug!(%error, "copilot policy listener cannot connect");
                    }
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        });
    }
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn standing(used: i64) -> Standing {
        Standing {
            firm_id: "firm".into(),
            policy: FirmPolicy {
                enabled: true,
                store_content: false,
                monthly_token_quota: None,
            },
            used_tokens: used,
            month_start: crate::copilot::policy::quota_period(Utc::now()).0,
        }
    }

    #[test]
    fn nothing_is_kept_across_a_change_or_while_not_listening() {
        let cache = PolicyCache::default();
        let case = Uuid::new_v4();
        let month = standing(0).month_start;
        let reading = cache.reading();
        cache.keep(reading, case, "ada", standing(5));
        assert!(cache.get(case, "ada", month).is_none(), "not listening");

        cache.set_listening(true);
        let reading = cache.reading();
        cache.keep(reading, case, "ada", standing(5));
        assert_eq!(cache.get(case, "ada", month).unwrap().used_tokens, 5);
        assert!(cache.get(case, "bob", month).is_none());
        cache.add_tokens("firm", "ada", 7);
        cache.add_tokens("other-firm", "ada", 100);
        assert_eq!(cache.get(case, "ada", month).unwrap().used_tokens, 12);

        // A read that started before a revocation is not kept.
        let stale = cache.reading();
        cache.invalidate();
        assert!(cache.get(case, "ada", month).is_none());
        cache.keep(stale, case, "ada", standing(5));
        assert!(cache.get(case, "ada", month).is_none());

        // Another month's figure is not used.
        let reading = cache.reading();
        cache.keep(reading, case, "ada", standing(5));
        let next = month + chrono::Duration::days(40);
        assert!(cache.get(case, "ada", next).is_none());

        cache.set_listening(false);
        assert!(cache.get(case, "ada", month).is_none());
    }

    #[test]
    fn nothing_is_used_when_no_notice_has_come_for_a_while() {
        // A cache made long ago, so "last heard at 0 ms" is far enough in the past.
        let cache = PolicyCache {
            epoch: Instant::now() - DEAF_AFTER * 4,
            ..PolicyCache::default()
        };
        let case = Uuid::new_v4();
        let month = standing(0).month_start;
        cache.set_listening(true);
        let reading = cache.reading();
        cache.keep(reading, case, "ada", standing(1));
        assert!(cache.get(case, "ada", month).is_some());
        // Silence longer than DEAF_AFTER: the connection may be dead without having said so.
        cache.last_heard_ms.store(0, Ordering::Release);
        assert!(cache.get(case, "ada", month).is_none());
        assert!(!cache.is_listening());
        cache.heard();
        assert!(cache.get(case, "ada", month).is_some());
    }
}
