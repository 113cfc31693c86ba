//! Reconnect delays: exponential growth from `min` to `max`, with full jitter inside that window
//! so that many clients dropped by one server restart do not come back in lockstep.

use std::time::Duration;

use rand::Rng;

/// The delay before reconnect attempt `attempt` (0-based): uniform in `[min, min · 2^attempt]`,
/// capped at `max`.
pub(crate) fn delay(min: Duration, max: Duration, attempt: u32) -> Duration {
    let max = max.max(min);
    let cap = min
        .saturating_mul(2u32.saturating_pow(attempt.min(20)))
        .min(max);
    let low = min.as_millis() as u64;
    let high = (cap.as_millis() as u64).max(low);
    Duration::from_millis(rand::rng().random_range(low..=high))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_stays_within_bounds() {
        let min = Duration::from_millis(100);
        let max = Duration::from_secs(5);
        for attempt in 0..40 {
            let cap = (min * 2u32.saturating_pow(attempt.min(20))).min(max);
            for _ in 0..20 {
                let value = delay(min, max, attempt);
                assert!(value >= min && value <= cap, "{attempt}: {value:?}");
            }
        }
        assert_eq!(delay(min, min, 7), min);
        assert_eq!(delay(min, Duration::ZERO, 3), min);
    }
}
