//! cgroups: limits on what a container uses.
//!
//! A cgroup is a directory in a special file system: its files are the
//! limits (`memory.max`), its `cgroup.procs` the processes it holds, and
//! every child a process forks stays in it. Machines have one of two
//! layouts. cgroup v2 (most distributions since 2021) has one tree at
//! `/sys/fs/cgroup` with every controller in it. cgroup v1 has one tree
//! per controller (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/pids`, ...);
//! a "hybrid" host also mounts an empty v2 tree at
//! `/sys/fs/cgroup/unified`, which holds no controllers. Both are here.

pub mod v1;
pub mod v2;

use crate::error::{Error, Result, io_error};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The directory every container's cgroup goes in, in each tree.
pub const PARENT: &str = "dockerless";

/// What `run` limits: `None` leaves it unlimited.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// `--memory`, in bytes.
    pub memory: Option<u64>,
    /// `--memory-swap`: memory plus swap, in bytes; `Some(-1)` unlimited.
    pub memory_swap: Option<i64>,
    /// `--cpus`: how many CPUs' worth of time, such as 0.5.
    pub cpus: Option<f64>,
    /// `--cpu-shares`: a relative weight (1024 is the default).
    pub cpu_shares: Option<u64>,
    /// `--pids-limit`: how many tasks at once.
    pub pids: Option<u64>,
}

impl Limits {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.memory.is_some()
            || self.memory_swap.is_some()
            || self.cpus.is_some()
            || self.cpu_shares.is_some()
            || self.pids.is_some()
    }

    /// The options given, as the user typed their names (for messages).
    pub fn names(&self) -> String {
        let mut names = Vec::new();
        let mut add = |set: bool, name: &str| {
            if set {
                names.push(name.to_string());
            }
        };
        add(self.memory.is_some(), "--memory");
        add(self.memory_swap.is_some(), "--memory-swap");
        add(self.cpus.is_some(), "--cpus");
        add(self.cpu_shares.is_some(), "--cpu-shares");
        add(self.pids.is_some(), "--pids-limit");
        names.join(", ")
    }

    /// Docker's rule: with `--memory` and no `--memory-swap`, swap may add
    /// as much again (memory + swap = twice the memory).
    pub fn swap_total(&self) -> Option<i64> {
        self.memory_swap
            .or(self.memory.map(|memory| 2 * memory as i64))
    }
}

/// Which layout this machine has, and where its trees are mounted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One tree, mounted at `root`.
    V2 { root: PathBuf },
    /// One tree per controller: `memory` -> `/sys/fs/cgroup/memory`, ...
    /// (a controller mounted together with others, `cpu,cpuacct`, appears
    /// under each name).
    V1 {
        controllers: BTreeMap<String, PathBuf>,
    },
}

// ANCHOR: detect
/// The layout, from the text of `/proc/self/mountinfo`; `None` when no
/// cgroup file system is mounted.
pub fn detect(mountinfo: &str) -> Option<Layout> {
    // EXERCISE(cgroup-layout): Tell v2 from v1.
    // A mountinfo line is `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ...
    // - FSTYPE SOURCE SUPER_OPTIONS`. v2: a `cgroup2` file system mounted
    // at `/sys/fs/cgroup` itself. Otherwise every `cgroup` (v1) mount names
    // its controllers in its super options (`rw,cpu,cpuacct`): map each
    // controller to the mount point (skip `rw`, `ro`, `xattr`, `noprefix`,
    // `clone_children` and `name=...`, which are not controllers). A hybrid host's `cgroup2` at
    // `/sys/fs/cgroup/unified` has no controllers: it is v1 for us.
    // HINT: Split each line at `" - "` first: the optional fields before it vary in
    // number, so counting fields from the start of the line breaks.
    // HINT+: Before the dash, the mount point is field 4 (from 0); after it, the type
    // is the first field and the super options the third. A `cgroup2` at exactly
    // `/sys/fs/cgroup` returns `V2` at once; one elsewhere is skipped. For `cgroup`,
    // `split(',')` the options and map every controller (not a listed option, no `=`)
    // to the mount point in a `BTreeMap`. An empty map at the end is `None`.
    let mut controllers = BTreeMap::new();
    for line in mountinfo.lines() {
        let Some((before, after)) = line.split_once(" - ") else {
            continue;
        };
        let mount_point = before.split(' ').nth(4).unwrap_or_default();
        let mut fields = after.split(' ');
        let fs_type = fields.next().unwrap_or_default();
        let options = fields.nth(1).unwrap_or_default();
        match fs_type {
            "cgroup2" if mount_point == "/sys/fs/cgroup" => {
                return Some(Layout::V2 {
                    root: PathBuf::from(mount_point),
                });
            }
            "cgroup" => {
                for option in options.split(',') {
                    let flag = matches!(
                        option,
                        "rw" | "ro" | "xattr" | "noprefix" | "clone_children"
                    );
                    if !flag && !option.contains('=') {
                        controllers.insert(option.to_string(), PathBuf::from(mount_point));
                    }
                }
            }
            _ => {}
        }
    }
    (!controllers.is_empty()).then_some(Layout::V1 { controllers })
    // END EXERCISE
}
// ANCHOR_END: detect

