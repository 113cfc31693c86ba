//! Faults a firm will see, with 0 acknowledged updates lost and every replica converging:
//! Postgres restarted while lawyers edit, and a laptop's process killed with SIGKILL in the
//! middle of its writes. (A Redis subscriber cut while a wall goes up is in `walls.rs`; a full
//! disk on the laptop in hub-local's `disk_full.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_while_lawyers_edit_loses_nothing() {
    let postgres = PrivatePostgres::start();
    let db = fresh_database_on(&postgres.base()).await;
    let redis = PrivateRedis::start().await;
    let firm = Firm::serving(db, 2, Some(&redis.url())).await;
    let (mut ada, mut ben, doc) = firm.ada_shares_a_draft_with_ben("[start]", 1, WAIT).await;

    let mut words = Vec::new();
    for round in 0..60 {
        let (a, b) = (format!("[a{round}]"), format!("[b{round}]"));
        ada.type_text(&doc, &a);
        ben.type_text(&doc, &b);
        words.push(a);
        words.push(b);
        if round == 20 {
            // Postgres goes down in the middle of the edits and comes back.
            postgres.restart();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    let last = words.last().unwrap().clone();
    ada.wait_until("every edit", WAIT, body_contains(&doc, &last))
        .await;
    ben.wait_until("every edit", WAIT, |store| {
        let text = store.text(&doc, "body").unwrap();
        text.contains("[a59]") && text.contains("[b59]")
    })
    .await;
    let stored = firm.stored_body(&doc).await;
    for word in &words {
        assert!(stored.contains(word.as_str()), "{word} was lost: {stored}");
    }
    assert_eq!(ada.body(&doc), ben.body(&doc));
    assert_eq!(stored, ada.body(&doc));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_outage_is_never_answered_as_a_refusal() {
    // A laptop purges a matter it is refused: "the server could not check" must never read as
    // "you may not".
    let postgres = PrivatePostgres::start();
    let firm = Firm::serving(fresh_database_on(&postgres.base()).await, 1, None).await;
    let doc = draft_name(&new_case());
    let (socket, answer) = raw::open(&firm.url(), doc.as_str(), &token("ada", FIRM)).await;
    assert!(matches!(
        answer,
        protocol::Message::Auth(protocol::AuthMessage::Authenticated { .. })
    ));
    drop(socket);
    postgres.stop();
    for user in ["ada", "ben"] {
        let mut socket = raw::connect(&firm.url()).await;
        raw::send(
            &mut socket,
            raw::token_frame(doc.as_str(), &token(user, FIRM)),
        )
        .await;
        match raw::next(&mut socket).await {
            Err((code, reason)) => assert_eq!(code, 1011, "{reason}"),
            Ok(frame) => panic!(
                "{user} was answered {:?} while storage was down",
                frame.message
            ),
        }
    }
    postgres.up();
}

/// The child side of the SIGKILL test: write words into a store, printing each one that the
/// store acknowledged, until killed. Ignored in a normal run (it is not a test of its own): the
/// test below runs this binary with `--ignored --exact` to start it.
#[test]
#[ignore = "the SIGKILL test's child process"]
fn laptop_child_writes_until_killed() {
    let path = std::env::var("HUB_FAULTS_CHILD_STORE").expect("run by the SIGKILL test");
    let doc = local::DocName::parse(&std::env::var("HUB_FAULTS_CHILD_DOC").unwrap()).unwrap();
    let store = open_store(Path::new(&path));
    let ydoc = yrs::Doc::new();
    let body = ydoc.get_or_insert_text("body");
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        use yrs::{Text, Transact};
        let word = format!("[w{i}]");
        let update = {
            let mut txn = ydoc.transact_mut();
            let end = body.len(&txn);
            body.insert(&mut txn, end, &word);
            txn.encode_update_v1()
        };
        store.apply_local_update(&doc, &update).unwrap();
        writeln!(out, "saved {word}").unwrap();
        out.flush().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_killed_mid_write_keeps_and_uploads_everything_it_reported_saved() {
    let firm = Firm::one_instance().await;
    let path = firm.store_path("ada");
    let doc = draft_name(&new_case());
    // Ada's laptop has synced with her firm before (her store belongs to her account).
    {
        let mut ada = firm.laptop("ada");
        ada.write_and_sync(&doc, "[before]", WAIT).await;
        ada.disconnect().await;
    }
    // The laptop's process writes as fast as it can and is killed with SIGKILL mid-stream.
    let mut child: Child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "laptop_child_writes_until_killed",
            "--ignored",
            "--nocapture",
        ])
        .env("HUB_FAULTS_CHILD_STORE", &path)
        .env("HUB_FAULTS_CHILD_DOC", doc.as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut saved = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while saved.len() < 300 {
        let line = lines.next().expect("the child keeps writing").unwrap();
        if let Some(word) = line.strip_prefix("saved ") {
            saved.push(word.to_owned());
        }
    }
    let status = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap();

    // Restarted: every word it reported saved is there, and syncing uploads all of it.
    let mut ada = firm.laptop("ada");
    let text = ada.body(&doc);
    for word in &saved {
        assert!(
            text.contains(word.as_str()),
            "{word} was reported saved but lost"
        );
    }
    ada.open(&doc);
    ada.wait_synced(WAIT).await;
    let stored = firm.stored_body(&doc).await;
    assert_eq!(stored, ada.body(&doc));
    for word in &saved {
        assert!(
            stored.contains(word.as_str()),
            "{word} never reached the server"
        );
    }
}
