//! CPU time and memory of a process tree, read from `/proc`.

use std::process::Command;
use std::sync::OnceLock;

pub fn clock_ticks() -> f64 {
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
pub fn read_stat(pid: u32) -> Option<(u32, u32, String, u64)> {
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

pub fn all_stats() -> Vec<(u32, u32, String, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(read_stat)
        .collect()
}

/// The process and all its descendants (node may fork helpers).
pub fn process_tree(root: u32) -> Vec<u32> {
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

pub fn tree_cpu_seconds(root: u32) -> f64 {
    let ticks: u64 = process_tree(root)
        .into_iter()
        .filter_map(read_stat)
        .map(|(_, _, _, ticks)| ticks)
        .sum();
    ticks as f64 / clock_ticks()
}

/// CPU of every Postgres process on the machine (the database work behind our durable acks).
pub fn postgres_cpu_seconds() -> f64 {
    let ticks: u64 = all_stats()
        .into_iter()
        .filter(|(_, _, comm, _)| comm == "postgres")
        .map(|(_, _, _, ticks)| ticks)
        .sum();
    ticks as f64 / clock_ticks()
}

pub fn rss_of(pid: u32) -> u64 {
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
