//! The image store: where pulled images live on disk.
//!
//! ```text
//! $DOCKER_INTERNALS_HOME (default ~/.docker-internals)
//! ├── library/alpine/latest                  the root filesystem (Docker Hub image)
//! ├── library/alpine/latest.manifest.json    its manifest, byte for byte
//! ├── library/alpine/latest.config.json      its config, byte for byte
//! ├── library/alpine/latest.record.json      where it came from, and its fingerprint
//! ├── localhost:5000/me/app/v1               an image from another registry
//! ├── .blobs/sha256/<hex>                    downloaded blobs, by digest
//! ├── .blobs/partial/<hex>                   blobs being downloaded (resumable)
//! └── .tmp/pull-<pid>-<random>               a pull in progress
//! ```
//!
//! Several processes may use one store at once (two shells, a CI job, `run`
//! pulling on demand). Two locks keep them apart, both `flock`s, which the
//! kernel drops when a process dies, so a crash never leaves a store locked:
//! a blob being downloaded is locked through its partial file (see
//! [`download`](crate::download)), and an image's repository directory is
//! locked while an image in it is installed, read whole, or pushed
//! ([`Store::lock_image`]).
//!
//! The Docker Internals write-up's layout (`<user>/<repo>/<tag>` is the root
//! filesystem) is kept, so `tar -C ~/.docker-internals/library/alpine/latest
//! -c .` is the image. Names
//! that start with a dot cannot be repository names, so the store's own
//! directories never collide with an image.

use crate::error::{Error, Result};
use crate::flatten::open_tree;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};
use step_01_registry::Reference;
use step_01_registry::digest::Digest;

/// The environment variable that moves the store.
pub const HOME_VARIABLE: &str = "DOCKER_INTERNALS_HOME";

/// What the store remembers about an image besides its manifest and config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// `registry/repository` it was pulled from (a push can mount its blobs from there).
    pub origin: String,
    /// The root filesystem's [`fingerprint`](crate::fingerprint::fingerprint) when
    /// the manifest beside it described it exactly.
    pub fingerprint: String,
}

