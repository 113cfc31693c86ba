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
    // 2: projections for the dashboard, kept in step with the documents in the same transaction
    // (see projection.rs), and the full-text index (rowid = docs.rowid).
    "CREATE TABLE case_rows (
        id TEXT PRIMARY KEY NOT NULL,
        title TEXT NOT NULL,
        client TEXT NOT NULL,
        matter_number TEXT NOT NULL,
        practice_area TEXT NOT NULL,
        status TEXT NOT NULL,
        responsible TEXT NOT NULL,
        archived INTEGER NOT NULL,
        next_deadline TEXT
    ) STRICT;
    CREATE TABLE deadline_rows (
        case_id TEXT NOT NULL,
        id TEXT NOT NULL,
        date TEXT NOT NULL,
        title TEXT NOT NULL,
        kind TEXT NOT NULL,
        done INTEGER NOT NULL,
        PRIMARY KEY (case_id, id)
    ) STRICT;
    CREATE INDEX deadline_rows_open ON deadline_rows (done, date);
    CREATE TABLE draft_rows (
        doc TEXT PRIMARY KEY NOT NULL,
        case_id TEXT NOT NULL,
        draft_id TEXT NOT NULL,
        title TEXT NOT NULL,
        deleted INTEGER NOT NULL,
        indexed INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX draft_rows_by_case ON draft_rows (case_id, deleted);
    CREATE INDEX draft_rows_unindexed ON draft_rows (indexed) WHERE indexed = 0;
    CREATE VIRTUAL TABLE search_index USING fts5(
        doc UNINDEXED, case_id UNINDEXED, kind UNINDEXED, title, body,
        tokenize = 'unicode61 remove_diacritics 2'
    );",
    // 3: matter removal (see removal.rs). `matter_grants`: matters the server has let this
    // laptop open at least once; only those are purged on a "document not found". Seeded with
    // matters that have a document without unsent updates: everything in such a document came
    // from the server or was acknowledged by it. `removed_matters`: tombstones, no content.
    "CREATE TABLE matter_grants (
        case_id TEXT PRIMARY KEY NOT NULL,
        granted_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE removed_matters (
        case_id TEXT PRIMARY KEY NOT NULL,
        removed_at INTEGER NOT NULL,
        reason TEXT NOT NULL
    ) STRICT;
    INSERT OR IGNORE INTO matter_grants (case_id, granted_at)
        SELECT substr(name, 7, 36), unixepoch() FROM docs
        WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.doc = docs.name);",
    // 4: the account this store belongs to (see account.rs): one row, written the first time it
    // syncs, never changed. `local_only_matters`: matters that existed before that binding and
    // were never granted by a server; they are not synced until the lawyer attaches them.
    "CREATE TABLE store_account (
        id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
        server TEXT NOT NULL,
        firm TEXT NOT NULL,
        user TEXT NOT NULL,
        bound_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE local_only_matters (
        case_id TEXT PRIMARY KEY NOT NULL,
        since INTEGER NOT NULL
    ) STRICT;",
    // 5: removal notices that outlive a restart (see removal.rs). `discarded_changes`: the unsent
    // changes the purge discarded (NULL on tombstones written before this version, when the
    // count was not kept). `notice_dismissed_at`: when the lawyer dismissed the notice; the
    // tombstone itself stays, so the matter's edits, exports and imports stay refused.
    "ALTER TABLE removed_matters ADD COLUMN discarded_changes INTEGER;
    ALTER TABLE removed_matters ADD COLUMN notice_dismissed_at INTEGER;",
    // 6: legal holds as the firm's server last listed them (`GET /api/v1/cases`): a held matter's
    // drafts, parties and deadlines are not deleted on this laptop.
    "CREATE TABLE legal_holds (
        case_id TEXT PRIMARY KEY NOT NULL,
        reason TEXT NOT NULL,
        placed_by TEXT NOT NULL,
        placed_at TEXT NOT NULL
    ) STRICT;",
];

/// The first schema version with projections: opening an older file rebuilds them.
pub(crate) const PROJECTIONS_VERSION: i64 = 2;

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Apply the pending migrations; returns the version the file had before.
pub(crate) fn migrate(connection: &mut Connection) -> Result<i64, LocalError> {
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
    Ok(current)
}
