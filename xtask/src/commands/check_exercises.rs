//! `check-exercises`: prove that every exercise is honest.
//!
//! For each step, in a copy of the workspace:
//!
//! 1. the reference passes all of the step's checks;
//! 2. with the step stubbed (`start`), the whole workspace still builds,
//!    tests and all (`cargo build --workspace --all-targets`): later steps and
//!    the tool depend on this one, and a learner must be able to run them;
//! 3. every check of the step fails against the stubs: a check that passes
//!    on `todo!()` tests nothing, and is named;
//! 4. each exercise stubbed alone (the rest of the step written) makes at
//!    least one check fail: an exercise no check notices is named, with its
//!    file and line;
//! 5. in the book's order ([`crate::chapter`]), with exercises 1..k written
//!    and the rest stubbed, the number of passing checks rises with every k:
//!    each exercise the learner finishes makes the count move. The table of
//!    counts is printed; an exercise after which it does not rise is named.
//!
//! Steps 4 and 5 build and run only the step's own checks
//! (`cargo test -p <package> --tests`), two runs per exercise.
//!
//! A check that skips on this machine cannot be verified either way; it is
//! counted and said, not failed.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::chapter::{self, Chapter, Exercise};
use crate::checks::{self, RunOptions};
use crate::exercises::ExerciseFile;
use crate::libtest::{self, Outcome, Report};
use crate::steps::Step;
use crate::{Course, Verdict, exercises, files, mirror, regions};

/// Checks every step of `course`. Builds go to the course's target
/// directory for checks ([`Course::check_target_dir`]), which also holds
/// the copy (`workspace/`), so compiled dependencies are reused from run to
/// run.
/// `only` names one step to check (`step-1`); every step when `None`.
pub fn run(course: &Course, only: Option<&str>, out: &mut dyn Write) -> Result<Verdict> {
    let target = course.check_target_dir();
    let root = target.join("workspace");
    mirror::sync(course.root(), &root).context("could not copy the workspace")?;
    let copy = course.at(&root).with_target_dir(&target);
    let steps = match only {
        Some(name) => vec![copy.step(name)?],
        None => copy.steps()?,
    };
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
    let result = check_stubs(copy, step, out).and_then(|(found, stubbed)| match stubbed {
        Some(stubbed) => {
            let chapter = Chapter::load(copy, step);
            let exercises = chapter::book_order(step, &files, &chapter);
            let each = check_each(copy, step, &files, &exercises, &stubbed, &reference, out)?;
            Ok(found + each)
        }
        None => Ok(found),
    });
    for file in &files {
        files::write(&step.dir.join(&file.path), &file.reference)?;
    }
    Ok(problems + result?)
}

/// Writes the step's exercise files with the regions `stubbed` says
/// stubbed and the reference in the others.
fn write_with_stubs(
    step: &Step,
    files: &[ExerciseFile],
    stubbed: impl Fn(&str) -> bool,
) -> Result<()> {
    for file in files {
        let text = regions::replace_bodies(&file.reference, &file.regions, |region| {
            if stubbed(&region.id) {
                region.stub_line(step.number)
            } else {
                region.body(&file.reference).to_string()
            }
        });
        files::write(&step.dir.join(&file.path), &text)?;
    }
    Ok(())
}

