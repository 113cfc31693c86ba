//! The join storm's joining client: a WebSocket client that reads what the server sends without
//! assembling it. A server's first sync of a 21 MB document is one message (ours: 84 fragments)
//! or many (the relay's: the updates it was sent); a client that assembles and decodes each
//! message in memory spent its core on that (memmove and page faults: 4.4 s of the load
//! generator's core for 1.1 s of our server's, docs/BENCHMARKS.md), so the generator, not the
//! server, set the storm's time. This one keeps a message whole only when it is small (and
//! decodes it with the protocol crate), and of a large one only its first bytes (which say what
//! it is) and its length. Every target is measured with it.

use anyhow::{Context, bail};
use protocol::{Frame, Message, Reader, SyncMessage, Wire, message_type};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame as WsFrame, FrameHeader};

/// A message up to this size is kept whole and decoded; of a larger one, this much is kept.
const KEEP: usize = 64 * 1024;
/// What a client reads per system call.
const READ: usize = 256 * 1024;

/// A connected, upgraded socket (`ws://` only: the storm runs on loopback).
pub struct StormSocket {
    reader: BufReader<TcpStream>,
    scratch: Vec<u8>,
}

/// What one whole message from the server was.
pub enum Received {
    /// A SyncStep2 (or SyncReply Step2) of this many bytes of message.
    Step2(usize),
    /// An update of this many bytes of message.
    Update(usize),
    /// The server's SyncStep1.
    Step1,
    Denied(String),
    Other,
}

impl StormSocket {
    /// Connect to `url` and upgrade (the HTTP head is read byte by byte: nothing after it is
    /// taken from the socket before the frames are read).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("ws://")
            .context("the storm client speaks ws:// only")?;
        let (host, path) = match rest.split_once('/') {
            Some((host, path)) => (host, format!("/{path}")),
            None => (rest, "/".to_owned()),
        };
        let mut stream = TcpStream::connect(host)
            .await
            .with_context(|| format!("cannot connect to {host}"))?;
        stream.set_nodelay(true)?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::with_capacity(256);
        while !head.ends_with(b"\r\n\r\n") {
            head.push(
                stream
                    .read_u8()
                    .await
                    .context("the upgrade's answer ended")?,
            );
            if head.len() > 16 * 1024 {
                bail!("the upgrade's answer has no end");
            }
        }
        if !head.starts_with(b"HTTP/1.1 101") {
            let shown = String::from_utf8_lossy(&head[..head.len().min(200)]).into_owned();
            bail!("the server did not upgrade: {shown}");
        }
        Ok(Self {
            reader: BufReader::with_capacity(64 * 1024, stream),
            scratch: vec![0; READ],
        })
    }

    /// Send `frame` as one masked binary message (RFC 6455 §5.3).
    pub async fn send(&mut self, frame: &Frame) -> anyhow::Result<()> {
        let bytes = masked(OpCode::Data(Data::Binary), frame.encode())?;
        self.reader.get_mut().write_all(&bytes).await?;
        Ok(())
    }

    /// The next whole message: small ones decoded, large ones by their first bytes.
    pub async fn receive(&mut self) -> anyhow::Result<Received> {
        let mut kept: Vec<u8> = Vec::new();
        let mut length = 0usize;
        loop {
            let mut head = [0u8; 2];
            self.reader.read_exact(&mut head).await?;
            let (fin, opcode) = (head[0] & 0x80 != 0, head[0] & 0x0f);
            if head[1] & 0x80 != 0 {
                bail!("the server sent a masked frame");
            }
            let len = match head[1] & 0x7f {
                126 => usize::from(self.reader.read_u16().await?),
                127 => usize::try_from(self.reader.read_u64().await?)?,
                short => usize::from(short),
            };
            if opcode >= 0x8 {
                let mut control = vec![0u8; len];
                self.reader.read_exact(&mut control).await?;
                match opcode {
                    0x8 => bail!("the server closed a joining client"),
                    0x9 => {
                        let pong = masked(OpCode::Control(Control::Pong), control)?;
                        self.reader.get_mut().write_all(&pong).await?;
                    }
                    _ => {}
                }
                continue;
            }
            let mut left = len;
            while left > 0 {
                let want = left.min(self.scratch.len());
                let got = self.reader.read(&mut self.scratch[..want]).await?;
                if got == 0 {
                    bail!("the server closed a joining client mid-message");
                }
                let keep = got.min(KEEP.saturating_sub(kept.len()));
                kept.extend_from_slice(&self.scratch[..keep]);
                left -= got;
            }
            length += len;
            if fin {
                break;
            }
        }
        if length == kept.len() {
            return Ok(match Wire::decode_from_server(&kept) {
                Ok(Wire::Frame(frame)) => match frame.message {
                    Message::Auth(protocol::AuthMessage::PermissionDenied { reason }) => {
                        Received::Denied(reason)
                    }
                    Message::Sync(SyncMessage::Step2(_))
                    | Message::SyncReply(SyncMessage::Step2(_)) => Received::Step2(length),
                    Message::Sync(SyncMessage::Update(_))
                    | Message::SyncReply(SyncMessage::Update(_)) => Received::Update(length),
                    Message::Sync(SyncMessage::Step1(_))
                    | Message::SyncReply(SyncMessage::Step1(_)) => Received::Step1,
                    _ => Received::Other,
                },
                Ok(_) => Received::Other,
                Err(error) => bail!("undecodable frame from the server: {error}"),
            });
        }
        // A large message: its document name, type and sync step are in the bytes kept.
        let mut header = Reader::new(&kept);
        header.read_var_str("document name")?;
        let kind = header.read_var_uint("message type")?;
        if kind != message_type::SYNC && kind != message_type::SYNC_REPLY {
            return Ok(Received::Other);
        }
        Ok(match header.read_var_uint("sync step")? {
            1 => Received::Step2(length),
            2 => Received::Update(length),
            0 => Received::Step1,
            _ => Received::Other,
        })
    }
}

/// A client frame: final, `opcode`, `payload` masked (tungstenite's frame formatting).
fn masked(opcode: OpCode, payload: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let header = FrameHeader {
        opcode,
        mask: Some([0x37, 0xfa, 0x21, 0x3d]),
        ..FrameHeader::default()
    };
    let mut out = Vec::with_capacity(payload.len() + 14);
    WsFrame::from_payload(header, payload.into()).format(&mut out)?;
    Ok(out)
}
