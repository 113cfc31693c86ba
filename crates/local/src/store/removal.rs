//! Matter removal: when the firm walls a lawyer off a matter (or removes them from it), the
//! laptop forgets the matter: its documents, their update logs, unsent edits in the outbox,
//! dashboard rows, deadlines and search index, in one transaction. What remains is a tombstone
//! with the case id, the time and the server's reason, and no content, so the app can say what
//! happened and an export or import never brings the matter back.
//!
//! Unsent edits go with the matter: the server will not take them, and keeping them would keep
//! privileged text on the laptop of someone who may no longer see it. The count is reported so
//! the lawyer is told how many changes were discarded.
//!
//! The tombstone is also the lawyer's notice: it is listed by `removal_notices` (at every launch,
//! so a restart does not hide why a matter vanished) until the lawyer dismisses it. Dismissing
//! keeps the tombstone, so the matter stays refused.
//!
//! Which denials purge is decided by the sync session (`sync/session.rs`); this module only records
//! which matters the server has granted (`matter_grants`) so a refusal of a matter the server
//! never acknowledged (made offline) is not mistaken for a wall.

use std::collections::HashSet;

use protocol::{CaseId, DocName};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::store::Inner;
use crate::{LocalError, Store};

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Documents deleted (the case document and its drafts).
    pub docs: usize,
    /// Local updates that were never acknowledged by the server and are now discarded.
    pub unsynced_updates: usize,
}

/// A tombstone: a matter this laptop no longer holds because the firm removed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedMatter {
    pub case_id: String,
    /// Unix seconds.
    pub removed_at: i64,
    /// The server's reason ("access revoked", "document not found"); never content.
    pub reason: String,
    /// Unsent changes the purge discarded; `None` for a tombstone written before the count was
    /// kept (schema 5).
    pub discarded_changes: Option<u64>,
    /// Whether the lawyer has dismissed the notice (or there was nothing to tell: a purge that
    /// found nothing of the matter on this computer).
    pub notice_dismissed: bool,
}

const REMOVED_MATTER_COLUMNS: &str = "case_id, removed_at, reason, discarded_changes, \
     notice_dismissed_at IS NOT NULL";

fn removed_matter(row: &rusqlite::Row<'_>) -> rusqlite::Result<RemovedMatter> {
    Ok(RemovedMatter {
        case_id: row.get(0)?,
        removed_at: row.get(1)?,
        reason: row.get(2)?,
        discarded_changes: row
            .get::<_, Option<i64>>(3)?
            .map(|count| u64::try_from(count).unwrap_or(0)),
        notice_dismissed: row.get(4)?,
    })
}

/// The documents of a matter this store holds: the case document and every draft.
fn documents_of(connection: &Connection, case_id: &str) -> Result<Vec<String>, LocalError> {
    let mut statement = connection.prepare_cached(
        "SELECT name FROM docs WHERE substr(name, 7, 36) = ?1 AND substr(name, 1, 6) = 'cases/'",
    )?;
    let names = statement.query_map([case_id], |row| row.get::<_, String>(0))?;
    Ok(names.collect::<Result<_, _>>()?)
}