/// Steps 4 and 5: each exercise stubbed alone, then the pass count with
/// exercises 1..k written, in the book's order. `stubbed` and `reference`
/// are the runs with every exercise stubbed and none.
fn check_each(
    copy: &Course,
    step: &Step,
    files: &[ExerciseFile],
    exercises: &[Exercise],
    stubbed: &Report,
    reference: &Report,
    out: &mut dyn Write,
) -> Result<usize> {
    let started = Instant::now();
    let width = exercises
        .iter()
        .map(|e| e.id.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let places: Vec<String> = exercises
        .iter()
        .map(|e| format!("{}:{}", e.file.display(), e.region.line))
        .collect();
    let place_width = places.iter().map(String::len).max().unwrap_or(0).max(6);
    writeln!(
        out,
        "  ..    each exercise, in the book's order: checks failing with it stubbed alone, \
         checks passing once it and the ones before it are written"
    )?;
    writeln!(
        out,
        "          {:<width$}  {:<place_width$}  {:>10}  {:>10}",
        "exercise", "region", "fail alone", "pass after"
    )?;
    writeln!(
        out,
        "          {:<width$}  {:<place_width$}  {:>10}  {:>10}",
        "(none)",
        "",
        "",
        format!("{}/{}", stubbed.passed(), stubbed.total())
    )?;
    out.flush()?;
    let mut problems = Vec::new();
    let mut before = stubbed.passed();
    let mut runs = 0;
    for (k, (exercise, place)) in exercises.iter().zip(&places).enumerate() {
        write_with_stubs(step, files, |id| id == exercise.id)?;
        let alone = checks::run(copy, step, RunOptions::default())?;
        runs += 1;
        let after = if k + 1 == exercises.len() {
            reference.clone()
        } else {
            write_with_stubs(step, files, |id| {
                exercises
                    .iter()
                    .position(|e| e.id == id)
                    .is_some_and(|at| at > k)
            })?;
            runs += 1;
            checks::run(copy, step, RunOptions::default())?
        };
        let region = format!(
            "EXERCISE({}) at {}",
            exercise.id,
            exercise.location(copy, step)
        );
        for (report, how) in [
            (&alone, "stubbed alone"),
            (&after, "with the ones before it written"),
        ] {
            if let Some(errors) = &report.build_error {
                let first = crate::diagnose::first_compile_error(errors)
                    .map(|e| e.text)
                    .unwrap_or_else(|| errors.clone());
                problems.push(format!(
                    "the step does not build with {region} {how}:\n{}",
                    indent(&first)
                ));
            }
        }
        let fail_alone = alone.failed();
        writeln!(
            out,
            "          {:<width$}  {:<place_width$}  {:>10}  {:>10}",
            exercise.id,
            place,
            fail_alone,
            format!("{}/{}", after.passed(), after.total())
        )?;
        out.flush()?;
        if fail_alone == 0 && alone.build_error.is_none() {
            problems.push(format!(
                "{region}: no check fails with only it stubbed, so nothing tests it"
            ));
        }
        if after.passed() <= before && after.build_error.is_none() {
            problems.push(format!(
                "{region}: the pass count does not rise after it, in the book's order ({before} before, {} after)",
                after.passed()
            ));
        }
        before = after.passed();
    }
    if problems.is_empty() {
        writeln!(
            out,
            "  ok    every exercise is tested alone, and the count rises after each ({runs} runs in {})",
            duration(started.elapsed())
        )?;
    } else {
        for problem in &problems {
            writeln!(out, "  FAIL  {problem}")?;
        }
        writeln!(
            out,
            "          ({runs} runs in {})",
            duration(started.elapsed())
        )?;
    }
    Ok(problems.len())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("          {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `2m05s`, `41s`.
fn duration(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    if seconds >= 60 {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{seconds}s")
    }
}

/// Steps 2 and 3, with the step stubbed: the problems found, and the
/// stubbed run when the step's checks built.
fn check_stubs(copy: &Course, step: &Step, out: &mut dyn Write) -> Result<(usize, Option<Report>)> {
    let build = copy
        .cargo()
        .args(["build", "--workspace", "--all-targets", "--color", "never"])
        .output()
        .context("could not run cargo build")?;
    // A workspace that does not build is a problem, but the step's own
    // checks build and run on their own: the checks below still say what
    // they can.
    let mut problems = 0;
    if build.status.success() {
        writeln!(
            out,
            "  ok    the workspace builds with {} stubbed",
            step.label()
        )?;
    } else {
        problems += 1;
        let stderr = String::from_utf8_lossy(&build.stderr);
        writeln!(
            out,
            "  FAIL  the workspace does not build with {} stubbed; the first error:",
            step.label()
        )?;
        let first = crate::diagnose::first_compile_error(&stderr)
            .map(|e| e.text)
            .unwrap_or_else(|| libtest::compiler_errors(&stderr));
        writeln!(out, "{}", indent(&first))?;
        for line in stderr
            .lines()
            .filter(|l| l.starts_with("error: could not compile"))
        {
            writeln!(out, "          {line}")?;
        }
    }

    let stubbed = checks::run(copy, step, RunOptions::default())?;
    if let Some(errors) = &stubbed.build_error {
        writeln!(
            out,
            "  FAIL  the stubbed step's tests do not build:\n{errors}"
        )?;
        return Ok((problems + 1, None));
    }
    let passing: Vec<_> = stubbed
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Passed)
        .map(|c| c.name.as_str())
        .collect();
    if stubbed.total() == 0 {
        writeln!(out, "  FAIL  the step has no checks")?;
        return Ok((problems + 1, None));
    }
    if passing.is_empty() {
        writeln!(
            out,
            "  ok    all {} check(s) fail on the stubs{}",
            stubbed.failed(),
            skipped(&stubbed)
        )?;
        return Ok((problems, Some(stubbed)));
    }
    writeln!(
        out,
        "  FAIL  {} check(s) pass on the stubs, so they test nothing:",
        passing.len()
    )?;
    for name in passing {
        writeln!(out, "          {name}")?;
    }
    Ok((problems + 1, Some(stubbed)))
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
