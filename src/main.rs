//! `dockerless`: pull, push, create, run and export container images with no
//! daemon. Each subcommand comes from the course step that teaches it.

mod exit_code;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use step_01_registry::cli::{InspectArgs, RegistryArgs};
use step_02_layers::cli::{ImagesArgs, PullArgs, StoreArgs};
use step_03_push::cli::PushArgs;
use step_04_create::cli::CreateArgs;
use step_05_chroot::cli::ChrootArgs;
use step_06_namespaces::cli::NsArgs;
use step_07_export::cli::ExportArgs;
use step_08_isolation::cli::RunArgs;

#[derive(Parser)]
#[command(
    name = "dockerless",
    version,
    about = "Container images without a daemon: the tool built by Docker Internals in Rust",
    after_help = "Examples:\n  \
        dockerless inspect alpine\n  \
        dockerless inspect localhost:5000/library/hello -v\n  \
        dockerless pull alpine:3.20\n  \
        dockerless images\n  \
        dockerless push localhost:5000/me/app:v1 --from ./rootfs\n  \
        dockerless create me/tools:v1 --bin bash --bin ls\n  \
        dockerless chroot alpine cat /etc/os-release\n  \
        dockerless run -it alpine sh\n  \
        dockerless ns\n  \
        dockerless export alpine -o alpine.tar.gz\n\n\
        Credentials come from DOCKER_USERNAME and DOCKER_PASSWORD (sent to whichever\n\
        registry you name, and its token service), else ~/.docker/config.json.\n\
        Exit codes: 0 done, 1 other failure, 2 usage, 3 not found, 4 access refused,\n\
        5 integrity (a digest did not match, a hostile layer), 6 network."
)]
struct Cli {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show an image's manifest, platform, layers and default command (step 01)
    Inspect(InspectArgs),
    /// Download an image and flatten it into a root filesystem (step 02)
    Pull(PullArgs),
    /// List the images in the store (step 02)
    Images(ImagesArgs),
    /// Upload an image to a registry (step 03)
    Push(PushArgs),
    /// Make an image from this machine's programs and their libraries (step 04)
    Create(CreateArgs),
    /// Run a program from an image in a plain chroot (step 05)
    Chroot(ChrootArgs),
    /// Run a program from an image in a container: namespaces (step 06), limits and privileges (step 08)
    Run(RunArgs),
    /// List namespaces like lsns: every process's, or one's (step 06)
    Ns(NsArgs),
    /// Write a stored image for WSL2, or as an OCI layout or docker-archive (step 07)
    Export(ExportArgs),
}

/// Runs the command; the exit code for commands that run a program (its
/// own), or 0.
fn run(cli: Cli) -> Result<u8> {
    let stdout = &mut std::io::stdout().lock();
    match &cli.command {
        Command::Inspect(args) => step_01_registry::cli::inspect(args, &cli.registry, stdout)?,
        Command::Pull(args) => step_02_layers::cli::pull(args, &cli.registry, &cli.store, stdout)?,
        Command::Images(args) => step_02_layers::cli::images(args, &cli.store, stdout)?,
        Command::Push(args) => step_03_push::cli::push(args, &cli.registry, &cli.store, stdout)?,
        Command::Create(args) => step_04_create::cli::create_command(args, &cli.store, stdout)?,
        Command::Chroot(args) => {
            return Ok(exit_code::of_program(step_05_chroot::cli::chroot_command(
                args, &cli.store,
            )?));
        }
        Command::Run(args) => {
            return Ok(exit_code::of_program(step_08_isolation::cli::run_command(
                args,
                &cli.registry,
                &cli.store,
            )?));
        }
        Command::Ns(args) => step_06_namespaces::cli::ns_command(args, stdout)?,
        Command::Export(args) => {
            step_07_export::cli::export_command(args, &cli.registry, &cli.store, stdout)?
        }
    }
    Ok(0)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("dockerless: {error}");
            ExitCode::from(exit_code::of(&error))
        }
    }
}
