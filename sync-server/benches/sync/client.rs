//! The simulated lawyer: a Yjs editor on a raw protocol connection (`tests/common/raw.rs`),
//! its tokens and document names, and the latency histograms every scenario records into.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use protocol::{AuthMessage, Frame, Message, SyncMessage};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Text, TextRef, Transact};

use crate::raw::{self, Received, Socket};

/// The development secret `sync-server serve --dev-auth` uses by default.
const DEV_SECRET: &str = "lawyers-hub-local-development-only";
/// Upper bound for any single wait on a server (connect, handshake, reply).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections opened concurrently while building up load.
const CONNECT_PARALLELISM: usize = 32;

pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

pub fn dev_token(user: &str, firm: &str) -> String {
    sync_server::auth::DevAuth::new(DEV_SECRET)
        .mint(user, firm, 24 * 3600)
        .expect("minting a dev token")
}

/// A development token of a firm administrator (reads `/api/v1/stats`).
pub fn dev_admin_token(user: &str, firm: &str) -> String {
    sync_server::auth::DevAuth::new(DEV_SECRET)
        .mint_with_role(user, firm, Some("admin"), 24 * 3600)
        .expect("minting a dev token")
}

pub fn new_doc_name() -> String {
    format!("cases/{}", uuid::Uuid::new_v4())
}

pub fn ws_frame(doc: &str, message: Message) -> WsMessage {
    raw::binary(&Frame::new(doc, message))
}

pub fn auth_frame(doc: &str, token: &str) -> WsMessage {
    raw::binary(&raw::token_frame(doc, token))
}

pub async fn connect(url: &str) -> anyhow::Result<Socket> {
    tokio::time::timeout(STEP_TIMEOUT, raw::try_connect(url))
        .await
        .context("connect timed out")?
        .with_context(|| format!("cannot connect to {url}"))
}

/// The next protocol frame; answers keep-alive pings on the way. `None` when the server closed.
pub async fn next_frame(ws: &mut Socket) -> anyhow::Result<Option<Frame>> {
    match raw::receive(ws).await {
        Err(error) => bail!("websocket error: {error}"),
        Ok(Received::Frame(frame)) => Ok(Some(frame)),
        Ok(Received::Closed(None)) => Ok(None),
        Ok(Received::Closed(Some((code, reason)))) => {
            bail!("server closed the connection: {code} {reason}")
        }
        Ok(Received::Undecodable(error)) => bail!("undecodable frame from the server: {error}"),
    }
}

pub async fn expect_frame(ws: &mut Socket) -> anyhow::Result<Frame> {
    tokio::time::timeout(STEP_TIMEOUT, next_frame(ws))
        .await
        .context("no answer from the server in time")??
        .context("the server closed the connection")
}

/// A simulated editor: its own Yjs document with one Y.Text.
pub struct Editor {
    pub doc: Doc,
    pub text: TextRef,
}

impl Editor {
    pub fn new() -> Self {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("body");
        Self { doc, text }
    }

    /// Append `chunk` in one transaction and return that transaction's v1 update.
    pub fn type_text(&self, chunk: &str) -> Vec<u8> {
        let mut txn = self.doc.transact_mut();
        let len = self.text.len(&txn);
        self.text.insert(&mut txn, len, chunk);
        txn.encode_update_v1()
    }

    pub fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }

    /// The answer to a server SyncStep1.
    pub fn step2_for(&self, state_vector: &[u8]) -> Vec<u8> {
        let remote = StateVector::decode_v1(state_vector).unwrap_or_default();
        self.doc.transact().encode_state_as_update_v1(&remote)
    }
}

/// If `message` is a server SyncStep1, the Step2 that answers it (which the server acks).
pub fn answer_step1(doc: &str, message: &Message, editor: Option<&Editor>) -> Option<WsMessage> {
    match message {
        Message::Sync(SyncMessage::Step1(sv)) | Message::SyncReply(SyncMessage::Step1(sv)) => {
            let update = editor.map_or_else(|| vec![0, 0], |editor| editor.step2_for(sv));
            Some(ws_frame(doc, Message::Sync(SyncMessage::Step2(update))))
        }
        _ => None,
    }
}

/// Authenticate `doc` and sync it (Auth → Authenticated, Step1 → Step2). Returns how many Step2
/// answers we sent to server Step1s so far: each of those will be acked like an update.
pub async fn open_doc(
    ws: &mut Socket,
    doc: &str,
    token: &str,
    editor: Option<&Editor>,
) -> anyhow::Result<usize> {
    ws.send(auth_frame(doc, token)).await?;
    loop {
        let frame = expect_frame(ws).await?;
        match frame.message {
            Message::Auth(AuthMessage::Authenticated { .. }) => break,
            Message::Auth(AuthMessage::PermissionDenied { reason }) => {
                bail!("permission denied on {doc}: {reason}")
            }
            _ => {}
        }
    }
    let sv = editor.map_or_else(|| vec![0], Editor::state_vector);
    ws.send(ws_frame(doc, Message::Sync(SyncMessage::Step1(sv))))
        .await?;
    let mut answered = 0;
    let mut acks = 0;
    loop {
        let frame = expect_frame(ws).await?;
        if let Some(reply) = answer_step1(doc, &frame.message, editor) {
            ws.send(reply).await?;
            answered += 1;
        }
        match frame.message {
            Message::Sync(SyncMessage::Step2(_)) | Message::SyncReply(SyncMessage::Step2(_)) => {
                break;
            }
            Message::SyncStatus(_) => acks += 1,
            _ => {}
        }
    }
    Ok(answered - acks.min(answered))
}

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds are valid")
}

pub fn ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

pub fn micros_since(instant: Instant) -> u64 {
    instant.elapsed().as_micros().min(u128::from(u64::MAX)) as u64
}

/// `count` read-only clients with `doc` open (authenticated and synced).
pub async fn open_readers(
    count: usize,
    url: &str,
    doc: &str,
    token: &str,
) -> anyhow::Result<Vec<Socket>> {
    open_many(count, |_| async move {
        let mut ws = connect(url).await?;
        open_doc(&mut ws, doc, token, None).await?;
        anyhow::Ok(ws)
    })
    .await
}

/// Open many connections with bounded parallelism.
pub async fn open_many<T, F, Fut>(count: usize, open: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    futures_util::stream::iter((0..count).map(open))
        .buffer_unordered(CONNECT_PARALLELISM)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}
