//! The server's half of a WebSocket (RFC 6455) on the upgraded TCP socket, holding no buffer
//! while the connection is idle (issue 18).
//!
//! tokio-tungstenite keeps a read buffer, a codec and two waker proxies for the life of every
//! connection; with thousands of lawyers connected and idle that was most of a connection's
//! memory. Here a pending read polls the socket with a buffer on the stack (kept by nothing
//! while it waits), received bytes are kept only while a frame is still arriving, and queued
//! frames are written straight from the shared broadcast buffers with vectored writes (no copy,
//! no write buffer). Frame headers are parsed and formatted by tungstenite's own
//! [`FrameHeader`]; the handshake stays hyper's and axum's.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, Cursor, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

/// The socket of an upgraded sync connection.
pub type Upgraded = Socket<hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>>;

/// The stack buffer one read fills (a burst of small frames arrives in one system call).
const READ_CHUNK: usize = 16 * 1024;
/// Frames written per `writev` (each is a header and a payload: two slices).
const WRITE_BATCH: usize = 64;
/// How long a write may wait for the peer to read before the connection is given up.
pub const WRITE_STALL: std::time::Duration = std::time::Duration::from_secs(30);
/// The largest frame header: 2 bytes, 8 of length, 4 of mask.
const MAX_HEADER: usize = 14;

/// What the peer sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A whole binary message (its fragments joined).
    Binary(Vec<u8>),
    /// A text message (this protocol is binary only: the caller refuses it).
    Text,
    /// A ping, to be answered with a pong carrying the same payload.
    Ping(Vec<u8>),
    /// The peer closed the WebSocket (a close frame).
    Close,
}

/// Why reading stopped.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the TCP connection (or it failed).
    Closed,
    /// A message larger than the limit: close with 1009.
    TooBig,
    /// A frame RFC 6455 forbids: close with 1002, giving this reason.
    Protocol(&'static str),
}

