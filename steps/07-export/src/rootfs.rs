//! A stored root filesystem as one tar: what `docker export` writes and what
//! `wsl --import` reads.
//!
//! The tar's root is the file system's root: entries are named relative to
//! it (`etc/passwd`, never `/etc/passwd` or `./etc/passwd`), with numeric
//! owners and no user or group names (the names on this machine mean
//! nothing inside the image), modes as stored, symlinks as symlinks and
//! second names of a file as hard links. Device nodes and sockets are left
//! out: WSL mounts its own `/dev`, and a socket only means something while
//! the program that made it runs.
//!
//! The same tree always gives the same bytes: entries in sorted order, each
//! directory followed by what it holds, and one modification time for all.

use crate::error::{Result, io_error};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{FileType, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use step_02_layers::flatten::append_recorded_attributes;

/// Changes made to the tree on its way into the archive (the `.wsl` format
/// adds its settings file and leaves out what WSL writes itself).
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    /// Files added, or put in place of the image's, by name relative to the
    /// root: owned by root, mode 0644.
    pub add: BTreeMap<PathBuf, Vec<u8>>,
    /// Names left out, relative to the root.
    pub leave_out: BTreeSet<PathBuf>,
}

/// How to write the tar.
#[derive(Clone, Debug, Default)]
pub struct RootfsOptions {
    /// The modification time of every entry, in seconds since the epoch.
    pub mtime: u64,
    pub overlay: Overlay,
}

/// What went into the archive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Entries written.
    pub entries: u64,
    /// Entries of the tree that were left out, each with why.
    pub left_out: Vec<(PathBuf, &'static str)>,
}

// ANCHOR: entry_name
/// The name of `path`'s entry in the archive: relative to `root`, and
/// ending in `/` for a directory, as `tar` and `docker export` write it.
pub fn entry_name(root: &Path, path: &Path, is_dir: bool) -> Result<PathBuf> {
    // EXERCISE(entry-name): Name a tar entry relative to the root filesystem.
    // `Path::strip_prefix` gives the part of `path` below `root`; a path not
    // below it is `Error::OutsideRoot` (never name an entry `/etc/passwd`: an
    // absolute name makes some tools write outside the target directory).
    // The root itself is not an entry either. For a directory, `join("")`
    // adds the trailing `/`.
    // ANCHOR_END: entry_name
    // HINT: `strip_prefix` fails for a path outside `root`, and gives an empty path
    // for the root itself: both are `Error::OutsideRoot`.
    // HINT+: `.ok()` makes the `Result` an `Option`, `filter` drops an empty
    // remainder (`as_os_str().is_empty()`), and `ok_or_else` builds the error with
    // both paths. Then only a directory's name gets the trailing `/`. `strip_prefix`
    // compares components, so don't swap it for string slicing: `/store/a` is a
    // string prefix of `/store/ab`.
    use crate::error::Error;
    let relative = path
        .strip_prefix(root)
        .ok()
        .filter(|r| !r.as_os_str().is_empty())
        .ok_or_else(|| Error::OutsideRoot {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
        })?;
    Ok(if is_dir {
        relative.join("")
    } else {
        relative.to_path_buf()
    })
    // END EXERCISE
}

// ANCHOR: left_out
/// Why an entry of this type stays out of the archive, or `None` when it goes in.
pub fn left_out(file_type: FileType) -> Option<&'static str> {
    // EXERCISE(skip-special): Leave device nodes and sockets out.
    // Character and block devices: WSL (and any container runtime) makes
    // its own /dev, and `wsl --import` does not create device nodes.
    // Sockets: they only exist while the program that made them runs, and
    // tar cannot hold one. Files, directories, symlinks and FIFOs go in.
    // ANCHOR_END: left_out
    // HINT: `std::os::unix::fs::FileTypeExt` (import it) asks a `FileType`
    // what it is: `is_char_device`, `is_block_device`, `is_socket`.
    // HINT+: `Some(reason)` for either kind of device and for a socket, with a short
    // sentence saying why (the export reports it), and `None` for everything else.
    // Ask about what stays out rather than what goes in: files, directories, symlinks
    // and FIFOs must all give `None`, and the check asks about each.
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_char_device() || file_type.is_block_device() {
        Some("a device node: WSL and container runtimes make their own /dev")
    } else if file_type.is_socket() {
        Some("a socket: it exists only while the program that made it runs")
    } else {
        None
    }
    // END EXERCISE
}

