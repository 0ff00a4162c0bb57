//! `doctor`: is this machine ready for the course? One line per check,
//! with the exact command that fixes what is missing.

use std::fs;
use std::io::Write;
use std::process::Stdio;

use anyhow::Result;

use crate::tools::{self, Found};
use crate::{Course, Verdict};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    /// Missing and `ci` needs it.
    Missing,
    /// Missing or limited, but `ci` does without (benchmarks, privileged
    /// checks that then skip).
    Note,
}

struct Line {
    status: Status,
    name: String,
    detail: String,
    fix: Option<String>,
}

impl Line {
    fn new(status: Status, name: impl Into<String>, detail: impl Into<String>) -> Self {
        Line {
            status,
            name: name.into(),
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Reports on the toolchain, the kernel features and the peer tools; passes
/// when everything `ci` needs is there.
pub fn run(course: &Course, out: &mut dyn Write) -> Result<Verdict> {
    let mut lines = toolchain(course);
    for tool in tools::CARGO_TOOLS {
        lines.push(match tools::cargo_tool(tool) {
            Found::Ok(version) => Line::new(Status::Ok, tool.name, version),
            Found::Missing => {
                Line::new(Status::Missing, tool.name, "not found").fix(tool.install_command())
            }
            Found::Wrong(why) => {
                Line::new(Status::Missing, tool.name, why).fix(tool.install_command())
            }
        });
    }
    lines.push(privileges());
    lines.push(cgroups());
    lines.push(overlayfs());
    for peer in tools::PEERS {
        let missing = if peer.needed {
            Status::Missing
        } else {
            Status::Note
        };
        let fix = format!("apt-get install -y {}", peer.package);
        let name = if peer.needed {
            peer.name.to_string()
        } else {
            format!("{} (benchmarks)", peer.name)
        };
        lines.push(match tools::peer(peer) {
            Found::Ok(version) => Line::new(Status::Ok, name, version),
            Found::Missing => Line::new(missing, name, "not found").fix(fix),
            Found::Wrong(why) => Line::new(missing, name, why).fix(fix),
        });
    }

    let width = lines.iter().map(|l| l.name.len()).max().unwrap_or(0);
    for line in &lines {
        let status = match line.status {
            Status::Ok => "ok",
            Status::Missing => "MISSING",
            Status::Note => "note",
        };
        let fix = line
            .fix
            .as_deref()
            .map(|fix| format!("  fix: {fix}"))
            .unwrap_or_default();
        writeln!(
            out,
            "{status:<8} {:<width$}  {}{fix}",
            line.name, line.detail
        )?;
    }
    let missing = lines.iter().filter(|l| l.status == Status::Missing).count();
    if missing == 0 {
        writeln!(out, "Everything `just ci` needs is here.")?;
    } else {
        writeln!(
            out,
            "{missing} thing(s) `just ci` needs are missing; as root, `just setup` installs them."
        )?;
    }
    Ok(Verdict::from_ok(missing == 0))
}

/// cargo, rustc (against the workspace's `rust-version`), rustfmt, clippy.
fn toolchain(course: &Course) -> Vec<Line> {
    let version = |args: &[&str]| {
        let output = course
            .cargo()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&output.stdout);
        output
            .status
            .success()
            .then(|| text.lines().next().unwrap_or("").trim().to_string())
    };
    let mut lines = Vec::new();
    lines.push(match version(&["--version"]) {
        Some(v) => Line::new(Status::Ok, "cargo", v),
        None => Line::new(Status::Missing, "cargo", "not found")
            .fix("curl https://sh.rustup.rs -sSf | sh"),
    });
    let rustc = tools::version_line(std::path::Path::new("rustc"), "--version");
    let needed = minimum_rust(course);
    lines.push(match (rustc, needed) {
        (None, _) => Line::new(Status::Missing, "rustc", "not found").fix("rustup default stable"),
        (Some(v), Some(min)) if !at_least(&v, &min) => Line::new(
            Status::Missing,
            "rustc",
            format!("{v}, the workspace needs {min}"),
        )
        .fix("rustup update stable"),
        (Some(v), _) => Line::new(Status::Ok, "rustc", v),
    });
    for (name, args) in [
        ("rustfmt", ["fmt", "--version"]),
        ("clippy", ["clippy", "--version"]),
    ] {
        lines.push(match version(&args) {
            Some(v) => Line::new(Status::Ok, name, v),
            None => Line::new(Status::Missing, name, "not found")
                .fix(format!("rustup component add {name}")),
        });
    }
    lines
}

/// The highest `rust-version` among the workspace's packages.
fn minimum_rust(course: &Course) -> Option<String> {
    let output = course
        .cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .ok()?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    metadata["packages"]
        .as_array()?
        .iter()
        .filter_map(|p| p["rust_version"].as_str())
        .max_by_key(|v| numbers(v))
        .map(str::to_string)
}

/// `rustc 1.95.0 (...)` is at least `1.88`.
fn at_least(rustc: &str, minimum: &str) -> bool {
    let version = rustc.split_whitespace().nth(1).unwrap_or("");
    numbers(version) >= numbers(minimum)
}

fn numbers(version: &str) -> Vec<u32> {
    version
        .split(['.', '-'])
        .map_while(|part| part.parse().ok())
        .collect()
}

fn privileges() -> Line {
    match workshop::privileges() {
        Ok(workshop::Privileges::Root) => Line::new(
            Status::Ok,
            "privileges",
            "root: privileged checks run for real",
        ),
        Ok(workshop::Privileges::UserNamespace) => Line::new(
            Status::Ok,
            "privileges",
            "unprivileged user namespaces: privileged checks run in one",
        ),
        Err(why) => Line::new(
            Status::Note,
            "privileges",
            format!("privileged checks will skip: {why}"),
        )
        .fix("run as root, or: sysctl -w kernel.unprivileged_userns_clone=1"),
    }
}

fn cgroups() -> Line {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    match cgroup_layout(&mountinfo) {
        Some(layout) => Line::new(Status::Ok, "cgroups", layout),
        None => Line::new(
            Status::Note,
            "cgroups",
            "none mounted: resource limits will skip",
        )
        .fix("mount -t cgroup2 none /sys/fs/cgroup"),
    }
}

/// The cgroup layout described by `/proc/self/mountinfo`: v2 unified, v1,
/// or hybrid (v1 controllers with a v2 tree beside them).
fn cgroup_layout(mountinfo: &str) -> Option<String> {
    let mut v1 = false;
    let mut v2 = None;
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount_point = left.split(' ').nth(4).unwrap_or("");
        match right.split(' ').next() {
            Some("cgroup2") => v2 = v2.or(Some(mount_point.to_string())),
            Some("cgroup") => v1 = true,
            _ => {}
        }
    }
    match (v1, v2) {
        (false, Some(at)) => Some(format!("v2 (unified) at {at}")),
        (true, Some(at)) => Some(format!("hybrid: v1 controllers, v2 at {at}")),
        (true, None) => Some("v1".to_string()),
        (false, None) => None,
    }
}

fn overlayfs() -> Line {
    let filesystems = fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if filesystems
        .lines()
        .any(|line| line.split_whitespace().last() == Some("overlay"))
    {
        Line::new(Status::Ok, "overlayfs", "available")
    } else {
        Line::new(
            Status::Note,
            "overlayfs",
            "not in /proc/filesystems: copy-on-write checks will skip",
        )
        .fix("modprobe overlay")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_layouts_are_told_apart() {
        let v2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let v1 = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n";
        let unified = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            cgroup_layout(v2).as_deref(),
            Some("v2 (unified) at /sys/fs/cgroup")
        );
        assert_eq!(cgroup_layout(v1).as_deref(), Some("v1"));
        assert_eq!(
            cgroup_layout(&format!("{v1}{unified}")).as_deref(),
            Some("hybrid: v1 controllers, v2 at /sys/fs/cgroup/unified")
        );
        assert_eq!(cgroup_layout("22 1 0:5 / /proc rw - proc proc rw\n"), None);
    }

    #[test]
    fn rustc_versions_compare_by_number() {
        assert!(at_least("rustc 1.95.0 (59807616e 2026-04-14)", "1.88"));
        assert!(at_least("rustc 1.88.0", "1.88"));
        assert!(!at_least("rustc 1.87.1", "1.88"));
        assert!(at_least("rustc 1.100.0-nightly", "1.88"));
    }
}
