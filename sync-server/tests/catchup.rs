//! Reconnect costs O(changed documents): the catch-up cursor lists only what changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::raw;
use common::*;
use protocol::{ChangesField, Frame, HUB_CHANNEL, HubMessage, Message};

const WAIT: Duration = Duration::from_secs(30);

async fn ask_changes(url: &str, token: &str, since: i64) -> (i64, BTreeSet<String>) {
    let mut socket = raw::connect(url).await;
    raw::send(&mut socket, raw::token_frame(HUB_CHANNEL, token)).await;
    let ask = Frame::new(
        HUB_CHANNEL,
        Message::Stateless(HubMessage::request(since).to_json()),
    );
    raw::send(&mut socket, ask).await;
    loop {
        let frame = raw::next_within(&mut socket, WAIT).await.unwrap();
        if let Message::Stateless(text) = frame.message
            && let Ok(HubMessage::Changes(ChangesField::Reply(reply))) = HubMessage::parse(&text)
        {
            assert!(!reply.more);
            return (reply.cursor, reply.docs.into_iter().collect());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_syncs_only_the_documents_that_changed() {
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let url = ws_url(&server);
    let dir = tempfile::tempdir().unwrap();
    let case = new_case();
    let docs: Vec<_> = (0..40).map(|_| draft_name(&case)).collect();

    let mut ada = Laptop::online(&dir.path().join("ada.db"), &url, &token("ada", FIRM));
    for doc in &docs {
        ada.open(doc);
        ada.type_text(doc, "initial text");
    }
    ada.wait_synced(WAIT).await;
    grant(&server, &token("ada", FIRM), &docs[0], "ben", "editor").await;

    // Ben's laptop learns every document through catch-up alone (it opens none).
    let ben_path = dir.path().join("ben.db");
    let mut ben = Laptop::online(&ben_path, &url, &token("ben", FIRM));
    let last = docs.last().unwrap().clone();
    ben.wait_until("all documents", WAIT, |s| {
        s.text(&last, "body").unwrap() == "initial text"
    })
    .await;
    ben.wait_synced(WAIT).await;
    for doc in &docs {
        assert_eq!(ben.body(doc), "initial text");
    }
    ben.disconnect().await;
    let cursor = ben.store.cursor().unwrap();
    assert!(cursor > 0, "ben stored a catch-up cursor");

    // While Ben is away, three documents change.
    let changed: BTreeSet<String> = docs[..3].iter().map(|doc| doc.to_string()).collect();
    for doc in &docs[..3] {
        ada.type_text(doc, " amended");
    }
    ada.wait_synced(WAIT).await;

    // The server lists exactly those three since Ben's cursor...
    let (_, listed) = ask_changes(&url, &token("ben", FIRM), cursor).await;
    assert_eq!(listed, changed);
    // ...and another firm sees none of them.
    let (_, other) = ask_changes(&url, &token("eve", "firm-other"), 0).await;
    assert!(other.is_empty());

    // Ben reconnects and gets the changes.
    ben.connect(&url, &token("ben", FIRM));
    for doc in &docs[..3] {
        ben.wait_until("amendment", WAIT, |s| {
            s.text(doc, "body").unwrap().ends_with("amended")
        })
        .await;
    }
    ben.wait_synced(WAIT).await;
    assert!(ben.store.cursor().unwrap() >= cursor);
}
