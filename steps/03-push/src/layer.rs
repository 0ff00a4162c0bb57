//! A layer from a directory: a tar stream that is the same bytes every time
//! for the same tree, gzip-compressed, with its digest (of the compressed
//! bytes) and DiffID (of the tar) computed in the same pass.
//!
//! Deterministic means: entries sorted by name, numeric owners with no user
//! or group names, modification times set to zero unless asked to keep them,
//! and a gzip header without a time or a file name. Push the same directory
//! twice and the registry sees the same blob.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use step_01_registry::digest::Digest;
use step_02_layers::flatten::append_recorded_attributes;

/// How to build a layer.
#[derive(Clone, Copy, Debug, Default)]
pub struct LayerOptions {
    /// Keep each file's modification time instead of setting all to zero.
    pub keep_mtimes: bool,
}

/// The two names of a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerDigests {
    /// `sha256:` of the compressed bytes: the blob's name in the registry.
    pub digest: Digest,
    /// Size of the compressed bytes.
    pub size: u64,
    /// `sha256:` of the uncompressed tar: what the config's `rootfs.diff_ids` lists.
    pub diff_id: Digest,
}

// ANCHOR: layer_digests
/// Writes the layer for `dir` to `out`, streaming: nothing is held whole.
pub fn write_layer(dir: &Path, options: &LayerOptions, out: impl Write) -> Result<LayerDigests> {
    // EXERCISE(layer-digests): Stream tar -> hash -> gzip -> hash -> out, and return both digests.
    // Build the pipeline from the outside in: `Hashing` around `out` counts and
    // hashes the compressed bytes (the digest); a `GzEncoder` around that
    // (made with `gzip_header()` so the header holds no time); `Hashing`
    // around the encoder hashes the tar itself (the DiffID). Give the inner
    // `Hashing` to `tar::Builder` and let `append_tree` write the entries.
    // Then finish the tar, then the gzip stream, and read off both hashes.
    // HINT: The DiffID hashes the tar, the digest the gzip bytes: the `Hashing` next to `out` is
    // the digest's. Finish from the inside out, or a hash misses the last bytes.
    // HINT+: Nest as the instructions say: `Hashing::new(out)`, `gzip_header().write` with
    // `flate2::Compression::default()`, another `Hashing`, `tar::Builder::new`. After
    // `append_tree`, `Builder::into_inner` ends the tar and gives back the inner `Hashing`, whose
    // `finish()` gives the encoder and the DiffID; `GzEncoder::finish` writes the trailer and gives
    // back the outer `Hashing`, whose `finish()` gives `out`, the digest and the size. Flush `out`.
    use step_01_registry::digest::Hashing;
    let compressed = Hashing::new(out);
    let encoder = gzip_header().write(compressed, flate2::Compression::default());
    let tar_hashing = Hashing::new(encoder);
    let mut builder = tar::Builder::new(tar_hashing);
    append_tree(&mut builder, dir, options)?;
    let tar_hashing = builder.into_inner().map_err(io_error(dir))?;
    let (encoder, diff_id, _) = tar_hashing.finish();
    let compressed = encoder.finish().map_err(io_error(dir))?;
    let (mut out, digest, size) = compressed.finish();
    out.flush().map_err(io_error(dir))?;
    Ok(LayerDigests {
        digest,
        size,
        diff_id,
    })
    // END EXERCISE
}
// ANCHOR_END: layer_digests

// ANCHOR: gzip_header
/// A gzip header with no modification time and no file name, so the same
/// tar always compresses to the same bytes.
fn gzip_header() -> flate2::GzBuilder {
    flate2::GzBuilder::new().mtime(0)
}
// ANCHOR_END: gzip_header

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