/// One server-side WebSocket on `io` (a TCP socket, or hyper's upgraded connection).
pub struct Socket<S> {
    io: S,
    /// Bytes received and not yet consumed, from `start`: empty and unallocated while idle.
    input: Vec<u8>,
    start: usize,
    /// Bytes still missing from the frame at `start` (a read reserves at least this many).
    missing: usize,
    /// A fragmented binary message being joined.
    message: Option<Vec<u8>>,
    max_message: usize,
    /// Messages larger than this are sent as fragments of this size.
    fragment: usize,
    /// A write that makes no progress for this long fails: the peer stopped reading (a laptop
    /// gone to sleep mid-sync), and its connection must not hold its frames forever.
    write_stall: std::time::Duration,
    /// A write failed (perhaps in the middle of a frame): nothing more may be written, or the
    /// peer would read the next header as the rest of that frame's payload.
    broken: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Socket<S> {
    /// A socket whose upgrade handshake is done.
    pub fn new(io: S, max_message: usize, fragment: usize) -> Self {
        Self::with_write_stall(io, max_message, fragment, WRITE_STALL)
    }

    /// [`Socket::new`] with a write-stall limit of the caller's.
    pub fn with_write_stall(
        io: S,
        max_message: usize,
        fragment: usize,
        write_stall: std::time::Duration,
    ) -> Self {
        Self {
            io,
            input: Vec::new(),
            start: 0,
            missing: 0,
            message: None,
            max_message,
            fragment: fragment.max(1),
            write_stall,
            broken: false,
        }
    }

    /// The next message. Cancel-safe: what was read stays in the socket for the next call.
    pub async fn read(&mut self) -> Result<Incoming, ReadError> {
        loop {
            if let Some(incoming) = self.parse()? {
                return Ok(incoming);
            }
            self.fill().await?;
        }
    }

    /// Read what the socket has (waiting until it has something).
    async fn fill(&mut self) -> Result<(), ReadError> {
        if self.start > 0 {
            self.input.drain(..self.start);
            self.start = 0;
        }
        // Room for the rest of the frame in flight, but never much more than has arrived: a
        // header alone (14 bytes, before authentication) does not make the server reserve
        // 8 MiB; a large frame grows the buffer as its bytes come.
        self.input
            .reserve(self.missing.min(self.input.len().max(READ_CHUNK)));
        poll_fn(|cx| self.poll_fill(cx)).await
    }

    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ReadError>> {
        // On the stack: a socket waiting for its next frame holds no buffer.
        let mut scratch = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut buffer = ReadBuf::uninit(&mut scratch);
        match Pin::new(&mut self.io).poll_read(cx, &mut buffer) {
            Poll::Pending => {
                self.release_if_consumed();
                Poll::Pending
            }
            Poll::Ready(Err(_)) => Poll::Ready(Err(ReadError::Closed)),
            Poll::Ready(Ok(())) if buffer.filled().is_empty() => {
                Poll::Ready(Err(ReadError::Closed))
            }
            Poll::Ready(Ok(())) => {
                self.input.extend_from_slice(buffer.filled());
                Poll::Ready(Ok(()))
            }
        }
    }

    /// Drop the input buffer once everything in it was consumed: an idle socket keeps none.
    fn release_if_consumed(&mut self) {
        if self.start >= self.input.len() {
            self.input = Vec::new();
            self.start = 0;
        }
    }

    /// Consume whole frames from the input until one completes a message.
    fn parse(&mut self) -> Result<Option<Incoming>, ReadError> {
        loop {
            let available = &self.input[self.start..];
            if available.is_empty() {
                self.release_if_consumed();
                return Ok(None);
            }
            let mut cursor = Cursor::new(available);
            let Some((header, length)) = FrameHeader::parse(&mut cursor)
                .map_err(|_| ReadError::Protocol("malformed frame header (a reserved opcode)"))?
            else {
                self.missing = MAX_HEADER;
                return Ok(None);
            };
            if header.rsv1 || header.rsv2 || header.rsv3 {
                return Err(ReadError::Protocol(
                    "reserved bits set (no extension was negotiated)",
                ));
            }
            let Some(mask) = header.mask else {
                return Err(ReadError::Protocol("client frames must be masked"));
            };
            let control = matches!(header.opcode, OpCode::Control(_));
            // Refused from the header, before its payload is read.
            if control && (!header.is_final || length > 125) {
                return Err(ReadError::Protocol(
                    "control frames must be whole and at most 125 bytes",
                ));
            }
            // A control frame may come between a message's fragments: it is not part of it.
            let joined = if control {
                0
            } else {
                self.message.as_ref().map_or(0, Vec::len)
            };
            let length = usize::try_from(length)
                .ok()
                .filter(|length| joined.saturating_add(*length) <= self.max_message)
                .ok_or(ReadError::TooBig)?;
            let header_len = usize::try_from(cursor.position()).unwrap_or(MAX_HEADER);
            let frame_len = header_len + length;
            if available.len() < frame_len {
                self.missing = frame_len - available.len();
                return Ok(None);
            }
            self.missing = 0;
            let payload_start = self.start + header_len;
            self.start += frame_len;
            let payload = &mut self.input[payload_start..payload_start + length];
            unmask(payload, mask);
            let incoming = match header.opcode {
                OpCode::Control(control) => match control {
                    Control::Ping => Some(Incoming::Ping(payload.to_vec())),
                    Control::Pong => None,
                    Control::Close => Some(Incoming::Close),
                    Control::Reserved(_) => {
                        return Err(ReadError::Protocol("reserved control opcode"));
                    }
                },
                OpCode::Data(Data::Text) => Some(Incoming::Text),
                OpCode::Data(Data::Binary) => {
                    if self.message.is_some() {
                        return Err(ReadError::Protocol(
                            "a new message began before the last one ended",
                        ));
                    }
                    if header.is_final {
                        Some(Incoming::Binary(payload.to_vec()))
                    } else {
                        self.message = Some(payload.to_vec());
                        None
                    }
                }
                OpCode::Data(Data::Continue) => {
                    let Some(message) = self.message.as_mut() else {
                        return Err(ReadError::Protocol(
                            "a continuation frame without a message",
                        ));
                    };
                    message.extend_from_slice(payload);
                    if header.is_final {
                        self.message.take().map(Incoming::Binary)
                    } else {
                        None
                    }
                }
                OpCode::Data(Data::Reserved(_)) => {
                    return Err(ReadError::Protocol("reserved data opcode"));
                }
            };
            self.release_if_consumed();
            if incoming.is_some() {
                return Ok(incoming);
            }
        }
    }

    /// Write every queued message (oldest first), each as one binary message.
    pub async fn send(&mut self, messages: &mut VecDeque<Bytes>) -> io::Result<()> {
        let mut pieces: Vec<(Header, Bytes)> = Vec::new();
        while !messages.is_empty() {
            while pieces.len() < WRITE_BATCH
                && let Some(message) = messages.pop_front()
            {
                crate::metrics::frame_out(message.len());
                self.split(message, &mut pieces);
            }
            self.write_pieces(&pieces).await?;
            pieces.clear();
        }
        Ok(())
    }

    /// One message as frames: whole, or as fragments of `self.fragment` bytes (RFC 6455 §5.4:
    /// every client joins them into the one message).
    fn split(&self, message: Bytes, into: &mut Vec<(Header, Bytes)>) {
        if message.len() <= self.fragment {
            into.push((
                Header::new(OpCode::Data(Data::Binary), true, message.len()),
                message,
            ));
            return;
        }
        let mut offset = 0;
        while offset < message.len() {
            let end = (offset + self.fragment).min(message.len());
            let opcode = if offset == 0 {
                OpCode::Data(Data::Binary)
            } else {
                OpCode::Data(Data::Continue)
            };
            into.push((
                Header::new(opcode, end == message.len(), end - offset),
                message.slice(offset..end),
            ));
            offset = end;
        }
    }

    /// A control frame (a pong, a close).
    pub async fn send_control(&mut self, control: Control, payload: &[u8]) -> io::Result<()> {
        let payload = Bytes::copy_from_slice(&payload[..payload.len().min(125)]);
        let header = Header::new(OpCode::Control(control), true, payload.len());
        self.write_pieces(&[(header, payload)]).await
    }

    /// A close frame with `code` and `reason` (cut to fit a control frame).
    pub async fn send_close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let mut payload = Vec::with_capacity(2 + end);
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(&reason.as_bytes()[..end]);
        self.send_control(Control::Close, &payload).await
    }

