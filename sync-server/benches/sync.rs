//! Load benchmark of the sync-server against a bare relay and stock Hocuspocus.
//!
//! ```sh
//! scripts/bench                                   # build, prepare, run everything, append to docs/BENCHMARKS.md
//! cargo bench -p sync-server --bench sync -- [--quick] [--scenario NAME]... [--target NAME]...
//! ```
//!
//! Every server under test runs as a separate process (so its CPU and RSS can be read from
//! `/proc`): `ours` is the release `sync-server serve --dev-auth` on a fresh migrated Postgres
//! database; `relay` is this binary re-executed with `--serve-relay PORT` (a WebSocket relay that
//! speaks the same protocol with no document logic: the floor); `hocuspocus` and
//! `hocuspocus-sqlite` are `tests/node/hocuspocus-server.mjs`. The load generator runs here, in
//! process, with N simulated clients on real WebSockets speaking the Hocuspocus protocol and
//! sending real Yjs updates made with yrs.
//!
//! Scenarios: `durable` (acked updates/s and ack latency), `fanout` (one writer, many
//! observers), `idle` (bytes per idle connection), `coldload` (first open of a large document),
//! `catchup` (`$hub` changes + syncing the changed documents). See docs/BENCHMARKS.md.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use protocol::{
    AuthMessage, ChangesField, Frame, HUB_CHANNEL, HubMessage, Message, SyncMessage, Wire,
};
use rand::{Rng, SeedableRng};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, ReadTxn, StateVector, Text, TextRef, Transact};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The development secret `sync-server serve --dev-auth` uses by default.
const DEV_SECRET: &str = "lawyers-hub-local-development-only";
/// Upper bound for any single wait on a server (connect, handshake, reply).
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections opened concurrently while building up load.
const CONNECT_PARALLELISM: usize = 32;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Ours,
    Relay,
    Hocuspocus,
    HocuspocusSqlite,
}

impl Target {
    const ALL: [Target; 4] = [
        Target::Ours,
        Target::Relay,
        Target::Hocuspocus,
        Target::HocuspocusSqlite,
    ];

    fn name(self) -> &'static str {
        match self {
            Target::Ours => "ours",
            Target::Relay => "relay",
            Target::Hocuspocus => "hocuspocus",
            Target::HocuspocusSqlite => "hocuspocus-sqlite",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|target| target.name() == text)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Durable,
    Fanout,
    Idle,
    Coldload,
    Catchup,
}

impl Scenario {
    const ALL: [Scenario; 5] = [
        Scenario::Durable,
        Scenario::Fanout,
        Scenario::Idle,
        Scenario::Coldload,
        Scenario::Catchup,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Durable => "durable",
            Scenario::Fanout => "fanout",
            Scenario::Idle => "idle",
            Scenario::Coldload => "coldload",
            Scenario::Catchup => "catchup",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|scenario| scenario.name() == text)
    }

    /// Which servers can run this scenario (cold load and catch-up need our storage and `$hub`).
    fn applies_to(self, target: Target) -> bool {
        match self {
            Scenario::Durable | Scenario::Fanout | Scenario::Idle => true,
            Scenario::Coldload | Scenario::Catchup => target == Target::Ours,
        }
    }
}

struct Sizes {
    warmup: Duration,
    duration: Duration,
    durable_writers: usize,
    durable_window: usize,
    fanout_observers: Vec<usize>,
    fanout_rate: u32,
    idle_connections: usize,
    cold_history: usize,
    cold_pending: usize,
    cold_loads: usize,
    catchup_docs: usize,
    catchup_changed: usize,
    catchup_rounds: usize,
}

impl Sizes {
    fn full() -> Self {
        Self {
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(10),
            durable_writers: 50,
            durable_window: 8,
            fanout_observers: vec![1_000, 1_500],
            fanout_rate: 50,
            idle_connections: 2_000,
            cold_history: 250_000,
            cold_pending: 1_000,
            cold_loads: 30,
            catchup_docs: 10_000,
            catchup_changed: 10,
            catchup_rounds: 20,
        }
    }

    fn quick() -> Self {
        Self {
            warmup: Duration::from_millis(300),
            duration: Duration::from_secs(2),
            durable_writers: 10,
            durable_window: 8,
            fanout_observers: vec![100],
            fanout_rate: 50,
            idle_connections: 200,
            cold_history: 20_000,
            cold_pending: 200,
            cold_loads: 5,
            catchup_docs: 500,
            catchup_changed: 10,
            catchup_rounds: 3,
        }
    }
}

struct Options {
    quick: bool,
    scenarios: Vec<Scenario>,
    targets: Vec<Target>,
    append: Option<PathBuf>,
    command: String,
    /// Postgres server URL without a database name.
    pg: String,
    /// Overrides of the durable scenario's writers and in-flight window (to trace the
    /// throughput/latency curve below saturation).
    writers: Option<usize>,
    window: Option<usize>,
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        quick: false,
        scenarios: Vec::new(),
        targets: Vec::new(),
        append: None,
        writers: None,
        window: None,
        command: std::env::var("BENCH_COMMAND").unwrap_or_else(|_| {
            format!(
                "cargo bench -p sync-server --bench sync -- {}",
                args.join(" ")
            )
        }),
        pg: std::env::var("BENCH_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into()),
    };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |flag: &str| {
            iter.next()
                .cloned()
                .with_context(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            // cargo passes --bench to harness = false targets.
            "--bench" => {}
            "--quick" => options.quick = true,
            "--scenario" => {
                for name in value("--scenario")?.split(',') {
                    let scenario = Scenario::parse(name).with_context(|| {
                        format!("unknown scenario {name}: one of durable, fanout, idle, coldload, catchup")
                    })?;
                    options.scenarios.push(scenario);
                }
            }
            "--target" => {
                for name in value("--target")?.split(',') {
                    let target = Target::parse(name).with_context(|| {
                        format!("unknown target {name}: one of ours, relay, hocuspocus, hocuspocus-sqlite")
                    })?;
                    options.targets.push(target);
                }
            }
            "--append" => options.append = Some(PathBuf::from(value("--append")?)),
            "--command" => options.command = value("--command")?,
            "--pg" => options.pg = value("--pg")?,
            "--writers" => {
                options.writers = Some(
                    value("--writers")?
                        .parse()
                        .context("--writers takes a number")?,
                )
            }
            "--window" => {
                options.window = Some(
                    value("--window")?
                        .parse()
                        .context("--window takes a number")?,
                )
            }
            other => bail!(
                "unknown argument {other}\nusage: sync [--quick] [--scenario NAME]... [--target NAME]... \
                 [--append FILE.md] [--command TEXT] [--pg postgres://USER@HOST:PORT] [--writers N] [--window N]"
            ),
        }
    }
    if options.scenarios.is_empty() {
        options.scenarios = Scenario::ALL.to_vec();
    }
    if options.targets.is_empty() {
        options.targets = Target::ALL.to_vec();
    }
    Ok(options)
}

// ---------------------------------------------------------------------------------------------
// Processes: the server under test, its database, its CPU and memory
// ---------------------------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_path_buf()
}

