//! What the step's checks share: step 05's image fixture, and starting a
//! container with its output captured.

#![allow(dead_code)] // each test binary uses its own share of the helpers

// The busybox image in a store of its own is step 05's fixture, unchanged.
#[path = "../../../05-chroot/tests/common/mod.rs"]
mod chroot;

#[allow(unused_imports)] // the pieces use in_child, the runs do not
pub use chroot::{Fixture, in_child};
use nix::unistd::Pid;
use std::io::Read;
use step_05_chroot::child::Stdio;
use step_05_chroot::spec::Options as ProcessOptions;
use step_06_namespaces::Error;
use step_06_namespaces::container::{Container, Options};
use step_06_namespaces::supervisor::Supervisor;

/// The book sections the checks send a learner to.
pub const NAMESPACES: &str = "step-06-namespaces.md#namespaces";
pub const PRIVATE: &str = "step-06-namespaces.md#private-mounts";
pub const ROOTFS: &str = "step-06-namespaces.md#the-root-filesystem";
pub const PROC: &str = "step-06-namespaces.md#a-fresh-proc";
pub const NETWORK: &str = "step-06-namespaces.md#hostname-and-network";
pub const SET_UP: &str = "step-06-namespaces.md#setting-it-up-in-order";
pub const PID_1: &str = "step-06-namespaces.md#pid-1-and-the-supervisor";
pub const INIT: &str = "step-06-namespaces.md#an-init-for-pid-1";
pub const LISTING: &str = "step-06-namespaces.md#listing-namespaces";
pub const ROOTLESS: &str = "step-06-namespaces.md#without-root";

/// The busybox image, or `None` (skipped) without busybox or privileges.
pub fn fixture() -> Option<Fixture> {
    if !workshop::require_root_or_userns() {
        return None;
    }
    Fixture::new()
}

/// A container started with pipes for its three streams.
pub struct Started {
    pub pid: Pid,
    pub stdin: Option<std::io::PipeWriter>,
    pub stdout: std::io::PipeReader,
    pub stderr: std::io::PipeReader,
    supervisor: Supervisor,
}

/// How a container ended and what it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Starts `sh -c script` in a container of `fixture`'s image.
pub fn start(fixture: &Fixture, script: &str, options: Options) -> Result<Started, Error> {
    let process = ProcessOptions {
        command: vec!["sh".into(), "-c".into(), script.into()],
        ..ProcessOptions::default()
    };
    let container = Container::prepare(&fixture.image(), &process, &options, |_| None)?;
    let (stdin_reader, stdin) = std::io::pipe().unwrap();
    let (stdout, stdout_writer) = std::io::pipe().unwrap();
    let (stderr, stderr_writer) = std::io::pipe().unwrap();
    let stdio = Stdio {
        stdin: Some(stdin_reader.into()),
        stdout: Some(stdout_writer.into()),
        stderr: Some(stderr_writer.into()),
    };
    let supervisor = Supervisor::new()?;
    let pid = container.spawn(&stdio, None);
    drop(stdio);
    Ok(Started {
        pid: pid?,
        stdin: Some(stdin),
        stdout,
        stderr,
        supervisor,
    })
}

impl Started {
    /// Reads stdout up to the end of the next line.
    pub fn line(&mut self) -> String {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while self.stdout.read(&mut byte).unwrap_or(0) == 1 {
            if byte[0] == b'\n' {
                break;
            }
            line.push(byte[0]);
        }
        String::from_utf8_lossy(&line).into_owned()
    }

    /// Closes stdin, reads the rest of the output and waits for the end.
    pub fn finish(mut self) -> Ran {
        drop(self.stdin.take());
        let mut stderr = self.stderr;
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).ok();
            text
        });
        let mut out = String::new();
        self.stdout.read_to_string(&mut out).ok();
        let err = reader.join().unwrap();
        let code = self
            .supervisor
            .supervise(self.pid, None)
            .expect("the container ends");
        Ran {
            code,
            stdout: out,
            stderr: err,
        }
    }
}

/// Runs `sh -c script` in a container and waits for it.
pub fn run(fixture: &Fixture, script: &str) -> Ran {
    start(fixture, script, Options::default())
        .unwrap_or_else(|e| panic!("sh -c {script:?} did not start: {e}"))
        .finish()
}

/// The inodes of every process's namespace of `kind`, from /proc.
pub fn processes_in(kind: &str, inode: u64) -> Vec<u32> {
    step_06_namespaces::ns::processes()
        .unwrap()
        .into_iter()
        .filter(|p| {
            p.namespaces
                .iter()
                .any(|n| n.kind == kind && n.inode == inode)
        })
        .map(|p| p.pid)
        .collect()
}
