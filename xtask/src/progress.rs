//! The learner's progress: `.workshop/progress.json`.
//!
//! Keyed by package name, not directory, so renumbering or renaming a
//! step's directory keeps its progress. It is a record, not a source of
//! truth: `just test` always runs the checks, and shows how the counts moved
//! since the last run.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::Course;
use crate::libtest::Report;

/// The counts of one step's last run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepProgress {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub total: usize,
}

impl From<&Report> for StepProgress {
    fn from(report: &Report) -> Self {
        StepProgress {
            passed: report.passed(),
            failed: report.failed(),
            skipped: report.skipped(),
            total: report.total(),
        }
    }
}

/// Every step's last run, by package name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Progress {
    pub steps: BTreeMap<String, StepProgress>,
}

impl Progress {
    fn path(course: &Course) -> PathBuf {
        course.state_dir().join("progress.json")
    }

    /// The recorded progress; empty if there is none yet or the file is
    /// unreadable (it only records, so starting over is harmless).
    pub fn load(course: &Course) -> Self {
        fs::read(Self::path(course))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, course: &Course) -> Result<()> {
        let path = Self::path(course);
        let text = serde_json::to_string_pretty(self)? + "\n";
        crate::files::write(&path, &text)
            .with_context(|| format!("could not record progress in {}", path.display()))
    }
}