/// An image store rooted at a directory.
#[derive(Clone, Debug)]
pub struct Store {
    home: PathBuf,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// Opens (creating) the store at `home`, or at `$DOCKER_INTERNALS_HOME`, or
    /// at `~/.docker-internals`; clears what interrupted pulls left behind.
    pub fn open(home: Option<&Path>) -> Result<Store> {
        let home = match home {
            Some(home) => home.to_path_buf(),
            None => default_home(),
        };
        for dir in [".blobs/sha256", ".blobs/partial", ".tmp"] {
            let path = home.join(dir);
            std::fs::create_dir_all(&path).map_err(io_error(&path))?;
        }
        let store = Store { home };
        store.clear_abandoned_pulls();
        Ok(store)
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    // ANCHOR: image_path
    /// Where an image's root filesystem lives: `library/alpine/latest`, or
    /// `localhost:5000/me/app/v1` for registries other than Docker Hub.
    pub fn image_dir(&self, reference: &Reference) -> PathBuf {
        // EXERCISE(image-path): Decide where an image's root filesystem goes.
        // As in the Docker Internals write-up: `<home>/<repository>/<tag>`, so Docker Hub's
        // `alpine` is `<home>/library/alpine/latest`. Images from any other
        // registry go under its name: `<home>/localhost:5000/me/app/v1`.
        // An image pulled by digest only is stored under its digest.
        // HINT: `PathBuf::push` with `reference.repository` adds all its `/`-separated parts at
        // once; there is nothing to split.
        // HINT+: Start from a clone of `self.home`. Push the registry only when the reference is
        // not on Docker Hub (so no `docker.io/` in the path), then the repository, then the last
        // part: the tag (`as_deref`), or else the digest's text (`as_ref`, then `map` to
        // `Digest::as_str`, and `Option::or`), else `latest`.
        let mut dir = self.home.clone();
        if !reference.is_docker_hub() {
            dir.push(&reference.registry);
        }
        dir.push(&reference.repository);
        dir.push(
            reference
                .tag
                .as_deref()
                .or(reference.digest.as_ref().map(|digest| digest.as_str()))
                .unwrap_or("latest"),
        );
        dir
        // END EXERCISE
    }
    // ANCHOR_END: image_path

    /// The byte-exact manifest kept beside an image.
    pub fn manifest_path(&self, reference: &Reference) -> PathBuf {
        sibling(&self.image_dir(reference), "manifest.json")
    }

    /// The byte-exact config kept beside an image.
    pub fn config_path(&self, reference: &Reference) -> PathBuf {
        sibling(&self.image_dir(reference), "config.json")
    }

    /// Where the image's record is kept.
    pub fn record_path(&self, reference: &Reference) -> PathBuf {
        sibling(&self.image_dir(reference), "record.json")
    }

    /// The record of a stored image, if it has a readable one.
    pub fn record(&self, reference: &Reference) -> Option<ImageRecord> {
        let bytes = std::fs::read(self.record_path(reference)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Locks the repository directory of `reference` (`library/alpine` for
    /// `library/alpine:latest`), waiting for whoever holds it. `Exclusive`
    /// is for changing an image (installing one, or pushing one and keeping
    /// what was pushed beside it); `Shared` is for reading one whole (its
    /// tree and the files beside it), so a reader never sees a new tree with
    /// the old manifest, or a tree being swapped out. One lock covers every
    /// tag of the repository: installs are short, and the images listing
    /// reads a directory at a time.
    pub fn lock_image(&self, reference: &Reference, mode: LockMode) -> Result<ImageLock> {
        let dir = self.image_dir(reference);
        let parent = dir.parent().expect("an image directory has a parent");
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        lock_directory(parent, mode)
    }

    /// Replaces the manifest, config and record kept beside an image, each
    /// file whole (written aside, then renamed). The caller holds the
    /// image's exclusive lock (`_lock`), as it read the tree they describe
    /// under it.
    pub fn write_metadata(
        &self,
        _lock: &ImageLock,
        reference: &Reference,
        manifest: &[u8],
        config: &[u8],
        record: &ImageRecord,
    ) -> Result<()> {
        for (staged, target) in self.stage_metadata(reference, manifest, config, record)? {
            persist(staged, &target)?;
        }
        Ok(())
    }

    /// The three files kept beside an image, written under temporary names
    /// in its repository directory, each paired with where it goes. The
    /// record comes last: it is what says the other two describe the tree.
    fn stage_metadata(
        &self,
        reference: &Reference,
        manifest: &[u8],
        config: &[u8],
        record: &ImageRecord,
    ) -> Result<Vec<(tempfile::NamedTempFile, PathBuf)>> {
        let dir = self.image_dir(reference);
        let parent = dir.parent().expect("an image directory has a parent");
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        let record = serde_json::to_vec_pretty(record).expect("a record serialises");
        [
            (manifest, self.manifest_path(reference)),
            (config, self.config_path(reference)),
            (&record[..], self.record_path(reference)),
        ]
        .into_iter()
        .map(|(bytes, target)| Ok((write_staged(parent, bytes)?, target)))
        .collect()
    }

    /// A temporary file for a blob being made (a layer `push` builds), in the
    /// store's `.tmp`, named after this process so a later run can tell an
    /// abandoned one; on the same file system as the blob cache it is renamed into.
    pub fn staged_file(&self) -> Result<tempfile::NamedTempFile> {
        let dir = self.home.join(".tmp");
        tempfile::Builder::new()
            .prefix(&format!("blob-{}-", std::process::id()))
            .tempfile_in(&dir)
            .map_err(io_error(&dir))
    }

    /// Stores an image under another name: its directory and the files
    /// beside it are renamed, as the Docker Internals write-up does by hand (`mv library/nginx
    /// me/nginx`) before pushing an image as one's own. A rename changes
    /// nothing the fingerprint covers, so the image stays "as stored".
    pub fn move_image(&self, from: &Reference, to: &Reference) -> Result<PathBuf> {
        let paths = |r: &Reference| {
            [
                self.image_dir(r),
                self.manifest_path(r),
                self.config_path(r),
                self.record_path(r),
            ]
        };
        for (old, new) in paths(from).iter().zip(paths(to)) {
            let parent = new.parent().expect("an image has a parent directory");
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
            std::fs::rename(old, &new).map_err(io_error(old))?;
        }
        Ok(self.image_dir(to))
    }

    // ANCHOR: blob_path
    /// Where a verified blob is kept: `.blobs/sha256/<hex>`. Only a
    /// [`Digest`] names a blob, so no text from a registry becomes a path
    /// unchecked.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.home.join(".blobs/sha256").join(digest.hex())
    }

    /// Where a blob is written while it downloads; it survives an interrupted
    /// pull so the next one can resume it.
    pub fn partial_path(&self, digest: &Digest) -> PathBuf {
        self.home.join(".blobs/partial").join(digest.hex())
    }
    // ANCHOR_END: blob_path

    /// A fresh directory to build an image in, named after this process so
    /// a later run can tell an abandoned one.
    pub fn staging(&self) -> Result<Staging> {
        let dir = self.home.join(".tmp");
        let path = tempfile::Builder::new()
            .prefix(&format!("pull-{}-", std::process::id()))
            .tempdir_in(&dir)
            .map_err(io_error(&dir))?
            .keep();
        Ok(Staging { path })
    }

    /// Removes what pulls and pushes whose process is gone left in `.tmp`.
    // ANCHOR: abandoned
    fn clear_abandoned_pulls(&self) {
        let Ok(entries) = std::fs::read_dir(self.home.join(".tmp")) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // `pull-<pid>-...` directories and `blob-<pid>-...` files.
            let pid = name
                .split('-')
                .nth(1)
                .and_then(|pid| pid.parse::<u32>().ok());
            if let Some(pid) = pid
                && !Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = remove_tree(&entry.path());
            }
        }
    }
    // ANCHOR_END: abandoned

    /// Moves a finished image into place: the root filesystem appears at its
    /// final path whole, and the previous version (if any) stays until then.
    /// The manifest, config and record beside it follow.
    // ANCHOR: install
    pub fn install(
        &self,
        reference: &Reference,
        rootfs: &Path,
        manifest: &[u8],
        config: &[u8],
        record: &ImageRecord,
    ) -> Result<PathBuf> {
        let target = self.image_dir(reference);
        // Another process installing this tag waits here, so the tree and
        // the files beside it always come from the same pull.
        let _lock = self.lock_image(reference, LockMode::Exclusive)?;
        // Written before the swap, renamed right after it: a full disk fails
        // the pull before anything changed, and the gap is two renames.
        let staged = self.stage_metadata(reference, manifest, config, record)?;
        swap_into_place(rootfs, &target)?;
        for (file, path) in staged {
            persist(file, &path)?;
        }
        Ok(target)
    }
    // ANCHOR_END: install
}

/// How an image is locked: see [`Store::lock_image`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// A held lock on a repository directory; released when dropped (or when
/// the process ends, however it ends).
#[derive(Debug)]
pub struct ImageLock {
    _lock: Flock<File>,
}

/// Locks a directory of the store, waiting as long as it takes.
pub fn lock_directory(dir: &Path, mode: LockMode) -> Result<ImageLock> {
    let file = File::open(dir).map_err(io_error(dir))?;
    let lock = lock_file(file, mode, dir)?;
    Ok(ImageLock { _lock: lock })
}

/// `flock`s an open file, waiting for the process that holds it; a signal
/// that interrupts the wait does not end it.
pub(crate) fn lock_file(mut file: File, mode: LockMode, path: &Path) -> Result<Flock<File>> {
    let arg = match mode {
        LockMode::Shared => FlockArg::LockShared,
        LockMode::Exclusive => FlockArg::LockExclusive,
    };
    loop {
        match Flock::lock(file, arg) {
            Ok(lock) => return Ok(lock),
            Err((back, Errno::EINTR)) => file = back,
            Err((_, errno)) => {
                return Err(Error::Lock {
                    path: path.to_path_buf(),
                    source: errno.into(),
                });
            }
        }
    }
}

/// A directory an image is built in; removed, whatever it holds, when dropped.
pub struct Staging {
    path: PathBuf,
}

impl Staging {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = remove_tree(&self.path);
    }
}

