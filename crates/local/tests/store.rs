//! Store tests against real SQLCipher files in temporary directories.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use hub_local::{CaseId, DocName, FixedKey, LocalError, Store};
use proptest::prelude::*;
use yrs::{GetString, ReadTxn, Text, WriteTxn};

const CASE: &str = "0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";
const DRAFT: &str = "1b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";

fn key() -> FixedKey {
    FixedKey("correct horse battery staple".into())
}

fn draft() -> DocName {
    DocName::draft(&CaseId::parse(CASE).unwrap(), DRAFT).unwrap()
}

fn insert(store: &Store, doc: &DocName, index: u32, text: &str) {
    store
        .edit(doc, |_, txn| {
            let body = txn.get_or_insert_text("body");
            body.insert(txn, index, text);
        })
        .unwrap();
}

#[test]
fn file_is_encrypted_and_needs_the_right_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let secret = "Privileged settlement figure 4711 EUR";
    {
        let store = Store::open(&path, &key()).unwrap();
        insert(&store, &draft(), 0, secret);
    }
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows(secret.len())
                .any(|window| window == secret.as_bytes())
        );
        assert!(!bytes.windows(15).any(|window| window == b"SQLite format 3"));
    }
    let wrong = Store::open(&path, &FixedKey("wrong key".into()));
    assert!(matches!(wrong, Err(LocalError::WrongKey)), "{wrong:?}");
    assert_eq!(LocalError::WrongKey.code(), "wrong_key");
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(store.text(&draft(), "body").unwrap(), secret);
}

#[test]
fn local_updates_survive_a_restart_with_their_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let doc = draft();
    // An update made by "the webview": a separate yrs doc.
    let editor = yrs::Doc::new();
    let update = {
        use yrs::Transact;
        let body = editor.get_or_insert_text("body");
        let mut txn = editor.transact_mut();
        body.insert(&mut txn, 0, "Statement of claim");
        txn.encode_update_v1()
    };
    {
        let store = Store::open(&path, &key()).unwrap();
        store.apply_local_update(&doc, &update).unwrap();
        insert(&store, &doc, 0, "Draft: ");
    }
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(
        store.text(&doc, "body").unwrap(),
        "Draft: Statement of claim"
    );
    let pending = store.pending().unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(store.pending_count().unwrap(), 2);
    assert_eq!(pending[0].update, update);
    assert!(pending[0].id < pending[1].id);
    assert!(pending.iter().all(|entry| entry.doc == doc));
    assert_eq!(store.documents().unwrap(), vec![doc.clone()]);
    store.ack(&[pending[0].id]).unwrap();
    assert_eq!(store.pending().unwrap(), vec![pending[1].clone()]);
}

#[test]
fn remote_updates_do_not_enter_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open(&dir.path().join("a.db"), &key()).unwrap();
    let b = Store::open(&dir.path().join("b.db"), &key()).unwrap();
    let doc = draft();
    insert(&a, &doc, 0, "hello");
    let diff = a.diff_since(&doc, &b.state_vector(&doc).unwrap()).unwrap();
    b.apply_remote_update(&doc, &diff).unwrap();
    assert_eq!(b.text(&doc, "body").unwrap(), "hello");
    assert_eq!(b.pending_count().unwrap(), 0);
    assert_eq!(b.log_len(&doc).unwrap(), 1);
}

#[test]
fn compaction_keeps_content_and_outbox_and_shrinks_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let doc = draft();
    let store = Store::open(&path, &key()).unwrap();
    for index in 0..50 {
        insert(&store, &doc, index, "x");
    }
    store
        .edit(&doc, |_, txn| {
            let body = txn.get_or_insert_text("body");
            body.remove_range(txn, 0, 10);
        })
        .unwrap();
    let before = store.text(&doc, "body").unwrap();
    let pending = store.pending().unwrap();
    assert_eq!(store.log_len(&doc).unwrap(), 51);
    store.compact(&doc).unwrap();
    assert_eq!(store.log_len(&doc).unwrap(), 0);
    assert_eq!(store.text(&doc, "body").unwrap(), before);
    assert_eq!(store.pending().unwrap(), pending);
    insert(&store, &doc, 0, "y");
    drop(store);
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(store.text(&doc, "body").unwrap(), format!("y{before}"));
    assert_eq!(store.log_len(&doc).unwrap(), 1);
}

