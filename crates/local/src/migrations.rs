//! Embedded, ordered schema migrations. `PRAGMA user_version` holds how many have been applied;
//! each runs in its own transaction together with the version bump. Append only: never edit a
//! migration that has shipped.

use rusqlite::Connection;

use crate::LocalError;

const MIGRATIONS: &[&str] = &[
    // 1: documents, their update logs, the outbox and the sync cursor.
    "CREATE TABLE docs (
        name TEXT PRIMARY KEY NOT NULL,
        -- v1 update holding the compacted state; NULL until the first compaction.
        snapshot BLOB,
        compacted_at INTEGER
    ) STRICT;
    CREATE TABLE doc_updates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc TEXT NOT NULL REFERENCES docs(name),
        bytes BLOB NOT NULL
    ) STRICT;
    CREATE INDEX doc_updates_by_doc ON doc_updates (doc, id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        doc TEXT NOT NULL REFERENCES docs(name),
        bytes BLOB NOT NULL
    ) STRICT;
    CREATE TABLE sync_state (
        key TEXT PRIMARY KEY NOT NULL,
        value INTEGER NOT NULL
    ) STRICT;",
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn migrate(connection: &mut Connection) -> Result<(), LocalError> {
    let current: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(LocalError::SchemaTooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", index as i64 + 1)?;
        transaction.commit()?;
        tracing::info!(version = index + 1, "applied local schema migration");
    }
    Ok(())
}