// ANCHOR: entry_header
/// The tar header for an entry with `meta` (not followed through a
/// symlink): its type, mode, numeric owner, size and the archive's `mtime`.
pub fn entry_header(meta: &Metadata, mtime: u64) -> tar::Header {
    // EXERCISE(entry-header): Fill in a GNU tar header from the entry's metadata.
    // Start from `tar::Header::new_gnu()`. Set the mode with the setuid,
    // setgid and sticky bits (`meta.mode() & 0o7777`), the numeric uid and
    // gid, and `mtime` (not the file's: the archive must not depend on when
    // the image was pulled). No user or group name. The entry type follows
    // the file type: `Directory`, `Symlink`, `Fifo`, else `Regular`; only a
    // regular file has a size (`meta.len()`), everything else 0.
    // ANCHOR_END: entry_header
    // HINT: Only a regular file has a size; a directory, a symlink or a FIFO gets 0,
    // whatever `meta.len()` says.
    // HINT+: `tar::Header`'s setters: `set_mode` (the low twelve bits only: the type
    // bits must go), `set_uid`/`set_gid` (widen the `u32`s to `u64`), `set_mtime`
    // with the `mtime` argument, `set_entry_type` from `meta.file_type()`,
    // `set_size`. A symlink's `meta.len()` is its target's length: not a size to
    // write. Call no `set_username`/`set_groupname`: the snapshot shows any name.
    use std::os::unix::fs::FileTypeExt;
    let mut header = tar::Header::new_gnu();
    header.set_mode(meta.mode() & 0o7777);
    header.set_uid(u64::from(meta.uid()));
    header.set_gid(u64::from(meta.gid()));
    header.set_mtime(mtime);
    let file_type = meta.file_type();
    let entry_type = if file_type.is_dir() {
        tar::EntryType::Directory
    } else if file_type.is_symlink() {
        tar::EntryType::Symlink
    } else if file_type.is_fifo() {
        tar::EntryType::Fifo
    } else {
        tar::EntryType::Regular
    };
    header.set_entry_type(entry_type);
    header.set_size(if entry_type == tar::EntryType::Regular {
        meta.len()
    } else {
        0
    });
    header
    // END EXERCISE
}

/// The first names of inodes with more than one name, by (device, inode).
pub type FirstNames = HashMap<(u64, u64), PathBuf>;

// ANCHOR: first_name
/// For a file with more than one name: the name it was first written under,
/// when this is a second name (it becomes a hard link to that one). The
/// first time an inode is seen, remembers `name` and returns `None`.
pub fn first_name(seen: &mut FirstNames, meta: &Metadata, name: &Path) -> Option<PathBuf> {
    // EXERCISE(hard-links): A second name of a file becomes a hard link to its first.
    // An inode is known by `(meta.dev(), meta.ino())`. If `seen` has it,
    // return the name it holds; otherwise remember `name` for it and return
    // `None`, so the file's bytes are written once, under its first name.
    // ANCHOR_END: first_name
    // HINT: `seen` maps an inode to the first name written for it: look the key up
    // before you insert it.
    // HINT+: The key is `(meta.dev(), meta.ino())` from `MetadataExt`: an inode
    // number alone repeats across file systems. A hit returns a clone of the stored
    // name (this entry becomes a hard link to it); a miss stores `name` as an owned
    // `PathBuf` and returns `None`, so the bytes go under the first name.
    let key = (meta.dev(), meta.ino());
    if let Some(first) = seen.get(&key) {
        return Some(first.clone());
    }
    seen.insert(key, name.to_path_buf());
    None
    // END EXERCISE
}

// ANCHOR: write_rootfs
/// Writes the tree under `root` to `out` as a tar, streaming each file from
/// disk, and returns `out` with what was written.
pub fn write_rootfs<W: Write>(
    root: &Path,
    options: &RootfsOptions,
    out: W,
) -> Result<(W, Written)> {
    let mut builder = tar::Builder::new(out);
    let mut written = Written::default();
    let mut seen = FirstNames::new();
    let mut added = BTreeSet::new();
    // Depth first, as `tar` walks: each directory's entries follow it
    // directly. Children are pushed in reverse so they come off in order.
    let mut stack: Vec<PathBuf> = sorted_children(root, root, &options.overlay)?;
    stack.reverse();
    while let Some(path) = stack.pop() {
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        if options.overlay.leave_out.contains(&relative) {
            continue;
        }
        if let Some(bytes) = options.overlay.add.get(&relative) {
            append_added(&mut builder, &relative, bytes, options.mtime)?;
            added.insert(relative);
            written.entries += 1;
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).map_err(io_error(&path))?;
        if let Some(reason) = left_out(meta.file_type()) {
            written.left_out.push((relative, reason));
            continue;
        }
        let name = entry_name(root, &path, meta.is_dir())?;
        append(&mut builder, &path, &name, &meta, options.mtime, &mut seen)?;
        written.entries += 1;
        if meta.is_dir() {
            stack.extend(
                sorted_children(root, &path, &options.overlay)?
                    .into_iter()
                    .rev(),
            );
        }
    }
    // Added files whose directory the image lacks, with that directory.
    for (relative, bytes) in &options.overlay.add {
        if added.contains(relative) {
            continue;
        }
        for parent in relative
            .ancestors()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            if !parent.as_os_str().is_empty() && !root.join(parent).is_dir() {
                append_directory(&mut builder, parent, options.mtime)?;
                written.entries += 1;
            }
        }
        append_added(&mut builder, relative, bytes, options.mtime)?;
        written.entries += 1;
    }
    let out = builder.into_inner().map_err(io_error(root))?;
    Ok((out, written))
}
// ANCHOR_END: write_rootfs

