//! Documents loaded in this instance: their yrs state, who is subscribed, awareness, and the
//! firm-wide catch-up subscribers. All broadcasts encode a frame once and share the buffer.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use protocol::{
    AwarenessEntry, AwarenessUpdate, Frame, HubMessage, IntegrateError, Message, SyncMessage,
};
use sqlx::PgPool;
use tokio::sync::OnceCell;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Transact};

use crate::db;

pub mod compaction;

pub type ConnId = u64;
/// One routing key of one connection: the unit of access, broadcast and awareness ownership. A
/// socket may open one document under several keys (`name` and `name\0session`, as the provider
/// multiplexes); each key is its own subscription with its own live access.
pub type SubId = u64;

/// What a connection writes next.
#[derive(Debug)]
pub enum Outbound {
    Frame(Bytes),
    Close { code: u16, reason: String },
}

/// Frames queued for one connection before it counts as too slow.
pub const OUTBOUND_QUEUE: usize = 4096;

/// One connection's outgoing frames: a plain queue under a lock and a wake-up, read by the
/// connection's own task. An idle connection holds an empty queue (no allocation) and no task
/// of its own for writing.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: Mutex<OutboxQueue>,
    ready: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct OutboxQueue {
    frames: std::collections::VecDeque<Bytes>,
    /// Set once: the connection is to be closed with this code and reason after the frames
    /// already queued.
    close: Option<(u16, String)>,
    /// The connection's task has ended: nothing more is accepted.
    gone: bool,
}

impl Outbox {
    /// Wait until there is something to write.
    pub async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Move the queued frames into `into` (oldest first); returns the close request, if any,
    /// which comes after them.
    pub fn take(&self, into: &mut std::collections::VecDeque<Bytes>) -> Option<(u16, String)> {
        if into.capacity() > 64 {
            // A burst's buffer is not kept for an idle connection.
            *into = std::collections::VecDeque::new();
        }
        let mut queue = lock(&self.queue);
        std::mem::swap(&mut queue.frames, into);
        queue.close.clone()
    }

    /// The connection's task has ended.
    pub fn finish(&self) {
        let mut queue = lock(&self.queue);
        queue.gone = true;
        queue.frames = std::collections::VecDeque::new();
    }
}

/// The sending half of one connection. Bounded: a subscriber that cannot keep up is closed
/// (it reconnects and catches up) rather than letting memory grow without limit.
#[derive(Clone, Debug)]
pub struct ConnSender {
    pub id: ConnId,
    outbox: Arc<Outbox>,
}

impl ConnSender {
    pub fn new(id: ConnId, outbox: Arc<Outbox>) -> Self {
        Self { id, outbox }
    }

    /// Queue a frame; returns false if the connection is gone or too slow (and then closes it).
    pub fn send(&self, frame: Bytes) -> bool {
        let mut queue = lock(&self.outbox.queue);
        if queue.gone || queue.close.is_some() {
            return false;
        }
        if queue.frames.len() >= OUTBOUND_QUEUE {
            tracing::warn!(conn = self.id, "closing a connection that fell behind");
            queue.close = Some((1013, "too slow: reconnect and catch up".into()));
            drop(queue);
            self.outbox.ready.notify_one();
            return false;
        }
        let wake = queue.frames.is_empty();
        queue.frames.push_back(frame);
        drop(queue);
        // One wake-up per batch: frames queued before the task ran are written together.
        if wake {
            self.outbox.ready.notify_one();
        }
        true
    }

    pub fn close(&self, code: u16, reason: &str) {
        let mut queue = lock(&self.outbox.queue);
        if queue.gone || queue.close.is_some() {
            return;
        }
        queue.close = Some((code, reason.to_owned()));
        drop(queue);
        self.outbox.ready.notify_one();
    }
}

struct Subscriber {
    sender: ConnSender,
    /// The routing key this connection uses for the document (name, or name + `\0session`).
    routing_key: String,
    user_id: Arc<str>,
    /// The subscriber's live access, shared with its connection: [`Role::code`]; 0 = revoked.
    access: Arc<AtomicU8>,
    /// A matter record or a draft: the scope a new role gives (`Role::writes`).
    kind: protocol::DocKind,
    /// When the subscriber's token expires (seconds since the epoch), shared with its
    /// connection, which moves it on when the client re-authenticates.
    expires_at: Arc<AtomicI64>,
    /// The expiry for which a fresh token was last requested (one request per expiry, however
    /// many broadcasts it misses).
    token_requested_for: AtomicI64,
}

/// A connection joining a document's subscribers.
pub struct NewSubscriber {
    pub sender: ConnSender,
    /// The routing key this connection uses for the document.
    pub routing_key: String,
    pub user_id: Arc<str>,
    /// Live access shared with the connection ([`crate::role::Role::code`]).
    pub access: Arc<AtomicU8>,
    pub kind: protocol::DocKind,
    pub expires_at: Arc<AtomicI64>,
    /// The encoded `Authenticated` answer: queued under the document's lock, before anything
    /// the hub relays to this subscription can be.
    pub greeting: Bytes,
}

/// A connection following its firm's changes on the catch-up channel.
struct HubSubscriber {
    sender: ConnSender,
    /// Whose connection it is: a matter shared with them is announced to them alone.
    user_id: String,
    /// The token's expiry (seconds since the epoch), shared with the connection: no notice is
    /// sent on an expired token.
    expires_at: Arc<AtomicI64>,
    last_push: Option<Instant>,
    /// A change happened while pushes were paused for this subscriber.
    owed: bool,
}

/// One round of change notices: each subscriber offered one gets it now, unless its token has
/// expired (its next request is answered with a token request) or it had one less than
/// [`PUSH_INTERVAL`] ago; then the notice is owed until [`DocHub::flush_owed`] can send it.
struct Push {
    now: Instant,
    now_secs: i64,
    notice: Option<Bytes>,
}

impl Push {
    fn new() -> Self {
        Self {
            now: Instant::now(),
            now_secs: chrono::Utc::now().timestamp(),
            notice: None,
        }
    }

    fn offer(&mut self, subscriber: &mut HubSubscriber) {
        let now = self.now;
        if subscriber.expires_at.load(Ordering::Acquire) <= self.now_secs
            || subscriber
                .last_push
                .is_some_and(|at| now.duration_since(at) < PUSH_INTERVAL)
        {
            subscriber.owed = true;
            return;
        }
        subscriber
            .sender
            .send(self.notice.get_or_insert_with(changed_notice).clone());
        subscriber.last_push = Some(now);
        subscriber.owed = false;
    }
}

