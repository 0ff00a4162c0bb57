//! Creating what one tar entry describes: a file, a directory, a link or a
//! special file, at a path already resolved inside the root.
//!
//! Every creation follows *unlink-then-create*: whatever a lower layer left
//! at the path is removed first ([`make_room`]), except that a directory
//! over a directory only changes the directory's metadata. Creating on an
//! empty path with exclusive, no-follow syscalls means nothing is ever
//! written through a symlink that was there before.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use nix::sys::stat::SFlag;

use super::Options;
use super::metadata::Meta;

// ANCHOR: node
/// The permissions a file is created with: writable by us whatever its
/// final mode, so even a mode-000 file can be filled before its mode is set.
const CREATE_MODE: u32 = 0o600;

/// What a tar entry creates (hard links aside, see [`link`]).
#[allow(dead_code, reason = "only write-entry's solution reads the fields")]
#[derive(Debug)]
pub(super) enum Node {
    /// A regular file; its contents are the entry's data.
    File,
    Directory,
    /// A symbolic link to this target, stored verbatim and never followed.
    Symlink(PathBuf),
    Fifo,
    /// A character or block device node.
    Device {
        kind: SFlag,
        device: u64,
    },
}
// ANCHOR_END: node

/// What [`make_room`] left at a path.
#[allow(dead_code, reason = "only unlink-then-create's solution builds them")]
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Room {
    /// Nothing: create the new node.
    Empty,
    /// The directory that was there, kept because a directory replaces it.
    KeptDirectory,
}

// ANCHOR: unlink_then_create
/// Clears `path` for a new node: removes what is there (a whole directory
/// tree included), unless both it and the new node are directories.
pub(super) fn make_room(path: &Path, new_is_directory: bool) -> io::Result<Room> {
    // EXERCISE(unlink-then-create): Remove what a lower layer left at a path, unless a directory meets a directory.
    // Look at the path with `fs::symlink_metadata` (it does not follow a
    // symlink: a symlink to a directory is a symlink, to be removed).
    // Nothing there: Room::Empty. A directory, with a directory coming:
    // keep it (Room::KeptDirectory), only its metadata will change. A
    // directory otherwise: `fs::remove_dir_all`. Anything else:
    // `fs::remove_file`. See book/src/step-02-layers.md#unlink-then-create.
    // HINT: Only `ErrorKind::NotFound` from `fs::symlink_metadata` means the path is free; return
    // any other error. A symlink to a directory is not a directory here, and that is the point.
    // HINT+: `Metadata::is_dir` decides: a directory with `new_is_directory` stays
    // (`Room::KeptDirectory`), any other directory goes with `fs::remove_dir_all`, and everything
    // else (files, symlinks, FIFOs, devices) with `fs::remove_file`. After a removal, or with
    // nothing there, the answer is `Room::Empty`.
    use std::fs;
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Room::Empty),
        Err(error) => return Err(error),
    };
    if meta.is_dir() {
        if new_is_directory {
            return Ok(Room::KeptDirectory);
        }
        fs::remove_dir_all(path)?;
    } else {
        fs::remove_file(path)?;
    }
    Ok(Room::Empty)
    // END EXERCISE
}
// ANCHOR_END: unlink_then_create

