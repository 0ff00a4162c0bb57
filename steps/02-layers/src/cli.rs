//! Step 02's part of the `dockerless` command line: `pull` and `images`.

use crate::download::Source;
use crate::error::Result;
use crate::flatten::SkippedAttribute;
use crate::images;
use crate::progress::{Bars, Progress, Silent};
use crate::pull::{self, PullOptions, Pulled};
use crate::store::Store;
use std::io::Write;
use std::path::PathBuf;
use step_01_registry::Reference;
use step_01_registry::cli::RegistryArgs;
use step_01_registry::inspect::human_size;
use step_01_registry::platform::Platform;

/// Where images are stored.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct StoreArgs {
    /// The image store (default: $DOCKER_INTERNALS_HOME, else ~/.docker-internals)
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
}

impl StoreArgs {
    pub fn open(&self) -> Result<Store> {
        Store::open(self.home.as_deref())
    }
}

/// Download an image and flatten its layers into a root filesystem.
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = "Examples:\n  \
    dockerless pull alpine\n  \
    dockerless pull localhost:5000/library/multi --platform linux/arm64\n\n\
    The root filesystem ends up in ~/.docker-internals/<user>/<repo>/<tag>.")]
pub struct PullArgs {
    /// The image: alpine, alpine:3.20, localhost:5000/me/app@sha256:...
    pub image: String,
    /// The platform to choose from a multi-platform image (default: this machine's)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Print nothing but errors
    #[arg(short, long)]
    pub quiet: bool,
    /// Layers to download at once
    #[arg(long, default_value_t = pull::DEFAULT_JOBS, value_name = "N")]
    pub jobs: usize,
}

/// `dockerless pull`.
pub fn pull(
    args: &PullArgs,
    registry: &RegistryArgs,
    store: &StoreArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let reference = Reference::parse(&args.image)?;
    let options = PullOptions {
        platform: args.platform.as_deref().map(Platform::parse).transpose()?,
        jobs: args.jobs,
        ..PullOptions::default()
    };
    let client = registry.client(&reference)?;
    let store = store.open()?;
    let resolved =
        step_01_registry::inspect::resolve(&client, &reference, options.platform.as_ref())?;
    let bars = if args.quiet {
        None
    } else {
        Bars::for_layers(&resolved.image.layers)
    };
    let progress: &dyn Progress = match &bars {
        Some(bars) => bars,
        None => &Silent,
    };
    let pulled = pull::pull_resolved(&client, &store, resolved, &options, progress)?;
    if !args.quiet {
        write!(out, "{}", summary(&reference, &pulled)).ok();
    }
    if let Some(note) = skipped_note(&pulled.skipped_attributes) {
        eprintln!("dockerless: note: {note}");
    }
    Ok(())
}

/// How many skipped attributes a note names; the rest are counted.
const NAMED: usize = 3;

/// The note a pull prints when extended attributes were left out: which,
/// and why (a normal user cannot set file capabilities).
pub fn skipped_note(skipped: &[SkippedAttribute]) -> Option<String> {
    if skipped.is_empty() {
        return None;
    }
    let named: Vec<String> = skipped
        .iter()
        .take(NAMED)
        .map(|s| format!("{} of {} ({})", s.name, s.entry, s.reason))
        .collect();
    let more = skipped.len().saturating_sub(NAMED);
    Some(format!(
        "{} extended attribute{} left out: {}{}",
        skipped.len(),
        if skipped.len() == 1 { " was" } else { "s were" },
        named.join("; "),
        if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        },
    ))
}

/// What `dockerless pull` prints when it is done: the image, and what
/// happened to each of its layers, counted (downloaded, with how many bytes;
/// found in the blob cache; repeated within the image; already present).
pub fn summary(reference: &Reference, pulled: &Pulled) -> String {
    let layers = &pulled.resolved.image.layers;
    let count = |source| pulled.sources.iter().filter(|s| **s == source).count();
    let downloaded: u64 = layers
        .iter()
        .zip(&pulled.sources)
        .filter(|(_, source)| **source == Source::Network)
        .map(|(layer, _)| layer.size)
        .sum();
    let mut parts = Vec::new();
    if count(Source::Network) > 0 {
        parts.push(format!(
            "{} downloaded ({})",
            count(Source::Network),
            human_size(downloaded)
        ));
    }
    if count(Source::Cache) > 0 {
        parts.push(format!("{} from the blob cache", count(Source::Cache)));
    }
    if count(Source::Repeated) > 0 {
        parts.push(format!("{} repeated", count(Source::Repeated)));
    }
    if count(Source::Present) > 0 {
        parts.push(format!("{} already present", count(Source::Present)));
    }
    let layers = format!(
        "{} layer{}{}{}",
        layers.len(),
        if layers.len() == 1 { "" } else { "s" },
        if parts.is_empty() { "" } else { ": " },
        parts.join(", ")
    );
    let digest = &pulled.resolved.manifest.digest;
    let path = pulled.path.display();
    if pulled.up_to_date {
        format!("{reference} is up to date ({layers})\n  digest {digest}\n  in     {path}\n")
    } else {
        format!(
            "Pulled {reference} ({}, {layers})\n  digest {digest}\n  into   {path}\n",
            pulled.resolved.platform()
        )
    }
}

/// List the images in the store.
#[derive(clap::Args, Clone, Debug)]
pub struct ImagesArgs {}

/// `dockerless images`.
pub fn images(_args: &ImagesArgs, store: &StoreArgs, out: &mut dyn Write) -> Result<()> {
    let store = store.open()?;
    let listing = images::list(&store)?;
    write!(out, "{}", images::table(&listing.images)).ok();
    for error in &listing.unreadable {
        eprintln!("dockerless: skipped an image: {error} (remove it, or pull it again)");
    }
    Ok(())
}
