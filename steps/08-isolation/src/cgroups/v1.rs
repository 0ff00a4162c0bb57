//! cgroup v1: one tree per controller, the same directory made in each.

use super::{Limits, PARENT, Stats, read_key, read_number, sweep, write};
use crate::error::{Result, io_error};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How long one CPU period is, in microseconds.
pub const CPU_PERIOD: u64 = 100_000;

/// The controllers every container's cgroup goes in: memory (its limit,
/// its peak, its OOM kills) and pids.
pub const CONTROLLERS: [&str; 2] = ["memory", "pids"];

/// The controllers added for a CPU limit or for the CPU time at the end.
/// Each controller is one more directory to make and remove per container,
/// so they are only made when needed.
pub const CPU_CONTROLLERS: [&str; 2] = ["cpu", "cpuacct"];

/// The `(controller, file, value)` writes that set `limits`, in an order
/// the kernel accepts (the memory limit before memory+swap, which may not
/// be lower).
pub fn files(limits: &Limits) -> Vec<(&'static str, &'static str, String)> {
    let mut files = Vec::new();
    if let Some(memory) = limits.memory {
        files.push(("memory", "memory.limit_in_bytes", memory.to_string()));
        if let Some(total) = limits.swap_total() {
            files.push(("memory", "memory.memsw.limit_in_bytes", total.to_string()));
        }
    }
    if let Some(cpus) = limits.cpus {
        let quota = (cpus * CPU_PERIOD as f64).round() as u64;
        files.push(("cpu", "cpu.cfs_period_us", CPU_PERIOD.to_string()));
        files.push(("cpu", "cpu.cfs_quota_us", quota.to_string()));
    }
    if let Some(shares) = limits.cpu_shares {
        files.push(("cpu", "cpu.shares", shares.to_string()));
    }
    if let Some(pids) = limits.pids {
        files.push(("pids", "pids.max", pids.to_string()));
    }
    files
}

/// Makes `<controller>/dockerless/<id>` in each controller's tree (once
/// per mount: `cpu` and `cpuacct` may share one), and writes `limits`.
pub fn create(
    controllers: &BTreeMap<String, PathBuf>,
    id: &str,
    limits: &Limits,
    cpu_time: bool,
) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut by_controller = BTreeMap::new();
    let cpu = cpu_time || limits.cpus.is_some() || limits.cpu_shares.is_some();
    let wanted = CONTROLLERS
        .iter()
        .chain(CPU_CONTROLLERS.iter().filter(|_| cpu));
    for &controller in wanted {
        let Some(mount) = controllers.get(controller) else {
            continue;
        };
        let dir = mount.join(PARENT).join(id);
        if !dirs.contains(&dir) {
            let parent = mount.join(PARENT);
            std::fs::create_dir_all(&parent).map_err(io_error(&parent))?;
            sweep(&parent);
            std::fs::create_dir(&dir).map_err(io_error(&dir))?;
            dirs.push(dir.clone());
        }
        by_controller.insert(controller, dir);
    }
    for (controller, file, value) in files(limits) {
        let Some(dir) = by_controller.get(controller) else {
            remove(&dirs);
            return Err(crate::error::Error::Limits {
                limits: file.to_string(),
                reason: format!("the {controller} controller is not mounted"),
                fix: format!(
                    "mount it (mount -t cgroup -o {controller} cgroup /sys/fs/cgroup/{controller})"
                ),
            });
        };
        let path = dir.join(file);
        // Swap accounting is off on many kernels (no memsw files): then
        // swap cannot be limited, and memory alone is.
        if file == "memory.memsw.limit_in_bytes" && !path.exists() {
            continue;
        }
        if let Err(error) = write(&path, &value) {
            remove(&dirs);
            return Err(error);
        }
    }
    Ok(dirs)
}

fn remove(dirs: &[PathBuf]) {
    for dir in dirs {
        let _ = std::fs::remove_dir(dir);
    }
}

/// What the container used: its directories' counters.
pub fn stats(dirs: &[PathBuf]) -> Stats {
    let find = |file: &str| dirs.iter().map(|d| d.join(file)).find(|p| p.exists());
    let read = |file: &str| find(file).as_deref().and_then(read_number);
    Stats {
        peak_memory: read("memory.max_usage_in_bytes"),
        cpu_usec: read("cpuacct.usage").map(|ns| ns / 1000),
        oom_kills: find("memory.oom_control")
            .as_deref()
            .and_then(|p: &Path| read_key(p, "oom_kill")),
        peak_pids: read("pids.peak"),
    }
}
