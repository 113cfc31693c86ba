//! Whether a lawyer may use the copilot on a matter, checked before anything reaches the model:
//! they can read the matter, the server has a model, the firm turned the copilot on, the
//! client consented to AI use on this matter, and the user is within their monthly tokens,
//! their rate and their concurrent answers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{Datelike, TimeZone, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::Principal;
use crate::copilot::config::CopilotSettings;
use crate::copilot::policy_cache::{PolicyCache, Standing};
use crate::copilot::prompts::Action;
use crate::db;
use crate::db::audit::{self, Audit};
use crate::db::copilot::FirmPolicy;
use crate::error::Error;

pub use crate::error::Refusal;

/// The start of this calendar month and of the next (UTC): the quota period.
pub fn quota_period(now: chrono::DateTime<Utc>) -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    let start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let (year, month) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    let next = Utc
        .with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    (start, next)
}

/// Tokens this user has used in the firm this month.
pub async fn tokens_used_this_month(
    pool: &PgPool,
    firm_id: &str,
    user_id: &str,
) -> Result<i64, sqlx::Error> {
    let (start, _) = quota_period(Utc::now());
    db::copilot::tokens_used_since(pool, firm_id, user_id, start).await
}

/// The user's monthly allowance and what they have used of it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Quota {
    pub used_tokens: i64,
    pub monthly_tokens: i64,
}

/// Everything allowed: the firm's policy and the user's quota, for the call that follows.
pub struct Allowed {
    pub policy: FirmPolicy,
    pub quota: Quota,
}

/// Check, in order: the caller can read the matter (else `404 not_found`, exactly like the rest
/// of the API), the server has a model, the firm's switch, the matter's consent, the quota.
/// Nothing here talks to the model. An allowed standing is kept in memory until something that
/// could revoke it changes ([`crate::copilot::policy_cache`]); refusals are always read afresh.
pub async fn check(
    pool: &PgPool,
    cache: &PolicyCache,
    settings: &CopilotSettings,
    caller: &Principal,
    case_id: Uuid,
) -> Result<Allowed, Error> {
    let (month_start, next_month) = quota_period(Utc::now());
    let kept = cache
        .get(case_id, &caller.user_id, month_start)
        .filter(|standing| standing.firm_id == caller.firm_id);
    let standing = match kept {
        Some(standing) => {
            crate::metrics::copilot_policy_lookup(true);
            standing
        }
        None => {
            crate::metrics::copilot_policy_lookup(false);
            let reading = cache.reading();
            let standing = read_standing(pool, settings, caller, case_id, month_start).await?;
            cache.keep(reading, case_id, &caller.user_id, standing.clone());
            standing
        }
    };
    let quota = Quota {
        used_tokens: standing.used_tokens,
        monthly_tokens: standing
            .policy
            .monthly_token_quota
            .unwrap_or(settings.monthly_tokens),
    };
    if quota.used_tokens >= quota.monthly_tokens {
        let wait = (next_month - Utc::now()).num_seconds().max(1) as u64;
        return Err(Refusal::QuotaExceeded {
            used_tokens: quota.used_tokens,
            monthly_tokens: quota.monthly_tokens,
            renews: next_month,
            wait_secs: wait,
        }
        .into());
    }
    Ok(Allowed {
        policy: standing.policy,
        quota,
    })
}

/// `{available, reason_code, message, …}`: what the app asks before showing the copilot panel.
#[derive(Debug, Serialize)]
pub struct Availability {
    pub available: bool,
    /// null when available; else copilot_not_configured, copilot_disabled, consent_required
    /// or quota_exceeded.
    pub reason_code: Option<&'static str>,
    pub message: String,
    pub consented: bool,
    pub model: String,
    pub actions: [Action; 4],
    pub quota: Quota,
}

