//! `test [step-N]`: run a step's checks, or every step's with an overview.

use std::io::Write;

use anyhow::Result;

use crate::checks::{self, RunOptions};
use crate::libtest::{Outcome, Report};
use crate::progress::{Progress, StepProgress};
use crate::steps::Step;
use crate::{Course, Verdict, diagnose};

/// Runs the checks of the step named `step`, or of every step.
pub fn run(
    course: &Course,
    step: Option<&str>,
    options: RunOptions,
    out: &mut dyn Write,
) -> Result<Verdict> {
    match step {
        Some(name) => one(course, &course.step(name)?, options, out),
        None => all(course, options, out),
    }
}

/// One step: a line per check, the counts, then the first failure in full.
fn one(course: &Course, step: &Step, options: RunOptions, out: &mut dyn Write) -> Result<Verdict> {
    writeln!(out, "{}: {}", step.label(), step.title)?;
    let report = checks::run(course, step, options)?;
    record(course, step, &report)?;
    if let Some(errors) = &report.build_error {
        writeln!(out, "{} does not build:\n\n{errors}", step.label())?;
        first_error(course, errors, out)?;
        return Ok(Verdict::Fail);
    }
    for check in &report.checks {
        match &check.outcome {
            Outcome::Passed => writeln!(out, "  pass  {}", check.name)?,
            Outcome::Failed(_) => writeln!(out, "  FAIL  {}", check.name)?,
            Outcome::Skipped(reason) => writeln!(out, "  skip  {} ({reason})", check.name)?,
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
    writeln!(out, "{}", summary(step, &report))?;
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
        writeln!(out, "\nFirst failure: {}", check.name)?;
        for line in panic.message.lines() {
            writeln!(out, "  {line}")?;
        }
        if let Some(location) = &panic.location {
            writeln!(out, "  (panicked at {location})")?;
        }
        let read = panic.read.clone().unwrap_or_else(|| step.chapter_path());
        writeln!(out, "Read: {read}")?;
    } else if report.ok() {
        if report.skipped() > 0 {
            writeln!(
                out,
                "Every check that can run here passes; the skipped ones say what they need."
            )?;
        } else if report.total() > 0 {
            writeln!(out, "{} is done.", step.label())?;
        }
    }
    Ok(Verdict::from_ok(report.ok()))
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
    Ok(())
}

/// `step 01: 3/5 checks pass (1 failing, 1 skipped)`.
fn summary(step: &Step, report: &Report) -> String {
    if report.total() == 0 {
        return format!("{}: no checks yet", step.label());
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
        "{}: {}/{} checks pass{extra}",
        step.label(),
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