#[test]
fn long_logs_are_compacted_in_the_write_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let doc = draft();
    let store = Store::open(&path, &key()).unwrap();
    let rows = hub_local::COMPACT_AFTER_LOG_ROWS as u32 + 10;
    for index in 0..rows {
        insert(&store, &doc, index, "a");
    }
    assert!(store.log_len(&doc).unwrap() < 20);
    assert_eq!(store.pending_count().unwrap(), rows as usize);
    drop(store);
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(store.text(&doc, "body").unwrap(), "a".repeat(rows as usize));
}

#[test]
fn invalid_updates_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("hub.db"), &key()).unwrap();
    let doc = draft();
    for bad in [&[][..], &[1, 2, 3][..], &[255; 64][..]] {
        let error = store.apply_local_update(&doc, bad).unwrap_err();
        assert_eq!(error.code(), "invalid_update");
        assert!(store.apply_remote_update(&doc, bad).is_err());
    }
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(store.log_len(&doc).unwrap(), 0);
    assert!(store.documents().unwrap().is_empty());
    assert!(store.diff_since(&doc, &[9, 9, 9]).is_err());
}

#[test]
fn cursor_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    {
        let store = Store::open(&path, &key()).unwrap();
        assert_eq!(store.cursor().unwrap(), 0);
        store.set_cursor(42).unwrap();
        store.set_cursor(43).unwrap();
    }
    assert_eq!(Store::open(&path, &key()).unwrap().cursor().unwrap(), 43);
}

#[derive(Debug, Clone)]
enum Step {
    Insert { on_a: bool, at: u32, text: String },
    Delete { on_a: bool, at: u32, len: u32 },
    Exchange,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (any::<bool>(), 0u32..40, "[a-zé ]{1,5}").prop_map(|(on_a, at, text)| Step::Insert {
            on_a,
            at,
            text
        }),
        (any::<bool>(), 0u32..40, 1u32..4).prop_map(|(on_a, at, len)| Step::Delete {
            on_a,
            at,
            len
        }),
        Just(Step::Exchange),
    ]
}

fn exchange(from: &Store, to: &Store, doc: &DocName) {
    let diff = from
        .diff_since(doc, &to.state_vector(doc).unwrap())
        .unwrap();
    to.apply_remote_update(doc, &diff).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
    #[test]
    fn two_stores_converge(steps in proptest::collection::vec(step(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(&dir.path().join("a.db"), &key()).unwrap();
        let b = Store::open(&dir.path().join("b.db"), &key()).unwrap();
        let doc = draft();
        for step in steps {
            match step {
                Step::Insert { on_a, at, text } => {
                    let store = if on_a { &a } else { &b };
                    store.edit(&doc, |_, txn| {
                        let body = txn.get_or_insert_text("body");
                        let len = body.len(txn);
                        body.insert(txn, at.min(len), &text);
                    }).unwrap();
                }
                Step::Delete { on_a, at, len } => {
                    let store = if on_a { &a } else { &b };
                    store.edit(&doc, |_, txn| {
                        let body = txn.get_or_insert_text("body");
                        let size = body.len(txn);
                        if size > 0 {
                            let at = at.min(size - 1);
                            body.remove_range(txn, at, len.min(size - at));
                        }
                    }).unwrap();
                }
                Step::Exchange => {
                    exchange(&a, &b, &doc);
                    exchange(&b, &a, &doc);
                }
            }
        }
        exchange(&a, &b, &doc);
        exchange(&b, &a, &doc);
        let text_a = a.text(&doc, "body").unwrap();
        prop_assert_eq!(&text_a, &b.text(&doc, "body").unwrap());
        // The persisted state reloads identically.
        drop(a);
        let a = Store::open(&dir.path().join("a.db"), &key()).unwrap();
        let reloaded = a.read(&doc, |txn| txn.get_text("body").map(|t| t.get_string(txn))).unwrap();
        prop_assert_eq!(reloaded.unwrap_or_default(), text_a);
    }
}

/// The desktop app keys its database with SQLCipher's raw-key form (no passphrase KDF): the
/// file opens again with the same key and not with another.
#[test]
fn raw_keys_open_the_file_and_wrong_raw_keys_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let raw = |byte: &str| FixedKey(format!("x'{}'", byte.repeat(32)));
    {
        let store = Store::open(&path, &raw("a5")).unwrap();
        insert(&store, &draft(), 0, "raw key");
    }
    let store = Store::open(&path, &raw("a5")).unwrap();
    assert_eq!(store.text(&draft(), "body").unwrap(), "raw key");
    drop(store);
    assert!(matches!(
        Store::open(&path, &raw("5a")),
        Err(LocalError::WrongKey)
    ));
}
