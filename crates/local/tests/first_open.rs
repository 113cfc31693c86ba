//! The first stores a process opens, opened at the same moment from several threads (the app's
//! start-up, or a test binary's first tests). SQLCipher finishes its own set-up (crypto provider,
//! private heap) only after SQLite has marked itself initialised, so a thread that opened a file
//! in that window had `PRAGMA key` refused ("PRAGMA key requires a key of one or more
//! characters"); CI saw it once, in matter_removal. The window exists once per process, so the
//! test runs many fresh processes (this binary again, with `FIRST_OPEN_CHILD` set). Real
//! SQLCipher files.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::process::Command;
use std::sync::{Arc, Barrier};

use hub_local::{FixedKey, Store};

const CHILD: &str = "FIRST_OPEN_CHILD";
const TEST: &str = "stores_opened_at_once_by_a_fresh_process_all_get_their_key";

/// In a child: open `threads` stores at once, as the process's first SQLite users.
fn open_at_once(threads: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let start = Arc::new(Barrier::new(threads));
    let opened: Vec<_> = (0..threads)
        .map(|i| {
            let path = dir.path().join(format!("lawyer-{i}.db"));
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                Store::open(&path, &FixedKey("k".into())).map(|_| ())
            })
        })
        .collect();
    opened
        .into_iter()
        .filter_map(|thread| thread.join().unwrap().err())
        .map(|error| error.to_string())
        .collect()
}

#[test]
fn stores_opened_at_once_by_a_fresh_process_all_get_their_key() {
    if std::env::var_os(CHILD).is_some() {
        let failures = open_at_once(8);
        assert!(
            failures.is_empty(),
            "{} of 8 opens failed: {failures:?}",
            failures.len()
        );
        return;
    }
    let processes = 10;
    let mut failed = Vec::new();
    for _ in 0..processes {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST, "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        if !child.status.success() {
            failed.push(String::from_utf8_lossy(&child.stdout).into_owned());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {processes} fresh processes failed to open a store:\n{}",
        failed.len(),
        failed.first().map(String::as_str).unwrap_or_default()
    );
}
