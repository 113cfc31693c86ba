//! The server under test, as a process of its own (so its CPU and RSS can be read from
//! `/proc`), with the database it gets for one run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::net::TcpStream;

use crate::client::STEP_TIMEOUT;
use crate::options::Target;
use crate::procfs::{process_tree, rss_of, tree_cpu_seconds};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_path_buf()
}

/// Kills the child (SIGKILL) and reaps it when dropped, also while unwinding from a panic.
pub struct ChildGuard {
    pub child: Child,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn psql(url: &str, sql: &str) -> anyhow::Result<String> {
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
pub struct TempDb {
    pub pg: String,
    pub name: String,
}

impl TempDb {
    pub fn create(pg: &str, label: &str) -> anyhow::Result<Self> {
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

    pub fn url(&self) -> String {
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

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Counters of our server's write path (`Server::write_counters`).
#[derive(Clone, Copy, Debug)]
pub struct WriteCounters {
    pub commits: u64,
    pub updates: u64,
    pub rows: u64,
}

impl WriteCounters {
    /// What was counted between `before` and these.
    pub fn since(self, before: Self) -> Self {
        Self {
            commits: self.commits - before.commits,
            updates: self.updates - before.updates,
            rows: self.rows - before.rows,
        }
    }

    pub fn updates_per_commit(&self) -> f64 {
        self.updates as f64 / self.commits.max(1) as f64
    }

    pub fn rows_per_update(&self) -> f64 {
        self.rows as f64 / self.updates.max(1) as f64
    }
}

pub struct Server {
    pub target: Target,
    pub port: u16,
    pub pid: u32,
    // Field order matters: the process dies before its database is dropped.
    pub _child: ChildGuard,
    pub db: Option<TempDb>,
    pub _dir: Option<tempfile::TempDir>,
}

impl Server {
    pub async fn start(target: Target, pg: &str, label: &str) -> anyhow::Result<Self> {
        match target {
            // A server started by hand (under a profiler, say): BENCH_EXTERNAL=PORT:PID.
            Target::Ours if std::env::var("BENCH_EXTERNAL").is_ok() => {
                let external = std::env::var("BENCH_EXTERNAL").unwrap_or_default();
                let (port, pid) = external
                    .split_once(':')
                    .and_then(|(port, pid)| Some((port.parse().ok()?, pid.parse().ok()?)))
                    .context("BENCH_EXTERNAL is PORT:PID")?;
                let child = Command::new("sleep").arg("100000").spawn()?;
                Ok(Self {
                    target,
                    port,
                    pid,
                    _child: ChildGuard { child },
                    db: None,
                    _dir: None,
                })
            }
            Target::Ours => {
                let db = TempDb::create(pg, label)?;
                // BENCH_SERVER_BIN: another build of ours (an older commit, to compare).
                let bin = std::env::var("BENCH_SERVER_BIN")
                    .unwrap_or_else(|_| env!("CARGO_BIN_EXE_sync-server").to_owned());
                let bin = bin.as_str();
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
                let child = crate::pinned::server_command(bin)
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
                    // As the shipped systemd unit and container image run it.
                    .env("MIMALLOC_ARENA_EAGER_COMMIT", "0")
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
                let child = crate::pinned::server_command(std::env::current_exe()?)
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
                let mut command = crate::pinned::server_command("node");
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

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/api/v1/sync", self.port)
    }

    /// Our server's write counters (`/api/v1/stats`, read with a firm admin's token); `None`
    /// for the other targets.
    pub async fn write_counters(&self) -> anyhow::Result<Option<WriteCounters>> {
        if self.target != Target::Ours {
            return Ok(None);
        }
        let stats = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{}/api/v1/stats", self.port))
            .bearer_auth(crate::client::dev_admin_token("bench-admin", "bench-firm"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let counter = |name: &str| -> anyhow::Result<u64> {
            stats
                .lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .with_context(|| format!("/api/v1/stats has no {name}: {stats}"))
        };
        Ok(Some(WriteCounters {
            commits: counter("write_batches")?,
            updates: counter("write_requests")?,
            rows: counter("write_rows")?,
        }))
    }

    pub fn cpu_seconds(&self) -> f64 {
        tree_cpu_seconds(self.pid)
    }

    pub fn rss_bytes(&self) -> u64 {
        process_tree(self.pid).iter().map(|pid| rss_of(*pid)).sum()
    }
}

pub async fn wait_listening(guard: &mut ChildGuard, port: u16) -> anyhow::Result<()> {
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
