//! Placing host files in the new root, at the same path, with the host's
//! symbolic links.
//!
//! A binary names its loader by path (`/lib64/ld-linux-x86-64.so.2`) and a
//! library by soname (`libtinfo.so.6`), and on the host both are often
//! symbolic links: on Debian 12 `/lib64` is a link to `usr/lib64`, the
//! loader there is a link into `/lib/x86_64-linux-gnu`, `/lib` is a link to
//! `usr/lib`, and `libtinfo.so.6` is a link to `libtinfo.so.6.4`. Copying
//! only the files the links end at would leave those paths dangling in
//! the image. So [`mirror`] walks a host path component by component, as
//! the kernel does, and recreates every link it crosses before following
//! it: the image holds the same chain of links and the same file at its end.
//!
//! [`add`] copies a file or a directory tree the user asked for (`--add`)
//! to a path of their choosing, inside the root whatever links the root
//! already holds.

use std::collections::BTreeSet;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use nix::libc::{EOPNOTSUPP, EPERM};
use std::os::unix::ffi::OsStrExt;
pub use step_02_layers::flatten::MAX_SYMLINKS;
use step_02_layers::flatten::{recorded_attributes, resolve_in_root};

use crate::error::{Error, Result, io_error};

/// The paths in the image (absolute, as the image sees them) of the files
/// and symbolic links placed so far.
pub type Placed = BTreeSet<PathBuf>;

// ANCHOR: mirror_path
/// Copies the host file at `host` into `root` at the same absolute path,
/// recreating every symbolic link on the way (in the leading directories
/// and the file itself) and the directories it passes. Returns the real
/// path of the file on the host (every link followed).
///
/// What is already in `root` from an earlier call is kept: binaries share
/// their libraries.
pub fn mirror(host: &Path, root: &Path, placed: &mut Placed) -> Result<PathBuf> {
    let absolute = std::path::absolute(host).map_err(io_error(host))?;
    // EXERCISE(mirror-path): Walk a host path, recreating each symlink and directory in the root.
    // Keep a stack of the names still to walk (`components_reversed`) and
    // the real host directory reached so far, starting at `/`. Pop a name:
    // - `..` goes up one directory;
    // - otherwise look at `current.join(name)` with `fs::symlink_metadata`
    //   (it must not follow links). A symlink: count it (past MAX_SYMLINKS
    //   it is `Error::SymlinkLoop`), `place_symlink` it with the target
    //   `fs::read_link` gives, then walk the target: an absolute one starts
    //   again at `/`, its components go on the stack. A directory:
    //   `place_dir`, and continue inside it. A file: `place_file`.
    // The image path of a host path is `image_path(root, &host_path)`.
    // HINT: Unlike step 02's `resolve_in_root`, the last name is followed too: a soname is often a
    // link, and the file it points to must be copied as well.
    // HINT+: Pop names off the stack; `..` pops `current`. Else look at `current.join(name)` with
    // `fs::symlink_metadata`. A symlink: count it, `read_link`, `place_symlink`, reset `current` to
    // `/` only for an absolute target (a relative one goes on from the link's directory), push the
    // target's components. A directory or a file: place it and make it `current`. At the end
    // `current` is the real host path.
    use step_02_layers::flatten::components_reversed;
    let mut pending = components_reversed(&absolute);
    let mut current = PathBuf::from("/");
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            current.pop();
            continue;
        }
        let host_path = current.join(&name);
        let image = image_path(root, &host_path);
        let meta = fs::symlink_metadata(&host_path).map_err(io_error(&host_path))?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(Error::SymlinkLoop { path: absolute });
            }
            let target = fs::read_link(&host_path).map_err(io_error(&host_path))?;
            place_symlink(&image, &target, &host_path, placed)?;
            if target.is_absolute() {
                current = PathBuf::from("/");
            }
            pending.extend(components_reversed(&target));
        } else if meta.is_dir() {
            place_dir(&image, &meta, &host_path)?;
            current = host_path;
        } else {
            place_file(&image, &host_path, placed)?;
            current = host_path;
        }
    }
    Ok(current)
    // END EXERCISE
}
// ANCHOR_END: mirror_path

/// Where host path `host` (absolute, no links in its directories) goes
/// under `root`.
pub fn image_path(root: &Path, host: &Path) -> PathBuf {
    root.join(host.strip_prefix("/").unwrap_or(host))
}

// ANCHOR: place_symlink
/// Creates the symbolic link `image` -> `target`, the copy of host link
/// `host`, unless the same link is there already.
pub fn place_symlink(image: &Path, target: &Path, host: &Path, placed: &mut Placed) -> Result<()> {
    match fs::symlink_metadata(image) {
        Ok(meta) if meta.file_type().is_symlink() => {
            if fs::read_link(image).map_err(io_error(image))? == target {
                return Ok(());
            }
            Err(conflict(host, host, "a symbolic link to somewhere else"))
        }
        Ok(meta) => Err(conflict(host, host, kind(&meta))),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            symlink(target, image).map_err(io_error(image))?;
            placed.insert(host.to_path_buf());
            Ok(())
        }
        Err(error) => Err(io_error(image)(error)),
    }
}
// ANCHOR_END: place_symlink

/// Creates the directory `image` with the mode of host directory `host`
/// (whose metadata is `meta`), unless it is there already.
pub fn place_dir(image: &Path, meta: &Metadata, host: &Path) -> Result<()> {
    match fs::symlink_metadata(image) {
        Ok(existing) if existing.is_dir() => Ok(()),
        Ok(existing) => Err(conflict(host, host, kind(&existing))),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            fs::create_dir(image).map_err(io_error(image))?;
            let mode = meta.permissions().mode() & 0o7777;
            fs::set_permissions(image, fs::Permissions::from_mode(mode)).map_err(io_error(image))
        }
        Err(error) => Err(io_error(image)(error)),
    }
}

