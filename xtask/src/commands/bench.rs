//! `bench`: run the benchmarks the steps declare.
//!
//! A step declares a benchmark with a command in its metadata
//! (`bench = ["cargo", "run", "--release", "--example", "pull"]`, run from
//! the step's directory), or with `cargo bench` targets. The benchmarks
//! compare our tools with the real ones on the same machine, so they print
//! their own reports; this command runs them in step order.

use std::io::Write;
use std::process::Command;

use anyhow::{Context, Result};

use crate::{Course, Verdict};

pub fn run(course: &Course, out: &mut dyn Write) -> Result<Verdict> {
    let steps: Vec<_> = course
        .steps()?
        .into_iter()
        .filter(|step| step.bench.is_some() || step.has_bench_targets)
        .collect();
    if steps.is_empty() {
        writeln!(out, "No step declares benchmarks yet.")?;
        return Ok(Verdict::Pass);
    }
    let mut ok = true;
    for step in &steps {
        writeln!(out, "{}: {}", step.label(), step.title)?;
        out.flush()?;
        if let Some([program, args @ ..]) = step.bench.as_deref() {
            let status = Command::new(program)
                .args(args)
                .current_dir(&step.dir)
                .status()
                .with_context(|| format!("could not run {program}"))?;
            ok &= status.success();
        }
        if step.has_bench_targets {
            let status = course
                .cargo()
                .args(["bench", "-p", &step.package])
                .status()
                .context("could not run cargo bench")?;
            ok &= status.success();
        }
    }
    Ok(Verdict::from_ok(ok))
}
