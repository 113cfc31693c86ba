//! Wiring only: the router, start-up (connect, spawn the background tasks, bind) and graceful
//! shutdown. No other module imports this one; what they share lives in `crate::state`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::build_verifier;
use crate::config::ServeSettings;
use crate::fanout::Fanout;
use crate::hub::DocHub;
use crate::persist::Persister;
use crate::state::AppState;
use crate::{connection, db, metrics, migrate};

pub fn router(state: AppState, feed: Option<Arc<crate::releases::Feed>>) -> Router {
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
    use tower_http::trace::{DefaultOnResponse, TraceLayer};
    Router::new()
        .route("/api/v1/sync", get(sync_socket))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics::render))
        .merge(crate::rest::routes())
        .merge(crate::copilot::routes(state.copilot.settings()))
        .merge(crate::releases::routes(feed))
        // Routes added after this line are neither counted nor logged with a request id.
        .layer(axum::middleware::from_fn(metrics::track_http))
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::x_request_id()),
        )
        .with_state(state)
}

/// Every log line of a request carries its id (`x-request-id`, generated when absent). Only
/// the path is logged: never headers (tokens) or the query string.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "http",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

async fn sync_socket(
    State(state): State<AppState>,
    mut request: axum::extract::Request,
) -> Response {
    let accept = match websocket_accept(request.headers()) {
        Ok(accept) => accept,
        Err(reason) => return (StatusCode::BAD_REQUEST, reason).into_response(),
    };
    let extensions = request.extensions();
    if state.draining.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "restarting: connect to another instance",
        )
            .into_response();
    }
    let peer = extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let address_slot = match peer {
        Some(address) => match state.limiter.address_connection(address) {
            Some(slot) => Some(slot),
            None => {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many connections from this address",
                )
                    .into_response();
            }
        },
        None => None,
    };
    let upgrade = hyper::upgrade::on(&mut request);
    // One line ties the upgrade request's id to the connection's id, which the connection's
    // log lines carry (a span kept open for the life of every socket would cost each idle
    // connection its formatted fields).
    let id = state.next_connection_id();
    tracing::info!(conn = id, "websocket connection opened");
    let future = async move {
        let upgraded = match upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(conn = id, %error, "websocket upgrade failed");
                return;
            }
        };
        let socket = crate::ws::Socket::new(
            hyper_util::rt::TokioIo::new(upgraded),
            protocol::MAX_FRAME_BYTES,
            connection::FRAGMENT,
        );
        connection::Connection::new(socket, id, state, address_slot)
            .run()
            .await;
    };
    tokio::spawn(future);
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(axum::http::header::CONNECTION, "upgrade")
        .header(axum::http::header::UPGRADE, "websocket")
        .header(axum::http::header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Check a WebSocket upgrade request (RFC 6455 §4.2.1) and derive its `Sec-WebSocket-Accept`.
fn websocket_accept(headers: &axum::http::HeaderMap) -> Result<String, &'static str> {
    use axum::http::header;
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return Err(
            "this address takes WebSocket connections only (Connection: upgrade, Upgrade: websocket)",
        );
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|version| version.as_bytes() != b"13")
    {
        return Err("WebSocket version 13 is required (Sec-WebSocket-Version: 13)");
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or("Sec-WebSocket-Key is missing")?;
    Ok(tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()))
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.draining.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining").into_response();
    }
    if let Err(error) = db::ping(&state.pool).await {
        tracing::warn!(%error, "readiness: postgres unreachable");
        return (StatusCode::SERVICE_UNAVAILABLE, "postgres unreachable").into_response();
    }
    if state.fanout.enabled() && !state.fanout.healthy() {
        return (StatusCode::SERVICE_UNAVAILABLE, "redis unreachable").into_response();
    }
    (StatusCode::OK, "ready").into_response()
}

/// After the listener stopped: wait (until `deadline`) for sync sockets to close and for the
/// writes they queued to commit and be acked.
async fn finish_in_flight(state: &AppState, deadline: tokio::time::Instant) {
    while state.open_connections.load(Ordering::Acquire) > 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let open = state.open_connections.load(Ordering::Acquire);
    let flushed = state.persister.wait_idle(deadline).await;
    if open > 0 || !flushed {
        tracing::warn!(
            open_connections = open,
            writes_flushed = flushed,
            "shutdown deadline passed"
        );
    } else {
        tracing::info!("drained: every socket closed and every queued write committed");
    }
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
    settings.validate()?;
    if settings.environment == crate::config::Environment::Production {
        let report = crate::preflight::run(settings).await;
        if report.blocking().next().is_some() {
            anyhow::bail!(
                "preflight failed; refusing to start in production:\n{}",
                report.render()
            );
        }
        for check in report.checks.iter().filter(|check| !check.ok) {
            tracing::warn!(check = check.name, detail = %check.detail, fix = %check.fix, "preflight");
        }
    }
    metrics::install();
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
    let hub = Arc::new(DocHub::new(crate::hub::AwarenessLimits {
        max_states: settings.limits.max_awareness_states,
        max_state_bytes: settings.limits.max_awareness_state_bytes,
    }));
    let persister = Persister::start(
        pool.clone(),
        hub.clone(),
        fanout.clone(),
        settings.compact_after,
        settings.writers(),
    );
    fanout.spawn_subscriber(hub.clone(), pool.clone(), settings.compact_after);
    crate::access_watch::spawn(hub.clone(), pool.clone());
    let verifier = build_verifier(settings).await?;
    let copilot = Arc::new(crate::copilot::Copilot::new(&settings.copilot));
    copilot.cache().spawn_listener(pool.clone());
    let state = AppState::new(
        pool,
        hub.clone(),
        persister,
        verifier,
        fanout,
        copilot,
        crate::limits::Limiter::new(settings.limits.clone()),
    );
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
    let feed = settings.ops.releases_dir.clone().map(|dir| {
        Arc::new(crate::releases::Feed {
            dir,
            public_url: settings.ops.public_url.clone(),
        })
    });
    let app = router(state.clone(), feed).into_make_service_with_connect_info::<SocketAddr>();
    let draining = state.draining.clone();
    let restarting = state.restarting.clone();
    let drain_delay = Duration::from_secs(settings.ops.drain_delay_secs);
    let shutdown_timeout = Duration::from_secs(settings.ops.shutdown_timeout_secs);
    let stopping = state.clone();
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<tokio::time::Instant>();
    let task = tokio::spawn(async move {
        let signal = async move {
            let _ = shutdown_rx.await;
            let _ = signalled_tx.send(tokio::time::Instant::now());
            // Readiness fails and new sockets are refused from here on.
            draining.store(true, Ordering::Relaxed);
            tracing::info!(
                delay_secs = drain_delay.as_secs(),
                "draining: /readyz fails"
            );
            tokio::time::sleep(drain_delay).await;
            // 1012 "Service Restart": clients reconnect (to another instance) and resend.
            restarting.send_replace(true);
        };
        if let Err(error) = axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await
        {
            tracing::error!(%error, "server stopped with an error");
        }
        let started = signalled_rx
            .await
            .unwrap_or_else(|_| tokio::time::Instant::now());
        finish_in_flight(&stopping, started + shutdown_timeout).await;
    });
    tracing::info!(%addr, "sync-server listening");
    Ok(Running {
        addr,
        state,
        shutdown,
        task,
    })
}