/// May the caller use the copilot on the matter, and if not, why: [`check`], and on a refusal
/// the caller's quota and the matter's consent, read for the panel to show. `Err` only when the
/// caller cannot read the matter (`NotFound`, like the rest of the API) or Postgres fails.
#[tracing::instrument(skip_all, fields(case = %case_id))]
pub async fn availability(
    pool: &PgPool,
    cache: &PolicyCache,
    settings: &CopilotSettings,
    caller: &Principal,
    case_id: Uuid,
) -> Result<Availability, Error> {
    let refusal = match check(pool, cache, settings, caller, case_id).await {
        // Allowed: the check already read the quota, and consent is given.
        Ok(allowed) => {
            return Ok(Availability {
                available: true,
                reason_code: None,
                message: "The copilot is available for this matter.".to_owned(),
                consented: true,
                model: settings.model.clone(),
                actions: Action::ALL,
                quota: allowed.quota,
            });
        }
        Err(Error::Copilot(refusal)) => refusal,
        Err(error) => return Err(error),
    };
    let policy = db::copilot::firm_policy(pool, &caller.firm_id).await?;
    let quota = Quota {
        used_tokens: tokens_used_this_month(pool, &caller.firm_id, &caller.user_id).await?,
        monthly_tokens: policy
            .monthly_token_quota
            .unwrap_or(settings.monthly_tokens),
    };
    Ok(Availability {
        available: false,
        reason_code: Some(refusal.code()),
        message: refusal.to_string(),
        consented: db::copilot::case_consented(pool, case_id).await?,
        model: settings.model.clone(),
        actions: Action::ALL,
        quota,
    })
}

/// Read the caller's standing on the matter from Postgres; `Err` unless every switch allows.
async fn read_standing(
    pool: &PgPool,
    settings: &CopilotSettings,
    caller: &Principal,
    case_id: Uuid,
    month_start: chrono::DateTime<Utc>,
) -> Result<Standing, Error> {
    let row =
        db::copilot::standing(pool, case_id, &caller.user_id, &caller.firm_id, month_start).await?;
    let readable = row.case_firm.as_deref() == Some(caller.firm_id.as_str())
        && !row.screened
        && row
            .role
            .as_deref()
            .and_then(crate::role::Role::parse)
            .is_some();
    if !readable {
        return Err(Error::NotFound);
    }
    if !settings.configured() {
        return Err(Refusal::NotConfigured.into());
    }
    if !row.enabled {
        return Err(Refusal::Disabled.into());
    }
    if !row.consented {
        return Err(Refusal::ConsentRequired.into());
    }
    Ok(Standing {
        firm_id: caller.firm_id.clone(),
        policy: FirmPolicy {
            enabled: row.enabled,
            store_content: row.store_content,
            monthly_token_quota: row.monthly_token_quota,
        },
        used_tokens: row.used_tokens,
        month_start,
    })
}

