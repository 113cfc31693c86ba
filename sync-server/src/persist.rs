//! The write path. Every incoming update is appended to Postgres in a transaction before it is
//! applied, broadcast or acked. Updates are group-committed: whatever is queued while one
//! transaction runs goes into the next, so throughput grows with load while each update still
//! waits for exactly one commit. A document's updates from one lawyer in one commit share one
//! row (`pack`): under load a commit carries more updates, and each costs Postgres less.
//! Writers are sharded by document: one document always goes to the same writer, which keeps
//! its updates and acks in order, while several commits (for different documents) are in
//! flight at once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use sqlx::PgPool;
use tokio::sync::mpsc;

use crate::db;
use crate::fanout::Fanout;
use crate::hub::{ConnSender, DocEntry, DocHub, SubId};

/// Most updates in one transaction.
const MAX_BATCH: usize = 2048;
/// Queue depth in front of the writer; senders wait when it is full (back-pressure).
const QUEUE: usize = 16 * 1024;

/// A committed update and the subscription it came through.
type Committed = (Bytes, SubId);

pub struct WriteRequest {
    pub entry: Arc<DocEntry>,
    /// `None` for frames that need an ack in order but carry nothing to store (an empty
    /// SyncStep2). An update has been admitted to `entry` ([`DocEntry::admit`]): it is in
    /// that entry's yrs document already.
    pub update: Option<Bytes>,
    pub user_id: Arc<str>,
    pub origin: ConnSender,
    /// The routing key's subscription the update came through (not echoed back to it).
    pub subscription: SubId,
    /// The pre-encoded SyncStatus frame for the origin's routing key.
    pub ack: Bytes,
    /// When the frame arrived (for the ack-latency histogram).
    pub received: std::time::Instant,
}

#[derive(Clone)]
pub struct Persister {
    shards: Arc<[mpsc::Sender<WriteRequest>]>,
    /// Writes submitted and not yet committed (or failed): shutdown waits for zero.
    in_flight: Arc<AtomicUsize>,
}

