//! Owners, modes and modification times, set without following links.
//!
//! Order matters: `chown` clears the setuid and setgid bits, so the owner
//! is set before the mode. Modes are set explicitly after creation, because
//! the process umask trims the mode given to `open` or `mkdir`. Directories
//! get their mode and mtime only when the whole layer is written
//! ([`PendingDirectories`]): a read-only directory must still take the
//! entries below it, and every entry written below a directory moves its
//! mtime.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt, fchown, lchown};
use std::path::{Path, PathBuf};

use nix::fcntl::{AT_FDCWD, OFlag};
use nix::sys::stat::{UtimensatFlags, futimens, utimensat};
use nix::sys::time::TimeSpec;

use super::Options;
use super::resolve::resolve_in_root;
use crate::error::Error;

/// What a tar header says about an entry's owner, permissions and time.
#[derive(Clone, Copy, Debug)]
pub(super) struct Meta {
    /// Permission bits, setuid, setgid and sticky included.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Seconds since the epoch.
    pub mtime: i64,
}

impl Meta {
    pub(super) fn of(header: &tar::Header) -> io::Result<Meta> {
        let id = |value: u64| {
            u32::try_from(value)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "owner id above 2^32"))
        };
        Ok(Meta {
            mode: header.mode()? & 0o7777,
            uid: id(header.uid()?)?,
            gid: id(header.gid()?)?,
            mtime: i64::try_from(header.mtime()?).unwrap_or(i64::MAX),
        })
    }

    fn time(&self) -> TimeSpec {
        TimeSpec::new(self.mtime, 0)
    }
}

/// Setting an entry's owner, mode and times on what was created for it.
#[allow(dead_code, reason = "only write-entry's solution calls them")]
impl Meta {
    /// Sets the owner of the node at `path`, never following a symlink,
    /// when privileged; an unprivileged user keeps what it creates.
    pub(super) fn set_owner(&self, path: &Path, options: &Options) -> io::Result<()> {
        if options.privileged {
            lchown(path, Some(self.uid), Some(self.gid))?;
        }
        Ok(())
    }

    /// Sets the mode of the special file (FIFO or device) just created at
    /// `path`. Linux has no `lchmod`, but the node was made by `mknod` a
    /// moment ago, which never follows links, and nothing else writes into
    /// the root while a layer is applied: `path` is that node.
    pub(super) fn set_special_mode(&self, path: &Path) -> io::Result<()> {
        fs::set_permissions(path, fs::Permissions::from_mode(self.mode))
    }

    /// Sets the access and modification times of the node at `path`, never
    /// following a symlink (`utimensat` with `AT_SYMLINK_NOFOLLOW`).
    pub(super) fn set_times(&self, path: &Path) -> io::Result<()> {
        let time = self.time();
        utimensat(
            AT_FDCWD,
            path,
            &time,
            &time,
            UtimensatFlags::NoFollowSymlink,
        )?;
        Ok(())
    }

    /// Sets owner, mode and times of an open regular file, in that order.
    // ANCHOR: apply_to_file
    pub(super) fn apply_to_file(&self, file: &File, options: &Options) -> io::Result<()> {
        if options.privileged {
            fchown(file, Some(self.uid), Some(self.gid))?;
        }
        file.set_permissions(fs::Permissions::from_mode(self.mode))?;
        let time = self.time();
        futimens(file.as_fd(), &time, &time)?;
        Ok(())
    }
    // ANCHOR_END: apply_to_file
}

/// A directory's mode and mtime, waiting for the end of the layer.
#[derive(Debug)]
struct Pending {
    /// The entry's name, for errors.
    entry: String,
    change: Change,
    /// The directory's identity, so a path that now leads somewhere else
    /// (the directory was replaced later in the layer) is left alone.
    dev: u64,
    ino: u64,
}

/// What a directory gets when the layer is done.
#[derive(Debug)]
enum Change {
    /// A directory of this layer: its mode and mtime from the header.
    Written(Meta),
    /// A lower layer's directory opened for this layer (without root): its
    /// mode back. Its mtime moved with every entry written in it, as it
    /// does for root.
    Reopened { mode: u32 },
}

/// The directories a layer wrote, with their modes and mtimes, and the lower
/// layers' directories it opened, with their modes, applied deepest first
/// once the layer is done.
#[derive(Debug, Default)]
pub(super) struct PendingDirectories(BTreeMap<PathBuf, Pending>);

impl PendingDirectories {
    /// Remembers `meta` for the directory at `path`, written by `entry`,
    /// until [`PendingDirectories::apply`]. A directory written twice in a
    /// layer takes the later entry's.
    pub(super) fn remember(&mut self, path: &Path, entry: &str, meta: &Meta) -> io::Result<()> {
        let stat = fs::symlink_metadata(path)?;
        self.0.insert(
            path.to_path_buf(),
            Pending {
                entry: entry.to_string(),
                change: Change::Written(*meta),
                dev: stat.dev(),
                ino: stat.ino(),
            },
        );
        Ok(())
    }

    /// Remembers that the lower layer's directory at `path` (found as
    /// `stat`) is to get `mode` back, unless this layer gives it its own.
    pub(super) fn remember_to_restore(&mut self, path: &Path, stat: &fs::Metadata) {
        self.0.entry(path.to_path_buf()).or_insert(Pending {
            entry: format!("{} (a lower layer's directory)", path.display()),
            change: Change::Reopened {
                mode: stat.mode() & 0o7777,
            },
            dev: stat.dev(),
            ino: stat.ino(),
        });
    }

    /// Sets each directory's mode and mtime, children before parents, so a
    /// parent turned read-only (or mode 000) last blocks nothing.
    ///
    /// Each path is resolved again inside `root` and opened without
    /// following a final symlink: a later entry of the layer may have put a
    /// symlink where the directory or one of its parents was.
    // ANCHOR: pending
    pub(super) fn apply(self, root: &Path) -> Result<(), Error> {
        let mut pending: Vec<(PathBuf, Pending)> = self.0.into_iter().collect();
        pending.sort_by_key(|(path, _)| std::cmp::Reverse(path.components().count()));
        for (path, dir) in pending {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            apply_one(root, relative, &dir).map_err(|source| Error::Extract {
                entry: dir.entry.clone(),
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }
    // ANCHOR_END: pending
}

/// Sets one pending directory's mode and mtime, if it is still there.
fn apply_one(root: &Path, relative: &Path, dir: &Pending) -> io::Result<()> {
    let path = resolve_in_root(root, relative)?;
    let opened = fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW).bits())
        .open(&path);
    let file = match opened {
        Ok(file) => file,
        // Gone, or replaced by a file or a symlink later in the layer.
        Err(error) if is_not_there(&error) => return Ok(()),
        Err(error) => return Err(error),
    };
    let stat = file.metadata()?;
    if (stat.dev(), stat.ino()) != (dir.dev, dir.ino) {
        return Ok(());
    }
    match &dir.change {
        Change::Written(meta) => {
            file.set_permissions(fs::Permissions::from_mode(meta.mode))?;
            let time = meta.time();
            futimens(file.as_fd(), &time, &time)?;
        }
        Change::Reopened { mode } => file.set_permissions(fs::Permissions::from_mode(*mode))?,
    }
    Ok(())
}

/// Whether opening a directory failed because something else is there now.
fn is_not_there(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    ) || error.raw_os_error() == Some(nix::libc::ELOOP)
}
