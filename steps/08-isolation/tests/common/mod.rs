//! What the step's checks share: step 05's image fixture, and a container
//! with this step's isolation, its output captured.

#![allow(dead_code)] // each test binary uses its own share of the helpers

#[path = "../../../05-chroot/tests/common/mod.rs"]
mod chroot;

#[allow(unused_imports)] // the pieces use in_child, the containers do not
pub use chroot::{Fixture, in_child};
use std::io::Read;
use std::path::PathBuf;
use step_05_chroot::child::Stdio;
use step_05_chroot::spec::Options as ProcessOptions;
use step_06_namespaces::container::{Container, Options as ContainerOptions};
use step_06_namespaces::supervisor::Supervisor;
use step_08_isolation::Error;
use step_08_isolation::cgroups::Stats;
use step_08_isolation::isolation::{Isolation, Options};

/// The book sections the checks send a learner to.
pub const PIVOT: &str = "step-08-isolation.md#pivot_root";
pub const DEVICES: &str = "step-08-isolation.md#dev-and-sys";
pub const MASKS: &str = "step-08-isolation.md#masked-and-read-only-paths";
pub const LAYOUTS: &str = "step-08-isolation.md#two-cgroup-layouts";
pub const LIMITS: &str = "step-08-isolation.md#limits";
pub const CAPABILITIES: &str = "step-08-isolation.md#capabilities";
pub const ROOTLESS: &str = "step-08-isolation.md#without-root";

/// The busybox image, or `None` (skipped) without busybox or root.
pub fn fixture() -> Option<Fixture> {
    if !nix::unistd::geteuid().is_root() {
        workshop::skip(
            "needs root: cgroups and device nodes (the rootless check runs as uid 65534 itself)",
        );
        return None;
    }
    Fixture::new()
}

/// How an isolated container ended, what it wrote, what it used.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub stats: Option<Stats>,
    pub oom: Option<String>,
    /// Its cgroup's directories, which must be gone now.
    pub cgroup_dirs: Vec<PathBuf>,
}

/// Runs `sh -c script` isolated as `options` say; `on_start` gets PID 1's
/// pid once the program runs.
pub fn run_with(
    fixture: &Fixture,
    script: &str,
    options: &Options,
    on_start: impl FnOnce(nix::unistd::Pid, &mut std::io::PipeReader),
) -> Result<Ran, Error> {
    let process = ProcessOptions {
        command: vec!["sh".into(), "-c".into(), script.into()],
        ..ProcessOptions::default()
    };
    let image = fixture.image();
    let container = Container::prepare(&image, &process, &ContainerOptions::default(), |_| None)
        .map_err(Error::Container)?;
    let isolation = Isolation::new(&container, &image.rootfs, options)?;
    let cgroup_dirs = isolation.cgroup_dirs();
    let (mut stdout, stdout_writer) = std::io::pipe().unwrap();
    let (mut stderr, stderr_writer) = std::io::pipe().unwrap();
    let stdio = Stdio {
        stdin: None,
        stdout: Some(stdout_writer.into()),
        stderr: Some(stderr_writer.into()),
    };
    let supervisor = Supervisor::new().map_err(Error::Container)?;
    let pid = container.spawn_with(&stdio, None, &isolation);
    drop(stdio);
    let pid = match pid {
        Ok(pid) => pid,
        Err(error) => {
            isolation.finish(125)?;
            return Err(error.into());
        }
    };
    on_start(pid, &mut stdout);
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).ok();
        text
    });
    let mut out = String::new();
    stdout.read_to_string(&mut out).ok();
    let err = reader.join().unwrap();
    let code = supervisor.supervise(pid, None).map_err(Error::Container)?;
    let (stats, oom) = isolation.finish(code)?;
    Ok(Ran {
        code,
        stdout: out,
        stderr: err,
        stats,
        oom,
        cgroup_dirs,
    })
}

/// Runs `sh -c script` isolated as `options` say.
pub fn run(fixture: &Fixture, script: &str, options: &Options) -> Ran {
    run_with(fixture, script, options, |_, _| {})
        .unwrap_or_else(|e| panic!("sh -c {script:?} did not start: {e}"))
}

/// The value of `field` in the container's `/proc/self/status` output.
pub fn status_field(status: &str, field: &str) -> String {
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}
