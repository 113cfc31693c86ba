//! The bare relay (runs in its own process: `sync --serve-relay PORT`): the same protocol with
//! no document logic, the floor every server is compared with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use protocol::{AuthMessage, Frame, Message, SyncMessage, Wire};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A room: its subscribers, and every update sent into it, as received (so a joining client
/// gets the document without the relay knowing what a document is).
#[derive(Default)]
pub struct Room {
    peers: Vec<(u64, mpsc::UnboundedSender<Bytes>)>,
    updates: Vec<Vec<u8>>,
}
pub type RoomMap = HashMap<String, Room>;
pub type Rooms = Arc<Mutex<RoomMap>>;

pub fn lock(rooms: &Rooms) -> std::sync::MutexGuard<'_, RoomMap> {
    rooms
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn serve(port: u16) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let rooms: Rooms = Arc::default();
        let mut next_id = 0u64;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            next_id += 1;
            tokio::spawn(relay_connection(stream, rooms.clone(), next_id));
        }
    })
}

/// No document logic: Auth → Authenticated, Step1 → an empty Step2 followed by every update the
/// room has seen (as Update frames) and the relay's own Step1 (empty state vector), every
/// Step2/Update acked at once, every Update forwarded as received to the other subscribers of
/// the same name and kept for later joiners.
pub async fn relay_connection(stream: TcpStream, rooms: Rooms, id: u64) {
    // The same buffer sizes as our server's upgrade, so idle memory compares like for like.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    let writer = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut next = Some(first);
            while let Some(bytes) = next.take() {
                if sink.feed(WsMessage::Binary(bytes)).await.is_err() {
                    return;
                }
                next = rx.try_recv().ok();
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let mut joined: Vec<String> = Vec::new();
    while let Some(Ok(message)) = source.next().await {
        let bytes = match message {
            WsMessage::Binary(bytes) => bytes,
            WsMessage::Close(_) => break,
            _ => continue,
        };
        let Ok(wire) = Wire::decode(&bytes) else {
            break;
        };
        let frame = match wire {
            Wire::Ping => {
                let _ = tx.send(Bytes::from(Wire::Pong.encode()));
                continue;
            }
            Wire::Pong => continue,
            Wire::Frame(frame) => frame,
        };
        let reply = |message| Bytes::from(Frame::new(frame.doc.as_str(), message).encode());
        match &frame.message {
            Message::Auth(AuthMessage::Token { .. }) => {
                if !joined.contains(&frame.doc) {
                    lock(&rooms)
                        .entry(frame.doc.clone())
                        .or_default()
                        .peers
                        .push((id, tx.clone()));
                    joined.push(frame.doc.clone());
                }
                let _ = tx.send(reply(Message::Auth(AuthMessage::Authenticated {
                    scope: "read-write".into(),
                })));
            }
            Message::Sync(SyncMessage::Step1(_)) | Message::SyncReply(SyncMessage::Step1(_)) => {
                let _ = tx.send(reply(Message::Sync(SyncMessage::Step2(vec![0, 0]))));
                let updates: Vec<Bytes> = lock(&rooms)
                    .get(&frame.doc)
                    .map(|room| {
                        room.updates
                            .iter()
                            .map(|update| reply(Message::Sync(SyncMessage::Update(update.clone()))))
                            .collect()
                    })
                    .unwrap_or_default();
                for update in updates {
                    let _ = tx.send(update);
                }
                if matches!(frame.message, Message::Sync(_)) {
                    let _ = tx.send(reply(Message::Sync(SyncMessage::Step1(vec![0]))));
                }
            }
            Message::Sync(SyncMessage::Step2(_)) | Message::SyncReply(SyncMessage::Step2(_)) => {
                let _ = tx.send(reply(Message::SyncStatus(true)));
            }
            Message::Sync(SyncMessage::Update(update))
            | Message::SyncReply(SyncMessage::Update(update)) => {
                let _ = tx.send(reply(Message::SyncStatus(true)));
                if let Some(room) = lock(&rooms).get_mut(&frame.doc) {
                    room.updates.push(update.clone());
                    for (peer, sender) in &room.peers {
                        if *peer != id {
                            let _ = sender.send(bytes.clone());
                        }
                    }
                }
            }
            // Presence goes to everyone else, as received.
            Message::Awareness(_) => {
                if let Some(room) = lock(&rooms).get(&frame.doc) {
                    for (peer, sender) in &room.peers {
                        if *peer != id {
                            let _ = sender.send(bytes.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    {
        let mut rooms = lock(&rooms);
        for name in joined {
            if let Some(room) = rooms.get_mut(&name) {
                room.peers.retain(|(peer, _)| *peer != id);
                if room.peers.is_empty() {
                    rooms.remove(&name);
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}
