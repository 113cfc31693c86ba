//! Wiring: shared state, routes, background tasks, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sqlx::PgPool;

use crate::auth::{DevAuth, Verifier};
use crate::config::ServeSettings;
use crate::fanout::Fanout;
use crate::hub::{DocEntry, DocHub};
use crate::persist::Persister;
use crate::{connection, db, metrics, migrate};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub hub: Arc<DocHub>,
    pub persister: Persister,
    pub verifier: Verifier,
    pub fanout: Arc<Fanout>,
    pub draining: Arc<AtomicBool>,
    pub copilot: Arc<crate::copilot::Copilot>,
    next_connection: Arc<AtomicU64>,
}

impl AppState {
    pub fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/sync", get(sync_socket))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/api/v1/stats", get(|| async { metrics::snapshot() }))
        .merge(crate::rest::routes())
        .merge(crate::copilot::routes(state.copilot.settings()))
        .with_state(state)
}

async fn sync_socket(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    if state.draining.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "restarting: connect to another instance",
        )
            .into_response();
    }
    upgrade
        .max_message_size(protocol::MAX_FRAME_BYTES)
        .max_frame_size(protocol::MAX_FRAME_BYTES)
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| connection::serve(socket, state))
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.draining.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining").into_response();
    }
    if let Err(error) = sqlx::query("SELECT 1").execute(&state.pool).await {
        tracing::warn!(%error, "readiness: postgres unreachable");
        return (StatusCode::SERVICE_UNAVAILABLE, "postgres unreachable").into_response();
    }
    if state.fanout.enabled() && !state.fanout.healthy() {
        return (StatusCode::SERVICE_UNAVAILABLE, "redis unreachable").into_response();
    }
    (StatusCode::OK, "ready").into_response()
}

/// Run CPU-heavy work (integrating a long history) without stalling the other tasks scheduled
/// on this worker thread: on the multi-threaded runtime they are moved to another worker.
pub fn cpu_bound<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// The token verifier the settings ask for. A JWKS is fetched once here so that a wrong URL
/// stops the start, not the first sign-in.
pub async fn build_verifier(settings: &ServeSettings) -> anyhow::Result<Verifier> {
    use crate::oidc::{JwksCache, KeySource, OidcSettings, OidcVerifier};
    let identity = &settings.identity;
    let oidc = match &identity.issuer {
        None => None,
        Some(issuer) => {
            let keys = match (&identity.jwt_key, identity.jwks_url()) {
                (Some(pem), _) => KeySource::Pem(Box::new(
                    jsonwebtoken::DecodingKey::from_rsa_pem(pem.replace("\\n", "\n").as_bytes())
                        .map_err(|_| {
                            anyhow::anyhow!("CLERK_JWT_KEY is not an RSA public key in PEM format")
                        })?,
                )),
                (None, Some(url)) => {
                    let cache = JwksCache::new(url);
                    cache
                        .refresh()
                        .await
                        .map_err(|error| anyhow::anyhow!("{error} ({})", cache.url()))?;
                    KeySource::Jwks(cache)
                }
                (None, None) => anyhow::bail!("set CLERK_JWT_KEY or HUB_JWKS_URL"),
            };
            Some(OidcVerifier::new(
                OidcSettings {
                    issuer: issuer.clone(),
                    authorized_parties: identity.authorized_parties.clone(),
                    firm_claim: identity.firm_claim.clone(),
                    audience: identity.audience.clone(),
                },
                keys,
            ))
        }
    };
    let dev = settings
        .dev_auth
        .then(|| DevAuth::new(&settings.dev_secret.value));
    Ok(Verifier::new(oidc, dev))
}

/// Fold a document's log into a snapshot in the background.
pub fn spawn_compaction(pool: PgPool, hub: Arc<DocHub>, entry: Arc<DocEntry>) {
    tokio::spawn(async move {
        let rebuild = |stored: &db::StoredDocument| cpu_bound(|| crate::hub::rebuild_state(stored));
        let folded = match db::compact_document(&pool, entry.id, rebuild).await {
            Ok(folded) => folded,
            Err(error) => {
                tracing::warn!(%error, doc = entry.id, "compaction failed");
                0
            }
        };
        hub.finish_compaction(&entry, folded);
    });
}

/// A server that is running; dropping `shutdown` (or sending on it) stops it gracefully.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    pub shutdown: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Start serving: check the schema, connect, spawn background tasks, bind.
pub async fn start(settings: &ServeSettings) -> anyhow::Result<Running> {
    use anyhow::Context;
    settings.validate().map_err(anyhow::Error::msg)?;
    let pool = db::connect(&settings.database)
        .await
        .context("cannot connect to Postgres (DATABASE_URL)")?;
    migrate::ensure_current(&pool).await?;
    let fanout = match &settings.redis_url {
        Some(url) => Fanout::connect(url)
            .await
            .context("cannot connect to Redis (REDIS_URL)")?,
        None => Arc::new(Fanout::disabled()),
    };
    let hub = Arc::new(DocHub::new());
    let persister = Persister::start(
        pool.clone(),
        hub.clone(),
        fanout.clone(),
        settings.compact_after,
        settings.writers,
    );
    fanout.spawn_subscriber(hub.clone(), pool.clone(), settings.compact_after);
    let verifier = build_verifier(settings).await?;
    let copilot = Arc::new(crate::copilot::Copilot::new(&settings.copilot));
    let state = AppState {
        pool,
        hub: hub.clone(),
        persister,
        verifier,
        fanout,
        draining: Arc::new(AtomicBool::new(false)),
        copilot,
        next_connection: Arc::new(AtomicU64::new(1)),
    };
    let owed_hub = hub.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::hub::PUSH_INTERVAL / 2);
        loop {
            tick.tick().await;
            owed_hub.flush_owed();
        }
    });
    let idle = Duration::from_secs(settings.doc_idle_secs);
    let sweeper_hub = hub.clone();
    tokio::spawn(async move {
        let mut tick =
            tokio::time::interval(Duration::from_secs(5).min(idle.max(Duration::from_millis(200))));
        loop {
            tick.tick().await;
            let evicted = sweeper_hub.evict_idle(idle);
            if evicted > 0 {
                tracing::debug!(evicted, "unloaded idle documents");
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("cannot listen on {} (HUB_BIND)", settings.bind))?;
    let addr = listener.local_addr()?;
    // Sync frames are small and latency-bound: never let Nagle hold one back.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(state.clone());
    let draining = state.draining.clone();
    let closing_hub = hub.clone();
    let task = tokio::spawn(async move {
        let signal = async move {
            let _ = shutdown_rx.await;
            draining.store(true, Ordering::Relaxed);
            // 1012 "Service Restart": clients reconnect (to another instance) and resend.
            closing_hub.close_all(1012, "service restart");
        };
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await
        {
            tracing::error!(%error, "server stopped with an error");
        }
    });
    tracing::info!(%addr, "sync-server listening");
    Ok(Running {
        addr,
        state,
        shutdown,
        task,
    })
}
