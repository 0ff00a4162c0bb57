//! Where the course lives and how to run cargo in it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::steps::{self, Step};

/// A course: a cargo workspace whose `steps/` directory holds the steps.
///
/// The runner works on the repository it was built from; the tests point it
/// at a copy of a sample course, with their own cargo and target directory.
#[derive(Debug, Clone)]
pub struct Course {
    root: PathBuf,
    cargo: OsString,
    target_dir: Option<PathBuf>,
    /// Environment variables for every cargo command.
    env: Vec<(String, String)>,
}

impl Course {
    /// The course in `root`, built with the cargo that runs this program
    /// (`$CARGO`, set by `cargo run`) and cargo's usual target directory.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Course {
            root: root.into(),
            cargo: std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
            target_dir: None,
            env: Vec::new(),
        }
    }

    /// The repository this runner belongs to: the parent of `xtask/`. Taken
    /// from the build, not the working directory, so `cargo xtask` works
    /// from any directory of the repository.
    pub fn locate() -> Self {
        let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
        Course::new(xtask.parent().unwrap_or(xtask))
    }

    /// Uses `cargo` instead of `$CARGO`.
    pub fn with_cargo(mut self, cargo: impl Into<OsString>) -> Self {
        self.cargo = cargo.into();
        self
    }

    /// Builds into `dir` (`CARGO_TARGET_DIR`). Tests give each course its
    /// own, so nested builds never wait for the outer build's lock.
    pub fn with_target_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.target_dir = Some(dir.into());
        self
    }

    /// Sets `key` to `value` for every cargo command.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// The workspace root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The same course at another root (a copy of it), built the same way.
    pub fn at(&self, root: impl Into<PathBuf>) -> Self {
        Course {
            root: root.into(),
            ..self.clone()
        }
    }

    /// The target directory `check-exercises` builds in: the one given, else
    /// `target/check-exercises`, apart from the learner's own builds so the
    /// stubbed builds never invalidate them.
    pub fn check_target_dir(&self) -> PathBuf {
        self.target_dir
            .clone()
            .unwrap_or_else(|| self.root.join("target").join("check-exercises"))
    }

    /// `.workshop/`: the learner's state (progress, saved reference files).
    /// Git ignores it.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".workshop")
    }

    /// A `cargo` command run in the workspace root.
    pub fn cargo(&self) -> Command {
        let mut command = Command::new(&self.cargo);
        command.current_dir(&self.root);
        if let Some(dir) = &self.target_dir {
            command.env("CARGO_TARGET_DIR", dir);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// The course's steps, in order.
    pub fn steps(&self) -> Result<Vec<Step>> {
        steps::discover(self)
    }

    /// The step a learner named (`step-1`, `step-01`, `01`, `1`).
    pub fn step(&self, name: &str) -> Result<Step> {
        steps::find(self.steps()?, name)
    }
}
