//! Step 01's part of the `dockerless` command line: `inspect`, and the options
//! every command that talks to a registry shares.

use crate::client::{Client, ClientOptions, Observer};
use crate::credentials::Credentials;
use crate::error::Result;
use crate::inspect;
use crate::platform::Platform;
use crate::reference::Reference;
use std::io::Write;
use std::sync::Arc;

/// Options for every command that talks to a registry.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RegistryArgs {
    /// Use plain HTTP for this registry (localhost and loopback always do)
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Print each HTTP request and its status, as the book shows them
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

impl RegistryArgs {
    /// A client for the registry of `reference`, with the user's credentials.
    pub fn client(&self, reference: &Reference) -> Result<Client> {
        let observer: Option<Observer> = self.verbose.then(|| {
            Arc::new(|exchange: &crate::client::Exchange| eprintln!("{exchange}")) as Observer
        });
        Client::new(
            reference,
            ClientOptions {
                insecure: self.insecure,
                credentials: Credentials::lookup(&reference.registry)?,
                observer,
                ..ClientOptions::default()
            },
        )
    }
}

/// Show an image's manifest, platform, layers and default command.
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = "Examples:\n  \
    dockerless inspect alpine\n  \
    dockerless inspect localhost:5000/library/multi:latest --platform linux/arm64\n  \
    dockerless inspect --raw localhost:5000/library/hello")]
pub struct InspectArgs {
    /// The image: alpine, alpine:3.20, localhost:5000/me/app@sha256:...
    pub image: String,
    /// The platform to choose from a multi-platform image (default: this machine's)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Print the manifest exactly as the registry sent it
    #[arg(long)]
    pub raw: bool,
}

/// `dockerless inspect`.
pub fn inspect(args: &InspectArgs, registry: &RegistryArgs, out: &mut dyn Write) -> Result<()> {
    let reference = Reference::parse(&args.image)?;
    let platform = args.platform.as_deref().map(Platform::parse).transpose()?;
    let client = registry.client(&reference)?;
    if args.raw && platform.is_none() {
        let fetched =
            crate::manifest::fetch(&client, &reference.repository, reference.reference())?;
        out.write_all(&fetched.bytes)
            .and_then(|()| writeln!(out))
            .ok();
        return Ok(());
    }
    let resolved = inspect::resolve(&client, &reference, platform.as_ref())?;
    if args.raw {
        out.write_all(&resolved.manifest.bytes)
            .and_then(|()| writeln!(out))
            .ok();
    } else {
        write!(out, "{resolved}").ok();
    }
    Ok(())
}