/// Kills the child (SIGKILL) and reaps it when dropped, also while unwinding from a panic.
struct ChildGuard {
    child: Child,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn psql(url: &str, sql: &str) -> anyhow::Result<String> {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .stdin(Stdio::null())
        .output()
        .context("cannot run psql (is the Postgres client installed?)")?;
    if !output.status.success() {
        bail!(
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A database created for one server run and dropped afterwards.
struct TempDb {
    pg: String,
    name: String,
}

impl TempDb {
    fn create(pg: &str, label: &str) -> anyhow::Result<Self> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("hub_bench_{}_{}_{n}", std::process::id(), label);
        psql(
            &format!("{pg}/postgres"),
            &format!("CREATE DATABASE {name}"),
        )
        .with_context(|| format!("cannot create database {name} on {pg}"))?;
        Ok(Self {
            pg: pg.to_owned(),
            name,
        })
    }

    fn url(&self) -> String {
        format!("{}/{}", self.pg, self.name)
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = psql(
            &format!("{}/postgres", self.pg),
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

struct Server {
    target: Target,
    port: u16,
    pid: u32,
    // Field order matters: the process dies before its database is dropped.
    _child: ChildGuard,
    db: Option<TempDb>,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    async fn start(target: Target, pg: &str, label: &str) -> anyhow::Result<Self> {
        match target {
            Target::Ours => {
                let db = TempDb::create(pg, label)?;
                let bin = env!("CARGO_BIN_EXE_sync-server");
                let migrate = Command::new(bin)
                    .args(["migrate", "up"])
                    .env("DATABASE_URL", db.url())
                    .env("HUB_LOG", "warn")
                    .stdout(Stdio::null())
                    .output()
                    .context("cannot run sync-server migrate up")?;
                if !migrate.status.success() {
                    bail!(
                        "migrate up failed: {}",
                        String::from_utf8_lossy(&migrate.stderr)
                    );
                }
                let port = free_port()?;
                let child = Command::new(bin)
                    .args([
                        "serve",
                        "--dev-auth",
                        "--bind",
                        &format!("127.0.0.1:{port}"),
                    ])
                    .env("DATABASE_URL", db.url())
                    .env(
                        "HUB_LOG",
                        std::env::var("HUB_LOG").unwrap_or_else(|_| "warn".into()),
                    )
                    // Thousands of simulated lawyers share a few users and one address here:
                    // lift the per-user, per-address and rate limits a firm's server keeps.
                    .env("HUB_MAX_CONNECTIONS_PER_USER", "1000000")
                    .env("HUB_MAX_CONNECTIONS_PER_ADDRESS", "1000000")
                    .env("HUB_NEW_CASES_PER_MINUTE", "1000000")
                    .env("HUB_CHANGES_PER_MINUTE", "1000000")
                    .env("HUB_MAX_DOCS_PER_CONNECTION", "1000000")
                    .env_remove("REDIS_URL")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .spawn()
                    .context("cannot start sync-server")?;
                let mut guard = ChildGuard { child };
                wait_listening(&mut guard, port).await?;
                Ok(Self {
                    target,
                    port,
                    pid: guard.child.id(),
                    _child: guard,
                    db: Some(db),
                    _dir: None,
                })
            }
            Target::Relay => {
                let port = free_port()?;
                let child = Command::new(std::env::current_exe()?)
                    .args(["--serve-relay", &port.to_string()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .spawn()
                    .context("cannot start the relay")?;
                let mut guard = ChildGuard { child };
                wait_listening(&mut guard, port).await?;
                Ok(Self {
                    target,
                    port,
                    pid: guard.child.id(),
                    _child: guard,
                    db: None,
                    _dir: None,
                })
            }
            Target::Hocuspocus | Target::HocuspocusSqlite => {
                let root = repo_root();
                let mut command = Command::new("node");
                command.current_dir(&root).args([
                    "tests/node/hocuspocus-server.mjs",
                    "--port",
                    "0",
                ]);
                let dir = if target == Target::HocuspocusSqlite {
                    let dir = tempfile::tempdir()?;
                    command.args([
                        "--persist",
                        &format!("sqlite:{}", dir.path().join("hp.sqlite").display()),
                    ]);
                    Some(dir)
                } else {
                    None
                };
                let mut child = command
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .spawn()
                    .context("cannot start node tests/node/hocuspocus-server.mjs (run bash tests/node/setup.sh)")?;
                let stdout = child.stdout.take().context("no stdout")?;
                let guard = ChildGuard { child };
                let line = tokio::time::timeout(
                    STEP_TIMEOUT,
                    tokio::task::spawn_blocking(move || {
                        let mut line = String::new();
                        BufReader::new(stdout).read_line(&mut line).map(|_| line)
                    }),
                )
                .await
                .context("hocuspocus did not report its port in time")???;
                let value: serde_json::Value =
                    serde_json::from_str(line.trim()).with_context(|| {
                        format!(
                            "hocuspocus did not start (said {line:?}); run bash tests/node/setup.sh"
                        )
                    })?;
                let port = value["listening"]
                    .as_u64()
                    .context("no port in hocuspocus output")? as u16;
                Ok(Self {
                    target,
                    port,
                    pid: guard.child.id(),
                    _child: guard,
                    db: None,
                    _dir: dir,
                })
            }
        }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/api/v1/sync", self.port)
    }

    fn cpu_seconds(&self) -> f64 {
        tree_cpu_seconds(self.pid)
    }

    fn rss_bytes(&self) -> u64 {
        process_tree(self.pid).iter().map(|pid| rss_of(*pid)).sum()
    }
}

async fn wait_listening(guard: &mut ChildGuard, port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        if let Some(status) = guard.child.try_wait()? {
            bail!("the server exited during start-up ({status})");
        }
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server did not listen on port {port} within {STEP_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// `(pid, ppid, comm, utime + stime in ticks)` from `/proc/PID/stat`.
fn read_stat(pid: u32) -> Option<(u32, u32, String, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_owned();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // fields[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((pid, ppid, comm, utime + stime))
}

fn all_stats() -> Vec<(u32, u32, String, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(read_stat)
        .collect()
}

/// The process and all its descendants (node may fork helpers).
fn process_tree(root: u32) -> Vec<u32> {
    let stats = all_stats();
    let mut tree = vec![root];
    let mut index = 0;
    while index < tree.len() {
        let parent = tree[index];
        tree.extend(
            stats
                .iter()
                .filter(|(_, ppid, _, _)| *ppid == parent)
                .map(|(pid, _, _, _)| *pid),
        );
        index += 1;
    }
    tree
}

fn tree_cpu_seconds(root: u32) -> f64 {
    let ticks: u64 = process_tree(root)
        .into_iter()
        .filter_map(read_stat)
        .map(|(_, _, _, ticks)| ticks)
        .sum();
    ticks as f64 / clock_ticks()
}

/// CPU of every Postgres process on the machine (the database work behind our durable acks).
fn postgres_cpu_seconds() -> f64 {
    let ticks: u64 = all_stats()
        .into_iter()
        .filter(|(_, _, comm, _)| comm == "postgres")
        .map(|(_, _, _, ticks)| ticks)
        .sum();
    ticks as f64 / clock_ticks()
}

fn rss_of(pid: u32) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

// ---------------------------------------------------------------------------------------------
// The simulated client
// ---------------------------------------------------------------------------------------------

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn dev_token(user: &str, firm: &str) -> String {
    sync_server::auth::DevAuth::new(DEV_SECRET)
        .mint(user, firm, 24 * 3600)
        .expect("minting a dev token")
}

fn new_doc_name() -> String {
    format!("cases/{}", uuid::Uuid::new_v4())
}

fn ws_frame(doc: &str, message: Message) -> WsMessage {
    WsMessage::Binary(Bytes::from(Frame::new(doc, message).encode()))
}

fn auth_frame(doc: &str, token: &str) -> WsMessage {
    ws_frame(
        doc,
        Message::Auth(AuthMessage::Token {
            token: token.into(),
            provider_version: None,
        }),
    )
}

async fn connect(url: &str) -> anyhow::Result<Ws> {
    let (ws, _) = tokio::time::timeout(
        STEP_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(url, None, true),
    )
    .await
    .context("connect timed out")?
    .with_context(|| format!("cannot connect to {url}"))?;
    Ok(ws)
}

/// The next protocol frame; answers keep-alive pings on the way. `None` when the server closed.
async fn next_frame(ws: &mut Ws) -> anyhow::Result<Option<Frame>> {
    loop {
        match ws.next().await {
            None => return Ok(None),
            Some(Err(error)) => bail!("websocket error: {error}"),
            Some(Ok(WsMessage::Binary(bytes))) => match Wire::decode(&bytes) {
                Ok(Wire::Ping) => {
                    ws.send(WsMessage::Binary(Bytes::from(Wire::Pong.encode())))
                        .await?
                }
                Ok(Wire::Pong) => {}
                Ok(Wire::Frame(frame)) => return Ok(Some(frame)),
                Err(error) => bail!("undecodable frame from the server: {error}"),
            },
            Some(Ok(WsMessage::Close(close))) => {
                if let Some(close) = close {
                    bail!(
                        "server closed the connection: {} {}",
                        close.code,
                        close.reason
                    );
                }
                return Ok(None);
            }
            Some(Ok(_)) => {}
        }
    }
}

async fn expect_frame(ws: &mut Ws) -> anyhow::Result<Frame> {
    tokio::time::timeout(STEP_TIMEOUT, next_frame(ws))
        .await
        .context("no answer from the server in time")??
        .context("the server closed the connection")
}

/// A simulated editor: its own Yjs document with one Y.Text.
struct Editor {
    doc: Doc,
    text: TextRef,
}

impl Editor {
    fn new() -> Self {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("body");
        Self { doc, text }
    }

    /// Append `chunk` in one transaction and return that transaction's v1 update.
    fn type_text(&self, chunk: &str) -> Vec<u8> {
        let mut txn = self.doc.transact_mut();
        let len = self.text.len(&txn);
        self.text.insert(&mut txn, len, chunk);
        txn.encode_update_v1()
    }

    fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }

    /// The answer to a server SyncStep1.
    fn step2_for(&self, state_vector: &[u8]) -> Vec<u8> {
        let remote = StateVector::decode_v1(state_vector).unwrap_or_default();
        self.doc.transact().encode_state_as_update_v1(&remote)
    }
}

/// If `message` is a server SyncStep1, the Step2 that answers it (which the server acks).
fn answer_step1(doc: &str, message: &Message, editor: Option<&Editor>) -> Option<WsMessage> {
    match message {
        Message::Sync(SyncMessage::Step1(sv)) | Message::SyncReply(SyncMessage::Step1(sv)) => {
            let update = editor.map_or_else(|| vec![0, 0], |editor| editor.step2_for(sv));
            Some(ws_frame(doc, Message::Sync(SyncMessage::Step2(update))))
        }
        _ => None,
    }
}

/// Authenticate `doc` and sync it (Auth → Authenticated, Step1 → Step2). Returns how many Step2
/// answers we sent to server Step1s so far: each of those will be acked like an update.
async fn open_doc(
    ws: &mut Ws,
    doc: &str,
    token: &str,
    editor: Option<&Editor>,
) -> anyhow::Result<usize> {
    ws.send(auth_frame(doc, token)).await?;
    loop {
        let frame = expect_frame(ws).await?;
        match frame.message {
            Message::Auth(AuthMessage::Authenticated { .. }) => break,
            Message::Auth(AuthMessage::PermissionDenied { reason }) => {
                bail!("permission denied on {doc}: {reason}")
            }
            _ => {}
        }
    }
    let sv = editor.map_or_else(|| vec![0], Editor::state_vector);
    ws.send(ws_frame(doc, Message::Sync(SyncMessage::Step1(sv))))
        .await?;
    let mut answered = 0;
    let mut acks = 0;
    loop {
        let frame = expect_frame(ws).await?;
        if let Some(reply) = answer_step1(doc, &frame.message, editor) {
            ws.send(reply).await?;
            answered += 1;
        }
        match frame.message {
            Message::Sync(SyncMessage::Step2(_)) | Message::SyncReply(SyncMessage::Step2(_)) => {
                break;
            }
            Message::SyncStatus(_) => acks += 1,
            _ => {}
        }
    }
    Ok(answered - acks.min(answered))
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds are valid")
}

fn ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

fn micros_since(instant: Instant) -> u64 {
    instant.elapsed().as_micros().min(u128::from(u64::MAX)) as u64
}

/// Open many connections with bounded parallelism.
async fn open_many<T, F, Fut>(count: usize, open: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    futures_util::stream::iter((0..count).map(open))
        .buffer_unordered(CONNECT_PARALLELISM)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

struct Row {
    scenario: String,
    target: Target,
    metric: &'static str,
    value: f64,
}

struct Check {
    what: String,
    pass: bool,
    detail: String,
}

fn row(scenario: &str, target: Target, metric: &'static str, value: f64) -> Row {
    Row {
        scenario: scenario.to_owned(),
        target,
        metric,
        value,
    }
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "n/a".into()
    } else if value.abs() >= 1000.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

fn find(rows: &[Row], scenario: &str, target: Target, metric: &str) -> Option<f64> {
    rows.iter()
        .find(|row| row.scenario == scenario && row.target == target && row.metric == metric)
        .map(|row| row.value)
}

fn tables(rows: &[Row]) -> String {
    let mut scenarios: Vec<&str> = Vec::new();
    for row in rows {
        if !scenarios.contains(&row.scenario.as_str()) {
            scenarios.push(&row.scenario);
        }
    }
    let mut out = String::new();
    for scenario in scenarios {
        out.push_str(&format!("\n#### {scenario}\n\n"));
        out.push_str(
            "| target | metric | value | ÷ relay | ÷ hocuspocus | ÷ hocuspocus-sqlite |\n",
        );
        out.push_str("| --- | --- | ---: | ---: | ---: | ---: |\n");
        for row in rows.iter().filter(|row| row.scenario == scenario) {
            let ratio = |reference: Target| match find(rows, scenario, reference, row.metric) {
                Some(base) if reference != row.target && base != 0.0 => {
                    format!("{:.2}", row.value / base)
                }
                _ => "".into(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                row.target.name(),
                row.metric,
                format_value(row.value),
                ratio(Target::Relay),
                ratio(Target::Hocuspocus),
                ratio(Target::HocuspocusSqlite),
            ));
        }
    }
    out
}

fn checks(rows: &[Row]) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check = |what: &str, pass: bool, detail: String| {
        checks.push(Check {
            what: what.into(),
            pass,
            detail,
        })
    };
    if let Some(ours) = find(rows, "durable", Target::Ours, "acked updates/s") {
        let p99 = find(rows, "durable", Target::Ours, "ack p99 ms").unwrap_or(f64::NAN);
        check(
            "durable: ≥ 35,000 acked updates/s (5× Hocuspocus+SQLite ~7,000/s)",
            ours >= 35_000.0,
            format!("{ours:.0}/s"),
        );
        check(
            "durable: ack p99 ≤ 10 ms at that rate",
            p99 <= 10.0,
            format!("{p99:.2} ms"),
        );
        check(
            "durable: durable ack p99 ≤ 15 ms",
            p99 <= 15.0,
            format!("{p99:.2} ms"),
        );
        if let Some(sqlite) = find(rows, "durable", Target::HocuspocusSqlite, "acked updates/s") {
            check(
                "durable: ≥ 5× hocuspocus-sqlite measured here",
                ours >= 5.0 * sqlite,
                format!("{:.2}× ({ours:.0} vs {sqlite:.0}/s)", ours / sqlite),
            );
        }
    }
    let fanouts: Vec<String> = {
        let mut names: Vec<String> = Vec::new();
        for row in rows.iter().filter(|row| row.scenario.starts_with("fanout")) {
            if !names.contains(&row.scenario) {
                names.push(row.scenario.clone());
            }
        }
        names
    };
    for scenario in fanouts {
        if let (Some(ours), Some(relay)) = (
            find(rows, &scenario, Target::Ours, "p99 ms"),
            find(rows, &scenario, Target::Relay, "p99 ms"),
        ) {
            check(
                &format!("{scenario}: p99 ≤ 1.25× relay"),
                ours <= 1.25 * relay,
                format!("{:.2}× ({ours:.2} vs {relay:.2} ms)", ours / relay),
            );
        }
        if let (Some(ours), Some(relay)) = (
            find(rows, &scenario, Target::Ours, "server CPU µs/delivery"),
            find(rows, &scenario, Target::Relay, "server CPU µs/delivery"),
        ) {
            check(
                &format!("{scenario}: CPU per delivered frame ≤ 1.3× relay"),
                ours <= 1.3 * relay,
                format!("{:.2}× ({ours:.2} vs {relay:.2} µs)", ours / relay),
            );
        }
    }
    if let Some(bytes) = find(rows, "idle", Target::Ours, "bytes/connection") {
        check(
            "idle: ≤ 4 KB per idle connection",
            bytes <= 4096.0,
            format!("{bytes:.0} B"),
        );
    }
    if let Some(p99) = find(rows, "coldload", Target::Ours, "p99 ms") {
        check("coldload: p99 ≤ 20 ms", p99 <= 20.0, format!("{p99:.2} ms"));
    }
    if let Some(p99) = find(rows, "catchup", Target::Ours, "p99 ms") {
        check(
            "catchup: p99 ≤ 300 ms",
            p99 <= 300.0,
            format!("{p99:.2} ms"),
        );
    }
    checks
}

// ---------------------------------------------------------------------------------------------
// Scenario 1: durable throughput
// ---------------------------------------------------------------------------------------------

struct WriterOutcome {
    acked: u64,
    refused: u64,
    latency: Histogram<u64>,
}

async fn durable(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let token = dev_token("bench-writer", "bench-firm");
    let url = server.url();
    let writers = open_many(sizes.durable_writers, |_| {
        let (url, token) = (url.clone(), token.clone());
        async move {
            let doc = new_doc_name();
            let editor = Editor::new();
            let mut ws = connect(&url).await?;
            let unacked = open_doc(&mut ws, &doc, &token, Some(&editor)).await?;
            anyhow::Ok((ws, doc, editor, unacked))
        }
    })
    .await?;
    let measure = Instant::now() + sizes.warmup;
    let end = measure + sizes.duration;
    let window = sizes.durable_window;
    let tasks: Vec<_> = writers
        .into_iter()
        .map(|(ws, doc, editor, unacked)| {
            tokio::spawn(durable_writer(
                ws, doc, editor, unacked, window, measure, end,
            ))
        })
        .collect();
    tokio::time::sleep_until(measure.into()).await;
    let (cpu0, pg0) = (server.cpu_seconds(), postgres_cpu_seconds());
    tokio::time::sleep_until(end.into()).await;
    let (cpu1, pg1) = (server.cpu_seconds(), postgres_cpu_seconds());
    let mut latency = histogram();
    let (mut acked, mut refused, mut failed) = (0, 0, 0);
    for task in tasks {
        match tokio::time::timeout(STEP_TIMEOUT, task).await {
            Ok(Ok(Ok(outcome))) => {
                acked += outcome.acked;
                refused += outcome.refused;
                latency
                    .add(&outcome.latency)
                    .expect("same histogram bounds");
            }
            Ok(Ok(Err(error))) => {
                eprintln!("  writer failed: {error:#}");
                failed += 1;
            }
            _ => failed += 1,
        }
    }
    if failed == sizes.durable_writers {
        bail!("every writer failed");
    }
    let seconds = sizes.duration.as_secs_f64();
    let scenario = "durable";
    let target = server.target;
    let mut rows = vec![
        row(scenario, target, "acked updates/s", acked as f64 / seconds),
        row(scenario, target, "ack p50 ms", ms(&latency, 0.50)),
        row(scenario, target, "ack p95 ms", ms(&latency, 0.95)),
        row(scenario, target, "ack p99 ms", ms(&latency, 0.99)),
        row(
            scenario,
            target,
            "ack max ms",
            latency.max() as f64 / 1000.0,
        ),
        row(
            scenario,
            target,
            "server CPU cores",
            (cpu1 - cpu0) / seconds,
        ),
        row(
            scenario,
            target,
            "server CPU µs/update",
            (cpu1 - cpu0) * 1e6 / acked.max(1) as f64,
        ),
    ];
    if target == Target::Ours {
        rows.push(row(
            scenario,
            target,
            "postgres CPU cores",
            (pg1 - pg0) / seconds,
        ));
    }
    if refused > 0 || failed > 0 {
        rows.push(row(scenario, target, "refused acks", refused as f64));
        rows.push(row(scenario, target, "failed writers", failed as f64));
    }
    Ok(rows)
}

/// One writer: keeps `window` updates in flight and times each until its SyncStatus(true).
async fn durable_writer(
    mut ws: Ws,
    doc: String,
    editor: Editor,
    unacked: usize,
    window: usize,
    measure: Instant,
    end: Instant,
) -> anyhow::Result<WriterOutcome> {
    // Sent frames awaiting their ack, oldest first; `None` for handshake Step2s (not timed).
    let mut in_flight: VecDeque<Option<Instant>> = std::iter::repeat_n(None, unacked).collect();
    let mut outcome = WriterOutcome {
        acked: 0,
        refused: 0,
        latency: histogram(),
    };
    let mut counter = 0u64;
    while Instant::now() < end {
        if in_flight.len() < window {
            while in_flight.len() < window {
                counter += 1;
                let update = editor.type_text(if counter.is_multiple_of(2) {
                    "ab"
                } else {
                    "cde"
                });
                ws.feed(ws_frame(&doc, Message::Sync(SyncMessage::Update(update))))
                    .await?;
                in_flight.push_back(Some(Instant::now()));
            }
            ws.flush().await?;
        }
        let frame = match tokio::time::timeout_at(end.into(), next_frame(&mut ws)).await {
            Err(_) => break,
            Ok(frame) => frame?.context("the server closed the connection")?,
        };
        if let Some(reply) = answer_step1(&doc, &frame.message, Some(&editor)) {
            ws.send(reply).await?;
            in_flight.push_back(None);
            continue;
        }
        if let Message::SyncStatus(ok) = frame.message {
            let now = Instant::now();
            let sent = in_flight
                .pop_front()
                .context("an ack for nothing in flight")?;
            if !ok {
                outcome.refused += 1;
            }
            if let Some(sent) = sent
                && now >= measure
                && now <= end
            {
                outcome.acked += 1;
                if sent >= measure {
                    let _ = outcome.latency.record((now - sent).as_micros() as u64);
                }
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: fan-out
// ---------------------------------------------------------------------------------------------

/// Text inserted by the fan-out writer: `~T<µs since the bench epoch>~`. Yjs v1 updates carry
/// inserted strings verbatim, so observers find the stamp without decoding the update.
fn stamp_text() -> String {
    format!("~T{}~", micros_since(epoch()))
}

/// Every stamp in an update (a server may merge several updates into one frame).
fn find_stamps(update: &[u8]) -> Vec<u64> {
    let mut stamps = Vec::new();
    let mut rest = update;
    while let Some(at) = rest.windows(2).position(|pair| pair == b"~T") {
        rest = &rest[at + 2..];
        let Some(len) = rest.iter().position(|byte| *byte == b'~') else {
            break;
        };
        if let Some(stamp) = std::str::from_utf8(&rest[..len])
            .ok()
            .and_then(|digits| digits.parse().ok())
        {
            stamps.push(stamp);
        }
        rest = &rest[len..];
    }
    stamps
}

struct ObserverOutcome {
    delivered: u64,
    latency: Histogram<u64>,
}

async fn fanout(server: &Server, sizes: &Sizes, observers: usize) -> anyhow::Result<Vec<Row>> {
    let token = dev_token("bench-observer", "bench-firm");
    let url = server.url();
    let doc = new_doc_name();
    let started = Instant::now();
    let sockets = open_many(observers, |_| {
        let (url, token, doc) = (url.clone(), token.clone(), doc.clone());
        async move {
            let mut ws = connect(&url).await?;
            open_doc(&mut ws, &doc, &token, None).await?;
            anyhow::Ok(ws)
        }
    })
    .await?;
    eprintln!(
        "  {observers} observers connected in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let editor = Editor::new();
    let mut writer = connect(&url).await?;
    let unacked = open_doc(&mut writer, &doc, &token, Some(&editor)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let measure = Instant::now() + sizes.warmup;
    let end = measure + sizes.duration;
    let stop = end + Duration::from_secs(2);
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|ws| tokio::spawn(observer(ws, doc.clone(), measure, end, stop)))
        .collect();
    let writer_task = tokio::spawn(fanout_writer(
        writer,
        doc.clone(),
        editor,
        unacked,
        sizes.fanout_rate,
        measure,
        end,
    ));
    tokio::time::sleep_until(measure.into()).await;
    let cpu0 = server.cpu_seconds();
    tokio::time::sleep_until(end.into()).await;
    let cpu1 = server.cpu_seconds();
    let sent = tokio::time::timeout(STEP_TIMEOUT, writer_task)
        .await
        .context("writer hung")???;
    let mut latency = histogram();
    let (mut delivered, mut failed) = (0u64, 0u64);
    for task in tasks {
        match tokio::time::timeout(STEP_TIMEOUT, task).await {
            Ok(Ok(Ok(outcome))) => {
                delivered += outcome.delivered;
                latency
                    .add(&outcome.latency)
                    .expect("same histogram bounds");
            }
            Ok(Ok(Err(error))) => {
                if failed == 0 {
                    eprintln!("  observer failed: {error:#}");
                }
                failed += 1;
            }
            _ => failed += 1,
        }
    }
    let seconds = sizes.duration.as_secs_f64();
    let scenario = format!("fanout O={observers}");
    let target = server.target;
    let expected = sent * observers as u64;
    Ok(vec![
        row(
            &scenario,
            target,
            "deliveries/s",
            delivered as f64 / seconds,
        ),
        row(
            &scenario,
            target,
            "delivered fraction",
            delivered as f64 / expected.max(1) as f64,
        ),
        row(&scenario, target, "p50 ms", ms(&latency, 0.50)),
        row(&scenario, target, "p95 ms", ms(&latency, 0.95)),
        row(&scenario, target, "p99 ms", ms(&latency, 0.99)),
        row(&scenario, target, "max ms", latency.max() as f64 / 1000.0),
        row(
            &scenario,
            target,
            "server CPU cores",
            (cpu1 - cpu0) / seconds,
        ),
        row(
            &scenario,
            target,
            "server CPU µs/delivery",
            (cpu1 - cpu0) * 1e6 / delivered.max(1) as f64,
        ),
        row(&scenario, target, "failed observers", failed as f64),
    ])
}

/// Sends stamped updates at `rate`/s until `end`; returns how many were sent inside the window.
async fn fanout_writer(
    mut ws: Ws,
    doc: String,
    editor: Editor,
    _unacked: usize,
    rate: u32,
    measure: Instant,
    end: Instant,
) -> anyhow::Result<u64> {
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = 0;
    loop {
        tokio::select! {
            now = tick.tick() => {
                if now.into_std() >= end {
                    break;
                }
                let update = editor.type_text(&stamp_text());
                let at = Instant::now();
                ws.send(ws_frame(&doc, Message::Sync(SyncMessage::Update(update)))).await?;
                if at >= measure && at < end {
                    sent += 1;
                }
            }
            frame = next_frame(&mut ws) => {
                let frame = frame?.context("the server closed the writer's connection")?;
                if let Some(reply) = answer_step1(&doc, &frame.message, Some(&editor)) {
                    ws.send(reply).await?;
                }
            }
        }
    }
    // Stay connected while the last deliveries arrive.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(Some(_)) = next_frame(&mut ws).await {}
    })
    .await;
    let _ = ws.close(None).await;
    Ok(sent)
}

async fn observer(
    mut ws: Ws,
    doc: String,
    measure: Instant,
    end: Instant,
    stop: Instant,
) -> anyhow::Result<ObserverOutcome> {
    let mut outcome = ObserverOutcome {
        delivered: 0,
        latency: histogram(),
    };
    let start = epoch();
    loop {
        let frame = match tokio::time::timeout_at(stop.into(), next_frame(&mut ws)).await {
            Err(_) => break,
            Ok(frame) => match frame? {
                Some(frame) => frame,
                None => bail!("the server closed an observer"),
            },
        };
        if let Some(reply) = answer_step1(&doc, &frame.message, None) {
            ws.send(reply).await?;
            continue;
        }
        if let Message::Sync(SyncMessage::Update(update))
        | Message::SyncReply(SyncMessage::Update(update)) = &frame.message
        {
            for stamp in find_stamps(update) {
                let sent = start + Duration::from_micros(stamp);
                if sent >= measure && sent < end {
                    outcome.delivered += 1;
                    let _ = outcome.latency.record(micros_since(sent));
                }
            }
        }
    }
    let _ = ws.close(None).await;
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// Scenario 3: idle connections
// ---------------------------------------------------------------------------------------------

async fn idle(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let token = dev_token("bench-idle", "bench-firm");
    let url = server.url();
    let doc = new_doc_name();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let keep = |mut ws: Ws, doc: String, mut stop: tokio::sync::watch::Receiver<bool>| {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    frame = next_frame(&mut ws) => match frame {
                        Ok(Some(frame)) => {
                            if let Some(reply) = answer_step1(&doc, &frame.message, None)
                                && ws.send(reply).await.is_err()
                            {
                                break;
                            }
                        }
                        _ => break,
                    },
                }
            }
            let _ = ws.close(None).await;
        })
    };
    // One connection loads the document, so the difference below is connections only.
    let mut primer = connect(&url).await?;
    open_doc(&mut primer, &doc, &token, None).await?;
    let mut tasks = vec![keep(primer, doc.clone(), stop_rx.clone())];
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = server.rss_bytes();
    let sockets = open_many(sizes.idle_connections, |_| {
        let (url, token, doc) = (url.clone(), token.clone(), doc.clone());
        async move {
            let mut ws = connect(&url).await?;
            open_doc(&mut ws, &doc, &token, None).await?;
            anyhow::Ok(ws)
        }
    })
    .await?;
    tasks.extend(
        sockets
            .into_iter()
            .map(|ws| keep(ws, doc.clone(), stop_rx.clone())),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.rss_bytes();
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    let target = server.target;
    let per = (after as f64 - before as f64) / sizes.idle_connections as f64;
    Ok(vec![
        row("idle", target, "connections", sizes.idle_connections as f64),
        row("idle", target, "RSS before MiB", before as f64 / 1048576.0),
        row("idle", target, "RSS after MiB", after as f64 / 1048576.0),
        row("idle", target, "bytes/connection", per),
    ])
}

// ---------------------------------------------------------------------------------------------
// Scenario 4: cold load of a large document
// ---------------------------------------------------------------------------------------------

/// An editing history: `history` small transactions (typing runs, cursor jumps, deletions)
/// folded into one snapshot, then `pending` more transactions kept as separate updates.
fn build_history(history: usize, pending: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let doc = Doc::with_client_id(7);
    let text = doc.get_or_insert_text("body");
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut cursor = 0u32;
    let mut edit = |rng: &mut rand::rngs::StdRng| {
        let mut txn = doc.transact_mut();
        let len = text.len(&txn);
        let roll = rng.random_range(0..100);
        if roll < 5 {
            cursor = rng.random_range(0..=len);
        }
        cursor = cursor.min(len);
        if roll >= 93 && cursor > 4 {
            let n = rng.random_range(1..=3);
            text.remove_range(&mut txn, cursor - n, n);
            cursor -= n;
        } else {
            let chunk = ["a", "e", "t", "s", " ", "th"][rng.random_range(0..6)];
            text.insert(&mut txn, cursor, chunk);
            cursor += chunk.len() as u32;
        }
        txn.encode_update_v1()
    };
    for _ in 0..history {
        edit(&mut rng);
    }
    let snapshot = doc
        .transact()
        .encode_state_as_update_v1(&StateVector::default());
    let pending_updates: Vec<Vec<u8>> = (0..pending).map(|_| edit(&mut rng)).collect();
    (snapshot, pending_updates)
}

async fn coldload(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let db = server
        .db
        .as_ref()
        .context("coldload needs our server's database")?;
    let started = Instant::now();
    let (snapshot, pending) = build_history(sizes.cold_history, sizes.cold_pending);
    eprintln!(
        "  history: {} edits → {:.1} KB state, {} pending updates ({:.1} s)",
        sizes.cold_history,
        snapshot.len() as f64 / 1024.0,
        pending.len(),
        started.elapsed().as_secs_f64()
    );
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&db.url())
        .await?;
    let firm = "bench-cold";
    sqlx::query("INSERT INTO firms (id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(firm)
        .execute(&pool)
        .await?;
    let pending_refs: Vec<&[u8]> = pending.iter().map(Vec::as_slice).collect();
    let mut names = Vec::new();
    for _ in 0..sizes.cold_loads {
        let case = uuid::Uuid::new_v4();
        let name = format!("cases/{case}");
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO cases (id, firm_id, created_by) VALUES ($1, $2, 'bench')")
            .bind(case)
            .bind(firm)
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO documents (name, case_id, firm_id, kind) VALUES ($1, $2, $3, 'case') RETURNING id",
        )
        .bind(&name)
        .bind(case)
        .bind(firm)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO doc_snapshots (doc_id, state, updates_folded) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(&snapshot)
        .bind(sizes.cold_history as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO doc_updates (doc_id, bytes, user_id) SELECT $1, b, 'bench' FROM UNNEST($2::bytea[]) AS b")
            .bind(id)
            .bind(&pending_refs)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        names.push(name);
    }
    sqlx::query("VACUUM ANALYZE doc_updates")
        .execute(&pool)
        .await?;
    pool.close().await;
    let token = dev_token("bench-cold-reader", firm);
    let mut latency = histogram();
    let mut step2_bytes = 0;
    for name in &names {
        let mut ws = connect(&server.url()).await?;
        let begin = Instant::now();
        ws.feed(auth_frame(name, &token)).await?;
        ws.feed(ws_frame(name, Message::Sync(SyncMessage::Step1(vec![0]))))
            .await?;
        ws.flush().await?;
        // The full state has arrived when the server's own Step1 does: it is sent after the
        // Step2 and after any updates that complete a first sync.
        let mut received = 0;
        let mut seen_step2 = false;
        loop {
            let frame = expect_frame(&mut ws).await?;
            match frame.message {
                Message::Sync(SyncMessage::Step2(update)) => {
                    received += update.len();
                    seen_step2 = true;
                }
                Message::Sync(SyncMessage::Update(update)) if seen_step2 => {
                    received += update.len()
                }
                Message::Sync(SyncMessage::Step1(_)) if seen_step2 => break,
                Message::Auth(AuthMessage::PermissionDenied { reason }) => {
                    bail!("cold load denied: {reason}")
                }
                _ => {}
            }
        }
        step2_bytes = received;
        let _ = latency.record(micros_since(begin));
        let _ = ws.close(None).await;
    }
    let target = server.target;
    Ok(vec![
        row(
            "coldload",
            target,
            "history edits",
            sizes.cold_history as f64,
        ),
        row(
            "coldload",
            target,
            "snapshot KB",
            snapshot.len() as f64 / 1024.0,
        ),
        row("coldload", target, "pending updates", pending.len() as f64),
        row(
            "coldload",
            target,
            "initial sync KB",
            step2_bytes as f64 / 1024.0,
        ),
        row("coldload", target, "loads", names.len() as f64),
        row("coldload", target, "p50 ms", ms(&latency, 0.50)),
        row("coldload", target, "p99 ms", ms(&latency, 0.99)),
        row("coldload", target, "max ms", latency.max() as f64 / 1000.0),
    ])
}

// ---------------------------------------------------------------------------------------------
// Scenario 5: catch-up
// ---------------------------------------------------------------------------------------------

async fn catchup(server: &Server, sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let db = server
        .db
        .as_ref()
        .context("catchup needs our server's database")?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&db.url())
        .await?;
    let firm = "bench-catchup";
    let cases: Vec<uuid::Uuid> = (0..sizes.catchup_docs)
        .map(|_| uuid::Uuid::new_v4())
        .collect();
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO firms (id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(firm)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO cases (id, firm_id, created_by) SELECT id, $1, 'bench' FROM UNNEST($2::uuid[]) AS id")
        .bind(firm)
        .bind(&cases)
        .execute(&mut *tx)
        .await?;
    let docs: Vec<(i64, String)> = sqlx::query_as(
        "INSERT INTO documents (name, case_id, firm_id, kind)
         SELECT 'cases/' || id::text, id, $1, 'case' FROM UNNEST($2::uuid[]) AS id RETURNING id, name",
    )
    .bind(firm)
    .bind(&cases)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("VACUUM ANALYZE documents")
        .execute(&pool)
        .await?;
    // Each changed document gets a realistic small body.
    let body = {
        let editor = Editor::new();
        for _ in 0..40 {
            editor.type_text("A paragraph of a matter note, typed in one go. ");
        }
        editor
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    };
    let token = dev_token("bench-catchup-user", firm);
    let mut latency = histogram();
    let mut returned = 0;
    let rounds = sizes
        .catchup_rounds
        .min(docs.len() / sizes.catchup_changed.max(1));
    for round in 0..rounds {
        let changed = &docs[round * sizes.catchup_changed..(round + 1) * sizes.catchup_changed];
        let cursor: i64 =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                .fetch_one(&pool)
                .await?;
        let ids: Vec<i64> = changed.iter().map(|(id, _)| *id).collect();
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO doc_updates (doc_id, bytes, user_id) SELECT id, $2, 'bench' FROM UNNEST($1::bigint[]) AS id")
            .bind(&ids)
            .bind(&body)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE documents SET change_xid = pg_current_xact_id()::text::bigint WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;

        let begin = Instant::now();
        let mut ws = connect(&server.url()).await?;
        ws.send(auth_frame(HUB_CHANNEL, &token)).await?;
        loop {
            let frame = expect_frame(&mut ws).await?;
            match frame.message {
                Message::Auth(AuthMessage::Authenticated { .. }) if frame.doc == HUB_CHANNEL => {
                    break;
                }
                Message::Auth(AuthMessage::PermissionDenied { reason }) => {
                    bail!("$hub denied: {reason}")
                }
                _ => {}
            }
        }
        let mut since = cursor;
        let mut names: Vec<String> = Vec::new();
        for _page in 0..100 {
            ws.send(ws_frame(
                HUB_CHANNEL,
                Message::Stateless(HubMessage::request(since).to_json()),
            ))
            .await?;
            let reply = loop {
                let frame = expect_frame(&mut ws).await?;
                if let (true, Message::Stateless(text)) = (frame.doc == HUB_CHANNEL, &frame.message)
                    && let Ok(message) = HubMessage::parse(text)
                {
                    match message {
                        HubMessage::Changes(ChangesField::Reply(reply)) => break reply,
                        HubMessage::Error { code, message } => {
                            bail!("$hub error {code}: {message}")
                        }
                        _ => {}
                    }
                }
            };
            names.extend(reply.docs);
            since = reply.cursor;
            if !reply.more {
                break;
            }
        }
        returned = names.len();
        for name in &names {
            ws.feed(auth_frame(name, &token)).await?;
            ws.feed(ws_frame(name, Message::Sync(SyncMessage::Step1(vec![0]))))
                .await?;
        }
        ws.flush().await?;
        let mut waiting: HashSet<&str> = names.iter().map(String::as_str).collect();
        while !waiting.is_empty() {
            let frame = expect_frame(&mut ws).await?;
            match frame.message {
                Message::Sync(SyncMessage::Step2(_)) => {
                    waiting.remove(frame.doc.as_str());
                }
                Message::Auth(AuthMessage::PermissionDenied { reason }) => {
                    bail!("{} denied: {reason}", frame.doc)
                }
                _ => {}
            }
        }
        let _ = latency.record(micros_since(begin));
        let _ = ws.close(None).await;
        let expected: HashSet<&str> = changed.iter().map(|(_, name)| name.as_str()).collect();
        if names.len() != expected.len()
            || !names.iter().all(|name| expected.contains(name.as_str()))
        {
            bail!(
                "catch-up returned {} documents, expected exactly the {} changed ones",
                names.len(),
                expected.len()
            );
        }
    }
    pool.close().await;
    let target = server.target;
    Ok(vec![
        row("catchup", target, "documents in firm", docs.len() as f64),
        row("catchup", target, "changed docs returned", returned as f64),
        row("catchup", target, "rounds", rounds as f64),
        row("catchup", target, "p50 ms", ms(&latency, 0.50)),
        row("catchup", target, "p99 ms", ms(&latency, 0.99)),
        row("catchup", target, "max ms", latency.max() as f64 / 1000.0),
    ])
}

// ---------------------------------------------------------------------------------------------
// The bare relay (runs in its own process: `sync --serve-relay PORT`)
// ---------------------------------------------------------------------------------------------

type RoomMap = HashMap<String, Vec<(u64, mpsc::UnboundedSender<Bytes>)>>;
type Rooms = Arc<Mutex<RoomMap>>;

fn lock(rooms: &Rooms) -> std::sync::MutexGuard<'_, RoomMap> {
    rooms
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn serve_relay(port: u16) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let rooms: Rooms = Arc::default();
        let mut next_id = 0u64;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            next_id += 1;
            tokio::spawn(relay_connection(stream, rooms.clone(), next_id));
        }
    })
}

/// No document logic: Auth → Authenticated, Step1 → empty Step2, every Step2/Update acked at
/// once, every Update forwarded as received to the other subscribers of the same name.
async fn relay_connection(stream: TcpStream, rooms: Rooms, id: u64) {
    // The same buffer sizes as our server's upgrade, so idle memory compares like for like.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    let writer = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut next = Some(first);
            while let Some(bytes) = next.take() {
                if sink.feed(WsMessage::Binary(bytes)).await.is_err() {
                    return;
                }
                next = rx.try_recv().ok();
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let mut joined: Vec<String> = Vec::new();
    while let Some(Ok(message)) = source.next().await {
        let bytes = match message {
            WsMessage::Binary(bytes) => bytes,
            WsMessage::Close(_) => break,
            _ => continue,
        };
        let Ok(wire) = Wire::decode(&bytes) else {
            break;
        };
        let frame = match wire {
            Wire::Ping => {
                let _ = tx.send(Bytes::from(Wire::Pong.encode()));
                continue;
            }
            Wire::Pong => continue,
            Wire::Frame(frame) => frame,
        };
        let reply = |message| Bytes::from(Frame::new(frame.doc.as_str(), message).encode());
        match &frame.message {
            Message::Auth(AuthMessage::Token { .. }) => {
                if !joined.contains(&frame.doc) {
                    lock(&rooms)
                        .entry(frame.doc.clone())
                        .or_default()
                        .push((id, tx.clone()));
                    joined.push(frame.doc.clone());
                }
                let _ = tx.send(reply(Message::Auth(AuthMessage::Authenticated {
                    scope: "read-write".into(),
                })));
            }
            Message::Sync(SyncMessage::Step1(_)) | Message::SyncReply(SyncMessage::Step1(_)) => {
                let _ = tx.send(reply(Message::Sync(SyncMessage::Step2(vec![0, 0]))));
            }
            Message::Sync(SyncMessage::Step2(_)) | Message::SyncReply(SyncMessage::Step2(_)) => {
                let _ = tx.send(reply(Message::SyncStatus(true)));
            }
            Message::Sync(SyncMessage::Update(_)) | Message::SyncReply(SyncMessage::Update(_)) => {
                let _ = tx.send(reply(Message::SyncStatus(true)));
                if let Some(room) = lock(&rooms).get(&frame.doc) {
                    for (peer, sender) in room {
                        if *peer != id {
                            let _ = sender.send(bytes.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    {
        let mut rooms = lock(&rooms);
        for name in joined {
            if let Some(room) = rooms.get_mut(&name) {
                room.retain(|(peer, _)| *peer != id);
                if room.is_empty() {
                    rooms.remove(&name);
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

// ---------------------------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------------------------

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                line.strip_prefix("model name")
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                line.strip_prefix("MemTotal:")
                    .map(|rest| rest.trim().to_owned())
            })
        })
        .unwrap_or_default();
    format!("nproc {cores}, {cpu}, MemTotal {memory}")
}

fn versions(pg: &str) -> String {
    let postgres =
        psql(&format!("{pg}/postgres"), "SHOW server_version").unwrap_or_else(|_| "?".into());
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(repo_root())
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    format!("Postgres {postgres}, Node {node}, commit {commit}")
}

fn fd_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3))
                .and_then(|soft| soft.parse().ok())
        })
        .unwrap_or(1024)
}

async fn run_one(scenario: Scenario, target: Target, options: &Options, sizes: &Sizes) -> Vec<Row> {
    let mut rows = Vec::new();
    let label = format!("{}_{}", scenario.name(), target.name().replace('-', "_"));
    let variants: Vec<Option<usize>> = match scenario {
        Scenario::Fanout => sizes.fanout_observers.iter().copied().map(Some).collect(),
        _ => vec![None],
    };
    for variant in variants {
        let what = match variant {
            Some(observers) => format!("{} O={observers}", scenario.name()),
            None => scenario.name().to_owned(),
        };
        eprintln!("== {what} / {}", target.name());
        let started = Instant::now();
        let result = async {
            let server = Server::start(target, &options.pg, &label).await?;
            match scenario {
                Scenario::Durable => durable(&server, sizes).await,
                Scenario::Fanout => fanout(&server, sizes, variant.unwrap_or(100)).await,
                Scenario::Idle => idle(&server, sizes).await,
                Scenario::Coldload => coldload(&server, sizes).await,
                Scenario::Catchup => catchup(&server, sizes).await,
            }
        }
        .await;
        match result {
            Ok(found) => {
                for row in &found {
                    eprintln!("   {:<24} {}", row.metric, format_value(row.value));
                }
                rows.extend(found);
            }
            Err(error) => {
                eprintln!("   FAILED: {error:#}");
                rows.push(row(&what, target, "error (see stderr)", f64::NAN));
            }
        }
        eprintln!("   ({:.1} s)", started.elapsed().as_secs_f64());
    }
    rows
}

async fn run(options: Options) -> anyhow::Result<()> {
    let mut sizes = if options.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    sizes.durable_writers = options.writers.unwrap_or(sizes.durable_writers);
    sizes.durable_window = options.window.unwrap_or(sizes.durable_window);
    let needed = (*sizes.fanout_observers.iter().max().unwrap_or(&0)).max(sizes.idle_connections)
        as u64
        + 256;
    if fd_limit() < needed {
        eprintln!(
            "warning: open-file limit {} is below the {needed} this run needs: raise it with ulimit -n 65536",
            fd_limit()
        );
    }
    epoch();
    let started_at = chrono::Utc::now();
    let mut rows = Vec::new();
    for scenario in &options.scenarios {
        for target in &options.targets {
            if scenario.applies_to(*target) {
                rows.extend(run_one(*scenario, *target, &options, &sizes).await);
            }
        }
    }
    let tables = tables(&rows);
    let checks = checks(&rows);
    let mut report = String::new();
    report.push_str(&format!(
        "\n## {} — {} run\n\n- Command: `{}`\n- Machine: {}\n- Software: {}\n- Sizes: {} s measured after {} ms warm-up; durable {} writers × window {}; fan-out {} update/s to {:?} observers; idle {} connections; cold load {} edits + {} pending × {} loads; catch-up {} docs, {} changed × {} rounds\n",
        started_at.format("%Y-%m-%d %H:%M UTC"),
        if options.quick { "quick" } else { "full" },
        options.command,
        machine(),
        versions(&options.pg),
        sizes.duration.as_secs(),
        sizes.warmup.as_millis(),
        sizes.durable_writers,
        sizes.durable_window,
        sizes.fanout_rate,
        sizes.fanout_observers,
        sizes.idle_connections,
        sizes.cold_history,
        sizes.cold_pending,
        sizes.cold_loads,
        sizes.catchup_docs,
        sizes.catchup_changed,
        sizes.catchup_rounds,
    ));
    report.push_str(&tables);
    if !checks.is_empty() {
        report.push_str("\n#### Targets\n\n| target | met | measured |\n| --- | --- | --- |\n");
        for check in &checks {
            report.push_str(&format!(
                "| {} | {} | {} |\n",
                check.what,
                if check.pass { "yes" } else { "**no**" },
                check.detail
            ));
        }
    }
    println!("{report}");
    if let Some(path) = &options.append {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot append to {}", path.display()))?;
        file.write_all(report.as_bytes())?;
        eprintln!("appended to {}", path.display());
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(index) = args.iter().position(|arg| arg == "--serve-relay") {
        let port = args
            .get(index + 1)
            .and_then(|port| port.parse().ok())
            .context("--serve-relay needs a port")?;
        return serve_relay(port);
    }
    let options = parse_options(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        // Dropping the run on a signal drops every Server, which kills its process.
        tokio::select! {
            result = run(options) => result,
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
            _ = terminate.recv() => bail!("terminated"),
        }
    })
}