/// Delete everything of the matter and write its tombstone, inside `connection`'s transaction.
fn delete_matter(
    connection: &Connection,
    case_id: &str,
    reason: &str,
) -> Result<PurgeReport, LocalError> {
    let docs = documents_of(connection, case_id)?;
    let mut unsynced_updates = 0;
    for name in &docs {
        unsynced_updates += connection.execute("DELETE FROM outbox WHERE doc = ?1", [name])?;
        connection.execute("DELETE FROM doc_updates WHERE doc = ?1", [name])?;
        connection.execute("DELETE FROM draft_rows WHERE doc = ?1", [name])?;
    }
    // FTS5 normally leaves a deleted row's terms in older index segments until a merge; its
    // secure-delete mode removes them now. It is switched off again afterwards because it
    // makes every later re-index of a draft slower.
    connection.execute(
        "INSERT INTO search_index (search_index, rank) VALUES ('secure-delete', 1)",
        [],
    )?;
    connection.execute("DELETE FROM search_index WHERE case_id = ?1", [case_id])?;
    connection.execute(
        "INSERT INTO search_index (search_index, rank) VALUES ('secure-delete', 0)",
        [],
    )?;
    connection.execute("DELETE FROM draft_rows WHERE case_id = ?1", [case_id])?;
    connection.execute("DELETE FROM deadline_rows WHERE case_id = ?1", [case_id])?;
    connection.execute("DELETE FROM case_rows WHERE id = ?1", [case_id])?;
    for name in &docs {
        connection.execute("DELETE FROM docs WHERE name = ?1", [name])?;
    }
    connection.execute("DELETE FROM matter_grants WHERE case_id = ?1", [case_id])?;
    // A purge that found nothing of the matter here (a later document of a matter already
    // purged, say) has nothing to tell the lawyer: its tombstone is written already dismissed,
    // as the app is not told live either. One that removed something (again) makes the notice
    // current; the first reason is kept.
    connection.execute(
        "INSERT INTO removed_matters
             (case_id, removed_at, reason, discarded_changes, notice_dismissed_at)
         VALUES (?1, unixepoch(), ?2, ?3, CASE WHEN ?4 = 0 THEN unixepoch() END)
         ON CONFLICT (case_id) DO UPDATE SET
             removed_at = excluded.removed_at,
             discarded_changes = coalesce(discarded_changes, 0) + excluded.discarded_changes,
             notice_dismissed_at = NULL
         WHERE ?4 > 0",
        params![case_id, reason, unsynced_updates as i64, docs.len() as i64],
    )?;
    Ok(PurgeReport {
        docs: docs.len(),
        unsynced_updates,
    })
}

/// Purge in one transaction with `secure_delete` (freed pages and cell space are zeroed), then
/// checkpoint so the pre-purge page versions do not linger in the WAL file either.
fn purge(
    connection: &mut Connection,
    case_id: &str,
    reason: &str,
) -> Result<PurgeReport, LocalError> {
    connection.pragma_update(None, "secure_delete", "ON")?;
    let purged = (|| -> Result<PurgeReport, LocalError> {
        let transaction = connection.transaction()?;
        let report = delete_matter(&transaction, case_id, reason)?;
        transaction.commit()?;
        Ok(report)
    })();
    if let Err(error) = connection.pragma_update(None, "secure_delete", "OFF") {
        tracing::warn!(%error, "could not switch secure_delete off");
    }
    let report = purged?;
    // TRUNCATE copies the committed pages into the database file and empties the WAL, so the
    // old versions of those pages are overwritten, not just superseded.
    match connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
        row.get::<_, i64>(0)
    }) {
        Ok(0) => {}
        Ok(_) => tracing::warn!("WAL checkpoint after a matter purge was blocked"),
        Err(error) => tracing::warn!(%error, "WAL checkpoint after a matter purge failed"),
    }
    Ok(report)
}

impl Store {
    /// Remove the matter `case_id` from this laptop (see the module documentation): one SQLite
    /// transaction, then the matter's documents are dropped from the in-memory cache too.
    #[tracing::instrument(skip_all, fields(case_id = %case_id))]
    pub fn purge_case(&self, case_id: &CaseId, reason: &str) -> Result<PurgeReport, LocalError> {
        let mut guard = self.lock()?;
        let Inner { connection, docs } = &mut *guard;
        let purged = purge(connection, case_id.as_str(), reason);
        if purged
            .as_ref()
            .is_ok_and(|report| report.unsynced_updates > 0)
        {
            self.announce_outbox_shrunk(connection);
        }
        // Whatever happened, nothing of the matter may be served from memory any more.
        docs.retain(|name, _| DocName::parse(name).map_or(true, |name| name.case_id() != *case_id));
        let report = purged?;
        tracing::info!(
            docs = report.docs,
            unsynced_updates = report.unsynced_updates,
            "matter removed from this computer"
        );
        Ok(report)
    }

