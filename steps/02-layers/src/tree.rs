//! A stable text listing of a root filesystem, for snapshots and for
//! comparing our flattening with other tools' (such as `umoci raw unpack`).
//!
//! One line per entry below the root (the root itself is left out), sorted
//! by path byte for byte:
//!
//! ```text
//! /bin d 0755 0:0 - -
//! /bin/hello f 0755 0:0 200 sha256:26bf145897cd
//! /srv/app/current l 0777 0:0 - -> config.txt
//! /srv/app/pipe p 0644 0:0 - -
//! /dev/null c 0666 0:0 - 1,3
//! ```
//!
//! Columns: path, type (`d` directory, `f` file, `l` symlink, `p` FIFO,
//! `c`/`b` character/block device, `s` socket), mode in octal with the
//! setuid, setgid and sticky bits, owner `uid:gid`, size (files only), and
//! the first 12 hex digits of a file's sha256, a symlink's target or a
//! device's numbers. Hard links are files like any other: how many names
//! an inode has depends on how a tool unpacked, so link counts are only
//! shown when asked for. Nothing in a line depends on the clock or on the
//! file system (directory sizes do, so they are left out).
//!
//! Bytes of a name that are not UTF-8 are written `\xNN`, as are control
//! characters and `\` itself, so every line is one line and means one path.

use std::fmt::Write as _;
use std::fs::{self, File, Metadata};
use std::io::{self, ErrorKind};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::Error;

/// How many hex digits of a file's sha256 a listing shows.
const HASH_DIGITS: usize = 12;

/// What a listing shows beyond the default columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListingOptions {
    /// Show owners. Unpacked without root, every file belongs to whoever
    /// unpacked it: turn this off to compare such a tree with another.
    pub owners: bool,
    /// Add each non-directory's hard link count (`links=N`).
    pub link_counts: bool,
}

impl Default for ListingOptions {
    fn default() -> Self {
        ListingOptions {
            owners: true,
            link_counts: false,
        }
    }
}

/// The listing of the tree under `root`, with owners and without link counts.
pub fn listing(root: &Path) -> Result<String, Error> {
    listing_with(root, &ListingOptions::default())
}

/// The listing of the tree under `root`, one line per entry, each ending
/// with a newline.
pub fn listing_with(root: &Path, options: &ListingOptions) -> Result<String, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let mut entries: Vec<(PathBuf, Metadata)> = Vec::new();
    let mut directories = vec![root.to_path_buf()];
    while let Some(dir) = directories.pop() {
        for child in fs::read_dir(&dir).map_err(io(&dir))? {
            let path = child.map_err(io(&dir))?.path();
            let meta = fs::symlink_metadata(&path).map_err(io(&path))?;
            if meta.is_dir() {
                directories.push(path.clone());
            }
            entries.push((path, meta));
        }
    }
    entries.sort_by(|a, b| a.0.as_os_str().as_bytes().cmp(b.0.as_os_str().as_bytes()));
    let mut out = String::new();
    for (path, meta) in entries {
        let relative = path.strip_prefix(root).unwrap_or(&path);
        out.push('/');
        out.push_str(&escape(relative.as_os_str().as_bytes()));
        out.push_str(&line(&path, &meta, options).map_err(io(&path))?);
        out.push('\n');
    }
    Ok(out)
}

/// Everything after the path: ` type mode owner size detail [links=N]`.
fn line(path: &Path, meta: &Metadata, options: &ListingOptions) -> io::Result<String> {
    let kind = meta.file_type();
    let (letter, size, detail) = if kind.is_dir() {
        ('d', None, "-".to_string())
    } else if kind.is_file() {
        ('f', Some(meta.len()), content_hash(path)?)
    } else if kind.is_symlink() {
        let target = fs::read_link(path)?;
        let target = escape(target.as_os_str().as_bytes());
        ('l', None, format!("-> {target}"))
    } else if kind.is_fifo() {
        ('p', None, "-".to_string())
    } else if kind.is_socket() {
        ('s', None, "-".to_string())
    } else {
        let letter = if kind.is_char_device() { 'c' } else { 'b' };
        let device = meta.rdev();
        let numbers = format!(
            "{},{}",
            nix::sys::stat::major(device),
            nix::sys::stat::minor(device)
        );
        (letter, None, numbers)
    };
    let mut line = format!(" {letter} {:04o}", meta.mode() & 0o7777);
    if options.owners {
        write!(line, " {}:{}", meta.uid(), meta.gid()).expect("writing to a String");
    } else {
        line.push_str(" -");
    }
    match size {
        Some(size) => write!(line, " {size}").expect("writing to a String"),
        None => line.push_str(" -"),
    }
    write!(line, " {detail}").expect("writing to a String");
    if options.link_counts && !kind.is_dir() {
        write!(line, " links={}", meta.nlink()).expect("writing to a String");
    }
    Ok(line)
}

/// `sha256:` and the first hex digits of the file's contents, read as a
/// stream. A file we may not read (mode 000 when not root) says so.
fn content_hash(path: &Path) -> io::Result<String> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::PermissionDenied => {
            return Ok("unreadable".to_string());
        }
        Err(error) => return Err(error),
    };
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    let mut hex = String::new();
    for byte in hasher.finalize() {
        write!(hex, "{byte:02x}").expect("writing to a String");
    }
    hex.truncate(HASH_DIGITS);
    Ok(format!("sha256:{hex}"))
}

/// `bytes` as text, with invalid UTF-8, control characters and `\`
/// written `\xNN`.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let hex = |out: &mut String, byte: u8| {
        write!(out, "\\x{byte:02x}").expect("writing to a String");
    };
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '\\' {
                let mut buf = [0; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    hex(&mut out, byte);
                }
            } else {
                out.push(c);
            }
        }
        for &byte in chunk.invalid() {
            hex(&mut out, byte);
        }
    }
    out
}