    /// Write frames with as few system calls as the socket allows (vectored writes).
    async fn write_pieces(&mut self, pieces: &[(Header, Bytes)]) -> io::Result<()> {
        if self.broken {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let result = self.write_all_pieces(pieces).await;
        self.broken = result.is_err();
        result
    }

    async fn write_all_pieces(&mut self, pieces: &[(Header, Bytes)]) -> io::Result<()> {
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(pieces.len() * 2);
        for (header, payload) in pieces {
            slices.push(IoSlice::new(header.bytes()));
            if !payload.is_empty() {
                slices.push(IoSlice::new(payload));
            }
        }
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            // The timer only starts if the write must wait (`timeout` polls the write first).
            let written = tokio::time::timeout(self.write_stall, self.io.write_vectored(slices))
                .await
                .map_err(|_| {
                    io::Error::new(io::ErrorKind::TimedOut, "the peer stopped reading")
                })??;
            match written {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                written => IoSlice::advance_slices(&mut slices, written),
            }
        }
        tokio::time::timeout(self.write_stall, self.io.flush())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the peer stopped reading"))?
    }
}

/// A server frame's header (never masked: at most 10 bytes).
struct Header {
    bytes: [u8; 10],
    len: u8,
}

impl Header {
    fn new(opcode: OpCode, is_final: bool, length: usize) -> Self {
        let header = FrameHeader {
            is_final,
            opcode,
            ..FrameHeader::default()
        };
        let mut bytes = [0u8; 10];
        let mut out = &mut bytes[..];
        // Ten bytes always fit an unmasked header (2 + 8 of length).
        let _ = header.format(length as u64, &mut out);
        let len = header.len(length as u64).min(10) as u8;
        Self { bytes, len }
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// RFC 6455 §5.3: client payloads are XORed with the frame's 4-byte key.
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    for (index, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[index & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpStream;

    /// A connected pair: our socket, and the raw client end.
    async fn pair() -> (Socket<TcpStream>, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let client = TcpStream::connect(address).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (Socket::new(server, 1 << 20, 8), client)
    }

    fn client_frame(opcode: u8, is_final: bool, payload: &[u8]) -> Vec<u8> {
        let mask = [0x11, 0x22, 0x33, 0x44];
        let mut frame = vec![opcode | if is_final { 0x80 } else { 0 }];
        match payload.len() {
            length @ 0..=125 => frame.push(0x80 | length as u8),
            length @ 126..=65535 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(length as u16).to_be_bytes());
            }
            length => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(length as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(
            payload
                .iter()
                .enumerate()
                .map(|(index, byte)| byte ^ mask[index & 3]),
        );
        frame
    }

    #[tokio::test]
    async fn frames_split_across_reads_and_fragments_are_joined_and_the_buffer_is_freed() {
        let (mut socket, mut client) = pair().await;
        let mut bytes = client_frame(0x2, false, b"hello ");
        bytes.extend(client_frame(0x9, true, b"ping"));
        bytes.extend(client_frame(0x0, true, b"world"));
        bytes.extend(client_frame(0x2, true, &[7u8; 70_000]));
        // Byte by byte at first (the header arrives in pieces), then in 1,000-byte chunks, while
        // the socket is being read.
        let writer = tokio::spawn(async move {
            for byte in &bytes[..5] {
                client.write_all(&[*byte]).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            for chunk in bytes[5..].chunks(1000) {
                client.write_all(chunk).await.unwrap();
                tokio::task::yield_now().await;
            }
            client
        });
        assert_eq!(
            socket.read().await.unwrap(),
            Incoming::Ping(b"ping".to_vec())
        );
        assert_eq!(
            socket.read().await.unwrap(),
            Incoming::Binary(b"hello world".to_vec())
        );
        assert_eq!(
            socket.read().await.unwrap(),
            Incoming::Binary(vec![7u8; 70_000])
        );
        assert_eq!(socket.input.capacity(), 0, "an idle socket keeps no buffer");
        let mut client = writer.await.unwrap();
        client
            .write_all(&client_frame(0x8, true, &[0x03, 0xe8]))
            .await
            .unwrap();
        assert_eq!(socket.read().await.unwrap(), Incoming::Close);
        drop(client);
        assert!(matches!(socket.read().await, Err(ReadError::Closed)));
    }

    #[tokio::test]
    async fn forbidden_frames_are_refused() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            // Unmasked.
            (vec![0x82, 0x01, 0x00], "masked"),
            // A reserved bit.
            (client_frame(0x2 | 0x40, true, b"x"), "reserved bits"),
            // A continuation with nothing to continue.
            (client_frame(0x0, true, b"x"), "continuation"),
            // A fragmented ping.
            (client_frame(0x9, false, b"x"), "control frames"),
            // A reserved opcode.
            (client_frame(0x3, true, b"x"), "malformed frame header"),
        ];
        for (bytes, expected) in cases {
            let (mut socket, mut client) = pair().await;
            client.write_all(&bytes).await.unwrap();
            match socket.read().await {
                Err(ReadError::Protocol(reason)) => assert!(
                    reason.contains(expected),
                    "{reason:?} should mention {expected:?}"
                ),
                other => panic!("expected a protocol error ({expected}), got {other:?}"),
            }
        }
        // Over the limit: refused from the header, before the payload is read or buffered.
        let (mut socket, mut client) = pair().await;
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&(2u64 << 20).to_be_bytes());
        header.extend_from_slice(&[0, 0, 0, 0]);
        client.write_all(&header).await.unwrap();
        assert!(matches!(socket.read().await, Err(ReadError::TooBig)));
        assert!(socket.input.capacity() < 1 << 20);
    }

    #[tokio::test]
    async fn a_peer_that_stops_reading_fails_the_write_instead_of_holding_it_forever() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let _client = TcpStream::connect(address).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let stall = std::time::Duration::from_millis(300);
        let mut socket = Socket::with_write_stall(server, 1 << 20, 1 << 20, stall);
        // 64 MiB, never read: the socket buffers fill and the write waits.
        let mut queued: VecDeque<Bytes> =
            (0..64).map(|_| Bytes::from(vec![0u8; 1 << 20])).collect();
        let started = std::time::Instant::now();
        let error = socket.send(&mut queued).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // It may have stopped inside a frame: nothing more is written on that socket (the
        // close frame included), or the peer would take the next header for payload.
        assert_eq!(
            socket.send_close(1000, "").await.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
    }

    #[tokio::test]
    async fn a_header_alone_reserves_nothing_large_and_long_control_frames_are_refused_from_it() {
        let (mut socket, mut client) = pair().await;
        // Announces 900,000 bytes, sends none of them.
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&900_000u64.to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        client.write_all(&header).await.unwrap();
        let pending =
            tokio::time::timeout(std::time::Duration::from_millis(200), socket.read()).await;
        assert!(pending.is_err(), "the frame is incomplete");
        assert!(
            socket.input.capacity() <= 64 * 1024,
            "{} bytes reserved for a 14-byte header",
            socket.input.capacity()
        );
        // A 200-byte ping is refused as soon as its header is in, payload unsent.
        let (mut socket, mut client) = pair().await;
        client
            .write_all(&[0x89, 0x80 | 126, 0, 200, 1, 2, 3, 4])
            .await
            .unwrap();
        assert!(matches!(socket.read().await, Err(ReadError::Protocol(_))));
    }

    #[tokio::test]
    async fn queued_messages_are_written_whole_or_as_fragments() {
        let (mut socket, mut client) = pair().await;
        let mut queued: VecDeque<Bytes> = VecDeque::new();
        queued.push_back(Bytes::from_static(b"short"));
        queued.push_back(Bytes::from_static(b"0123456789abcdefghij"));
        socket.send(&mut queued).await.unwrap();
        socket.send_close(4401, "bye").await.unwrap();
        drop(socket);
        let mut received = Vec::new();
        client.read_to_end(&mut received).await.unwrap();
        let mut expected = vec![0x82, 5];
        expected.extend_from_slice(b"short");
        // 20 bytes in fragments of 8: binary, continuation, final continuation.
        expected.extend_from_slice(&[0x02, 8]);
        expected.extend_from_slice(b"01234567");
        expected.extend_from_slice(&[0x00, 8]);
        expected.extend_from_slice(b"89abcdef");
        expected.extend_from_slice(&[0x80, 4]);
        expected.extend_from_slice(b"ghij");
        expected.extend_from_slice(&[0x88, 5, 0x11, 0x31]);
        expected.extend_from_slice(b"bye");
        assert_eq!(received, expected);
    }
}
