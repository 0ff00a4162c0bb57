//! Running a step's checks.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::Course;
use crate::libtest::{self, Report};
use crate::steps::Step;

/// Options for a test run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// libtest's `--test-threads`; its default (one per core) when `None`.
    pub test_threads: Option<usize>,
    /// How long the checks may run without a line of output before the run
    /// is stopped as hung; [`idle_timeout`] when `None`.
    pub idle_timeout: Option<Duration>,
}

/// How long a run of checks may stay silent: `$WORKSHOP_IDLE_TIMEOUT`
/// seconds, else five minutes. Only the checks count, not the build before
/// them: a cold build links for minutes without a word.
pub fn idle_timeout() -> Duration {
    std::env::var("WORKSHOP_IDLE_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(300), Duration::from_secs)
}

/// Builds `step` and runs its checks: `cargo test -p <package> --tests
/// --no-fail-fast -- --show-output`.
///
/// `--tests` runs the unit and integration tests but not the doc-tests:
/// examples in documentation show how to call an API, they do not check the
/// learner's code, and a doc-test that passes on the stubs would make
/// `check-exercises` fail for no good reason. (`cargo test --workspace` in
/// `ci` still runs them, against the reference.)
///
/// Cargo's stderr (which says which test binary runs) and the tests' stdout
/// go through one pipe, so the report can tell which file each test is in.
pub fn run(course: &Course, step: &Step, options: RunOptions) -> Result<Report> {
    run_only(course, step, options, &[])
}

/// Like [`run`], but only the tests libtest finds with `--exact` among
/// `names` (libtest's names: `parses_a_line`, `words::tests::splits`); every
/// test when `names` is empty.
///
/// insta runs with `INSTA_UPDATE=no` and `INSTA_FORCE_PASS=0`: a learner's
/// output never becomes a snapshot, and a snapshot failure is a failure.
/// Backtraces are off (`RUST_BACKTRACE=0`): the runner shows its own
/// teaching message, and a check of steps 05 and later that forks while
/// other checks panic (a stubbed step: every check does) would wait forever
/// in the child on the backtrace lock another thread held.
pub fn run_only(
    course: &Course,
    step: &Step,
    options: RunOptions,
    names: &[String],
) -> Result<Report> {
    let (reader, writer) = std::io::pipe().context("could not create a pipe")?;
    let mut command = course.cargo();
    command
        .args([
            "test",
            "--color",
            "never",
            "--tests",
            "--no-fail-fast",
            "-p",
            &step.package,
        ])
        .args(["--", "--color", "never", "--show-output"])
        .env("INSTA_UPDATE", "no")
        .env("INSTA_FORCE_PASS", "0")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer);
    if let Some(threads) = options.test_threads {
        command.arg(format!("--test-threads={threads}"));
    }
    if !names.is_empty() {
        command.arg("--exact").args(names);
    }
    // A group of its own, so that a hung check (a child process that never
    // exits, say) can be stopped with everything cargo started.
    command.process_group(0);
    let mut child = command.spawn().context("could not run cargo test")?;
    // The command holds the pipe's write ends; reading to the end needs them closed.
    drop(command);
    let progress = Arc::new(Mutex::new((Vec::new(), Instant::now(), false)));
    let reading = {
        let progress = Arc::clone(&progress);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(reader);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let mut progress = progress.lock().unwrap_or_else(|e| e.into_inner());
                progress.2 |= line.starts_with(b"     Running ");
                progress.0.append(&mut line);
                progress.1 = Instant::now();
            }
        })
    };
    let timeout = options.idle_timeout.unwrap_or_else(idle_timeout);
    let mut hung = false;
    let status = loop {
        if let Some(status) = child.try_wait().context("could not wait for cargo test")? {
            break status;
        }
        let (idle, running) = {
            let progress = progress.lock().unwrap_or_else(|e| e.into_inner());
            (progress.1.elapsed(), progress.2)
        };
        if running && idle > timeout && !hung {
            hung = true;
            // The whole process group: cargo, the test binaries it runs,
            // and whatever a hung check started.
            let group = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // A process that left the group may still hold the pipe open: after a
    // hang, take what came rather than wait for it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while hung && !reading.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if !hung || reading.is_finished() {
        let _ = reading.join();
    }
    let output = std::mem::take(&mut progress.lock().unwrap_or_else(|e| e.into_inner()).0);
    let output = String::from_utf8_lossy(&output);
    let mut report = libtest::parse(&output);
    if hung {
        let reason = format!(
            "stopped after {}s without a word: a check hung (a child process that never exits, a lock never released?)",
            timeout.as_secs()
        );
        for crash in &mut report.crashes {
            crash.reason.get_or_insert_with(|| reason.clone());
        }
        if report.crashes.is_empty() {
            report.build_error = Some(reason);
        }
        return Ok(report);
    }
    if !status.success() && report.ok() {
        // Cargo failed before any test could fail: say what it said.
        report.build_error = Some(output.trim().to_string());
    }
    Ok(report)
}
