//! Extended attributes: `SCHILY.xattr.<name>` PAX records, as GNU tar
//! `--xattrs`, BuildKit and umoci write them.
//!
//! The one that matters most is `security.capability`: file capabilities,
//! how `ping` may open a raw socket without being setuid root
//! (`cap_net_raw=ep`). The kernel keeps them as an attribute, and clears it
//! on `chown`, so attributes are set after the owner. `user.*` attributes
//! carry what tools (and some programs) note about a file.
//!
//! Only a privileged process may set `security.*` and `trusted.*`
//! attributes, and some file systems take none at all. An attribute that
//! cannot be set is left out and reported ([`Skipped`]), never a failed
//! layer: that is what a normal user's pull of such an image can do.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;

use crate::error::Error;

/// The prefix of the PAX records that carry extended attributes.
const PAX_PREFIX: &[u8] = b"SCHILY.xattr.";

/// The namespaces a layer's attributes may be in. Others (`system.*`, which
/// holds ACLs written another way) are not attributes a file carries.
const NAMESPACES: [&[u8]; 3] = [b"user.", b"security.", b"trusted."];

/// An attribute of a layer entry that was left out, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The entry's name in the layer.
    pub entry: String,
    /// The attribute's name, such as `security.capability`.
    pub name: String,
    pub reason: String,
}

/// One entry's attributes: (name, value), in the order of the records.
pub type Attributes = Vec<(Vec<u8>, Vec<u8>)>;

