//! Metrics: a global Prometheus recorder (so `metrics::counter!` works from any module), the
//! HTTP middleware that counts requests by route and status, and `/metrics`. The plain counters
//! below also feed `/api/v1/stats` (firm admins only) and are read directly by some tests.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

pub static WRITE_BATCHES: AtomicU64 = AtomicU64::new(0);
pub static WRITE_REQUESTS: AtomicU64 = AtomicU64::new(0);
pub static WRITE_MICROS: AtomicU64 = AtomicU64::new(0);
/// Rows appended to `doc_updates` (a document's updates from one lawyer in one commit share one).
pub static WRITE_ROWS: AtomicU64 = AtomicU64::new(0);
pub static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
pub static FRAMES_IN: AtomicU64 = AtomicU64::new(0);
pub static PROTOCOL_ERRORS: AtomicU64 = AtomicU64::new(0);
/// Times a client was asked for a fresh token because its token expired.
pub static TOKEN_REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Names of the series, in one place for the code, the alert rules and the dashboard.
pub mod name {
    pub const HTTP_REQUESTS: &str = "hub_http_requests_total";
    pub const HTTP_DURATION: &str = "hub_http_request_duration_seconds";
    pub const WS_CONNECTIONS: &str = "hub_websocket_connections";
    pub const WS_OPENED: &str = "hub_websocket_connections_opened_total";
    pub const DOCUMENTS_LOADED: &str = "hub_documents_loaded";
    pub const SYNC_FRAMES: &str = "hub_sync_frames_total";
    pub const SYNC_BYTES: &str = "hub_sync_bytes_total";
    pub const ACK_LATENCY: &str = "hub_sync_ack_latency_seconds";
    pub const WRITE_BATCHES: &str = "hub_write_batches_total";
    pub const WRITE_FAILURES: &str = "hub_write_failures_total";
    pub const PROTOCOL_ERRORS: &str = "hub_protocol_errors_total";
    pub const DB_POOL_SIZE: &str = "hub_db_pool_connections";
    pub const DB_POOL_IDLE: &str = "hub_db_pool_idle_connections";
    pub const DB_POOL_MAX: &str = "hub_db_pool_max_connections";
    pub const REDIS_CONFIGURED: &str = "hub_redis_configured";
    pub const REDIS_UP: &str = "hub_redis_up";
    pub const DRAINING: &str = "hub_draining";
    pub const COPILOT_CALLS: &str = "hub_copilot_calls_total";
    pub const COPILOT_TOKENS: &str = "hub_copilot_tokens_total";
    pub const COPILOT_ERRORS: &str = "hub_copilot_errors_total";
    pub const COPILOT_POLICY_CHECKS: &str = "hub_copilot_policy_checks_total";
    pub const COPILOT_POLICY_LISTENER_UP: &str = "hub_copilot_policy_listener_up";
}

/// Latency buckets (seconds). 2 s and 5 s are bucket edges because the alert thresholds are
/// there; the fine low end gives P50 of fast requests.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0,
];

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
/// The per-frame counters, looked up once: `counter!` with labels builds its key and searches
/// the registry on every call, and a broadcast to 1,500 lawyers makes 1,500 calls.
struct FrameCounters {
    frames_in: metrics::Counter,
    bytes_in: metrics::Counter,
    frames_out: metrics::Counter,
    bytes_out: metrics::Counter,
}
static FRAME_COUNTERS: OnceLock<FrameCounters> = OnceLock::new();
static PROCESS: OnceLock<metrics_process::Collector> = OnceLock::new();

