//! Step 07's part of the `dockerless` command line: `export`.

use crate::error::Result;
use crate::export::{ExportOptions, Output, export, fetch_missing};
use crate::format::Format;
use crate::wsl;
use std::io::Write;
use std::path::Path;
use step_01_registry::Reference;
use step_01_registry::cli::RegistryArgs;
use step_02_layers::cli::StoreArgs;

/// Write a stored image for WSL2 or for other container tools.
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = "Examples:\n  \
    dockerless export alpine -o alpine.tar.gz            a WSL distribution (wsl --import)\n  \
    dockerless export alpine -o alpine.wsl               the same for wsl --install --from-file\n  \
    dockerless export alpine -o alpine.tar               what docker export writes\n  \
    dockerless export alpine -o alpine-oci/ --format oci   an OCI layout (skopeo, umoci)\n  \
    dockerless export alpine -o alpine.docker.tar        for docker load and podman load\n  \
    dockerless export alpine -o - | tar -t               the root filesystem to standard output\n\n\
    The format comes from the name: .tar.gz/.tgz wsl, .wsl wsl-modern, .tar rootfs,\n\
    .oci.tar oci-archive, .docker.tar docker-archive, a directory oci.")]
pub struct ExportArgs {
    /// The stored image: alpine, localhost:5000/me/app:v1
    pub image: String,
    /// Where to write it; `-` is standard output
    #[arg(short, long, value_name = "PATH")]
    pub output: String,
    /// The format (default: from the output's name)
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The WSL distribution's name (default: the repository's last component)
    #[arg(long)]
    pub name: Option<String>,
    /// Replace the output if it exists
    #[arg(long)]
    pub force: bool,
    /// Download the image's layers the blob cache lacks first
    #[arg(long)]
    pub pull: bool,
    /// Print nothing but errors
    #[arg(short, long)]
    pub quiet: bool,
}

/// `dockerless export`: the archive goes to `out` when the output is `-`;
/// what the command says goes to standard error then, else to `out`.
pub fn export_command(
    args: &ExportArgs,
    registry: &RegistryArgs,
    store: &StoreArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let reference = Reference::parse(&args.image)?;
    let store = store.open()?;
    if args.pull {
        let client = registry.client(&reference)?;
        fetch_missing(&client, &store, &reference)?;
    }
    let output = Output::parse(&args.output);
    let options = ExportOptions {
        format: args.format,
        name: args.name.clone(),
        force: args.force,
    };
    let exported = export(&store, &reference, &output, &options, out)?;
    let mut stderr = std::io::stderr().lock();
    let say: &mut dyn Write = match output {
        Output::Stdout => &mut stderr,
        Output::Path(_) => out,
    };
    for warning in &exported.warnings {
        writeln!(say, "warning: {warning}").ok();
    }
    if args.quiet {
        return Ok(());
    }
    let entries = exported
        .written
        .as_ref()
        .map(|w| format!(", {} entries", w.entries))
        .unwrap_or_default();
    writeln!(
        say,
        "Exported {reference} as {}{entries}\n  digest {}\n  to     {}",
        exported.format, exported.digest, args.output
    )
    .ok();
    if let Some(digest) = &exported.oci_digest {
        writeln!(
            say,
            "  the Docker manifest is in OCI form in the layout: {digest}"
        )
        .ok();
    }
    if let Some(written) = &exported.written
        && !written.left_out.is_empty()
    {
        writeln!(say, "  left out {} entries:", written.left_out.len()).ok();
        for (path, reason) in &written.left_out {
            writeln!(say, "    /{}: {reason}", path.display()).ok();
        }
    }
    if exported.format.is_wsl() {
        writeln!(
            say,
            "Import it on Windows (PowerShell, in the directory the file was copied to):\n  {}",
            wsl::import_command(exported.format, &exported.name, Path::new(&args.output))
        )
        .ok();
    }
    Ok(())
}
