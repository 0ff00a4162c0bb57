//! One layer's extraction: every tar entry in order, then the directories'
//! modes and times.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::DirBuilder;
use std::io::{self, BufReader, Read};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::sys::stat::{SFlag, makedev};
use tar::EntryType;

use super::metadata::{Meta, PendingDirectories};
use super::node::{self, LinkError, Node};
use super::read_only::{OpenedDirectories, open_tree};
use super::resolve::{clean_name, resolve_in_root};
use super::whiteout::{Marker, Written, hide_lower_children};
use super::xattrs;
use super::{Applied, Options};
use crate::error::Error;

/// The mode of the parent directories a layer does not list but needs,
/// as `tar` and Docker create them.
const IMPLIED_DIRECTORY_MODE: u32 = 0o755;

/// The largest piece a file is written in.
const FILE_BUFFER_BYTES: usize = 64 * 1024;

/// The state of applying one layer to a root filesystem.
#[derive(Debug)]
pub(super) struct Extraction<'a> {
    root: &'a Path,
    options: &'a Options,
    /// What this layer wrote so far: its whiteouts must not delete it.
    written: Written,
    directories: PendingDirectories,
    /// Device nodes skipped (not root): hard links to them are skipped too.
    skipped: HashSet<PathBuf>,
    /// Lower layers' directories known to be open to us (not root).
    opened: OpenedDirectories,
    applied: Applied,
}

impl<'a> Extraction<'a> {
    pub(super) fn new(root: &'a Path, options: &'a Options) -> Extraction<'a> {
        Extraction {
            root,
            options,
            written: Written::default(),
            directories: PendingDirectories::default(),
            skipped: HashSet::new(),
            opened: OpenedDirectories::default(),
            applied: Applied::default(),
        }
    }

    /// Applies one entry: a whiteout deletes, anything else is written.
    // ANCHOR: apply
    pub(super) fn apply(&mut self, entry: &mut tar::Entry<'_, impl Read>) -> Result<(), Error> {
        let kind = entry.header().entry_type();
        if kind == EntryType::XGlobalHeader {
            // PAX defaults for the rest of the archive, not a file.
            return Ok(());
        }
        let name = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&name).into_owned();
        let escape = |reason| Error::Escape {
            entry: shown.clone(),
            reason,
        };
        let relative = clean_name(&name).map_err(escape)?;
        let Some(file_name) = relative.file_name() else {
            // `./` stands for the root, which is not the layer's to change.
            return match kind {
                EntryType::Directory => Ok(()),
                _ => Err(escape("it names the root directory itself")),
            };
        };
        let extract = |path: &Path| {
            let (entry, path) = (shown.clone(), path.to_path_buf());
            move |source| Error::Extract {
                entry,
                path,
                source,
            }
        };
        let lexical = self.root.join(&relative);
        if !self.options.privileged {
            // Resolving must be able to look into the directories on the way.
            self.opened
                .open_parents(self.root, &lexical, &mut self.directories)
                .map_err(extract(&lexical))?;
        }
        let path = resolve_in_root(self.root, &relative).map_err(extract(&lexical))?;
        if !self.options.privileged {
            // And symlinks on the way may have led elsewhere in the root.
            self.opened
                .open_parents(self.root, &path, &mut self.directories)
                .map_err(extract(&path))?;
        }
        if let Some(marker) = Marker::of(file_name).map_err(escape)? {
            self.whiteout(marker, &path).map_err(extract(&path))?;
            self.applied.whiteouts += 1;
            return Ok(());
        }
        let node = match Action::of(entry, &shown, self.options)? {
            Action::Create(node) => node,
            Action::HardLink(target) => return self.hard_link(&shown, &path, &target),
            Action::SkipDevice => {
                self.applied.skipped_devices += 1;
                self.skipped.insert(path);
                return Ok(());
            }
        };
        let meta = Meta::of(entry.header()).map_err(|source| Error::Tar { source })?;
        let attributes = xattrs::of(entry)?;
        create_parent(&path).map_err(extract(&path))?;
        // `io::copy` from a `BufReader` writes a file in pieces as big as its
        // buffer; from the entry alone it would write 8 KiB at a time.
        let buffer = entry.size().clamp(1, FILE_BUFFER_BYTES as u64) as usize;
        let mut data = BufReader::with_capacity(buffer, entry);
        if !matches!(node, Node::Directory) {
            // It replaces whatever is at the path, a directory tree included.
            self.open_to_delete(&path).map_err(extract(&path))?;
        }
        node::create(&path, &node, &mut data, &meta, self.options).map_err(extract(&path))?;
        if !attributes.is_empty() {
            // After the owner: a chown clears file capabilities.
            let skipped = xattrs::set(&path, &shown, &attributes, self.options.privileged)?;
            self.applied.skipped_attributes.extend(skipped);
        }
        if matches!(node, Node::Directory) {
            self.directories
                .remember(&path, &shown, &meta)
                .map_err(extract(&path))?;
        }
        self.written.insert(&path);
        self.applied.entries += 1;
        Ok(())
    }
    // ANCHOR_END: apply

    /// Applies a whiteout marker found at `path` (resolved in the root).
    fn whiteout(&self, marker: Marker, path: &Path) -> io::Result<()> {
        let dir = path.parent().unwrap_or(self.root);
        match marker {
            Marker::Opaque => {
                self.open_to_delete(dir)?;
                hide_lower_children(dir, &self.written)
            }
            Marker::Whiteout(name) => {
                let doomed = dir.join(name);
                self.open_to_delete(&doomed)?;
                self.written.remove_lower(&doomed)
            }
        }
    }

    /// Without root, makes the lower layers' directory tree at `path` (if
    /// it is one) open to us, just before it is deleted.
    fn open_to_delete(&self, path: &Path) -> io::Result<()> {
        match self.options.privileged {
            true => Ok(()),
            false => open_tree(path),
        }
    }

    /// Makes `path` a hard link to the entry named `target`.
    fn hard_link(&mut self, entry: &str, path: &Path, target: &[u8]) -> Result<(), Error> {
        let shown_target = String::from_utf8_lossy(target).into_owned();
        let refuse = |reason| Error::Hardlink {
            entry: entry.to_string(),
            target: shown_target.clone(),
            reason,
        };
        let extract = |source| Error::Extract {
            entry: entry.to_string(),
            path: path.to_path_buf(),
            source,
        };
        let relative = clean_name(target).map_err(|_| Error::Escape {
            entry: entry.to_string(),
            reason: "its hard link target climbs above the root with `..`",
        })?;
        let target = resolve_in_root(self.root, &relative).map_err(extract)?;
        if target == path || target.starts_with(path) {
            // Making room for the link would delete what it links to.
            return Err(refuse("the link would replace its own target"));
        }
        if self.skipped.contains(&target) {
            // A second name of a device node that could not be made.
            self.applied.skipped_devices += 1;
            return Ok(());
        }
        create_parent(path).map_err(extract)?;
        self.open_to_delete(path).map_err(extract)?;
        node::link(path, &target).map_err(|error| match error {
            LinkError::Missing => refuse("the target is in neither this layer nor a lower one"),
            LinkError::Directory => {
                refuse("the target is a directory, which cannot be hard-linked")
            }
            LinkError::Io(source) => extract(source),
        })?;
        self.written.insert(path);
        self.applied.entries += 1;
        Ok(())
    }

    /// Sets the modes and times of the layer's directories, gives the lower
    /// layers' directories opened for it their modes back, and says what
    /// was applied.
    pub(super) fn finish(self) -> Result<Applied, Error> {
        self.directories.apply(self.root)?;
        Ok(self.applied)
    }
}

