//! The outbox: local updates waiting for the server's durable ack (`SyncStatus(true)`).
//! Rows are written in the same SQLite transaction as the doc's update log (see `store.rs`).

use protocol::DocName;
use rusqlite::{Connection, params};

use crate::LocalError;

/// One local update not yet acknowledged by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub doc: DocName,
    pub update: Vec<u8>,
}

pub(crate) fn push(
    connection: &Connection,
    doc: &DocName,
    update: &[u8],
) -> Result<i64, LocalError> {
    connection.execute(
        "INSERT INTO outbox (doc, bytes) VALUES (?1, ?2)",
        params![doc.as_str(), update],
    )?;
    Ok(connection.last_insert_rowid())
}

/// Entries with an id above `after`, in id order, at most `limit` of them.
pub(crate) fn entries_after(
    connection: &Connection,
    after: i64,
    limit: usize,
) -> Result<Vec<OutboxEntry>, LocalError> {
    let mut statement = connection
        .prepare_cached("SELECT id, doc, bytes FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2")?;
    let rows = statement.query_map(params![after, limit as i64], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let (id, doc, update) = row?;
        entries.push(OutboxEntry {
            id,
            doc: DocName::parse(&doc)?,
            update,
        });
    }
    Ok(entries)
}

pub(crate) fn count(connection: &Connection) -> Result<usize, LocalError> {
    let count: i64 = connection.query_row("SELECT count(*) FROM outbox", [], |row| row.get(0))?;
    Ok(count as usize)
}

pub(crate) fn docs_with_entries(connection: &Connection) -> Result<Vec<DocName>, LocalError> {
    let mut statement =
        connection.prepare_cached("SELECT DISTINCT doc FROM outbox ORDER BY doc")?;
    let names = statement.query_map([], |row| row.get::<_, String>(0))?;
    let mut docs = Vec::new();
    for name in names {
        docs.push(DocName::parse(&name?)?);
    }
    Ok(docs)
}

/// The highest id ever given to an entry (0 when none), acknowledged ones included: the table is
/// AUTOINCREMENT, so SQLite keeps that high-water mark in `sqlite_sequence`.
pub(crate) fn newest(connection: &Connection) -> Result<i64, LocalError> {
    let newest: i64 = connection.query_row(
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)",
        [],
        |row| row.get(0),
    )?;
    Ok(newest)
}

/// Delete the entries; returns how many there were.
pub(crate) fn ack(connection: &mut Connection, ids: &[i64]) -> Result<usize, LocalError> {
    let transaction = connection.transaction()?;
    let mut removed = 0;
    {
        let mut statement = transaction.prepare_cached("DELETE FROM outbox WHERE id = ?1")?;
        for id in ids {
            removed += statement.execute([id])?;
        }
    }
    transaction.commit()?;
    Ok(removed)
}
