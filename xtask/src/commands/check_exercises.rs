//! `check-exercises`: prove that every exercise is honest.
//!
//! For each step, in a copy of the workspace:
//!
//! 1. the reference passes all of the step's checks;
//! 2. with the step stubbed (`start`), the whole workspace still builds,
//!    tests and all (`cargo build --workspace --all-targets`): later steps and
//!    the tool depend on this one, and a learner must be able to run them.
//!    It builds without warnings about the steps' code, too, dead code aside:
//!    a learner who has just run `start` must not face a screen of them (an
//!    import only solutions use belongs inside them, see `steps/README.md`);
//! 3. every check of the step fails against the stubs: a check that passes
//!    on `todo!()` tests nothing, and is named;
//! 4. each exercise stubbed alone (the rest of the step written) makes at
//!    least one check fail: an exercise no check notices is named, with its
//!    file and line. These runs build and run only the step's own checks
//!    (`cargo test -p <package> --tests`), one per exercise.
//!
//! That the pass count rises after each exercise in the book's order is
//! `exercise-table`'s job ([`table`]): it takes another run per exercise,
//! and CI runs it as its last stage (see `ci`).
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
use crate::{Course, Verdict, exercises, files, mirror};

/// The copy of `course` that `check-exercises` and `exercise-table` stub,
/// synced with the working tree, and the steps to check (`only` names one).
///
/// Builds go to the course's target directory for checks
/// ([`Course::check_target_dir`]), which also holds the copy
/// (`workspace/`), so compiled dependencies are reused from run to run.
/// They are not incremental: a step is rebuilt with a different set of stubs
/// for every run, and incremental caches would only fill the disk.
pub(crate) fn copy(course: &Course, only: Option<&str>) -> Result<(Course, Vec<Step>)> {
    let target = course.check_target_dir();
    let root = target.join("workspace");
    mirror::sync(course.root(), &root).context("could not copy the workspace")?;
    let copy = course
        .at(&root)
        .with_target_dir(&target)
        .with_env("CARGO_INCREMENTAL", "0");
    let steps = match only {
        Some(name) => vec![copy.step(name)?],
        None => copy.steps()?,
    };
    Ok((copy, steps))
}

/// A step's exercise files in the copy, refusing a started step.
pub(crate) fn reference_files(copy: &Course, step: &Step) -> Result<Vec<ExerciseFile>> {
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
    Ok(files)
}

