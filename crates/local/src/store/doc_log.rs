//! Per-document persistence: the compacted snapshot and the append-only update log behind it.
//! A document's state is always `snapshot + every log row`, replayed into a `yrs::Doc`.

use protocol::DocName;
use rusqlite::{Connection, OptionalExtension, params};
use yrs::updates::decoder::Decode;
use yrs::{Doc, OffsetKind, Options, ReadTxn, StateVector, Transact, Update};

use crate::LocalError;

/// Decode and apply one v1 update to `doc`.
pub(crate) fn apply(doc: &Doc, update: &[u8]) -> Result<(), LocalError> {
    let update =
        Update::decode_v1(update).map_err(|error| LocalError::InvalidUpdate(error.to_string()))?;
    doc.transact_mut()
        .apply_update(update)
        .map_err(|error| LocalError::InvalidUpdate(error.to_string()))
}

/// Apply an update from the server to `doc` as the server itself integrates updates
/// ([`protocol::integrate_update`]): one that would make yrs 0.28.1 use freed memory (it skips
/// clocks, builds on what this document lacks, or restates clocks it holds elsewhere) is refused
/// and the document is unchanged. The sync handshake of the next connection brings what is
/// missing, in order.
pub(crate) fn apply_remote(doc: &Doc, update: &[u8]) -> Result<(), LocalError> {
    protocol::integrate_update(&mut doc.transact_mut(), update)
        .map_err(|error| LocalError::InvalidUpdate(error.to_string()))
}

/// Append `update` to the log of `doc` (creating the doc row on first write).
pub(crate) fn append(
    connection: &Connection,
    doc: &DocName,
    update: &[u8],
) -> Result<(), LocalError> {
    connection.execute(
        "INSERT OR IGNORE INTO docs (name) VALUES (?1)",
        [doc.as_str()],
    )?;
    connection.execute(
        "INSERT INTO doc_updates (doc, bytes) VALUES (?1, ?2)",
        params![doc.as_str(), update],
    )?;
    Ok(())
}

/// A document rebuilt from disk, with what is needed to compact it.
pub(crate) struct Loaded {
    pub doc: Doc,
    pub log_rows: usize,
    /// Highest log row id replayed (0 when the log is empty).
    pub last_row: i64,
}

/// A fresh document that counts text offsets in UTF-16 code units, as Yjs in the webview does,
/// with garbage collection off: deleted text stays in the document, so a saved version (a
/// snapshot: state vector + delete set) can be rebuilt later (docs/DRAFT_FORMAT.md). The editor
/// and the server keep it too; a doc that collected it could not show old versions.
pub(crate) fn new_doc() -> Doc {
    Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        skip_gc: true,
        ..Options::default()
    })
}

/// Replay snapshot + log into a fresh `Doc` (one yrs transaction for the whole replay).
pub(crate) fn load(connection: &Connection, name: &DocName) -> Result<Loaded, LocalError> {
    let doc = new_doc();
    let snapshot: Option<Vec<u8>> = connection
        .query_row(
            "SELECT snapshot FROM docs WHERE name = ?1",
            [name.as_str()],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    let mut statement = connection
        .prepare_cached("SELECT id, bytes FROM doc_updates WHERE doc = ?1 ORDER BY id")?;
    let mut rows = statement.query([name.as_str()])?;
    let mut log_rows = 0;
    let mut last_row = 0;
    {
        let mut transaction = doc.transact_mut();
        if let Some(snapshot) = snapshot {
            let update = Update::decode_v1(&snapshot)
                .map_err(|error| LocalError::InvalidUpdate(error.to_string()))?;
            transaction
                .apply_update(update)
                .map_err(|error| LocalError::InvalidUpdate(error.to_string()))?;
        }
        while let Some(row) = rows.next()? {
            last_row = row.get(0)?;
            let bytes: Vec<u8> = row.get(1)?;
            let update = Update::decode_v1(&bytes)
                .map_err(|error| LocalError::InvalidUpdate(error.to_string()))?;
            transaction
                .apply_update(update)
                .map_err(|error| LocalError::InvalidUpdate(error.to_string()))?;
            log_rows += 1;
        }
    }
    Ok(Loaded {
        doc,
        log_rows,
        last_row,
    })
}

/// Replace the snapshot of `name` with the full state of `doc` and drop the log rows up to and
/// including `upto_row`, in one transaction. `doc` must hold at least snapshot + those rows.
pub(crate) fn replace_with_snapshot(
    connection: &mut Connection,
    name: &DocName,
    doc: &Doc,
    upto_row: Option<i64>,
) -> Result<(), LocalError> {
    let state = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let transaction = connection.transaction()?;
    transaction.execute(
        "INSERT INTO docs (name, snapshot, compacted_at) VALUES (?1, ?2, unixepoch())
         ON CONFLICT (name) DO UPDATE SET snapshot = excluded.snapshot, compacted_at = excluded.compacted_at",
        params![name.as_str(), state],
    )?;
    match upto_row {
        Some(upto) => transaction.execute(
            "DELETE FROM doc_updates WHERE doc = ?1 AND id <= ?2",
            params![name.as_str(), upto],
        )?,
        None => transaction.execute("DELETE FROM doc_updates WHERE doc = ?1", [name.as_str()])?,
    };
    transaction.commit()?;
    Ok(())
}

pub(crate) fn log_rows(connection: &Connection, name: &DocName) -> Result<usize, LocalError> {
    let count: i64 = connection.query_row(
        "SELECT count(*) FROM doc_updates WHERE doc = ?1",
        [name.as_str()],
        |row| row.get(0),
    )?;
    Ok(count as usize)
}
