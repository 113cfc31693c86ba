//! Bad input gets a clear error and a close, never a crash, and other connections go on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::raw::*;
use common::*;
use futures_util::SinkExt;
use protocol::{AuthMessage, Frame, Message, SyncMessage};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use yrs::{Doc, Text, Transact};

fn text_update(text: &str) -> Vec<u8> {
    let doc = Doc::new();
    let body = doc.get_or_insert_text("body");
    let mut txn = doc.transact_mut();
    body.insert(&mut txn, 0, text);
    txn.encode_update_v1()
}

fn is_authenticated(message: &Message) -> bool {
    matches!(message, Message::Auth(AuthMessage::Authenticated { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_invalid_input_closes_only_that_connection() {
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let url = ws_url(&server);
    let doc = draft_name(&new_case()).to_string();
    let good_token = token("ada", FIRM);

    // A well-behaved client that must be unaffected throughout.
    let mut good = connect(&url).await;
    assert!(is_authenticated(
        &authenticate(&mut good, &doc, &good_token).await
    ));

    // 1. Garbage bytes.
    let mut bad = connect(&url).await;
    bad.send(WsMessage::Binary(vec![0xff, 0xff, 0xff, 0xff, 0xff].into()))
        .await
        .unwrap();
    let (code, reason) = next(&mut bad).await.expect_err("closed");
    assert_eq!(code, u16::from(CloseCode::Protocol));
    assert!(reason.contains("malformed frame"), "{reason}");

    // 2. A frame bigger than the limit.
    let mut big = connect(&url).await;
    let huge = vec![7u8; protocol::MAX_FRAME_BYTES + 1024];
    let _ = big.send(WsMessage::Binary(huge.into())).await;
    let (code, _) = next(&mut big).await.expect_err("closed");
    assert!(
        code == 1009 || code == 0,
        "too-big frames close the connection (got {code})"
    );

    // 3. A well-formed frame carrying an invalid Yjs update.
    let mut invalid = connect(&url).await;
    assert!(is_authenticated(
        &authenticate(&mut invalid, &doc, &good_token).await
    ));
    send(
        &mut invalid,
        Frame::new(
            doc.as_str(),
            Message::Sync(SyncMessage::Update(vec![1, 2, 3, 250, 250])),
        ),
    )
    .await;
    let (code, reason) = next(&mut invalid).await.expect_err("closed");
    assert_eq!(code, u16::from(CloseCode::Protocol), "{reason}");
    assert!(reason.contains("refused update"), "{reason}");

    // 4. A text message.
    let mut text = connect(&url).await;
    text.send(WsMessage::Text("hello".into())).await.unwrap();
    let (code, _) = next(&mut text).await.expect_err("closed");
    assert_eq!(code, u16::from(CloseCode::Unsupported));

    // The good client still syncs and gets its durable ack.
    send(
        &mut good,
        Frame::new(
            doc.as_str(),
            Message::Sync(SyncMessage::Update(text_update("still here"))),
        ),
    )
    .await;
    let ack = next(&mut good).await.expect("ack");
    assert_eq!(ack.message, Message::SyncStatus(true));
    assert_eq!(
        stored_text(&db, &protocol::DocName::parse(&doc).unwrap(), "body").await,
        "still here"
    );
    assert!(!server.task.is_finished(), "server still running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_and_unauthenticated_frames_are_refused() {
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let url = ws_url(&server);
    let doc = draft_name(&new_case()).to_string();
    let mut socket = connect(&url).await;

    let answer = authenticate(&mut socket, &doc, "not-a-token").await;
    assert_eq!(
        answer,
        Message::Auth(AuthMessage::PermissionDenied {
            reason: "the token is invalid".into()
        })
    );

    let forged = sync_server::auth::DevAuth::new("some-other-secret-0123456789")
        .mint("mallory", FIRM, 3600)
        .unwrap();
    let answer = authenticate(&mut socket, &doc, &forged).await;
    assert!(matches!(
        answer,
        Message::Auth(AuthMessage::PermissionDenied { .. })
    ));

    // Writing without authenticating is refused, and nothing is stored.
    send(
        &mut socket,
        Frame::new(
            doc.as_str(),
            Message::Sync(SyncMessage::Update(text_update("sneaky"))),
        ),
    )
    .await;
    let answer = next(&mut socket).await.expect("answer").message;
    assert!(matches!(
        answer,
        Message::Auth(AuthMessage::PermissionDenied { .. })
    ));
    assert_eq!(
        stored_text(&db, &protocol::DocName::parse(&doc).unwrap(), "body").await,
        ""
    );

    // Names outside the document scheme are refused with the reason.
    let answer = authenticate(&mut socket, "../../etc/passwd", &token("ada", FIRM)).await;
    assert!(
        matches!(answer, Message::Auth(AuthMessage::PermissionDenied { reason }) if reason.contains("invalid document name"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_update_is_acked_in_order_only_after_it_is_in_postgres() {
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let url = ws_url(&server);
    let name = draft_name(&new_case());
    let doc = name.to_string();
    let mut socket = connect(&url).await;
    assert!(is_authenticated(
        &authenticate(&mut socket, &doc, &token("ada", FIRM)).await
    ));
    let ydoc = Doc::new();
    let body = ydoc.get_or_insert_text("body");
    for i in 0..200 {
        let update = {
            let mut txn = ydoc.transact_mut();
            body.insert(&mut txn, 0, &format!("<{i}>"));
            txn.encode_update_v1()
        };
        send(
            &mut socket,
            Frame::new(doc.as_str(), Message::Sync(SyncMessage::Update(update))),
        )
        .await;
    }
    for _ in 0..200 {
        assert_eq!(
            next(&mut socket).await.expect("ack").message,
            Message::SyncStatus(true)
        );
    }
    let stored = stored_text(&db, &name, "body").await;
    for i in 0..200 {
        assert!(
            stored.contains(&format!("<{i}>")),
            "acked update {i} missing from Postgres"
        );
    }
}