/// What to do with an entry that is not a whiteout.
enum Action {
    Create(Node),
    /// Link to the entry of this name.
    HardLink(Vec<u8>),
    /// A device node we may not create.
    SkipDevice,
}

impl Action {
    /// The action for `entry` (shown as `shown` in errors) by its type.
    fn of(
        entry: &tar::Entry<'_, impl Read>,
        shown: &str,
        options: &Options,
    ) -> Result<Action, Error> {
        let header = entry.header();
        let link_target = || entry.link_name_bytes().unwrap_or_default().into_owned();
        let kind = header.entry_type();
        let node = match kind {
            EntryType::Link => return Ok(Action::HardLink(link_target())),
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => Node::File,
            EntryType::Directory => Node::Directory,
            EntryType::Symlink => Node::Symlink(PathBuf::from(OsString::from_vec(link_target()))),
            EntryType::Fifo => Node::Fifo,
            // ANCHOR: skip_devices
            EntryType::Char | EntryType::Block if !options.privileged => {
                return Ok(Action::SkipDevice);
            }
            // ANCHOR_END: skip_devices
            EntryType::Char | EntryType::Block => {
                let number = |n: io::Result<Option<u32>>| {
                    n.map(|n| u64::from(n.unwrap_or(0)))
                        .map_err(|source| Error::Tar { source })
                };
                Node::Device {
                    kind: match kind {
                        EntryType::Char => SFlag::S_IFCHR,
                        _ => SFlag::S_IFBLK,
                    },
                    device: makedev(
                        number(header.device_major())?,
                        number(header.device_minor())?,
                    ),
                }
            }
            other => {
                return Err(Error::UnsupportedEntry {
                    entry: shown.to_string(),
                    kind: describe(other),
                });
            }
        };
        Ok(Action::Create(node))
    }
}

/// Creates the directories above `path` that do not exist yet. They were
/// resolved inside the root, so none of them is a symlink.
fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) => DirBuilder::new()
            .recursive(true)
            .mode(IMPLIED_DIRECTORY_MODE)
            .create(parent),
        None => Ok(()),
    }
}

/// An entry type for an error message: its type flag and its name.
fn describe(kind: EntryType) -> String {
    format!(
        "`{}` ({kind:?})",
        char::from(kind.as_byte()).escape_default()
    )
}
