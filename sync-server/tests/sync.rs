//! End-to-end sync through the real server, Postgres, Redis and encrypted local stores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_laptops_converge_through_one_server() {
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let dir = tempfile::tempdir().unwrap();
    let doc = draft_name(&new_case());
    let mut ada = Laptop::online(
        &dir.path().join("ada.db"),
        &ws_url(&server),
        &token("ada", FIRM),
    );
    ada.write_and_sync(&doc, "The Tenant shall pay rent. ", WAIT)
        .await;
    grant(&server, &token("ada", FIRM), &doc, "ben", "editor").await;
    let mut ben = Laptop::online(
        &dir.path().join("ben.db"),
        &ws_url(&server),
        &token("ben", FIRM),
    );
    ben.open(&doc);
    ben.wait_until("ada's text", WAIT, body_contains(&doc, "pay rent"))
        .await;
    ben.type_text(&doc, "The Landlord shall repair.");
    ada.wait_until("ben's text", WAIT, |store| {
        store.text(&doc, "body").unwrap().contains("repair")
    })
    .await;
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    assert_eq!(ada.body(&doc), ben.body(&doc));
    assert_eq!(
        stored_text(&db, &doc, "body").await,
        ada.body(&doc),
        "Postgres holds what both see"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_instances_joined_by_redis_converge() {
    let db = fresh_database().await;
    let first = start_server(&db, Some(redis_url())).await;
    let second = start_server(&db, Some(redis_url())).await;
    let dir = tempfile::tempdir().unwrap();
    let doc = draft_name(&new_case());
    let mut ada = Laptop::online(
        &dir.path().join("ada.db"),
        &ws_url(&first),
        &token("ada", FIRM),
    );
    ada.write_and_sync(&doc, "[start]", WAIT).await;
    grant(&first, &token("ada", FIRM), &doc, "ben", "editor").await;
    let mut ben = Laptop::online(
        &dir.path().join("ben.db"),
        &ws_url(&second),
        &token("ben", FIRM),
    );
    ben.open(&doc);
    ben.wait_until("the draft", WAIT, body_contains(&doc, "[start]"))
        .await;
    for round in 0..5 {
        ada.type_text(&doc, &format!("[ada {round}]"));
        ben.type_text(&doc, &format!("[ben {round}]"));
    }
    ada.wait_until("ben's edits via redis", WAIT, |s| {
        s.text(&doc, "body").unwrap().contains("[ben 4]")
    })
    .await;
    ben.wait_until("ada's edits via redis", WAIT, |s| {
        s.text(&doc, "body").unwrap().contains("[ada 4]")
    })
    .await;
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    assert_eq!(ada.body(&doc), ben.body(&doc));
    assert_eq!(stored_text(&db, &doc, "body").await, ada.body(&doc));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_on_both_laptops_survive_restart_and_converge() {
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let dir = tempfile::tempdir().unwrap();
    let (ada_path, ben_path) = (dir.path().join("ada.db"), dir.path().join("ben.db"));
    let doc = draft_name(&new_case());
    // Both start from a shared draft.
    {
        let mut ada = Laptop::online(&ada_path, &ws_url(&server), &token("ada", FIRM));
        ada.write_and_sync(&doc, "Shared clause. ", WAIT).await;
        grant(&server, &token("ada", FIRM), &doc, "ben", "editor").await;
        ada.disconnect().await;
        let mut ben = Laptop::online(&ben_path, &ws_url(&server), &token("ben", FIRM));
        ben.open(&doc);
        ben.wait_until("shared clause", WAIT, |s| {
            s.text(&doc, "body").unwrap().contains("Shared")
        })
        .await;
        ben.disconnect().await;
    }
    // On the plane: both edit offline, then the processes exit.
    {
        let ada = Laptop::offline(&ada_path);
        let ben = Laptop::offline(&ben_path);
        for i in 0..20 {
            ada.type_text(&doc, &format!("a{i} "));
            ben.type_text(&doc, &format!("b{i} "));
        }
        assert_eq!(ada.store.pending_count().unwrap(), 20);
    }
    // Landed: new processes reopen the stores and reconnect.
    let mut ada = Laptop::online(&ada_path, &ws_url(&server), &token("ada", FIRM));
    let mut ben = Laptop::online(&ben_path, &ws_url(&server), &token("ben", FIRM));
    ada.open(&doc);
    ben.open(&doc);
    ada.wait_until("ben's offline edits", WAIT, |s| {
        s.text(&doc, "body").unwrap().contains("b19")
    })
    .await;
    ben.wait_until("ada's offline edits", WAIT, |s| {
        s.text(&doc, "body").unwrap().contains("a19")
    })
    .await;
    ada.wait_synced(WAIT).await;
    ben.wait_synced(WAIT).await;
    let text = ada.body(&doc);
    assert_eq!(text, ben.body(&doc));
    for i in 0..20 {
        assert!(
            text.contains(&format!("a{i} ")) && text.contains(&format!("b{i} ")),
            "edit {i} lost: {text}"
        );
    }
    assert_eq!(stored_text(&db, &doc, "body").await, text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_firms_cannot_open_a_matter() {
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let dir = tempfile::tempdir().unwrap();
    let doc = draft_name(&new_case());
    let mut ada = Laptop::online(
        &dir.path().join("ada.db"),
        &ws_url(&server),
        &token("ada", FIRM),
    );
    ada.write_and_sync(&doc, "Privileged and confidential.", WAIT)
        .await;
    let mut eve = Laptop::online(
        &dir.path().join("eve.db"),
        &ws_url(&server),
        &token("eve", "firm-other"),
    );
    eve.open(&doc);
    let (denied, reason) = eve.wait_denied(WAIT).await;
    assert_eq!(denied, doc);
    assert_eq!(reason, "document not found");
    assert_eq!(
        eve.body(&doc),
        "",
        "nothing of the matter reached the other firm"
    );
}