/// Install the global recorder once per process (several servers in one test process share
/// it). Returns `None` only when another recorder was installed first by someone else.
pub fn install() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|builder| builder.install_recorder());
            match handle {
                Ok(handle) => {
                    describe();
                    let _ = FRAME_COUNTERS.set(FrameCounters {
                        frames_in: metrics::counter!(name::SYNC_FRAMES, "direction" => "in"),
                        bytes_in: metrics::counter!(name::SYNC_BYTES, "direction" => "in"),
                        frames_out: metrics::counter!(name::SYNC_FRAMES, "direction" => "out"),
                        bytes_out: metrics::counter!(name::SYNC_BYTES, "direction" => "out"),
                    });
                    Some(handle)
                }
                Err(error) => {
                    tracing::error!(%error, "cannot install the metrics recorder; /metrics is off");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        name::HTTP_REQUESTS,
        "HTTP requests by route, method and status"
    );
    describe_histogram!(
        name::HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by route"
    );
    describe_gauge!(name::WS_CONNECTIONS, "Open sync WebSocket connections");
    describe_counter!(name::WS_OPENED, "Sync WebSocket connections accepted");
    describe_gauge!(
        name::DOCUMENTS_LOADED,
        "Documents held in memory by this instance"
    );
    describe_counter!(
        name::SYNC_FRAMES,
        "Sync frames by direction (in = from clients, out = to clients)"
    );
    describe_counter!(
        name::SYNC_BYTES,
        Unit::Bytes,
        "Sync bytes by direction (in = from clients, out = to clients)"
    );
    describe_histogram!(
        name::ACK_LATENCY,
        Unit::Seconds,
        "From receiving an update to acking it after the Postgres commit"
    );
    describe_counter!(name::WRITE_BATCHES, "Group commits of updates to Postgres");
    describe_counter!(
        name::WRITE_FAILURES,
        "Update batches that could not be stored (clients resend)"
    );
    describe_counter!(
        name::PROTOCOL_ERRORS,
        "Connections closed for a protocol violation"
    );
    describe_gauge!(name::DB_POOL_SIZE, "Open Postgres connections in the pool");
    describe_gauge!(name::DB_POOL_IDLE, "Idle Postgres connections in the pool");
    describe_gauge!(name::DB_POOL_MAX, "The pool's connection limit");
    describe_gauge!(name::REDIS_CONFIGURED, "1 when Redis fan-out is configured");
    describe_gauge!(
        name::REDIS_UP,
        "1 when Redis is reachable (or not configured), 0 when it is down"
    );
    describe_gauge!(name::DRAINING, "1 while the instance drains for a restart");
    describe_counter!(name::COPILOT_CALLS, "Copilot calls to the model endpoint");
    describe_counter!(name::COPILOT_TOKENS, "Model tokens used by the copilot");
    describe_counter!(name::COPILOT_ERRORS, "Copilot calls that failed");
    describe_counter!(
        name::COPILOT_POLICY_CHECKS,
        "Copilot policy checks by where the answer came from (memory or database)"
    );
    describe_gauge!(
        name::COPILOT_POLICY_LISTENER_UP,
        "1 when this instance hears copilot policy changes (else every check reads Postgres)"
    );
    describe_counter!(
        crate::hub::BAD_DOCUMENTS,
        "Stored documents yrs could not integrate (skipped by compaction, resync and backup)"
    );
    describe_counter!(
        crate::connection::REFUSED_UPDATES,
        "Client updates refused before storage because yrs cannot integrate them (safely)"
    );
    describe_counter!(
        crate::access_watch::RECHECKS,
        "Re-checks of every open subscription's access (after a gap in hearing access notices)"
    );
    describe_gauge!(
        crate::access_watch::LISTENER_UP,
        "1 when this instance hears Postgres access notices (walls, removals) as they commit"
    );
    // Present from the first scrape, so rules and dashboards see zero rather than no data.
    for counter in [
        name::COPILOT_CALLS,
        name::COPILOT_TOKENS,
        name::COPILOT_ERRORS,
        name::WRITE_FAILURES,
        name::PROTOCOL_ERRORS,
        crate::hub::BAD_DOCUMENTS,
        crate::connection::REFUSED_UPDATES,
        crate::access_watch::RECHECKS,
    ] {
        metrics::counter!(counter).increment(0);
    }
    metrics::gauge!(crate::access_watch::LISTENER_UP).set(0.0);
    let process = PROCESS.get_or_init(metrics_process::Collector::default);
    process.describe();
}

pub fn record_batch(requests: usize, rows: usize, elapsed: Duration) {
    WRITE_BATCHES.fetch_add(1, Ordering::Relaxed);
    WRITE_REQUESTS.fetch_add(requests as u64, Ordering::Relaxed);
    WRITE_ROWS.fetch_add(rows as u64, Ordering::Relaxed);
    WRITE_MICROS.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    metrics::counter!(name::WRITE_BATCHES).increment(1);
}