/// Least time between two change notices to one connection (each makes it run a catch-up query).
pub const PUSH_INTERVAL: Duration = Duration::from_secs(1);

fn changed_notice() -> Bytes {
    Bytes::from(
        Frame::new(
            protocol::HUB_CHANNEL,
            Message::Stateless(
                HubMessage::Changed {
                    cursor: 0,
                    docs: Vec::new(),
                }
                .to_json(),
            ),
        )
        .encode(),
    )
}

struct AwarenessSlot {
    clock: u64,
    state: String,
    /// The subscription that introduced this client id (None: another instance's client). Only
    /// it may change or remove the state.
    owner: Option<SubId>,
}

struct DocState {
    /// False until the stored history is fetched; committed updates that arrive meanwhile wait
    /// in `pending` so none is missed between the load query and the registration.
    loaded: bool,
    pending: Vec<Bytes>,
    /// The stored history as fetched plus every update committed since, while the document is
    /// not materialized. A first sync (empty state vector) is answered from these bytes, so a
    /// cold open costs a Postgres read, not an integration of the whole history.
    history: Option<StoredHistory>,
    /// The yrs document, built from `history` the first time a diff is needed.
    doc: Option<Doc>,
    subscribers: HashMap<SubId, Subscriber>,
    awareness: HashMap<u64, AwarenessSlot>,
    /// The answer to the last first sync, kept until the document changes ([`DocState::changed`]).
    first_sync: Option<FirstSync>,
    /// Presence accepted and not yet relayed: sent together, once per [`PRESENCE_BATCH`].
    presence_out: Vec<AwarenessEntry>,
    /// The one subscription all of `presence_out` came from (`Some(None)`: several, or another
    /// instance), which is not sent its own presence back.
    presence_origin: Option<Option<SubId>>,
    idle_since: Option<Instant>,
    /// Rows in the Postgres update log, and the updates they hold (compaction trigger).
    log_rows: i64,
    log_updates: i64,
    /// The last title seen in a case document (Y.Map `case`, key `title`).
    title: Option<String>,
    /// The last parties and conflicts check seen in a case document (`conflicts::index`).
    parties: Option<crate::conflicts::index::MatterParties>,
    /// The stored bytes loaded plus those committed since: how much work encoding or
    /// materializing the document is (an estimate; see [`cpu_bound`]).
    approx_bytes: usize,
}

/// A draft's metadata map (title, the deletion tombstone): `hub_local`'s `DRAFT_META`.
const DRAFT_META: &str = "meta";

/// How long accepted presence waits to be relayed with whatever else arrives meanwhile.
pub const PRESENCE_BATCH: Duration = Duration::from_millis(30);

/// Updates kept unintegrated before the document is materialized anyway.
const HISTORY_LIMIT: usize = 4096;
/// A first sync is answered with the stored rows as they are only up to this many; beyond it the
/// document's state is encoded once and sent as one Step2 (a legal-hold document with 100,000
/// rows would otherwise be 100,000 frames, more than any connection's queue holds).
const FIRST_SYNC_MAX_ROWS: usize = 256;

impl DocState {
    /// Whether the log should be folded into a snapshot: `compact_after` rows (spread per
    /// document, `compaction::threshold`), or eight times as many updates, since rows may hold
    /// several (`persist::pack`) and a load applies every update.
    fn compaction_due(&self, doc_id: i64, compact_after: i64) -> bool {
        let threshold = compaction::threshold(doc_id, compact_after);
        self.log_rows >= threshold
            || self.log_updates >= threshold.saturating_mul(compaction::UPDATES_PER_ROW)
    }

    /// Apply a committed update to the document, or add it to the held history; `in_doc`: it
    /// is in the document already (admitted to it, `DocHub::apply_committed_batch`).
    fn integrate_committed(&mut self, doc_id: i64, update: &[u8], in_doc: bool) {
        self.approx_bytes = self.approx_bytes.saturating_add(update.len());
        if in_doc {
            return;
        }
        if let Some(doc) = &self.doc {
            match apply(doc, update) {
                Ok(()) => {}
                // Another instance's update that skips or builds on changes this instance has
                // not heard of (Redis dropped them): the document is unchanged, and the resync
                // after the gap (`resync_from_store`) brings both, in order.
                Err(IntegrateError::Refused(error)) => tracing::warn!(
                    doc = doc_id,
                    %error,
                    "committed update does not apply yet: this instance is behind"
                ),
                Err(error @ IntegrateError::Integration(_)) => bad_document(
                    doc_id,
                    "committed update does not apply",
                    &error.to_string(),
                ),
            }
        } else if let Some(history) = &mut self.history {
            history.updates.push(update.to_vec());
            if history.updates.len() > HISTORY_LIMIT {
                self.materialize(doc_id);
            }
        }
    }

    /// The document's content changed (or may have): a cached first-sync answer is stale.
    fn changed(&mut self) {
        self.first_sync = None;
    }

    /// The yrs document, integrating the held history on first use.
    fn materialize(&mut self, doc_id: i64) -> Option<&Doc> {
        if self.doc.is_none() {
            let history = self.history.take()?;
            let doc = history_keeping_doc();
            if let Some(snapshot) = &history.snapshot
                && let Err(error) = apply(&doc, snapshot)
            {
                bad_document(doc_id, "stored snapshot does not apply", &error.to_string());
            }
            for update in &history.updates {
                if let Err(error) = apply(&doc, update) {
                    bad_document(doc_id, "stored update does not apply", &error.to_string());
                }
            }
            self.doc = Some(doc);
        }
        self.doc.as_ref()
    }
}

/// One loaded document.
pub struct DocEntry {
    pub id: i64,
    pub name: String,
    pub firm_id: String,
    pub case_id: uuid::Uuid,
    pub kind: protocol::DocKind,
    ready: OnceCell<()>,
    compacting: AtomicBool,
    state: Mutex<DocState>,
}

struct StoredHistory {
    snapshot: Option<Vec<u8>>,
    updates: Vec<Vec<u8>>,
}

/// The answer to a SyncStep1.
pub struct Step1Answer {
    /// The encoded frames to send, in order: the SyncStep2 with what the client lacks, then any
    /// updates that follow it (first syncs answered from storage). A first sync of an unchanged
    /// document shares these buffers with every other first sync under the same routing key: a
    /// join storm of 150 lawyers on a 20 MB draft encodes it once and holds it once.
    pub frames: Arc<[Bytes]>,
    /// Our state vector, for our own Step1.
    pub state_vector: Vec<u8>,
}