/// Checks every step of `course`, or the one `only` names (`step-1`).
pub fn run(course: &Course, only: Option<&str>, out: &mut dyn Write) -> Result<Verdict> {
    let (copy, steps) = copy(course, only)?;
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
    let files = reference_files(copy, step)?;
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
        Some(_) => {
            let chapter = Chapter::load(copy, step);
            let exercises = chapter::book_order(step, &files, &chapter);
            Ok(found + check_alone(copy, step, &files, &exercises, out)?)
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
pub(crate) fn write_with_stubs(
    step: &Step,
    files: &[ExerciseFile],
    stubbed: impl Fn(&str) -> bool,
) -> Result<()> {
    for file in files {
        files::write(
            &step.dir.join(&file.path),
            &file.stubbed_where(step, &stubbed),
        )?;
    }
    Ok(())
}

/// The problem of a run that did not build, if it did not.
pub(crate) fn build_problem(report: &Report, what: &str) -> Option<String> {
    let errors = report.build_error.as_ref()?;
    let first = crate::diagnose::first_compile_error(errors)
        .map(|e| e.text)
        .unwrap_or_else(|| errors.clone());
    Some(format!(
        "the step does not build with {what}:\n{}",
        indent(&first)
    ))
}

/// Step 4: each exercise stubbed alone, in the book's order.
fn check_alone(
    copy: &Course,
    step: &Step,
    files: &[ExerciseFile],
    exercises: &[Exercise],
    out: &mut dyn Write,
) -> Result<usize> {
    let started = Instant::now();
    let (rows, widths) = exercise_rows(exercises);
    writeln!(
        out,
        "  ..    each exercise stubbed alone, in the book's order: the checks that fail"
    )?;
    writeln!(out, "{}", row(widths, "exercise", "region", "fail alone"))?;
    out.flush()?;
    let mut problems = Vec::new();
    for (exercise, (id, place)) in exercises.iter().zip(&rows) {
        write_with_stubs(step, files, |other| other == exercise.id)?;
        let alone = checks::run(copy, step, RunOptions::default())?;
        writeln!(
            out,
            "{}",
            row(widths, id, place, &alone.failed().to_string())
        )?;
        out.flush()?;
        let region = format!("EXERCISE({id}) at {}", exercise.location(copy, step));
        if let Some(problem) = build_problem(&alone, &format!("{region} stubbed alone")) {
            problems.push(problem);
        } else if alone.failed() == 0 {
            problems.push(format!(
                "{region}: no check fails with only it stubbed, so nothing tests it"
            ));
        }
    }
    verdict(
        "every exercise, stubbed alone, fails a check",
        &problems,
        exercises.len(),
        started,
        out,
    )
}

/// Reports a series of runs: one `ok` line saying `ok` when there are no
/// `problems`, else a `FAIL` line for each; then how many `runs` took how
/// long since `started`. Returns how many problems there were.
pub(crate) fn verdict(
    ok: &str,
    problems: &[String],
    runs: usize,
    started: Instant,
    out: &mut dyn Write,
) -> Result<usize> {
    let took = duration(started.elapsed());
    if problems.is_empty() {
        writeln!(out, "  ok    {ok} ({runs} runs in {took})")?;
    } else {
        for problem in problems {
            writeln!(out, "  FAIL  {problem}")?;
        }
        writeln!(out, "          ({runs} runs in {took})")?;
    }
    Ok(problems.len())
}

/// A table's rows for `exercises` (id, `file:line`), and the widths of those
/// two columns.
pub(crate) type ExerciseRows = (Vec<(String, String)>, (usize, usize));

/// The rows and column widths of a table of `exercises`.
pub(crate) fn exercise_rows(exercises: &[Exercise]) -> ExerciseRows {
    let rows: Vec<(String, String)> = exercises
        .iter()
        .map(|e| {
            (
                e.id.clone(),
                format!("{}:{}", e.file.display(), e.region.line),
            )
        })
        .collect();
    let widths = column_widths(&rows);
    (rows, widths)
}

/// The widths of a table's first two columns.
pub(crate) fn column_widths(rows: &[(String, String)]) -> (usize, usize) {
    (
        rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(8),
        rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(6),
    )
}

/// One row of a table of exercises.
pub(crate) fn row(widths: (usize, usize), id: &str, place: &str, count: &str) -> String {
    format!(
        "          {id:<0$}  {place:<1$}  {count:>10}",
        widths.0, widths.1
    )
    .trim_end()
    .to_string()
}

pub(crate) fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("          {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `2m05s`, `41s`.
pub(crate) fn duration(elapsed: Duration) -> String {
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
    let stderr = String::from_utf8_lossy(&build.stderr);
    let warnings = step_warnings(&stderr);
    if build.status.success() && warnings.is_empty() {
        writeln!(
            out,
            "  ok    the workspace builds with {} stubbed",
            step.label()
        )?;
    } else if build.status.success() {
        problems += 1;
        writeln!(
            out,
            "  FAIL  the workspace builds with {} stubbed, but with warnings about the steps' code:",
            step.label()
        )?;
        for warning in warnings {
            writeln!(out, "          {warning}")?;
        }
    } else {
        problems += 1;
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

/// The warnings in a build's output about code in `steps/`, each once, as
/// `steps/01-x/src/lib.rs:12: unused import: ...` (file, line, message).
///
/// Dead code counts too. A stub names the helper functions and constants
/// only its solution used (`let _ = helper;`); a type whose variants or
/// fields only a solution builds or reads carries `#[allow(dead_code,
/// reason = "...")]` saying which.
fn step_warnings(stderr: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut lines = stderr.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(message) = line.strip_prefix("warning: ") else {
            continue;
        };
        let Some(place) = lines
            .peek()
            .and_then(|next| next.trim_start().strip_prefix("--> "))
        else {
            continue;
        };
        // `path:line:column`: the column goes.
        let place = place.rsplit_once(':').map_or(place, |(at, _)| at);
        let warning = format!("{place}: {message}");
        if place.starts_with("steps/") && !found.contains(&warning) {
            found.push(warning);
        }
    }
    found
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_about_the_steps_code_are_named_once_with_file_and_line() {
        let stderr = "\
   Compiling step-02-layers v0.1.0 (/tmp/course/steps/02-layers)
warning: unused import: `causes`
  --> steps/02-layers/src/download.rs:14:32
   |
14 | use step_01_registry::client::{causes, check_status};
   |                                ^^^^^^

warning: constant `GZIP_MAGIC` is never used
  --> steps/02-layers/src/decompress.rs:14:7

warning: unused variable: `x`
 --> benches/src/lib.rs:3:9

warning: `step-02-layers` (lib) generated 2 warnings
warning: unused import: `causes`
  --> steps/02-layers/src/download.rs:14:32
";
        assert_eq!(
            step_warnings(stderr),
            [
                "steps/02-layers/src/download.rs:14: unused import: `causes`",
                "steps/02-layers/src/decompress.rs:14: constant `GZIP_MAGIC` is never used"
            ]
        );
    }
}