// ANCHOR: write_entry
/// Creates `node` at `path` with `data` (a file's contents) and `meta`
/// from its header. A directory gets its owner now and its mode and mtime
/// from the caller when the layer is done; everything else gets all three.
pub(super) fn create(
    path: &Path,
    node: &Node,
    data: &mut impl Read,
    meta: &Meta,
    options: &Options,
) -> io::Result<()> {
    // EXERCISE(write-entry): Create a file, directory, symlink, FIFO or device node, with its owner, mode and mtime.
    // Start each kind with `make_room` (unlink-then-create). Then:
    // - File: open with `create_new` (O_EXCL), `custom_flags(O_NOFOLLOW)`
    //   and mode CREATE_MODE, stream `data` into it with `io::copy` (never
    //   the whole file in memory), then `meta.apply_to_file`, which sets
    //   owner, mode and times in that order (chown clears setuid bits).
    // - Directory: create it (mode 0o700, so this layer can fill it) unless
    //   make_room kept one; set only the owner here.
    // - Symlink: `std::os::unix::fs::symlink`, target as it is; owner and
    //   times with `meta.set_owner` and `meta.set_times` (both no-follow).
    // - Fifo and Device: `mkfifo`/`mknod` with CREATE_MODE, then owner,
    //   `meta.set_special_mode` and times.
    // See book/src/step-02-layers.md#writing-entries.
    // HINT: Call `make_room` first, telling it whether the new node is a directory, and keep its
    // answer: a directory needs creating only when the room is `Room::Empty`.
    // HINT+: One `match node`. File: `OpenOptions` with `write` and `create_new`, plus `mode` and
    // `custom_flags` from `OpenOptionsExt` (`OFlag::O_NOFOLLOW`, as bits); `io::copy` into it, then
    // `apply_to_file`. Directory: `fs::DirBuilder` with `DirBuilderExt::mode`. Fifo and Device:
    // `mkfifo` or `mknod` with a `Mode` made from `CREATE_MODE` (`from_bits_truncate`). Owner
    // before mode before times, always: `chown` clears setuid bits.
    use nix::fcntl::OFlag;
    use nix::sys::stat::{Mode, mknod};
    use nix::unistd::mkfifo;
    use std::fs::{self, OpenOptions};
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, symlink};
    let kept = make_room(path, matches!(node, Node::Directory))?;
    match node {
        Node::File => {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(CREATE_MODE)
                .custom_flags(OFlag::O_NOFOLLOW.bits())
                .open(path)?;
            io::copy(data, &mut file)?;
            meta.apply_to_file(&file, options)
        }
        Node::Directory => {
            if kept == Room::Empty {
                fs::DirBuilder::new().mode(0o700).create(path)?;
            }
            meta.set_owner(path, options)
        }
        Node::Symlink(target) => {
            symlink(target, path)?;
            meta.set_owner(path, options)?;
            meta.set_times(path)
        }
        Node::Fifo | Node::Device { .. } => {
            let create_mode = Mode::from_bits_truncate(CREATE_MODE);
            match node {
                Node::Device { kind, device } => mknod(path, *kind, create_mode, *device)?,
                _ => mkfifo(path, create_mode)?,
            }
            meta.set_owner(path, options)?;
            meta.set_special_mode(path)?;
            meta.set_times(path)
        }
    }
    // END EXERCISE
}
// ANCHOR_END: write_entry

/// Why a hard link's target cannot be linked to.
#[allow(dead_code, reason = "only hardlink's solution builds two of them")]
#[derive(Debug)]
pub(super) enum LinkError {
    /// Nothing is at the target: it is in neither this layer nor a lower one.
    Missing,
    /// The target is a directory; hard links to directories are not allowed.
    Directory,
    Io(io::Error),
}

impl From<io::Error> for LinkError {
    fn from(error: io::Error) -> Self {
        LinkError::Io(error)
    }
}