/// The attributes an image records of a node on disk (`push --from`,
/// `create`, `export`), sorted by name so the same tree always gives the
/// same layer: `security.capability`, `user.*` and `trusted.*`, as Docker,
/// containerd and umoci keep them. Other `security.*` attributes (an SELinux
/// label) belong to the machine, not the image. Links are not followed.
pub fn recorded(path: &Path) -> io::Result<Attributes> {
    let names = match xattr::list(path) {
        Ok(names) => names,
        Err(e) if e.raw_os_error() == Some(Errno::EOPNOTSUPP as i32) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for name in names {
        let bytes = name.as_bytes();
        if bytes == b"security.capability"
            || bytes.starts_with(b"user.")
            || bytes.starts_with(b"trusted.")
        {
            // Gone since the listing: nothing to record.
            if let Some(value) = xattr::get(path, &name)? {
                found.push((bytes.to_vec(), value));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Appends a PAX header with the extended attributes of the node at `path`
/// (file capabilities, `user.*`), when it has any, for the entry after it:
/// `SCHILY.xattr.<name>` records, as GNU tar `--xattrs` and umoci write
/// them. A node without attributes adds nothing, so a tree without any
/// gives the same bytes as a writer that knows nothing of attributes.
pub fn append_recorded<W: std::io::Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
) -> io::Result<()> {
    let attributes = recorded(path)?;
    if attributes.is_empty() {
        return Ok(());
    }
    let records = pax_records(&attributes);
    let mut header = tar::Header::new_ustar();
    header.set_path("././@PaxHeader")?;
    header.set_entry_type(tar::EntryType::XHeader);
    header.set_mode(0o644);
    header.set_size(records.len() as u64);
    header.set_cksum();
    builder.append(&header, records.as_slice())
}

/// The PAX records that carry `attributes` in a tar, in their order.
pub fn pax_records(attributes: &Attributes) -> Vec<u8> {
    let mut records = Vec::new();
    for (name, value) in attributes {
        let key = [PAX_PREFIX, name].concat();
        // "<length> <key>=<value>\n", where the length counts itself.
        let rest = key.len() + value.len() + 3;
        let mut length = rest + 1;
        while length != rest + length.to_string().len() {
            length = rest + length.to_string().len();
        }
        records.extend_from_slice(format!("{length} ").as_bytes());
        records.extend_from_slice(&key);
        records.push(b'=');
        records.extend_from_slice(value);
        records.push(b'\n');
    }
    records
}

/// The extended attributes the PAX records of `entry` carry.
pub(super) fn of(entry: &mut tar::Entry<'_, impl Read>) -> Result<Attributes, Error> {
    let Some(extensions) = entry
        .pax_extensions()
        .map_err(|source| Error::Tar { source })?
    else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for extension in extensions {
        let extension = extension.map_err(|source| Error::Tar { source })?;
        if let Some(name) = extension.key_bytes().strip_prefix(PAX_PREFIX) {
            found.push((name.to_vec(), extension.value_bytes().to_vec()));
        }
    }
    Ok(found)
}

// ANCHOR: set_attributes
/// Sets `attributes` on the node just created at `path` (resolved inside
/// the root), after its owner. Returns those that could not be set.
///
/// The node is opened with `O_PATH | O_NOFOLLOW` and the attribute set
/// through `/proc/self/fd/N`, as runc and umoci do: the descriptor is the
/// node itself, even a symlink, and never what a symlink points to.
pub(super) fn set(
    path: &Path,
    entry: &str,
    attributes: &Attributes,
    privileged: bool,
) -> Result<Vec<Skipped>, Error> {
    let mut skipped = Vec::new();
    for (name, value) in attributes {
        let shown = String::from_utf8_lossy(name).into_owned();
        let skip = |reason: String| Skipped {
            entry: entry.to_string(),
            name: shown.clone(),
            reason,
        };
        if !NAMESPACES.iter().any(|ns| name.starts_with(ns)) {
            skipped.push(skip("not a namespace a file's attributes live in".into()));
            continue;
        }
        match set_one(path, OsStr::from_bytes(name), value, privileged) {
            Ok(()) => {}
            Err(error) if not_for_us(&error) => skipped.push(skip(why(&error, name))),
            Err(source) => {
                return Err(Error::Extract {
                    entry: format!("{entry} (extended attribute {shown})"),
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(skipped)
}
// ANCHOR_END: set_attributes

fn set_one(path: &Path, name: &OsStr, value: &[u8], privileged: bool) -> io::Result<()> {
    let fd = open(
        path,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let node = format!("/proc/self/fd/{}", fd.as_raw_fd());
    match xattr::set_deref(&node, name, value) {
        // A normal user needs write permission for `user.*`, and the file's
        // mode (already set) may not give it: lend it for the call. The
        // node was made a moment ago and is not a symlink (those take no
        // `user.*`), so `path` is it.
        Err(e) if e.raw_os_error() == Some(Errno::EACCES as i32) && !privileged => {
            let meta = fs::symlink_metadata(path)?;
            if meta.file_type().is_symlink() || meta.permissions().mode() & 0o200 != 0 {
                return Err(e);
            }
            let mode = meta.permissions().mode() & 0o7777;
            fs::set_permissions(path, fs::Permissions::from_mode(mode | 0o200))?;
            let set = xattr::set_deref(&node, name, value);
            fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
            set
        }
        other => other,
    }
}

/// Whether an error means "not by this user, or not on this file system"
/// rather than a disk or a layer that is broken.
fn not_for_us(error: &io::Error) -> bool {
    [
        Errno::EPERM,
        Errno::EACCES,
        Errno::EOPNOTSUPP,
        Errno::E2BIG,
        Errno::ERANGE,
        Errno::EINVAL,
    ]
    .iter()
    .any(|errno| error.raw_os_error() == Some(*errno as i32))
}

/// A reason a person can act on.
fn why(error: &io::Error, name: &[u8]) -> String {
    let privileged = name.starts_with(b"security.") || name.starts_with(b"trusted.");
    match error.raw_os_error().map(Errno::from_raw) {
        Some(Errno::EPERM | Errno::EACCES) if privileged => {
            "setting it needs root; pull as root to keep it".into()
        }
        Some(Errno::EOPNOTSUPP) => "this file system does not store it".into(),
        _ => error.to_string(),
    }
}
