//! Finding the course's steps.
//!
//! A step is a library crate in `steps/NN-slug/`, a member of the workspace,
//! whose `Cargo.toml` says what the runner needs to know about it:
//!
//! ```toml
//! [package]
//! name = "step-01-registry"
//!
//! [package.metadata.workshop]
//! title = "Talking to a registry"      # shown by `just test`
//! chapter = "step-01-registry.md"      # its chapter, relative to book/src
//! needs = "root"                       # optional: its checks need privileges
//! ```
//!
//! Steps are found with `cargo metadata` (the packages whose manifest sits in
//! `steps/<dir>/`) and ordered by the number `NN` that starts the directory
//! name. The learner names a step by that number: `step-1`, `step-01`, `01`
//! and `1` all mean step 01. The learner's progress is keyed by package name,
//! so renumbering or renaming a directory keeps it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

use crate::Course;

/// One step of the course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `NN` from the directory name.
    pub number: u32,
    /// The cargo package (`step-01-registry`).
    pub package: String,
    /// The step's directory (`<root>/steps/01-registry`).
    pub dir: PathBuf,
    pub title: String,
    /// The chapter, relative to `book/src`.
    pub chapter: String,
    /// Whether its checks need root or a user namespace (`needs = "root"`).
    pub needs_root: bool,
}

impl Step {
    /// `step 01`, as every report names it.
    pub fn label(&self) -> String {
        format!("step {:02}", self.number)
    }

    /// What the learner types to name it: `step-1`.
    pub fn arg(&self) -> String {
        format!("step-{}", self.number)
    }

    /// The chapter as a path from the repository root.
    pub fn chapter_path(&self) -> String {
        workshop::book_section(&self.chapter)
    }
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_root: PathBuf,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    manifest_path: PathBuf,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

/// `[package.metadata.workshop]`. Unknown keys are errors, so a typo does
/// not silently drop a setting.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkshopMetadata {
    title: String,
    chapter: String,
    needs: Option<String>,
}

/// The course's steps, in order.
pub fn discover(course: &Course) -> Result<Vec<Step>> {
    let output = course
        .cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("could not run cargo metadata")?;
    ensure!(
        output.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&output.stderr).trim_end()
    );
    let metadata: Metadata =
        serde_json::from_slice(&output.stdout).context("could not read cargo metadata's output")?;
    from_metadata(metadata)
}

fn from_metadata(metadata: Metadata) -> Result<Vec<Step>> {
    let steps_dir = metadata.workspace_root.join("steps");
    let mut steps = Vec::new();
    for package in metadata.packages {
        let Some(dir) = package.manifest_path.parent() else {
            continue;
        };
        if dir.parent() != Some(&steps_dir) {
            continue;
        }
        steps.push(step(&package, dir)?);
    }
    steps.sort_by_key(|step| step.number);
    for pair in steps.windows(2) {
        ensure!(
            pair[0].number != pair[1].number,
            "{} and {} both claim {}",
            display_dir(&pair[0].dir),
            display_dir(&pair[1].dir),
            pair[0].label()
        );
    }
    Ok(steps)
}

fn step(package: &Package, dir: &Path) -> Result<Step> {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    let number = name
        .split_once('-')
        .filter(|(digits, slug)| !digits.is_empty() && !slug.is_empty())
        .and_then(|(digits, _)| digits.parse::<u32>().ok())
        .with_context(|| {
            format!(
                "{}: a step's directory is named NN-slug, like 01-registry",
                display_dir(dir)
            )
        })?;
    let Some(workshop) = package.metadata.as_ref().and_then(|m| m.get("workshop")) else {
        bail!(
            "{}: a step needs [package.metadata.workshop] with a title and a chapter",
            package.manifest_path.display()
        );
    };
    let workshop = WorkshopMetadata::deserialize(workshop).with_context(|| {
        format!(
            "{}: [package.metadata.workshop]",
            package.manifest_path.display()
        )
    })?;
    let needs_root = match workshop.needs.as_deref() {
        None => false,
        Some("root") => true,
        Some(other) => bail!(
            "{}: needs = {other:?}: the only thing a step can need is \"root\"",
            package.manifest_path.display()
        ),
    };
    Ok(Step {
        number,
        package: package.name.clone(),
        dir: dir.to_path_buf(),
        title: workshop.title.clone(),
        chapter: workshop.chapter.clone(),
        needs_root,
    })
}

