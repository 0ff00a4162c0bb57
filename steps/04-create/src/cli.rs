//! Step 04's part of the `dockerless` command line: `create`.

use crate::create::{CreateOptions, create};
use crate::error::Result;
use crate::rootfs::{BinarySpec, parse_add};
use std::io::Write;
use step_01_registry::Reference;
use step_02_layers::cli::StoreArgs;
use step_03_push::image::Format;

/// Make an image from this machine's programs and the libraries they need.
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = "Examples:\n  \
    dockerless create me/tools:v1 --bin bash --bin /usr/bin/ls\n  \
    dockerless create me/app --bin ./server --add ./static:/srv/static\n\n\
    A name is looked up in PATH; a path is taken as it is. The image runs the\n\
    first binary by default. Then: dockerless push me/tools:v1")]
pub struct CreateArgs {
    /// The image to create: NAME[:TAG]
    pub image: String,
    /// A program to put in the image, with every shared library it needs
    #[arg(long = "bin", value_name = "NAME|PATH", required = true)]
    pub binaries: Vec<String>,
    /// Also copy a file or directory into the image
    #[arg(long = "add", value_name = "SRC:DEST")]
    pub adds: Vec<String>,
    /// Manifest format
    #[arg(long, value_enum, default_value_t = Format::Docker)]
    pub format: Format,
    /// Print nothing but errors
    #[arg(short, long)]
    pub quiet: bool,
}

/// `dockerless create`.
pub fn create_command(args: &CreateArgs, store: &StoreArgs, out: &mut dyn Write) -> Result<()> {
    let reference = Reference::parse(&args.image).map_err(step_03_push::Error::from)?;
    let options = CreateOptions {
        binaries: args
            .binaries
            .iter()
            .map(|b| BinarySpec::from(b.as_str()))
            .collect(),
        adds: args
            .adds
            .iter()
            .map(|a| parse_add(a))
            .collect::<Result<_>>()?,
        format: args.format,
    };
    let store = store.open()?;
    let created = create(&store, &reference, &options)?;
    if !args.quiet {
        let libraries: usize = created
            .built
            .binaries
            .iter()
            .map(|b| b.libraries.len())
            .sum();
        writeln!(
            out,
            "Created {reference} ({} binaries, {libraries} libraries, {} files)\n  runs   {:?}\n  digest {}\n  into   {}",
            created.built.binaries.len(),
            created.built.files.len(),
            created.built.default_command,
            created.digest,
            created.path.display()
        )
        .ok();
    }
    Ok(())
}
