//! An OpenAI-compatible Chat Completions endpoint for tests and the benchmark, speaking the
//! real wire format over plain HTTP/1.1 on a loopback port: `POST /v1/chat/completions` with
//! `stream: true` answers `text/event-stream`, chunked, one `data: {chunk}` event per
//! `chat.completion.chunk` (role first, then content deltas, then `finish_reason`), the usage
//! chunk (`choices: []`) when `stream_options.include_usage` is set, then `data: [DONE]`;
//! errors are OpenAI's `{"error": {message, type, param, code}}` bodies.
//!
//! It is a raw socket server rather than a framework so that it can do what a real endpoint
//! does when things go wrong (stall, cut the connection mid-chunk) and record the exact moment
//! its client closed the connection.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a streamed answer ends after its pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `finish_reason: "stop"`, the usage chunk if asked for, `data: [DONE]`.
    Done,
    /// Nothing more is sent; the connection stays open until the client closes it.
    Stall,
    /// The connection is cut without ending the chunked body.
    Disconnect,
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Stream {
        pieces: Vec<String>,
        /// Pause before each piece.
        delay: Duration,
        end: End,
        prompt_tokens: u32,
    },
    /// An HTTP error with OpenAI's error body. `{key}` in `message` is replaced by the bearer
    /// token the request carried (real endpoints echo keys in some errors).
    Error {
        status: u16,
        message: String,
        kind: String,
        code: Option<String>,
    },
}

impl Reply {
    pub fn stream(pieces: &[&str]) -> Self {
        Reply::Stream {
            pieces: pieces.iter().map(|piece| piece.to_string()).collect(),
            delay: Duration::ZERO,
            end: End::Done,
            prompt_tokens: 57,
        }
    }

    pub fn stream_with(pieces: &[&str], delay: Duration, end: End) -> Self {
        Reply::Stream {
            pieces: pieces.iter().map(|piece| piece.to_string()).collect(),
            delay,
            end,
            prompt_tokens: 57,
        }
    }

    pub fn rate_limited() -> Self {
        Reply::Error {
            status: 429,
            message: "Rate limit reached for gpt-4o in organization org-test on requests per min \
                      (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms."
                .into(),
            kind: "requests".into(),
            code: Some("rate_limit_exceeded".into()),
        }
    }

    pub fn insufficient_quota() -> Self {
        Reply::Error {
            status: 429,
            message: "You exceeded your current quota, please check your plan and billing details."
                .into(),
            kind: "insufficient_quota".into(),
            code: Some("insufficient_quota".into()),
        }
    }

    pub fn server_error() -> Self {
        Reply::Error {
            status: 500,
            message: "The server had an error while processing your request. Sorry about that!"
                .into(),
            kind: "server_error".into(),
            code: None,
        }
    }

    /// 401 echoing the key it was sent, as OpenAI's "Incorrect API key provided: …" does.
    pub fn bad_key() -> Self {
        Reply::Error {
            status: 401,
            message: "Incorrect API key provided: {key}. You can find your API key at \
                      https://platform.openai.com/account/api-keys."
                .into(),
            kind: "invalid_request_error".into(),
            code: Some("invalid_api_key".into()),
        }
    }
}

/// A request the stand-in received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub connection: u64,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
    pub at: Instant,
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    fallback: Mutex<Option<Reply>>,
    seen: Mutex<Vec<Seen>>,
    /// (connection, when the client closed it).
    closed: Mutex<Vec<(u64, Instant)>>,
    changed: tokio::sync::Notify,
    next_connection: AtomicU64,
}

