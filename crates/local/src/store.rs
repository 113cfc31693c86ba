//! The encrypted local store: yrs documents cached in memory, persisted as snapshot + update
//! log in a SQLCipher database, with the outbox and the sync cursor beside them.
//!
//! Every mutation holds one mutex over the connection and the document cache, so the cached
//! `Doc` of a document is always exactly `snapshot + log` on disk. When a write fails after the
//! cached doc was touched, the doc is evicted and reloads from disk on next use.

mod binding;
mod casework;
pub(crate) mod doc_log;
pub mod draft;
pub(crate) mod keys;
pub mod matter_record;
pub(crate) mod migrations;
pub(crate) mod outbox;
pub mod projection;
mod removal;
mod search;
mod stores;

pub use binding::Binding;
pub use casework::STATUSES;
pub use keys::{FixedKey, KeyProvider, KeySlot, MemoryKeySlot, StoredKey};
pub use outbox::OutboxEntry;
pub use removal::{PurgeReport, RemovedMatter};
pub use stores::StoreFiles;

use std::collections::HashMap;
use std::path::Path;
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

pub(crate) struct Inner {
    pub(crate) connection: Connection,
    pub(crate) docs: HashMap<String, CachedDoc>,
}

/// The local database. `Send + Sync`; share it as `Arc<Store>`.
pub struct Store {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// Open the file and migrate it; also returns the schema version the file had before.
fn open_connection(path: &Path, keys: &dyn KeyProvider) -> Result<(Connection, i64), LocalError> {
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
        let store = Store {
            inner: Mutex::new(Inner {
                connection,
                docs: HashMap::new(),
            }),
        };
        if previous > 0 && previous < migrations::PROJECTIONS_VERSION {
            store.rebuild_projections()?;
        }
        Ok(store)
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Inner>, LocalError> {
        Ok(self.inner.lock()?)
    }

    /// Apply an update made on this device: validated, applied to the document and, in one
    /// SQLite transaction, appended to the document's log and to the outbox. Returns after commit.
    pub fn apply_local_update(&self, doc: &DocName, update: &[u8]) -> Result<(), LocalError> {
        validate(update)?;
        self.apply_and_persist(doc, update, true)
    }

    /// Apply an update that came from the server: persisted to the log (not the outbox).
    pub fn apply_remote_update(&self, doc: &DocName, update: &[u8]) -> Result<(), LocalError> {
        validate(update)?;
        self.apply_and_persist(doc, update, false)
    }

    fn apply_and_persist(
        &self,
        name: &DocName,
        update: &[u8],
        to_outbox: bool,
    ) -> Result<(), LocalError> {
        let mut guard = self.lock()?;
        let Inner { connection, docs } = &mut *guard;
        let entry = cached(connection, docs, name)?;
        let result = (|| {
            let transaction = connection.transaction()?;
            doc_log::append(&transaction, name, update)?;
            if to_outbox {
                outbox::push(&transaction, name, update)?;
                doc_log::apply(&entry.doc, update)?;
            } else {
                doc_log::apply_remote(&entry.doc, update)?;
            }
            projection::refresh(&transaction, name, &entry.doc.transact())?;
            transaction.commit()?;
            Ok(())
        })();
        if let Err(error) = result {
            docs.remove(name.as_str());
            return Err(error);
        }
        entry.log_rows += 1;
        Self::compact_if_long(connection, docs, name);
        Ok(())
    }

    /// Run `f` in one transaction on the document, then persist that transaction's v1 update as
    /// [`Store::apply_local_update`] does. Inside `f`, reach root types through the transaction
    /// (`txn.get_or_insert_text("body")`): `Doc::get_or_insert_*` would need a second transaction.
    pub fn edit(
        &self,
        name: &DocName,
        f: impl FnOnce(&Doc, &mut TransactionMut),
    ) -> Result<(), LocalError> {
        let mut guard = self.lock()?;
        let Inner { connection, docs } = &mut *guard;
        let entry = cached(connection, docs, name)?;
        let update = {
            let mut transaction = entry.doc.transact_mut();
            f(&entry.doc, &mut transaction);
            transaction.encode_update_v1()
        };
        if update == EMPTY_UPDATE {
            return Ok(());
        }
        let result = (|| {
            let transaction = connection.transaction()?;
            doc_log::append(&transaction, name, &update)?;
            outbox::push(&transaction, name, &update)?;
            projection::refresh(&transaction, name, &entry.doc.transact())?;
            transaction.commit()?;
            Ok(())
        })();
        if let Err(error) = result {
            // The cached doc has the edit but the disk does not: reload from disk next time.
            docs.remove(name.as_str());
            return Err(error);
        }
        entry.log_rows += 1;
        Self::compact_if_long(connection, docs, name);
        Ok(())
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
        outbox::ack(&mut guard.connection, ids)
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
