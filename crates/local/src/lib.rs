//! Lawyers Hub local-first core: an encrypted SQLite store of yrs documents with an outbox, and
//! the sync client that keeps it in step with the server over one WebSocket, and the desktop
//! sign-in (OAuth 2.0 code + PKCE with a loopback redirect) that supplies its token.
//! See `README.md` in this crate for the API, the module map and the on-disk schema.
//!
//! The rooms: `store` (the store, its documents and projections), `sync` (the sync client),
//! `identity` (sign-in and accounts), `firm` (the firm's REST API), `export` (Word, PDF,
//! archives), `import` (Word files into drafts); shared by them, `net` (every connection the laptop makes) and `address` (the
//! server and identity provider addresses from the settings).

pub mod address;
mod error;
pub mod export;
pub mod firm;
pub mod identity;
pub mod import;
pub mod net;
pub mod store;
pub mod sync;

pub use error::LocalError;
pub use export::{ArchiveError, ArchiveSummary, export_archive, import_archive};
pub use identity::{
    Account, KeychainTokenStore, MemoryTokenStore, Restored, Revocation, SignIn, SignInConfig,
    SignedIn, SignedInUser, StaticToken, TokenSource, TokenStore, normalize_server,
};
pub use oauth2::url::Url;
pub use protocol::AwarenessEntry;
pub use protocol::{CaseId, DocName};
pub use store::{
    Binding, COMPACT_AFTER_LOG_ROWS, FixedKey, KeyProvider, KeySlot, LegalHold, MemoryKeySlot,
    OutboxEntry, OutboxState, PurgeReport, RemovedMatter, STATUSES, Store, StoreFiles, StoredKey,
    Vault, VaultError, VaultSlot, VaultTokenStore,
};
pub use sync::{SyncClient, SyncConfig, SyncEvent, SyncHandle, SyncState};
