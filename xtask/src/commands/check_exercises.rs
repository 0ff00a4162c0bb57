//! `check-exercises`: prove that every exercise is honest.
//!
//! For each step, in a copy of the workspace:
//!
//! 1. the reference passes all of the step's checks;
//! 2. with the step stubbed (`start`), the whole workspace still builds,
//!    tests and all (`cargo build --workspace --all-targets`): later steps and
//!    the tool depend on this one, and a learner must be able to run them;
//! 3. every check of the step fails against the stubs: a check that passes
//!    on `todo!()` tests nothing, and is named.
//!
//! A check that skips on this machine cannot be verified either way; it is
//! counted and said, not failed.

use std::io::Write;

use anyhow::{Context, Result, bail};

use crate::checks::{self, RunOptions};
use crate::libtest::{self, Outcome, Report};
use crate::steps::Step;
use crate::{Course, Verdict, exercises, files, mirror};

/// Checks every step of `course`. Builds go to the course's target
/// directory for checks ([`Course::check_target_dir`]), which also holds
/// the copy (`workspace/`), so compiled dependencies are reused from run to
/// run.
pub fn run(course: &Course, out: &mut dyn Write) -> Result<Verdict> {
    let target = course.check_target_dir();
    let root = target.join("workspace");
    mirror::sync(course.root(), &root).context("could not copy the workspace")?;
    let copy = course.at(&root).with_target_dir(&target);
    let steps = copy.steps()?;
    if steps.is_empty() {
        writeln!(out, "No steps yet: there are no exercises to check.")?;
        return Ok(Verdict::Pass);
    }
    let mut problems = 0;
    for step in &steps {
        problems += check_step(&copy, step, out)?;
    }
    if problems == 0 {
        writeln!(
            out,
            "check-exercises: {} step(s) checked, every exercise is honest.",
            steps.len()
        )?;
    } else {
        writeln!(out, "check-exercises: {problems} problem(s) found.")?;
    }
    Ok(Verdict::from_ok(problems == 0))
}

/// Checks one step in the copy `copy`; returns how many problems it found.
fn check_step(copy: &Course, step: &Step, out: &mut dyn Write) -> Result<usize> {
    writeln!(out, "{}: {}", step.label(), step.title)?;
    let files = exercises::load(copy, step)?;
    for file in &files {
        if file.regions.iter().any(|r| r.is_stubbed(&file.reference)) {
            bail!(
                "{} is started in this working tree ({} holds stubs): run `just solution {} --restore` first",
                step.label(),
                file.path.display(),
                step.arg()
            );
        }
    }
    let mut problems = 0;

    let reference = checks::run(copy, step, RunOptions::default())?;
    if reference.ok() {
        writeln!(
            out,
            "  ok    the reference passes {} check(s){}",
            reference.passed(),
            skipped(&reference)
        )?;
    } else {
        problems += 1;
        writeln!(out, "  FAIL  the reference does not pass:")?;
        failures(&reference, out)?;
    }
    if files.is_empty() {
        writeln!(
            out,
            "  FAIL  the step has no exercise regions, so there is nothing to write"
        )?;
        return Ok(problems + 1);
    }

    for file in &files {
        files::write(&step.dir.join(&file.path), &file.stubbed(step))?;
    }
    let result = check_stubs(copy, step, out);
    for file in &files {
        files::write(&step.dir.join(&file.path), &file.reference)?;
    }
    Ok(problems + result?)
}

/// Steps 2 and 3, with the step stubbed.
fn check_stubs(copy: &Course, step: &Step, out: &mut dyn Write) -> Result<usize> {
    let build = copy
        .cargo()
        .args(["build", "--workspace", "--all-targets", "--color", "never"])
        .output()
        .context("could not run cargo build")?;
    if !build.status.success() {
        writeln!(
            out,
            "  FAIL  the workspace does not build with {} stubbed:",
            step.label()
        )?;
        for line in libtest::compiler_errors(&String::from_utf8_lossy(&build.stderr)).lines() {
            writeln!(out, "          {line}")?;
        }
        return Ok(1);
    }
    writeln!(
        out,
        "  ok    the workspace builds with {} stubbed",
        step.label()
    )?;

    let stubbed = checks::run(copy, step, RunOptions::default())?;
    if let Some(errors) = &stubbed.build_error {
        writeln!(
            out,
            "  FAIL  the stubbed step's tests do not build:\n{errors}"
        )?;
        return Ok(1);
    }
    let passing: Vec<_> = stubbed
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Passed)
        .map(|c| c.name.as_str())
        .collect();
    if stubbed.total() == 0 {
        writeln!(out, "  FAIL  the step has no checks")?;
        return Ok(1);
    }
    if passing.is_empty() {
        writeln!(
            out,
            "  ok    all {} check(s) fail on the stubs{}",
            stubbed.failed(),
            skipped(&stubbed)
        )?;
        return Ok(0);
    }
    writeln!(
        out,
        "  FAIL  {} check(s) pass on the stubs, so they test nothing:",
        passing.len()
    )?;
    for name in passing {
        writeln!(out, "          {name}")?;
    }
    Ok(1)
}

/// ` (2 skipped on this machine)`, or nothing.
fn skipped(report: &Report) -> String {
    match report.skipped() {
        0 => String::new(),
        n => format!(" ({n} skipped on this machine, not verified)"),
    }
}

fn failures(report: &Report, out: &mut dyn Write) -> Result<()> {
    if let Some(errors) = &report.build_error {
        for line in errors.lines() {
            writeln!(out, "          {line}")?;
        }
    }
    for check in &report.checks {
        if let Outcome::Failed(panic) = &check.outcome {
            writeln!(
                out,
                "          {}: {}",
                check.name,
                panic.message.lines().next().unwrap_or("")
            )?;
        }
    }
    for crash in &report.crashes {
        writeln!(out, "          {} crashed", crash.target)?;
    }
    Ok(())
}
