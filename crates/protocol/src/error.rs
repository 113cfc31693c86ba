use thiserror::Error;

/// Why a frame was refused. `code()` is stable and safe to show to clients.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("frame is empty")]
    Empty,
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge { size: usize, limit: usize },
    #[error("document name of {size} bytes exceeds the limit of {limit} bytes")]
    NameTooLong { size: usize, limit: usize },
    #[error("unexpected end of frame while reading {what}")]
    Truncated { what: &'static str },
    #[error("integer too large while reading {what}")]
    VarIntOverflow { what: &'static str },
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 { what: &'static str },
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    #[error("unknown sync message type {0}")]
    UnknownSyncType(u64),
    #[error("unknown auth message type {0}")]
    UnknownAuthType(u64),
    #[error("{count} trailing bytes after the message")]
    TrailingBytes { count: usize },
    #[error("{what} exceeds the limit of {limit}")]
    LimitExceeded { what: &'static str, limit: usize },
    #[error("invalid document name: {0}")]
    InvalidDocName(&'static str),
    #[error("invalid Yjs update: {0}")]
    InvalidUpdate(String),
    #[error("invalid hub message: {0}")]
    InvalidHubMessage(String),
    #[error("this change is malformed: {0}")]
    MalformedChange(ChangeDefect),
    /// The change writes where its author may not (a commenter's change to a draft's text).
    #[error("this change writes {0}")]
    OutsideScope(String),
}

/// What is wrong with a change (a Yjs update) that decodes but that yrs cannot integrate safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ChangeDefect {
    #[error("client id {client} is larger than 2^53 - 1")]
    ClientIdTooLarge { client: u64 },
    #[error("client {client} is listed twice")]
    ClientListedTwice { client: u64 },
    #[error("the clocks of client {client} run past the largest clock")]
    ClockOverflow { client: u64 },
    /// Blocks of `client` start at `to` while the document has its clocks only below `from`.
    #[error("it skips clocks {from}..{to} of client {client}, which this document does not have")]
    SkipsClocks { client: u64, from: u32, to: u32 },
    /// An item that names its parent starts below the clocks the document has of its client
    /// (`known`) and ends above them.
    #[error(
        "its item at clocks {from}..{to} of client {client} overlaps what this document has \
         (up to {known})"
    )]
    OverlapsKnownClocks {
        client: u64,
        from: u32,
        to: u32,
        known: u32,
    },
    /// A block builds on a change that is neither in the document nor in the update.
    #[error("it builds on clock {clock} of client {client}, which this document does not have")]
    BuildsOnMissing { client: u64, clock: u32 },
    /// Blocks that build on each other in a circle (one of them at this client and clock).
    #[error("its block at clock {clock} of client {client} builds on itself")]
    BuildsOnItself { client: u64, clock: u32 },
}

impl ProtocolError {
    /// A stable machine-readable code for logs, metrics and clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_frame",
            Self::FrameTooLarge { .. } => "frame_too_large",
            Self::NameTooLong { .. } => "name_too_long",
            Self::Truncated { .. } => "truncated",
            Self::VarIntOverflow { .. } => "varint_overflow",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::UnknownMessageType(_) => "unknown_message_type",
            Self::UnknownSyncType(_) => "unknown_sync_type",
            Self::UnknownAuthType(_) => "unknown_auth_type",
            Self::TrailingBytes { .. } => "trailing_bytes",
            Self::LimitExceeded { .. } => "limit_exceeded",
            Self::InvalidDocName(_) => "invalid_doc_name",
            Self::InvalidUpdate(_) => "invalid_update",
            Self::InvalidHubMessage(_) => "invalid_hub_message",
            Self::MalformedChange(_) => "malformed_change",
            Self::OutsideScope(_) => "outside_scope",
        }
    }
}

/// Why [`crate::integrate_update`] did not integrate an update.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IntegrateError {
    /// Refused before yrs saw it: the document is unchanged.
    #[error(transparent)]
    Refused(ProtocolError),
    /// yrs refused it part-way: the document may hold part of it.
    #[error("yrs could not integrate it: {0}")]
    Integration(String),
}
