//! `test [step-N]`: run a step's checks, or every step's with an overview.
//!
//! With `--core`, a check that stops at the stub of a deep-dive exercise
//! (one whose chapter heading says `(deep dive)`) is left for later rather
//! than failed, so a learner on the core path sees when that path is done.

use std::io::Write;

use anyhow::{Result, bail};

use crate::chapter::{self, Chapter, Exercise};
use crate::checks::{self, RunOptions};
use crate::libtest::{Outcome, Report};
use crate::owners::{self, Memory};
use crate::progress::{Progress, StepProgress};
use crate::steps::Step;
use crate::{Course, Verdict, diagnose, exercises, regions};

/// Which checks a run counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Path {
    /// Every exercise's.
    #[default]
    Whole,
    /// The core path's: a check stopped by a deep dive's stub is left for later.
    Core,
}

impl Path {
    /// The path a `--core` flag asks for.
    pub fn of(core: bool) -> Path {
        if core { Path::Core } else { Path::Whole }
    }
}

/// Runs the checks of the step named `step`, or of every step; with
/// `exercise`, only the checks of that exercise of the step.
pub fn run(
    course: &Course,
    step: Option<&str>,
    exercise: Option<&str>,
    path: Path,
    options: RunOptions,
    out: &mut dyn Write,
) -> Result<Verdict> {
    match step {
        Some(name) => one(course, &course.step(name)?, exercise, path, options, out),
        None if path == Path::Core => {
            bail!("--core goes with a step: `just test step-1 --core`")
        }
        None => all(course, options, out),
    }
}

/// Turns the failures of `report` that stopped at a deep dive's stub into
/// checks left for later; returns the deep dives that stopped a check, and
/// how many checks they stopped.
fn leave_deep_dives(
    step: &Step,
    exercises: &[Exercise],
    report: &mut Report,
) -> (Vec<String>, usize) {
    let mut left = Vec::new();
    let mut stopped = 0;
    for check in &mut report.checks {
        let Outcome::Failed(panic) = &check.outcome else {
            continue;
        };
        let Some((number, id)) = diagnose::stub_reached(&panic.message) else {
            continue;
        };
        if number == step.number && exercises.iter().any(|e| e.id == id && e.deep_dive) {
            check.outcome = Outcome::Skipped(format!("deep dive {id}, not on the core path"));
            stopped += 1;
            if !left.contains(&id) {
                left.push(id);
            }
        }
    }
    (left, stopped)
}

/// The libtest names that may be `check` (`sample::parses` is test
/// `parses` of `tests/sample.rs`, or unit test `sample::parses`).
fn libtest_names(check: &str) -> Vec<String> {
    let mut names = vec![check.to_string()];
    if let Some((_, rest)) = check.split_once("::") {
        names.push(rest.to_string());
    }
    names
}