/// Change the fields of the firm's copilot policy that are given (`None`: keep), audited in the
/// same transaction. Returns the policy now in force.
#[tracing::instrument(skip_all, fields(firm = %caller.firm_id))]
pub async fn change_firm_policy(
    pool: &PgPool,
    caller: &Principal,
    enabled: Option<bool>,
    store_content: Option<bool>,
    monthly_token_quota: Option<Option<i64>>,
) -> Result<FirmPolicy, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let before = db::copilot::firm_policy(&mut *tx, &caller.firm_id).await?;
    let after = FirmPolicy {
        enabled: enabled.unwrap_or(before.enabled),
        store_content: store_content.unwrap_or(before.store_content),
        monthly_token_quota: monthly_token_quota.unwrap_or(before.monthly_token_quota),
    };
    db::copilot::save_firm_policy(&mut *tx, &caller.firm_id, &after, &caller.user_id).await?;
    audit::audit(
        &mut *tx,
        Audit {
            firm_id: &caller.firm_id,
            case_id: None,
            user_id: Some(&caller.user_id),
            action: "copilot_policy_changed",
            detail: json!({
                "enabled": after.enabled,
                "store_content": after.store_content,
                "monthly_token_quota": after.monthly_token_quota,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Record whether the client consented to AI use on the matter, audited in the same
/// transaction. The caller's right to manage the matter is checked before.
#[tracing::instrument(skip_all, fields(case = %case_id, consented))]
pub async fn record_consent(
    pool: &PgPool,
    caller: &Principal,
    case_id: Uuid,
    consented: bool,
    note: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    db::copilot::save_case_consent(&mut *tx, case_id, consented, note, &caller.user_id).await?;
    audit::audit(
        &mut *tx,
        Audit {
            firm_id: &caller.firm_id,
            case_id: Some(case_id),
            user_id: Some(&caller.user_id),
            action: "ai_consent_set",
            detail: json!({ "consented": consented, "note": note }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Per-user request rate (a sliding minute) and concurrent answers, on this instance.
pub struct RateLimiter {
    per_minute: usize,
    max_concurrent: u32,
    users: Mutex<HashMap<String, UserWindow>>,
}

#[derive(Default)]
struct UserWindow {
    started: VecDeque<Instant>,
    in_flight: u32,
}

const WINDOW: Duration = Duration::from_secs(60);

impl RateLimiter {
    pub fn new(per_minute: u32, max_concurrent: u32) -> Arc<Self> {
        Arc::new(Self {
            per_minute: per_minute as usize,
            max_concurrent,
            users: Mutex::new(HashMap::new()),
        })
    }

    /// Count a new answer for `user`, or say why not and when to try again.
    pub fn acquire(self: &Arc<Self>, user: &str) -> Result<StreamPermit, Refusal> {
        let now = Instant::now();
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if users.len() > 10_000 {
            users.retain(|_, window| {
                window.in_flight > 0
                    || window
                        .started
                        .back()
                        .is_some_and(|last| now.duration_since(*last) < WINDOW)
            });
        }
        let window = users.entry(user.to_owned()).or_default();
        while window
            .started
            .front()
            .is_some_and(|first| now.duration_since(*first) >= WINDOW)
        {
            window.started.pop_front();
        }
        if window.started.len() >= self.per_minute {
            let oldest = window.started.front().copied().unwrap_or(now);
            let wait = WINDOW.saturating_sub(now.duration_since(oldest)).as_secs() + 1;
            return Err(Refusal::RateLimited {
                per_minute: self.per_minute,
                wait_secs: wait,
            });
        }
        if window.in_flight >= self.max_concurrent {
            return Err(Refusal::TooManyStreams {
                in_flight: window.in_flight,
            });
        }
        window.started.push_back(now);
        window.in_flight += 1;
        Ok(StreamPermit {
            limiter: self.clone(),
            user: user.to_owned(),
        })
    }
}

/// One answer in progress; dropping it frees the user's slot.
pub struct StreamPermit {
    limiter: Arc<RateLimiter>,
    user: String,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut users = self
            .limiter
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(window) = users.get_mut(&self.user) {
            window.in_flight = window.in_flight.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_and_concurrency_limits_refuse_with_a_wait() {
        let limiter = RateLimiter::new(3, 2);
        let first = limiter.acquire("ada").unwrap();
        let second = limiter.acquire("ada").unwrap();
        let refused = limiter.acquire("ada").err().unwrap();
        assert_eq!(refused.code(), "too_many_streams");
        drop(first);
        let _third = limiter.acquire("ada").unwrap();
        drop(second);
        let refused = limiter.acquire("ada").err().unwrap();
        assert_eq!(refused.code(), "rate_limited");
        assert!(limiter.acquire("bob").is_ok(), "limits are per user");
    }

    #[test]
    fn refusals_read_as_before() {
        let renews = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let quota = Refusal::QuotaExceeded {
            used_tokens: 120,
            monthly_tokens: 100,
            renews,
            wait_secs: 5,
        };
        assert_eq!(
            quota.to_string(),
            "You have used your AI allowance for this month (120 of 100 tokens). It renews on \
             1 January 2027; a firm administrator can raise it."
        );
        assert_eq!(
            Refusal::RateLimited {
                per_minute: 3,
                wait_secs: 7
            }
            .to_string(),
            "You have asked the copilot 3 times in the last minute, the most allowed. Try again \
             in 7 seconds."
        );
        assert_eq!(
            Refusal::TooManyStreams { in_flight: 2 }.to_string(),
            "You already have 2 copilot answers in progress. Wait for one to finish, or stop one."
        );
        assert_eq!(
            Refusal::NotConfigured.to_string(),
            "The AI copilot is not set up on your firm's server. Ask your administrator to \
             configure an AI model (HUB_COPILOT_API_KEY / HUB_COPILOT_BASE_URL)."
        );
    }

    #[test]
    fn the_quota_period_is_the_calendar_month() {
        let now = Utc.with_ymd_and_hms(2026, 12, 15, 10, 0, 0).unwrap();
        let (start, next) = quota_period(now);
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(next, Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
    }
}
