//! The programs the course needs beyond cargo: which, which version, and
//! how to install them. `doctor` reports on them and `setup` installs them.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `just` release the justfile is written for.
pub const JUST_VERSION: &str = "1.59.0";
/// The `mdbook` release the book is built with.
pub const MDBOOK_VERSION: &str = "0.5.4";

/// A peer tool from Debian's archive that interop tests and benchmarks run
/// against ours.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub name: &'static str,
    /// Where it must be, when the tests expect a fixed path; else it is
    /// looked up in `PATH`.
    pub path: Option<&'static str>,
    /// The Debian package that installs it.
    pub package: &'static str,
    /// The argument that makes it print its version on the first line
    /// (empty for a tool that has none: its path is shown instead).
    pub version_arg: &'static str,
    /// Whether the test suite needs it (`setup` installs those); the others
    /// serve benchmarks only.
    pub needed: bool,
    /// Whether it must be statically linked: busybox is copied into images,
    /// where no shared libraries wait for it.
    pub statically_linked: bool,
}

pub const PEERS: &[Peer] = &[
    Peer {
        name: "skopeo",
        path: None,
        package: "skopeo",
        version_arg: "--version",
        needed: true,
        statically_linked: false,
    },
    Peer {
        name: "umoci",
        path: None,
        package: "umoci",
        version_arg: "--version",
        needed: true,
        statically_linked: false,
    },
    Peer {
        name: "docker-registry",
        path: Some("/usr/bin/docker-registry"),
        package: "docker-registry",
        version_arg: "--version",
        needed: true,
        statically_linked: false,
    },
    Peer {
        name: "htpasswd",
        path: None,
        package: "apache2-utils",
        // It has no version option: its path says it is there.
        version_arg: "",
        needed: true,
        statically_linked: false,
    },
    Peer {
        name: "busybox",
        path: None,
        package: "busybox-static",
        version_arg: "--help",
        needed: true,
        statically_linked: true,
    },
    Peer {
        name: "getcap",
        path: None,
        package: "libcap2-bin",
        // It has no version option: its path says it is there.
        version_arg: "",
        needed: true,
        statically_linked: false,
    },
    Peer {
        name: "openssl",
        path: None,
        package: "openssl",
        version_arg: "version",
        needed: true,
        statically_linked: false,
    },
    Peer {
        name: "bsdtar",
        path: None,
        package: "libarchive-tools",
        version_arg: "--version",
        needed: true,
        statically_linked: false,
    },
    Peer {
        name: "podman",
        path: None,
        package: "podman",
        version_arg: "--version",
        needed: true,
        statically_linked: false,
    },
    Peer {
        name: "crun",
        path: None,
        package: "crun",
        version_arg: "--version",
        needed: false,
        statically_linked: false,
    },
    Peer {
        name: "runc",
        path: None,
        package: "runc",
        version_arg: "--version",
        needed: false,
        statically_linked: false,
    },
];

/// A tool installed with `cargo install`, pinned to one version.
#[derive(Debug, Clone, Copy)]
pub struct CargoTool {
    pub name: &'static str,
    pub version: &'static str,
}

pub const CARGO_TOOLS: &[CargoTool] = &[
    CargoTool {
        name: "just",
        version: JUST_VERSION,
    },
    CargoTool {
        name: "mdbook",
        version: MDBOOK_VERSION,
    },
];

impl CargoTool {
    /// The command that installs it.
    pub fn install_command(&self) -> String {
        format!("cargo install --locked {}@{}", self.name, self.version)
    }
}

/// What was found of a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Present; its version line.
    Ok(String),
    Missing,
    /// Present but not as needed (another version, dynamically linked).
    Wrong(String),
}

/// The state of `peer` on this machine.
pub fn peer(peer: &Peer) -> Found {
    let program = match peer.path {
        Some(path) => Some(PathBuf::from(path)).filter(|p| is_executable(p)),
        None => find_program(peer.name),
    };
    let Some(program) = program else {
        return Found::Missing;
    };
    if peer.statically_linked {
        let linked = fs::read(&program)
            .ok()
            .and_then(|bytes| is_static_elf(&bytes));
        if linked != Some(true) {
            return Found::Wrong(format!("{} is not statically linked", program.display()));
        }
    }
    let version = (!peer.version_arg.is_empty())
        .then(|| version_line(&program, peer.version_arg))
        .flatten();
    Found::Ok(version.unwrap_or_else(|| program.display().to_string()))
}

/// The state of `tool`: present in the pinned version, or not.
pub fn cargo_tool(tool: &CargoTool) -> Found {
    let Some(program) = find_program(tool.name) else {
        return Found::Missing;
    };
    let Some(line) = version_line(&program, "--version") else {
        return Found::Wrong(format!("{} does not say its version", program.display()));
    };
    let version = line
        .split_whitespace()
        .last()
        .unwrap_or("")
        .trim_start_matches('v');
    if version == tool.version {
        Found::Ok(line)
    } else {
        Found::Wrong(format!("{line}, the course pins {}", tool.version))
    }
}

/// `program` looked up in `PATH`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first line `program arg` prints (on stdout, else stderr).
pub fn version_line(program: &Path, arg: &str) -> Option<String> {
    let output = Command::new(program)
        .arg(arg)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    [output.stdout, output.stderr]
        .iter()
        .filter_map(|bytes| {
            String::from_utf8_lossy(bytes)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .find(|line| !line.is_empty())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    workshop::privileges() == Ok(workshop::Privileges::Root)
}

/// Whether an ELF file is statically linked: it has no `PT_INTERP` program
/// header, so the kernel starts it without a dynamic loader. `None` if the
/// bytes are not a little-endian ELF file.
pub fn is_static_elf(bytes: &[u8]) -> Option<bool> {
    const PT_INTERP: u32 = 3;
    if bytes.get(..4)? != b"\x7fELF" || *bytes.get(5)? != 1 {
        return None;
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    let (phoff, phentsize, phnum) = match bytes.get(4)? {
        1 => (
            u32_at(0x1c)? as usize,
            u16_at(0x2a)? as usize,
            u16_at(0x2c)? as usize,
        ),
        2 => (
            u64_at(0x20)? as usize,
            u16_at(0x36)? as usize,
            u16_at(0x38)? as usize,
        ),
        _ => return None,
    };
    for index in 0..phnum {
        if u32_at(phoff + index * phentsize)? == PT_INTERP {
            return Some(false);
        }
    }
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal 64-bit little-endian ELF header with one program header of
    /// type `p_type`.
    fn elf(p_type: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; 64 + 56];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = 2;
        bytes[5] = 1;
        bytes[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        bytes[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        bytes[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        bytes[64..68].copy_from_slice(&p_type.to_le_bytes());
        bytes
    }

    #[test]
    fn a_program_with_an_interpreter_is_dynamically_linked() {
        assert_eq!(is_static_elf(&elf(3)), Some(false));
        assert_eq!(is_static_elf(&elf(1)), Some(true));
        assert_eq!(is_static_elf(b"#!/bin/sh\n"), None);
        assert_eq!(is_static_elf(&elf(3)[..60]), None);
    }

    #[test]
    fn the_running_test_binary_is_an_elf_file() {
        let me = std::env::current_exe().unwrap();
        assert!(is_static_elf(&fs::read(me).unwrap()).is_some());
    }

    #[test]
    fn install_commands_pin_versions() {
        assert_eq!(
            CARGO_TOOLS[0].install_command(),
            "cargo install --locked just@1.59.0"
        );
    }
}
