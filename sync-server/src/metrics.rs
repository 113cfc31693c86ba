//! Counters the benchmark and tests read. (The Prometheus exporter comes with the operations work.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub static WRITE_BATCHES: AtomicU64 = AtomicU64::new(0);
pub static WRITE_REQUESTS: AtomicU64 = AtomicU64::new(0);
pub static WRITE_MICROS: AtomicU64 = AtomicU64::new(0);
pub static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
pub static FRAMES_IN: AtomicU64 = AtomicU64::new(0);
pub static PROTOCOL_ERRORS: AtomicU64 = AtomicU64::new(0);
/// Times a client was asked for a fresh token because its token expired.
pub static TOKEN_REQUESTS: AtomicU64 = AtomicU64::new(0);

pub fn record_batch(requests: usize, elapsed: Duration) {
    WRITE_BATCHES.fetch_add(1, Ordering::Relaxed);
    WRITE_REQUESTS.fetch_add(requests as u64, Ordering::Relaxed);
    WRITE_MICROS.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
}

/// A plain-text snapshot for `/api/v1/stats`.
pub fn snapshot() -> String {
    format!(
        "connections {}\nframes_in {}\nprotocol_errors {}\ntoken_requests {}\nwrite_batches {}\nwrite_requests {}\nwrite_micros {}\n",
        CONNECTIONS.load(Ordering::Relaxed),
        FRAMES_IN.load(Ordering::Relaxed),
        PROTOCOL_ERRORS.load(Ordering::Relaxed),
        TOKEN_REQUESTS.load(Ordering::Relaxed),
        WRITE_BATCHES.load(Ordering::Relaxed),
        WRITE_REQUESTS.load(Ordering::Relaxed),
        WRITE_MICROS.load(Ordering::Relaxed),
    )
}