/// One step: its checks in the book's order of their exercises, the counts,
/// then the first failure in full.
fn one(
    course: &Course,
    step: &Step,
    only: Option<&str>,
    path: Path,
    options: RunOptions,
    out: &mut dyn Write,
) -> Result<Verdict> {
    writeln!(out, "{}: {}", step.label(), step.title)?;
    let files = exercises::load(course, step)?;
    let chapter = Chapter::load(course, step);
    let exercises = chapter::book_order(step, &files, &chapter);
    let mut memory = Memory::load(course, step);
    let names: Vec<String> = match only {
        Some(id) => {
            if !exercises.iter().any(|e| e.id == id) {
                let known: Vec<_> = exercises.iter().map(|e| e.id.as_str()).collect();
                bail!(
                    "{} has no exercise `{id}`; its exercises are {}",
                    step.label(),
                    known.join(", ")
                );
            }
            memory
                .checks_of(id)
                .into_iter()
                .flat_map(libtest_names)
                .collect()
        }
        None => Vec::new(),
    };
    let mut report = checks::run_only(course, step, options, &names)?;
    if only.is_none() {
        record(course, step, &report)?;
    }
    if let Some(errors) = &report.build_error {
        writeln!(out, "{} does not build:\n\n{errors}", step.label())?;
        first_error(course, errors, out)?;
        return Ok(Verdict::Fail);
    }
    let run = owners::this_run(step, &chapter, &exercises, &report);
    memory.learn(&exercises, &run, &report, only.is_none());
    memory.save(course, step)?;
    let (left, left_checks) = match path {
        Path::Core => leave_deep_dives(step, &exercises, &mut report),
        Path::Whole => (Vec::new(), 0),
    };
    let owner = |name: &str| -> Option<usize> {
        let id = run.get(name).or_else(|| memory.exercises.get(name))?;
        exercises.iter().position(|e| e.id == *id)
    };
    if let Some(id) = only {
        let known = memory.checks_of(id);
        report.checks.retain(|check| {
            known.contains(check.name.as_str())
                || owner(&check.name).is_some_and(|at| exercises[at].id == id)
        });
        report.crashes.clear();
    }
    report
        .checks
        .sort_by_key(|check| (owner(&check.name).unwrap_or(usize::MAX), check.name.clone()));

    let grouped = report.checks.iter().any(|c| owner(&c.name).is_some());
    let mut group: Option<Option<usize>> = None;
    for check in &report.checks {
        let indent = if grouped {
            let at = owner(&check.name);
            if group != Some(at) {
                group = Some(at);
                match at {
                    Some(at) => writeln!(
                        out,
                        "  exercise {} ({})",
                        exercises[at].id,
                        working_location(course, step, &exercises[at])
                    )?,
                    None => writeln!(out, "  other checks")?,
                }
            }
            "    "
        } else {
            "  "
        };
        match &check.outcome {
            Outcome::Passed => writeln!(out, "{indent}pass  {}", check.name)?,
            Outcome::Failed(_) => writeln!(out, "{indent}FAIL  {}", check.name)?,
            Outcome::Skipped(reason) => writeln!(out, "{indent}skip  {} ({reason})", check.name)?,
        }
    }
    for crash in &report.crashes {
        let reason = crash.reason.as_deref().unwrap_or("it crashed");
        writeln!(
            out,
            "  FAIL  {}: stopped before {} more check(s) could report: {reason}",
            crash.target, crash.unreported
        )?;
    }
    let label = match (only, path) {
        (Some(id), _) => format!("{}, exercise {id}", step.label()),
        (None, Path::Core) => format!("{}, core path", step.label()),
        (None, Path::Whole) => step.label(),
    };
    if let (Some(id), true) = (only, report.checks.is_empty()) {
        writeln!(
            out,
            "No check is known to test exercise {id} yet: `just test {}` runs them all and learns which check tests what \
             (a check counts for the first exercise it stops at, so finish the ones before it first).",
            step.arg()
        )?;
        return Ok(Verdict::Fail);
    }
    writeln!(out, "{}", summary(&label, &report))?;
    if step.needs_root
        && report.skipped() > 0
        && let Err(why) = workshop::privileges()
    {
        writeln!(
            out,
            "{} needs root or a user namespace ({why}); as root, `sudo just test {}` runs every check.",
            step.label(),
            step.arg()
        )?;
    }
    if let Some((check, panic)) = report.first_failure() {
        let exercise = owner(&check.name).map(|at| &exercises[at]);
        writeln!(out, "\nFirst failure: {}", check.name)?;
        for line in panic.message.lines() {
            writeln!(out, "  {line}")?;
        }
        if let Some(location) = &panic.location {
            writeln!(out, "  (panicked at {location})")?;
        }
        let read = panic
            .read
            .clone()
            .or_else(|| exercise.map(|e| e.section.clone()))
            .unwrap_or_else(|| step.chapter_path());
        if let Some(snapshot) = &panic.snapshot {
            writeln!(
                out,
                "  Compare with the snapshot file {snapshot}; the book section {read} explains it. \
                 Fix the code, not the snapshot: it is the answer key."
            )?;
        }
        if let Some(exercise) = exercise {
            writeln!(
                out,
                "Exercise: EXERCISE({}) at {}",
                exercise.id,
                working_location(course, step, exercise)
            )?;
        }
        writeln!(out, "Read: {read}")?;
        writeln!(out, "Stuck? `just hint {}` gives a hint.", step.arg())?;
    } else if report.ok() {
        if !left.is_empty() {
            writeln!(
                out,
                "The core path of {} is done. Left for later, the deep dive(s): {}.",
                step.label(),
                left.join(", ")
            )?;
        }
        if report.skipped() > left_checks {
            writeln!(
                out,
                "Every check that can run here passes; the skipped ones say what they need."
            )?;
        } else if left.is_empty() && only.is_some() {
            writeln!(out, "Every check of this exercise passes.")?;
        } else if left.is_empty() && report.total() > 0 {
            writeln!(out, "{} is done.", step.label())?;
        }
    }
    Ok(Verdict::from_ok(report.ok()))
}

/// Where `exercise` is in the learner's file now (its line moves as they
/// write): `steps/01-sample/src/lib.rs:8`.
pub(crate) fn working_location(course: &Course, step: &Step, exercise: &Exercise) -> String {
    let path = step.dir.join(&exercise.file);
    let line = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| regions::parse(&exercise.file, &text).ok())
        .and_then(|regions| regions.into_iter().find(|r| r.id == exercise.id))
        .map_or(exercise.region.line, |r| r.line);
    format!(
        "{}:{line}",
        path.strip_prefix(course.root()).unwrap_or(&path).display()
    )
}

