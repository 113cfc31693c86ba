//! Sync client tests against a tiny in-test server that speaks the same protocol as
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
//! sync-server (auth, y-sync with SyncStatus acks, catch-up on `$hub`, pings). The real
//! end-to-end tests against sync-server live in `sync-server/tests`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hub_local::{
    CaseId, DocName, FixedKey, StaticToken, Store, SyncClient, SyncConfig, SyncEvent, SyncHandle,
    SyncState,
};
use protocol::{
    AuthMessage, ChangesField, Frame, HUB_CHANNEL, HubMessage, Message, SyncMessage, Wire,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{GetString, ReadTxn, StateVector, Text, Transact, Update, WriteTxn};

const CASE: &str = "0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b";
const DENIED_CASE: &str = "dddddddd-2c1d-4e3f-9a8b-7c6d5e4f3a2b";
const WAIT: Duration = Duration::from_secs(20);
/// An unsigned JWT for ada at firm-test: the client reads the account from its claims (the
/// store is bound to it); this server checks only that it is sent.
const TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEiLCJvcmdfaWQiOiJmaXJtLXRlc3QifQ.unsigned";

fn doc(n: u32) -> DocName {
    DocName::draft(
        &CaseId::parse(CASE).unwrap(),
        &format!("{n:08x}-0000-4000-8000-000000000000"),
    )
    .unwrap()
}

#[derive(Default)]
struct ServerState {
    docs: HashMap<String, yrs::Doc>,
    /// doc -> sequence number of its last change
    changed: HashMap<String, i64>,
    seq: i64,
    connections: Vec<(UnboundedSender<Wire>, Vec<String>)>,
    updates_received: usize,
    /// Bumped to drop every open connection (a watch remembers the change even if a
    /// connection task is busy at that moment, unlike `Notify::notify_waiters`).
    kick: Arc<tokio::sync::watch::Sender<u64>>,
    /// Last awareness update per doc, answered to QueryAwareness.
    awareness: HashMap<String, Vec<u8>>,
}

type Shared = Arc<Mutex<ServerState>>;

fn send(tx: &UnboundedSender<Wire>, doc: &str, message: Message) {
    let _ = tx.send(Wire::Frame(Frame::new(doc, message)));
}

fn server_apply(state: &Shared, from: usize, name: &str, update: &[u8]) {
    let mut state = state.lock().unwrap();
    if update == [0, 0] {
        return;
    }
    let server_doc = state.docs.entry(name.to_owned()).or_default();
    server_doc
        .transact_mut()
        .apply_update(Update::decode_v1(update).unwrap())
        .unwrap();
    state.seq += 1;
    state.updates_received += 1;
    let seq = state.seq;
    state.changed.insert(name.to_owned(), seq);
    for (index, (tx, subscribed)) in state.connections.iter().enumerate() {
        if index != from && subscribed.iter().any(|doc| doc == name) {
            send(
                tx,
                name,
                Message::Sync(SyncMessage::Update(update.to_vec())),
            );
        }
        if index != from && subscribed.iter().any(|doc| doc == HUB_CHANNEL) {
            send(
                tx,
                HUB_CHANNEL,
                Message::Stateless(
                    HubMessage::Changed {
                        cursor: seq,
                        docs: vec![name.into()],
                    }
                    .to_json(),
                ),
            );
        }
    }
}

async fn serve(state: Shared, listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            let (mut sink, mut source) = socket.split();
            let (tx, mut rx) = unbounded_channel::<Wire>();
            let index = {
                let mut state = state.lock().unwrap();
                state.connections.push((tx.clone(), Vec::new()));
                state.connections.len() - 1
            };
            let _ = tx.send(Wire::Ping);
            let mut kick = state.lock().unwrap().kick.subscribe();
            loop {
                tokio::select! {
                    _ = kick.changed() => break,
                    out = rx.recv() => {
                        let Some(out) = out else { break };
                        if sink.send(WsMessage::Binary(out.encode().into())).await.is_err() { break }
                    }
                    incoming = source.next() => {
                        let Some(Ok(WsMessage::Binary(bytes))) = incoming else { break };
                        let Wire::Frame(frame) = Wire::decode(&bytes).unwrap() else { continue };
                        let name = frame.document_name().to_owned();
                        match frame.message {
                            Message::Auth(AuthMessage::Token { token, .. }) => {
                                assert_eq!(token, TOKEN);
                                if name.contains(DENIED_CASE) {
                                    send(&tx, &name, Message::Auth(AuthMessage::PermissionDenied { reason: "screened".into() }));
                                } else {
                                    state.lock().unwrap().connections[index].1.push(name.clone());
                                    send(&tx, &name, Message::Auth(AuthMessage::Authenticated { scope: "read-write".into() }));
                                }
                            }
                            _ if !state.lock().unwrap().connections[index].1.contains(&name) => {}
                            Message::Sync(SyncMessage::Step1(sv)) => {
                                let mut guard = state.lock().unwrap();
                                let server_doc = guard.docs.entry(name.clone()).or_default();
                                let txn = server_doc.transact();
                                let diff = txn.encode_diff_v1(&StateVector::decode_v1(&sv).unwrap());
                                let server_sv = txn.state_vector().encode_v1();
                                send(&tx, &name, Message::Sync(SyncMessage::Step2(diff)));
                                send(&tx, &name, Message::Sync(SyncMessage::Step1(server_sv)));
                            }
                            Message::Sync(SyncMessage::Step2(update) | SyncMessage::Update(update)) => {
                                server_apply(&state, index, &name, &update);
                                send(&tx, &name, Message::SyncStatus(true));
                            }
                            Message::QueryAwareness => {
                                if let Some(bytes) = state.lock().unwrap().awareness.get(&name) {
                                    send(&tx, &name, Message::Awareness(bytes.clone()));
                                }
                            }
                            Message::Awareness(bytes) => {
                                let mut guard = state.lock().unwrap();
                                guard.awareness.insert(name.clone(), bytes.clone());
                                for (other, (peer, subscribed)) in guard.connections.iter().enumerate() {
                                    if other != index && subscribed.contains(&name) {
                                        send(peer, &name, Message::Awareness(bytes.clone()));
                                    }
                                }
                            }
                            Message::Stateless(text) => {
                                let HubMessage::Changes(ChangesField::Request(request)) = HubMessage::parse(&text).unwrap() else { continue };
                                let guard = state.lock().unwrap();
                                let docs = guard.changed.iter().filter(|(_, seq)| **seq > request.since).map(|(doc, _)| doc.clone()).collect();
                                send(&tx, HUB_CHANNEL, Message::Stateless(HubMessage::reply(guard.seq, docs, false).to_json()));
                            }
                            _ => {}
                        }
                    }
                }
            }
        });
    }
}

