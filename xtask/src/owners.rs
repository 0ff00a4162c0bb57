//! Which exercise a check belongs to.
//!
//! A check belongs to the earliest exercise, in the book's order, that it
//! is known to depend on. The runner learns that from the checks' own
//! failures, without extra runs:
//!
//! - a check that stops at a stub names its exercise in the panic message:
//!   `not yet implemented: step 01, exercise parse-reference: ...`;
//! - a check that fails with a `read: book/src/<chapter>#<anchor>` line
//!   belongs to the first exercise the chapter presents in that section.
//!
//! What a run learns is kept in `.workshop/checks/<package>.json`, with the
//! checks that failed in the last full run, so that a check that passes now
//! still shows under its exercise, `test step-N EXERCISE` can run just its
//! checks (those it owns, and those seen stopping at it once the exercises
//! before it were done), and `hint` knows which exercise is the first unfinished one.
//! Straight after `start`, every check stops at a stub, so the first run
//! maps nearly every check.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::Course;
use crate::chapter::{Chapter, Exercise};
use crate::libtest::{Check, Outcome, Report};
use crate::steps::Step;

/// What the runner remembers of a step's checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// Check name to exercise id.
    pub exercises: BTreeMap<String, String>,
    /// The checks that failed in the last full run.
    pub failing: BTreeSet<String>,
    /// Check name to every exercise it was seen to depend on: a check whose
    /// exercise is done goes on to stop at the next stub on its path.
    #[serde(default)]
    pub reaches: BTreeMap<String, BTreeSet<String>>,
    /// The exercise each failing check of the last full run stopped at, as
    /// far as its failure said.
    #[serde(default)]
    pub last: BTreeMap<String, String>,
}

impl Memory {
    /// The exercise a check that failed in the last full run is to be fixed
    /// in: where its failure stopped, else the exercise it belongs to.
    pub fn failing_at(&self, check: &str) -> Option<&String> {
        self.last.get(check).or_else(|| self.exercises.get(check))
    }

    /// The checks known to test exercise `id`: those it owns, and those
    /// seen stopping at it.
    pub fn checks_of(&self, id: &str) -> BTreeSet<&str> {
        let owned = self
            .exercises
            .iter()
            .filter(|(_, owner)| *owner == id)
            .map(|(check, _)| check.as_str());
        let reaching = self
            .reaches
            .iter()
            .filter(|(_, ids)| ids.contains(id))
            .map(|(check, _)| check.as_str());
        owned.chain(reaching).collect()
    }

    fn path(course: &Course, step: &Step) -> PathBuf {
        course
            .state_dir()
            .join("checks")
            .join(format!("{}.json", step.package))
    }

    /// What is remembered of `step`; nothing if there is no record yet or
    /// it cannot be read (it is only a record, so starting over is harmless).
    pub fn load(course: &Course, step: &Step) -> Memory {
        fs::read(Self::path(course, step))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, course: &Course, step: &Step) -> Result<()> {
        let path = Self::path(course, step);
        let text = serde_json::to_string_pretty(self)? + "\n";
        crate::files::write(&path, &text)
            .with_context(|| format!("could not record the checks in {}", path.display()))
    }

    /// Learns from `run` (this run's owners, see [`this_run`]): each check
    /// keeps the earliest exercise, in `exercises`' order, it was seen with.
    /// With `full`, `report` is every check of the step and `failing` is
    /// replaced by its failures.
    pub fn learn(
        &mut self,
        exercises: &[Exercise],
        run: &BTreeMap<String, String>,
        report: &Report,
        full: bool,
    ) {
        let index = |id: &str| exercises.iter().position(|e| e.id == id);
        for (check, id) in run {
            if index(id).is_some() {
                self.reaches
                    .entry(check.clone())
                    .or_default()
                    .insert(id.clone());
            }
            let earlier = match self.exercises.get(check) {
                Some(known) => index(id) < index(known) || index(known).is_none(),
                None => true,
            };
            if earlier && index(id).is_some() {
                self.exercises.insert(check.clone(), id.clone());
            }
        }
        if full {
            self.last = run.clone();
            self.failing = report
                .checks
                .iter()
                .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
                .map(|c| c.name.clone())
                .collect();
        }
    }
}

/// The exercise this run's output ties `check` to, if any.
pub fn from_failure(
    step: &Step,
    chapter: &Chapter,
    exercises: &[Exercise],
    check: &Check,
) -> Option<String> {
    let Outcome::Failed(panic) = &check.outcome else {
        return None;
    };
    if let Some((number, id)) = crate::diagnose::stub_reached(&panic.message)
        && number == step.number
        && exercises.iter().any(|e| e.id == id)
    {
        return Some(id);
    }
    let Some(read) = panic.read.as_deref() else {
        return from_location(step, exercises, panic.location.as_deref()?);
    };
    let (path, anchor) = read.split_once('#')?;
    if path != chapter.path {
        return None;
    }
    let heading = chapter.heading(anchor)?;
    let end = chapter
        .headings
        .iter()
        .find(|h| h.line > heading.line && h.level <= heading.level)
        .map_or(usize::MAX, |h| h.line);
    exercises
        .iter()
        .find(|e| {
            e.chapter_line
                .is_some_and(|line| (heading.line..end).contains(&line))
        })
        .map(|e| e.id.clone())
}

