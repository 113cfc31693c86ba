//! Frames: `varString(documentName) · varUint(messageType) · payload`, and the bare ping/pong.

use crate::lib0::{Reader, Writer};
use crate::{
    AwarenessUpdate, MAX_DOC_NAME_BYTES, MAX_FRAME_BYTES, MAX_TOKEN_BYTES, ProtocolError,
    message_type as mt,
};

/// The y-sync sub-protocol (y-protocols `sync.js`). Payloads are kept encoded: a state vector
/// (validated structurally) or a v1 update (validated with [`validate_update`] where it matters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncMessage {
    /// `0 · varBytes(stateVector)`: "here is what I have, send me what I lack".
    Step1(Vec<u8>),
    /// `1 · varBytes(update)`: the answer to a Step1.
    Step2(Vec<u8>),
    /// `2 · varBytes(update)`: an incremental update.
    Update(Vec<u8>),
}

/// Hocuspocus auth sub-messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMessage {
    /// Client → server: `0 · varString(token) [· varString(providerVersion)]`.
    Token {
        token: String,
        provider_version: Option<String>,
    },
    /// Server → client: `0` with nothing after it — "send your token again".
    TokenRequest,
    /// Server → client: `1 · varString(reason)`.
    PermissionDenied { reason: String },
    /// Server → client: `2 · varString(scope)`, scope `read-write` or `readonly`.
    Authenticated { scope: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Sync(SyncMessage),
    /// Same encoding as `Sync`; Hocuspocus uses it between servers. We accept it from clients
    /// and treat it as `Sync` that must not trigger another Step1 in reply.
    SyncReply(SyncMessage),
    /// An encoded awareness update (validated on decode).
    Awareness(Vec<u8>),
    Auth(AuthMessage),
    QueryAwareness,
    Stateless(String),
    BroadcastStateless(String),
    Close(String),
    /// The ack: `true` when the update carried by the matching earlier Sync frame was
    /// persisted, `false` when it was refused. One per Step2/Update, in order, per document.
    SyncStatus(bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The routing key as sent: a document name, optionally followed by `\0sessionId`.
    pub doc: String,
    pub message: Message,
}

/// Everything that can travel in one WebSocket binary message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    Frame(Frame),
    /// The single byte `9`: server keep-alive.
    Ping,
    /// The single byte `10`: the answer to a ping.
    Pong,
}

impl Wire {
    /// Decode one WebSocket binary message from a client (at most [`MAX_FRAME_BYTES`]). Never
    /// panics.
    pub fn decode(bytes: &[u8]) -> Result<Wire, ProtocolError> {
        Self::decode_within(bytes, MAX_FRAME_BYTES)
    }

    /// Decode one WebSocket binary message from the server (at most
    /// [`crate::MAX_SERVER_FRAME_BYTES`]: a large document's whole state). Never panics.
    pub fn decode_from_server(bytes: &[u8]) -> Result<Wire, ProtocolError> {
        Self::decode_within(bytes, crate::MAX_SERVER_FRAME_BYTES)
    }

    fn decode_within(bytes: &[u8], limit: usize) -> Result<Wire, ProtocolError> {
        if bytes.is_empty() {
            return Err(ProtocolError::Empty);
        }
        if bytes.len() > limit {
            return Err(ProtocolError::FrameTooLarge {
                size: bytes.len(),
                limit,
            });
        }
        match bytes {
            [b] if u64::from(*b) == mt::PING => return Ok(Wire::Ping),
            [b] if u64::from(*b) == mt::PONG => return Ok(Wire::Pong),
            _ => {}
        }
        Frame::decode_within(bytes, limit).map(Wire::Frame)
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            Wire::Ping => vec![mt::PING as u8],
            Wire::Pong => vec![mt::PONG as u8],
            Wire::Frame(frame) => frame.encode(),
        }
    }
}

