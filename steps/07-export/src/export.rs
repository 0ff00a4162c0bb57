//! `dockerless export`: a stored image written in one of the formats other
//! tools read, streamed from the store to the output.
//!
//! The output appears whole or not at all: it is written under a temporary
//! name beside the output (on the same file system, so the last step is a
//! rename) and put in place only when complete. An error removes the
//! temporary file; an interrupt leaves it, never a half archive at the
//! output's name, and the next export into that directory removes it.

use crate::error::{Error, Result, io_error};
use crate::format::Format;
use crate::gzip::ParallelGzip;
use crate::image::StoredImage;
use crate::layout::{layout_files, write_directory, write_tar};
use crate::rootfs::{Overlay, RootfsOptions, Written, created_time, write_rootfs};
use crate::wsl;
use flate2::Compression;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use step_01_registry::digest::Digest;
use step_01_registry::{Client, Reference};
use step_02_layers::download::fetch_blob;
use step_02_layers::store::Store;

/// Where the export goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    Path(PathBuf),
    /// Standard output (`-o -`).
    Stdout,
}

impl Output {
    pub fn parse(text: &str) -> Output {
        if text == "-" {
            Output::Stdout
        } else {
            Output::Path(PathBuf::from(text))
        }
    }
}

/// How to export.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// The format; `None` takes it from the output's name (standard output: `rootfs`).
    pub format: Option<Format>,
    /// The WSL distribution's name (default: the repository's last component).
    pub name: Option<String>,
    /// Replace an existing output.
    pub force: bool,
}

/// What an export did.
#[derive(Clone, Debug)]
pub struct Exported {
    pub format: Format,
    /// The WSL distribution's name.
    pub name: String,
    /// The manifest's digest.
    pub digest: Digest,
    /// For the layout formats, when the stored manifest was Docker's: the
    /// digest of its OCI form in the layout.
    pub oci_digest: Option<Digest>,
    /// For the root-filesystem formats: entries written and left out.
    pub written: Option<Written>,
    /// What the image lacks for the format (WSL's validator checks).
    pub warnings: Vec<String>,
}

// ANCHOR: export
/// Exports the image stored under `reference` to `output`.
pub fn export(
    store: &Store,
    reference: &Reference,
    output: &Output,
    options: &ExportOptions,
    stdout: &mut dyn Write,
) -> Result<Exported> {
    let format = match (options.format, output) {
        (Some(format), _) => format,
        (None, Output::Path(path)) => Format::from_path(path)?,
        (None, Output::Stdout) => Format::Rootfs,
    };
    if !format.is_stream() && *output == Output::Stdout {
        return Err(Error::NotAStream {
            format: format.name(),
        });
    }
    let image = StoredImage::open(store, reference)?;
    if let Output::Path(path) = output
        && !options.force
        && std::fs::symlink_metadata(path).is_ok()
    {
        return Err(Error::OutputExists { path: path.clone() });
    }
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| wsl::default_name(&reference.repository).to_string());
    let mtime = created_time(&image.config);
    let mut exported = Exported {
        format,
        name: name.clone(),
        digest: image.manifest_descriptor().digest,
        written: None,
        warnings: Vec::new(),
        oci_digest: None,
    };
    if matches!(
        format,
        Format::Oci | Format::OciArchive | Format::DockerArchive
    ) {
        let (_, oci) = image.oci_manifest();
        exported.oci_digest = Some(oci.digest).filter(|d| *d != exported.digest);
    }
    match format {
        Format::Wsl | Format::WslModern | Format::Rootfs => {
            let mut rootfs = RootfsOptions {
                mtime,
                overlay: Overlay::default(),
            };
            if format.is_wsl() {
                exported.warnings = wsl::warnings(&image.rootfs, format, image.user());
            }
            if format == Format::WslModern {
                let uid = image.user().and_then(|u| wsl::user_id(u, &image.rootfs));
                rootfs.overlay.add.insert(
                    wsl::CONF_PATH.into(),
                    wsl::distribution_conf(&name, uid).into_bytes(),
                );
                rootfs.overlay.leave_out.insert(wsl::RESOLV_CONF.into());
            }
            let compress = format.is_wsl();
            let written = write_output(output, options.force, stdout, |out| {
                if compress {
                    let gzip = ParallelGzip::new(out, Compression::default())
                        .map_err(io_error("the gzip stream"))?;
                    let (gzip, written) = write_rootfs(&image.rootfs, &rootfs, gzip)?;
                    gzip.finish().map_err(io_error("the gzip stream"))?;
                    Ok(written)
                } else {
                    Ok(write_rootfs(&image.rootfs, &rootfs, out)?.1)
                }
            })?;
            exported.written = Some(written);
        }
        Format::Oci => {
            let files = layout_files(&image, image.blobs(store)?, false);
            let Output::Path(path) = output else {
                unreachable!("a directory format to standard output was refused above")
            };
            write_directory_output(path, options.force, |dir| write_directory(&files, dir))?;
        }
        Format::OciArchive | Format::DockerArchive => {
            let docker = format == Format::DockerArchive;
            let files = layout_files(&image, image.blobs(store)?, docker);
            write_output(output, options.force, stdout, |out| {
                write_tar(&files, mtime, out).map(drop)
            })?;
        }
    }
    Ok(exported)
}
// ANCHOR_END: export

