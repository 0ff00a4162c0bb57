//! `bench`: run the benchmarks.
//!
//! They are the bench targets of the `benches` crate (`benches/benches/`),
//! which compare our tools with the real ones on the same machine and print
//! their own reports (also written to `target/bench/`). One that cannot run
//! here (the start-up benchmark needs root, each one needs its peers) does
//! not keep the others from running.

use anyhow::{Context, Result};

use crate::{Course, Verdict};

pub fn run(course: &Course) -> Result<Verdict> {
    let status = course
        .cargo()
        .args(["bench", "-p", "benches", "--no-fail-fast"])
        .status()
        .context("could not run cargo bench")?;
    Ok(Verdict::from_ok(status.success()))
}