/// The entries of `dir`, sorted byte for byte, with the overlay's added
/// files that belong in it.
fn sorted_children(root: &Path, dir: &Path, overlay: &Overlay) -> Result<Vec<PathBuf>> {
    let mut children: BTreeSet<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<_>>()
        .map_err(io_error(dir))?;
    for relative in overlay.add.keys() {
        if relative.parent().map(|p| root.join(p)).as_deref() == Some(dir) {
            children.insert(root.join(relative));
        }
    }
    Ok(children.into_iter().collect())
}

/// Appends the entry for `path`, named `name`, streaming a file's bytes.
fn append<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    name: &Path,
    meta: &Metadata,
    mtime: u64,
    seen: &mut FirstNames,
) -> Result<()> {
    let mut header = entry_header(meta, mtime);
    // File capabilities and user attributes go with the entry, as PAX
    // records before it (WSL's tar keeps them, as docker export does).
    append_recorded_attributes(builder, path).map_err(io_error(path))?;
    let file_type = meta.file_type();
    if file_type.is_symlink() {
        let target = std::fs::read_link(path).map_err(io_error(path))?;
        return builder
            .append_link(&mut header, name, &target)
            .map_err(io_error(path));
    }
    if file_type.is_file()
        && meta.nlink() > 1
        && let Some(first) = first_name(seen, meta, name)
    {
        header.set_entry_type(tar::EntryType::Link);
        header.set_size(0);
        return builder
            .append_link(&mut header, name, &first)
            .map_err(io_error(path));
    }
    if file_type.is_file() {
        let file = std::fs::File::open(path).map_err(io_error(path))?;
        let exactly = Exactly(file.take(meta.len()));
        return builder
            .append_data(&mut header, name, exactly)
            .map_err(io_error(path));
    }
    builder
        .append_data(&mut header, name, io::empty())
        .map_err(io_error(path))
}

/// A file's bytes, as many as its header says. `tar` pads an entry by what
/// it read, not by the size in the header, so a file that shrank while it
/// was read would make a corrupt archive: here it is an error instead.
struct Exactly(io::Take<std::fs::File>);

impl Read for Exactly {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        if n == 0 && !buf.is_empty() && self.0.limit() > 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was exported",
            ));
        }
        Ok(n)
    }
}

/// Appends a file the overlay adds: root-owned, 0644.
fn append_added<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &Path,
    bytes: &[u8],
    mtime: u64,
) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header.set_size(bytes.len() as u64);
    builder
        .append_data(&mut header, name, bytes)
        .map_err(io_error(name))
}

/// Appends a directory the image lacks: root-owned, 0755.
fn append_directory<W: Write>(
    builder: &mut tar::Builder<W>,
    name: &Path,
    mtime: u64,
) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header.set_size(0);
    builder
        .append_data(&mut header, name.join(""), io::empty())
        .map_err(io_error(name))
}

/// The modification time an image's entries get: its config's `created`
/// (`2024-01-01T00:00:00Z`, fractions and offsets allowed), or 0 when the
/// config has none, so that an export depends only on the image.
pub fn created_time(config: &serde_json::Value) -> u64 {
    config
        .get("created")
        .and_then(|c| c.as_str())
        .and_then(parse_rfc3339)
        .unwrap_or(0)
}

/// Seconds since the epoch of an RFC 3339 time, `None` if it is not one or
/// is before 1970.
fn parse_rfc3339(text: &str) -> Option<u64> {
    let number = |s: &str| s.parse::<i64>().ok();
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut date = date.splitn(3, '-');
    let (year, month, day) = (
        number(date.next()?)?,
        number(date.next()?)?,
        number(date.next()?)?,
    );
    let clock_end = time.find(['Z', 'z', '+', '-']).unwrap_or(time.len());
    let (clock, zone) = time.split_at(clock_end);
    let clock = clock.split('.').next()?;
    let mut clock = clock.splitn(3, ':');
    let (hour, minute, second) = (
        number(clock.next()?)?,
        number(clock.next()?)?,
        number(clock.next()?)?,
    );
    let offset = match zone.as_bytes().first() {
        Some(sign @ (b'+' | b'-')) => {
            let (h, m) = zone[1..].split_once(':')?;
            let minutes = number(h)? * 60 + number(m)?;
            if *sign == b'+' {
                minutes * 60
            } else {
                -minutes * 60
            }
        }
        _ => 0,
    };
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(seconds).ok()
}
