//! A cheap fingerprint of a root filesystem: has anything changed since the
//! image was pulled?
//!
//! It hashes every entry's name, type, mode, owner, size, modification and
//! change times, inode number and link target, but not file contents:
//! editing, adding, removing or renaming anything changes a size, a time or
//! an inode (a directory's times change when its entries do). Modification
//! times can be set back (`cp -p`, `touch -r`); change times cannot. So this
//! catches what a user does to an image while reading only metadata. `push` compares it to decide whether an
//! image can go back as it was pulled, blob for blob, or needs a new layer.

use crate::error::{Error, Result};
use sha2::{Digest as _, Sha256};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// `sha256:<hex>` over the metadata of everything under `root` (not `root` itself).
pub fn fingerprint(root: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let io = |source| Error::Io {
            path: dir.clone(),
            source,
        };
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(io)?
            .collect::<std::io::Result<_>>()
            .map_err(io)?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
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
                let target = std::fs::read_link(&path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                hasher.update(target.as_os_str().as_bytes());
            }
            if meta.is_dir() {
                stack.push(path);
            }
        }
    }
    Ok(format!("sha256:{:x}", hasher.finalize()))
}
