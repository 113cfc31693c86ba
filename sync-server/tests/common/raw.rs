//! A raw protocol client over a real WebSocket, for tests that check exact frames.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::{AuthMessage, Frame, Message, SyncMessage, Wire};
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

pub async fn connect(url: &str) -> Socket {
    tokio_tungstenite::connect_async(url)
        .await
        .expect("connects")
        .0
}

pub async fn send(socket: &mut Socket, frame: Frame) {
    socket
        .send(WsMessage::Binary(frame.encode().into()))
        .await
        .unwrap();
}

/// The next protocol frame (skipping keep-alive pings), or the close frame's code and reason.
pub async fn next(socket: &mut Socket) -> Result<Frame, (u16, String)> {
    loop {
        let message = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("server answers in time");
        match message {
            Some(Ok(WsMessage::Binary(bytes))) => {
                match Wire::decode(&bytes).expect("server frames decode") {
                    Wire::Frame(frame) => return Ok(frame),
                    Wire::Ping | Wire::Pong => continue,
                }
            }
            Some(Ok(WsMessage::Close(Some(close)))) => {
                return Err((u16::from(close.code), close.reason.to_string()));
            }
            Some(Ok(WsMessage::Close(None))) | None => return Err((0, String::new())),
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err((0, error.to_string())),
        }
    }
}

pub async fn authenticate(socket: &mut Socket, doc: &str, token: &str) -> Message {
    send(
        socket,
        Frame::new(
            doc,
            Message::Auth(AuthMessage::Token {
                token: token.into(),
                provider_version: None,
            }),
        ),
    )
    .await;
    next(socket).await.expect("auth answer").message
}

/// A REST call as `token`'s holder: the status and the JSON body (Null when not JSON).
pub async fn rest(
    server: &sync_server::app::Running,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("http://{}{path}", server.addr))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
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
