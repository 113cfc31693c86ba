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
        }
    }
}
