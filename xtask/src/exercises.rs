//! A step's exercise files and the saved copies of their reference.
//!
//! `start` saves every file that holds a region under
//! `.workshop/reference/<package>/<path in the step>` before it stubs the
//! regions. From then on the saved copy is the reference: it survives the
//! learner's commits, and `solution` diffs against it and restores from it.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::regions::{self, Region};
use crate::steps::Step;
use crate::{Course, files};

/// A file of a step that holds exercise regions.
#[derive(Debug, Clone)]
pub struct ExerciseFile {
    /// The path inside the step (`src/lib.rs`).
    pub path: PathBuf,
    /// The reference text: the saved copy if there is one, else the file.
    pub reference: String,
    /// The regions of the reference text.
    pub regions: Vec<Region>,
    /// Whether the reference comes from a saved copy.
    pub saved: bool,
}

impl ExerciseFile {
    /// The reference with every region stubbed.
    pub fn stubbed(&self, step: &Step) -> String {
        regions::stub(&self.reference, &self.regions, step.number)
    }

    /// The reference with the regions `stub` picks (by id) stubbed, and
    /// the others' solutions kept.
    pub fn stubbed_where(&self, step: &Step, stub: impl Fn(&str) -> bool) -> String {
        regions::replace_bodies(&self.reference, &self.regions, |region| {
            if stub(&region.id) {
                region.stub_line(step.number)
            } else {
                region.body(&self.reference).to_string()
            }
        })
    }
}

/// Where `start` saves the reference files of `step`.
pub fn reference_dir(course: &Course, step: &Step) -> PathBuf {
    course.state_dir().join("reference").join(&step.package)
}

/// The files of `step` that hold exercise regions, in path order, with
/// their reference text.
pub fn load(course: &Course, step: &Step) -> Result<Vec<ExerciseFile>> {
    let saved_dir = reference_dir(course, step);
    let mut paths = BTreeSet::new();
    for dir in [&step.dir, &saved_dir] {
        for file in files::with_extension(&dir.join("src"), "rs")? {
            paths.insert(file.strip_prefix(dir).unwrap_or(&file).to_path_buf());
        }
    }
    let step_dir = step.dir.strip_prefix(course.root()).unwrap_or(&step.dir);
    let mut files: Vec<ExerciseFile> = Vec::new();
    for path in paths {
        let saved = saved_dir.join(&path);
        let (source, is_saved) = if saved.is_file() {
            (saved, true)
        } else {
            (step.dir.join(&path), false)
        };
        let reference = fs::read_to_string(&source)
            .with_context(|| format!("could not read {}", source.display()))?;
        let shown = source.strip_prefix(course.root()).unwrap_or(&source);
        let regions = regions::parse(shown, &reference)?;
        if regions.is_empty() {
            continue;
        }
        for region in &regions {
            for other in &files {
                if let Some(first) = other.regions.iter().find(|r| r.id == region.id) {
                    bail!(
                        "{}:{}: exercise id `{}` is already used at {}:{}",
                        shown.display(),
                        region.line,
                        region.id,
                        step_dir.join(&other.path).display(),
                        first.line
                    );
                }
            }
        }
        files.push(ExerciseFile {
            path,
            reference,
            regions,
            saved: is_saved,
        });
    }
    Ok(files)
}
