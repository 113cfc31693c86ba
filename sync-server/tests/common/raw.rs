//! The raw protocol client: Hocuspocus frames over a real WebSocket, with nothing of the laptop's
//! sync client in between. Tests use it to check exact frames (the panicking helpers at the
//! bottom); the sync bench drives its simulated lawyers with the same connect, encode and receive
//! (it includes this file with `#[path]`).
#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::{AuthMessage, Frame, Message, SyncMessage, Wire};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for the server's next frame.
const WAIT: Duration = Duration::from_secs(10);

/// Open a WebSocket to `url`, with Nagle's algorithm off (each frame leaves at once).
pub async fn try_connect(url: &str) -> Result<Socket, tungstenite::Error> {
    // A large document's first sync is one message bigger than tungstenite's default limits.
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(protocol::MAX_SERVER_FRAME_BYTES))
        .max_frame_size(Some(protocol::MAX_SERVER_FRAME_BYTES));
    let (socket, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    Ok(socket)
}

/// `frame` as the binary WebSocket message that carries it.
pub fn binary(frame: &Frame) -> WsMessage {
    WsMessage::Binary(frame.encode().into())
}

/// The frame that authenticates `doc` with `token`.
pub fn token_frame(doc: &str, token: &str) -> Frame {
    Frame::new(
        doc,
        Message::Auth(AuthMessage::Token {
            token: token.into(),
            provider_version: None,
        }),
    )
}

/// What the server sent next.
pub enum Received {
    Frame(Frame),
    /// The connection ended: the close frame's code and reason, if the server sent one.
    Closed(Option<(u16, String)>),
    /// A binary message that is not a protocol frame (the decoder's error).
    Undecodable(String),
}

/// The next protocol frame or the end of the connection; keep-alive pings are answered on the
/// way, and non-binary messages skipped. An error is the socket's (reading, or writing a pong).
pub async fn receive(socket: &mut Socket) -> Result<Received, tungstenite::Error> {
    loop {
        match socket.next().await {
            None => return Ok(Received::Closed(None)),
            Some(Err(error)) => return Err(error),
            Some(Ok(WsMessage::Binary(bytes))) => match Wire::decode_from_server(&bytes) {
                Ok(Wire::Frame(frame)) => return Ok(Received::Frame(frame)),
                Ok(Wire::Ping) => {
                    socket
                        .send(WsMessage::Binary(Wire::Pong.encode().into()))
                        .await?
                }
                Ok(Wire::Pong) => {}
                Err(error) => return Ok(Received::Undecodable(error.to_string())),
            },
            Some(Ok(WsMessage::Close(close))) => {
                return Ok(Received::Closed(
                    close.map(|close| (u16::from(close.code), close.reason.to_string())),
                ));
            }
            Some(Ok(_)) => {}
        }
    }
}

// ---- For tests: every step must succeed in time, or the test fails there ------------------

pub async fn connect(url: &str) -> Socket {
    try_connect(url).await.expect("connects")
}

pub async fn send(socket: &mut Socket, frame: Frame) {
    socket.send(binary(&frame)).await.unwrap();
}

/// The next protocol frame, or the close frame's code and reason (0 and the error's text when
/// the socket failed).
pub async fn next(socket: &mut Socket) -> Result<Frame, (u16, String)> {
    next_within(socket, WAIT).await
}

/// [`next`] with a wait of the test's own.
pub async fn next_within(socket: &mut Socket, wait: Duration) -> Result<Frame, (u16, String)> {
    let received = tokio::time::timeout(wait, receive(socket))
        .await
        .expect("server answers in time");
    match received {
        Ok(Received::Frame(frame)) => Ok(frame),
        Ok(Received::Closed(Some(close))) => Err(close),
        Ok(Received::Closed(None)) => Err((0, String::new())),
        Ok(Received::Undecodable(error)) => panic!("server frames decode: {error}"),
        Err(error) => Err((0, error.to_string())),
    }
}

pub async fn authenticate(socket: &mut Socket, doc: &str, token: &str) -> Message {
    send(socket, token_frame(doc, token)).await;
    next(socket).await.expect("auth answer").message
}

/// Open a document as a raw client: authenticate and finish the initial sync.
pub async fn open(url: &str, doc: &str, token: &str) -> (Socket, Message) {
    let mut socket = connect(url).await;
    let answer = authenticate(&mut socket, doc, token).await;
    if matches!(answer, Message::Auth(AuthMessage::Authenticated { .. })) {
        send(
            &mut socket,
            Frame::new(doc, Message::Sync(SyncMessage::Step1(vec![0]))),
        )
        .await;
        loop {
            if let Message::Sync(SyncMessage::Step1(_)) = next(&mut socket).await.unwrap().message {
                break;
            }
        }
    }
    (socket, answer)
}