impl Persister {
    pub fn start(
        pool: PgPool,
        hub: Arc<DocHub>,
        fanout: Arc<Fanout>,
        compact_after: i64,
        writers: usize,
    ) -> Self {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let shards: Vec<_> = (0..writers.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(run(
                    rx,
                    pool.clone(),
                    hub.clone(),
                    fanout.clone(),
                    compact_after,
                    in_flight.clone(),
                ));
                tx
            })
            .collect();
        Self {
            shards: shards.into(),
            in_flight,
        }
    }

    /// Wait until every submitted write is committed and acked (true) or `deadline` passes.
    pub async fn wait_idle(&self, deadline: tokio::time::Instant) -> bool {
        loop {
            if self.in_flight.load(Ordering::Acquire) == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Queue a write; waits only when the writer is saturated.
    pub async fn submit(&self, request: WriteRequest) -> bool {
        let shard = request.entry.id.unsigned_abs() as usize % self.shards.len();
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let sent = self.shards[shard].send(request).await.is_ok();
        if !sent {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
        sent
    }
}

async fn run(
    mut rx: mpsc::Receiver<WriteRequest>,
    pool: PgPool,
    hub: Arc<DocHub>,
    fanout: Arc<Fanout>,
    compact_after: i64,
    in_flight: Arc<AtomicUsize>,
) {
    let mut batch: Vec<WriteRequest> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let started = std::time::Instant::now();
        let rows = pack(batch.iter().filter_map(|request| {
            let update = request.update.as_ref()?;
            Some((request.entry.id, &*request.user_id, update))
        }));
        if !rows.is_empty()
            && let Err(error) = append_with_retry(&pool, &rows).await
        {
            // Nothing in this batch is acked: clients keep the updates in their outboxes and
            // resend them after reconnecting.
            tracing::error!(%error, rows = rows.len(), updates = batch.len(), "could not store updates; closing their connections");
            crate::metrics::record_write_failure();
            let mut closed = BTreeSet::new();
            for request in &batch {
                if closed.insert(request.origin.id) {
                    request.origin.close(
                        1011,
                        "storage unavailable: your changes are kept and will be resent",
                    );
                }
            }
            in_flight.fetch_sub(batch.len(), Ordering::AcqRel);
            batch.clear();
            continue;
        }
        let stored_rows = rows.len();
        let mut rows_of: HashMap<i64, i64> = HashMap::new();
        for row in rows {
            *rows_of.entry(row.doc_id).or_default() += 1;
        }
        let mut changed_firms: BTreeSet<&str> = BTreeSet::new();
        let mut records: Vec<(uuid::Uuid, crate::hub::RecordChanges)> = Vec::new();
        // The batch's updates by document, in order: each document's are applied and sent
        // together (`DocHub::apply_committed_batch`).
        let mut groups: Vec<(&Arc<DocEntry>, Vec<Committed>)> = Vec::new();
        let mut published = Vec::new();
        let mut group_of: HashMap<i64, usize> = HashMap::new();
        for request in &batch {
            if let Some(update) = &request.update {
                let entry = &request.entry;
                let index = *group_of.entry(entry.id).or_insert_with(|| {
                    groups.push((entry, Vec::new()));
                    groups.len() - 1
                });
                groups[index].1.push((update.clone(), request.subscription));
                changed_firms.insert(entry.firm_id.as_str());
                published.push((entry.name.clone(), entry.firm_id.clone(), update.clone()));
            }
        }
        for (entry, updates) in &groups {
            let rows = rows_of.get(&entry.id).copied().unwrap_or(1);
            if hub.apply_committed_batch(entry, updates, rows, compact_after) {
                crate::hub::compaction::spawn(pool.clone(), hub.clone(), (*entry).clone());
            }
            if !entry.name.contains("/drafts/") {
                let changes = entry.changed_record();
                if changes.title.is_some() || changes.parties.is_some() {
                    records.push((entry.case_id, changes));
                }
            }
        }
        // Not held across the publish below (its clones of the updates are freed now).
        drop(groups);
        for request in &batch {
            request.origin.send(request.ack.clone());
            crate::metrics::record_ack(request.received);
        }
        for firm in changed_firms {
            hub.notify_changed(firm);
        }
        fanout.publish_updates(published).await;
        if !records.is_empty() {
            tokio::spawn(keep_records(pool.clone(), records));
        }
        crate::metrics::record_batch(batch.len(), stored_rows, started.elapsed());
        in_flight.fetch_sub(batch.len(), Ordering::AcqRel);
        batch.clear();
    }
}

/// The batch's updates, as `(document, lawyer, update)` in arrival order, as rows: those of
/// one document from one lawyer go into one row, each kept whole and in order
/// (`db::sync::pack_parts`; a load reads them back one by one), so a commit appends a row per
/// document and lawyer instead of a row per keystroke. Rows keep the order of each group's
/// first update. Grouping cannot reorder a causal dependency: a lawyer sees another's update
/// only after it is committed, so nothing in one commit builds on another lawyer's update of
/// the same commit.
fn pack<'a>(
    updates: impl IntoIterator<Item = (i64, &'a str, &'a Bytes)>,
) -> Vec<db::sync::NewUpdate<'a>> {
    let mut groups: Vec<(i64, &str, Vec<&Bytes>)> = Vec::new();
    let mut group_of: HashMap<(i64, &str), usize> = HashMap::new();
    for (doc_id, user_id, update) in updates {
        let index = *group_of.entry((doc_id, user_id)).or_insert_with(|| {
            groups.push((doc_id, user_id, Vec::new()));
            groups.len() - 1
        });
        groups[index].2.push(update);
    }
    groups
        .into_iter()
        .map(|(doc_id, user_id, updates)| {
            let (bytes, parts) = match updates[..] {
                // The update as it came (no copy).
                [update] => (update.clone(), 1),
                _ => {
                    let parts: Vec<&[u8]> = updates.iter().map(|update| update.as_ref()).collect();
                    let count = i32::try_from(parts.len()).unwrap_or(i32::MAX);
                    (Bytes::from(db::sync::pack_parts(&parts)), count)
                }
            };
            db::sync::NewUpdate {
                doc_id,
                user_id,
                bytes,
                parts,
            }
        })
        .collect()
}

/// Keep what the server reads off matter documents, after the commit and off the write path:
/// titles for lists, parties for the conflicts check's index, and the check a new matter was
/// created after (`conflicts`). A failure is logged; the next change of the matter retries.
async fn keep_records(pool: PgPool, records: Vec<(uuid::Uuid, crate::hub::RecordChanges)>) {
    for (case_id, changes) in records {
        if let Some(title) = changes.title
            && let Err(error) = db::sync::set_case_title(&pool, case_id, &title).await
        {
            tracing::warn!(%error, "could not record a matter's title");
        }
        let Some(record) = changes.parties else {
            continue;
        };
        if let Err(error) = db::conflicts::replace_parties(&pool, case_id, &record.parties).await {
            tracing::warn!(%error, "could not index a matter's parties");
        }
        let check = record.check.as_deref().map(uuid::Uuid::parse_str);
        let result = match (check, record.decision.as_deref()) {
            (Some(Ok(check)), decision) => {
                db::conflicts::record_on_matter(&pool, case_id, Some(check), decision.unwrap_or(""))
                    .await
            }
            (None, Some(decision)) => {
                db::conflicts::record_on_matter(&pool, case_id, None, decision).await
            }
            _ => Ok(()),
        };
        if let Err(error) = result {
            tracing::warn!(%error, "could not record a matter's conflicts check");
        }
    }
}

