//! Results: the rows each scenario measures, the Markdown tables and the targets they are held to,
//! and the machine they were measured on.

use std::process::Command;

use crate::options::Target;
use crate::server::{psql, repo_root};

pub struct Row {
    pub scenario: String,
    pub target: Target,
    pub metric: &'static str,
    pub value: f64,
}

pub struct Check {
    pub what: String,
    pub pass: bool,
    pub detail: String,
}

pub fn row(scenario: &str, target: Target, metric: &'static str, value: f64) -> Row {
    Row {
        scenario: scenario.to_owned(),
        target,
        metric,
        value,
    }
}

pub fn format_value(value: f64) -> String {
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

pub fn find(rows: &[Row], scenario: &str, target: Target, metric: &str) -> Option<f64> {
    rows.iter()
        .find(|row| row.scenario == scenario && row.target == target && row.metric == metric)
        .map(|row| row.value)
}

pub fn tables(rows: &[Row]) -> String {
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

pub fn checks(rows: &[Row]) -> Vec<Check> {
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
    for scenario in rows
        .iter()
        .filter(|row| row.scenario.starts_with("durable ") && row.target == Target::Ours)
        .map(|row| row.scenario.clone())
        .collect::<std::collections::BTreeSet<_>>()
    {
        if let (Some(offered), Some(acked), Some(p99)) = (
            find(rows, &scenario, Target::Ours, "offered updates/s"),
            find(rows, &scenario, Target::Ours, "acked updates/s"),
            find(rows, &scenario, Target::Ours, "ack p99 ms"),
        ) {
            let refused = find(rows, &scenario, Target::Ours, "refused acks").unwrap_or(0.0);
            let failed = find(rows, &scenario, Target::Ours, "failed writers").unwrap_or(0.0);
            check(
                &format!("{scenario} open loop: durable ack p99 ≤ 15 ms, every update acked"),
                p99 <= 15.0 && acked >= offered && offered > 0.0 && refused == 0.0 && failed == 0.0,
                format!(
                    "{p99:.2} ms, {acked:.0} of {offered:.0} acked/s, {refused:.0} refused, {failed:.0} writers failed"
                ),
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
        if let (Some(ours), Some(theirs)) = (
            find(rows, &scenario, Target::Ours, "p99 ms"),
            find(rows, &scenario, Target::Hocuspocus, "p99 ms"),
        ) {
            check(
                &format!("{scenario}: p99 never worse than Hocuspocus"),
                ours <= theirs,
                format!("{:.2}× ({ours:.2} vs {theirs:.2} ms)", ours / theirs),
            );
        }
    }
    for metric in [
        "bytes/connection (slope to mid)",
        "bytes/connection (slope to last)",
    ] {
        if let Some(bytes) = find(rows, "idle", Target::Ours, metric) {
            check(
                &format!("idle: ≤ 4 KB per idle connection, {metric}"),
                bytes <= 4096.0,
                format!("{bytes:.0} B"),
            );
        }
    }
    if let (Some(ours), Some(sqlite)) = (
        find(rows, "hotdoc", Target::Ours, "sustained updates/s"),
        find(
            rows,
            "hotdoc",
            Target::HocuspocusSqlite,
            "sustained updates/s",
        ),
    ) {
        check(
            "hotdoc: sustained rate (p99 ≤ 100 ms, all delivered) ≥ 5× hocuspocus-sqlite",
            ours >= 5.0 * sqlite,
            format!(
                "{:.2}× ({ours:.0} vs {sqlite:.0}/s)",
                ours / sqlite.max(1.0)
            ),
        );
    }
    if let Some(p99) = find(rows, "joinstorm", Target::Ours, "p99 s") {
        check(
            "joinstorm: all clients synced, p99 ≤ 3 s",
            p99 <= 3.0,
            format!("{p99:.2} s"),
        );
    }
    if let Some(peak) = find(rows, "joinstorm", Target::Ours, "server peak RSS MiB") {
        check(
            "joinstorm: server peak RSS ≤ 1 GB",
            peak <= 1000.0 * 1e6 / 1048576.0,
            format!("{peak:.0} MiB"),
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

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                line.strip_prefix("model name")
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::fs::read_to_string("/proc/cpuinfo")
        .map(|text| {
            text.lines()
                .filter(|line| line.starts_with("processor"))
                .count()
        })
        .unwrap_or(0);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                line.strip_prefix("MemTotal:")
                    .map(|rest| rest.trim().to_owned())
            })
        })
        .unwrap_or_default();
    let pin = match crate::pinned::get() {
        Some(pin) => format!(
            "; **pinned**: server side (server + its Postgres, or Hocuspocus, or the relay) on core {}, load generator on core {} (`taskset`)",
            pin.server_core, pin.load_core
        ),
        None => "; not pinned (server, Postgres and load share the cores)".to_owned(),
    };
    format!("{cores} cores, {cpu}, MemTotal {memory}{pin}")
}

pub fn versions(pg: &str) -> String {
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