/// `steps/01-registry`, for messages.
fn display_dir(dir: &Path) -> String {
    let mut parts = dir.components().rev().take(2).collect::<Vec<_>>();
    parts.reverse();
    parts
        .iter()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The number a learner's step name means: `step-1`, `step-01`, `01`, `1`.
pub fn parse_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("step-").unwrap_or(name);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The step named `name` among `steps`.
pub fn find(steps: Vec<Step>, name: &str) -> Result<Step> {
    let Some(number) = parse_name(name) else {
        bail!("{name:?} is not a step: name one as step-1, step-01, 01 or 1");
    };
    if steps.is_empty() {
        bail!("there is no step {number:02}: the course has no steps yet");
    }
    let known = steps.iter().map(Step::arg).collect::<Vec<_>>().join(", ");
    steps
        .into_iter()
        .find(|step| step.number == number)
        .with_context(|| format!("there is no step {number:02}; the steps are {known}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_has_four_names() {
        for name in ["step-1", "step-01", "01", "1"] {
            assert_eq!(parse_name(name), Some(1), "{name}");
        }
        assert_eq!(parse_name("step-12"), Some(12));
        for name in ["", "step-", "one", "step1", "1a", "-1"] {
            assert_eq!(parse_name(name), None, "{name}");
        }
    }

    fn metadata(json: serde_json::Value) -> Metadata {
        serde_json::from_value(json).unwrap()
    }

    fn package(dir: &str, workshop: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "name": format!("step-{dir}"),
            "manifest_path": format!("/course/steps/{dir}/Cargo.toml"),
            "metadata": { "workshop": workshop },
        })
    }

    #[test]
    fn steps_come_from_packages_under_steps_in_number_order() {
        let steps = from_metadata(metadata(serde_json::json!({
            "workspace_root": "/course",
            "packages": [
                package("10-later", serde_json::json!({ "title": "Later", "chapter": "later.md", "needs": "root" })),
                package("02-two", serde_json::json!({ "title": "Two", "chapter": "two.md" })),
                {
                    "name": "xtask",
                    "manifest_path": "/course/xtask/Cargo.toml",
                    "metadata": null,
                },
            ],
        })))
        .unwrap();
        let names: Vec<_> = steps
            .iter()
            .map(|s| (s.label(), s.package.as_str(), s.needs_root))
            .collect();
        assert_eq!(
            names,
            [
                ("step 02".to_string(), "step-02-two", false),
                ("step 10".to_string(), "step-10-later", true)
            ]
        );
        assert_eq!(steps[0].chapter_path(), "book/src/two.md");
    }

    #[test]
    fn metadata_mistakes_are_named() {
        let bad = |workshop: serde_json::Value| {
            let error = from_metadata(metadata(serde_json::json!({
                "workspace_root": "/course",
                "packages": [package("01-one", workshop)],
            })));
            match error {
                Ok(_) => String::new(),
                Err(error) => format!("{error:#}"),
            }
        };
        assert!(bad(serde_json::json!({ "title": "One" })).contains("chapter"));
        assert!(
            bad(serde_json::json!({ "title": "One", "chapter": "c.md", "needs": "gpu" }))
                .contains("\"root\"")
        );
        assert!(
            bad(serde_json::json!({ "title": "One", "chapter": "c.md", "tittle": "x" }))
                .contains("tittle")
        );
    }

    #[test]
    fn no_steps_is_said_plainly() {
        let error = find(Vec::new(), "step-1").unwrap_err();
        assert_eq!(
            error.to_string(),
            "there is no step 01: the course has no steps yet"
        );
    }
}