/// The cached answer to a first sync (empty state vector), until the document changes.
struct FirstSync {
    key: String,
    frames: Arc<[Bytes]>,
    state_vector: Vec<u8>,
}

/// The lock if it is free now (a poisoned one, too).
fn try_lock<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match mutex.try_lock() {
        Ok(guard) => Some(guard),
        Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks would be a bug; keep serving the data anyway.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// yrs work on one document with its panics caught: a defect (or a hostile update) that makes
/// yrs panic fails that one call, never the task that made it (a writer shard serves many
/// documents).
pub fn guarded<R>(work: impl FnOnce() -> Result<R, String>) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| Err("yrs panicked".to_owned()))
}

/// Integrate `update` into `doc` through [`protocol::integrate_update`], which first refuses
/// (document unchanged) the updates that make yrs 0.28.1 use memory it has freed; a panic inside
/// yrs is contained here, as in [`guarded`].
fn apply(doc: &Doc, update: &[u8]) -> Result<(), IntegrateError> {
    catch_unwind(AssertUnwindSafe(|| {
        protocol::integrate_update(&mut doc.transact_mut(), update)
    }))
    .unwrap_or_else(|_| Err(IntegrateError::Integration("yrs panicked".to_owned())))
}

/// Run CPU-heavy work (integrating a long history, encoding a large document) without stalling
/// the other tasks scheduled on this worker thread: on the multi-threaded runtime they are
/// moved to another worker. Only for work known to be heavy ([`DocEntry::step1_is_heavy`],
/// [`DocEntry::admit_is_heavy`]): handing the worker over wakes another thread (microseconds of
/// scheduling, more than a small update's whole integration), and each thread it starts gets a
/// malloc arena of its own (issue 18: 2,000 first syncs through it grew the server from 3 to 25
/// threads, with ~25 MB of arenas).
pub fn cpu_bound<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// [`cpu_bound`] when `heavy`, else inline.
pub fn cpu_bound_if<R>(heavy: bool, work: impl FnOnce() -> R) -> R {
    if heavy { cpu_bound(work) } else { work() }
}

/// A document (stored bytes) at least this large is heavy to encode or materialize (about a
/// millisecond of CPU or more).
const HEAVY_DOCUMENT_BYTES: usize = 512 * 1024;
/// An update at least this large is heavy to integrate (a paste, an import).
const HEAVY_UPDATE_BYTES: usize = 64 * 1024;

/// Metric: documents whose stored history could not be integrated (each occurrence).
pub const BAD_DOCUMENTS: &str = "hub_bad_documents_total";

/// A stored document that yrs cannot integrate: say which, count it, carry on with the others.
pub fn bad_document(doc_id: i64, what: &str, error: &str) {
    tracing::error!(doc_id, %error, "{what}");
    metrics::counter!(BAD_DOCUMENTS).increment(1);
}

/// A document that keeps deleted content (garbage collection off). Versions are snapshots
/// (state vector + delete set) inside the document; rebuilding one needs the deleted text, so
/// the state the server encodes — for compaction and for laptops that join later — must keep
/// it (docs/DRAFT_FORMAT.md).
pub fn history_keeping_doc() -> Doc {
    Doc::with_options(yrs::Options {
        skip_gc: true,
        ..yrs::Options::default()
    })
}

/// Rebuild a document from its stored snapshot and updates and encode its full state.
pub fn rebuild_state(stored: &db::sync::StoredDocument) -> Result<Vec<u8>, String> {
    let doc = history_keeping_doc();
    if let Some(snapshot) = &stored.snapshot {
        apply(&doc, snapshot).map_err(|error| error.to_string())?;
    }
    for (_, update) in &stored.updates {
        apply(&doc, update).map_err(|error| error.to_string())?;
    }
    guarded(|| {
        Ok(doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default()))
    })
}

pub fn update_frame(routing_key: &str, update: &[u8]) -> Bytes {
    Bytes::from(
        Frame::new(
            routing_key,
            Message::Sync(SyncMessage::Update(update.to_vec())),
        )
        .encode(),
    )
}

impl DocEntry {
    fn new(row: &db::sync::DocumentRow, name: &str) -> Self {
        Self {
            id: row.id,
            name: name.to_owned(),
            firm_id: row.firm_id.clone(),
            case_id: row.case_id,
            kind: row.kind,
            ready: OnceCell::new(),
            compacting: AtomicBool::new(false),
            state: Mutex::new(DocState {
                loaded: false,
                doc: None,
                pending: Vec::new(),
                history: None,
                subscribers: HashMap::new(),
                awareness: HashMap::new(),
                first_sync: None,
                presence_out: Vec::new(),
                presence_origin: None,
                idle_since: Some(Instant::now()),
                log_rows: 0,
                log_updates: 0,
                title: None,
                parties: None,
                approx_bytes: 0,
            }),
        }
    }

    async fn load(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let stored = db::sync::load_document_consistent(pool, self.id).await?;
        let mut state = lock(&self.state);
        state.log_rows = stored.rows() as i64;
        state.log_updates = stored.updates.len() as i64;
        let mut updates: Vec<Vec<u8>> =
            stored.updates.into_iter().map(|(_, bytes)| bytes).collect();
        updates.extend(state.pending.drain(..).map(|bytes| bytes.to_vec()));
        state.approx_bytes = stored.snapshot.as_ref().map_or(0, Vec::len)
            + updates.iter().map(Vec::len).sum::<usize>();
        state.history = Some(StoredHistory {
            snapshot: stored.snapshot,
            updates,
        });
        state.loaded = true;
        Ok(())
    }