/// A copilot policy check answered from memory (`true`) or from Postgres.
pub fn copilot_policy_lookup(kept: bool) {
    let source = if kept { "memory" } else { "database" };
    metrics::counter!(name::COPILOT_POLICY_CHECKS, "source" => source).increment(1);
}

pub fn record_write_failure() {
    metrics::counter!(name::WRITE_FAILURES).increment(1);
}

pub fn record_ack(received: Instant) {
    metrics::histogram!(name::ACK_LATENCY).record(received.elapsed().as_secs_f64());
}

pub fn connection_opened() {
    CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    metrics::counter!(name::WS_OPENED).increment(1);
}

pub fn connection_closed() {
    CONNECTIONS.fetch_sub(1, Ordering::Relaxed);
}

pub fn frame_in(bytes: usize) {
    FRAMES_IN.fetch_add(1, Ordering::Relaxed);
    if let Some(counters) = FRAME_COUNTERS.get() {
        counters.frames_in.increment(1);
        counters.bytes_in.increment(bytes as u64);
    }
}

pub fn frame_out(bytes: usize) {
    if let Some(counters) = FRAME_COUNTERS.get() {
        counters.frames_out.increment(1);
        counters.bytes_out.increment(bytes as u64);
    }
}

pub fn protocol_error() {
    PROTOCOL_ERRORS.fetch_add(1, Ordering::Relaxed);
    metrics::counter!(name::PROTOCOL_ERRORS).increment(1);
}

/// Count and time every HTTP request by its route template (never the raw path: document
/// and case ids would make the label set unbounded).
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(name::HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(name::HTTP_DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: sample the gauges, then render the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    let Some(handle) = install() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder unavailable",
        )
            .into_response();
    };
    metrics::gauge!(name::WS_CONNECTIONS).set(CONNECTIONS.load(Ordering::Relaxed) as f64);
    metrics::gauge!(name::DOCUMENTS_LOADED).set(state.hub.loaded().len() as f64);
    metrics::gauge!(name::DB_POOL_SIZE).set(f64::from(state.pool.size()));
    metrics::gauge!(name::DB_POOL_IDLE).set(state.pool.num_idle() as f64);
    metrics::gauge!(name::DB_POOL_MAX).set(f64::from(state.pool.options().get_max_connections()));
    metrics::gauge!(name::REDIS_CONFIGURED).set(if state.fanout.enabled() { 1.0 } else { 0.0 });
    metrics::gauge!(name::REDIS_UP).set(if state.fanout.healthy() { 1.0 } else { 0.0 });
    metrics::gauge!(name::COPILOT_POLICY_LISTENER_UP).set(
        if state.copilot.cache().is_listening() {
            1.0
        } else {
            0.0
        },
    );
    metrics::gauge!(name::DRAINING).set(if state.draining.load(Ordering::Relaxed) {
        1.0
    } else {
        0.0
    });
    if let Some(process) = PROCESS.get() {
        process.collect();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// `GET /api/v1/stats`: the plain counters, for a firm admin's bearer token only (they are
/// server-wide: connection counts and write volume say how busy the firm is).
#[tracing::instrument(skip_all)]
pub async fn stats(
    crate::http::VerifiedCaller(caller): crate::http::VerifiedCaller,
) -> Result<String, crate::http::ApiError> {
    if !crate::access::is_firm_admin(&caller) {
        return Err(crate::http::ApiError::forbidden(
            "only firm admins can read the server's statistics",
        ));
    }
    Ok(snapshot())
}

/// A plain-text snapshot for `/api/v1/stats`.
pub fn snapshot() -> String {
    format!(
        "connections {}\nframes_in {}\nprotocol_errors {}\ntoken_requests {}\nwrite_batches {}\nwrite_requests {}\nwrite_rows {}\nwrite_micros {}\n",
        CONNECTIONS.load(Ordering::Relaxed),
        FRAMES_IN.load(Ordering::Relaxed),
        PROTOCOL_ERRORS.load(Ordering::Relaxed),
        TOKEN_REQUESTS.load(Ordering::Relaxed),
        WRITE_BATCHES.load(Ordering::Relaxed),
        WRITE_REQUESTS.load(Ordering::Relaxed),
        WRITE_ROWS.load(Ordering::Relaxed),
        WRITE_MICROS.load(Ordering::Relaxed),
    )
}
