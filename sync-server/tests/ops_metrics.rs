//! `/metrics` in the Prometheus text format against a real server with a real client syncing;
//! request ids in JSON logs and a bounded SIGTERM of the real binary; `/readyz` while draining.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const WAIT: Duration = Duration::from_secs(30);

/// Parse the text format into `series{labels} -> value` (labels as printed).
fn parse(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The value of the first series whose name is `name` and whose labels include every pair.
fn value(series: &HashMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    series
        .iter()
        .filter(|(key, _)| {
            let (key_name, rest) = key.split_once('{').unwrap_or((key.as_str(), ""));
            key_name == name
                && labels
                    .iter()
                    .all(|(label, value)| rest.contains(&format!("{label}=\"{value}\"")))
        })
        .map(|(_, value)| *value)
        .next()
}

/// `hub_*` and `process_*` series names mentioned in a rules file or dashboard.
fn series_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let bytes = text.as_bytes();
    for prefix in ["hub_", "process_"] {
        let mut from = 0;
        while let Some(found) = text[from..].find(prefix) {
            let start = from + found;
            let preceded = start > 0
                && (bytes[start - 1].is_ascii_alphanumeric()
                    || bytes[start - 1] == b'_'
                    || bytes[start - 1] == b':');
            let end = text[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(text.len(), |offset| start + offset);
            if !preceded {
                names.insert(text[start..end].to_owned());
            }
            from = end;
        }
    }
    names
}

async fn scrape(base: &str) -> HashMap<String, f64> {
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    parse(&response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_cover_http_sync_storage_redis_process_and_copilot() {
    let firm = Firm::serving(fresh_database().await, 1, Some(&redis_url())).await;
    let server = firm.server();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();

    let before = scrape(&base).await;
    let healthz_before = value(
        &before,
        "hub_http_requests_total",
        &[("route", "/healthz"), ("status", "200")],
    )
    .unwrap_or(0.0);

    // Traffic: health checks, a refused REST call (401), and a client syncing edits.
    for _ in 0..3 {
        assert_eq!(
            http.get(format!("{base}/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(format!("{base}/api/v1/cases"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let doc = draft_name(&new_case());
    let mut ada = firm.laptop("ada");
    ada.write_and_sync(&doc, "Clause 1. ", WAIT).await;
    for i in 0..5 {
        ada.type_text(&doc, &format!("edit {i}. "));
    }
    ada.wait_synced(WAIT).await;

    // Gauges set from the scraped instance's state as it renders (draining, Redis) share the
    // test process's recorder with the other tests' servers: scrape until this instance's
    // values are the ones read (another server rendering at the same moment changes them).
    let mut after = scrape(&base).await;
    let deadline = Instant::now() + WAIT;
    while (value(&after, "hub_draining", &[]) != Some(0.0)
        || value(&after, "hub_redis_configured", &[]) != Some(1.0))
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = scrape(&base).await;
    }
    let get = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} missing"))
    };
    // Requests by route and status; a latency histogram per route with the alert edges.
    assert!(
        get(
            "hub_http_requests_total",
            &[("route", "/healthz"), ("method", "GET"), ("status", "200")]
        ) >= healthz_before + 3.0
    );
    assert!(
        get(
            "hub_http_requests_total",
            &[("route", "/api/v1/cases"), ("status", "401")]
        ) >= 1.0
    );
    assert!(
        get(
            "hub_http_requests_total",
            &[("route", "/api/v1/sync"), ("status", "101")]
        ) >= 1.0
    );
    assert!(
        get(
            "hub_http_request_duration_seconds_count",
            &[("route", "/healthz")]
        ) >= 3.0
    );
    for edge in ["0.005", "2", "5", "+Inf"] {
        get(
            "hub_http_request_duration_seconds_bucket",
            &[("route", "/healthz"), ("le", edge)],
        );
    }
    // The WebSocket, the documents, the frames and bytes, the acks.
    assert!(get("hub_websocket_connections", &[]) >= 1.0);
    assert!(get("hub_websocket_connections_opened_total", &[]) >= 1.0);
    assert!(get("hub_documents_loaded", &[]) >= 1.0);
    assert!(get("hub_sync_frames_total", &[("direction", "in")]) >= 6.0);
    assert!(get("hub_sync_frames_total", &[("direction", "out")]) >= 6.0);
    assert!(get("hub_sync_bytes_total", &[("direction", "in")]) > 0.0);
    assert!(get("hub_sync_bytes_total", &[("direction", "out")]) > 0.0);
    assert!(get("hub_sync_ack_latency_seconds_count", &[]) >= 6.0);
    get("hub_sync_ack_latency_seconds_bucket", &[("le", "2")]);
    assert!(get("hub_write_batches_total", &[]) >= 1.0);
    // Postgres pool, Redis, draining.
    assert_eq!(get("hub_db_pool_max_connections", &[]), 8.0);
    assert!(get("hub_db_pool_connections", &[]) >= 1.0);
    get("hub_db_pool_idle_connections", &[]);
    assert_eq!(get("hub_redis_configured", &[]), 1.0);
    assert_eq!(get("hub_redis_up", &[]), 1.0);
    assert_eq!(get("hub_draining", &[]), 0.0);
    // The process.
    assert!(get("process_resident_memory_bytes", &[]) > 1_000_000.0);
    get("process_cpu_seconds_total", &[]);
    // Copilot series exist from the start (the copilot increments them).
    for name in [
        "hub_copilot_calls_total",
        "hub_copilot_tokens_total",
        "hub_copilot_errors_total",
    ] {
        get(name, &[]);
    }
    // Every series the alert rules and the dashboard query is one this server exports.
    let exported = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    for file in ["prometheus/alerts.yml", "grafana/lawyers-hub.json"] {
        let text = std::fs::read_to_string(deploy.join(file)).unwrap();
        let mut referenced = 0;
        for name in series_names(&text) {
            referenced += 1;
            let base_name = name
                .trim_end_matches("_bucket")
                .trim_end_matches("_count")
                .trim_end_matches("_sum");
            assert!(
                exported.contains(&format!("# TYPE {base_name} ")),
                "{file} queries {name}, which /metrics does not export"
            );
        }
        assert!(referenced >= 5, "{file}: only {referenced} series found");
    }
    // A counter incremented anywhere in the process through the `metrics` facade shows up.
    metrics::counter!("hub_copilot_calls_total").increment(2);
    let later = scrape(&base).await;
    assert!(value(&later, "hub_copilot_calls_total", &[]).unwrap() >= 2.0);

    ada.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_while_draining_and_sockets_close_with_service_restart() {
    let db = fresh_database().await;
    let mut settings = settings(&db, None);
    settings.ops.drain_delay_secs = 2;
    let server = sync_server::app::start(&settings).await.unwrap();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A raw socket, to see the close frame itself.
    let sync_url = ws_url(&server);
    let (mut socket, _) = tokio_tungstenite::connect_async(&sync_url).await.unwrap();
    server.shutdown.send(()).unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let response = http.get(format!("{base}/readyz")).send().await.unwrap();
        if response.status() == 503 {
            assert_eq!(response.text().await.unwrap(), "draining");
            break;
        }
        assert!(Instant::now() < deadline, "readyz never failed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Still alive while draining, and new sync sockets are refused.
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(tokio_tungstenite::connect_async(&sync_url).await.is_err());
    // The gauge is set from the scraped instance's state as it renders, but the recorder is
    // the process's: another test's server rendering at the same moment sets it to 0 for a
    // moment. This instance must report 1 whenever it is scraped alone.
    let deadline = Instant::now() + WAIT;
    loop {
        let scraped = scrape(&base).await;
        if value(&scraped, "hub_draining", &[]) == Some(1.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a draining instance never reported hub_draining 1"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    use futures_util::StreamExt;
    let close = tokio::time::timeout(WAIT, async {
        while let Some(message) = socket.next().await {
            if let Ok(tokio_tungstenite::tungstenite::Message::Close(frame)) = message {
                return frame;
            }
        }
        None
    })
    .await
    .expect("the socket is closed by the drain")
    .expect("with a close frame");
    assert_eq!(u16::from(close.code), 1012);
    assert_eq!(close.reason.as_str(), "service restart");
    drop(socket);
    tokio::time::timeout(WAIT, server.task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_request_ids_and_sigterm_exits_in_bounded_time() {
    let db = fresh_database().await;
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args([
            "serve",
            "--dev-auth",
            "--log-json",
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .env("DATABASE_URL", &db)
        .env("HUB_DEV_SECRET", SECRET)
        .env("HUB_SHUTDOWN_TIMEOUT_SECS", "5")
        .env("HUB_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_port(port, "server").await;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{base}/api/v1/cases"))
        .header("x-request-id", "req-test-4242")
        .header("authorization", "Bearer not-a-real-token-SECRET")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-request-id"], "req-test-4242");
    let generated = http.get(format!("{base}/healthz")).send().await.unwrap();
    let generated_id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        generated_id.len(),
        36,
        "a UUID is generated: {generated_id}"
    );

    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || {
        let status = child.wait().unwrap();
        let mut logs = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut logs)
            .unwrap();
        (status, logs)
    });
    let (status, logs) = tokio::time::timeout(Duration::from_secs(8), exit)
        .await
        .expect("exits within the shutdown timeout")
        .unwrap();
    println!("SIGTERM to exit: {:?}", signalled.elapsed());
    assert!(status.success(), "clean exit: {status:?}\n{logs}");
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let tagged = lines
        .iter()
        .find(|line| line.to_string().contains("req-test-4242") && line.to_string().contains("401"))
        .unwrap_or_else(|| panic!("no log line with the request id and status:\n{logs}"));
    assert_eq!(tagged["span"]["request_id"], "req-test-4242", "{tagged}");
    assert!(logs.contains(&generated_id));
    assert!(!logs.contains("SECRET"), "the token leaked into the logs");
    assert!(logs.contains("draining"));
    assert!(logs.contains("drained"));
}
