//! `dockerless`: pull, push, create, run and export container images with no
//! daemon. Each subcommand comes from the course step that teaches it.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use step_01_registry::cli::{InspectArgs, RegistryArgs};

#[derive(Parser)]
#[command(
    name = "dockerless",
    version,
    about = "Container images without a daemon: the tool built by Docker Internals in Rust",
    after_help = "Examples:\n  \
        dockerless inspect alpine\n  \
        dockerless inspect localhost:5000/library/hello -v\n\n\
        Credentials come from DOCKER_USERNAME and DOCKER_PASSWORD, or ~/.docker/config.json."
)]
struct Cli {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show an image's manifest, platform, layers and default command (step 01)
    Inspect(InspectArgs),
}

fn run(cli: Cli) -> Result<()> {
    let stdout = &mut std::io::stdout().lock();
    match &cli.command {
        Command::Inspect(args) => step_01_registry::cli::inspect(args, &cli.registry, stdout)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dockerless: {error:#}");
            ExitCode::FAILURE
        }
    }
}
