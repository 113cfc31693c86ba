//! Full-text search over matter fields and draft text (FTS5 `search_index`). Matter fields are
//! indexed with the matter's projection, in the edit's transaction; a draft's text is indexed
//! here, just before a search, for the drafts edited since (see `projection`).

use protocol::DocName;
use rusqlite::{Connection, params};
use yrs::{ReadTxn, Transact};

use crate::store::projection::{self, SearchHit};
use crate::store::{self, draft};
use crate::{LocalError, Store};

/// At most this many hits per search.
pub(crate) const SEARCH_LIMIT: usize = 50;

impl Store {
    /// Index the text of drafts edited since their last indexing; returns how many.
    pub fn index_pending_drafts(&self) -> Result<usize, LocalError> {
        let mut guard = self.lock()?;
        let store::Inner { connection, docs } = &mut *guard;
        let pending = drafts_to_index(connection)?;
        if pending.is_empty() {
            return Ok(0);
        }
        // The index is derived data, so its commit skips the fsync (WAL + synchronous=NORMAL:
        // atomic, made durable by the next FULL commit). A crash before that loses only this
        // indexing; the drafts are still marked unindexed and are indexed again by the next
        // search. The fsync was the slow tail of the first search after an edit.
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        let indexed = (|| -> Result<(), LocalError> {
            let transaction = connection.transaction()?;
            for name in &pending {
                let entry = store::cached(&transaction, docs, name)?;
                index_draft(&transaction, name, &entry.doc.transact())?;
            }
            transaction.commit()?;
            Ok(())
        })();
        connection.pragma_update(None, "synchronous", "FULL")?;
        indexed?;
        Ok(pending.len())
    }

    /// Full-text search over matter fields and draft text, best matches first (at most 50).
    pub fn search(&self, query: &str) -> Result<Vec<SearchHit>, LocalError> {
        self.index_pending_drafts()?;
        let guard = self.lock()?;
        search(&guard.connection, query)
    }
}

/// Drafts whose text changed since they were last indexed.
pub(crate) fn drafts_to_index(connection: &Connection) -> Result<Vec<DocName>, LocalError> {
    let mut statement = connection
        .prepare_cached("SELECT doc FROM draft_rows WHERE indexed = 0 AND deleted = 0")?;
    let names = statement.query_map([], |row| row.get::<_, String>(0))?;
    let mut drafts = Vec::new();
    for name in names {
        drafts.push(DocName::parse(&name?)?);
    }
    Ok(drafts)
}

/// Index a draft's text now (called by the store with the draft's document).
pub(crate) fn index_draft<T: ReadTxn>(
    connection: &Connection,
    name: &DocName,
    txn: &T,
) -> Result<(), LocalError> {
    if !draft::is_deleted(txn) {
        projection::index(
            connection,
            name,
            "draft",
            &draft::title(txn),
            &draft::plain_text(txn),
        )?;
    }
    connection.execute(
        "UPDATE draft_rows SET indexed = 1 WHERE doc = ?1",
        [name.as_str()],
    )?;
    Ok(())
}

/// Turn what a lawyer typed into an FTS5 query: every word must appear, each as a prefix
/// (`"indemn"*`), and nothing typed is interpreted as FTS5 syntax.
pub(crate) fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|term| !term.is_empty())
        .take(16)
        .map(|term| format!("\"{term}\"*"))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

pub(crate) fn search(connection: &Connection, input: &str) -> Result<Vec<SearchHit>, LocalError> {
    let Some(query) = fts_query(input) else {
        return Ok(Vec::new());
    };
    let mut statement = connection.prepare_cached(
        "SELECT s.doc, s.case_id, s.kind, s.title, coalesce(c.title, ''),
                snippet(search_index, 4, char(2), char(3), '…', 12)
         FROM search_index s LEFT JOIN case_rows c ON c.id = s.case_id
         WHERE search_index MATCH ?1
         ORDER BY rank LIMIT ?2",
    )?;
    let rows = statement.query_map(params![query, SEARCH_LIMIT as i64], |row| {
        Ok(SearchHit {
            doc: row.get(0)?,
            case_id: row.get(1)?,
            kind: row.get(2)?,
            title: row.get(3)?,
            case_title: row.get(4)?,
            snippet: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::fts_query;
    use crate::store::matter_record::CaseFields;
    use crate::{FixedKey, Store};
    use yrs::{WriteTxn, XmlElementPrelim, XmlFragment, XmlTextPrelim};

    /// Indexing commits without an fsync, then puts `synchronous = FULL` back: every later
    /// keystroke is durable on disk again before it is acknowledged.
    #[test]
    fn indexing_after_an_edit_leaves_commits_fully_synchronous() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db"), &FixedKey("k".into())).unwrap();
        let case = store
            .create_case(&CaseFields {
                title: "Acme".into(),
                ..CaseFields::default()
            })
            .unwrap();
        let name = store.create_draft(&case, "Letter").unwrap();
        store
            .edit(&name, |_, txn| {
                let fragment = txn.get_or_insert_xml_fragment("default");
                let paragraph = fragment.push_back(txn, XmlElementPrelim::empty("paragraph"));
                paragraph.push_back(txn, XmlTextPrelim::new("estoppel by convention"));
            })
            .unwrap();
        assert_eq!(store.search("estoppel").unwrap().len(), 1);
        let synchronous: i64 = store
            .lock()
            .unwrap()
            .connection
            .query_row("PRAGMA synchronous", [], |row| row.get(0))
            .unwrap();
        assert_eq!(synchronous, 2, "FULL");
    }

    #[test]
    fn fts_queries_are_prefix_terms_without_syntax() {
        assert_eq!(
            fts_query("indemn  Acme").as_deref(),
            Some("\"indemn\"* \"Acme\"*")
        );
        assert_eq!(
            fts_query("NEAR(\"x\" OR y*) -z").as_deref(),
            Some("\"NEAR\"* \"x\"* \"OR\"* \"y\"* \"z\"*")
        );
        assert_eq!(fts_query("  ()\"* "), None);
    }
}
