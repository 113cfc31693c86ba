//! Lawyers Hub local-first core: an encrypted SQLite store of yrs documents with an outbox, and
//! the sync client that keeps it in step with the server over one WebSocket, and the desktop
//! sign-in (OAuth 2.0 code + PKCE with a loopback redirect) that supplies its token.
//! See `README.md` in this crate for the API and the on-disk schema.

mod account;
pub mod address;
mod archive;
mod backoff;
mod client;
mod doc_log;
pub mod docx;
pub mod draft;
mod error;
pub mod firm_server;
mod id_token;
mod keys;
mod loopback;
pub mod matter;
mod matters;
mod migrations;
pub mod net;
mod outbox;
pub mod pdf;
pub mod projection;
mod removal;
mod session;
mod signed_in;
mod signin;
mod store;
mod stores;
mod token_store;

pub use account::{Account, Binding, normalize_server};
pub use archive::{ArchiveError, ArchiveSummary, export_archive, import_archive};
pub use client::{SyncClient, SyncConfig, SyncEvent, SyncHandle, SyncState};
pub use error::LocalError;
pub use id_token::SignedInUser;
pub use keys::{
    FixedKey, KeyProvider, KeySlot, MemoryKeySlot, StaticToken, StoredKey, TokenSource,
};
pub use matters::STATUSES;
pub use oauth2::url::Url;
pub use outbox::OutboxEntry;
pub use protocol::AwarenessEntry;
pub use protocol::DocName;
pub use removal::{PurgeReport, RemovedMatter};
pub use signed_in::SignedIn;
pub use signin::{Restored, Revocation, SignIn, SignInConfig};
pub use store::{COMPACT_AFTER_LOG_ROWS, OutboxState, Store};
pub use stores::StoreFiles;
pub use token_store::{KeychainTokenStore, MemoryTokenStore, TokenStore};
