//! A cheap fingerprint of a root filesystem: has anything changed since the
//! image was pulled?
//!
//! It hashes every entry's name, type, mode, owner, size, modification and
//! change times, inode number and link target, but not file contents:
//! editing, adding, removing or renaming anything changes a size, a time or
//! an inode (a directory's times change when its entries do). Modification
//! times can be set back (`cp -p`, `touch -r`); change times cannot. So this
//! catches what a user does to an image while reading only metadata. `push`
//! compares it to decide whether an image can go back as it was pulled, blob
//! for blob, or needs a new layer; `pull`, whether a stored image is up to date.

use crate::error::{Error, Result};
use sha2::{Digest as _, Sha256};
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use step_01_registry::workers;

/// `sha256:<hex>` over the metadata of everything under `root` (not `root` itself).
///
/// The trees under the root's directories are walked in parallel (this
/// runs on every push and every pull of a stored image, over thousands of
/// files); each gives a hash, and the root's hash takes them in name order,
/// so the result does not depend on which thread finished first.
pub fn fingerprint(root: &Path) -> Result<String> {
    let top = sorted_entries(root)?;
    let subtrees: Vec<&PathBuf> = top
        .iter()
        .filter(|(_, meta)| meta.is_dir())
        .map(|(path, _)| path)
        .collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut hashes = workers::try_map(&subtrees, threads, |dir| hash_tree(root, dir))?.into_iter();
    let mut hasher = Sha256::new();
    for (path, meta) in &top {
        hash_entry(&mut hasher, root, path, meta)?;
        if meta.is_dir() {
            hasher.update(hashes.next().expect("one hash per directory"));
        }
    }
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

/// The hash of everything under `dir`, depth first, in name order.
fn hash_tree(root: &Path, dir: &Path) -> Result<Vec<u8>> {
    let mut hasher = Sha256::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for (path, meta) in sorted_entries(&dir)? {
            hash_entry(&mut hasher, root, &path, &meta)?;
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    Ok(hasher.finalize().to_vec())
}

/// The entries of `dir` with their metadata (links not followed), by name.
fn sorted_entries(dir: &Path) -> Result<Vec<(PathBuf, Metadata)>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<std::io::Result<_>>()
        .map_err(io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    entries
        .into_iter()
        .map(|entry| {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
            Ok((path, meta))
        })
        .collect()
}

/// One entry's name, metadata and (for a symlink) target.
fn hash_entry(hasher: &mut Sha256, root: &Path, path: &Path, meta: &Metadata) -> Result<()> {
    let relative = path.strip_prefix(root).expect("under the root");
    hasher.update(relative.as_os_str().as_bytes());
    let line = format!(
        "\0{:o} {}:{} {} {}.{} {}.{} {}\0",
        meta.mode(),
        meta.uid(),
        meta.gid(),
        if meta.is_dir() { 0 } else { meta.size() },
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
        meta.ino()
    );
    hasher.update(line.as_bytes());
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        hasher.update(target.as_os_str().as_bytes());
    }
    Ok(())
}
