//! Compaction: when a document's update log grows past `HUB_COMPACT_AFTER` rows (or eight times
//! as many updates: a row may hold several, `persist::pack`), fold it into a snapshot in the
//! background. Counting rows, not updates, compacts less often under load, when rows hold
//! more: at 20,000 updates/s over 50 documents (`durable` bench) ack p99 17–21 ms instead of
//! 21–30 ms, and the closed loop 71,000–76,000 updates/s instead of 48,000–59,000
//! (docs/BENCHMARKS.md, "Session 16"). The write path and the fan-out subscriber ask for it
//! through [`DocHub::apply_committed`]'s answer; the hub keeps one compaction per document in flight,
//! and runs one at a time. Compaction is background work: documents written at the same pace
//! (50 drafts in the `durable` bench, a firm's import) reach the threshold together, and 50
//! compactions at once (each reading, rebuilding, rewriting and deleting 1,000 rows) took the
//! one core from the write path: ack p99 518 ms at 10,000 updates/s, 38 ms with compaction off.
//! So each document's threshold is also spread over a quarter more rows ([`threshold`]).

use std::sync::Arc;

use sqlx::PgPool;

use super::{DocEntry, DocHub, bad_document, cpu_bound, rebuild_state};
use crate::db;

/// Fold a document's log into a snapshot in the background.
pub fn spawn(pool: PgPool, hub: Arc<DocHub>, entry: Arc<DocEntry>) {
    tokio::spawn(async move {
        // Never closed, so this only waits for the compaction before it.
        let _turn = hub.compactions.acquire().await;
        let rebuild = |stored: &db::sync::StoredDocument| {
            cpu_bound(|| rebuild_state(stored)).inspect_err(|error| {
                bad_document(
                    entry.id,
                    "compaction skipped: history does not integrate",
                    error,
                );
            })
        };
        let folded = match db::sync::compact_document(&pool, entry.id, rebuild).await {
            Ok(folded) => folded,
            Err(error) => {
                tracing::warn!(%error, doc = entry.id, "compaction failed");
                db::sync::Folded::default()
            }
        };
        hub.finish_compaction(&entry, folded);
    });
}

/// A log of `threshold` rows is also compacted once it holds this many times as many updates:
/// a load applies each of them.
pub const UPDATES_PER_ROW: i64 = 8;

/// The log length at which a document is compacted: `compact_after`, plus up to a quarter more
/// fixed per document, so documents written at the same pace do not all compact at once.
pub fn threshold(doc_id: i64, compact_after: i64) -> i64 {
    let spread = compact_after / 4;
    if spread <= 0 {
        return compact_after;
    }
    let mixed = (doc_id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33;
    compact_after.saturating_add((mixed % spread as u64) as i64)
}

#[cfg(test)]
mod tests {
    use super::threshold;

    #[test]
    fn thresholds_are_spread_over_a_quarter_more_and_fixed_per_document() {
        let all: Vec<i64> = (1..=50).map(|id| threshold(id, 1000)).collect();
        assert!(all.iter().all(|t| (1000..1250).contains(t)));
        // 50 documents created together (consecutive ids) are spread over the range, not
        // bunched: a wide span, and no threshold shared by more than a few.
        let span = all.iter().max().unwrap() - all.iter().min().unwrap();
        assert!(span >= 200, "thresholds span only {span} rows");
        let most = all
            .iter()
            .map(|t| all.iter().filter(|other| *other == t).count())
            .max()
            .unwrap();
        assert!(most <= 3, "{most} documents share one threshold");
        assert_eq!(threshold(42, 1000), threshold(42, 1000));
        assert_eq!(threshold(7, 3), 3);
        // "Never compact" set as the largest number does not wrap to "always".
        assert_eq!(threshold(7, i64::MAX), i64::MAX);
    }
}
