//! `setup`: install what the test suite needs and this machine lacks.

use std::io::Write;
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::tools::{self, Found};
use crate::{Course, Verdict};

/// Installs the missing peer tools with apt (as root) and the missing or
/// mismatched cargo tools with `cargo install`. Without root, prints the
/// apt command to run and fails.
pub fn run(course: &Course, out: &mut dyn Write) -> Result<Verdict> {
    let packages: Vec<&str> = tools::PEERS
        .iter()
        .filter(|peer| peer.needed && !matches!(tools::peer(peer), Found::Ok(_)))
        .map(|peer| peer.package)
        .collect();
    let crates: Vec<_> = tools::CARGO_TOOLS
        .iter()
        .filter(|t| !matches!(tools::cargo_tool(t), Found::Ok(_)))
        .collect();
    if packages.is_empty() && crates.is_empty() {
        writeln!(out, "setup: everything the test suite needs is installed.")?;
        return Ok(Verdict::Pass);
    }

    let mut verdict = Verdict::Pass;
    if !packages.is_empty() {
        let packages = packages.join(" ");
        if tools::is_root() {
            writeln!(out, "setup: installing {packages}")?;
            out.flush()?;
            apt(&["update"])?;
            apt(&["install", "-y"]
                .into_iter()
                .chain(packages.split(' '))
                .collect::<Vec<_>>())?;
        } else {
            writeln!(
                out,
                "setup: these packages are missing and installing them needs root:"
            )?;
            writeln!(
                out,
                "  sudo apt-get update && sudo apt-get install -y {packages}"
            )?;
            verdict = Verdict::Fail;
        }
    }
    for tool in crates {
        writeln!(out, "setup: {}", tool.install_command())?;
        out.flush()?;
        // From outside the workspace, so that its .cargo/config.toml (a host
        // target, static linking) is for this workspace's builds alone.
        let status = course
            .cargo()
            .current_dir(std::env::temp_dir())
            .args([
                "install",
                "--locked",
                &format!("{}@{}", tool.name, tool.version),
            ])
            .status()
            .context("could not run cargo install")?;
        ensure!(status.success(), "`{}` failed", tool.install_command());
    }
    Ok(verdict)
}

/// `apt-get ARGS`, non-interactive, its output streamed.
fn apt(args: &[&str]) -> Result<()> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("could not run apt-get")?;
    ensure!(status.success(), "apt-get {} failed", args.join(" "));
    Ok(())
}
