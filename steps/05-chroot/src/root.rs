//! Reading files inside an image's root filesystem from outside it.
//!
//! Before `chroot`, the tool reads the image's `/etc/passwd` and searches
//! its `PATH`. The image is untrusted: its `/etc/passwd` may be a symbolic
//! link to `/etc/shadow` *of the host*, or to `../../../../etc`. Joining
//! paths (`rootfs.join("etc/passwd")`) would follow such a link out of the
//! image. `openat2(2)` with `RESOLVE_IN_ROOT` resolves every component as
//! if the root filesystem were `/`: an absolute link or a `..` stops at the
//! image's root, exactly as it would after `chroot`.

use crate::error::{Error, Result};
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat};
use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// An image's root filesystem, opened once.
#[derive(Debug)]
pub struct Root {
    path: PathBuf,
    dir: OwnedFd,
}

impl Root {
    /// Opens the directory `path` as a root to resolve paths in.
    pub fn open(path: &Path) -> Result<Root> {
        let dir = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|errno| Error::Io {
            path: path.to_path_buf(),
            source: errno.into(),
        })?;
        Ok(Root {
            path: path.to_path_buf(),
            dir,
        })
    }

    /// The root filesystem's path on the host.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `path` (absolute or relative: both start at the image's root)
    /// for reading, following links only within the image.
    pub fn read(&self, path: &str) -> std::io::Result<File> {
        Ok(File::from(
            self.resolve(path, OFlag::O_RDONLY | OFlag::O_NOCTTY)?,
        ))
    }

    /// What `path` inside the image is (type, mode, owner), following links
    /// only within the image.
    pub fn stat(&self, path: &str) -> std::io::Result<FileStat> {
        let fd = self.resolve(path, OFlag::O_PATH)?;
        Ok(fstat(&fd)?)
    }

    /// `openat2` refuses flags that mean nothing with `O_PATH` (such as
    /// `O_NOCTTY`), so each caller passes only its own.
    fn resolve(&self, path: &str, flags: OFlag) -> std::io::Result<OwnedFd> {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let relative = path.trim_start_matches('/');
        let relative = if relative.is_empty() { "." } else { relative };
        Ok(openat2(&self.dir, relative, how)?)
    }
}

/// Whether `stat` is a regular file.
pub fn is_file(stat: &FileStat) -> bool {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG
}

/// Whether `stat` is a directory.
pub fn is_dir(stat: &FileStat) -> bool {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
}