#[derive(Clone)]
pub struct StandIn {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl StandIn {
    /// Listen on a loopback port; answers `Reply::stream(["Hello", " world"])` until scripted.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        *shared.fallback.lock().unwrap() = Some(Reply::stream(&["Hello", " world"]));
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                let shared = accepting.clone();
                let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move { serve(socket, id, shared).await });
            }
        });
        Self { addr, shared }
    }

    /// The base URL to configure (`…/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Answer the next requests with these replies, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().unwrap().extend(replies);
    }

    /// What to answer once the script is used up.
    pub fn otherwise(&self, reply: Reply) {
        *self.shared.fallback.lock().unwrap() = Some(reply);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn requests(&self) -> usize {
        self.shared.seen.lock().unwrap().len()
    }

    /// When the client closed `connection`, if it has.
    pub fn closed_at(&self, connection: u64) -> Option<Instant> {
        self.shared
            .closed
            .lock()
            .unwrap()
            .iter()
            .find(|(id, _)| *id == connection)
            .map(|(_, at)| *at)
    }

    /// Wait until the client closes `connection`.
    pub async fn wait_closed(&self, connection: u64, timeout: Duration) -> Option<Instant> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            if let Some(at) = self.closed_at(connection) {
                return Some(at);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Wait until `count` requests have arrived.
    pub async fn wait_requests(&self, count: usize, timeout: Duration) -> Vec<Seen> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            let seen = self.seen();
            if seen.len() >= count {
                return seen;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("the stand-in got {} requests, expected {count}", seen.len());
            }
        }
    }

    fn next_reply(&self) -> Reply {
        self.shared
            .script
            .lock()
            .unwrap()
            .pop_front()
            .or_else(|| self.shared.fallback.lock().unwrap().clone())
            .unwrap()
    }
}

fn note_closed(shared: &Shared, connection: u64) {
    shared
        .closed
        .lock()
        .unwrap()
        .push((connection, Instant::now()));
    shared.changed.notify_waiters();
}

/// One keep-alive connection: requests one after another.
async fn serve(mut socket: TcpStream, connection: u64, shared: Arc<Shared>) {
    let standin = StandIn {
        addr: socket.local_addr().unwrap(),
        shared: shared.clone(),
    };
    let mut buffer = Vec::new();
    loop {
        let Some((path, headers, body)) = read_request(&mut socket, &mut buffer).await else {
            note_closed(&shared, connection);
            return;
        };
        let authorization = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .map(|(_, value)| value.clone());
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        shared.seen.lock().unwrap().push(Seen {
            connection,
            path: path.clone(),
            authorization: authorization.clone(),
            body: body.clone(),
            at: Instant::now(),
        });
        shared.changed.notify_waiters();
        let reply = if path.ends_with("/chat/completions") {
            standin.next_reply()
        } else {
            Reply::Error {
                status: 404,
                message: format!("Unknown request URL: POST {path}"),
                kind: "invalid_request_error".into(),
                code: Some("unknown_url".into()),
            }
        };
        let keep_going = match reply {
            Reply::Error {
                status,
                message,
                kind,
                code,
            } => {
                let key = authorization
                    .as_deref()
                    .and_then(|value| value.strip_prefix("Bearer "))
                    .unwrap_or("");
                let error = json!({"error": {
                    "message": message.replace("{key}", key),
                    "type": kind,
                    "param": null,
                    "code": code,
                }})
                .to_string();
                let head = format!(
                    "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    reason(status),
                    error.len()
                );
                socket.write_all(head.as_bytes()).await.is_ok()
                    && socket.write_all(error.as_bytes()).await.is_ok()
            }
            Reply::Stream {
                pieces,
                delay,
                end,
                prompt_tokens,
            } => {
                stream(
                    &mut socket,
                    &body,
                    &pieces,
                    delay,
                    end,
                    prompt_tokens,
                    &shared,
                    connection,
                )
                .await
            }
        };
        if !keep_going {
            return;
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Error",
    }
}

/// Read one request: (path, headers, body). `None` when the client closed the connection.
async fn read_request(
    socket: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break at;
        }
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?;
    let path = request_line.split(' ').nth(1)?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = buffer[body_start..body_start + length].to_vec();
    buffer.drain(..body_start + length);
    Some((path, headers, body))
}

