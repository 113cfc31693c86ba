//! The encrypted local store: yrs documents cached in memory, persisted as snapshot + update
//! log in a SQLCipher database, with the outbox and the sync cursor beside them.
//!
//! Every mutation holds one mutex over the connection and the document cache, so the cached
//! `Doc` of a document is always exactly `snapshot + log` on disk. When a write fails after the
//! cached doc was touched, the doc is evicted and reloads from disk on next use.
//!
//! The store announces its own outbox: every commit that adds or removes outbox entries
//! publishes an [`OutboxState`] on a watch channel ([`Store::outbox`]), which the sync client
//! waits on. Nobody has to tell the client that an edit was made, and the number of unsynced
//! changes is known without a query.

mod binding;
mod casework;
pub(crate) mod doc_log;
pub mod draft;
mod hold;
pub(crate) mod keys;
pub mod matter_record;
pub(crate) mod migrations;
pub(crate) mod outbox;
pub mod projection;
mod removal;
mod search;
mod stores;
pub mod vault;

pub use binding::Binding;
pub use casework::STATUSES;
pub use hold::LegalHold;
pub use keys::{FixedKey, KeyProvider, KeySlot, MemoryKeySlot, StoredKey};
pub use outbox::OutboxEntry;
pub use removal::{PurgeReport, RemovedMatter};
pub use stores::StoreFiles;
pub use vault::{Vault, VaultError, VaultSlot, VaultTokenStore};

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use protocol::DocName;
use rusqlite::{Connection, OptionalExtension};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, ReadTxn, StateVector, Transact, TransactionMut};

use crate::LocalError;

/// After this many log rows, a document is compacted into its snapshot in the write path.
pub const COMPACT_AFTER_LOG_ROWS: usize = 500;

/// The empty v1 update (no structs, empty delete set).
const EMPTY_UPDATE: &[u8] = &[0, 0];

pub(crate) struct CachedDoc {
    pub(crate) doc: Doc,
    log_rows: usize,
}

/// The outbox as the sync client and the status bar see it, published after every commit that
/// changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxState {
    /// The id of the newest entry written so far (0 = none); entries above what a connection
    /// has sent are new to it.
    pub newest: i64,
    /// Entries not yet acknowledged by the server: the status bar's "unsynced changes".
    pub pending: usize,
}

pub(crate) struct Inner {
    pub(crate) connection: Connection,
    pub(crate) docs: HashMap<String, CachedDoc>,
}

/// The local database. `Send + Sync`; share it as `Arc<Store>`.
pub struct Store {
    inner: Mutex<Inner>,
    /// How often the mutex was taken (`Store::lock_acquisitions`; docs/BENCHMARKS.md counts it
    /// per keystroke).
    locks: AtomicU64,
    /// Changed only while the mutex is held, right after the commit that changed the outbox.
    outbox: tokio::sync::watch::Sender<OutboxState>,
}

/// SQLite statements started on connections that `Store::count_statements` traces.
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

fn count_statement(_: rusqlite::trace::TraceEvent<'_>) {
    STATEMENTS.fetch_add(1, Ordering::Relaxed);
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// Finish SQLite's and SQLCipher's process-wide set-up on one thread before any file is opened.
///
/// `sqlite3_initialize` marks SQLite initialised and only then runs SQLCipher's own set-up
/// (`SQLITE_EXTRA_INIT`: crypto provider, private heap) outside its mutex. A second thread that
/// opened a file in that window had `PRAGMA key` refused with SQLITE_ERROR ("PRAGMA key requires
/// a key of one or more characters"); CI saw it once when two tests opened their first stores
/// at the same moment (SQLCipher 4.10, sqlite3.c `sqlite3_initialize`). Opening an in-memory
/// database runs the whole initialisation; the `Once` makes every other opener wait for it. If
/// it fails, the real open below fails the same way and reports it.
fn initialise_sqlcipher() {
    static INITIALISED: std::sync::Once = std::sync::Once::new();
    INITIALISED.call_once(|| drop(Connection::open_in_memory()));
}

/// Open the file and migrate it; also returns the schema version the file had before.
fn open_connection(path: &Path, keys: &dyn KeyProvider) -> Result<(Connection, i64), LocalError> {
    initialise_sqlcipher();
    let key = keys.database_key()?;
    let mut connection = Connection::open(path)?;
    // The key must be set before anything else touches the file; pragma_update quotes it.
    connection.pragma_update(None, "key", &key)?;
    // The first read of an encrypted file is where a wrong key shows: SQLCipher cannot decrypt
    // page 1 and reports "file is not a database".
    match connection.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    }) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(error, _))
            if error.code == rusqlite::ErrorCode::NotADatabase =>
        {
            return Err(LocalError::WrongKey);
        }
        Err(error) => return Err(error.into()),
    }
    let mode: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "could not switch the local database to WAL");
    }
    // FULL: a write that returned is on disk even after power loss ("durable before ack").
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    // Zero deleted content where that costs no extra I/O, so a matter purged later (see
    // removal.rs) leaves no stale copies of its rows in page free space.
    connection.pragma_update(None, "secure_delete", "FAST")?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    let previous = migrations::migrate(&mut connection)?;
    Ok((connection, previous))
}

