//! The database key kept in a key slot (the OS keychain in the app; memory here, as the real
//! keychain needs a desktop session): made on first run, never made over an existing database.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use hub_local::{CaseId, DocName, KeySlot, MemoryKeySlot, Store, StoredKey};
use yrs::{Text, WriteTxn};

const CASE: &str = "0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";
const DRAFT: &str = "1b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";

fn draft() -> DocName {
    DocName::draft(&CaseId::parse(CASE).unwrap(), DRAFT).unwrap()
}

fn write(store: &Store, text: &str) {
    store
        .edit(&draft(), |_, txn| {
            txn.get_or_insert_text("body").insert(txn, 0, text);
        })
        .unwrap();
}

#[test]
fn the_first_run_makes_a_raw_key_and_later_runs_reuse_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let slot = MemoryKeySlot::default();
    write(
        &Store::open(&path, &StoredKey::new(&slot, &path)).unwrap(),
        "Heads of terms",
    );
    let key = slot.get().unwrap().unwrap();
    assert!(key.starts_with("x'") && key.len() == 67, "not a raw key");
    let store = Store::open(&path, &StoredKey::new(&slot, &path)).unwrap();
    assert_eq!(store.text(&draft(), "body").unwrap(), "Heads of terms");
    assert_eq!(slot.get().unwrap().unwrap(), key);
}

#[test]
fn a_key_missing_from_the_slot_is_never_replaced_while_the_database_exists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    let slot = MemoryKeySlot::default();
    write(
        &Store::open(&path, &StoredKey::new(&slot, &path)).unwrap(),
        "Privileged advice",
    );
    let original = slot.get().unwrap().unwrap();

    slot.forget().unwrap();
    let error = Store::open(&path, &StoredKey::new(&slot, &path)).unwrap_err();
    assert_eq!(error.code(), "key_missing", "{error}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("move"), "{message}");
    assert!(
        slot.get().unwrap().is_none(),
        "a new key was stored over the missing one"
    );

    // The keychain entry restored: everything is there.
    slot.set(&original).unwrap();
    let store = Store::open(&path, &StoredKey::new(&slot, &path)).unwrap();
    assert_eq!(store.text(&draft(), "body").unwrap(), "Privileged advice");
    drop(store);

    // Or the database moved aside: a fresh start with a new key.
    slot.forget().unwrap();
    std::fs::rename(&path, dir.path().join("hub.db.old")).unwrap();
    for suffix in ["-wal", "-shm"] {
        let side = dir.path().join(format!("hub.db{suffix}"));
        if side.exists() {
            std::fs::rename(&side, dir.path().join(format!("hub.db.old{suffix}"))).unwrap();
        }
    }
    let store = Store::open(&path, &StoredKey::new(&slot, &path)).unwrap();
    assert_eq!(store.text(&draft(), "body").unwrap(), "");
    assert_ne!(slot.get().unwrap().unwrap(), original);
}
