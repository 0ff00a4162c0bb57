//! Listing namespaces, as `lsns` does.
//!
//! Every process has one namespace of each type, and `/proc/PID/ns/TYPE` is
//! a magic link to it: `readlink` gives `TYPE:[INODE]`, and two processes
//! share a namespace exactly when the inodes are equal. `lsns` reads these
//! links for every process and groups them; so does this module.

use crate::error::{Error, Result};
use std::fmt::Write as _;

/// The types `/proc/PID/ns` holds, in `lsns` order.
pub const TYPES: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

/// One namespace: its type and its inode number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Namespace {
    pub kind: String,
    pub inode: u64,
}

// ANCHOR: parse_link
/// The namespace a `/proc/PID/ns/*` link names: `net:[4026531840]`.
pub fn parse_link(link: &str) -> Option<Namespace> {
    // EXERCISE(read-namespaces): Read a namespace link.
    // The link's text is `TYPE:[INODE]`: split at the first `:`, strip the
    // brackets, parse the inode as a u64. Anything else is `None`.
    // HINT: Every step can fail, and each failure is `None`: `?` on `Option`s ends
    // the function at the first surprise.
    // HINT+: `split_once(':')` gives the type and `[INODE]`; `strip_prefix('[')` and
    // `strip_suffix(']')` return `Option`s, so they chain with `?`. `parse::<u64>()`
    // returns a `Result`: `.ok()?` turns its error into the same `None`. The check
    // tries `net`, `net:4026531840`, `net:[x]` and `""`: no `unwrap`, no indexing.
    let (kind, rest) = link.split_once(':')?;
    let inode = rest.strip_prefix('[')?.strip_suffix(']')?.parse().ok()?;
    Some(Namespace {
        kind: kind.to_string(),
        inode,
    })
    // END EXERCISE
}
// ANCHOR_END: parse_link

/// The namespaces of process `pid` (a number, or `self`), in `TYPES`
/// order; types this kernel lacks are left out.
pub fn of_process(pid: &str) -> Result<Vec<Namespace>> {
    let mut found = Vec::new();
    for kind in TYPES {
        let path = format!("/proc/{pid}/ns/{kind}");
        match std::fs::read_link(&path) {
            Ok(link) => found.extend(parse_link(&link.to_string_lossy())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && kind != "mnt" => {}
            Err(source) => {
                return Err(Error::Process {
                    pid: pid.to_string(),
                    source,
                });
            }
        }
    }
    Ok(found)
}

/// One process, as [`group`] takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub command: String,
    pub namespaces: Vec<Namespace>,
}

/// A namespace and the processes in it, as one line of `lsns`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shared {
    pub namespace: Namespace,
    /// How many of the processes are in it.
    pub processes: usize,
    /// The lowest pid in it, and its command.
    pub pid: u32,
    pub command: String,
    /// Whether the caller is in it too.
    pub yours: bool,
}

// ANCHOR: group
/// Every namespace of `processes`, each once, sorted by inode (as `lsns`
/// prints them); `mine` are the caller's namespaces.
pub fn group(processes: &[Process], mine: &[Namespace]) -> Vec<Shared> {
    // EXERCISE(group-namespaces): Group processes by namespace, like lsns.
    // For each namespace any process is in: how many processes are in it,
    // the one with the lowest pid (and its command), and whether `mine`
    // holds it. Sort the result by inode.
    // HINT: Key a map by the namespace (inode, then kind): a `BTreeMap` iterates in
    // key order, which is the sort by inode for free.
    // HINT+: For each namespace of each process, `entry(key).or_insert_with(...)`
    // makes the `Shared` the first time (count 0, this pid and command,
    // `mine.contains(...)`); then count one more. The processes need not come sorted
    // (the check lists pid 7 before pid 3): take the pid and command whenever a lower
    // pid comes along. `into_values()` gives the list.
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<(u64, String), Shared> = BTreeMap::new();
    for process in processes {
        for namespace in &process.namespaces {
            let key = (namespace.inode, namespace.kind.clone());
            let entry = groups.entry(key).or_insert_with(|| Shared {
                namespace: namespace.clone(),
                processes: 0,
                pid: process.pid,
                command: process.command.clone(),
                yours: mine.contains(namespace),
            });
            entry.processes += 1;
            if process.pid < entry.pid {
                entry.pid = process.pid;
                entry.command = process.command.clone();
            }
        }
    }
    groups.into_values().collect()
    // END EXERCISE
}
// ANCHOR_END: group

/// Every process this caller can see, with its namespaces; processes that
/// exit while being read, or whose links are not readable, are left out
/// (as `lsns` leaves them out).
pub fn processes() -> Result<Vec<Process>> {
    let dir = std::fs::read_dir("/proc").map_err(|source| Error::Io {
        path: "/proc".into(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(namespaces) = of_process(&pid.to_string()) else {
            continue;
        };
        found.push(Process {
            pid,
            command: command(pid),
            namespaces,
        });
    }
    found.sort_by_key(|p| p.pid);
    Ok(found)
}

/// A process's command line, as `lsns` shows it (or its name in brackets
/// for a kernel thread).
fn command(pid: u32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let words: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    if words.is_empty() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        return format!("[{}]", comm.trim());
    }
    words.join(" ")
}

/// `dockerless ns PID`: one line per type.
pub fn process_table(pid: &str, processes: &[Process], mine: &[Namespace]) -> Result<String> {
    let namespaces = of_process(pid)?;
    let shared = group(processes, mine);
    let mut table = format!(
        "{:<7} {:>11} {:>7}  {}\n",
        "TYPE", "NS", "NPROCS", "AS YOURS"
    );
    for namespace in &namespaces {
        let count = shared
            .iter()
            .find(|s| s.namespace == *namespace)
            .map_or(1, |s| s.processes);
        let yours = if mine.contains(namespace) {
            "same"
        } else {
            "different"
        };
        let _ = writeln!(
            table,
            "{:<7} {:>11} {:>7}  {yours}",
            namespace.kind, namespace.inode, count
        );
    }
    Ok(table)
}

/// `dockerless ns`: every namespace, like `lsns`.
pub fn all_table(shared: &[Shared]) -> String {
    let mut table = format!(
        "{:>11} {:<7} {:>7} {:>7} {:<9} {}\n",
        "NS", "TYPE", "NPROCS", "PID", "AS YOURS", "COMMAND"
    );
    for line in shared {
        let yours = if line.yours { "same" } else { "different" };
        let _ = writeln!(
            table,
            "{:>11} {:<7} {:>7} {:>7} {:<9} {}",
            line.namespace.inode,
            line.namespace.kind,
            line.processes,
            line.pid,
            yours,
            line.command
        );
    }
    table
}
