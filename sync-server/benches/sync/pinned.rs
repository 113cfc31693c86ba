//! `--pin`: size the bench like a firm's server. The server side (our server *and* its Postgres,
//! or Hocuspocus, or the relay) runs on one core, the load generator on the other, so one side's
//! work never steals the other's CPU and the server side gets exactly one core.
//!
//! The load generator re-executes itself under `taskset -c LOAD_CORE`; each server is started
//! under `taskset -c SERVER_CORE`; ours gets a Postgres cluster of its own, started for the run
//! under the same `taskset` (every backend it forks inherits the core) and removed afterwards.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, bail};

/// Where each side runs when pinned.
#[derive(Clone, Copy, Debug)]
pub struct Pin {
    pub server_core: usize,
    pub load_core: usize,
}

static PIN: OnceLock<Option<Pin>> = OnceLock::new();

pub fn set(pin: Option<Pin>) {
    let _ = PIN.set(pin);
}

pub fn get() -> Option<Pin> {
    PIN.get().copied().flatten()
}

/// The cores this process may run on, as the kernel lists them (`0-1`, `1`).
fn allowed_cores() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))
                .map(|list| list.trim().to_owned())
        })
        .unwrap_or_default()
}

/// Run the load generator on `pin.load_core` only: re-executes this binary under `taskset` unless
/// it already runs there. Returns only when no re-execution was needed.
pub fn pin_self(pin: Pin) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if allowed_cores() == pin.load_core.to_string() {
        return Ok(());
    }
    if cores < 2 && allowed_cores().contains('-') {
        bail!("--pin needs two cores (one for the server side, one for the load)");
    }
    let error = Command::new("taskset")
        .arg("-c")
        .arg(pin.load_core.to_string())
        .arg(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .exec();
    Err(error).context("cannot re-execute the bench under taskset (util-linux)")
}

/// A command for a server-side process: under `taskset -c SERVER_CORE` when pinned.
pub fn server_command(program: impl Into<PathBuf>) -> Command {
    let program = program.into();
    match get() {
        Some(pin) => {
            let mut command = Command::new("taskset");
            command
                .arg("-c")
                .arg(pin.server_core.to_string())
                .arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// A Postgres cluster of the bench's own, on the server core: initdb'd into a temporary
/// directory, listening on a free loopback port, stopped and removed when dropped. Default
/// settings (durable: `fsync` and `synchronous_commit` on), as Debian's cluster has them.
pub struct PinnedPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

fn postgres_bin() -> anyhow::Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("no /usr/lib/postgresql: install the postgresql package")?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .context("no initdb under /usr/lib/postgresql/*/bin")
}

impl PinnedPostgres {
    pub fn start(core: usize) -> anyhow::Result<Self> {
        let bin = postgres_bin()?;
        // Postgres refuses to run as root: as root, the cluster belongs to the postgres user.
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
            .unwrap_or(false);
        let dir = tempfile::Builder::new().prefix("hub-bench-pg-").tempdir()?;
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()?;
            if !status.success() {
                bail!("cannot give {} to the postgres user", dir.path().display());
            }
        }
        let port = crate::server::free_port()?;
        let this = Self {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = this.dir.path().join("data");
        this.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            None,
        )?;
        // BENCH_PG_OPTIONS: extra server settings, for experiments (`-c commit_delay=100`).
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200 {}",
            this.dir.path().display(),
            std::env::var("BENCH_PG_OPTIONS").unwrap_or_default()
        );
        this.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-o",
                &options,
                "-l",
                &this.dir.path().join("log").display().to_string(),
                "-w",
                "start",
            ],
            Some(core),
        )?;
        Ok(this)
    }

    fn run(&self, tool: &str, args: &[&str], core: Option<usize>) -> anyhow::Result<()> {
        let mut command = match core {
            Some(core) => {
                let mut command = Command::new("taskset");
                command.arg("-c").arg(core.to_string());
                command
            }
            None => Command::new("env"),
        };
        if self.as_postgres {
            command.args(["runuser", "-u", "postgres", "--"]);
        }
        let output = command
            .arg(self.bin.join(tool))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {tool}"))?;
        if !output.status.success() {
            bail!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Over loopback TCP, or with `BENCH_PG_SOCKET=1` over the cluster's Unix socket (what a
    /// server on the same host as its Postgres can use).
    pub fn url(&self) -> String {
        if std::env::var_os("BENCH_PG_SOCKET").is_some_and(|value| value == "1") {
            // The socket's directory as the host, percent-encoded (libpq and sqlx both read
            // it so), so that `/database` can still be appended.
            let dir = self.dir.path().display().to_string().replace('/', "%2F");
            return format!("postgres://postgres@{dir}:{}", self.port);
        }
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }
}

impl Drop for PinnedPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "stop"], None);
    }
}