    /// Answer a client's SyncStep1 under routing key `key`: what it lacks, and our state vector.
    /// A first sync (empty state vector) is answered from a cache until the document changes.
    pub fn sync_step1(&self, key: &str, state_vector: &[u8]) -> Result<Step1Answer, String> {
        let remote = StateVector::decode_v1(state_vector).map_err(|error| error.to_string())?;
        let step2 = |payload: Vec<u8>| {
            Bytes::from(Frame::new(key, Message::Sync(SyncMessage::Step2(payload))).encode())
        };
        let mut state = lock(&self.state);
        if remote.is_empty()
            && let Some(cached) = &state.first_sync
            && cached.key == key
        {
            return Ok(Step1Answer {
                frames: cached.frames.clone(),
                state_vector: cached.state_vector.clone(),
            });
        }
        let answer = if remote.is_empty()
            && let Some(history) = &state.history
            && history.updates.len() <= FIRST_SYNC_MAX_ROWS
        {
            // The client has nothing, so it lacks everything: send the stored bytes as they
            // are. Our own Step1 then carries an empty state vector, which is exact for what
            // the client can owe us (nothing but edits it makes from now on, sent as updates).
            let mut frames = Vec::with_capacity(1 + history.updates.len());
            frames.push(step2(
                history.snapshot.clone().unwrap_or_else(|| vec![0, 0]),
            ));
            frames.extend(
                history
                    .updates
                    .iter()
                    .map(|update| update_frame(key, update)),
            );
            Step1Answer {
                frames: frames.into(),
                state_vector: StateVector::default().encode_v1(),
            }
        } else {
            let doc = state.materialize(self.id).ok_or("document is not loaded")?;
            let (payload, state_vector) = guarded(|| {
                let txn = doc.transact();
                Ok((
                    txn.encode_state_as_update_v1(&remote),
                    txn.state_vector().encode_v1(),
                ))
            })?;
            Step1Answer {
                frames: Arc::from([step2(payload)]),
                state_vector,
            }
        };
        if remote.is_empty() {
            state.first_sync = Some(FirstSync {
                key: key.to_owned(),
                frames: answer.frames.clone(),
                state_vector: answer.state_vector.clone(),
            });
        }
        Ok(answer)
    }

    /// Whether answering this SyncStep1 is real work: not a cached first sync, and a large
    /// document to encode. A document locked by other work (an encoding, a materialization)
    /// counts as heavy: the worker thread must not wait for it.
    pub fn step1_is_heavy(&self, key: &str, state_vector: &[u8]) -> bool {
        let Some(state) = try_lock(&self.state) else {
            return true;
        };
        // An empty state vector is encoded as a single 0 (no clients).
        let cached = state_vector == [0]
            && state
                .first_sync
                .as_ref()
                .is_some_and(|cached| cached.key == key);
        !cached && state.approx_bytes >= HEAVY_DOCUMENT_BYTES
    }

    /// Whether admitting `update` is real work: a large update, or a large document still to
    /// be materialized.
    pub fn admit_is_heavy(&self, update: &[u8]) -> bool {
        update.len() >= HEAVY_UPDATE_BYTES
            || try_lock(&self.state).is_none_or(|state| {
                state.doc.is_none() && state.approx_bytes >= HEAVY_DOCUMENT_BYTES
            })
    }

    /// Integrate a client's update into the in-memory document before it is stored: an update
    /// that decodes but that yrs cannot integrate (an item whose parent is not a type, say), or
    /// cannot integrate safely (a malformed change: one that skips clocks, builds on what the
    /// document lacks, or restates clocks it holds elsewhere), is refused here, so it never
    /// reaches Postgres, where it would break every later load, compaction and backup of the
    /// document. Integration is idempotent, so the update is applied again, at no cost, when its
    /// commit is broadcast. On [`IntegrateError::Refused`] the document is unchanged; on
    /// [`IntegrateError::Integration`] it may hold part of the update: the caller must
    /// [`DocHub::reload`] it.
    ///
    /// With `within` (a commenter's change), the update must also stay under that root type of
    /// the document as it is now ([`protocol::check_within_root`]), checked under the same lock
    /// as the integration so no other change slips between; else it is refused with
    /// `ProtocolError::OutsideScope` and the document is unchanged.
    pub fn admit(&self, update: &[u8], within: Option<&str>) -> Result<(), IntegrateError> {
        let mut state = lock(&self.state);
        let doc = state
            .materialize(self.id)
            .ok_or_else(|| IntegrateError::Integration("document is not loaded".to_owned()))?;
        if let Some(root) = within {
            catch_unwind(AssertUnwindSafe(|| {
                protocol::check_within_root(&doc.transact(), update, root)
            }))
            .unwrap_or_else(|_| {
                Err(protocol::ProtocolError::InvalidUpdate(
                    "yrs panicked".to_owned(),
                ))
            })
            .map_err(IntegrateError::Refused)?;
        }
        let result = apply(doc, update);
        state.changed();
        result
    }

    /// For a draft: whether its deletion tombstone (`meta.deleted`, docs/DRAFT_FORMAT.md) is
    /// set in the in-memory document.
    pub fn draft_deleted(&self) -> bool {
        use yrs::{Map, Out};
        if self.kind != protocol::DocKind::Draft {
            return false;
        }
        let mut state = lock(&self.state);
        let Some(doc) = state.materialize(self.id) else {
            return false;
        };
        guarded(|| {
            let txn = doc.transact();
            Ok(txn
                .get_map(DRAFT_META)
                .and_then(|meta| meta.get(&txn, "deleted"))
                .is_some_and(|value| matches!(value, Out::Any(yrs::Any::Bool(true)))))
        })
        .unwrap_or(false)
    }

    /// Undo a draft's deletion in the in-memory document (a matter under legal hold keeps its
    /// drafts): set `meta.deleted` back to false as the server's own edit, and return that edit
    /// as a v1 update to store and send with the one it answers.
    pub fn undo_draft_deletion(&self) -> Result<Vec<u8>, String> {
        use yrs::Map;
        let mut state = lock(&self.state);
        let doc = state.materialize(self.id).ok_or("document is not loaded")?;
        let result = guarded(|| {
            let meta = doc.get_or_insert_map(DRAFT_META);
            let mut txn = doc.transact_mut();
            meta.insert(&mut txn, "deleted", false);
            Ok(txn.encode_update_v1())
        });
        state.changed();
        result
    }

    /// For a case document: what changed since last asked of what the server keeps from it —
    /// the title (Y.Map `case`, key `title`, a string or a Y.Text) for lists, and the parties
    /// and conflicts check for the conflicts check's index (`conflicts::index`).
    pub fn changed_record(&self) -> RecordChanges {
        use yrs::{GetString, Map, Out};
        let mut state = lock(&self.state);
        let Some(doc) = state.materialize(self.id) else {
            return RecordChanges::default();
        };
        let read = guarded(|| {
            let map = doc.get_or_insert_map("case");
            let txn = doc.transact();
            let title = match map.get(&txn, "title") {
                Some(Out::Any(yrs::Any::String(text))) => Some(text.to_string()),
                Some(Out::YText(text)) => Some(text.get_string(&txn)),
                _ => None,
            };
            Ok((title, crate::conflicts::index::read(&txn)))
        });
        let Ok((title, parties)) = read else {
            return RecordChanges::default();
        };
        let mut changes = RecordChanges::default();
        if let Some(title) = title
            && state.title.as_deref() != Some(title.as_str())
        {
            state.title = Some(title.clone());
            changes.title = Some(title);
        }
        if let Some(parties) = parties
            && state.parties.as_ref() != Some(&parties)
        {
            state.parties = Some(parties.clone());
            changes.parties = Some(parties);
        }
        changes
    }
}