/// A chunk exactly as OpenAI sends it (`usage: null` on every chunk when usage was asked for).
fn chunk(id: &str, model: &str, created: u64, choices: Value, usage: Option<Value>) -> String {
    let mut chunk = json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": "fp_standin01",
        "choices": choices,
    });
    if let Some(usage) = usage {
        chunk["usage"] = usage;
    }
    chunk["obfuscation"] = json!("x1");
    chunk.to_string()
}

#[allow(clippy::too_many_arguments)]
async fn stream(
    socket: &mut TcpStream,
    request: &Value,
    pieces: &[String],
    delay: Duration,
    end: End,
    prompt_tokens: u32,
    shared: &Shared,
    connection: u64,
) -> bool {
    let include_usage = request["stream_options"]["include_usage"] == json!(true);
    let model = match request["model"].as_str() {
        Some("gpt-4o") => "gpt-4o-2024-08-06".to_owned(),
        Some(other) => other.to_owned(),
        None => "unknown".to_owned(),
    };
    let id = format!("chatcmpl-standin{connection:08}");
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let null_usage = include_usage.then_some(Value::Null);
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n\
                transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n";
    if socket.write_all(head.as_bytes()).await.is_err() {
        note_closed(shared, connection);
        return false;
    }
    let mut events = vec![chunk(
        &id,
        &model,
        created,
        json!([{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": null},
                "logprobs": null, "finish_reason": null}]),
        null_usage.clone(),
    )];
    for piece in pieces {
        events.push(chunk(
            &id,
            &model,
            created,
            json!([{"index": 0, "delta": {"content": piece}, "logprobs": null, "finish_reason": null}]),
            null_usage.clone(),
        ));
    }
    // The role chunk goes at once; each content piece after its delay.
    for (index, event) in events.iter().enumerate() {
        if index > 0 && !delay.is_zero() && !pause(socket, delay, shared, connection).await {
            return false;
        }
        if !send_event(socket, event, shared, connection).await {
            return false;
        }
    }
    match end {
        End::Done => {
            let finish = chunk(
                &id,
                &model,
                created,
                json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}]),
                null_usage.clone(),
            );
            if !send_event(socket, &finish, shared, connection).await {
                return false;
            }
            if include_usage {
                let completion = pieces.len() as u32;
                let usage = json!({
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion,
                    "total_tokens": prompt_tokens + completion,
                    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                        "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
                });
                let last = chunk(&id, &model, created, json!([]), Some(usage));
                if !send_event(socket, &last, shared, connection).await {
                    return false;
                }
            }
            if !send_event(socket, "[DONE]", shared, connection).await {
                return false;
            }
            if socket.write_all(b"0\r\n\r\n").await.is_err() {
                note_closed(shared, connection);
                return false;
            }
            true
        }
        End::Stall => {
            // Wait for the client to give up: it closes the connection.
            let mut buffer = [0u8; 1024];
            loop {
                match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => {
                        note_closed(shared, connection);
                        return false;
                    }
                    Ok(_) => continue,
                }
            }
        }
        End::Disconnect => {
            // Half an event, then the connection is cut.
            let _ = socket.write_all(b"10\r\ndata: {\"id\":\"ch").await;
            let _ = socket.shutdown().await;
            false
        }
    }
}

async fn send_event(socket: &mut TcpStream, data: &str, shared: &Shared, connection: u64) -> bool {
    let event = format!("data: {data}\n\n");
    let framed = format!("{:x}\r\n{event}\r\n", event.len());
    if socket.write_all(framed.as_bytes()).await.is_err() {
        note_closed(shared, connection);
        return false;
    }
    true
}

/// Sleep, noticing if the client closes the connection meanwhile.
async fn pause(socket: &mut TcpStream, delay: Duration, shared: &Shared, connection: u64) -> bool {
    let mut buffer = [0u8; 1024];
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        read = socket.read(&mut buffer) => {
            match read {
                Ok(0) | Err(_) => {
                    note_closed(shared, connection);
                    false
                }
                Ok(_) => true,
            }
        }
    }
}