/// `latest` → `latest.manifest.json` in the same directory.
fn sibling(image_dir: &Path, suffix: &str) -> PathBuf {
    let name = image_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    image_dir.with_file_name(format!("{name}.{suffix}"))
}

fn write_staged(dir: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new()
        .prefix(".staged-")
        .tempfile_in(dir)
        .map_err(io_error(dir))?;
    std::io::Write::write_all(&mut file, bytes).map_err(io_error(dir))?;
    // Temporary files are private; the kept metadata is as readable as the image.
    use std::os::unix::fs::PermissionsExt;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(io_error(dir))?;
    Ok(file)
}

fn persist(file: tempfile::NamedTempFile, target: &Path) -> Result<()> {
    file.persist(target)
        .map(drop)
        .map_err(|e| io_error(target)(e.error))
}

// ANCHOR: install_atomically
/// Puts `new` at `target`. With an old version there, the two are swapped in
/// one step (`renameat2` with `RENAME_EXCHANGE`), so `target` is never
/// missing or half-written, and the old version is removed afterwards.
fn swap_into_place(new: &Path, target: &Path) -> Result<()> {
    // EXERCISE(install-atomically): Put the new root filesystem at `target` without a gap.
    // Nothing at `target` yet: a plain rename is atomic. Otherwise swap the
    // two directories in one system call, `renameat2(.., RENAME_EXCHANGE)`,
    // so `target` always holds a whole image, then remove what is now at
    // `new` (the old version) with `remove_tree`. Some file systems do not
    // support the exchange (EINVAL): move the old one aside, then rename.
    // HINT: First decide whether anything is at `target` (`fs::symlink_metadata` fails when not):
    // then one plain `fs::rename` is atomic and enough.
    // HINT+: Otherwise `nix::fcntl::renameat2`, with `AT_FDCWD` as both directory arguments and
    // `RenameFlags::RENAME_EXCHANGE`; afterwards `new` holds the old tree, for `remove_tree`. On
    // `Err(Errno::EINVAL)` fall back on three `fs::rename`s (target aside, new to target, the old
    // one to `new`), then `remove_tree`. An `Errno` converts `into` an `io::Error` for `io_error`.
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    if std::fs::symlink_metadata(target).is_err() {
        return std::fs::rename(new, target).map_err(io_error(target));
    }
    match renameat2(
        AT_FDCWD,
        new,
        AT_FDCWD,
        target,
        RenameFlags::RENAME_EXCHANGE,
    ) {
        Ok(()) => {}
        // A file system without the exchange: move the old one aside first.
        Err(nix::errno::Errno::EINVAL) => {
            let aside = new.with_extension("old");
            std::fs::rename(target, &aside).map_err(io_error(target))?;
            std::fs::rename(new, target).map_err(io_error(target))?;
            std::fs::rename(&aside, new).map_err(io_error(new))?;
        }
        Err(errno) => return Err(io_error(target)(errno.into())),
    }
    // `new` now holds the previous version.
    remove_tree(new)
    // END EXERCISE
}
// ANCHOR_END: install_atomically

/// Removes a directory tree, making read-only directories writable first
/// (images contain them, and they must not stop the cleanup).
pub fn remove_tree(path: &Path) -> Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir()) {
        return std::fs::remove_file(path).map_err(io_error(path));
    }
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            // Whatever this cannot open, the second try names.
            let _ = open_tree(path);
            std::fs::remove_dir_all(path).map_err(io_error(path))
        }
    }
}

/// `~/.docker-internals`, or `$DOCKER_INTERNALS_HOME` when set.
// ANCHOR: default_home
pub fn default_home() -> PathBuf {
    if let Some(home) = std::env::var_os(HOME_VARIABLE).filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".docker-internals")
}
// ANCHOR_END: default_home
