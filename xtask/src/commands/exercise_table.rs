//! `exercise-table`: the pass count after each exercise, in the book's
//! order, which must rise every time.
//!
//! For each step, in the same copy of the workspace as `check-exercises`,
//! with exercises 1..k written (the reference) and the rest stubbed, for k
//! from 0 to the number of exercises, in the book's order
//! ([`crate::chapter`]): the number of checks that pass. A learner who works
//! through the chapter sees the count move after every exercise; an exercise
//! after which it does not rise is named, and the command fails. The table
//! is what a chapter's "In what order" section shows.
//!
//! Where the chapter shows the table (rows of `| \`id\` | 7/42 |`), each
//! count must be the one measured, so the book's table cannot go stale; a
//! run in which a check skips (a normal user's) does not compare.
//!
//! Each k is one run of the step's own checks (`cargo test -p <package>
//! --tests`), so a step of n exercises takes n + 1 runs. CI runs it as a
//! stage of its own, after `check-exercises`.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::time::Instant;

use anyhow::Result;

use super::check_exercises::{
    build_problem, copy, exercise_rows, reference_files, row, write_with_stubs,
};
use crate::chapter::{self, Chapter};
use crate::checks::{self, RunOptions};
use crate::steps::Step;
use crate::{Course, Verdict, files};

/// The table of every step of `course`, or of the one `only` names.
pub fn run(course: &Course, only: Option<&str>, out: &mut dyn Write) -> Result<Verdict> {
    let (copy, steps) = copy(course, only)?;
    if steps.is_empty() {
        writeln!(out, "No steps yet: there are no exercises to count.")?;
        return Ok(Verdict::Pass);
    }
    let mut problems = 0;
    for step in &steps {
        problems += table(&copy, step, out)?;
    }
    if problems == 0 {
        writeln!(
            out,
            "exercise-table: in {} step(s), the count rises after every exercise.",
            steps.len()
        )?;
    } else {
        writeln!(out, "exercise-table: {problems} problem(s) found.")?;
    }
    Ok(Verdict::from_ok(problems == 0))
}

/// One step's table; returns how many problems it found.
fn table(copy: &Course, step: &Step, out: &mut dyn Write) -> Result<usize> {
    writeln!(out, "{}: {}", step.label(), step.title)?;
    let files = reference_files(copy, step)?;
    let chapter = Chapter::load(copy, step);
    let exercises = chapter::book_order(step, &files, &chapter);
    if exercises.is_empty() {
        writeln!(out, "  no exercises")?;
        return Ok(0);
    }
    let started = Instant::now();
    let (rows, widths) = exercise_rows(&exercises);
    writeln!(
        out,
        "  The checks passing after each exercise, in the order of {}:",
        chapter.path
    )?;
    writeln!(out, "{}", row(widths, "after", "region", "passing"))?;
    out.flush()?;
    let mut problems = Vec::new();
    let mut before: Option<usize> = None;
    let book = book_counts(
        &fs::read_to_string(copy.root().join("book/src").join(&step.chapter)).unwrap_or_default(),
    );
    let result = (|| -> Result<()> {
        for k in 0..=exercises.len() {
            write_with_stubs(step, &files, |id| {
                exercises
                    .iter()
                    .position(|e| e.id == id)
                    .is_some_and(|at| at >= k)
            })?;
            let report = checks::run(copy, step, RunOptions::default())?;
            let (id, place) = match k {
                0 => ("(start)".to_string(), String::new()),
                _ => rows[k - 1].clone(),
            };
            let count = format!("{}/{}", report.passed(), report.total());
            writeln!(out, "{}", row(widths, &id, &place, &count))?;
            out.flush()?;
            let what = match k {
                0 => "every exercise stubbed".to_string(),
                _ => format!(
                    "EXERCISE({id}) at {} and the ones before it written",
                    exercises[k - 1].location(copy, step)
                ),
            };
            if k > 0 && report.skipped() == 0 && !book.is_empty() {
                match book.get(&exercises[k - 1].id) {
                    Some(said) if *said != count => problems.push(format!(
                        "the table of {} says {said} after EXERCISE({id}); the checks say {count}: update it",
                        chapter.path
                    )),
                    Some(_) => {}
                    None => problems.push(format!(
                        "the table of {} has no row for EXERCISE({id}); the checks say {count}: add it",
                        chapter.path
                    )),
                }
            }
            if let Some(problem) = build_problem(&report, &what) {
                problems.push(problem);
            } else if let Some(previous) = before
                && report.passed() <= previous
            {
                problems.push(format!(
                    "EXERCISE({id}) at {}: the count does not rise after it ({previous} before, {} after)",
                    exercises[k - 1].location(copy, step),
                    report.passed()
                ));
            }
            before = Some(report.passed());
        }
        Ok(())
    })();
    for file in &files {
        files::write(&step.dir.join(&file.path), &file.reference)?;
    }
    result?;
    super::check_exercises::verdict(
        "the count rises after every exercise",
        &problems,
        exercises.len() + 1,
        started,
        out,
    )
}

/// The counts a chapter's "In what order" table gives: exercise id to
/// `passed/total`, from its rows `| \`id\` | 7/42 |`.
fn book_counts(chapter: &str) -> HashMap<String, String> {
    chapter
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let [_, id, count, _] = cells[..] else {
                return None;
            };
            let id = id.strip_prefix('`')?.strip_suffix('`')?;
            let (passed, total) = count.split_once('/')?;
            let numeric = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
            (numeric(passed) && numeric(total)).then(|| (id.to_string(), count.to_string()))
        })
        .collect()
}
