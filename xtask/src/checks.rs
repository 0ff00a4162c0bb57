//! Running a step's checks.

use std::io::Read;
use std::process::Stdio;

use anyhow::{Context, Result};

use crate::Course;
use crate::libtest::{self, Report};
use crate::steps::Step;

/// Options for a test run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// libtest's `--test-threads`; its default (one per core) when `None`.
    pub test_threads: Option<usize>,
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
    let (mut reader, writer) = std::io::pipe().context("could not create a pipe")?;
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
    let mut child = command.spawn().context("could not run cargo test")?;
    // The command holds the pipe's write ends; reading to the end needs them closed.
    drop(command);
    let mut output = Vec::new();
    reader
        .read_to_end(&mut output)
        .context("could not read cargo test's output")?;
    let status = child.wait().context("could not wait for cargo test")?;
    let output = String::from_utf8_lossy(&output);
    let mut report = libtest::parse(&output);
    if !status.success() && report.ok() {
        // Cargo failed before any test could fail: say what it said.
        report.build_error = Some(output.trim().to_string());
    }
    Ok(report)
}
