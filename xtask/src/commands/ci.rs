//! `ci`: the whole suite, the README's test command and what `.ci/run` calls.
//!
//! Stages run in order and stop at the first failure; children's output
//! streams as it comes. The summary at the end says what passed, what
//! failed and what did not run.
//!
//! `exercise-table` is the last stage: one more run of a step's checks per
//! exercise, in the copy `check-exercises` has already built, so each run
//! rebuilds one crate. It proves what each chapter's "In what order" table
//! claims: the count rises after every exercise.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::commands::{book, check_exercises, exercise_table, setup};
use crate::{Course, Verdict};

/// The environment variable that tells interop tests a missing peer tool
/// (skopeo, umoci, ...) is a failure, not a skip: in CI, `setup` has
/// installed them, so a skip would hide a broken install.
pub const REQUIRE_PEERS: &str = "DOCKER_INTERNALS_REQUIRE_PEERS";

/// One stage of the suite.
struct Stage {
    name: &'static str,
    run: fn(&Course, &mut dyn Write) -> Result<Verdict>,
}

const STAGES: &[Stage] = &[
    Stage {
        name: "setup",
        run: setup::run,
    },
    Stage {
        name: "cargo fmt --all --check",
        run: |course, _| cargo(course, &["fmt", "--all", "--check"], &[]),
    },
    Stage {
        name: "cargo clippy --workspace --all-targets -- -D warnings",
        run: |course, _| {
            cargo(
                course,
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
                &[],
            )
        },
    },
    Stage {
        name: "cargo test --workspace",
        run: |course, _| cargo(course, &["test", "--workspace"], &[(REQUIRE_PEERS, "1")]),
    },
    Stage {
        name: "check-exercises",
        run: |course, out| check_exercises::run(course, None, out),
    },
    Stage {
        name: "book --check",
        run: |course, out| book::run(course, book::Mode::Check, out),
    },
    Stage {
        name: "exercise-table",
        run: |course, out| exercise_table::run(course, None, out),
    },
];

pub fn run(course: &Course, out: &mut dyn Write) -> Result<Verdict> {
    let mut results: Vec<(&str, Result<Verdict>, Duration)> = Vec::new();
    for stage in STAGES {
        writeln!(out, "==> {}", stage.name)?;
        out.flush()?;
        let started = Instant::now();
        let result = (stage.run)(course, out);
        let failed = !matches!(result, Ok(Verdict::Pass));
        results.push((stage.name, result, started.elapsed()));
        if failed {
            break;
        }
    }

    writeln!(out, "\nci summary:")?;
    let width = STAGES.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for stage in STAGES {
        match results.iter().find(|(name, _, _)| *name == stage.name) {
            Some((name, result, took)) => {
                let status = match result {
                    Ok(Verdict::Pass) => "ok",
                    _ => "FAILED",
                };
                writeln!(
                    out,
                    "  {status:<7} {name:<width$}  {:>6.1}s",
                    took.as_secs_f64()
                )?;
                if let Err(error) = result {
                    writeln!(out, "          error: {error:#}")?;
                }
            }
            None => writeln!(out, "  {:<7} {}", "not run", stage.name)?,
        }
    }
    let passed = results
        .iter()
        .all(|(_, result, _)| matches!(result, Ok(Verdict::Pass)))
        && results.len() == STAGES.len();
    match results.last() {
        Some((name, _, _)) if !passed => writeln!(out, "ci: failed at {name}")?,
        _ => writeln!(out, "ci: all {} stages pass", STAGES.len())?,
    }
    Ok(Verdict::from_ok(passed))
}

/// `cargo ARGS` with `env`, its output streamed.
fn cargo(course: &Course, args: &[&str], env: &[(&str, &str)]) -> Result<Verdict> {
    // CI builds each thing once, from scratch: incremental caches would only
    // take gigabytes of the disk the check-exercises copy needs.
    let status = course
        .cargo()
        .args(args)
        .env("CARGO_INCREMENTAL", "0")
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("could not run cargo {}", args.join(" ")))?;
    Ok(Verdict::from_ok(status.success()))
}
