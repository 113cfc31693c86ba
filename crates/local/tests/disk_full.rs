//! A full disk while the lawyer types: SQLite's `max_page_count` caps the file so the next write
//! fails with SQLITE_FULL, exactly as on a full disk. A refused update must leave nothing behind,
//! say `disk_full`, and the same bytes re-applied once there is room must bring every change
//! back, in order.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use hub_local::{CaseId, DocName, FixedKey, Store};
use yrs::{GetString, Text, Transact};

const CASE: &str = "0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";
const DRAFT: &str = "1b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";
const OTHER_DRAFT: &str = "2b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";

fn key() -> FixedKey {
    FixedKey("correct horse battery staple".into())
}

fn draft() -> DocName {
    DocName::draft(&CaseId::parse(CASE).unwrap(), DRAFT).unwrap()
}

/// The webview's document: each call types `text` at the end and returns that keystroke batch.
struct Editor(yrs::Doc);

impl Editor {
    fn new() -> Self {
        Self(yrs::Doc::new())
    }

    fn type_at_end(&self, text: &str) -> Vec<u8> {
        let body = self.0.get_or_insert_text("body");
        let mut txn = self.0.transact_mut();
        let end = body.len(&txn);
        body.insert(&mut txn, end, text);
        txn.encode_update_v1()
    }

    fn text(&self) -> String {
        let body = self.0.get_or_insert_text("body");
        body.get_string(&self.0.transact())
    }
}

/// Text no page of the capped file has room for (SQLite does not compress).
fn a_long_paragraph() -> String {
    (0..4000)
        .map(|n| format!("clause {n} "))
        .collect::<String>()
}

const NO_CAP: u64 = 1 << 30;

#[test]
fn a_full_disk_refuses_the_whole_update_as_disk_full_and_the_same_bytes_save_later() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let doc = draft();
    let editor = Editor::new();
    let store = Store::open(&path, &key()).unwrap();
    let first = editor.type_at_end("Statement of claim. ");
    store.apply_local_update(&doc, &first).unwrap();

    store.set_max_page_count(1).unwrap();
    let paragraph = a_long_paragraph();
    let second = editor.type_at_end(&paragraph);
    let third = editor.type_at_end(" Signed.");
    let error = store.apply_local_update(&doc, &second).unwrap_err();
    assert_eq!(error.code(), "disk_full", "{error}");

    // Nothing of the refused update is on disk or in memory; what was saved before is intact.
    assert_eq!(store.text(&doc, "body").unwrap(), "Statement of claim. ");
    assert_eq!(store.log_len(&doc).unwrap(), 1);
    assert_eq!(store.pending_count().unwrap(), 1);

    // A document's first update refused: not even its row in `docs` is left behind.
    let other = DocName::draft(&CaseId::parse(CASE).unwrap(), OTHER_DRAFT).unwrap();
    let other_update = Editor::new().type_at_end(&paragraph);
    let error = store.apply_local_update(&other, &other_update).unwrap_err();
    assert_eq!(error.code(), "disk_full", "{error}");
    assert_eq!(store.documents().unwrap(), vec![doc.clone()]);

    // Space frees up: the kept bytes, re-sent in order, bring every change back.
    store.set_max_page_count(NO_CAP).unwrap();
    store.apply_local_update(&doc, &second).unwrap();
    store.apply_local_update(&doc, &third).unwrap();
    let expected = format!("Statement of claim. {paragraph} Signed.");
    assert_eq!(editor.text(), expected);
    assert_eq!(store.text(&doc, "body").unwrap(), expected);
    drop(store);
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(store.text(&doc, "body").unwrap(), expected);
    assert_eq!(store.pending_count().unwrap(), 3);
}

/// The failure the UI's save queue now prevents, kept here as the store's side of the contract:
/// a batch saved after a refused one is held back (not integrated, not lost), survives a
/// compaction and a restart, and integrates as soon as the refused batch arrives.
#[test]
fn a_batch_saved_before_the_refused_one_it_needs_integrates_when_that_one_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let doc = draft();
    let editor = Editor::new();
    let store = Store::open(&path, &key()).unwrap();
    store
        .apply_local_update(&doc, &editor.type_at_end("Dear Sirs, "))
        .unwrap();
    store.set_max_page_count(1).unwrap();
    let refused = editor.type_at_end(&a_long_paragraph());
    assert_eq!(
        store.apply_local_update(&doc, &refused).unwrap_err().code(),
        "disk_full"
    );
    store.set_max_page_count(NO_CAP).unwrap();
    store
        .apply_local_update(&doc, &editor.type_at_end("Yours faithfully"))
        .unwrap();
    assert_eq!(store.text(&doc, "body").unwrap(), "Dear Sirs, ");
    store.compact(&doc).unwrap();
    drop(store);
    let store = Store::open(&path, &key()).unwrap();
    store.apply_local_update(&doc, &refused).unwrap();
    assert_eq!(store.text(&doc, "body").unwrap(), editor.text());
    drop(store);
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(store.text(&doc, "body").unwrap(), editor.text());
}
