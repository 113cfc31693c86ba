//! The sync core's queries: opening (and creating) documents, their update log and snapshots,
//! the catch-up feed of changed documents, compaction, matter titles.

use protocol::{DocKind, DocName};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::{access, audit};
use crate::error::Error;
use crate::role::Role;

/// The row that identifies a loaded document, and the caller's access to it.
#[derive(Debug, Clone)]
pub struct DocumentRow {
    pub id: i64,
    pub firm_id: String,
    pub case_id: Uuid,
    pub kind: DocKind,
    pub role: Role,
}

/// Find a document and the caller's role on its case. The first sync of a new `cases/{uuid}`
/// (or of a draft in it) by a firm member creates the case with that user as its owner.
/// [`Error::NotFound`] covers another firm's document and a matter the caller is not a member
/// of or is screened from, all reported exactly like a missing one.
#[tracing::instrument(level = "debug", skip_all, fields(doc = %name, firm = firm_id))]
pub async fn open_document(
    pool: &PgPool,
    name: &DocName,
    user_id: &str,
    firm_id: &str,
    may_create_case: impl FnOnce() -> bool,
) -> Result<DocumentRow, Error> {
    let case_id = Uuid::parse_str(name.case_id().as_str()).map_err(|_| Error::NotFound)?;
    // The common case, every reconnect: the document exists. Two reads, no write transaction.
    let existing: Option<(i64, String, Uuid)> =
        sqlx::query_as("SELECT id, firm_id, case_id FROM documents WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(pool)
            .await?;
    if let Some((id, firm, case)) = existing {
        if firm != firm_id || case != case_id {
            return Err(Error::NotFound);
        }
        let role = access::case_access(pool, case_id, user_id)
            .await?
            .ok_or(Error::NotFound)?;
        return Ok(DocumentRow {
            id,
            firm_id: firm,
            case_id: case,
            kind: name.kind(),
            role,
        });
    }
    let case_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM cases WHERE id = $1)")
        .bind(case_id)
        .fetch_one(pool)
        .await?;
    if !case_exists && !may_create_case() {
        return Err(Error::TooManyNewCases);
    }
    let mut tx = pool.begin().await?;
    let created = sqlx::query(
        "INSERT INTO cases (id, firm_id, created_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(case_id)
    .bind(firm_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let case_firm: String = sqlx::query_scalar("SELECT firm_id FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_one(&mut *tx)
        .await?;
    if case_firm != firm_id {
        return Err(Error::NotFound);
    }
    if created {
        sqlx::query("INSERT INTO case_members (case_id, user_id, role, added_by) VALUES ($1, $2, 'owner', $2)")
            .bind(case_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        audit::audit(
            &mut *tx,
            audit::Audit {
                firm_id,
                case_id: Some(case_id),
                user_id: Some(user_id),
                action: "case_created",
                detail: serde_json::json!({}),
            },
        )
        .await?;
    }
    let Some(role) = access::case_access(&mut *tx, case_id, user_id).await? else {
        tx.commit().await?;
        return Err(Error::NotFound);
    };
    let kind = match name.kind() {
        DocKind::Case => "case",
        DocKind::Draft => "draft",
    };
    if role.can_write() {
        sqlx::query(
            "INSERT INTO documents (name, case_id, firm_id, kind) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.as_str())
        .bind(case_id)
        .bind(firm_id)
        .bind(kind)
        .execute(&mut *tx)
        .await?;
    }
    let row: Option<(i64, String, Uuid)> =
        sqlx::query_as("SELECT id, firm_id, case_id FROM documents WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    match row {
        Some((id, firm, case)) if firm == firm_id && case == case_id => Ok(DocumentRow {
            id,
            firm_id: firm,
            case_id: case,
            kind: name.kind(),
            role,
        }),
        _ => Err(Error::NotFound),
    }
}

/// A document's stored history: its snapshot (if compacted) and every update after it, in order,
/// each with the id of the row it is stored in (a row may hold several: `pack_parts`).
pub struct StoredDocument {
    pub snapshot: Option<Vec<u8>>,
    pub updates: Vec<(i64, Vec<u8>)>,
}

impl StoredDocument {
    /// How many rows the updates came from (a row's updates are consecutive and share its id).
    pub fn rows(&self) -> usize {
        self.updates.chunk_by(|a, b| a.0 == b.0).count()
    }
}

/// What a row holding several updates starts with: the varuint 2³²−1. Read as a Yjs v1 update
/// (by a previous release, which reads `bytes` as one update), it is the number of clients
/// listed, more than the bytes can hold, so `protocol::check_update_v1` refuses the row before
/// yrs sees it: a load of that document fails, and nothing is misread.
pub const PACKED_MARKER: [u8; 5] = [0xff, 0xff, 0xff, 0xff, 0x0f];

/// Several updates in one row's `bytes` (its `parts` says how many): `PACKED_MARKER`, then each
/// update as lib0 var-bytes (its length as a varuint, then its bytes), in order.
pub fn pack_parts(parts: &[&[u8]]) -> Vec<u8> {
    let mut writer = protocol::Writer::with_capacity(
        PACKED_MARKER.len() + parts.iter().map(|part| part.len() + 4).sum::<usize>(),
    );
    writer.write_raw(&PACKED_MARKER);
    for part in parts {
        writer.write_var_bytes(part);
    }
    writer.into_vec()
}

/// The updates of a row: `bytes` itself when `parts` is 1, else what `pack_parts` wrote, which
/// must hold exactly `parts` updates.
pub fn unpack_parts(bytes: Vec<u8>, parts: i32) -> Result<Vec<Vec<u8>>, String> {
    if parts == 1 {
        return Ok(vec![bytes]);
    }
    let count =
        usize::try_from(parts).map_err(|_| format!("a row says it holds {parts} updates"))?;
    let packed = bytes
        .strip_prefix(&PACKED_MARKER)
        .ok_or_else(|| format!("a row says it holds {count} updates but is not packed"))?;
    let mut reader = protocol::Reader::new(packed);
    let mut updates = Vec::with_capacity(count.min(4096));
    while !reader.is_empty() {
        let part = reader
            .read_var_bytes("a stored update")
            .map_err(|error| error.to_string())?;
        updates.push(part.to_vec());
    }
    if updates.len() != count {
        return Err(format!(
            "a row says it holds {count} updates but holds {}",
            updates.len()
        ));
    }
    Ok(updates)
}

/// A document's stored history read in one consistent snapshot: a compaction committing on
/// another instance between the snapshot read and the rows read would otherwise hide the rows it
/// folded (the old snapshot, then no rows).
#[tracing::instrument(level = "debug", skip_all, fields(doc = doc_id))]
pub async fn load_document_consistent(
    pool: &PgPool,
    doc_id: i64,
) -> Result<StoredDocument, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let stored = load_document(&mut tx, doc_id).await?;
    tx.commit().await?;
    Ok(stored)
}

/// A document's history through `conn` (the caller provides the snapshot's consistency).
#[tracing::instrument(level = "debug", skip_all, fields(doc = doc_id))]
pub async fn load_document(
    conn: &mut sqlx::PgConnection,
    doc_id: i64,
) -> Result<StoredDocument, sqlx::Error> {
    let snapshot: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT state FROM doc_snapshots WHERE doc_id = $1")
            .bind(doc_id)
            .fetch_optional(&mut *conn)
            .await?;
    let rows = sqlx::query_as::<_, (i64, Vec<u8>, i32)>(
        "SELECT id, bytes, parts FROM doc_updates WHERE doc_id = $1 ORDER BY id",
    )
    .bind(doc_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut updates = Vec::with_capacity(rows.len());
    for (id, bytes, parts) in rows {
        let unpacked = unpack_parts(bytes, parts).map_err(|message| {
            sqlx::Error::Decode(format!("update row {id} of document {doc_id}: {message}").into())
        })?;
        updates.extend(unpacked.into_iter().map(|update| (id, update)));
    }
    Ok(StoredDocument { snapshot, updates })
}

/// One row to append: an update, or several of one document by one user (`pack_parts`).
#[derive(Debug)]
pub struct NewUpdate<'a> {
    pub doc_id: i64,
    pub bytes: bytes::Bytes,
    /// How many updates `bytes` holds (1: `bytes` is the update).
    pub parts: i32,
    pub user_id: &'a str,
}

/// Append a batch of update rows in one transaction and mark their documents changed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn append_updates(pool: &PgPool, batch: &[NewUpdate<'_>]) -> Result<(), sqlx::Error> {
    let doc_ids: Vec<i64> = batch.iter().map(|update| update.doc_id).collect();
    let bytes: Vec<&[u8]> = batch.iter().map(|update| update.bytes.as_ref()).collect();
    let users: Vec<&str> = batch.iter().map(|update| update.user_id).collect();
    let parts: Vec<i32> = batch.iter().map(|update| update.parts).collect();
    let mut changed = doc_ids.clone();
    changed.sort_unstable();
    changed.dedup();
    // One statement, so one round trip and its own transaction: the rows and the documents'
    // change marks commit together or not at all (a data-modifying WITH runs to completion
    // whether or not the main statement reads it). The documents are found by their keys, so
    // the mark costs an index lookup per document whatever the size of the firm.
    sqlx::query(
        "WITH appended AS (
             INSERT INTO doc_updates (doc_id, bytes, user_id, parts)
             SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::text[], $5::int[])
         )
         UPDATE documents SET change_xid = pg_current_xact_id()::text::bigint
         WHERE id = ANY($4::bigint[])",
    )
    .bind(&doc_ids)
    .bind(&bytes)
    .bind(&users)
    .bind(&changed)
    .bind(&parts)
    .execute(pool)
    .await?;
    Ok(())
}

/// The documents `$4` may see in firm `$1` that changed at or after transaction `$2`, with the
/// transaction that makes them new to this user: the last write, or the grant of their matter
/// (a new member gets every existing document of the matter, not only those changed since).
const VISIBLE_CHANGES: &str = "
    SELECT d.name, d.id, d.change_xid AS xid FROM documents d
    JOIN case_members m ON m.case_id = d.case_id AND m.user_id = $4
    WHERE d.firm_id = $1 AND d.change_xid >= $2
      AND NOT EXISTS (SELECT 1 FROM screens s WHERE s.case_id = d.case_id AND s.user_id = $4)
    UNION ALL
    SELECT d.name, d.id, m.granted_xid AS xid FROM case_members m
    JOIN documents d ON d.case_id = m.case_id
    WHERE m.user_id = $4 AND m.granted_xid >= $2 AND d.firm_id = $1 AND d.change_xid < $2
      AND NOT EXISTS (SELECT 1 FROM screens s WHERE s.case_id = d.case_id AND s.user_id = $4)";

/// Documents of `firm_id` changed by transactions at or after `since`, oldest first, and the
/// cursor to ask from next time. The cursor is the xmin of this query's snapshot: every
/// transaction below it has finished, so nothing that commits later can be skipped.
#[tracing::instrument(level = "debug", skip_all, fields(firm = firm_id))]
pub async fn changes_since(
    pool: &PgPool,
    firm_id: &str,
    user_id: &str,
    since: i64,
    limit: usize,
) -> Result<(i64, Vec<String>, bool), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let xmin: i64 =
        sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            .fetch_one(&mut *tx)
            .await?;
    let rows = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(format!(
        "SELECT name, xid FROM ({VISIBLE_CHANGES}) AS changed ORDER BY xid, id LIMIT $3"
    )))
    .bind(firm_id)
    .bind(since)
    .bind(limit as i64 + 1)
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    if rows.len() <= limit {
        tx.commit().await?;
        return Ok((
            xmin,
            rows.into_iter().map(|(name, _)| name).collect(),
            false,
        ));
    }
    // A full page: stop before the last transaction seen and include all of its documents, so
    // the next page can start at that transaction id without looping forever.
    let last_xid = rows[limit - 1].1;
    let mut docs: Vec<String> = rows
        .into_iter()
        .take(limit)
        .filter(|(_, xid)| *xid < last_xid)
        .map(|(name, _)| name)
        .collect();
    let same = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
        "SELECT name FROM ({VISIBLE_CHANGES}) AS changed WHERE xid = $2 ORDER BY id LIMIT $3"
    )))
    .bind(firm_id)
    .bind(last_xid)
    .bind(i64::MAX)
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    docs.extend(same);
    tx.commit().await?;
    Ok((last_xid + 1, docs, true))
}

