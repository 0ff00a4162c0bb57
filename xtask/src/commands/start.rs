//! `start step-N [--core] [--force]`: turn a step's exercise regions into
//! `todo!()`s; with `--core`, only the core path's, the deep dives staying
//! written (the one-day workshop's way through the course).

use std::fs;
use std::io::Write;

use anyhow::{Result, bail};

use crate::chapter::{self, Chapter};
use crate::commands::test::Path;
use crate::exercises::{self, ExerciseFile};
use crate::{Course, Verdict, files};

/// What a file holds now, compared with its reference and its stub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The reference: stub it.
    Reference,
    /// Already the stub: leave it (so `start` can run twice).
    Stubbed,
    /// Neither: the learner's work, which only `--force` overwrites.
    Changed,
}

/// Stubs every region of the step named `name` (on `Path::Core`, every
/// region but the deep dives), after saving the reference.
///
/// Nothing is written unless every file can be: if one holds the learner's
/// changes and `force` is off, `start` stops before touching any.
pub fn run(
    course: &Course,
    name: &str,
    path: Path,
    force: bool,
    out: &mut dyn Write,
) -> Result<Verdict> {
    let step = course.step(name)?;
    let files = exercises::load(course, &step)?;
    writeln!(out, "{}: {}", step.label(), step.title)?;
    if files.is_empty() {
        writeln!(out, "{} has no exercises: nothing to start.", step.label())?;
        return Ok(Verdict::Pass);
    }
    let deep_dives: Vec<String> = match path {
        Path::Whole => Vec::new(),
        Path::Core => chapter::book_order(&step, &files, &Chapter::load(course, &step))
            .into_iter()
            .filter(|e| e.deep_dive)
            .map(|e| e.id)
            .collect(),
    };
    let stub = |id: &str| !deep_dives.iter().any(|d| d == id);

    let mut plan = Vec::new();
    for file in &files {
        let current = fs::read_to_string(step.dir.join(&file.path)).ok();
        let stubbed = file.stubbed_where(&step, stub);
        let state = match current.as_deref() {
            Some(text) if text == stubbed => State::Stubbed,
            Some(text) if text == file.reference => State::Reference,
            _ => State::Changed,
        };
        if !file.saved && file.regions.iter().any(|r| r.is_stubbed(&file.reference)) {
            bail!(
                "{}/{} holds stubs but no saved reference ({} is missing); get the reference back with git first",
                step.dir.display(),
                file.path.display(),
                exercises::reference_dir(course, &step)
                    .join(&file.path)
                    .display()
            );
        }
        plan.push((file, stubbed, state));
    }

    let changed: Vec<_> = plan
        .iter()
        .filter(|(_, _, s)| *s == State::Changed)
        .map(|(f, _, _)| f)
        .collect();
    if !changed.is_empty() && !force {
        for file in &changed {
            writeln!(
                out,
                "  keep     {}: it holds changes of yours",
                file.path.display()
            )?;
        }
        writeln!(
            out,
            "Nothing was changed. `just solution {0}` shows your code against the reference; \
             `just start {0} --force` replaces it with the exercises.",
            step.arg()
        )?;
        return Ok(Verdict::Fail);
    }

    let saved_dir = exercises::reference_dir(course, &step);
    for (file, stubbed, state) in &plan {
        save_reference(&saved_dir, file)?;
        let ids = ids_where(file, stub);
        if ids.is_empty() {
            continue;
        }
        match state {
            State::Stubbed => writeln!(
                out,
                "  ready    {}: {ids} (already started)",
                file.path.display()
            )?,
            State::Reference | State::Changed => {
                files::write(&step.dir.join(&file.path), stubbed)?;
                writeln!(out, "  stubbed  {}: {ids}", file.path.display())?;
            }
        }
    }
    let count: usize = files
        .iter()
        .flat_map(|f| &f.regions)
        .filter(|r| stub(&r.id))
        .count();
    writeln!(
        out,
        "{count} exercise(s) to write. The reference is saved in {}; `just solution {}` shows it.",
        saved_dir
            .strip_prefix(course.root())
            .unwrap_or(&saved_dir)
            .display(),
        step.arg()
    )?;
    if !deep_dives.is_empty() {
        writeln!(
            out,
            "The core path: the deep dive(s) {} stay written, as the reference has them.",
            deep_dives.join(", ")
        )?;
    }
    writeln!(
        out,
        "Read {}, then run `just test {}`.",
        step.chapter_path(),
        step.arg()
    )?;
    Ok(Verdict::Pass)
}

/// Saves the reference copy once: the first saved copy is the trustworthy
/// one, the working file may already hold the learner's code.
fn save_reference(saved_dir: &std::path::Path, file: &ExerciseFile) -> Result<()> {
    if file.saved {
        return Ok(());
    }
    files::write(&saved_dir.join(&file.path), &file.reference)
}

/// `parse-line, reverse-words`.
pub(crate) fn ids(file: &ExerciseFile) -> String {
    ids_where(file, |_| true)
}

/// The ids of the regions of `file` that `stub` picks.
fn ids_where(file: &ExerciseFile, stub: impl Fn(&str) -> bool) -> String {
    file.regions
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| stub(id))
        .collect::<Vec<_>>()
        .join(", ")
}