/// What changed in a case document of what the server keeps from it
/// ([`DocEntry::changed_record`]).
#[derive(Debug, Default)]
pub struct RecordChanges {
    pub title: Option<String>,
    pub parties: Option<crate::conflicts::index::MatterParties>,
}

/// Caps on presence (awareness) per document.
#[derive(Debug, Clone, Copy)]
pub struct AwarenessLimits {
    pub max_states: usize,
    pub max_state_bytes: usize,
}

impl Default for AwarenessLimits {
    fn default() -> Self {
        let limits = crate::limits::LimitSettings::default();
        Self {
            max_states: limits.max_awareness_states,
            max_state_bytes: limits.max_awareness_state_bytes,
        }
    }
}

/// Every document loaded in this instance.
pub struct DocHub {
    docs: Mutex<HashMap<String, Arc<DocEntry>>>,
    /// Catch-up channel subscribers, by firm.
    hub_subscribers: Mutex<HashMap<String, HashMap<ConnId, HubSubscriber>>>,
    next_subscription: AtomicU64,
    /// Bumped before every access change is applied (and before every re-check): an opener that
    /// read a role before a bump re-checks it after registering (see `access_changed_since`).
    access_epoch: AtomicU64,
    awareness_limits: AwarenessLimits,
    /// One compaction at a time (see `compaction`).
    pub(crate) compactions: tokio::sync::Semaphore,
}

impl Default for DocHub {
    fn default() -> Self {
        Self::new(AwarenessLimits::default())
    }
}

impl DocHub {
    pub fn new(awareness_limits: AwarenessLimits) -> Self {
        Self {
            docs: Mutex::new(HashMap::new()),
            hub_subscribers: Mutex::new(HashMap::new()),
            next_subscription: AtomicU64::new(1),
            access_epoch: AtomicU64::new(0),
            awareness_limits,
            compactions: tokio::sync::Semaphore::new(1),
        }
    }

    /// The access epoch, read before a role is read from Postgres.
    pub fn access_epoch(&self) -> u64 {
        self.access_epoch.load(Ordering::Acquire)
    }

    /// Whether an access change was applied since `epoch` was read: a role read before it may
    /// be stale and must be read again now that the subscription is registered (a change
    /// applied after registration finds the subscription; one applied before bumped the epoch).
    pub fn access_changed_since(&self, epoch: u64) -> bool {
        self.access_epoch() != epoch
    }

