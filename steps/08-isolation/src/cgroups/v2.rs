//! cgroup v2: one tree, controllers enabled from the top down.

use super::{Limits, PARENT, Stats, read_key, read_number, sweep, write};
use crate::error::Result;
use std::path::{Path, PathBuf};

/// How long one CPU period is, in microseconds (as Docker's default).
pub const CPU_PERIOD: u64 = 100_000;

/// v1's `cpu.shares` (2..=262144, default 1024) as v2's `cpu.weight`
/// (1..=10000, default 100): the linear map runc and crun use.
pub fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

// ANCHOR: files
/// The interface files and values that set `limits` in a v2 cgroup.
pub fn files(limits: &Limits) -> Vec<(&'static str, String)> {
    // EXERCISE(v2-limits): Write the limits as cgroup v2 files.
    // - memory: `memory.max` = bytes; swap: `memory.swap.max` = the swap
    //   part alone (`swap_total()` - memory), or "max" when -1;
    // - cpus: `cpu.max` = "QUOTA PERIOD", QUOTA = cpus × CPU_PERIOD;
    // - cpu shares: `cpu.weight` = `shares_to_weight(shares)`;
    // - pids: `pids.max` = the number.
    // HINT: Push a `(file, value)` pair for each limit that is `Some`, in the order
    // of the instructions: the check compares the whole list.
    // HINT+: `memory.swap.max` is swap alone: `swap_total()` minus the memory, in
    // `i64` (`memory` is a `u64`), never below 0; and `"max"` for -1, tested before
    // any subtraction. `cpu.max` is the quota, a space, then the period; the quota is
    // CPUs times `CPU_PERIOD` as a float, rounded (0.5 CPU is 50000).
    // `shares_to_weight` gives `cpu.weight`; `pids.max` is the number as text.
    let mut files = Vec::new();
    if let Some(memory) = limits.memory {
        files.push(("memory.max", memory.to_string()));
        match limits.swap_total() {
            Some(-1) => files.push(("memory.swap.max", "max".to_string())),
            Some(total) => {
                let swap = (total - memory as i64).max(0);
                files.push(("memory.swap.max", swap.to_string()));
            }
            None => {}
        }
    }
    if let Some(cpus) = limits.cpus {
        let quota = (cpus * CPU_PERIOD as f64).round() as u64;
        files.push(("cpu.max", format!("{quota} {CPU_PERIOD}")));
    }
    if let Some(shares) = limits.cpu_shares {
        files.push(("cpu.weight", shares_to_weight(shares).to_string()));
    }
    if let Some(pids) = limits.pids {
        files.push(("pids.max", pids.to_string()));
    }
    files
    // END EXERCISE
}
// ANCHOR_END: files

/// The controllers `limits` needs, as `cgroup.subtree_control` names them.
pub fn controllers(limits: &Limits) -> Vec<&'static str> {
    let mut needed = vec!["memory", "pids"];
    if limits.cpus.is_some() || limits.cpu_shares.is_some() {
        needed.push("cpu");
    }
    needed
}

/// Makes `root/dockerless/<id>` with `limits`. Controllers are enabled in
/// the ancestors' `cgroup.subtree_control` (a cgroup can only use what its
/// parent enables) and never in the leaf; no process is ever put in
/// `dockerless` itself: a cgroup that enables controllers for children
/// may hold no processes (the "no internal processes" rule).
pub fn create(root: &Path, id: &str, limits: &Limits) -> Result<PathBuf> {
    let parent = root.join(PARENT);
    if !parent.is_dir() {
        std::fs::create_dir(&parent).map_err(crate::error::io_error(&parent))?;
    }
    sweep(&parent);
    let available = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
    let wanted: Vec<String> = controllers(limits)
        .into_iter()
        .filter(|c| available.split_whitespace().any(|a| a == *c))
        .map(|c| format!("+{c}"))
        .collect();
    if !wanted.is_empty() {
        for dir in [root, parent.as_path()] {
            let enabled =
                std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
            let missing: Vec<&String> = wanted
                .iter()
                .filter(|w| !enabled.split_whitespace().any(|e| e == &w[1..]))
                .collect();
            if !missing.is_empty() {
                let line: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                write(&dir.join("cgroup.subtree_control"), &line.join(" "))?;
            }
        }
    }
    let leaf = parent.join(id);
    std::fs::create_dir(&leaf).map_err(crate::error::io_error(&leaf))?;
    for (file, value) in files(limits) {
        if let Err(error) = write(&leaf.join(file), &value) {
            let _ = std::fs::remove_dir(&leaf);
            return Err(error);
        }
    }
    Ok(leaf)
}

/// What the container in `dir` used.
pub fn stats(dir: &Path) -> Stats {
    Stats {
        peak_memory: read_number(&dir.join("memory.peak")),
        cpu_usec: read_key(&dir.join("cpu.stat"), "usage_usec"),
        oom_kills: read_key(&dir.join("memory.events"), "oom_kill"),
        peak_pids: read_number(&dir.join("pids.peak")),
    }
}