async fn start_server() -> (Shared, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/api/v1/sync", listener.local_addr().unwrap());
    let state = Shared::default();
    tokio::spawn(serve(state.clone(), listener));
    (state, url)
}

fn server_text(state: &Shared, name: &DocName) -> String {
    let state = state.lock().unwrap();
    let Some(doc) = state.docs.get(name.as_str()) else {
        return String::new();
    };
    let txn = doc.transact();
    txn.get_text("body")
        .map(|text| text.get_string(&txn))
        .unwrap_or_default()
}

fn open_store(dir: &tempfile::TempDir, file: &str) -> Arc<Store> {
    Arc::new(Store::open(&dir.path().join(file), &FixedKey("k".into())).unwrap())
}

fn start(store: &Arc<Store>, url: &str) -> (SyncHandle, UnboundedReceiver<SyncEvent>) {
    SyncClient::start(
        store.clone(),
        SyncConfig {
            url: url.into(),
            token: Arc::new(StaticToken(TOKEN.into())),
            min_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
        },
    )
}

async fn wait_for(
    events: &mut UnboundedReceiver<SyncEvent>,
    what: impl Fn(&SyncEvent) -> bool,
) -> SyncEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("client stopped");
            if what(&event) {
                return event;
            }
        }
    })
    .await
    .expect("timed out waiting for a sync event")
}

async fn wait_synced(events: &mut UnboundedReceiver<SyncEvent>) {
    wait_for(events, |event| {
        matches!(event, SyncEvent::State(SyncState::Synced))
    })
    .await;
}

