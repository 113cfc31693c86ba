//! The Lawyers Hub wire protocol.
//!
//! Frames are compatible with the Hocuspocus 4.x protocol so the stock `@hocuspocus/provider`
//! can sync against our server: `varString(documentName) · varUint(messageType) · payload`,
//! plus the two one-byte keep-alive frames `[9]` (ping) and `[10]` (pong) that carry no name.
//! Everything is lib0 encoding (the encoding Yjs uses). See `docs/PROTOCOL.md` for the bytes.
//!
//! This crate does no I/O. Decoding never panics and never allocates more than the input
//! justifies; every limit is an explicit constant below.

mod awareness;
mod catchup;
mod error;
mod frame;
mod integrate;
mod lib0;
mod names;
mod scope;
mod update_check;

pub use awareness::{AwarenessEntry, AwarenessUpdate};
pub use catchup::{
    ChangesField, ChangesReply, ChangesRequest, HUB_CHANNEL, HubMessage, MAX_CHANGES_PER_REPLY,
};
pub use error::{ChangeDefect, IntegrateError, ProtocolError};
pub use frame::{
    AuthMessage, Frame, Message, SyncMessage, Wire, validate_server_update, validate_update,
};
pub use integrate::{check_update_against, integrate_update};
pub use lib0::{Reader, Writer};
pub use names::{CaseId, DocKind, DocName};
pub use scope::check_within_root;
pub use update_check::{MAX_ANY_DEPTH, MAX_CLIENT_ID, check_update_v1};

/// Largest frame the server accepts from a client (one WebSocket message): one edit, paste or
/// import. Frames the server sends may be larger ([`MAX_SERVER_FRAME_BYTES`]).
pub const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;
/// Largest frame a client accepts from its server: a large document's whole state, built from
/// many edits of at most [`MAX_FRAME_BYTES`] each, arrives as one SyncStep2.
pub const MAX_SERVER_FRAME_BYTES: usize = 256 * 1024 * 1024;
/// Longest document name (routing key, including any `\0sessionId` suffix), in bytes.
pub const MAX_DOC_NAME_BYTES: usize = 200;
/// Longest auth token, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Most clients a single awareness update may describe.
pub const MAX_AWARENESS_CLIENTS: usize = 10_000;

/// The message type byte values, as Hocuspocus 4.x `MessageType`.
pub mod message_type {
    pub const SYNC: u64 = 0;
    pub const AWARENESS: u64 = 1;
    pub const AUTH: u64 = 2;
    pub const QUERY_AWARENESS: u64 = 3;
    pub const SYNC_REPLY: u64 = 4;
    pub const STATELESS: u64 = 5;
    pub const BROADCAST_STATELESS: u64 = 6;
    pub const CLOSE: u64 = 7;
    pub const SYNC_STATUS: u64 = 8;
    pub const PING: u64 = 9;
    pub const PONG: u64 = 10;
}
