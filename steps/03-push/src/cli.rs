//! Step 03's part of the `dockerless` command line: `push`.

use crate::error::Result;
use crate::image::Format;
use crate::layer::LayerOptions;
use crate::push::{self, PushOptions, PushProgress};
use crate::upload::{Outcome, UploadOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use step_01_registry::Reference;
use step_01_registry::cli::RegistryArgs;
use step_01_registry::digest::Digest;
use step_01_registry::inspect::human_size;
use step_02_layers::cli::StoreArgs;

/// Upload an image to a registry.
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = "Examples:\n  \
    dockerless push me/alpine:latest                 (the image in ~/.docker-internals/me/alpine/latest)\n  \
    dockerless push localhost:5000/me/app:v1 --from ./rootfs\n\n\
    An image pulled and left unchanged goes back as it was pulled (the same\n\
    blobs); a changed directory becomes one new layer, as in the Docker\n\
    Internals write-up.\n\
    Credentials: DOCKER_USERNAME and DOCKER_PASSWORD, or ~/.docker/config.json.")]
pub struct PushArgs {
    /// Where to push: me/app:v1, localhost:5000/me/app:v1
    pub image: String,
    /// Push this directory as the image's root filesystem (default: the stored image)
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// Manifest format of a new image (an unchanged pulled image keeps its own)
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Upload in chunks of this many bytes (PATCH) instead of one request
    #[arg(long, value_name = "BYTES")]
    pub chunk_size: Option<u64>,
    /// Keep files' modification times in a new layer (default: all zero, so the digest is stable)
    #[arg(long)]
    pub keep_mtimes: bool,
    /// Print nothing but errors
    #[arg(short, long)]
    pub quiet: bool,
    /// Blobs to send at once
    #[arg(long, default_value_t = crate::push::DEFAULT_JOBS, value_name = "N")]
    pub jobs: usize,
}

/// One line per blob, on stderr, when it is a terminal.
struct Lines;

impl PushProgress for Lines {
    fn blob(&self, digest: &Digest, size: u64, outcome: Outcome) {
        let what = match outcome {
            Outcome::Present => "already there",
            Outcome::Mounted => "mounted",
            Outcome::Uploaded => "uploaded",
        };
        eprintln!(
            "  {}  {:>9}  {what}",
            &digest.as_str()[..19],
            human_size(size)
        );
    }
}

/// `dockerless push`.
pub fn push(
    args: &PushArgs,
    registry: &RegistryArgs,
    store: &StoreArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let reference = Reference::parse(&args.image)?;
    let client = registry.client(&reference)?;
    let store = store.open()?;
    let options = PushOptions {
        from: args.from.clone(),
        format: args.format,
        upload: UploadOptions {
            chunk_size: args.chunk_size,
        },
        layer: LayerOptions {
            keep_mtimes: args.keep_mtimes,
        },
        jobs: args.jobs,
    };
    let progress: &dyn PushProgress = if !args.quiet && std::io::stderr().is_terminal() {
        &Lines
    } else {
        &()
    };
    let pushed = push::push(&client, &store, &reference, &options, progress)?;
    if !args.quiet {
        let sent = pushed
            .blobs
            .iter()
            .filter(|(_, o)| *o == Outcome::Uploaded)
            .count();
        writeln!(
            out,
            "Pushed {reference} ({} blobs, {sent} uploaded{})\n  digest {}",
            pushed.blobs.len(),
            if pushed.as_stored {
                ", as stored"
            } else {
                ", one new layer"
            },
            pushed.digest
        )
        .ok();
    }
    Ok(())
}