/// What a compaction folded into the snapshot: rows, and the updates they held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Folded {
    pub rows: usize,
    pub updates: usize,
}

/// Fold a document's snapshot and update rows into a new snapshot, in one transaction.
/// `rebuild` turns the stored history into one encoded state.
#[tracing::instrument(level = "debug", skip_all, fields(doc = doc_id))]
pub async fn compact_document<F>(
    pool: &PgPool,
    doc_id: i64,
    rebuild: F,
) -> Result<Folded, sqlx::Error>
where
    F: FnOnce(&StoredDocument) -> Result<Vec<u8>, String>,
{
    let mut tx = pool.begin().await?;
    // Serialize compactions of one document; writers are not blocked.
    sqlx::query("SELECT pg_advisory_xact_lock(7301, $1::int)")
        .bind(doc_id as i32)
        .execute(&mut *tx)
        .await?;
    let legal_hold: bool = sqlx::query_scalar(
        "SELECT c.legal_hold FROM documents d JOIN cases c ON c.id = d.case_id WHERE d.id = $1",
    )
    .bind(doc_id)
    .fetch_one(&mut *tx)
    .await?;
    if legal_hold {
        tx.commit().await?;
        return Ok(Folded::default());
    }
    let stored = load_document(&mut tx, doc_id).await?;
    if stored.updates.is_empty() {
        tx.commit().await?;
        return Ok(Folded::default());
    }
    let state = rebuild(&stored)
        .map_err(|message| sqlx::Error::Protocol(format!("compaction: {message}")))?;
    let mut ids: Vec<i64> = stored.updates.iter().map(|(id, _)| *id).collect();
    let updates = ids.len();
    ids.dedup();
    sqlx::query(
        "INSERT INTO doc_snapshots (doc_id, state, updates_folded) VALUES ($1, $2, $3)
         ON CONFLICT (doc_id) DO UPDATE SET state = EXCLUDED.state,
           updates_folded = doc_snapshots.updates_folded + EXCLUDED.updates_folded, compacted_at = now()",
    )
    .bind(doc_id)
    .bind(&state)
    .bind(updates as i64)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM doc_updates WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Folded {
        rows: ids.len(),
        updates,
    })
}

/// Keep a matter's title for lists (from its case document).
#[tracing::instrument(level = "debug", skip_all, fields(case = %case_id))]
pub async fn set_case_title(pool: &PgPool, case_id: Uuid, title: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cases SET title = $2 WHERE id = $1")
        .bind(case_id)
        .bind(title)
        .execute(pool)
        .await?;
    Ok(())
}