    /// Announce that access changes are about to be applied (call before reading the new roles).
    pub fn bump_access_epoch(&self) {
        self.access_epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Every (case, user) with an open subscription here: what a full re-check reads.
    pub fn subscribed_users(&self) -> Vec<(uuid::Uuid, Arc<str>)> {
        let mut pairs = HashSet::new();
        for entry in self.loaded() {
            let state = lock(&entry.state);
            for subscriber in state.subscribers.values() {
                pairs.insert((entry.case_id, subscriber.user_id.clone()));
            }
        }
        pairs.into_iter().collect()
    }

    pub fn get(&self, name: &str) -> Option<Arc<DocEntry>> {
        lock(&self.docs).get(name).cloned()
    }

    /// Load (once) and subscribe a connection's routing key to a document.
    pub async fn subscribe(
        &self,
        pool: &PgPool,
        row: &db::sync::DocumentRow,
        name: &str,
        subscriber: NewSubscriber,
    ) -> Result<(Arc<DocEntry>, SubId), sqlx::Error> {
        let entry = {
            let mut docs = lock(&self.docs);
            let entry = docs
                .entry(name.to_owned())
                .or_insert_with(|| Arc::new(DocEntry::new(row, name)))
                .clone();
            lock(&entry.state).idle_since = None;
            entry
        };
        if let Err(error) = entry.ready.get_or_try_init(|| entry.load(pool)).await {
            let mut state = lock(&entry.state);
            if state.subscribers.is_empty() {
                state.idle_since = Some(Instant::now());
            }
            return Err(error);
        }
        let id = self.next_subscription.fetch_add(1, Ordering::Relaxed);
        let mut state = lock(&entry.state);
        // Relays to subscribers happen under this lock, so the client reads `Authenticated`
        // and then who is already here before any update or presence sent through this
        // subscription.
        subscriber.sender.send(subscriber.greeting);
        if !state.awareness.is_empty() {
            let present = awareness_of(&state);
            subscriber.sender.send(Bytes::from(
                Frame::new(&subscriber.routing_key, Message::Awareness(present)).encode(),
            ));
        }
        state.subscribers.insert(
            id,
            Subscriber {
                sender: subscriber.sender,
                routing_key: subscriber.routing_key,
                user_id: subscriber.user_id,
                access: subscriber.access,
                kind: subscriber.kind,
                expires_at: subscriber.expires_at,
                token_requested_for: AtomicI64::new(i64::MIN),
            },
        );
        state.idle_since = None;
        drop(state);
        Ok((entry, id))
    }

    /// Remove a subscription from a document; returns the awareness removal to publish, if any.
    pub fn unsubscribe(&self, entry: &DocEntry, subscription: SubId) -> Option<Vec<u8>> {
        let mut state = lock(&entry.state);
        state.subscribers.remove(&subscription);
        if state.subscribers.is_empty() {
            // Nobody left to join in a storm: do not keep a second copy of the document.
            state.first_sync = None;
            state.idle_since = Some(Instant::now());
        }
        let mut removed = Vec::new();
        state.awareness.retain(|client_id, slot| {
            if slot.owner == Some(subscription) {
                removed.push(AwarenessEntry {
                    client_id: *client_id,
                    clock: slot.clock + 1,
                    state: "null".into(),
                });
                false
            } else {
                true
            }
        });
        if removed.is_empty() {
            return None;
        }
        // Presence of theirs still waiting for its batch is not relayed after their removal
        // (clients would ignore it, its clock being older; it would only cost a frame each).
        state.presence_out.retain(|pending| {
            !removed
                .iter()
                .any(|gone| gone.client_id == pending.client_id)
        });
        let update = AwarenessUpdate { entries: removed }.encode();
        broadcast(&state, None, |key| {
            Frame::new(key, Message::Awareness(update.clone())).encode()
        });
        Some(update)
    }

    /// A committed update (ours, or another instance's via Redis): apply it and send it to every
    /// subscription but its origin. Returns whether the document's log should be compacted.
    pub fn apply_committed(
        &self,
        name: &str,
        update: &Bytes,
        origin: Option<SubId>,
        compact_after: i64,
    ) -> bool {
        let Some(entry) = self.get(name) else {
            return false;
        };
        self.apply_committed_to(&entry, update, origin, false, compact_after)
    }

    fn apply_committed_to(
        &self,
        entry: &DocEntry,
        update: &Bytes,
        origin: Option<SubId>,
        in_doc: bool,
        compact_after: i64,
    ) -> bool {
        let mut state = lock(&entry.state);
        if !state.loaded {
            state.pending.push(update.clone());
            return false;
        }
        state.changed();
        state.integrate_committed(entry.id, update, in_doc);
        if origin.is_some() {
            state.log_rows += 1;
            state.log_updates += 1;
        }
        broadcast(&state, origin, |key| {
            Frame::new(key, Message::Sync(SyncMessage::Update(update.to_vec()))).encode()
        });
        state.compaction_due(entry.id, compact_after)
            && !entry.compacting.swap(true, Ordering::AcqRel)
    }

    /// Updates of one document committed together (one group commit): applied in order, then
    /// sent as one merged update per subscriber — everything to those who sent none of them,
    /// everything but their own to those who did. A hot document with ten lawyers typing gets
    /// one frame per lawyer per commit instead of one per keystroke. `rows` is how many rows of
    /// the log they were stored in (`persist::pack`). Returns whether the log should be
    /// compacted.
    ///
    /// `admitted` is the document the updates were admitted to ([`DocEntry::admit`] applied
    /// them to its yrs document). If it is still the one loaded under its name, they are in its
    /// document already and are not applied a second time (decoding and integrating each again
    /// was 7–16% of the server's work per update in the `durable` bench's closed loop:
    /// docs/BENCHMARKS.md, "Session 17"); if it was reloaded or evicted meanwhile, they are
    /// applied to the document loaded now.
    pub fn apply_committed_batch(
        &self,
        admitted: &Arc<DocEntry>,
        updates: &[(Bytes, SubId)],
        rows: i64,
        compact_after: i64,
    ) -> bool {
        let Some(entry) = self.get(&admitted.name) else {
            return false;
        };
        let in_doc = Arc::ptr_eq(&entry, admitted);
        if let [(update, origin)] = updates {
            return self.apply_committed_to(&entry, update, Some(*origin), in_doc, compact_after);
        }
        let mut state = lock(&entry.state);
        if !state.loaded {
            state
                .pending
                .extend(updates.iter().map(|(update, _)| update.clone()));
            return false;
        }
        state.changed();
        for (update, _) in updates {
            state.integrate_committed(entry.id, update, in_doc);
        }
        state.log_rows += rows;
        state.log_updates += updates.len() as i64;
        // Payload 0: everything; then one per origin: everything that origin did not send.
        // Each origin's updates are merged once first, and the payloads are merged from those:
        // with ten lawyers typing into a hot document, eleven merges of every update of the
        // commit would decode each update eleven times.
        let mut origins: Vec<SubId> = updates.iter().map(|(_, origin)| *origin).collect();
        origins.sort_unstable();
        origins.dedup();
        let merge = |parts: Vec<&[u8]>| -> Option<Vec<u8>> {
            guarded(|| yrs::merge_updates_v1(parts).map_err(|error| error.to_string()))
                .map_err(|error| bad_document(entry.id, "committed updates do not merge", &error))
                .ok()
        };
        let by_origin: Vec<Option<Vec<u8>>> = origins
            .iter()
            .map(|origin| {
                merge(
                    updates
                        .iter()
                        .filter(|(_, from)| from == origin)
                        .map(|(update, _)| update.as_ref())
                        .collect(),
                )
            })
            .collect();
        // Payload 0 leaves no one out; payload i + 1 leaves out origin i's own updates.
        let merged: Option<Vec<&[u8]>> = by_origin.iter().map(Option::as_deref).collect();
        let payloads: Vec<Option<Vec<u8>>> = match merged {
            Some(merged) => {
                let merge_all_but = |skip: Option<usize>| -> Option<Vec<u8>> {
                    let parts: Vec<&[u8]> = merged
                        .iter()
                        .enumerate()
                        .filter(|(index, _)| Some(*index) != skip)
                        .map(|(_, update)| *update)
                        .collect();
                    match parts[..] {
                        [] => None,
                        [only] => Some(only.to_vec()),
                        _ => merge(parts),
                    }
                };
                std::iter::once(None)
                    .chain((0..merged.len()).map(Some))
                    .map(merge_all_but)
                    .collect()
            }
            None => vec![None],
        };
        if payloads[0].is_none() {
            // Not mergeable (cannot happen with admitted updates): send them one by one.
            for (update, origin) in updates {
                broadcast(&state, Some(*origin), |key| {
                    Frame::new(key, Message::Sync(SyncMessage::Update(update.to_vec()))).encode()
                });
            }
        } else {
            broadcast_with(
                &state,
                |subscription| {
                    let payload = match origins.binary_search(&subscription) {
                        Ok(index) => index + 1,
                        Err(_) => 0,
                    };
                    payloads[payload].is_some().then_some(payload)
                },
                |payload, key| {
                    let update = payloads[payload].as_deref().unwrap_or_default();
                    Frame::new(key, Message::Sync(SyncMessage::Update(update.to_vec()))).encode()
                },
            );
        }
        state.compaction_due(entry.id, compact_after)
            && !entry.compacting.swap(true, Ordering::AcqRel)
    }

    /// Record awareness entries (newer clocks win) and relay them to everyone else. A
    /// subscription may only set or remove the client ids it introduced; states over the size
    /// cap, and new client ids past the per-document cap, are dropped. Returns what was
    /// accepted (to publish to other instances), or `None` when nothing was.
    pub fn apply_awareness(
        &self,
        entry: &Arc<DocEntry>,
        update: &AwarenessUpdate,
        origin: Option<SubId>,
    ) -> Option<Vec<u8>> {
        let limits = self.awareness_limits;
        let mut state = lock(&entry.state);
        let mut accepted = Vec::new();
        for item in &update.entries {
            let slot = state.awareness.get(&item.client_id);
            let newer = slot.is_none_or(|slot| item.clock >= slot.clock);
            // Another connection's client id (or another instance's, for a local origin).
            let foreign = origin.is_some() && slot.is_some_and(|slot| slot.owner != origin);
            let too_big = item.state.len() > limits.max_state_bytes;
            let over_cap =
                slot.is_none() && !item.is_removal() && state.awareness.len() >= limits.max_states;
            if !newer || foreign || too_big || over_cap {
                continue;
            }
            if item.is_removal() {
                state.awareness.remove(&item.client_id);
            } else {
                state.awareness.insert(
                    item.client_id,
                    AwarenessSlot {
                        clock: item.clock,
                        state: item.state.clone(),
                        owner: origin,
                    },
                );
            }
            accepted.push(item.clone());
        }
        if accepted.is_empty() {
            // Nothing changed (a renewal past the cap, an old clock): nothing to tell anyone. A
            // document with 1,500 lawyers would otherwise relay an empty update 1,499 times
            // for each of the ~100 renewals a second their providers send.
            return None;
        }
        let encoded = AwarenessUpdate {
            entries: accepted.clone(),
        }
        .encode();
        // Relayed in batches: a document with 1,500 lawyers gets ~100 presence renewals a
        // second, and relaying each at once would be 150,000 frames a second; batched, each
        // lawyer gets at most one presence frame per batch.
        let schedule = state.presence_out.is_empty();
        state.presence_origin = match state.presence_origin {
            None => Some(origin),
            Some(previous) if previous == origin => Some(origin),
            Some(_) => Some(None),
        };
        for item in accepted {
            state
                .presence_out
                .retain(|queued| queued.client_id != item.client_id);
            state.presence_out.push(item);
        }
        if schedule {
            let entry = entry.clone();
            tokio::spawn(async move {
                tokio::time::sleep(PRESENCE_BATCH).await;
                let mut state = lock(&entry.state);
                let entries = std::mem::take(&mut state.presence_out);
                let origin = state.presence_origin.take().flatten();
                if entries.is_empty() {
                    return;
                }
                let encoded = AwarenessUpdate { entries }.encode();
                broadcast(&state, origin, |key| {
                    Frame::new(key, Message::Awareness(encoded.clone())).encode()
                });
            });
        }
        Some(encoded)
    }

    /// Every known awareness state of a document, as one update.
    pub fn awareness_snapshot(&self, entry: &DocEntry) -> Vec<u8> {
        awareness_of(&lock(&entry.state))
    }

    pub fn subscribe_hub(
        &self,
        firm_id: &str,
        user_id: &str,
        sender: ConnSender,
        expires_at: Arc<AtomicI64>,
    ) {
        lock(&self.hub_subscribers)
            .entry(firm_id.to_owned())
            .or_default()
            .insert(
                sender.id,
                HubSubscriber {
                    sender,
                    user_id: user_id.to_owned(),
                    expires_at,
                    last_push: None,
                    owed: false,
                },
            );
    }

    pub fn unsubscribe_hub(&self, firm_id: &str, conn: ConnId) {
        let mut subscribers = lock(&self.hub_subscribers);
        if let Some(firm) = subscribers.get_mut(firm_id) {
            firm.remove(&conn);
            if firm.is_empty() {
                subscribers.remove(firm_id);
            }
        }
    }

    /// Tell a firm's catch-up subscribers that something changed. The notice names no
    /// document (each subscriber may see only the matters it belongs to): it asks for changes
    /// since its cursor and the answer is filtered by its access. At most one notice per
    /// [`PUSH_INTERVAL`] per connection; later ones are owed and sent by [`Self::flush_owed`].
    pub fn notify_changed(&self, firm_id: &str) {
        let mut subscribers = lock(&self.hub_subscribers);
        let Some(firm) = subscribers.get_mut(firm_id) else {
            return;
        };
        let mut push = Push::new();
        for subscriber in firm.values_mut() {
            push.offer(subscriber);
        }
    }

    /// Tell `user_id`'s catch-up subscribers (any firm) that something changed for them: a
    /// matter was shared with them or a wall lifted. Their catch-up then lists the matter's
    /// documents (`granted_xid`), so the matter appears in their app at once although none of
    /// its documents changed.
    pub fn notify_user(&self, user_id: &str) {
        let mut subscribers = lock(&self.hub_subscribers);
        let mut push = Push::new();
        for subscriber in subscribers
            .values_mut()
            .flat_map(|firm| firm.values_mut())
            .filter(|subscriber| subscriber.user_id == user_id)
        {
            push.offer(subscriber);
        }
    }

    /// Tell every catch-up subscriber that something may have changed for them: after access
    /// changes this instance did not hear one by one (a bulk change, or while its listener was
    /// away), so a grant among them still reaches the app it is for.
    pub fn notify_all(&self) {
        let mut subscribers = lock(&self.hub_subscribers);
        let mut push = Push::new();
        for subscriber in subscribers.values_mut().flat_map(|firm| firm.values_mut()) {
            push.offer(subscriber);
        }
    }

    /// Send the change notices that were held back by the rate limit.
    pub fn flush_owed(&self) {
        let mut subscribers = lock(&self.hub_subscribers);
        let mut push = Push::new();
        for subscriber in subscribers.values_mut().flat_map(|firm| firm.values_mut()) {
            if subscriber.owed {
                push.offer(subscriber);
            }
        }
    }

    /// A member's access to a case changed (role changed, removed, or screened): update every
    /// open subscription of that user to the case's documents at once. Those who lost access are
    /// told `PermissionDenied` and are sent nothing more; those whose role changed are sent
    /// `Authenticated` with the new scope, so their app follows at once (a commenter's editor
    /// stops editing).
    pub fn set_access(
        &self,
        case_id: uuid::Uuid,
        user_id: &str,
        role: Option<crate::role::Role>,
    ) -> usize {
        self.bump_access_epoch();
        let code = crate::role::Role::code(role);
        let mut affected = 0;
        for entry in self
            .loaded()
            .into_iter()
            .filter(|entry| entry.case_id == case_id)
        {
            let mut state = lock(&entry.state);
            let mut revoked = Vec::new();
            for (subscription, subscriber) in &state.subscribers {
                if &*subscriber.user_id != user_id {
                    continue;
                }
                let before = subscriber.access.swap(code, Ordering::AcqRel);
                affected += 1;
                if let Some(role) = role
                    && before != 0
                    && before != code
                {
                    let scope = Frame::new(
                        subscriber.routing_key.as_str(),
                        Message::Auth(protocol::AuthMessage::Authenticated {
                            scope: role.writes(subscriber.kind).scope().into(),
                        }),
                    );
                    subscriber.sender.send(Bytes::from(scope.encode()));
                }
                if role.is_none() {
                    revoked.push(*subscription);
                    let denied = Frame::new(
                        subscriber.routing_key.as_str(),
                        Message::Auth(protocol::AuthMessage::PermissionDenied {
                            reason: "access revoked".into(),
                        }),
                    );
                    subscriber.sender.send(Bytes::from(denied.encode()));
                }
            }
            for subscription in revoked {
                state.subscribers.remove(&subscription);
                // The presence it introduced goes with it.
                state
                    .awareness
                    .retain(|_, slot| slot.owner != Some(subscription));
            }
            if state.subscribers.is_empty() {
                state.idle_since = Some(Instant::now());
            }
        }
        affected
    }

    /// A document whose in-memory state can no longer be trusted (yrs refused or panicked on an
    /// update half-way through): forget it, so the next open loads it from Postgres, and close
    /// its subscribers' connections so they reconnect and resend what they had not been acked.
    pub fn reload(&self, entry: &Arc<DocEntry>) {
        {
            let mut docs = lock(&self.docs);
            if docs
                .get(&entry.name)
                .is_some_and(|loaded| Arc::ptr_eq(loaded, entry))
            {
                docs.remove(&entry.name);
            }
        }
        let mut state = lock(&entry.state);
        for subscriber in state.subscribers.values() {
            subscriber
                .sender
                .close(1011, "the document was reloaded: reconnect");
        }
        state.subscribers.clear();
        state.awareness.clear();
        state.changed();
        state.idle_since = Some(Instant::now());
    }

    /// Every firm with catch-up subscribers here.
    pub fn hub_firms(&self) -> Vec<String> {
        lock(&self.hub_subscribers).keys().cloned().collect()
    }

    /// Unload documents nobody has used for `idle`.
    pub fn evict_idle(&self, idle: Duration) -> usize {
        let mut docs = lock(&self.docs);
        let before = docs.len();
        docs.retain(|_, entry| {
            let state = lock(&entry.state);
            !(state.subscribers.is_empty()
                && state
                    .idle_since
                    .is_some_and(|since| since.elapsed() >= idle))
        });
        before - docs.len()
    }

    pub fn loaded(&self) -> Vec<Arc<DocEntry>> {
        lock(&self.docs).values().cloned().collect()
    }

    /// Bring a loaded document up to date with Postgres (after a Redis outage, updates from other
    /// instances may have been missed) and send subscribers whatever was missing.
    pub async fn resync_from_store(
        &self,
        pool: &PgPool,
        entry: &DocEntry,
    ) -> Result<(), sqlx::Error> {
        let stored = db::sync::load_document_consistent(pool, entry.id).await?;
        let full = match rebuild_state(&stored) {
            Ok(full) => full,
            Err(error) => {
                bad_document(
                    entry.id,
                    "resync skipped: stored history does not apply",
                    &error,
                );
                return Ok(());
            }
        };
        let mut state = lock(&entry.state);
        let Some(doc) = state.materialize(entry.id) else {
            return Ok(());
        };
        let missing = {
            let fresh = history_keeping_doc();
            if apply(&fresh, &full).is_err() {
                return Ok(());
            }
            let ours = doc.transact().state_vector();
            fresh.transact().encode_state_as_update_v1(&ours)
        };
        if missing.len() <= 2 {
            return Ok(());
        }
        if let Err(error) = apply(doc, &missing) {
            tracing::error!(doc = entry.id, %error, "resync update does not apply");
        }
        state.changed();
        state.log_rows = stored.rows() as i64;
        state.log_updates = stored.updates.len() as i64;
        broadcast(&state, None, |key| {
            Frame::new(key, Message::Sync(SyncMessage::Update(missing.clone()))).encode()
        });
        Ok(())
    }

    /// After a compaction: the rows and updates it folded leave the counts. When it folded
    /// nothing (a matter under legal hold, a history that does not rebuild, Postgres
    /// unavailable), the counts start again, so the next attempt comes after another
    /// threshold's worth of writes rather than on every write, holding up other documents'
    /// compactions each time.
    pub fn finish_compaction(&self, entry: &DocEntry, folded: db::sync::Folded) {
        let mut state = lock(&entry.state);
        if folded.rows == 0 {
            state.log_rows = 0;
            state.log_updates = 0;
        } else {
            state.log_rows = (state.log_rows - folded.rows as i64).max(0);
            state.log_updates = (state.log_updates - folded.updates as i64).max(0);
        }
        entry.compacting.store(false, Ordering::Release);
    }
}

/// Everyone's presence on a document, as one awareness update.
fn awareness_of(state: &DocState) -> Vec<u8> {
    AwarenessUpdate {
        entries: state
            .awareness
            .iter()
            .map(|(client_id, slot)| AwarenessEntry {
                client_id: *client_id,
                clock: slot.clock,
                state: slot.state.clone(),
            })
            .collect(),
    }
    .encode()
}

/// Send to every subscription but `origin`, encoding once per distinct routing key. A
/// subscriber whose token has expired is sent nothing but one request for a fresh token; one
/// whose access was revoked is sent nothing at all.
fn broadcast(state: &DocState, origin: Option<SubId>, encode: impl Fn(&str) -> Vec<u8>) {
    broadcast_with(
        state,
        |subscription| (Some(subscription) != origin).then_some(0),
        |_, key| encode(key),
    );
}

/// [`broadcast`] of one of several payloads: `choose` picks each subscription's (or none), and
/// each payload is encoded once per distinct routing key.
fn broadcast_with(
    state: &DocState,
    choose: impl Fn(SubId) -> Option<usize>,
    encode: impl Fn(usize, &str) -> Vec<u8>,
) {
    let now = chrono::Utc::now().timestamp();
    let mut encoded: Vec<(usize, &str, Bytes)> = Vec::with_capacity(1);
    for (subscription, subscriber) in &state.subscribers {
        if subscriber.access.load(Ordering::Acquire) == 0 {
            continue;
        }
        let Some(payload) = choose(*subscription) else {
            continue;
        };
        let key = subscriber.routing_key.as_str();
        let expires_at = subscriber.expires_at.load(Ordering::Acquire);
        if expires_at <= now {
            if subscriber
                .token_requested_for
                .swap(expires_at, Ordering::AcqRel)
                != expires_at
            {
                let request = Frame::new(key, Message::Auth(protocol::AuthMessage::TokenRequest));
                subscriber.sender.send(Bytes::from(request.encode()));
                crate::metrics::TOKEN_REQUESTS.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        let frame = match encoded
            .iter()
            .find(|(index, k, _)| *index == payload && *k == key)
        {
            Some((_, _, frame)) => frame.clone(),
            None => {
                let frame = Bytes::from(encode(payload, key));
                encoded.push((payload, key, frame.clone()));
                frame
            }
        };
        subscriber.sender.send(frame);
    }
}