/// Copies host file `host` to `image`, with its mode, unless a file is
/// there already (the same one, copied for an earlier binary).
pub fn place_file(image: &Path, host: &Path, placed: &mut Placed) -> Result<()> {
    match fs::symlink_metadata(image) {
        Ok(existing) if existing.is_file() => Ok(()),
        Ok(existing) => Err(conflict(host, host, kind(&existing))),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            // `fs::copy` copies the permission bits too: binaries stay 0755.
            fs::copy(host, image).map_err(io_error(host))?;
            copy_attributes(host, image)?;
            placed.insert(host.to_path_buf());
            Ok(())
        }
        Err(error) => Err(io_error(image)(error)),
    }
}

/// Copies the extended attributes an image records (file capabilities such
/// as `ping`'s `cap_net_raw`, `user.*`) from the host file `host` to its
/// copy `image`, which `fs::copy` leaves without them; the layer then
/// carries them. Setting `security.capability` needs root: a normal user's
/// image goes without it, as the file would if the user copied it by hand.
fn copy_attributes(host: &Path, image: &Path) -> Result<()> {
    for (name, value) in recorded_attributes(host).map_err(io_error(host))? {
        let name = std::ffi::OsStr::from_bytes(&name);
        match xattr::set(image, name, &value) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(EPERM) || e.raw_os_error() == Some(EOPNOTSUPP) => {}
            Err(e) => return Err(io_error(image)(e)),
        }
    }
    Ok(())
}

/// Copies the host file or directory tree `src` to `dest` in the image (an
/// absolute path as the image sees it), creating the directories above it.
///
/// `src` itself is followed if it is a link; links inside a tree are copied
/// as links. Every path is resolved inside `root`, so links the root
/// already holds (`/lib -> usr/lib`) are followed as the image will see
/// them and never lead outside. Files already there are replaced;
/// directories are merged.
pub fn add(src: &Path, dest: &Path, root: &Path, placed: &mut Placed) -> Result<()> {
    let meta = fs::metadata(src).map_err(io_error(src))?;
    add_entry(src, &meta, dest, root, placed)
}

/// Refuses what cannot be copied into an image: the image being built
/// itself (a source that holds the store would copy the new root into
/// itself without end), and FIFOs, sockets and devices (copying a FIFO
/// waits forever for a writer).
fn check_source(src: &Path, meta: &Metadata, root: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |reason: &'static str| {
        Err(Error::CannotAdd {
            path: src.to_path_buf(),
            reason,
        })
    };
    if meta.is_dir() {
        let building = fs::metadata(root).map_err(io_error(root))?;
        if (meta.dev(), meta.ino()) == (building.dev(), building.ino()) {
            return refuse(
                "it holds the image being built (the store's own directory): add a directory that does not contain it",
            );
        }
        return Ok(());
    }
    if meta.is_file() || meta.file_type().is_symlink() {
        return Ok(());
    }
    refuse("it is a FIFO, a socket or a device: only files, directories and links can be added")
}

fn add_entry(
    src: &Path,
    meta: &Metadata,
    dest: &Path,
    root: &Path,
    placed: &mut Placed,
) -> Result<()> {
    check_source(src, meta, root)?;
    let on_disk = resolve_in_root(root, dest).map_err(io_error(dest))?;
    if let Some(parent) = on_disk.parent() {
        fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    let in_image = Path::new("/").join(on_disk.strip_prefix(root).unwrap_or(&on_disk));
    let existing = match fs::symlink_metadata(&on_disk) {
        Ok(existing) => Some(existing),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(io_error(&on_disk)(error)),
    };
    if meta.is_dir() {
        match &existing {
            // A link to a directory (`/lib`) is merged into, through the
            // link: the children are resolved inside the root below.
            Some(existing) if existing.is_dir() || existing.file_type().is_symlink() => {}
            Some(existing) => return Err(conflict(&in_image, src, kind(existing))),
            None => place_dir(&on_disk, meta, src)?,
        }
        let mut children: Vec<_> = fs::read_dir(src)
            .map_err(io_error(src))?
            .collect::<io::Result<_>>()
            .map_err(io_error(src))?;
        children.sort_by_key(|entry| entry.file_name());
        for child in children {
            let child_meta = child.metadata().map_err(io_error(child.path()))?;
            add_entry(
                &child.path(),
                &child_meta,
                &dest.join(child.file_name()),
                root,
                placed,
            )?;
        }
        return Ok(());
    }
    match &existing {
        Some(existing) if existing.is_dir() => {
            return Err(conflict(&in_image, src, kind(existing)));
        }
        Some(_) => fs::remove_file(&on_disk).map_err(io_error(&on_disk))?,
        None => {}
    }
    if meta.file_type().is_symlink() {
        let target = fs::read_link(src).map_err(io_error(src))?;
        symlink(&target, &on_disk).map_err(io_error(&on_disk))?;
    } else {
        fs::copy(src, &on_disk).map_err(io_error(src))?;
        copy_attributes(src, &on_disk)?;
    }
    placed.insert(in_image);
    Ok(())
}

fn conflict(image_path: &Path, host: &Path, existing: &str) -> Error {
    Error::Conflict {
        image_path: image_path.to_path_buf(),
        existing: existing.to_string(),
        host: host.to_path_buf(),
    }
}

/// What kind of entry `meta` describes, with an article, for messages.
fn kind(meta: &Metadata) -> &'static str {
    if meta.file_type().is_symlink() {
        "a symbolic link"
    } else if meta.is_dir() {
        "a directory"
    } else if meta.is_file() {
        "a file"
    } else {
        "a special file"
    }
}