/// The compiler's first error again, after cargo's output, with the
/// exercise region it is in.
pub(crate) fn first_error(course: &Course, errors: &str, out: &mut dyn Write) -> Result<()> {
    let Some(error) = diagnose::first_compile_error(errors) else {
        return Ok(());
    };
    let steps = course.steps()?;
    let located = match (&error.path, error.line) {
        (Some(path), Some(line)) => diagnose::region_at(course, &steps, path, line),
        _ => None,
    };
    match (&located, &error.path, error.line) {
        (Some(located), _, _) => writeln!(out, "\nFirst error, in {}:", located.describe())?,
        (None, Some(path), Some(line)) => writeln!(
            out,
            "\nFirst error, at {}:{line}, outside the exercise regions:",
            path.display()
        )?,
        _ => writeln!(out, "\nFirst error:")?,
    }
    for line in error.text.lines() {
        writeln!(out, "  {line}")?;
    }
    if let Some(located) = &located {
        let step = &located.step;
        let files = exercises::load(course, step)?;
        let chapter = Chapter::load(course, step);
        let section = chapter::book_order(step, &files, &chapter)
            .into_iter()
            .find(|e| e.id == located.region.id)
            .map_or_else(|| step.chapter_path(), |e| e.section);
        writeln!(out, "Read: {section}")?;
    }
    Ok(())
}

/// `step 01: 3/5 checks pass (1 failing, 1 skipped)`.
fn summary(label: &str, report: &Report) -> String {
    if report.total() == 0 {
        return format!("{label}: no checks yet");
    }
    let mut extra = Vec::new();
    if report.failed() > 0 {
        extra.push(format!("{} failing", report.failed()));
    }
    if report.skipped() > 0 {
        extra.push(format!("{} skipped", report.skipped()));
    }
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" ({})", extra.join(", "))
    };
    format!(
        "{label}: {}/{} checks pass{extra}",
        report.passed(),
        report.total()
    )
}

/// Every step, one overview line each as it finishes, then what to do next.
fn all(course: &Course, options: RunOptions, out: &mut dyn Write) -> Result<Verdict> {
    let steps = course.steps()?;
    if steps.is_empty() {
        writeln!(
            out,
            "No steps yet: steps/ holds no step crates, so there is nothing to test."
        )?;
        return Ok(Verdict::Pass);
    }
    let before = Progress::load(course);
    let width = steps
        .iter()
        .map(|s| s.title.chars().count())
        .max()
        .unwrap_or(0);
    writeln!(out, "Progress:")?;
    let mut next = None;
    let mut done = 0;
    for step in &steps {
        let report = checks::run(course, step, options)?;
        record(course, step, &report)?;
        let now = StepProgress::from(&report);
        let status = if report.build_error.is_some() {
            "does not build".to_string()
        } else {
            let mut status = format!("{:>3}/{}", now.passed, now.total);
            if now.skipped > 0 {
                status.push_str(&format!(", {} skipped", now.skipped));
            }
            if let Some(old) = before.steps.get(&step.package)
                && old.passed != now.passed
            {
                status.push_str(&format!(
                    " ({:+} since last run)",
                    now.passed as i64 - old.passed as i64
                ));
            }
            status
        };
        writeln!(
            out,
            "  {}  {:<width$}  {}  {}",
            step.label(),
            step.title,
            bar(now.passed, now.total),
            status.trim_end()
        )?;
        if report.ok() {
            done += 1;
        } else if next.is_none() {
            next = Some(step.arg());
        }
    }
    writeln!(out, "{done} of {} step(s) pass.", steps.len())?;
    match next {
        Some(arg) => {
            writeln!(out, "Next: just test {arg}")?;
            Ok(Verdict::Fail)
        }
        None => Ok(Verdict::Pass),
    }
}

/// `[#######-------------]`: the share of checks that pass.
fn bar(passed: usize, total: usize) -> String {
    const WIDTH: usize = 20;
    let filled = (passed * WIDTH).checked_div(total).unwrap_or(0);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(WIDTH - filled))
}

fn record(course: &Course, step: &Step, report: &Report) -> Result<()> {
    let mut progress = Progress::load(course);
    progress
        .steps
        .insert(step.package.clone(), StepProgress::from(report));
    progress.save(course)
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn the_bar_fills_with_the_share_of_passing_checks() {
        assert_eq!(bar(0, 0), "[--------------------]");
        assert_eq!(bar(1, 4), "[#####---------------]");
        assert_eq!(bar(4, 4), "[####################]");
    }
}
