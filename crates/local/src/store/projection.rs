//! Projections of the documents for the dashboard: one row per matter, its deadlines, one row
//! per draft, and an FTS5 index over matter fields and draft text. They are written in the same
//! SQLite transaction as the update that changed the document, so the dashboard never shows a
//! state the documents do not have.
//!
//! One exception keeps typing fast: a draft's *text* is not re-indexed on every keystroke (that
//! would re-tokenize a 100-page draft each time). The draft row is marked `indexed = 0` in the
//! edit's transaction, and [`crate::Store::search`] indexes marked drafts before it queries, so
//! search results are still never stale.

use protocol::{CaseId, DocKind, DocName};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use yrs::ReadTxn;

use crate::LocalError;
use crate::store::{draft, matter_record};

/// A matter as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub id: String,
    pub title: String,
    pub client: String,
    pub matter_number: String,
    pub practice_area: String,
    pub status: String,
    pub responsible: String,
    pub archived: bool,
    /// Earliest open deadline (`YYYY-MM-DD`), if any.
    pub next_deadline: Option<String>,
}

/// Which matters the dashboard shows, and in what order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CaseFilter {
    pub status: Option<String>,
    pub practice_area: Option<String>,
    /// "My matters": the responsible lawyer's name.
    pub responsible: Option<String>,
    pub include_archived: bool,
    pub sort: CaseSort,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseSort {
    #[default]
    NextDeadline,
    Title,
    Client,
    MatterNumber,
    Status,
}

/// A deadline on the "upcoming" list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpcomingDeadline {
    pub case_id: String,
    pub case_title: String,
    pub id: String,
    pub date: String,
    pub title: String,
    pub kind: String,
    pub overdue: bool,
}

/// A draft in a matter's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftSummary {
    pub doc: String,
    pub case_id: String,
    pub id: String,
    pub title: String,
    /// Unix seconds of the last change seen on this device.
    pub updated_at: i64,
}

/// A full-text search hit. `snippet` marks matched words with U+0002 … U+0003 so the UI can
/// highlight them without interpreting any markup from the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub doc: String,
    pub case_id: String,
    pub kind: String,
    pub title: String,
    pub case_title: String,
    pub snippet: String,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}

fn doc_rowid(connection: &Connection, name: &DocName) -> Result<Option<i64>, LocalError> {
    Ok(connection
        .query_row(
            "SELECT rowid FROM docs WHERE name = ?1",
            [name.as_str()],
            |row| row.get(0),
        )
        .optional()?)
}

/// Bring the projections of `name` in line with its document. Called inside the write's
/// transaction, after the update was applied to `txn`'s document.
pub(crate) fn refresh<T: ReadTxn>(
    connection: &Connection,
    name: &DocName,
    txn: &T,
) -> Result<(), LocalError> {
    match name.kind() {
        DocKind::Case => refresh_case(connection, name, txn),
        DocKind::Draft => refresh_draft(connection, name, txn),
    }
}

fn refresh_case<T: ReadTxn>(
    connection: &Connection,
    name: &DocName,
    txn: &T,
) -> Result<(), LocalError> {
    let case_id = name.case_id();
    let Some(case) = matter_record::read(txn, &case_id) else {
        return Ok(());
    };
    let next_deadline = case
        .deadlines
        .iter()
        .filter(|deadline| !deadline.done && !deadline.date.is_empty())
        .map(|deadline| deadline.date.as_str())
        .min();
    let fields = &case.fields;
    connection.execute(
        "INSERT INTO case_rows (id, title, client, matter_number, practice_area, status,
                                responsible, archived, next_deadline)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, client = excluded.client,
           matter_number = excluded.matter_number, practice_area = excluded.practice_area,
           status = excluded.status, responsible = excluded.responsible,
           archived = excluded.archived, next_deadline = excluded.next_deadline",
        params![
            case_id.as_str(),
            fields.title,
            fields.client,
            fields.matter_number,
            fields.practice_area,
            fields.status,
            fields.responsible,
            case.archived,
            next_deadline,
        ],
    )?;
    connection.execute(
        "DELETE FROM deadline_rows WHERE case_id = ?1",
        [case_id.as_str()],
    )?;
    let mut insert = connection.prepare_cached(
        "INSERT OR REPLACE INTO deadline_rows (case_id, id, date, title, kind, done)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for deadline in &case.deadlines {
        insert.execute(params![
            case_id.as_str(),
            deadline.id,
            deadline.date,
            deadline.title,
            deadline.kind,
            deadline.done
        ])?;
    }
    let mut body = vec![
        fields.client.as_str(),
        fields.matter_number.as_str(),
        fields.practice_area.as_str(),
        fields.responsible.as_str(),
        fields.notes.as_str(),
    ];
    body.extend(case.parties.iter().map(|party| party.name.as_str()));
    body.extend(
        case.deadlines
            .iter()
            .map(|deadline| deadline.title.as_str()),
    );
    index(connection, name, "case", &fields.title, &body.join("\n"))
}

fn refresh_draft<T: ReadTxn>(
    connection: &Connection,
    name: &DocName,
    txn: &T,
) -> Result<(), LocalError> {
    let deleted = draft::is_deleted(txn);
    let draft_id = name.as_str().rsplit('/').next().unwrap_or_default();
    connection.execute(
        "INSERT INTO draft_rows (doc, case_id, draft_id, title, deleted, indexed, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
         ON CONFLICT (doc) DO UPDATE SET title = excluded.title, deleted = excluded.deleted,
           indexed = 0, updated_at = excluded.updated_at",
        params![
            name.as_str(),
            name.case_id().as_str(),
            draft_id,
            draft::title(txn),
            deleted,
            now()
        ],
    )?;
    if deleted && let Some(rowid) = doc_rowid(connection, name)? {
        connection.execute("DELETE FROM search_index WHERE rowid = ?1", [rowid])?;
    }
    Ok(())
}