/// A failure without a book section that panicked in a source file of the
/// step (a unit test's assertion, say) belongs to the first exercise, in
/// the book's order, of that file.
fn from_location(step: &Step, exercises: &[Exercise], location: &str) -> Option<String> {
    let file = location.split(':').next()?;
    let dir = step.dir.file_name()?.to_str()?;
    let inside = file.split_once(&format!("{dir}/"))?.1;
    exercises
        .iter()
        .find(|e| e.file == std::path::Path::new(inside))
        .map(|e| e.id.clone())
}

/// Every check of `report` this run ties to an exercise.
pub fn this_run(
    step: &Step,
    chapter: &Chapter,
    exercises: &[Exercise],
    report: &Report,
) -> BTreeMap<String, String> {
    report
        .checks
        .iter()
        .filter_map(|check| {
            from_failure(step, chapter, exercises, check).map(|id| (check.name.clone(), id))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::ExerciseFile;
    use crate::libtest::Panic;
    use crate::regions;
    use std::path::{Path, PathBuf};

    const LIB: &str = "\
pub fn a() -> i32 {
    // EXERCISE(first): First.
    1
    // END EXERCISE
}
pub fn b() -> i32 {
    // EXERCISE(second): Second.
    2
    // END EXERCISE
}
";

    const CHAPTER: &str = "\
# Step 01
## Basics
### Exercise `second`
## More
### Details
### Exercise `first`
";

    fn setup() -> (Step, Chapter, Vec<Exercise>) {
        let step = Step {
            number: 1,
            package: "step-01-x".into(),
            dir: PathBuf::from("/course/steps/01-x"),
            title: "X".into(),
            chapter: "c.md".into(),
            needs_root: false,
        };
        let chapter = Chapter::parse("book/src/c.md", Path::new("/course/book/src"), CHAPTER);
        let files = [ExerciseFile {
            path: PathBuf::from("src/lib.rs"),
            reference: LIB.to_string(),
            regions: regions::parse(Path::new("src/lib.rs"), LIB).unwrap(),
            saved: false,
        }];
        let exercises = crate::chapter::book_order(&step, &files, &chapter);
        (step, chapter, exercises)
    }

    fn failed(message: &str, read: Option<&str>, location: Option<&str>) -> Check {
        Check {
            name: "t::check".into(),
            outcome: Outcome::Failed(Panic {
                message: message.into(),
                read: read.map(str::to_string),
                location: location.map(str::to_string),
                snapshot: None,
            }),
        }
    }

    #[test]
    fn a_failure_names_its_exercise_by_stub_section_or_file() {
        let (step, chapter, exercises) = setup();
        let owner = |check: &Check| from_failure(&step, &chapter, &exercises, check);
        assert_eq!(
            owner(&failed(
                "not yet implemented: step 01, exercise first: First.",
                None,
                None
            )),
            Some("first".into())
        );
        // Another step's stub is not this step's exercise.
        assert_eq!(
            owner(&failed(
                "not yet implemented: step 02, exercise first: First.",
                None,
                None
            )),
            None
        );
        // A section holds the exercises up to the next heading of its level.
        assert_eq!(
            owner(&failed("expected: 1", Some("book/src/c.md#more"), None)),
            Some("first".into())
        );
        assert_eq!(
            owner(&failed("expected: 1", Some("book/src/c.md#basics"), None)),
            Some("second".into())
        );
        assert_eq!(
            owner(&failed("expected: 1", Some("book/src/c.md#details"), None)),
            None
        );
        // A unit test's assertion in src/lib.rs: that file's first exercise.
        assert_eq!(
            owner(&failed(
                "assertion failed",
                None,
                Some("steps/01-x/src/lib.rs:30:9")
            )),
            Some("second".into())
        );
    }

    #[test]
    fn memory_keeps_the_earliest_exercise_and_the_last_failures() {
        let (_, _, exercises) = setup();
        let mut memory = Memory::default();
        let report = Report {
            checks: vec![failed("x", None, None)],
            ..Report::default()
        };
        let run = |id: &str| BTreeMap::from([("t::check".to_string(), id.to_string())]);
        memory.learn(&exercises, &run("first"), &report, true);
        memory.learn(&exercises, &run("second"), &report, false);
        memory.learn(&exercises, &run("first"), &report, false);
        assert_eq!(memory.exercises["t::check"], "second");
        assert_eq!(memory.checks_of("first"), BTreeSet::from(["t::check"]));
        // It belongs to `second`, but the last full run saw it stop at `first`.
        assert_eq!(
            memory.failing_at("t::check").map(String::as_str),
            Some("first")
        );
        assert!(memory.failing.contains("t::check"));
        memory.learn(&exercises, &BTreeMap::new(), &Report::default(), true);
        assert!(memory.failing.is_empty());
    }
}