/// Downloads the blobs of the stored image that the cache lacks (`--pull`).
pub fn fetch_missing(client: &Client, store: &Store, reference: &Reference) -> Result<()> {
    let image = StoredImage::open(store, reference)?;
    for layer in &image.manifest.layers {
        fetch_blob(client, store, &reference.repository, layer, &|_| {})?;
    }
    Ok(())
}

// ANCHOR: write_output
/// Runs `write` on a buffered temporary file beside `output` and renames it
/// into place when it succeeds; for standard output, on standard output.
fn write_output<T>(
    output: &Output,
    force: bool,
    stdout: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    let path = match output {
        Output::Stdout => {
            let mut out = BufWriter::with_capacity(1 << 16, stdout);
            let result = write(&mut out)?;
            out.flush().map_err(io_error("standard output"))?;
            return Ok(result);
        }
        Output::Path(path) => path,
    };
    let dir = parent_of(path);
    clear_abandoned(&dir);
    let file = tempfile::Builder::new()
        .prefix(&temporary_prefix())
        .tempfile_in(&dir)
        .map_err(io_error(&dir))?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let result = write(&mut out)?;
    let file = out
        .into_inner()
        .map_err(|e| io_error(path)(e.into_error()))?;
    file.as_file().sync_all().map_err(io_error(path))?;
    // Temporary files are private; an export is as readable as any file.
    use std::os::unix::fs::PermissionsExt;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(io_error(path))?;
    let persisted = if force {
        file.persist(path)
    } else {
        file.persist_noclobber(path)
    };
    persisted.map_err(|e| match e.error.kind() {
        std::io::ErrorKind::AlreadyExists => Error::OutputExists { path: path.clone() },
        _ => io_error(path)(e.error),
    })?;
    Ok(result)
}
// ANCHOR_END: write_output

/// Fills a temporary directory beside `path` and renames it into place.
fn write_directory_output(
    path: &Path,
    force: bool,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let parent = parent_of(path);
    clear_abandoned(&parent);
    let dir = tempfile::Builder::new()
        .prefix(&temporary_prefix())
        .tempdir_in(&parent)
        .map_err(io_error(&parent))?;
    write(dir.path())?;
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .map_err(io_error(dir.path()))?;
    if force && std::fs::symlink_metadata(path).is_ok() {
        step_02_layers::store::remove_tree(path)?;
    }
    let kept = dir.keep();
    std::fs::rename(&kept, path).map_err(|e| {
        let _ = std::fs::remove_dir_all(&kept);
        io_error(path)(e)
    })
}

/// What every temporary file or directory of an export starts with.
const TEMPORARY: &str = ".dockerless-export-";

/// The prefix of this process's temporary files: with the process id in
/// it, a later export can tell one whose process is gone.
fn temporary_prefix() -> String {
    format!("{TEMPORARY}{}-", std::process::id())
}

/// Removes what interrupted exports (Ctrl-C, a kill) left in `dir`: their
/// process is gone, so nothing will finish or remove them. The output
/// itself was never touched; this only tidies beside it.
fn clear_abandoned(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(TEMPORARY)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = step_02_layers::store::remove_tree(&entry.path());
        }
    }
}

/// The directory an output goes in (`.` for a bare file name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
