//! The sync client: one multiplexed WebSocket to the firm's sync server that keeps the store in
//! step with it. `client` owns the task, the socket and the reconnect loop; `session` is the
//! protocol state of one connection (catch-up, subscriptions, the outbox in flight, awareness);
//! `backoff` spaces the reconnects.

mod backoff;
mod bound_tokens;
mod client;
mod session;

pub use client::{SyncClient, SyncConfig, SyncEvent, SyncHandle, SyncState};
