//! kill -9 the server while a client is streaming edits: every update the client saw acked is in
//! Postgres afterwards, and the unacked ones are resent from the outbox once the server is back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(30);

/// The sync-server binary on `port`, as a process this test can kill -9.
async fn spawn_server(database_url: &str, port: u16) -> ChildProcess {
    let server = ChildProcess::spawn(
        sync_server_command(database_url, port)
            .env("HUB_LOG", "warn")
            .stderr(Stdio::inherit()),
        "sync-server binary runs",
    );
    wait_for_port(port, "server").await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_loses_no_acked_update_and_the_outbox_resends_the_rest() {
    let db = fresh_database().await;
    let port = free_port();
    let mut server = spawn_server(&db, port).await;
    let url = format!("ws://127.0.0.1:{port}/api/v1/sync");
    let dir = tempfile::tempdir().unwrap();
    let doc = draft_name(&new_case());
    let mut ada = Laptop::online(&dir.path().join("ada.db"), &url, &token("ada", FIRM));
    ada.open(&doc);
    ada.wait_synced(WAIT).await;

    // Stream edits; kill the server in the middle of the stream, without warning.
    let mut edits = Vec::new();
    for i in 0..300 {
        let marker = format!("<{i}>");
        ada.type_text(&doc, &marker);
        let id = ada.store.pending().unwrap().last().map(|entry| entry.id);
        edits.push((marker, id));
        if i == 150 {
            // Kill without warning once acks are flowing, while more are still in flight.
            ada.wait_until("the first acks", WAIT, |s| {
                s.pending_count().unwrap() <= 120
            })
            .await;
            server.0.kill().unwrap();
            server.0.wait().unwrap();
        }
        if i % 10 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let pending: std::collections::HashSet<i64> = ada
        .store
        .pending()
        .unwrap()
        .iter()
        .map(|entry| entry.id)
        .collect();
    let acked: Vec<&String> = edits
        .iter()
        .filter(|(_, id)| id.is_none_or(|id| !pending.contains(&id)))
        .map(|(marker, _)| marker)
        .collect();
    assert!(!acked.is_empty(), "some edits were acked before the kill");
    assert!(
        pending.len() >= 149,
        "edits after the kill stay in the outbox"
    );
    let durable = stored_text(&db, &doc, "body").await;
    for marker in &acked {
        assert!(
            durable.contains(marker.as_str()),
            "acked edit {marker} is not in Postgres after kill -9"
        );
    }

    // The server comes back on the same address; the client reconnects and resends.
    let _server = spawn_server(&db, port).await;
    ada.wait_synced(WAIT).await;
    let durable = stored_text(&db, &doc, "body").await;
    for (marker, _) in &edits {
        assert!(durable.contains(marker.as_str()), "edit {marker} lost");
    }
    assert_eq!(durable, ada.body(&doc));
}
