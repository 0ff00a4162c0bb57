//! `hint step-N [--more]`: graduated hints for the first unfinished
//! exercise of a step, never its solution.
//!
//! The first unfinished exercise, in the book's order, is the first whose
//! region is still the stub, or where a check that failed in the last
//! `just test step-N` stopped (see [`crate::owners`]). Its hints come from its
//! region's comments ([`crate::regions::guidance`]): `hint` shows the
//! `// HINT:` lines, `hint --more` the `// HINT+:` lines too. An exercise
//! without hints gets its instructions again, and every answer ends with the
//! book section that explains the exercise.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;

use anyhow::Result;

use crate::chapter::{self, Chapter, Exercise};
use crate::owners::Memory;
use crate::steps::Step;
use crate::{Course, Verdict, exercises, regions};

pub fn run(course: &Course, name: &str, more: bool, out: &mut dyn Write) -> Result<Verdict> {
    let step = course.step(name)?;
    writeln!(out, "{}: {}", step.label(), step.title)?;
    let files = exercises::load(course, &step)?;
    if files.is_empty() {
        writeln!(out, "{} has no exercises.", step.label())?;
        return Ok(Verdict::Pass);
    }
    let chapter = Chapter::load(course, &step);
    let exercises = chapter::book_order(&step, &files, &chapter);
    let memory = Memory::load(course, &step);
    let failing: BTreeSet<&str> = memory
        .failing
        .iter()
        .filter_map(|check| memory.failing_at(check))
        .map(String::as_str)
        .collect();
    let first = exercises.iter().find_map(|exercise| {
        if stubbed_now(&step, exercise) {
            Some((exercise, "its region is still a todo!()".to_string()))
        } else if failing.contains(exercise.id.as_str()) {
            let check = memory
                .failing
                .iter()
                .find(|c| memory.failing_at(c) == Some(&exercise.id))
                .map(String::as_str)
                .unwrap_or("");
            Some((
                exercise,
                format!("{check} failed in your last `just test {}`", step.arg()),
            ))
        } else {
            None
        }
    });
    let Some((exercise, why)) = first else {
        writeln!(
            out,
            "Every exercise of {} is written, and none failed in your last run: `just test {}` says whether they pass.",
            step.label(),
            step.arg()
        )?;
        return Ok(Verdict::Pass);
    };
    let reference = files
        .iter()
        .find(|f| f.path == exercise.file)
        .map(|f| f.reference.as_str())
        .unwrap_or("");
    let guidance = regions::guidance(reference, &exercise.region);
    writeln!(
        out,
        "The first unfinished exercise is {} ({why}):",
        exercise.id
    )?;
    writeln!(
        out,
        "  EXERCISE({}) at {}: {}",
        exercise.id,
        super::test::working_location(course, &step, exercise),
        exercise.region.summary
    )?;
    let has_hints = !guidance.hint.is_empty() || !guidance.more.is_empty();
    if !has_hints {
        writeln!(out, "It has no hints; its instructions say:")?;
        lines(out, &guidance.instructions)?;
    } else {
        if !guidance.hint.is_empty() {
            writeln!(out, "Hint:")?;
            lines(out, &guidance.hint)?;
        }
        if more && !guidance.more.is_empty() {
            writeln!(out, "A bigger hint:")?;
            lines(out, &guidance.more)?;
        } else if more {
            writeln!(
                out,
                "There is no bigger hint for this one; its instructions say:"
            )?;
            lines(out, &guidance.instructions)?;
        } else if !guidance.more.is_empty() {
            writeln!(
                out,
                "Still stuck? `just hint {} --more` gives a bigger hint.",
                step.arg()
            )?;
        }
    }
    writeln!(out, "Read: {}", exercise.section)?;
    Ok(Verdict::Pass)
}

fn lines(out: &mut dyn Write, lines: &[String]) -> Result<()> {
    for line in lines {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

/// Whether the learner's file still holds the stub of `exercise`.
fn stubbed_now(step: &Step, exercise: &Exercise) -> bool {
    let Ok(text) = fs::read_to_string(step.dir.join(&exercise.file)) else {
        return false;
    };
    regions::parse(&exercise.file, &text)
        .ok()
        .and_then(|regions| regions.into_iter().find(|r| r.id == exercise.id))
        .is_some_and(|region| region.is_stubbed(&text))
}
