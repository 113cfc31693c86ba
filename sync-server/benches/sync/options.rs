//! The command line: which scenarios against which servers, at which sizes.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Target {
    Ours,
    Relay,
    Hocuspocus,
    HocuspocusSqlite,
}

impl Target {
    pub const ALL: [Target; 4] = [
        Target::Ours,
        Target::Relay,
        Target::Hocuspocus,
        Target::HocuspocusSqlite,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Ours => "ours",
            Target::Relay => "relay",
            Target::Hocuspocus => "hocuspocus",
            Target::HocuspocusSqlite => "hocuspocus-sqlite",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|target| target.name() == text)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scenario {
    Durable,
    Fanout,
    Idle,
    Coldload,
    Catchup,
    Hotdoc,
    Joinstorm,
}

impl Scenario {
    pub const ALL: [Scenario; 7] = [
        Scenario::Durable,
        Scenario::Fanout,
        Scenario::Idle,
        Scenario::Coldload,
        Scenario::Catchup,
        Scenario::Hotdoc,
        Scenario::Joinstorm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Durable => "durable",
            Scenario::Fanout => "fanout",
            Scenario::Idle => "idle",
            Scenario::Coldload => "coldload",
            Scenario::Catchup => "catchup",
            Scenario::Hotdoc => "hotdoc",
            Scenario::Joinstorm => "joinstorm",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|scenario| scenario.name() == text)
    }

    /// Which servers can run this scenario (cold load and catch-up need our storage and `$hub`).
    pub fn applies_to(self, target: Target) -> bool {
        match self {
            Scenario::Durable
            | Scenario::Fanout
            | Scenario::Idle
            | Scenario::Hotdoc
            | Scenario::Joinstorm => true,
            Scenario::Coldload | Scenario::Catchup => target == Target::Ours,
        }
    }
}

pub struct Sizes {
    pub warmup: Duration,
    pub duration: Duration,
    pub durable_writers: usize,
    pub durable_window: usize,
    /// Rates (updates/s, all writers together) offered open loop after the closed loop.
    pub durable_rates: Vec<u32>,
    pub fanout_observers: Vec<usize>,
    pub fanout_rate: u32,
    pub cold_history: usize,
    pub cold_pending: usize,
    pub cold_loads: usize,
    pub catchup_docs: usize,
    pub catchup_changed: usize,
    pub catchup_rounds: usize,
    /// Offered rates of the hot-document sweep (updates/s, all writers together).
    pub hot_rates: Vec<u32>,
    pub hot_duration: Duration,
    pub storm_clients: usize,
    pub storm_bytes: usize,
    /// Idle connections at which the RSS slope is read (from the first to each later one).
    pub idle_steps: Vec<usize>,
}

impl Sizes {
    pub fn full() -> Self {
        Self {
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(10),
            durable_writers: 50,
            durable_window: 8,
            durable_rates: vec![20_000],
            fanout_observers: vec![1_000, 1_500],
            fanout_rate: 50,
            cold_history: 250_000,
            cold_pending: 1_000,
            cold_loads: 30,
            catchup_docs: 10_000,
            catchup_changed: 10,
            catchup_rounds: 20,
            hot_rates: vec![
                1_000, 2_000, 3_000, 5_000, 7_000, 10_000, 15_000, 20_000, 30_000, 40_000, 60_000,
                80_000, 100_000,
            ],
            hot_duration: Duration::from_secs(5),
            storm_clients: 150,
            storm_bytes: 20_000_000,
            idle_steps: vec![200, 1_200, 2_000],
        }
    }

    pub fn quick() -> Self {
        Self {
            warmup: Duration::from_millis(300),
            duration: Duration::from_secs(2),
            durable_writers: 10,
            durable_window: 8,
            durable_rates: vec![2_000],
            fanout_observers: vec![100],
            fanout_rate: 50,
            cold_history: 20_000,
            cold_pending: 200,
            cold_loads: 5,
            catchup_docs: 500,
            catchup_changed: 10,
            catchup_rounds: 3,
            hot_rates: vec![500, 1_000],
            hot_duration: Duration::from_secs(2),
            storm_clients: 10,
            storm_bytes: 2_000_000,
            idle_steps: vec![50, 200],
        }
    }
}

pub struct Options {
    pub quick: bool,
    pub scenarios: Vec<Scenario>,
    pub targets: Vec<Target>,
    pub append: Option<PathBuf>,
    pub command: String,
    /// Postgres server URL without a database name.
    pub pg: String,
    /// Overrides of the durable scenario's writers and in-flight window (to trace the
    /// throughput/latency curve below saturation).
    pub writers: Option<usize>,
    pub window: Option<usize>,
    /// Overrides the fan-out scenario's observer counts.
    pub observers: Option<Vec<usize>>,
    /// Overrides the durable scenario's open-loop rates (`--rates 10000,20000`; `--rates 0` for none).
    pub rates: Option<Vec<u32>>,
    /// `--pin`: the server side on one core, the load generator on another.
    pub pin: Option<crate::pinned::Pin>,
}

pub fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        quick: false,
        scenarios: Vec::new(),
        targets: Vec::new(),
        append: None,
        writers: None,
        window: None,
        pin: None,
        observers: None,
        rates: None,
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
            "--pin" => {
                options.pin = Some(crate::pinned::Pin {
                    server_core: 0,
                    load_core: 1,
                })
            }
            "--scenario" => {
                for name in value("--scenario")?.split(',') {
                    let scenario = Scenario::parse(name).with_context(|| {
                        format!("unknown scenario {name}: one of durable, fanout, idle, coldload, catchup, hotdoc, joinstorm")
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
            "--observers" => {
                options.observers =
                    Some(numbers(&value("--observers")?, "--observers", "1000,1500")?);
            }
            "--rates" => {
                let rates: Vec<u32> = numbers(&value("--rates")?, "--rates", "10000,20000")?;
                options.rates = Some(rates.into_iter().filter(|rate| *rate > 0).collect());
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
                 [--pin] [--append FILE.md] [--command TEXT] [--pg postgres://USER@HOST:PORT] [--writers N] [--window N] [--rates N,N] [--observers N,N]"
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

/// A comma-separated list of numbers (`1000,1500`).
fn numbers<T: std::str::FromStr>(list: &str, flag: &str, example: &str) -> anyhow::Result<Vec<T>> {
    list.split(',')
        .map(|n| n.parse::<T>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| anyhow::anyhow!("{flag} takes numbers: {example}"))
}
