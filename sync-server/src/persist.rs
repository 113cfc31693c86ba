//! The write path. Every incoming update is appended to Postgres in a transaction before it is
//! applied, broadcast or acked. Updates are group-committed: whatever is queued while one
//! transaction runs goes into the next, so throughput grows with load while each update still
//! waits for exactly one commit. Writers are sharded by document: one document always goes to
//! the same writer, which keeps its updates and acks in order, while several commits (for
//! different documents) are in flight at once.

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
    /// SyncStep2).
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
        let rows: Vec<db::sync::NewUpdate<'_>> = batch
            .iter()
            .filter_map(|request| {
                request.update.as_ref().map(|bytes| db::sync::NewUpdate {
                    doc_id: request.entry.id,
                    bytes,
                    user_id: &request.user_id,
                })
            })
            .collect();
        if !rows.is_empty()
            && let Err(error) = append_with_retry(&pool, &rows).await
        {
            // Nothing in this batch is acked: clients keep the updates in their outboxes and
            // resend them after reconnecting.
            tracing::error!(%error, updates = rows.len(), "could not store updates; closing their connections");
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
        drop(rows);
        let mut changed_firms: BTreeSet<&str> = BTreeSet::new();
        let mut published = Vec::new();
        let mut records: Vec<(uuid::Uuid, crate::hub::RecordChanges)> = Vec::new();
        // The batch's updates by document, in order: each document's are applied and sent
        // together (`DocHub::apply_committed_batch`).
        let mut groups: Vec<(&Arc<DocEntry>, Vec<Committed>)> = Vec::new();
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
            if hub.apply_committed_batch(&entry.name, updates, compact_after) {
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
        crate::metrics::record_batch(batch.len(), started.elapsed());
        in_flight.fetch_sub(batch.len(), Ordering::AcqRel);
        batch.clear();
    }
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
