//! Applying layers to a root filesystem.
//!
//! An image is a stack of layers, each a tar of the changes one build step
//! made. Applying them oldest first, each over the result of the ones
//! before, gives the image's root filesystem. [`apply_layer`] applies one;
//! the caller decompresses it ([`crate::decompress`]) and loops.
//!
//! The rules, each in its own module:
//!
//! - names are resolved inside the root, and symlinks are never followed
//!   out of it ([`resolve_in_root`]);
//! - unlink-then-create: what a lower layer left at a path is replaced, a
//!   directory over a directory only changes metadata (`node`);
//! - whiteouts delete from the lower layers, opaque markers hide a
//!   directory's lower children, and neither touches the layer's own
//!   entries (`whiteout`);
//! - owners (only when privileged), modes and times are set with no-follow
//!   syscalls; directories get theirs when the layer is done (`metadata`);
//! - without root, the lower layers' read-only directories are opened for
//!   the layer and closed again when it is done (`read_only`);
//! - extended attributes (file capabilities, `user.*`) are set after the
//!   owner, and those this user or file system cannot take are reported,
//!   not fatal (`xattrs`).

mod layer;
mod metadata;
mod node;
mod read_only;
mod resolve;
mod whiteout;
mod xattrs;

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use nix::unistd::geteuid;

use crate::error::Error;

pub(crate) use read_only::open_tree;
pub use resolve::{MAX_SYMLINKS, clean_name, components_reversed, resolve_in_root};
pub use xattrs::{
    Attributes, Skipped as SkippedAttribute, append_recorded as append_recorded_attributes,
    pax_records, recorded as recorded_attributes,
};

/// How to apply a layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Whether we may set owners and create device nodes: true when running
    /// as root. A normal user keeps every file as its own and skips device
    /// nodes (counted in [`Applied::skipped_devices`]), as rootless tools do.
    pub privileged: bool,
}

impl Options {
    /// Privileged when the effective user is root.
    pub fn detect() -> Options {
        Options {
            privileged: geteuid().is_root(),
        }
    }
}

/// What applying a layer did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Entries written: files, directories, links, FIFOs and device nodes.
    pub entries: u64,
    /// Whiteouts and opaque markers applied.
    pub whiteouts: u64,
    /// Device nodes left out because we are not privileged.
    pub skipped_devices: u64,
    /// Extended attributes left out: not ours to set (a normal user and
    /// `security.capability`), or not stored by this file system.
    pub skipped_attributes: Vec<SkippedAttribute>,
}

/// Applies one layer, an uncompressed tar stream, to the directory `root`.
///
/// Entries are streamed from `layer` straight to disk, one at a time, and
/// the stream is read to its very end, past the tar's end-of-archive
/// blocks, so that a digest computed while reading covers every byte.
///
/// Nothing is ever written, changed or deleted outside `root`. An entry that
/// tries (a `..` climbing out, a hard link target outside) fails the layer
/// with [`Error::Escape`] naming it; absolute names and symlink targets are
/// taken relative to `root`, as they will be when the image runs. On an
/// error the root holds part of the layer: extract into a fresh directory
/// and discard it on failure.
// ANCHOR: apply_layer
pub fn apply_layer(root: &Path, layer: impl Read, options: &Options) -> Result<Applied, Error> {
    let found = fs::metadata(root).map_err(|source| Error::Io {
        path: root.to_path_buf(),
        source,
    })?;
    if !found.is_dir() {
        return Err(Error::Io {
            path: root.to_path_buf(),
            source: io::ErrorKind::NotADirectory.into(),
        });
    }
    let tar = |source| Error::Tar { source };
    let mut archive = tar::Archive::new(layer);
    let mut extraction = layer::Extraction::new(root, options);
    for entry in archive.entries().map_err(tar)? {
        extraction.apply(&mut entry.map_err(tar)?)?;
    }
    let applied = extraction.finish()?;
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(tar)?;
    Ok(applied)
}
// ANCHOR_END: apply_layer
