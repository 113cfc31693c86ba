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

mod catchup;
mod client;
mod coldload;
mod durable;
mod fanout;
mod hotdoc;
mod idle;
mod joinstorm;
mod options;
mod pinned;
mod procfs;
#[path = "../../tests/common/raw.rs"]
mod raw;
mod relay;
mod report;
mod server;
mod storm_client;

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, bail};

use client::epoch;
use options::{Options, Scenario, Sizes, Target, parse_options};
use report::{Row, checks, format_value, machine, row, tables, versions};
use server::Server;

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
                Scenario::Durable => durable::run(&server, sizes).await,
                Scenario::Fanout => fanout::run(&server, sizes, variant.unwrap_or(100)).await,
                Scenario::Idle => idle::run(&server, sizes).await,
                Scenario::Coldload => coldload::run(&server, sizes).await,
                Scenario::Catchup => catchup::run(&server, sizes).await,
                Scenario::Hotdoc => hotdoc::run(&server, sizes).await,
                Scenario::Joinstorm => joinstorm::run(&server, sizes).await,
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

async fn run(mut options: Options) -> anyhow::Result<()> {
    // Pinned, ours gets a Postgres cluster of its own on the server core.
    let _postgres = match options.pin {
        Some(pin) => {
            let postgres = pinned::PinnedPostgres::start(pin.server_core)?;
            eprintln!(
                "pinned: server side on core {}, load on core {}; Postgres cluster on port {}",
                pin.server_core, pin.load_core, postgres.port
            );
            options.pg = postgres.url();
            Some(postgres)
        }
        None => None,
    };
    let mut sizes = if options.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    sizes.durable_writers = options.writers.unwrap_or(sizes.durable_writers);
    sizes.durable_window = options.window.unwrap_or(sizes.durable_window);
    if let Some(rates) = &options.rates {
        sizes.durable_rates = rates.clone();
    }
    if let Some(observers) = &options.observers {
        sizes.fanout_observers = observers.clone();
    }
    let needed = (*sizes.fanout_observers.iter().max().unwrap_or(&0))
        .max(*sizes.idle_steps.iter().max().unwrap_or(&0)) as u64
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
        "\n## {} — {} run\n\n- Command: `{}`\n- Machine: {}\n- Software: {}\n- Sizes: {} s measured after {} ms warm-up; durable {} writers × window {}, then open loop at {:?}/s; fan-out {} update/s to {:?} observers; idle slope over {:?} connections; hot document {} writers + {} observers, {} s per rate; join storm {} clients × {} MB; cold load {} edits + {} pending × {} loads; catch-up {} docs, {} changed × {} rounds\n",
        started_at.format("%Y-%m-%d %H:%M UTC"),
        if options.quick { "quick" } else { "full" },
        options.command,
        machine(),
        versions(&options.pg),
        sizes.duration.as_secs(),
        sizes.warmup.as_millis(),
        sizes.durable_writers,
        sizes.durable_window,
        sizes.durable_rates,
        sizes.fanout_rate,
        sizes.fanout_observers,
        sizes.idle_steps,
        hotdoc::WRITERS,
        hotdoc::OBSERVERS,
        sizes.hot_duration.as_secs(),
        sizes.storm_clients,
        sizes.storm_bytes / 1_000_000,
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
        return relay::serve(port);
    }
    let options = parse_options(&args)?;
    if let Some(pin) = options.pin {
        pinned::pin_self(pin)?;
    }
    pinned::set(options.pin);
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
