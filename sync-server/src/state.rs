//! What every request and connection shares: the pool, the document hub, the write path, the
//! token verifier, fan-out, the copilot, limits, and the flags shutdown sets. Built once by
//! `app::start`; handlers receive it as axum state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sqlx::PgPool;

use crate::auth::Verifier;
use crate::copilot::Copilot;
use crate::fanout::Fanout;
use crate::hub::DocHub;
use crate::limits::Limiter;
use crate::persist::Persister;

/// Cloned into every request and connection: one pointer (a sync connection keeps it for its
/// whole life, so its size is paid per idle lawyer).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub pool: PgPool,
    pub hub: Arc<DocHub>,
    pub persister: Persister,
    pub verifier: Verifier,
    pub fanout: Arc<Fanout>,
    pub draining: Arc<AtomicBool>,
    pub copilot: Arc<Copilot>,
    /// Sync connections open on this instance (shutdown waits for them to close).
    pub open_connections: Arc<AtomicU64>,
    /// Set once on shutdown: every sync connection closes with "service restart".
    pub restarting: Arc<tokio::sync::watch::Sender<bool>>,
    /// Connections per user and address, new matters per user (`HUB_MAX_*`).
    pub limiter: Arc<Limiter>,
    /// This instance's copy of each firm's party index, for the conflicts check.
    pub parties: Arc<crate::conflicts::search::PartyIndex>,
    next_connection: Arc<AtomicU64>,
}

impl AppState {
    /// The shared state of a server that is not draining and has no connection open yet.
    pub fn new(
        pool: PgPool,
        hub: Arc<DocHub>,
        persister: Persister,
        verifier: Verifier,
        fanout: Arc<Fanout>,
        copilot: Arc<Copilot>,
        limiter: Arc<Limiter>,
    ) -> Self {
        Self(Arc::new(Shared {
            pool,
            hub,
            persister,
            verifier,
            fanout,
            draining: Arc::new(AtomicBool::new(false)),
            copilot,
            open_connections: Arc::new(AtomicU64::new(0)),
            restarting: Arc::new(tokio::sync::watch::Sender::new(false)),
            limiter,
            parties: Arc::default(),
            next_connection: Arc::new(AtomicU64::new(1)),
        }))
    }

    pub fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}
