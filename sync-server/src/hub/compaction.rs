//! Compaction: when a document's update log grows past `HUB_COMPACT_AFTER` rows, fold it into a
//! snapshot in the background. The write path and the fan-out subscriber ask for it through
//! [`DocHub::apply_committed`]'s answer; the hub keeps one compaction per document in flight.

use std::sync::Arc;

use sqlx::PgPool;

use super::{DocEntry, DocHub, bad_document, cpu_bound, rebuild_state};
use crate::db;

/// Fold a document's log into a snapshot in the background.
pub fn spawn(pool: PgPool, hub: Arc<DocHub>, entry: Arc<DocEntry>) {
    tokio::spawn(async move {
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
                0
            }
        };
        hub.finish_compaction(&entry, folded);
    });
}