/// Replace the FTS row of a document (its rowid is the `docs` rowid).
pub(crate) fn index(
    connection: &Connection,
    name: &DocName,
    kind: &str,
    title: &str,
    body: &str,
) -> Result<(), LocalError> {
    let Some(rowid) = doc_rowid(connection, name)? else {
        return Ok(());
    };
    connection.execute("DELETE FROM search_index WHERE rowid = ?1", [rowid])?;
    connection.execute(
        "INSERT INTO search_index (rowid, doc, case_id, kind, title, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            rowid,
            name.as_str(),
            name.case_id().as_str(),
            kind,
            title,
            body
        ],
    )?;
    Ok(())
}

pub(crate) fn cases(
    connection: &Connection,
    filter: &CaseFilter,
) -> Result<Vec<CaseSummary>, LocalError> {
    let order = match filter.sort {
        CaseSort::NextDeadline => "next_deadline IS NULL, next_deadline, title COLLATE NOCASE",
        CaseSort::Title => "title COLLATE NOCASE",
        CaseSort::Client => "client COLLATE NOCASE, title COLLATE NOCASE",
        CaseSort::MatterNumber => "matter_number COLLATE NOCASE",
        CaseSort::Status => "status, title COLLATE NOCASE",
    };
    // The ORDER BY comes from the fixed strings above, never from input.
    let sql = format!(
        "SELECT id, title, client, matter_number, practice_area, status, responsible, archived,
                next_deadline
         FROM case_rows
         WHERE (?1 IS NULL OR status = ?1)
           AND (?2 IS NULL OR practice_area = ?2)
           AND (?3 IS NULL OR responsible = ?3)
           AND (?4 OR archived = 0)
         ORDER BY {order}"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(
        params![
            filter.status,
            filter.practice_area,
            filter.responsible,
            filter.include_archived
        ],
        |row| {
            Ok(CaseSummary {
                id: row.get(0)?,
                title: row.get(1)?,
                client: row.get(2)?,
                matter_number: row.get(3)?,
                practice_area: row.get(4)?,
                status: row.get(5)?,
                responsible: row.get(6)?,
                archived: row.get(7)?,
                next_deadline: row.get(8)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Open deadlines of live matters on or before `today + days`, overdue ones first.
pub(crate) fn upcoming(
    connection: &Connection,
    today: &str,
    days: u32,
) -> Result<Vec<UpcomingDeadline>, LocalError> {
    let mut statement = connection.prepare_cached(
        "SELECT d.case_id, c.title, d.id, d.date, d.title, d.kind, d.date < ?1
         FROM deadline_rows d JOIN case_rows c ON c.id = d.case_id
         WHERE d.done = 0 AND c.archived = 0 AND d.date != ''
           AND d.date <= date(?1, '+' || ?2 || ' days')
         ORDER BY d.date, c.title COLLATE NOCASE",
    )?;
    let rows = statement.query_map(params![today, days], upcoming_deadline)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A row of `SELECT case_id, case title, id, date, title, kind, overdue` as an [`UpcomingDeadline`].
fn upcoming_deadline(row: &rusqlite::Row<'_>) -> rusqlite::Result<UpcomingDeadline> {
    Ok(UpcomingDeadline {
        case_id: row.get(0)?,
        case_title: row.get(1)?,
        id: row.get(2)?,
        date: row.get(3)?,
        title: row.get(4)?,
        kind: row.get(5)?,
        overdue: row.get(6)?,
    })
}

/// The open deadlines for a calendar: one matter's (any date), or every matter's from `today`
/// on (archived matters left out), by date.
pub(crate) fn calendar(
    connection: &Connection,
    case_id: Option<&CaseId>,
    today: &str,
) -> Result<Vec<UpcomingDeadline>, LocalError> {
    let mut statement = connection.prepare_cached(
        "SELECT d.case_id, c.title, d.id, d.date, d.title, d.kind, d.date < ?2
         FROM deadline_rows d JOIN case_rows c ON c.id = d.case_id
         WHERE d.done = 0 AND d.date != ''
           AND (CASE WHEN ?1 IS NULL THEN c.archived = 0 AND d.date >= ?2 ELSE d.case_id = ?1 END)
         ORDER BY d.date, c.title COLLATE NOCASE, d.title",
    )?;
    let rows = statement.query_map(
        params![case_id.map(CaseId::as_str), today],
        upcoming_deadline,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn drafts(
    connection: &Connection,
    case_id: &CaseId,
) -> Result<Vec<DraftSummary>, LocalError> {
    let mut statement = connection.prepare_cached(
        "SELECT doc, case_id, draft_id, title, updated_at FROM draft_rows
         WHERE case_id = ?1 AND deleted = 0 ORDER BY updated_at DESC, title",
    )?;
    let rows = statement.query_map([case_id.as_str()], |row| {
        Ok(DraftSummary {
            doc: row.get(0)?,
            case_id: row.get(1)?,
            id: row.get(2)?,
            title: row.get(3)?,
            updated_at: row.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
