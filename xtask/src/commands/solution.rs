//! `solution step-N [--restore]`: compare the learner's code with the
//! reference, region by region, or put the reference back.

use std::fs;
use std::io::Write;

use anyhow::Result;
use similar::TextDiff;

use crate::regions::{self, Region};
use crate::{Course, Verdict};
use crate::{exercises, files};

/// Shows, or with `restore` puts back, the reference of the step named `name`.
pub fn run(course: &Course, name: &str, restore: bool, out: &mut dyn Write) -> Result<Verdict> {
    let step = course.step(name)?;
    writeln!(out, "{}: {}", step.label(), step.title)?;
    let files = exercises::load(course, &step)?;
    if files.is_empty() {
        writeln!(out, "{} has no exercises.", step.label())?;
        return Ok(Verdict::Pass);
    }
    if !files.iter().any(|f| f.saved) {
        writeln!(
            out,
            "{} has not been started: its files hold the reference solution. `just start {}` turns them into exercises.",
            step.label(),
            step.arg()
        )?;
        return Ok(Verdict::Pass);
    }
    for file in &files {
        let path = step.dir.join(&file.path);
        let current = fs::read_to_string(&path).unwrap_or_default();
        // The learner's regions, matched to the reference's by id; `None`
        // when the markers no longer line up, and then the whole file counts.
        let learner = regions::parse(&file.path, &current)
            .ok()
            .filter(|regions| same_ids(regions, &file.regions));
        if restore {
            let restored = match &learner {
                Some(regions) => {
                    let mut bodies = file
                        .regions
                        .iter()
                        .map(|r| r.body(&file.reference).to_string());
                    regions::replace_bodies(&current, regions, |_| {
                        bodies.next().unwrap_or_default()
                    })
                }
                None => file.reference.clone(),
            };
            if restored == current {
                writeln!(
                    out,
                    "  same      {}: {}",
                    file.path.display(),
                    super::start::ids(file)
                )?;
            } else {
                // The learner's version is kept: restoring must never lose work.
                let kept = course
                    .state_dir()
                    .join("yours")
                    .join(&step.package)
                    .join(&file.path);
                files::write(&kept, &current)?;
                files::write(&path, &restored)?;
                let how = if learner.is_some() {
                    ""
                } else {
                    " (its markers had changed: the whole file)"
                };
                writeln!(
                    out,
                    "  restored  {}: {}{how}; yours is kept in {}",
                    file.path.display(),
                    super::start::ids(file),
                    kept.strip_prefix(course.root()).unwrap_or(&kept).display()
                )?;
            }
            continue;
        }
        match &learner {
            Some(regions) => {
                for (region, reference) in regions.iter().zip(&file.regions) {
                    let heading =
                        format!("{} ({}:{})", region.id, file.path.display(), region.line);
                    diff(
                        out,
                        &heading,
                        region.body(&current),
                        reference.body(&file.reference),
                    )?;
                }
            }
            None => {
                let heading = format!(
                    "{} (its exercise markers have changed)",
                    file.path.display()
                );
                diff(out, &heading, &current, &file.reference)?;
            }
        }
    }
    if restore {
        writeln!(
            out,
            "The reference is back; `just start {}` stubs it again.",
            step.arg()
        )?;
    }
    Ok(Verdict::Pass)
}

/// Whether the learner's file still has the reference's regions, in order.
fn same_ids(learner: &[Region], reference: &[Region]) -> bool {
    learner.len() == reference.len() && learner.iter().zip(reference).all(|(a, b)| a.id == b.id)
}

/// A unified diff from the learner's text to the reference.
fn diff(out: &mut dyn Write, heading: &str, yours: &str, reference: &str) -> Result<()> {
    if yours == reference {
        writeln!(out, "{heading}: same as the reference")?;
        return Ok(());
    }
    writeln!(out, "{heading}:")?;
    let diff = TextDiff::from_lines(yours, reference);
    write!(
        out,
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .header("yours", "reference")
    )?;
    Ok(())
}