/// The layout of this machine.
pub fn this_machine() -> Option<Layout> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|text| detect(&text))
}

/// What a container used, read at its end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// The most memory it held at once, in bytes.
    pub peak_memory: Option<u64>,
    /// CPU time, in microseconds.
    pub cpu_usec: Option<u64>,
    /// How many times the kernel's OOM killer killed one of its processes.
    pub oom_kills: Option<u64>,
    /// The most tasks (processes and threads) it had at once.
    pub peak_pids: Option<u64>,
}

/// A container's cgroup: one directory (v2) or one per controller (v1).
#[derive(Debug)]
pub struct Cgroup {
    layout: Layout,
    /// The container's directories, deepest last.
    dirs: Vec<PathBuf>,
}

impl Cgroup {
    /// Makes the cgroup `id` with `limits` in `layout`; `cpu_time` asks
    /// for the CPU time to be counted (v1 keeps it in a controller of its
    /// own, made only when asked).
    pub fn create(layout: &Layout, id: &str, limits: &Limits, cpu_time: bool) -> Result<Cgroup> {
        let dirs = match layout {
            Layout::V2 { root } => vec![v2::create(root, id, limits)?],
            Layout::V1 { controllers } => v1::create(controllers, id, limits, cpu_time)?,
        };
        Ok(Cgroup {
            layout: layout.clone(),
            dirs,
        })
    }

    /// Moves process `pid` (and the children it will have) into the cgroup.
    pub fn add(&self, pid: i32) -> Result<()> {
        for dir in &self.dirs {
            write(&dir.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// The container's directories.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// What the container used.
    pub fn stats(&self) -> Stats {
        match &self.layout {
            Layout::V2 { .. } => v2::stats(&self.dirs[0]),
            Layout::V1 { .. } => v1::stats(&self.dirs),
        }
    }

    /// Removes the directories (the processes must be gone).
    pub fn remove(self) -> Result<()> {
        for dir in self.dirs.iter().rev() {
            match std::fs::remove_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(Error::Io {
                        path: dir.clone(),
                        source,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Writes `value` to the cgroup file `path`.
pub(crate) fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(io_error(path))
}

/// Reads a number from the first line of `path`.
pub(crate) fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The value of `key` in a flat-keyed file (`memory.events`, `cpu.stat`).
pub(crate) fn read_key(path: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok())?
    })
}

/// Removes the empty cgroups earlier containers left in `parent` (a
/// `dockerless run` that was killed could not clean up); a cgroup that
/// still holds processes refuses to go. Cgroups younger than a minute are
/// left alone: another `run` may have just made one, and not yet put its
/// container in it.
pub(crate) fn sweep(parent: &Path) {
    let minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    if let Ok(entries) = std::fs::read_dir(parent) {
        // The type comes with the listing; only directories (a few, not the
        // dozens of interface files beside them) are looked at further.
        for entry in entries.flatten() {
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified < minute_ago);
            if old {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
}

/// Parses a size as Docker takes it: `64m`, `1g`, `512k`, `100b`, bytes;
/// `option` names the command-line option in an error.
pub fn parse_size(option: &'static str, text: &str) -> Result<u64> {
    let error = |reason: &str| Error::Option {
        option,
        value: text.to_string(),
        reason: reason.to_string(),
    };
    let lower = text.trim().to_ascii_lowercase();
    let (digits, unit) = match lower.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => lower.split_at(at),
        None => (lower.as_str(), ""),
    };
    let multiplier: u64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(error("use a number with b, k, m, g or t, such as 64m")),
    };
    let number: f64 = digits.parse().map_err(|_| error("not a number"))?;
    if number <= 0.0 {
        return Err(error("must be more than zero"));
    }
    Ok((number * multiplier as f64) as u64)
}