/// The cached doc for `name`, loading it from disk on first use.
pub(crate) fn cached<'a>(
    connection: &Connection,
    docs: &'a mut HashMap<String, CachedDoc>,
    name: &DocName,
) -> Result<&'a mut CachedDoc, LocalError> {
    if !docs.contains_key(name.as_str()) {
        let loaded = doc_log::load(connection, name)?;
        docs.insert(
            name.as_str().to_owned(),
            CachedDoc {
                doc: loaded.doc,
                log_rows: loaded.log_rows,
            },
        );
    }
    docs.get_mut(name.as_str()).ok_or(LocalError::Poisoned)
}

fn validate(update: &[u8]) -> Result<(), LocalError> {
    protocol::validate_update(update).map_err(|error| LocalError::InvalidUpdate(error.to_string()))
}

impl Store {
    /// Open (or create) the database at `path`, keyed by `keys`, and bring its schema up to date.
    pub fn open(path: &Path, keys: &dyn KeyProvider) -> Result<Store, LocalError> {
        let (connection, previous) = open_connection(path, keys)?;
        let outbox = OutboxState {
            newest: outbox::newest(&connection)?,
            pending: outbox::count(&connection)?,
        };
        let store = Store {
            inner: Mutex::new(Inner {
                connection,
                docs: HashMap::new(),
            }),
            locks: AtomicU64::new(0),
            outbox: tokio::sync::watch::Sender::new(outbox),
        };
        if previous > 0 && previous < migrations::PROJECTIONS_VERSION {
            store.rebuild_projections()?;
        }
        Ok(store)
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Inner>, LocalError> {
        self.locks.fetch_add(1, Ordering::Relaxed);
        Ok(self.inner.lock()?)
    }

    /// How many times the store's mutex has been taken since it was opened (benchmarks).
    #[doc(hidden)]
    pub fn lock_acquisitions(&self) -> u64 {
        self.locks.load(Ordering::Relaxed)
    }

    /// From now on, count every SQLite statement this store starts (SQLITE_TRACE_STMT, which
    /// includes BEGIN and COMMIT) in [`Store::statements_counted`] (benchmarks).
    #[doc(hidden)]
    pub fn count_statements(&self) -> Result<(), LocalError> {
        let guard = self.lock()?;
        guard.connection.trace_v2(
            rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
            Some(count_statement),
        );
        Ok(())
    }

    /// Statements counted on every store that `count_statements` was called on.
    #[doc(hidden)]
    pub fn statements_counted() -> u64 {
        STATEMENTS.load(Ordering::Relaxed)
    }

    /// The outbox now; subscribe with [`Store::outbox`] to hear of changes.
    pub fn outbox_state(&self) -> OutboxState {
        *self.outbox.borrow()
    }

    /// Every change to the outbox (a local edit committed, an ack, a purge), as a watch channel.
    pub fn outbox(&self) -> tokio::sync::watch::Receiver<OutboxState> {
        self.outbox.subscribe()
    }

    /// After the commit of a transaction that wrote outbox entry `id` (mutex held).
    fn announce_pushed(&self, id: i64) -> usize {
        let mut pending = 0;
        self.outbox.send_modify(|outbox| {
            outbox.newest = outbox.newest.max(id);
            outbox.pending += 1;
            pending = outbox.pending;
        });
        pending
    }

    /// After a commit that removed entries from the outbox (mutex held): count them afresh.
    pub(crate) fn announce_outbox_shrunk(&self, connection: &Connection) {
        match outbox::count(connection) {
            Ok(pending) => {
                self.outbox.send_if_modified(|outbox| {
                    let changed = outbox.pending != pending;
                    outbox.pending = pending;
                    changed
                });
            }
            Err(error) => {
                tracing::warn!(code = error.code(), %error, "cannot count unsynced changes")
            }
        }
    }

    /// Apply an update made on this device: validated, applied to the document and, in one
    /// SQLite transaction, appended to the document's log and to the outbox. Returns after
    /// commit, with the number of unsynced changes that commit left (the sync client hears of
    /// the new entry from [`Store::outbox`]).
    pub fn apply_local_update(&self, doc: &DocName, update: &[u8]) -> Result<usize, LocalError> {
        validate(update)?;
        self.apply_and_persist(doc, update, true)
    }

    /// Apply an update that came from the server: persisted to the log (not the outbox).
    pub fn apply_remote_update(&self, doc: &DocName, update: &[u8]) -> Result<(), LocalError> {
        // A large document's first sync is its whole state: larger than any one local edit.
        protocol::validate_server_update(update)
            .map_err(|error| LocalError::InvalidUpdate(error.to_string()))?;
        self.apply_and_persist(doc, update, false).map(|_| ())
    }

    /// Returns the number of unsynced changes after the commit.
    fn apply_and_persist(
        &self,
        name: &DocName,
        update: &[u8],
        to_outbox: bool,
    ) -> Result<usize, LocalError> {
        let mut guard = self.lock()?;
        let Inner { connection, docs } = &mut *guard;
        let entry = cached(connection, docs, name)?;
        let result = (|| {
            let transaction = connection.transaction()?;
            doc_log::append(&transaction, name, update)?;
            let pushed = if to_outbox {
                let id = outbox::push(&transaction, name, update)?;
                doc_log::apply(&entry.doc, update)?;
                Some(id)
            } else {
                doc_log::apply_remote(&entry.doc, update)?;
                None
            };
            projection::refresh(&transaction, name, &entry.doc.transact())?;
            transaction.commit()?;
            Ok(pushed)
        })();
        let pending = match result {
            Ok(Some(id)) => self.announce_pushed(id),
            Ok(None) => self.outbox_state().pending,
            Err(error) => {
                docs.remove(name.as_str());
                return Err(error);
            }
        };
        entry.log_rows += 1;
        Self::compact_if_long(connection, docs, name);
        Ok(pending)
    }

    /// Run `f` in one transaction on the document, then persist that transaction's v1 update as
    /// [`Store::apply_local_update`] does (and return the number of unsynced changes as it
    /// does). Inside `f`, reach root types through the transaction
    /// (`txn.get_or_insert_text("body")`): `Doc::get_or_insert_*` would need a second transaction.
    pub fn edit(
        &self,
        name: &DocName,
        f: impl FnOnce(&Doc, &mut TransactionMut),
    ) -> Result<usize, LocalError> {
        let mut guard = self.lock()?;
        let Inner { connection, docs } = &mut *guard;
        let entry = cached(connection, docs, name)?;
        let update = {
            let mut transaction = entry.doc.transact_mut();
            f(&entry.doc, &mut transaction);
            transaction.encode_update_v1()
        };
        if update == EMPTY_UPDATE {
            return Ok(self.outbox_state().pending);
        }
        let result = (|| {
            let transaction = connection.transaction()?;
            doc_log::append(&transaction, name, &update)?;
            let id = outbox::push(&transaction, name, &update)?;
            projection::refresh(&transaction, name, &entry.doc.transact())?;
            transaction.commit()?;
            Ok(id)
        })();
        let pending = match result {
            Ok(id) => self.announce_pushed(id),
            Err(error) => {
                // The cached doc has the edit but the disk does not: reload from disk next time.
                docs.remove(name.as_str());
                return Err(error);
            }
        };
        entry.log_rows += 1;
        Self::compact_if_long(connection, docs, name);
        Ok(pending)
    }

    /// Compact in the write path once the log is long. The cached doc equals snapshot + log, so
    /// its state is the new snapshot; this costs one encode of the doc every N writes. A failure
    /// is logged and not returned: the write itself is already durable.
    fn compact_if_long(
        connection: &mut Connection,
        docs: &mut HashMap<String, CachedDoc>,
        name: &DocName,
    ) {
        let Some(entry) = docs.get_mut(name.as_str()) else {
            return;
        };
        if entry.log_rows <= COMPACT_AFTER_LOG_ROWS {
            return;
        }
        match doc_log::replace_with_snapshot(connection, name, &entry.doc, None) {
            Ok(()) => entry.log_rows = 0,
            Err(error) => {
                tracing::warn!(doc = %name, code = error.code(), %error, "local compaction failed")
            }
        }
    }

    /// Rebuild the document from snapshot + log, write its state as the new snapshot and delete
    /// the replayed log rows, in one transaction. The outbox is untouched.
    pub fn compact(&self, name: &DocName) -> Result<(), LocalError> {
        let mut guard = self.lock()?;
        let Inner { connection, docs } = &mut *guard;
        let loaded = doc_log::load(connection, name)?;
        if loaded.log_rows == 0 {
            return Ok(());
        }
        doc_log::replace_with_snapshot(connection, name, &loaded.doc, Some(loaded.last_row))?;
        if let Some(entry) = docs.get_mut(name.as_str()) {
            entry.log_rows = 0;
        }
        Ok(())
    }

    /// Number of update-log rows of a document (for tests and diagnostics).
    pub fn log_len(&self, name: &DocName) -> Result<usize, LocalError> {
        let guard = self.lock()?;
        doc_log::log_rows(&guard.connection, name)
    }

    /// The content of the Y.Text root `text_name` ("" when it does not exist).
    pub fn text(&self, name: &DocName, text_name: &str) -> Result<String, LocalError> {
        let mut guard = self.lock()?;
        let Inner { connection, docs } = &mut *guard;
        let entry = cached(connection, docs, name)?;
        let transaction = entry.doc.transact();
        Ok(transaction
            .get_text(text_name)
            .map(|text| text.get_string(&transaction))
            .unwrap_or_default())
    }

    /// Run `f` with read access to the document (for projections and tests).
    pub fn read<R>(
        &self,
        name: &DocName,
        f: impl FnOnce(&yrs::Transaction) -> R,
    ) -> Result<R, LocalError> {
        let mut guard = self.lock()?;
        let Inner { connection, docs } = &mut *guard;
        let entry = cached(connection, docs, name)?;
        let transaction = entry.doc.transact();
        Ok(f(&transaction))
    }

    /// The v1-encoded state vector of the document.
    pub fn state_vector(&self, name: &DocName) -> Result<Vec<u8>, LocalError> {
        self.read(name, |transaction| transaction.state_vector().encode_v1())
    }

    /// A v1 update with everything the holder of `state_vector` lacks.
    pub fn diff_since(&self, name: &DocName, state_vector: &[u8]) -> Result<Vec<u8>, LocalError> {
        let state_vector = StateVector::decode_v1(state_vector)
            .map_err(|error| LocalError::InvalidStateVector(error.to_string()))?;
        self.read(name, |transaction| {
            transaction.encode_diff_v1(&state_vector)
        })
    }

    /// Every document this store holds, by name.
    pub fn documents(&self) -> Result<Vec<DocName>, LocalError> {
        let guard = self.lock()?;
        let mut statement = guard
            .connection
            .prepare_cached("SELECT name FROM docs ORDER BY name")?;
        let names = statement.query_map([], |row| row.get::<_, String>(0))?;
        let mut documents = Vec::new();
        for name in names {
            documents.push(DocName::parse(&name?)?);
        }
        Ok(documents)
    }

    /// All outbox entries, in id order.
    pub fn pending(&self) -> Result<Vec<OutboxEntry>, LocalError> {
        self.pending_after(0, usize::MAX >> 1)
    }

    /// Outbox entries with an id above `after`, in id order, at most `limit`.
    pub fn pending_after(&self, after: i64, limit: usize) -> Result<Vec<OutboxEntry>, LocalError> {
        let guard = self.lock()?;
        outbox::entries_after(&guard.connection, after, limit)
    }

    pub fn pending_count(&self) -> Result<usize, LocalError> {
        let guard = self.lock()?;
        outbox::count(&guard.connection)
    }

    /// Documents with at least one outbox entry.
    pub fn pending_documents(&self) -> Result<Vec<DocName>, LocalError> {
        let guard = self.lock()?;
        outbox::docs_with_entries(&guard.connection)
    }

    /// Remove acknowledged outbox entries (unknown ids are ignored).
    pub fn ack(&self, ids: &[i64]) -> Result<(), LocalError> {
        let mut guard = self.lock()?;
        let removed = outbox::ack(&mut guard.connection, ids)?;
        if removed > 0 {
            self.outbox.send_modify(|outbox| {
                outbox.pending = outbox.pending.saturating_sub(removed);
            });
        }
        Ok(())
    }

    /// Fault injection for tests: cap the database file at `pages` pages (SQLite never sets it
    /// below the current size), so a write that needs one more page fails with SQLITE_FULL just
    /// as on a full disk. Returns the cap in force.
    #[doc(hidden)]
    pub fn set_max_page_count(&self, pages: u64) -> Result<u64, LocalError> {
        let guard = self.lock()?;
        let pages = pages.min(i64::MAX as u64) as i64;
        let limit: i64 =
            guard
                .connection
                .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |row| {
                    row.get(0)
                })?;
        Ok(limit.max(0) as u64)
    }

    /// The catch-up cursor: the server's change position this store is synced up to (0 = never).
    pub fn cursor(&self) -> Result<i64, LocalError> {
        let guard = self.lock()?;
        let cursor = guard
            .connection
            .query_row(
                "SELECT value FROM sync_state WHERE key = 'cursor'",
                [],
                |row| row.get(0),
            )
            .optional()?;
        Ok(cursor.unwrap_or(0))
    }

    pub fn set_cursor(&self, cursor: i64) -> Result<(), LocalError> {
        let guard = self.lock()?;
        guard.connection.execute(
            "INSERT INTO sync_state (key, value) VALUES ('cursor', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [cursor],
        )?;
        Ok(())
    }
}