// ANCHOR: append_tree
/// Appends everything under `dir`, sorted, as entries named relative to it.
#[allow(dead_code, reason = "only layer-digests' solution calls it")]
fn append_tree<W: Write>(
    builder: &mut tar::Builder<W>,
    dir: &Path,
    options: &LayerOptions,
) -> Result<()> {
    let mut inodes: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        let full = dir.join(&relative);
        let mut names: Vec<_> = std::fs::read_dir(&full)
            .map_err(io_error(&full))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()
            .map_err(io_error(&full))?;
        names.sort();
        // Children are pushed in reverse so they come off the stack in order;
        // a directory's entries follow it directly.
        let mut subdirs = Vec::new();
        for name in names {
            let entry = relative.join(&name);
            let path = dir.join(&entry);
            append_recorded_attributes(builder, &path).map_err(io_error(&path))?;
            let is_dir = append_entry(builder, dir, &entry, options, &mut inodes)?;
            if is_dir {
                subdirs.push(entry);
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(())
}
// ANCHOR_END: append_tree

// ANCHOR: tar_header
/// The header every entry starts from: what the tar records of `meta`,
/// made deterministic.
fn header(meta: &std::fs::Metadata, options: &LayerOptions) -> tar::Header {
    // EXERCISE(tar-header): Start a GNU tar header from the entry's metadata, the same every time.
    // `tar::Header::new_gnu()`, then: the mode with its setuid, setgid and
    // sticky bits (`& 0o7777`), the numeric uid and gid (never names), an
    // mtime of 0 unless `options.keep_mtimes`, and a size of 0 (a regular
    // file sets its own). See book/src/step-03-push.md#a-layer-from-a-directory.
    // HINT: `std::os::unix::fs::MetadataExt` gives `mode()`, `uid()`, `gid()` and `mtime()`;
    // the header has a setter for each.
    // HINT+: `mode()` also holds the file type in its high bits: mask them off. `mtime()` is an
    // `i64` that can be negative (a file from before 1970); the header takes a `u64`.
    use std::os::unix::fs::MetadataExt;
    let mut header = tar::Header::new_gnu();
    header.set_mode(meta.mode() & 0o7777);
    header.set_uid(u64::from(meta.uid()));
    header.set_gid(u64::from(meta.gid()));
    header.set_mtime(if options.keep_mtimes {
        meta.mtime().max(0) as u64
    } else {
        0
    });
    header.set_size(0);
    header
    // END EXERCISE
}
// ANCHOR_END: tar_header

// ANCHOR: hard_link_names
/// The name under which the inode of `meta` was already written, if it
/// was; otherwise `entry` is remembered as its first name.
fn earlier_name(
    inodes: &mut HashMap<(u64, u64), PathBuf>,
    meta: &std::fs::Metadata,
    entry: &Path,
) -> Option<PathBuf> {
    // EXERCISE(hard-link-names): Recognise the second name of a file already written.
    // Only a file with more than one name (`nlink() > 1`) can have been
    // written before; a directory never counts. An inode is its
    // `(dev(), ino())` pair: found in `inodes`, return the first name;
    // not found, remember `entry` as its first name and return None. See
    // book/src/step-03-push.md#a-layer-from-a-directory.
    // HINT: Two names are one file when their device and inode numbers are equal:
    // `MetadataExt::dev` and `ino`.
    // HINT+: Return early for `nlink() < 2` and for directories. Then `HashMap::get` the pair:
    // a hit is the earlier name (clone it); a miss is this name's turn to be remembered.
    use std::os::unix::fs::MetadataExt;
    if meta.nlink() < 2 || meta.is_dir() {
        return None;
    }
    let inode = (meta.dev(), meta.ino());
    if let Some(first) = inodes.get(&inode) {
        return Some(first.clone());
    }
    inodes.insert(inode, entry.to_path_buf());
    None
    // END EXERCISE
}
// ANCHOR_END: hard_link_names

// ANCHOR: tar_entry
/// Appends one entry; returns whether it is a directory (to descend into).
fn append_entry<W: Write>(
    builder: &mut tar::Builder<W>,
    root: &Path,
    entry: &Path,
    options: &LayerOptions,
    inodes: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<bool> {
    // EXERCISE(tar-entry): Write one tar entry for a file, directory, link or device.
    // Read the entry's metadata without following links (`symlink_metadata`)
    // and start from `header(&meta, options)`. Then by type: a directory
    // (its name, no data; return true so the walk descends), a symlink (its
    // target as `read_link` gives it, never followed), a second name of an
    // inode already written (`earlier_name`: a hard link to the first name),
    // a regular file (its size, and its bytes streamed from disk), a FIFO or
    // a device (its major and minor numbers). Sockets cannot be archived:
    // `Error::Unsupported`. See book/src/step-03-push.md#exercise-tar-entry-deep-dive.
    // HINT: Write entries with `tar::Builder::append_data`, and symlinks and hard links with
    // `append_link`: both handle names over 100 bytes (the GNU long-name record) and the checksum.
    // HINT+: Set each header's `EntryType` before appending. By `file_type()`: a directory has
    // no data; a symlink takes `fs::read_link`'s target; `earlier_name` giving a name means an
    // `EntryType::Link` to it. A file's size is its `len()`, its data an open `File`; device
    // numbers come from `rdev()` through `nix::sys::stat::major` and `minor`.
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let full = root.join(entry);
    let meta = std::fs::symlink_metadata(&full).map_err(io_error(&full))?;
    let file_type = meta.file_type();
    let mut header = header(&meta, options);
    let append = |builder: &mut tar::Builder<W>,
                  header: &mut tar::Header,
                  name: &Path,
                  data: &mut dyn io::Read| {
        builder
            .append_data(header, name, data)
            .map_err(io_error(&full))
    };
    if file_type.is_dir() {
        header.set_entry_type(tar::EntryType::Directory);
        append(builder, &mut header, entry, &mut io::empty())?;
        return Ok(true);
    }
    if file_type.is_symlink() {
        let target = std::fs::read_link(&full).map_err(io_error(&full))?;
        header.set_entry_type(tar::EntryType::Symlink);
        builder
            .append_link(&mut header, entry, &target)
            .map_err(io_error(&full))?;
        return Ok(false);
    }
    if let Some(first) = earlier_name(inodes, &meta, entry) {
        header.set_entry_type(tar::EntryType::Link);
        builder
            .append_link(&mut header, entry, &first)
            .map_err(io_error(&full))?;
        return Ok(false);
    }
    if file_type.is_file() {
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(meta.len());
        let mut file = std::fs::File::open(&full).map_err(io_error(&full))?;
        append(builder, &mut header, entry, &mut file)?;
    } else if file_type.is_fifo() || file_type.is_char_device() || file_type.is_block_device() {
        header.set_entry_type(if file_type.is_fifo() {
            tar::EntryType::Fifo
        } else if file_type.is_char_device() {
            tar::EntryType::Char
        } else {
            tar::EntryType::Block
        });
        let rdev = meta.rdev();
        header
            .set_device_major(nix::sys::stat::major(rdev) as u32)
            .and_then(|()| header.set_device_minor(nix::sys::stat::minor(rdev) as u32))
            .map_err(io_error(&full))?;
        append(builder, &mut header, entry, &mut io::empty())?;
    } else {
        return Err(Error::Unsupported {
            path: full,
            reason: "a socket is made by a running program and cannot be archived".into(),
        });
    }
    Ok(false)
    // END EXERCISE
}
// ANCHOR_END: tar_entry

/// The three exercises of an entry on their own: a header, second names,
/// and entries written to a tar in memory and read back.
#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
    use workshop::{check, check_eq};

    const READ: &str = "step-03-push.md#a-layer-from-a-directory";

    #[test]
    fn a_header_keeps_the_mode_bits_and_numeric_owners_and_drops_the_time() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("tool");
        fs::write(&tool, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&tool, fs::Permissions::from_mode(0o4755)).unwrap();
        let meta = fs::symlink_metadata(&tool).unwrap();
        let made = |keep_mtimes| {
            let header = header(&meta, &LayerOptions { keep_mtimes });
            (
                header.mode().unwrap(),
                header.uid().unwrap(),
                header.gid().unwrap(),
                header.mtime().unwrap(),
                header.size().unwrap(),
            )
        };
        let (uid, gid) = (u64::from(meta.uid()), u64::from(meta.gid()));
        check_eq!(
            made(false),
            (0o4755, uid, gid, 0, 0),
            read = READ,
            "(mode, uid, gid, mtime, size) of a setuid file's header"
        );
        check_eq!(
            made(true).3,
            meta.mtime() as u64,
            read = READ,
            "the mtime with keep_mtimes"
        );
    }

    #[test]
    fn the_second_name_of_a_file_is_its_first_name() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("first"), "one file").unwrap();
        fs::hard_link(dir.path().join("first"), dir.path().join("second")).unwrap();
        fs::write(dir.path().join("alone"), "one name").unwrap();
        let meta = |name: &str| fs::symlink_metadata(dir.path().join(name)).unwrap();
        let mut inodes = HashMap::new();
        let names: Vec<Option<PathBuf>> = ["alone", "first", "second", "alone"]
            .iter()
            .map(|name| earlier_name(&mut inodes, &meta(name), Path::new(name)))
            .collect();
        check_eq!(
            names,
            [None, None, Some(PathBuf::from("first")), None],
            read = READ,
            "earlier_name for alone, first, second, and alone again"
        );
    }

    /// `(type, name, link target)` of every entry of `tar`.
    fn entries(tar: &[u8]) -> Vec<(String, String, String)> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let target = entry
                    .link_name()
                    .unwrap()
                    .map_or(String::new(), |t| t.display().to_string());
                (
                    format!("{:?}", entry.header().entry_type()),
                    entry.path().unwrap().display().to_string(),
                    target,
                )
            })
            .collect()
    }

    #[test]
    fn each_kind_of_file_becomes_its_kind_of_entry() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("etc")).unwrap();
        fs::write(root.join("etc/config"), "key=value\n").unwrap();
        fs::hard_link(root.join("etc/config"), root.join("etc/again")).unwrap();
        symlink("config", root.join("etc/link")).unwrap();
        nix::unistd::mkfifo(
            &root.join("pipe"),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let mut inodes = HashMap::new();
        let options = LayerOptions::default();
        let mut descend = Vec::new();
        for name in ["etc", "etc/config", "etc/again", "etc/link", "pipe"] {
            let is_dir =
                append_entry(&mut builder, root, Path::new(name), &options, &mut inodes).unwrap();
            descend.push(is_dir);
        }
        let tar = builder.into_inner().unwrap();
        let entry = |kind: &str, name: &str, target: &str| {
            (kind.to_string(), name.to_string(), target.to_string())
        };
        check_eq!(
            entries(&tar),
            [
                entry("Directory", "etc", ""),
                entry("Regular", "etc/config", ""),
                entry("Link", "etc/again", "etc/config"),
                entry("Symlink", "etc/link", "config"),
                entry("Fifo", "pipe", ""),
            ],
            read = READ,
            "(type, name, link target) of each entry"
        );
        check_eq!(
            descend,
            [true, false, false, false, false],
            read = READ,
            "what append_entry returned for each (true: a directory to descend into)"
        );
    }

    #[test]
    fn a_socket_cannot_be_archived() {
        let dir = tempfile::tempdir().unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("socket")).unwrap();
        let mut builder = tar::Builder::new(Vec::new());
        let result = append_entry(
            &mut builder,
            dir.path(),
            Path::new("socket"),
            &LayerOptions::default(),
            &mut HashMap::new(),
        );
        check!(
            matches!(result, Err(Error::Unsupported { .. })),
            expected = "Error::Unsupported for a socket",
            got = result,
            read = READ,
        );
    }
}
