//! Large documents and many lawyers on one: a document bigger than one client frame reaches a
//! new device whole (sent in fragments); the shared first-sync answer never goes stale; and
//! presence is relayed in batches, and not at all when nothing was accepted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::*;
use common::*;
use protocol::{AwarenessEntry, AwarenessUpdate, Frame, Message, SyncMessage};
use sync_server::limits::LimitSettings;
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Text, Transact};

const WAIT: Duration = Duration::from_secs(30);

/// Append `text` to Ada's editor and send it as one update; wait for its ack.
async fn type_and_wait(socket: &mut Socket, doc: &str, editor: &Doc, text: &str) {
    let body = editor.get_or_insert_text("body");
    let update = {
        let mut txn = editor.transact_mut();
        let len = body.len(&txn);
        body.insert(&mut txn, len, text);
        txn.encode_update_v1()
    };
    send(
        socket,
        Frame::new(doc, Message::Sync(SyncMessage::Update(update))),
    )
    .await;
    loop {
        match tokio::time::timeout(WAIT, next(socket)).await.unwrap() {
            Ok(frame) => {
                if let Message::SyncStatus(ok) = frame.message {
                    assert!(ok, "the update was refused");
                    return;
                }
            }
            Err(close) => panic!("closed while waiting for an ack: {close:?}"),
        }
    }
}