fn read_sync(reader: &mut Reader<'_>) -> Result<SyncMessage, ProtocolError> {
    let kind = reader.read_var_uint("sync message type")?;
    let message = match kind {
        0 => {
            let sv = reader.read_var_bytes("state vector")?;
            validate_state_vector(sv)?;
            SyncMessage::Step1(sv.to_vec())
        }
        1 => SyncMessage::Step2(reader.read_var_bytes("sync step 2 update")?.to_vec()),
        2 => SyncMessage::Update(reader.read_var_bytes("update")?.to_vec()),
        other => return Err(ProtocolError::UnknownSyncType(other)),
    };
    reader.expect_end()?;
    Ok(message)
}

/// A v1 state vector is `varUint(n) · n × (varUint(client) · varUint(clock))`.
fn validate_state_vector(bytes: &[u8]) -> Result<(), ProtocolError> {
    let mut reader = Reader::new(bytes);
    let count = reader.read_var_uint("state vector length")?;
    // Each entry takes at least two bytes, so a count beyond that is a lie.
    if count > (reader.remaining() / 2) as u64 {
        return Err(ProtocolError::Truncated {
            what: "state vector",
        });
    }
    for _ in 0..count {
        reader.read_var_uint("state vector client")?;
        reader.read_var_uint("state vector clock")?;
    }
    reader.expect_end()
}

fn write_sync(writer: &mut Writer, message: &SyncMessage) {
    match message {
        SyncMessage::Step1(sv) => {
            writer.write_var_uint(0);
            writer.write_var_bytes(sv);
        }
        SyncMessage::Step2(update) => {
            writer.write_var_uint(1);
            writer.write_var_bytes(update);
        }
        SyncMessage::Update(update) => {
            writer.write_var_uint(2);
            writer.write_var_bytes(update);
        }
    }
}

impl Frame {
    pub fn new(doc: impl Into<String>, message: Message) -> Self {
        Self {
            doc: doc.into(),
            message,
        }
    }

    /// Decode a named frame. Prefer [`Wire::decode`], which also handles ping/pong and limits.
    pub fn decode(bytes: &[u8]) -> Result<Frame, ProtocolError> {
        Self::decode_within(bytes, MAX_FRAME_BYTES)
    }

