//! Lawyers Hub local-first core: an encrypted SQLite store of yrs documents with an outbox, and
//! the sync client that keeps it in step with the server over one WebSocket.
//! See `README.md` in this crate for the API and the on-disk schema.

mod backoff;
mod client;
mod doc_log;
mod error;
mod keys;
mod migrations;
mod outbox;
mod session;
mod store;

pub use client::{SyncClient, SyncConfig, SyncEvent, SyncHandle, SyncState};
pub use error::LocalError;
pub use keys::{FixedKey, KeyProvider, StaticToken, TokenSource};
pub use outbox::OutboxEntry;
pub use protocol::AwarenessEntry;
pub use protocol::DocName;
pub use store::{COMPACT_AFTER_LOG_ROWS, Store};