// ANCHOR: hardlink
/// Makes `path` a hard link to `target`, both resolved inside the root.
/// The target may come from this layer or any lower one. A target that is
/// a symlink is linked as the symlink, not followed.
pub(super) fn link(path: &Path, target: &Path) -> Result<(), LinkError> {
    // EXERCISE(hardlink): Link to a file of this layer or a lower one, never to a directory.
    // `target` is already resolved inside the root, like `path`. Look at
    // it with `fs::symlink_metadata`: not found is LinkError::Missing, a
    // directory is LinkError::Directory. Then make room at `path`
    // (unlink-then-create) and
    // `fs::hard_link`, which on Linux does not follow a symlink target.
    // A hard link has no metadata of its own: it shares the target's inode.
    // See book/src/step-02-layers.md#hard-links.
    // HINT: Check the target before you touch `path`: a refused link must leave what is at `path`
    // alone.
    // HINT+: `fs::symlink_metadata` on `target` (not `fs::metadata`: a symlink is linked as
    // itself): `NotFound` is `LinkError::Missing`, `is_dir()` is `LinkError::Directory`, any other
    // error converts with `?` (`LinkError` is `From<io::Error>`). Then `make_room` for a
    // non-directory, and `fs::hard_link`, whose first argument is the existing file. A link has no
    // metadata of its own.
    use std::fs;
    let meta = match fs::symlink_metadata(target) {
        Ok(meta) => meta,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(LinkError::Missing),
        Err(error) => return Err(error.into()),
    };
    if meta.is_dir() {
        return Err(LinkError::Directory);
    }
    make_room(path, false)?;
    fs::hard_link(target, path)?;
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: hardlink

/// The unlink-then-create and hardlink exercises on their own, in a
/// temporary directory rather than through a layer.
#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, symlink};
    use workshop::{check, check_eq};

    const UNLINK: &str = "step-02-layers.md#unlink-then-create";
    const LINKS: &str = "step-02-layers.md#hard-links";

    /// What is at `path`, without following a symlink.
    fn what_is_at(path: &Path) -> &'static str {
        match fs::symlink_metadata(path) {
            Err(_) => "nothing",
            Ok(meta) if meta.is_dir() => "a directory",
            Ok(meta) if meta.is_symlink() => "a symlink",
            Ok(_) => "a file",
        }
    }

    #[test]
    fn make_room_removes_what_is_in_the_way() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path();
        fs::write(root.join("file"), "lower").unwrap();
        fs::create_dir_all(root.join("tree/deep")).unwrap();
        fs::write(root.join("tree/deep/x"), "lower").unwrap();
        fs::create_dir(root.join("target")).unwrap();
        fs::write(root.join("target/precious"), "host").unwrap();
        symlink(root.join("target"), root.join("link")).unwrap();

        for (name, new_is_directory, room, why) in [
            ("absent", false, Room::Empty, "nothing there"),
            ("file", false, Room::Empty, "a file, replaced by a file"),
            (
                "file",
                true,
                Room::Empty,
                "a file (gone now), replaced by a directory",
            ),
            (
                "tree",
                false,
                Room::Empty,
                "a directory tree, replaced by a file",
            ),
            (
                "link",
                true,
                Room::Empty,
                "a symlink to a directory, replaced by a directory",
            ),
            (
                "target",
                true,
                Room::KeptDirectory,
                "a directory, replaced by a directory",
            ),
        ] {
            let got = make_room(&root.join(name), new_is_directory).map_err(|e| e.to_string());
            check_eq!(
                got,
                Ok(room),
                read = UNLINK,
                "what make_room returns for {why}"
            );
        }
        for (name, expected) in [
            ("file", "nothing"),
            ("tree", "nothing"),
            ("link", "nothing"),
            ("target", "a directory"),
            ("target/precious", "a file"),
        ] {
            check_eq!(
                what_is_at(&root.join(name)),
                expected,
                read = UNLINK,
                "what is at {name} afterwards (the symlink goes, never what it points at)"
            );
        }
    }

    #[test]
    fn a_hard_link_shares_its_targets_inode_and_never_links_a_directory() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path();
        fs::write(root.join("target"), "contents").unwrap();
        fs::write(root.join("copy"), "a lower layer's file in the way").unwrap();
        fs::create_dir(root.join("dir")).unwrap();

        let linked = link(&root.join("copy"), &root.join("target"));
        check!(
            linked.is_ok(),
            expected = "a hard link made over the lower layer's file",
            got = linked,
            read = LINKS,
        );
        let inode = |name: &str| fs::symlink_metadata(root.join(name)).unwrap().ino();
        check_eq!(
            inode("copy"),
            inode("target"),
            read = LINKS,
            "the inodes of copy and target"
        );

        let to_directory = link(&root.join("dir-link"), &root.join("dir"));
        check!(
            matches!(to_directory, Err(LinkError::Directory)),
            expected = "LinkError::Directory: a hard link to a directory is refused",
            got = to_directory,
            read = LINKS,
        );
        let to_nothing = link(&root.join("ghost"), &root.join("absent"));
        check!(
            matches!(to_nothing, Err(LinkError::Missing)),
            expected = "LinkError::Missing: the target is in no layer",
            got = to_nothing,
            read = LINKS,
        );
    }
}
