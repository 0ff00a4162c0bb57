//! Writing into the read-only directories of lower layers, without root.
//!
//! Root writes into a `0555` directory whatever its mode says; a normal user
//! cannot. Images based on Fedora and its kin ship `/usr/bin`, `/usr/lib`
//! and others as `0555`, so the layer that installs a package into them
//! would fail for anyone pulling without root. A directory this layer
//! creates is no problem: it is made `0700` and gets its mode when the layer
//! is done (`metadata`). For the lower layers' directories, a pull without
//! root does what rootless tools do:
//!
//! - before an entry is applied, every directory above it is made `u+rwx`
//!   ([`OpenedDirectories::open_parents`]), and its mode is remembered with
//!   the layer's own pending directories; when the layer is done, all of
//!   them get their modes deepest first, and where this layer lists the same
//!   directory, its own mode wins;
//! - a directory tree about to be deleted (by a whiteout, an opaque marker,
//!   or an entry that replaces it) is made `u+rwx` throughout first
//!   ([`open_tree`]), since emptying a directory needs write permission on it.

use std::collections::HashSet;
use std::fs::{self, Permissions};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::metadata::PendingDirectories;

/// What we need on a directory to create, delete and look up its entries.
const OWNER_ALL: u32 = 0o700;

/// The lower layers' directories known to be open to us in this layer.
#[derive(Debug, Default)]
pub(super) struct OpenedDirectories {
    checked: HashSet<PathBuf>,
}

impl OpenedDirectories {
    /// Makes every existing directory between `root` (exclusive) and
    /// `path` (exclusive) open to us, and remembers in `pending` the mode to
    /// give each back. `path` is `root` and plain names (no `.` or `..`);
    /// the walk goes down from the root and stops at the first component
    /// that is not a real directory, so it never follows a symlink.
    pub(super) fn open_parents(
        &mut self,
        root: &Path,
        path: &Path,
        pending: &mut PendingDirectories,
    ) -> io::Result<()> {
        let mut unchecked = Vec::new();
        let mut dir = path.parent();
        while let Some(parent) = dir {
            if parent == root || !parent.starts_with(root) || self.checked.contains(parent) {
                break;
            }
            unchecked.push(parent);
            dir = parent.parent();
        }
        for dir in unchecked.into_iter().rev() {
            let meta = match fs::symlink_metadata(dir) {
                Ok(meta) if meta.is_dir() => meta,
                // Missing directories are created open; anything else makes
                // the entry fail as it would have.
                Ok(_) => return Ok(()),
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(error) => return Err(error),
            };
            let mode = meta.mode() & 0o7777;
            if mode & OWNER_ALL != OWNER_ALL {
                pending.remember_to_restore(dir, &meta);
                fs::set_permissions(dir, Permissions::from_mode(mode | OWNER_ALL))?;
            }
            self.checked.insert(dir.to_path_buf());
        }
        Ok(())
    }
}

/// Makes the directory tree at `path`, if there is one, open to us
/// throughout, so that it can be deleted. Symlinks are not followed: only
/// real directories under `path` are changed.
pub(crate) fn open_tree(path: &Path) -> io::Result<()> {
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let meta = match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => meta,
            Ok(_) => continue,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        let mode = meta.mode() & 0o7777;
        if mode & OWNER_ALL != OWNER_ALL {
            fs::set_permissions(&dir, Permissions::from_mode(mode | OWNER_ALL))?;
        }
        for child in fs::read_dir(&dir)? {
            let child = child?;
            if child.file_type()?.is_dir() {
                stack.push(child.path());
            }
        }
    }
    Ok(())
}