fn type_text(store: &Store, name: &DocName, text: &str) {
    store
        .edit(name, |_, txn| {
            let body = txn.get_or_insert_text("body");
            let len = body.len(txn);
            body.insert(txn, len, text);
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_reach_the_other_client_and_get_acked() {
    let (server, url) = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open_store(&dir, "a.db"), open_store(&dir, "b.db"));
    let (handle_a, mut events_a) = start(&a, &url);
    let (handle_b, mut events_b) = start(&b, &url);
    handle_a.open(doc(1));
    handle_b.open(doc(1));
    wait_synced(&mut events_a).await;
    wait_synced(&mut events_b).await;

    type_text(&a, &doc(1), "Motion to dismiss");
    let event = wait_for(&mut events_b, |event| {
        matches!(event, SyncEvent::RemoteUpdate { .. })
    })
    .await;
    assert!(matches!(event, SyncEvent::RemoteUpdate { doc: d, .. } if d == doc(1)));
    assert_eq!(b.text(&doc(1), "body").unwrap(), "Motion to dismiss");
    assert_eq!(b.pending_count().unwrap(), 0);
    wait_synced(&mut events_a).await;
    assert_eq!(
        a.pending_count().unwrap(),
        0,
        "acked entries leave the outbox"
    );
    assert_eq!(server_text(&server, &doc(1)), "Motion to dismiss");
    handle_a.shutdown().await;
    handle_b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_are_sent_when_back_online() {
    let (server, url) = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir, "a.db");
    let (handle, mut events) = start(&store, &url);
    wait_synced(&mut events).await;
    handle.go_offline();
    wait_for(&mut events, |event| {
        matches!(event, SyncEvent::State(SyncState::Offline))
    })
    .await;
    for word in ["one ", "two ", "three"] {
        type_text(&store, &doc(2), word);
    }
    assert_eq!(store.pending_count().unwrap(), 3);
    handle.go_online();
    wait_for(&mut events, |event| {
        matches!(event, SyncEvent::State(SyncState::Connecting))
    })
    .await;
    wait_synced(&mut events).await;
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(server_text(&server, &doc(2)), "one two three");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_catches_up_only_changed_docs_and_stores_the_cursor() {
    let (server, url) = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open_store(&dir, "a.db"), open_store(&dir, "b.db"));
    // A writes to two docs B never opened.
    let (handle_a, mut events_a) = start(&a, &url);
    type_text(&a, &doc(3), "alpha");
    type_text(&a, &doc(4), "beta");
    wait_for(&mut events_a, |_| a.pending_count().unwrap() == 0).await;
    handle_a.shutdown().await;

    let (handle_b, mut events_b) = start(&b, &url);
    wait_synced(&mut events_b).await;
    assert_eq!(b.text(&doc(3), "body").unwrap(), "alpha");
    assert_eq!(b.text(&doc(4), "body").unwrap(), "beta");
    let cursor = b.cursor().unwrap();
    assert_eq!(cursor, server.lock().unwrap().seq);
    assert!(cursor > 0);
    handle_b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_docs_keep_their_outbox() {
    let (_server, url) = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir, "a.db");
    let denied = DocName::case(&CaseId::parse(DENIED_CASE).unwrap());
    // Signed in before writing (a matter written before any sign-in would stay local-only).
    store
        .bind_account(&hub_local::Account::of_token(&url, TOKEN).unwrap())
        .unwrap();
    type_text(&store, &denied, "walled off");
    let (handle, mut events) = start(&store, &url);
    let event = wait_for(&mut events, |event| {
        matches!(event, SyncEvent::Denied { .. })
    })
    .await;
    assert_eq!(
        event,
        SyncEvent::Denied {
            doc: denied.clone(),
            reason: "screened".into()
        }
    );
    wait_synced(&mut events).await;
    assert_eq!(store.pending_count().unwrap(), 1);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_with_backoff_when_the_server_drops_us() {
    let (server, url) = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(&dir, "a.db");
    let (handle, mut events) = start(&store, &url);
    handle.open(doc(5));
    wait_synced(&mut events).await;
    // Drop every server-side connection.
    let kick = server.lock().unwrap().kick.clone();
    kick.send_modify(|generation| *generation += 1);
    wait_for(&mut events, |event| {
        matches!(event, SyncEvent::State(SyncState::Offline))
    })
    .await;
    type_text(&store, &doc(5), "after the drop");
    wait_for(&mut events, |_| {
        server_text(&server, &doc(5)) == "after the drop"
    })
    .await;
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awareness_reaches_the_other_client() {
    let (_server, url) = start_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (open_store(&dir, "a.db"), open_store(&dir, "b.db"));
    let (handle_a, mut events_a) = start(&a, &url);
    let (handle_b, mut events_b) = start(&b, &url);
    handle_b.open(doc(6));
    wait_synced(&mut events_b).await;
    handle_a.set_awareness(&doc(6), r#"{"user":{"name":"Ada"}}"#.into());
    wait_synced(&mut events_a).await;
    let event = wait_for(&mut events_b, |event| {
        matches!(event, SyncEvent::Awareness { .. })
    })
    .await;
    let SyncEvent::Awareness { doc: name, states } = event else {
        unreachable!()
    };
    assert_eq!(name, doc(6));
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].state, r#"{"user":{"name":"Ada"}}"#);
    assert!(states[0].clock >= 1);
    handle_a.shutdown().await;
    let event = wait_for(&mut events_b, |event| {
        matches!(event, SyncEvent::Awareness { .. })
    })
    .await;
    let SyncEvent::Awareness { states, .. } = event else {
        unreachable!()
    };
    assert!(states[0].is_removal(), "shutdown says goodbye");
    handle_b.shutdown().await;
}

#[test]
fn store_and_handle_are_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<SyncHandle>();
    assert_send_sync::<SyncConfig>();
}