async fn append_with_retry(
    pool: &PgPool,
    rows: &[db::sync::NewUpdate<'_>],
) -> Result<(), sqlx::Error> {
    let mut delay = std::time::Duration::from_millis(50);
    let mut attempt = 0;
    loop {
        match db::sync::append_updates(pool, rows).await {
            Ok(()) => return Ok(()),
            Err(error) if attempt < 3 => {
                tracing::warn!(%error, attempt, "retrying update append");
                tokio::time::sleep(delay).await;
                delay *= 4;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(batch: &[(i64, &'static str, Bytes)]) -> Vec<(i64, String, Vec<Vec<u8>>)> {
        pack(batch.iter().map(|(doc, user, bytes)| (*doc, *user, bytes)))
            .into_iter()
            .map(|row| {
                let parts = db::sync::unpack_parts(row.bytes.to_vec(), row.parts).expect("unpacks");
                (row.doc_id, row.user_id.to_owned(), parts)
            })
            .collect()
    }

    #[test]
    fn a_lawyers_updates_to_one_document_in_one_commit_share_a_row_each_kept_whole_in_order() {
        let update = |text: &str| Bytes::copy_from_slice(text.as_bytes());
        let batch = [
            (7, "alice", update("a1")),
            (7, "alice", update("a2")),
            (9, "alice", update("o1")),
            (7, "bob", update("b1")),
            (7, "alice", update("a3")),
        ];
        let as_bytes = |parts: &[&str]| -> Vec<Vec<u8>> {
            parts.iter().map(|part| part.as_bytes().to_vec()).collect()
        };
        assert_eq!(
            rows_of(&batch),
            [
                (7, "alice".to_owned(), as_bytes(&["a1", "a2", "a3"])),
                (9, "alice".to_owned(), as_bytes(&["o1"])),
                (7, "bob".to_owned(), as_bytes(&["b1"])),
            ]
        );
    }

    /// A release before packing reads a row's bytes as one update: a packed row must be refused
    /// by the check every stored update goes through before yrs, not misread.
    #[test]
    fn a_packed_row_read_as_one_update_is_refused_not_misread() {
        use yrs::{Text, Transact};
        let doc = yrs::Doc::new();
        let body = doc.get_or_insert_text("body");
        let updates: Vec<Vec<u8>> = (0..3)
            .map(|i| {
                let mut txn = doc.transact_mut();
                body.insert(&mut txn, i, "x");
                txn.encode_update_v1()
            })
            .collect();
        let parts: Vec<&[u8]> = updates.iter().map(Vec::as_slice).collect();
        let packed = db::sync::pack_parts(&parts);
        assert!(protocol::check_update_v1(&packed).is_err());
        let stored = db::sync::StoredDocument {
            snapshot: None,
            updates: vec![(1, packed)],
        };
        assert!(crate::hub::rebuild_state(&stored).is_err());
    }

    #[test]
    fn a_row_that_is_not_packed_but_says_it_holds_several_updates_is_an_error() {
        assert!(db::sync::unpack_parts(vec![2, 1, 1, 1, 2], 2).is_err());
        assert!(db::sync::unpack_parts(db::sync::pack_parts(&[b"a", b"b"]), 3).is_err());
        assert!(db::sync::unpack_parts(Vec::new(), 0).is_err());
    }

    #[test]
    fn one_update_is_stored_as_it_came() {
        let update = Bytes::from_static(&[1, 2, 3]);
        let rows = pack([(1, "alice", &update)]);
        assert_eq!(rows.len(), 1);
        assert_eq!((&rows[0].bytes, rows[0].parts), (&update, 1));
    }

    #[test]
    fn large_and_empty_updates_keep_their_bounds() {
        let big = Bytes::from(vec![0xab; 300_000]);
        let empty = Bytes::new();
        let small = Bytes::from_static(&[0]);
        let rows = rows_of(&[(1, "a", big.clone()), (1, "a", empty), (1, "a", small)]);
        assert_eq!(rows[0].2, [big.to_vec(), Vec::new(), vec![0]]);
    }
}
