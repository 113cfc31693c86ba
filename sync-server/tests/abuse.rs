//! Abuse and robustness: limits per connection, user and address; awareness that only its
//! owner may change; poison updates refused before they are stored; documents with very long
//! histories that still open on a new device.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::raw::*;
use common::*;
use protocol::{
    AuthMessage, AwarenessEntry, AwarenessUpdate, Frame, HubMessage, Message, SyncMessage,
};
use sync_server::app::Running;
use sync_server::limits::LimitSettings;
use yrs::{Doc, Text, Transact};

const WAIT: Duration = Duration::from_secs(30);

/// A firm whose server enforces `limits`.
async fn firm_with(limits: LimitSettings) -> Firm {
    Firm::one_instance_with(|settings| settings.limits = limits).await
}

fn authenticated(message: &Message) -> bool {
    matches!(message, Message::Auth(AuthMessage::Authenticated { .. }))
}

fn denial(message: &Message) -> Option<String> {
    match message {
        Message::Auth(AuthMessage::PermissionDenied { reason }) => Some(reason.clone()),
        _ => None,
    }
}

/// Read until the server closes the socket; its close code and reason.
async fn closed(socket: &mut Socket) -> (u16, String) {
    loop {
        if let Err(close) = next(socket).await {
            return close;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_never_authenticates_is_closed() {
    let firm = firm_with(LimitSettings {
        auth_timeout_secs: 1,
        ..Default::default()
    })
    .await;
    let server = firm.server();
    let mut idle = connect(&ws_url(server)).await;
    let started = std::time::Instant::now();
    let (code, reason) = tokio::time::timeout(WAIT, closed(&mut idle)).await.unwrap();
    assert_eq!(code, 4401, "{reason}");
    assert!(reason.contains("authenticate"), "{reason}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_per_connection_and_connections_per_user_are_bounded() {
    let firm = firm_with(LimitSettings {
        max_docs_per_connection: 2,
        max_connections_per_user: 2,
        ..Default::default()
    })
    .await;
    let server = firm.server();
    let ada = token("ada", FIRM);
    let case = new_case();
    let mut socket = connect(&ws_url(server)).await;
    for _ in 0..2 {
        let name = draft_name(&case);
        assert!(authenticated(
            &authenticate(&mut socket, name.as_str(), &ada).await
        ));
    }
    let third = draft_name(&case);
    let answer = authenticate(&mut socket, third.as_str(), &ada).await;
    let reason = denial(&answer).expect("the third document is refused");
    assert!(reason.contains("too many documents"), "{reason}");

    let _second = connect(&ws_url(server)).await;
    let mut second = connect(&ws_url(server)).await;
    // Two sockets of Ada's are open once this one authenticates; a third is refused.
    assert!(authenticated(
        &authenticate(&mut second, draft_name(&case).as_str(), &ada).await
    ));
    let mut third_socket = connect(&ws_url(server)).await;
    let answer = authenticate(&mut third_socket, draft_name(&case).as_str(), &ada).await;
    let reason = denial(&answer).expect("a third connection of one user is refused");
    assert!(reason.contains("too many connections"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_bounded() {
    let firm = firm_with(LimitSettings {
        max_connections_per_address: 3,
        ..Default::default()
    })
    .await;
    let server = firm.server();
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(connect(&ws_url(server)).await);
    }
    let refused = tokio_tungstenite::connect_async(ws_url(server)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 429)
        }
        other => panic!("a fourth connection from one address was accepted: {other:?}"),
    }
    drop(open.pop());
    // Once one closes there is room again.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if tokio_tungstenite::connect_async(ws_url(server))
            .await
            .is_ok()
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_matters_and_catch_up_requests_are_rate_limited() {
    let firm = firm_with(LimitSettings {
        new_cases_per_minute: 2,
        changes_per_minute: 3,
        ..Default::default()
    })
    .await;
    let server = firm.server();
    let ada = token("ada", FIRM);
    let mut socket = connect(&ws_url(server)).await;
    for _ in 0..2 {
        let name = draft_name(&new_case());
        assert!(authenticated(
            &authenticate(&mut socket, name.as_str(), &ada).await
        ));
    }
    let name = draft_name(&new_case());
    let reason = denial(&authenticate(&mut socket, name.as_str(), &ada).await)
        .expect("a third new matter within a minute is refused");
    assert!(reason.contains("too many new matters"), "{reason}");

    let mut hub = connect(&ws_url(server)).await;
    authenticate(&mut hub, protocol::HUB_CHANNEL, &ada).await;
    let mut limited = false;
    for _ in 0..5 {
        send(
            &mut hub,
            Frame::new(
                protocol::HUB_CHANNEL,
                Message::Stateless(HubMessage::request(0).to_json()),
            ),
        )
        .await;
        if let Message::Stateless(text) = next(&mut hub).await.unwrap().message
            && let Ok(HubMessage::Error { code, .. }) = HubMessage::parse(&text)
        {
            assert_eq!(code, "rate_limited");
            limited = true;
        }
    }
    assert!(
        limited,
        "five catch-up requests in a second were all served"
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awareness_belongs_to_the_connection_that_introduced_it() {
    let firm = firm_with(LimitSettings {
        max_awareness_states: 3,
        max_awareness_state_bytes: 256,
        ..Default::default()
    })
    .await;
    let server = firm.server();
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let ada = token("ada", FIRM);
    let (mut first, _) = open(&ws_url(server), doc, &ada).await;
    grant(server, &ada, &name, "ben", "editor").await;
    let (mut intruder, _) = open(&ws_url(server), doc, &token("ben", FIRM)).await;
    send(
        &mut first,
        Frame::new(
            doc,
            Message::Awareness(presence(7, 1, r#"{"user":{"name":"Ada"}}"#)),
        ),
    )
    .await;
    // Frames on one connection are handled in order: once this Step1 is answered, Ada's
    // presence is recorded (connections race each other, so the intruder waits for this).
    send(
        &mut first,
        Frame::new(doc, Message::Sync(SyncMessage::Step1(vec![0]))),
    )
    .await;
    loop {
        if let Message::Sync(SyncMessage::Step2(_)) = next(&mut first).await.unwrap().message {
            break;
        }
    }
    // Another connection may neither remove nor overwrite client 7.
    send(
        &mut intruder,
        Frame::new(doc, Message::Awareness(presence(7, 5, "null"))),
    )
    .await;
    send(
        &mut intruder,
        Frame::new(
            doc,
            Message::Awareness(presence(7, 6, r#"{"user":{"name":"Not Ada"}}"#)),
        ),
    )
    .await;
    // Oversized states and more states than the cap are refused too.
    let huge = format!(r#"{{"user":{{"name":"{}"}}}}"#, "x".repeat(1000));
    send(
        &mut intruder,
        Frame::new(doc, Message::Awareness(presence(8, 1, &huge))),
    )
    .await;
    for client in 20..30 {
        send(
            &mut intruder,
            Frame::new(doc, Message::Awareness(presence(client, 1, "{}"))),
        )
        .await;
    }
    // Frames are handled in order: once this Step1 is answered, all of the above was.
    send(
        &mut intruder,
        Frame::new(doc, Message::Sync(SyncMessage::Step1(vec![0]))),
    )
    .await;
    loop {
        if let Message::Sync(SyncMessage::Step2(_)) = next(&mut intruder).await.unwrap().message {
            break;
        }
    }
    // A newcomer is sent every presence the document holds.
    let mut observer = connect(&ws_url(server)).await;
    let answer = authenticate(&mut observer, doc, &ada).await;
    assert!(authenticated(&answer), "{answer:?}");
    let snapshot = match next(&mut observer).await.unwrap().message {
        Message::Awareness(bytes) => AwarenessUpdate::decode(&bytes).unwrap(),
        other => panic!("expected the presence snapshot, got {other:?}"),
    };
    let ada_state = snapshot
        .entries
        .iter()
        .find(|entry| entry.client_id == 7)
        .expect("Ada's presence is still there");
    assert!(ada_state.state.contains("\"Ada\""), "{}", ada_state.state);
    assert!(snapshot.entries.iter().all(|entry| entry.client_id != 8));
    assert!(
        snapshot.entries.len() <= 3,
        "{} states",
        snapshot.entries.len()
    );
}

/// A newcomer reads `Authenticated` before anything the hub relays, even while a colleague's
/// presence streams through the document and memberships change elsewhere in the firm (each
/// change makes an open read the role again, with the subscription already registered): the
/// answer is queued under the document's lock, in the same step that makes the subscription
/// visible to relays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authenticated_comes_first_while_presence_streams() {
    let firm = firm_with(LimitSettings {
        max_connections_per_user: 1_000,
        max_connections_per_address: 1_000,
        ..Default::default()
    })
    .await;
    let server = firm.server();
    let name = draft_name(&new_case()).as_str().to_owned();
    let ada = token("ada", FIRM);
    let (mut typist, _) = open(&ws_url(server), &name, &ada).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let streaming = {
        let (stop, name) = (stop.clone(), name.clone());
        tokio::spawn(async move {
            let mut clock = 1;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let state = format!(r#"{{"user":{{"name":"Ada"}},"cursor":{clock}}}"#);
                send(
                    &mut typist,
                    Frame::new(&name, Message::Awareness(presence(7, clock, &state))),
                )
                .await;
                clock += 1;
            }
            clock
        })
    };
    // Membership changes on another matter, all the while.
    let other = draft_name(&new_case());
    let (_other_socket, _) = open(&ws_url(server), other.as_str(), &ada).await;
    let churning = {
        let (stop, addr, ada) = (stop.clone(), server.addr, ada.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let url = format!("http://{addr}/api/v1/cases/{}/members/ben", other.case_id());
            let mut changes = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let role = if changes % 2 == 0 { "editor" } else { "viewer" };
                let response = client
                    .put(&url)
                    .bearer_auth(&ada)
                    .json(&serde_json::json!({ "role": role }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
                changes += 1;
            }
            changes
        })
    };
    for round in 0..300 {
        let mut observer = connect(&ws_url(server)).await;
        send(&mut observer, token_frame(&name, &ada)).await;
        let first = next(&mut observer).await.unwrap();
        assert!(
            authenticated(&first.message),
            "open {round}: {:?} came before Authenticated",
            first.message
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let sent = streaming.await.unwrap();
    assert!(
        sent > 100,
        "only {sent} presence updates streamed during the opens"
    );
    let changes = churning.await.unwrap();
    assert!(
        changes > 10,
        "only {changes} membership changes during the opens"
    );
}

/// An update that decodes but cannot be integrated: an item whose parent is a string item.
fn poison_update(parent_client: u64) -> Vec<u8> {
    let mut writer = protocol::Writer::with_capacity(32);
    writer.write_var_uint(1); // one client's structs
    writer.write_var_uint(1); // one struct
    writer.write_var_uint(parent_client + 1); // client
    writer.write_var_uint(0); // clock
    writer.write_u8(4); // info: string content, no origins, no parent sub
    writer.write_var_uint(0); // parent is an item id...
    writer.write_var_uint(parent_client); // ...of the string item written below
    writer.write_var_uint(0);
    writer.write_var_str("poison");
    writer.write_var_uint(0); // empty delete set
    writer.into_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_update_is_refused_before_it_is_stored_and_the_document_stays_usable() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let ada = token("ada", FIRM);
    let (mut socket, _) = open(&ws_url(server), doc, &ada).await;
    let ydoc = Doc::with_client_id(41);
    let text = ydoc.get_or_insert_text("body");
    let first = {
        let mut txn = ydoc.transact_mut();
        text.insert(&mut txn, 0, "Clause one. ");
        txn.encode_update_v1()
    };
    send(
        &mut socket,
        Frame::new(doc, Message::Sync(SyncMessage::Update(first))),
    )
    .await;
    assert_eq!(
        next(&mut socket).await.unwrap().message,
        Message::SyncStatus(true)
    );
    send(
        &mut socket,
        Frame::new(doc, Message::Sync(SyncMessage::Update(poison_update(41)))),
    )
    .await;
    let answer = next(&mut socket).await;
    assert!(
        !matches!(&answer, Ok(frame) if frame.message == Message::SyncStatus(true)),
        "a poison update was acked: {answer:?}"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM doc_updates")
        .fetch_one(&sqlx::PgPool::connect(&firm.database).await.unwrap())
        .await
        .unwrap();
    assert_eq!(rows, 1, "the poison update was stored");
    // The document still opens and still takes edits, on a new connection.
    let (mut again, answer) = open(&ws_url(server), doc, &ada).await;
    assert!(authenticated(&answer));
    let more = {
        let mut txn = ydoc.transact_mut();
        text.insert(&mut txn, 12, "Clause two.");
        txn.encode_update_v1()
    };
    send(
        &mut again,
        Frame::new(doc, Message::Sync(SyncMessage::Update(more))),
    )
    .await;
    loop {
        if next(&mut again).await.unwrap().message == Message::SyncStatus(true) {
            break;
        }
    }
    assert_eq!(firm.stored_body(&name).await, "Clause one. Clause two.");
}

/// A change that skips clocks of its client: the first update of fuzz seed 4, a GC block of
/// client 6 at clocks 11..15 (yrs 0.28.1 would record 0..11 as a hole, and a later block across
/// its end makes yrs use freed memory; see crates/protocol/tests/hostile_updates.rs). It is
/// refused before yrs sees it and never stored; the document is unchanged, so it is not
/// reloaded and its other subscribers stay connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_change_is_refused_without_disturbing_the_document() {
    let firm = Firm::one_instance().await;
    let server = firm.server();
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let ada = token("ada", FIRM);
    let (mut watcher, _) = open(&ws_url(server), doc, &ada).await;
    let (mut socket, _) = open(&ws_url(server), doc, &ada).await;
    let skips_clocks = vec![1, 1, 6, 11, 0, 4, 0];
    send(
        &mut socket,
        Frame::new(doc, Message::Sync(SyncMessage::Update(skips_clocks))),
    )
    .await;
    let (code, reason) = tokio::time::timeout(WAIT, closed(&mut socket))
        .await
        .unwrap();
    assert_eq!(code, 1002, "{reason}");
    assert_eq!(
        reason,
        "refused update: this change is malformed: it skips clocks 0..11 of client 6, which \
         this document does not have"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM doc_updates")
        .fetch_one(&sqlx::PgPool::connect(&firm.database).await.unwrap())
        .await
        .unwrap();
    assert_eq!(rows, 0, "the malformed change was stored");
    // The other subscriber was not disconnected: its next edit is acked and stored.
    let ydoc = Doc::with_client_id(43);
    let text = ydoc.get_or_insert_text("body");
    let edit = {
        let mut txn = ydoc.transact_mut();
        text.insert(&mut txn, 0, "Clause one.");
        txn.encode_update_v1()
    };
    send(
        &mut watcher,
        Frame::new(doc, Message::Sync(SyncMessage::Update(edit))),
    )
    .await;
    tokio::time::timeout(WAIT, async {
        while next(&mut watcher).await.unwrap().message != Message::SyncStatus(true) {}
    })
    .await
    .unwrap();
    assert_eq!(firm.stored_body(&name).await, "Clause one.");
}

/// Create `name` as `token`'s holder, then give it `rows` stored updates straight in Postgres
/// (a matter on legal hold is never compacted); returns the text they add up to.
async fn long_history(
    db: &str,
    server: &Running,
    name: &local::DocName,
    token: &str,
    rows: usize,
) -> String {
    let (socket, _) = open(&ws_url(server), name.as_str(), token).await;
    drop(socket);
    let ydoc = Doc::with_client_id(7);
    let text = ydoc.get_or_insert_text("body");
    let mut updates = Vec::with_capacity(rows);
    for i in 0..rows {
        let mut txn = ydoc.transact_mut();
        let end = text.len(&txn);
        text.insert(&mut txn, end, if i % 10 == 9 { "x\n" } else { "x" });
        updates.push(txn.encode_update_v1());
    }
    let pool = sqlx::PgPool::connect(db).await.unwrap();
    let doc_id = doc_id(&pool, name.as_str()).await;
    sqlx::query("UPDATE cases SET legal_hold = true WHERE id = $1::uuid")
        .bind(name.case_id().to_string())
        .execute(&pool)
        .await
        .unwrap();
    for chunk in updates.chunks(10_000) {
        sqlx::query(
            "INSERT INTO doc_updates (doc_id, bytes, user_id)
             SELECT $1, b, 'ada' FROM UNNEST($2::bytea[]) AS b",
        )
        .bind(doc_id)
        .bind(chunk)
        .execute(&pool)
        .await
        .unwrap();
    }
    use yrs::GetString;
    text.get_string(&ydoc.transact())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_that_lands_while_the_document_loads_still_applies() {
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let name = draft_name(&new_case());
    let ada = token("ada", FIRM);
    long_history(&db, &server, &name, &ada, 300_000).await;
    grant(&server, &ada, &name, "ben", "editor").await;
    // A server that has not loaded the document: Ben's open reads his role, then spends a while
    // loading 300,000 rows before his subscription is registered. The wall lands in between.
    let fresh = start_server(&db, None).await;
    let mut walled = connect(&ws_url(&fresh)).await;
    send(
        &mut walled,
        Frame::new(
            name.as_str(),
            Message::Auth(AuthMessage::Token {
                token: token("ben", FIRM),
                provider_version: None,
            }),
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let (status, _) = rest(
        &fresh,
        reqwest::Method::PUT,
        &format!("/api/v1/cases/{}/screens/ben", name.case_id()),
        &ada,
        Some(serde_json::json!({"reason": "conflict"})),
    )
    .await;
    assert_eq!(status, 204);
    // Whatever the open answered, nothing of the matter is served after the wall.
    send(
        &mut walled,
        Frame::new(name.as_str(), Message::Sync(SyncMessage::Step1(vec![0]))),
    )
    .await;
    loop {
        match tokio::time::timeout(WAIT, next(&mut walled))
            .await
            .expect("answered")
            .expect("socket open")
            .message
        {
            Message::Sync(SyncMessage::Step2(_) | SyncMessage::Update(_)) => {
                panic!("the walled lawyer read the matter: the wall landed while it loaded")
            }
            message if denial(&message).is_some() => break,
            _ => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_with_100000_stored_rows_opens_on_a_new_device() {
    const ROWS: usize = 100_000;
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let name = draft_name(&new_case());
    let doc = name.as_str();
    let ada = token("ada", FIRM);
    let expected = long_history(&db, &server, &name, &ada, ROWS).await;
    // A server that has not loaded the document yet (as after a restart) serves a new device.
    let fresh_server = start_server(&db, None).await;
    let mut device = connect(&ws_url(&fresh_server)).await;
    assert!(authenticated(&authenticate(&mut device, doc, &ada).await));
    send(
        &mut device,
        Frame::new(doc, Message::Sync(SyncMessage::Step1(vec![0]))),
    )
    .await;
    let received = Doc::new();
    loop {
        let frame = tokio::time::timeout(WAIT, next(&mut device))
            .await
            .expect("the first sync finishes in time")
            .unwrap_or_else(|close| panic!("the server closed the first sync: {close:?}"));
        match frame.message {
            Message::Sync(SyncMessage::Step2(bytes) | SyncMessage::Update(bytes)) => {
                use yrs::updates::decoder::Decode;
                received
                    .transact_mut()
                    .apply_update(yrs::Update::decode_v1(&bytes).unwrap())
                    .unwrap();
            }
            Message::Sync(SyncMessage::Step1(_)) => break,
            _ => {}
        }
    }
    use yrs::GetString;
    let got = received
        .get_or_insert_text("body")
        .get_string(&received.transact());
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_document_yrs_cannot_integrate_stops_neither_backups_nor_other_documents() {
    let db = fresh_database().await;
    let server = start_server(&db, None).await;
    let ada = token("ada", FIRM);
    let (bad, good) = (draft_name(&new_case()), draft_name(&new_case()));
    for (name, text) in [(&bad, "Clause one. "), (&good, "Other matter.")] {
        let (mut socket, _) = open(&ws_url(&server), name.as_str(), &ada).await;
        let ydoc = Doc::with_client_id(41);
        let update = {
            let body = ydoc.get_or_insert_text("body");
            let mut txn = ydoc.transact_mut();
            body.insert(&mut txn, 0, text);
            txn.encode_update_v1()
        };
        send(
            &mut socket,
            Frame::new(name.as_str(), Message::Sync(SyncMessage::Update(update))),
        )
        .await;
        assert_eq!(
            next(&mut socket).await.unwrap().message,
            Message::SyncStatus(true)
        );
    }
    // A row an older version stored without checking: it decodes, but yrs cannot integrate it.
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    sqlx::query(
        "INSERT INTO doc_updates (doc_id, bytes, user_id)
         SELECT id, $2, 'ada' FROM documents WHERE name = $1",
    )
    .bind(bad.as_str())
    .bind(poison_update(41))
    .execute(&pool)
    .await
    .unwrap();
    // The backup goes on past it, names it, and its restore verifies.
    let dir = tempfile::tempdir().unwrap();
    let marker = sync_server::backup::backup(&db, dir.path())
        .await
        .expect("one bad document does not stop the backup");
    let written = sync_server::backup::read_marker(&marker).unwrap();
    assert_eq!(written.documents, 2);
    let restored_url = format!(
        "{}/hub_restore_{}",
        postgres_base(),
        uuid::Uuid::new_v4().simple()
    );
    sync_server::backup::restore(&dir.path().join(&written.archive), &restored_url, true)
        .await
        .expect("the restore of a backup with a bad document verifies");
    // A server that loads it fresh still serves both documents, the good one whole.
    let fresh = start_server(&db, None).await;
    for (name, text) in [(&bad, "Clause one. "), (&good, "Other matter.")] {
        let mut device = connect(&ws_url(&fresh)).await;
        assert!(authenticated(
            &authenticate(&mut device, name.as_str(), &ada).await
        ));
        send(
            &mut device,
            Frame::new(name.as_str(), Message::Sync(SyncMessage::Step1(vec![0]))),
        )
        .await;
        let received = Doc::new();
        loop {
            match next(&mut device).await.unwrap().message {
                Message::Sync(SyncMessage::Step2(bytes) | SyncMessage::Update(bytes)) => {
                    use yrs::updates::decoder::Decode;
                    let _ = received
                        .transact_mut()
                        .apply_update(yrs::Update::decode_v1(&bytes).unwrap());
                }
                Message::Sync(SyncMessage::Step1(_)) => break,
                _ => {}
            }
        }
        use yrs::GetString;
        let got = received
            .get_or_insert_text("body")
            .get_string(&received.transact());
        assert!(got.contains(text), "{name}: {got:?}");
    }
}