    /// Matters the firm removed from this laptop, newest first.
    pub fn removed_matters(&self) -> Result<Vec<RemovedMatter>, LocalError> {
        let guard = self.lock()?;
        let mut statement = guard.connection.prepare_cached(&format!(
            "SELECT {REMOVED_MATTER_COLUMNS} FROM removed_matters
             ORDER BY removed_at DESC, case_id"
        ))?;
        let rows = statement.query_map([], removed_matter)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removals the lawyer has not dismissed yet, newest first: what the app tells them at
    /// launch. Tombstones hold no title or content, so neither does a notice.
    pub fn removal_notices(&self) -> Result<Vec<RemovedMatter>, LocalError> {
        let guard = self.lock()?;
        let mut statement = guard.connection.prepare_cached(&format!(
            "SELECT {REMOVED_MATTER_COLUMNS} FROM removed_matters
             WHERE notice_dismissed_at IS NULL
             ORDER BY removed_at DESC, case_id"
        ))?;
        let rows = statement.query_map([], removed_matter)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The lawyer has read the notice about `case_id`: stop listing it. The tombstone stays (the
    /// matter is still removed). Returns whether a notice was showing; dismissing twice, or a
    /// matter that was never removed, changes nothing.
    #[tracing::instrument(skip_all, fields(case_id = %case_id))]
    pub fn dismiss_removal_notice(&self, case_id: &CaseId) -> Result<bool, LocalError> {
        let guard = self.lock()?;
        let dismissed = guard.connection.execute(
            "UPDATE removed_matters SET notice_dismissed_at = unixepoch()
             WHERE case_id = ?1 AND notice_dismissed_at IS NULL",
            [case_id.as_str()],
        )?;
        Ok(dismissed > 0)
    }

    /// Whether the firm removed `case_id` from this laptop (and has not let the lawyer back in):
    /// local edits to it are discarded, not stored.
    pub fn matter_removed(&self, case_id: &CaseId) -> Result<bool, LocalError> {
        let guard = self.lock()?;
        Ok(guard
            .connection
            .query_row(
                "SELECT 1 FROM removed_matters WHERE case_id = ?1",
                [case_id.as_str()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Case ids of removed matters (for exports and imports to skip).
    pub(crate) fn removed_case_ids(&self) -> Result<HashSet<String>, LocalError> {
        Ok(self
            .removed_matters()?
            .into_iter()
            .map(|removed| removed.case_id)
            .collect())
    }

    /// The server let this laptop open a document of `case_id`: remember it, and end a removal
    /// if the firm has let the lawyer back in. Writes only when something changes (this runs
    /// for every document authenticated on every connection).
    pub fn record_matter_granted(&self, case_id: &CaseId) -> Result<(), LocalError> {
        let case_id = case_id.as_str();
        let mut guard = self.lock()?;
        let (granted, removed): (bool, bool) = guard.connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM matter_grants WHERE case_id = ?1),
                    EXISTS (SELECT 1 FROM removed_matters WHERE case_id = ?1)",
            [case_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        if granted && !removed {
            return Ok(());
        }
        let transaction = guard.connection.transaction()?;
        transaction.execute(
            "INSERT OR IGNORE INTO matter_grants (case_id, granted_at) VALUES (?1, unixepoch())",
            [case_id],
        )?;
        transaction.execute("DELETE FROM removed_matters WHERE case_id = ?1", [case_id])?;
        transaction.commit()?;
        Ok(())
    }

    /// Whether the server has let this laptop open the matter before (so a "not found" now
    /// means the lawyer lost access, not that the matter never reached the server).
    pub fn matter_granted_before(&self, case_id: &CaseId) -> Result<bool, LocalError> {
        let guard = self.lock()?;
        Ok(guard
            .connection
            .query_row(
                "SELECT 1 FROM matter_grants WHERE case_id = ?1",
                [case_id.as_str()],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::store::matter_record::{self, CaseFields};
    use crate::store::{doc_log, migrations, outbox, projection, search};
    use yrs::{Transact, WriteTxn, XmlElementPrelim, XmlFragment, XmlTextPrelim};

    /// Write one document the way the store does: log, outbox, projections, search index.
    fn write(
        connection: &mut Connection,
        name: &DocName,
        edit: impl FnOnce(&mut yrs::TransactionMut),
    ) {
        let doc = doc_log::new_doc();
        let update = {
            let mut txn = doc.transact_mut();
            edit(&mut txn);
            txn.encode_update_v1()
        };
        let transaction = connection.transaction().unwrap();
        doc_log::append(&transaction, name, &update).unwrap();
        outbox::push(&transaction, name, &update).unwrap();
        projection::refresh(&transaction, name, &doc.transact()).unwrap();
        if name.kind() == protocol::DocKind::Draft {
            search::index_draft(&transaction, name, &doc.transact()).unwrap();
        }
        transaction.commit().unwrap();
    }

    fn matter_with_words(connection: &mut Connection, words: &str) -> String {
        let case = uuid::Uuid::new_v4().to_string();
        let id = CaseId::parse(&case).unwrap();
        let fields = CaseFields {
            title: format!("{words} title"),
            notes: format!("{words} notes"),
            ..CaseFields::default()
        };
        write(connection, &DocName::case(&id), |txn| {
            matter_record::create(txn, &fields)
        });
        for _ in 0..3 {
            let draft = DocName::draft(&id, &uuid::Uuid::new_v4().to_string()).unwrap();
            write(connection, &draft, |txn| {
                let fragment = txn.get_or_insert_xml_fragment("default");
                for _ in 0..20 {
                    let paragraph = fragment.push_back(txn, XmlElementPrelim::empty("paragraph"));
                    paragraph.push_back(txn, XmlTextPrelim::new(format!("{words} clause text")));
                }
            });
        }
        case
    }

    #[test]
    fn the_store_zeroes_freed_content_on_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db"), &crate::FixedKey("k".into())).unwrap();
        let mode: i64 = store
            .lock()
            .unwrap()
            .connection
            .query_row("PRAGMA secure_delete", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, 2, "FAST");
    }

    /// SQLCipher without a key writes a plain SQLite file, so the bytes on disk can be searched:
    /// after a purge no page of the database or its WAL still holds the matter's words.
    #[test]
    fn no_page_on_disk_keeps_a_purged_matters_text() {
        let dir = tempfile::tempdir().unwrap();
        let mut connection = Connection::open(dir.path().join("plain.db")).unwrap();
        connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| {
                row.get::<_, String>(0)
            })
            .unwrap();
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .unwrap();
        // As `Store::open` does. Without it (secure_delete only during the purge) this test
        // failed: stale copies of the rows, left in page free space when earlier writes moved
        // cells around, still held the words.
        connection
            .pragma_update(None, "secure_delete", "FAST")
            .unwrap();
        migrations::migrate(&mut connection).unwrap();
        let walled = matter_with_words(&mut connection, "zanzibarquux");
        matter_with_words(&mut connection, "kilimanjaro");
        let on_disk = |needle: &[u8]| {
            std::fs::read_dir(dir.path()).unwrap().any(|file| {
                let bytes = std::fs::read(file.unwrap().path()).unwrap();
                bytes.windows(needle.len()).any(|window| window == needle)
            })
        };
        assert!(on_disk(b"zanzibarquux"), "the test can see plain text");

        let report = purge(&mut connection, &walled, "access revoked").unwrap();

        assert_eq!(
            report,
            PurgeReport {
                docs: 4,
                unsynced_updates: 4
            }
        );
        assert!(
            !on_disk(b"zanzibarquux"),
            "the matter's words are gone from disk"
        );
        assert!(on_disk(b"kilimanjaro"), "the other matter is still there");
    }
}
