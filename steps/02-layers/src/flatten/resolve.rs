//! Turning the names in a layer into paths inside the root filesystem.
//!
//! A layer comes from the network and its names are chosen by whoever built
//! it. Two things stand between a name and a write outside the root:
//!
//! 1. [`clean_name`] reads the name *lexically*: a leading `/` is dropped
//!    (absolute names are relative to the image's root, as tar and Docker
//!    take them), `.` is skipped, and a `..` that climbs above the root is
//!    refused.
//! 2. [`resolve_in_root`] walks the clean name through the directories that
//!    exist on disk. A symbolic link met on the way is followed *as if the
//!    root were `/`*, which is what the link means once the image runs: an
//!    absolute target starts again at the root, `..` stops at the root.
//!
//! The last component is never followed: the caller creates, replaces or
//! deletes it with syscalls that do not follow symbolic links.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// The most symbolic links one resolution follows before it gives up, as
/// Linux does (`MAXSYMLINKS`): a link to itself must not loop forever.
pub const MAX_SYMLINKS: u32 = 40;

/// The name of a layer entry as a clean path relative to the root: no
/// leading `/`, no `.`, no `..`, no empty components.
///
/// The empty path is the root itself (`./` or `/` in a tar). A `..` that
/// would climb above the root is an error; the message says so.
// ANCHOR: clean_name
pub fn clean_name(name: &[u8]) -> Result<PathBuf, &'static str> {
    let mut clean = PathBuf::new();
    for component in Path::new(OsStr::from_bytes(name)).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::ParentDir => {
                if !clean.pop() {
                    return Err("its `..` climbs above the root");
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(clean)
}
// ANCHOR_END: clean_name

// ANCHOR: resolve_in_root
/// The path on disk of `path` (relative to `root`, or absolute meaning
/// relative to it), with every component but the last resolved inside
/// `root`.
///
/// Symbolic links among the leading components are followed the way the
/// image will see them once `root` is its `/`: an absolute target starts
/// over at `root`, a relative one continues from the link's directory, and
/// `..` never climbs above `root`. Components that do not exist yet are
/// kept as they are. The last component is returned unresolved: it is what
/// the caller creates or removes, without following it. An empty `path` is
/// `root` itself.
///
/// Fails with `ELOOP` after [`MAX_SYMLINKS`] links, and with the error of
/// `lstat` or `readlink` if one fails other than with "not found" (such as
/// `ENOTDIR` when a leading component is a file).
pub fn resolve_in_root(root: &Path, path: &Path) -> io::Result<PathBuf> {
    // EXERCISE(resolve-in-root): Resolve a path inside the root, following symlinks as if the root were `/`.
    // Keep a stack of the names still to walk (`components_reversed` gives
    // them last first, `/` and `.` left out) and the resolved path so far,
    // relative to `root`. Pop one name at a time:
    // - `..` pops the resolved path (at the root it stays: never above it);
    // - the last component is appended as it is, never followed;
    // - any other component is looked at with `fs::symlink_metadata` (lstat,
    //   which does not follow). A symlink is read with `fs::read_link`; an
    //   absolute target clears the resolved path, then its components go on
    //   the stack. Count the links: past MAX_SYMLINKS, fail with
    //   `Errno::ELOOP`. Anything else, or "not found", is appended.
    // See book/src/step-02-layers.md#staying-inside-the-root.
    // HINT: A relative symlink target goes on from the link's directory: the link's own name is
    // never appended to the resolved path; only the target's components go on the stack.
    // HINT+: Pop names in a loop. Handle `..` first (`PathBuf::pop` does nothing at the root), so a
    // `..` is never appended. An empty stack after the pop means the last name: append it, stop.
    // Else `lstat` `root` joined with the resolved path and the name: a symlink is counted (past
    // `MAX_SYMLINKS`, fail with `Errno::ELOOP`), an absolute target `clear`s the resolved path, and
    // `components_reversed` of the target `extend`s the stack.
    use nix::errno::Errno;
    use std::fs;
    let mut pending: Vec<OsString> = components_reversed(path);
    let mut resolved = PathBuf::new();
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            resolved.pop();
            continue;
        }
        if pending.is_empty() {
            resolved.push(name);
            break;
        }
        let candidate = root.join(&resolved).join(&name);
        match fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP.into());
                }
                let target = fs::read_link(&candidate)?;
                if target.is_absolute() {
                    resolved.clear();
                }
                pending.extend(components_reversed(&target));
            }
            Ok(_) => resolved.push(name),
            Err(error) if error.kind() == io::ErrorKind::NotFound => resolved.push(name),
            Err(error) => return Err(error),
        }
    }
    Ok(root.join(resolved))
    // END EXERCISE
}
// ANCHOR_END: resolve_in_root

/// The components of `path` that name something (`..` included, `/` and
/// `.` left out), last first, ready to be popped off in order.
pub fn components_reversed(path: &Path) -> Vec<OsString> {
    path.components()
        .rev()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}
