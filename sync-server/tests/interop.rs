//! The stock `@hocuspocus/provider` + `yjs` from npm syncs with our Rust client through our
//! server, both directions, awareness included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use local::SyncEvent;

const WAIT: Duration = Duration::from_secs(30);

fn node_tests() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/node")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_hocuspocus_provider_and_rust_client_co_edit_with_awareness() {
    let dir_node = node_tests();
    assert!(
        dir_node.join("node_modules/@hocuspocus/provider").exists(),
        "npm packages missing: run `npm ci` in tests/node (scripts/test does)"
    );
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let dir = tempfile::tempdir().unwrap();
    let doc = draft_name(&new_case());
    let mut rust = Laptop::online(
        &dir.path().join("rust.db"),
        &ws_url(&server),
        &token("rust", FIRM),
    );
    rust.open(&doc);
    rust.type_text(&doc, "from-rust");
    rust.handle.as_ref().unwrap().set_awareness(
        &doc,
        r##"{"user":{"name":"Rust Lawyer","color":"#a07"}}"##.into(),
    );
    rust.wait_synced(WAIT).await;
    grant(&server, &token("rust", FIRM), &doc, "node", "editor").await;

    let node = tokio::process::Command::new("node")
        .arg(dir_node.join("interop.mjs"))
        .env("HUB_URL", ws_url(&server))
        .env("HUB_TOKEN", token("node", FIRM))
        .env("HUB_DOC", doc.as_str())
        .env("HUB_TIMEOUT_MS", "25000")
        .env("HUB_LINGER_MS", "1500")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");

    // Meanwhile the Rust side must see the Node text and the Node lawyer's presence.
    let mut saw_node_presence = false;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !(saw_node_presence && rust.body(&doc).contains("from-node")) {
        let event = tokio::time::timeout_at(deadline, rust.events.as_mut().unwrap().recv())
            .await
            .unwrap_or_else(|_| panic!("timed out; text so far: {:?}", rust.body(&doc)))
            .expect("client runs");
        if let SyncEvent::Awareness { states, .. } = event
            && states
                .iter()
                .any(|entry| entry.state.contains("Node Lawyer"))
        {
            saw_node_presence = true;
        }
    }
    let output = node.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "interop.mjs failed:\n{stdout}");
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["ok"], true);
    let node_text = last["text"].as_str().unwrap();
    assert!(
        node_text.contains("from-rust") && node_text.contains("from-node"),
        "{node_text}"
    );
    rust.wait_synced(WAIT).await;
    assert_eq!(rust.body(&doc), node_text, "both ends hold the same text");
    assert_eq!(
        stored_text(&db, &doc, "body").await,
        node_text,
        "and so does Postgres"
    );
}