    fn decode_within(bytes: &[u8], limit: usize) -> Result<Frame, ProtocolError> {
        if bytes.len() > limit {
            return Err(ProtocolError::FrameTooLarge {
                size: bytes.len(),
                limit,
            });
        }
        let mut reader = Reader::new(bytes);
        let doc = reader.read_var_str("document name")?;
        if doc.len() > MAX_DOC_NAME_BYTES {
            return Err(ProtocolError::NameTooLong {
                size: doc.len(),
                limit: MAX_DOC_NAME_BYTES,
            });
        }
        let kind = reader.read_var_uint("message type")?;
        let message = match kind {
            mt::SYNC => Message::Sync(read_sync(&mut reader)?),
            mt::SYNC_REPLY => Message::SyncReply(read_sync(&mut reader)?),
            mt::AWARENESS => {
                let update = reader.read_var_bytes("awareness update")?;
                AwarenessUpdate::decode(update)?;
                reader.expect_end()?;
                Message::Awareness(update.to_vec())
            }
            mt::AUTH => Message::Auth(read_auth(&mut reader)?),
            mt::QUERY_AWARENESS => {
                reader.expect_end()?;
                Message::QueryAwareness
            }
            mt::STATELESS => {
                let text = reader.read_var_str("stateless payload")?.to_owned();
                reader.expect_end()?;
                Message::Stateless(text)
            }
            mt::BROADCAST_STATELESS => {
                let text = reader.read_var_str("stateless payload")?.to_owned();
                reader.expect_end()?;
                Message::BroadcastStateless(text)
            }
            mt::CLOSE => {
                let reason = if reader.is_empty() {
                    String::new()
                } else {
                    reader.read_var_str("close reason")?.to_owned()
                };
                reader.expect_end()?;
                Message::Close(reason)
            }
            mt::SYNC_STATUS => {
                let flag = reader.read_var_int("sync status")?;
                reader.expect_end()?;
                Message::SyncStatus(flag == 1)
            }
            other => return Err(ProtocolError::UnknownMessageType(other)),
        };
        Ok(Frame {
            doc: doc.to_owned(),
            message,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let payload_hint = match &self.message {
            Message::Sync(
                SyncMessage::Step1(b) | SyncMessage::Step2(b) | SyncMessage::Update(b),
            )
            | Message::SyncReply(
                SyncMessage::Step1(b) | SyncMessage::Step2(b) | SyncMessage::Update(b),
            )
            | Message::Awareness(b) => b.len(),
            _ => 16,
        };
        let mut writer = Writer::with_capacity(self.doc.len() + payload_hint + 12);
        writer.write_var_str(&self.doc);
        match &self.message {
            Message::Sync(sync) => {
                writer.write_var_uint(mt::SYNC);
                write_sync(&mut writer, sync);
            }
            Message::SyncReply(sync) => {
                writer.write_var_uint(mt::SYNC_REPLY);
                write_sync(&mut writer, sync);
            }
            Message::Awareness(update) => {
                writer.write_var_uint(mt::AWARENESS);
                writer.write_var_bytes(update);
            }
            Message::Auth(auth) => {
                writer.write_var_uint(mt::AUTH);
                match auth {
                    AuthMessage::Token {
                        token,
                        provider_version,
                    } => {
                        writer.write_var_uint(0);
                        writer.write_var_str(token);
                        if let Some(version) = provider_version {
                            writer.write_var_str(version);
                        }
                    }
                    AuthMessage::TokenRequest => writer.write_var_uint(0),
                    AuthMessage::PermissionDenied { reason } => {
                        writer.write_var_uint(1);
                        writer.write_var_str(reason);
                    }
                    AuthMessage::Authenticated { scope } => {
                        writer.write_var_uint(2);
                        writer.write_var_str(scope);
                    }
                }
            }
            Message::QueryAwareness => writer.write_var_uint(mt::QUERY_AWARENESS),
            Message::Stateless(text) => {
                writer.write_var_uint(mt::STATELESS);
                writer.write_var_str(text);
            }
            Message::BroadcastStateless(text) => {
                writer.write_var_uint(mt::BROADCAST_STATELESS);
                writer.write_var_str(text);
            }
            Message::Close(reason) => {
                writer.write_var_uint(mt::CLOSE);
                writer.write_var_str(reason);
            }
            Message::SyncStatus(ok) => {
                writer.write_var_uint(mt::SYNC_STATUS);
                writer.write_var_int(i64::from(*ok));
            }
        }
        writer.into_vec()
    }

    /// The document name without any `\0sessionId` routing suffix.
    pub fn document_name(&self) -> &str {
        self.doc.split('\0').next().unwrap_or_default()
    }
}

fn read_auth(reader: &mut Reader<'_>) -> Result<AuthMessage, ProtocolError> {
    let kind = reader.read_var_uint("auth message type")?;
    match kind {
        0 if reader.is_empty() => Ok(AuthMessage::TokenRequest),
        0 => {
            let token = reader.read_var_str("token")?;
            if token.len() > MAX_TOKEN_BYTES {
                return Err(ProtocolError::LimitExceeded {
                    what: "token",
                    limit: MAX_TOKEN_BYTES,
                });
            }
            // Newer providers append their version; anything after that is ignored on purpose so
            // that future provider fields do not lock clients out.
            let provider_version = if reader.is_empty() {
                None
            } else {
                Some(reader.read_var_str("provider version")?.to_owned())
            };
            reader.rest();
            Ok(AuthMessage::Token {
                token: token.to_owned(),
                provider_version,
            })
        }
        1 => {
            let reason = reader.read_var_str("permission denied reason")?.to_owned();
            reader.expect_end()?;
            Ok(AuthMessage::PermissionDenied { reason })
        }
        2 => {
            let scope = reader.read_var_str("scope")?.to_owned();
            reader.expect_end()?;
            Ok(AuthMessage::Authenticated { scope })
        }
        other => Err(ProtocolError::UnknownAuthType(other)),
    }
}

/// Check that `update` is a well-formed Yjs v1 update before it is stored or relayed.
/// yrs is not written for hostile input, so a panic inside it is caught and reported as an error.
pub fn validate_update(update: &[u8]) -> Result<(), ProtocolError> {
    validate_update_within(update, MAX_FRAME_BYTES)
}

/// [`validate_update`] for an update from the server, which may be a large document's whole
/// state (at most [`crate::MAX_SERVER_FRAME_BYTES`]).
pub fn validate_server_update(update: &[u8]) -> Result<(), ProtocolError> {
    validate_update_within(update, crate::MAX_SERVER_FRAME_BYTES)
}

fn validate_update_within(update: &[u8], limit: usize) -> Result<(), ProtocolError> {
    use yrs::Update;
    use yrs::updates::decoder::Decode;
    if update.len() > limit {
        return Err(ProtocolError::FrameTooLarge {
            size: update.len(),
            limit,
        });
    }
    crate::update_check::check_update_v1(update)?;
    match std::panic::catch_unwind(|| Update::decode_v1(update).map(|_| ())) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(ProtocolError::InvalidUpdate(error.to_string())),
        Err(_) => Err(ProtocolError::InvalidUpdate(
            "decoder rejected the update".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_frames() -> Vec<Frame> {
        vec![
            Frame::new("cases/a", Message::Sync(SyncMessage::Step1(vec![0]))),
            Frame::new("cases/a", Message::Sync(SyncMessage::Step2(vec![0, 0]))),
            Frame::new(
                "cases/a",
                Message::SyncReply(SyncMessage::Update(vec![0, 0])),
            ),
            Frame::new("d", Message::Awareness(vec![0])),
            Frame::new(
                "d",
                Message::Auth(AuthMessage::Token {
                    token: "t".into(),
                    provider_version: Some("4.8.0".into()),
                }),
            ),
            Frame::new(
                "d",
                Message::Auth(AuthMessage::Token {
                    token: "t".into(),
                    provider_version: None,
                }),
            ),
            Frame::new("d", Message::Auth(AuthMessage::TokenRequest)),
            Frame::new(
                "d",
                Message::Auth(AuthMessage::PermissionDenied {
                    reason: "no".into(),
                }),
            ),
            Frame::new(
                "d",
                Message::Auth(AuthMessage::Authenticated {
                    scope: "read-write".into(),
                }),
            ),
            Frame::new("d", Message::QueryAwareness),
            Frame::new("$hub", Message::Stateless("{}".into())),
            Frame::new("d", Message::BroadcastStateless("x".into())),
            Frame::new("d", Message::Close("bye".into())),
            Frame::new("d", Message::SyncStatus(true)),
            Frame::new("d", Message::SyncStatus(false)),
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for frame in sample_frames() {
            let bytes = frame.encode();
            assert_eq!(Wire::decode(&bytes), Ok(Wire::Frame(frame)));
        }
        assert_eq!(Wire::decode(&[9]), Ok(Wire::Ping));
        assert_eq!(Wire::decode(&[10]), Ok(Wire::Pong));
    }

    #[test]
    fn matches_hocuspocus_bytes() {
        // What @hocuspocus/server 4.7 sends for writeSyncStatus(true) on document "ab".
        let frame = Frame::new("ab", Message::SyncStatus(true));
        assert_eq!(frame.encode(), vec![2, b'a', b'b', 8, 1]);
        // What @hocuspocus/provider 4.8 sends to authenticate with token "t" on document "x".
        let bytes = [1, b'x', 2, 0, 1, b't', 5, b'4', b'.', b'8', b'.', b'0'];
        let Ok(Wire::Frame(frame)) = Wire::decode(&bytes) else {
            panic!("decode failed")
        };
        assert_eq!(
            frame.message,
            Message::Auth(AuthMessage::Token {
                token: "t".into(),
                provider_version: Some("4.8.0".into())
            })
        );
    }

    #[test]
    fn limits_are_enforced_with_clear_errors() {
        let long = "x".repeat(MAX_DOC_NAME_BYTES + 1);
        let bytes = Frame::new(long, Message::QueryAwareness).encode();
        assert_eq!(Wire::decode(&bytes).unwrap_err().code(), "name_too_long");
        let big = vec![0u8; MAX_FRAME_BYTES + 1];
        assert_eq!(Wire::decode(&big).unwrap_err().code(), "frame_too_large");
        assert_eq!(Wire::decode(&[]).unwrap_err().code(), "empty_frame");
        assert_eq!(
            Wire::decode(&[1, b'x', 99]).unwrap_err().code(),
            "unknown_message_type"
        );
        // A state vector that claims four billion entries in two bytes.
        let lie = [1, b'x', 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0x0f, 0];
        assert_eq!(Wire::decode(&lie).unwrap_err().code(), "truncated");
    }

    #[test]
    fn routing_suffix_is_stripped() {
        let frame = Frame::new("cases/x\0session", Message::QueryAwareness);
        assert_eq!(frame.document_name(), "cases/x");
    }

    #[test]
    fn real_updates_validate_and_garbage_does_not() {
        use yrs::{Doc, GetString, Text, Transact};
        let doc = Doc::new();
        let text = doc.get_or_insert_text("t");
        let update = {
            let mut txn = doc.transact_mut();
            text.insert(&mut txn, 0, "hello");
            txn.encode_update_v1()
        };
        assert!(validate_update(&update).is_ok());
        assert_eq!(text.get_string(&doc.transact()), "hello");
        assert!(validate_update(&[0xff, 0xff, 0xff]).is_err());
    }

    fn arb_sync() -> impl Strategy<Value = SyncMessage> {
        prop_oneof![
            proptest::collection::vec((any::<u32>(), any::<u32>()), 0..8).prop_map(|pairs| {
                let mut writer = Writer::new();
                writer.write_var_uint(pairs.len() as u64);
                for (client, clock) in pairs {
                    writer.write_var_uint(u64::from(client));
                    writer.write_var_uint(u64::from(clock));
                }
                SyncMessage::Step1(writer.into_vec())
            }),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(SyncMessage::Step2),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(SyncMessage::Update),
        ]
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        prop_oneof![
            arb_sync().prop_map(Message::Sync),
            arb_sync().prop_map(Message::SyncReply),
            ".{0,40}".prop_map(Message::Stateless),
            ".{0,40}".prop_map(Message::Close),
            any::<bool>().prop_map(Message::SyncStatus),
            Just(Message::QueryAwareness),
            (".{0,40}", proptest::option::of("[0-9.]{1,8}")).prop_map(
                |(token, provider_version)| {
                    Message::Auth(AuthMessage::Token {
                        token,
                        provider_version,
                    })
                }
            ),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn encode_then_decode_is_identity(doc in "[a-z0-9/-]{1,60}", message in arb_message()) {
            let frame = Frame::new(doc, message);
            prop_assert_eq!(Wire::decode(&frame.encode()), Ok(Wire::Frame(frame)));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Wire::decode(&bytes);
            let _ = validate_update(&bytes);
            let _ = AwarenessUpdate::decode(&bytes);
        }

        #[test]
        fn mutated_valid_frames_never_panic(
            message in arb_message(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        ) {
            let mut bytes = Frame::new("cases/x", message).encode();
            for (index, value) in flips {
                let len = bytes.len();
                bytes[index % len] = value;
            }
            let _ = Wire::decode(&bytes);
        }
    }
}
