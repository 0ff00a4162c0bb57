//! What the step's checks share: an image with a shell in a store of its
//! own, and running a program in it with its output captured.

#![allow(dead_code)] // each test binary uses its own share of the helpers

use mock_registry::MockRegistry;
use mock_registry::fixtures::{HOST_BUSYBOX, busybox_image, default_config};
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use step_01_registry::{Client, ClientOptions, Reference};
use step_02_layers::progress::Silent;
use step_02_layers::pull::{PullOptions, pull};
use step_02_layers::store::Store;
use step_05_chroot::child::Stdio;
use step_05_chroot::image::Image;
use step_05_chroot::spec::Options;
use step_05_chroot::{Error, chroot};

/// The book sections the checks send a learner to.
pub const COMMAND_LINE: &str = "step-05-chroot.md#the-command-line";
pub const ENVIRONMENT: &str = "step-05-chroot.md#the-environment";
pub const USERS: &str = "step-05-chroot.md#users-and-groups";
pub const FINDING: &str = "step-05-chroot.md#finding-the-program";
pub const EXIT_CODES: &str = "step-05-chroot.md#exit-codes";
pub const BECOMING: &str = "step-05-chroot.md#becoming-the-user";
pub const ENTERING: &str = "step-05-chroot.md#entering-the-root";
pub const NOT_ISOLATED: &str = "step-05-chroot.md#what-chroot-does-not-isolate";
pub const BREAKING_OUT: &str = "step-05-chroot.md#breaking-out";
pub const ROOTLESS: &str = "step-05-chroot.md#without-root";

/// An image of this machine's busybox, pulled into a store of its own.
pub struct Fixture {
    pub home: tempfile::TempDir,
    pub store: Store,
    pub reference: Reference,
}

impl Fixture {
    /// The image with `config` as its run config; `None` (the check is
    /// skipped) where busybox-static or privileges are missing.
    pub fn with_config(config: Value) -> Option<Fixture> {
        if !Path::new(HOST_BUSYBOX).is_file() {
            let reason = "needs busybox-static: apt-get install busybox-static";
            if std::env::var("DOCKER_INTERNALS_REQUIRE_PEERS").as_deref() == Ok("1") {
                panic!("{reason}");
            }
            workshop::skip(reason);
            return None;
        }
        let registry = MockRegistry::start().expect("the bundled registry starts");
        let image = busybox_image(Path::new(HOST_BUSYBOX), "library/busybox", "latest", config)
            .expect("busybox is readable");
        registry.seed(&image).expect("the registry takes the image");
        let reference = Reference::parse(&format!("{}/library/busybox", registry.host())).unwrap();
        let home = tempfile::tempdir().unwrap();
        let store = Store::open(Some(home.path())).unwrap();
        let client = Client::new(&reference, ClientOptions::default()).unwrap();
        pull(
            &client,
            &store,
            &reference,
            &PullOptions::default(),
            &Silent,
        )
        .expect("the busybox image pulls");
        Some(Fixture {
            home,
            store,
            reference,
        })
    }

    /// The image with a shell as its command and Docker's default PATH.
    pub fn new() -> Option<Fixture> {
        Fixture::with_config(default_config())
    }

    pub fn image(&self) -> Image {
        Image::load(&self.store, &self.reference).expect("the image is stored")
    }

    /// Runs `command` (or the image's default when empty) as `options`
    /// say otherwise, capturing its output.
    pub fn run(&self, command: &[&str], options: Options) -> Result<Ran, Error> {
        let options = Options {
            command: command.iter().map(|s| s.to_string()).collect(),
            ..options
        };
        run(&self.image(), &options)
    }

    /// Runs `sh -c script`.
    pub fn sh(&self, script: &str) -> Ran {
        self.run(&["sh", "-c", script], Options::default())
            .unwrap_or_else(|e| panic!("sh -c {script:?} did not start: {e}"))
    }
}

/// How a program ended and what it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `image` with `options` in a chroot, its stdout and stderr captured.
pub fn run(image: &Image, options: &Options) -> Result<Ran, Error> {
    let prepared = chroot::prepare(image, options, |_| None)?;
    let (stdout, stdout_writer) = std::io::pipe().unwrap();
    let (stderr, stderr_writer) = std::io::pipe().unwrap();
    let stdio = Stdio {
        stdin: None,
        stdout: Some(stdout_writer.into()),
        stderr: Some(stderr_writer.into()),
    };
    let child = chroot::spawn(&prepared, &stdio);
    drop(stdio);
    let child = child?;
    let (out, err) = read_both(stdout, stderr);
    let code = chroot::wait(child)?;
    Ok(Ran {
        code,
        stdout: out,
        stderr: err,
    })
}

/// Reads `stdout` and `stderr` to their ends at once (one of them filling
/// up must not block the program writing the other).
pub fn read_both(
    mut stdout: std::io::PipeReader,
    mut stderr: std::io::PipeReader,
) -> (String, String) {
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).ok();
        text
    });
    let mut out = String::new();
    stdout.read_to_string(&mut out).ok();
    (out, reader.join().unwrap())
}

/// How long a forked check may take before it counts as hung.
const CHILD_DEADLINE_MS: u16 = 20_000;

/// Runs `f` in a forked child and returns what it wrote to the pipe it is
/// given (the child exits right after, even if `f` panics).
///
/// A child forked from a test binary is a copy of a process with other
/// threads: if one of them held a lock at that moment (printing its own
/// panic, say), the child waits for it forever. So the parent waits for the
/// pipe's end for a while only, then kills the child and returns what it
/// had, with a note: the check then fails instead of hanging.
pub fn in_child(f: impl FnOnce(&mut std::io::PipeWriter)) -> String {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use nix::unistd::{ForkResult, fork};
    use std::os::fd::AsFd;
    let (mut reader, mut writer) = std::io::pipe().unwrap();
    // SAFETY: the child runs `f` and exits without returning to the harness.
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            drop(reader);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut writer)));
            // SAFETY: `_exit` runs nothing of the test harness.
            unsafe { nix::libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(writer);
            let mut text = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
                let ready = poll(&mut fds, PollTimeout::from(CHILD_DEADLINE_MS)).unwrap_or(0);
                if ready == 0 {
                    let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
                    text.extend_from_slice(b" (the forked check hung and was killed)");
                    break;
                }
                match reader.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => text.extend_from_slice(&buffer[..n]),
                }
            }
            let _ = nix::sys::wait::waitpid(child, None);
            String::from_utf8_lossy(&text).into_owned()
        }
    }
}