/// Open `doc` on a new connection with an empty state vector; the text it receives.
async fn first_sync(url: &str, doc: &str, token: &str) -> String {
    // A client that takes WebSocket frames of at most 1 MiB (a message may still be larger):
    // the server must send a large document in fragments.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(protocol::MAX_SERVER_FRAME_BYTES))
        .max_frame_size(Some(1024 * 1024));
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .unwrap();
    let answer = authenticate(&mut socket, doc, token).await;
    assert!(
        matches!(
            answer,
            Message::Auth(protocol::AuthMessage::Authenticated { .. })
        ),
        "{answer:?}"
    );
    send(
        &mut socket,
        Frame::new(doc, Message::Sync(SyncMessage::Step1(vec![0]))),
    )
    .await;
    let received = Doc::new();
    loop {
        let frame = next(&mut socket).await.expect("the first sync finishes");
        match frame.message {
            Message::Sync(SyncMessage::Step2(bytes) | SyncMessage::Update(bytes)) => {
                received
                    .transact_mut()
                    .apply_update(yrs::Update::decode_v1(&bytes).unwrap())
                    .unwrap();
            }
            // The server's own Step1 ends its answer.
            Message::Sync(SyncMessage::Step1(_)) => break,
            _ => {}
        }
    }
    let body = received.get_or_insert_text("body");
    body.get_string(&received.transact())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_larger_than_one_frame_reaches_a_new_device_whole() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let url = ws_url(server);
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let ada = token("ada", FIRM);
    let (mut socket, _) = open(&url, doc, &ada).await;
    let editor = Doc::new();
    // Two edits of 6 MB each (a client frame may carry at most 8 MiB): a 12 MB document.
    let chunk = "Whereas the parties agree. ".repeat(6 * 1024 * 1024 / 27);
    type_and_wait(&mut socket, doc, &editor, &chunk).await;
    type_and_wait(&mut socket, doc, &editor, &chunk).await;
    let text = first_sync(&url, doc, &ada).await;
    assert_eq!(text.len(), 2 * chunk.len());
    assert!(
        text.len() > protocol::MAX_FRAME_BYTES,
        "the document must not fit in one client frame"
    );
    // And again from storage, on an instance that has not loaded it (its first sync is
    // answered from the stored rows).
    let fresh = start_server(&firm.database, None).await;
    let text = first_sync(&ws_url(&fresh), doc, &ada).await;
    assert_eq!(text.len(), 2 * chunk.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_after_a_change_carries_the_change() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let url = ws_url(server);
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let ada = token("ada", FIRM);
    let (mut socket, _) = open(&url, doc, &ada).await;
    let editor = Doc::new();
    type_and_wait(&mut socket, doc, &editor, "one").await;
    // The first joiner's answer is kept for the next ones ...
    assert_eq!(first_sync(&url, doc, &ada).await, "one");
    assert_eq!(first_sync(&url, doc, &ada).await, "one");
    // ... until the document changes.
    type_and_wait(&mut socket, doc, &editor, " two").await;
    assert_eq!(first_sync(&url, doc, &ada).await, "one two");
    // The same on an instance that loaded the document from storage.
    let fresh = start_server(&firm.database, None).await;
    let fresh_url = ws_url(&fresh);
    assert_eq!(first_sync(&fresh_url, doc, &ada).await, "one two");
    let (mut there, _) = open(&fresh_url, doc, &ada).await;
    let second = Doc::new();
    // A new editor's first edit: its own client id, appended after what it has not seen is
    // fine for a Y.Text (it lands at position 0 of its own view).
    type_and_wait(&mut there, doc, &second, "zero ").await;
    // Concurrent inserts at the start: their order depends on the client ids.
    let text = first_sync(&fresh_url, doc, &ada).await;
    assert!(text == "zero one two" || text == "one twozero ", "{text:?}");
}

fn presence(client_id: u64, clock: u64, state: &str) -> Vec<u8> {
    AwarenessUpdate {
        entries: vec![AwarenessEntry {
            client_id,
            clock,
            state: state.into(),
        }],
    }
    .encode()
}

/// Presence frames `socket` receives within `wait`.
async fn presence_frames(socket: &mut Socket, wait: Duration) -> Vec<AwarenessUpdate> {
    let mut frames = Vec::new();
    let until = tokio::time::Instant::now() + wait;
    while let Ok(frame) = tokio::time::timeout_at(until, next(socket)).await {
        if let Message::Awareness(bytes) = frame.unwrap().message {
            frames.push(AwarenessUpdate::decode(&bytes).unwrap());
        }
    }
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_relayed_in_batches_and_not_past_the_cap() {
    let firm = Firm::one_instance_with(|settings| {
        settings.limits = LimitSettings {
            max_awareness_states: 2,
            ..Default::default()
        }
    })
    .await;
    let server = firm.server();
    let url = ws_url(server);
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let ada = token("ada", FIRM);
    let (mut watcher, _) = open(&url, doc, &ada).await;
    let (mut mover, _) = open(&url, doc, &ada).await;
    // A cursor moving five times in a burst reaches the others as one frame, latest state.
    for clock in 1..=5 {
        send(
            &mut mover,
            Frame::new(
                doc,
                Message::Awareness(presence(11, clock, &format!(r#"{{"at":{clock}}}"#))),
            ),
        )
        .await;
    }
    let frames = presence_frames(&mut watcher, Duration::from_millis(500)).await;
    assert!(
        !frames.is_empty() && frames.len() <= 2,
        "{} presence frames for a burst of 5",
        frames.len()
    );
    let last = frames.last().unwrap();
    assert_eq!(last.entries.len(), 1);
    assert_eq!(last.entries[0].clock, 5);
    // Two states fill the cap; a third lawyer's presence is not stored, so nothing is relayed.
    send(
        &mut watcher,
        Frame::new(doc, Message::Awareness(presence(12, 1, "{}"))),
    )
    .await;
    assert_eq!(
        presence_frames(&mut mover, Duration::from_millis(500))
            .await
            .len(),
        1
    );
    let (mut third, _) = open(&url, doc, &ada).await;
    let _snapshot = presence_frames(&mut third, Duration::from_millis(200)).await;
    send(
        &mut third,
        Frame::new(doc, Message::Awareness(presence(13, 1, "{}"))),
    )
    .await;
    assert!(
        presence_frames(&mut mover, Duration::from_millis(500))
            .await
            .is_empty(),
        "a presence past the cap was relayed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lawyer_who_leaves_before_the_batch_is_not_relayed_after_their_removal() {
    let firm = Firm::one_instance().await;
    let url = ws_url(firm.server());
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let ada = token("ada", FIRM);
    let (mut watcher, _) = open(&url, doc, &ada).await;
    let (mut leaver, _) = open(&url, doc, &ada).await;
    send(
        &mut leaver,
        Frame::new(doc, Message::Awareness(presence(21, 1, r#"{"at":1}"#))),
    )
    .await;
    // Gone at once: well inside the 30 ms batch that holds the presence just sent.
    drop(leaver);
    let frames = presence_frames(&mut watcher, Duration::from_millis(500)).await;
    let states: Vec<&str> = frames
        .iter()
        .flat_map(|frame| frame.entries.iter())
        .filter(|entry| entry.client_id == 21)
        .map(|entry| entry.state.as_str())
        .collect();
    assert_eq!(
        states.last(),
        Some(&"null"),
        "the last word on a lawyer who left is their removal: {states:?}"
    );
    assert!(
        !states
            .iter()
            .skip_while(|state| **state != "null")
            .any(|state| *state != "null"),
        "presence relayed after the removal: {states:?}"
    );
}

/// Send `count` single-character edits from `editor` as fast as the socket takes them.
async fn burst(socket: &mut Socket, doc: &str, editor: &Doc, mark: &str, count: usize) {
    use futures_util::SinkExt;
    let body = editor.get_or_insert_text("body");
    for _ in 0..count {
        let update = {
            let mut txn = editor.transact_mut();
            let len = body.len(&txn);
            body.insert(&mut txn, len, mark);
            txn.encode_update_v1()
        };
        socket
            .feed(binary(&Frame::new(
                doc,
                Message::Sync(SyncMessage::Update(update)),
            )))
            .await
            .unwrap();
    }
    socket.flush().await.unwrap();
}

/// Apply every update `socket` receives until `done` holds for the text so far.
async fn receive_until(socket: &mut Socket, done: impl Fn(&str) -> bool) -> String {
    let received = Doc::new();
    let body = received.get_or_insert_text("body");
    loop {
        let text = body.get_string(&received.transact());
        if done(&text) {
            return text;
        }
        let frame = next(socket).await.expect("updates keep coming");
        if let Message::Sync(SyncMessage::Update(bytes) | SyncMessage::Step2(bytes)) = frame.message
        {
            received
                .transact_mut()
                .apply_update(yrs::Update::decode_v1(&bytes).unwrap())
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_committed_together_reach_everyone_and_never_return_to_their_sender() {
    let firm = Firm::one_instance().await;
    let url = firm.url();
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let ada = token("ada", FIRM);
    let (mut a, _) = open(&url, doc, &ada).await;
    let (mut b, _) = open(&url, doc, &ada).await;
    let (mut c, _) = open(&url, doc, &ada).await;
    let (mut watcher, _) = open(&url, doc, &ada).await;
    let (ada_editor, ben_editor, cy_editor) = (Doc::new(), Doc::new(), Doc::new());
    // Three lawyers typing at once: their updates share group commits, and each commit's
    // updates go out merged (everything to the watcher, the others' to each typist).
    burst(&mut a, doc, &ada_editor, "a", 200).await;
    burst(&mut b, doc, &ben_editor, "b", 200).await;
    burst(&mut c, doc, &cy_editor, "c", 200).await;
    let all = receive_until(&mut watcher, |text| text.len() == 600).await;
    assert_eq!(all.matches('a').count(), 200);
    assert_eq!(all.matches('c').count(), 200);
    let others_all_in = |mine: char| {
        move |text: &str| {
            ['a', 'b', 'c']
                .iter()
                .filter(|letter| **letter != mine)
                .all(|letter| text.matches(*letter).count() == 200)
        }
    };
    for (socket, mine, who) in [
        (&mut a, 'a', "Ada"),
        (&mut b, 'b', "Ben"),
        (&mut c, 'c', "Cy"),
    ] {
        let seen = receive_until(socket, others_all_in(mine)).await;
        assert!(
            !seen.contains(mine),
            "{who} was sent their own typing back: {seen}"
        );
    }
}
