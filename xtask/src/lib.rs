//! The workshop runner behind the justfile.
//!
//! `cargo xtask <command>` (or `just <command>`) drives the course: it runs
//! a step's checks and shows progress (`test`), turns a step's reference
//! solution into exercises and back (`start`, `solution`), proves that every
//! exercise is honest (`check-exercises`), and checks, installs and runs the
//! tools the course needs (`doctor`, `setup`, `book`, `bench`, `ci`).
//!
//! The binary only parses the command line ([`cli`]); everything else is a
//! library so that the tests in `tests/` drive the commands on a small sample
//! course as plain function calls.
//!
//! The conventions a step follows (its directory and metadata, its exercise
//! regions, its checks) are documented where they are read: [`steps`],
//! [`regions`] and [`libtest`].

pub mod chapter;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod course;
pub mod demo;
pub mod diagnose;
pub mod exercises;
pub mod files;
pub mod libtest;
pub mod mirror;
pub mod owners;
pub mod progress;
pub mod regions;
pub mod steps;
pub mod tools;
pub mod unused;

pub use course::Course;

/// Whether a command succeeded: the process exit code.
///
/// Errors (a missing file, a malformed region) are `Err`; a command that ran
/// to the end but found a problem (a failing check, a dishonest exercise)
/// returns [`Verdict::Fail`] after printing its report.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
}

impl Verdict {
    /// `Pass` when `ok` holds.
    pub fn from_ok(ok: bool) -> Self {
        if ok { Verdict::Pass } else { Verdict::Fail }
    }
}
