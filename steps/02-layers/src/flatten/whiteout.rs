//! Whiteouts: how a layer deletes what the layers below it wrote.
//!
//! A tar can only add files, so deletions are written as marker files
//! (the OCI image spec's "whiteouts", from the AUFS union file system):
//!
//! - `dir/.wh.NAME` deletes `dir/NAME`, and everything below it, from the
//!   lower layers;
//! - `dir/.wh..wh..opq` makes `dir` *opaque*: all of its children from the
//!   lower layers are hidden, as if this layer had made `dir` afresh.
//!
//! Neither ever touches what the layer itself writes, wherever the marker
//! sits in the tar: the set of paths written so far ([`Written`]) is what
//! keeps them. The markers themselves are never written to disk.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

// ANCHOR: markers
/// The prefix of a whiteout's file name.
const WHITEOUT_PREFIX: &[u8] = b".wh.";

/// The file name of the opaque marker. It starts with the whiteout prefix
/// too, so it must be recognised first.
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
// ANCHOR_END: markers

/// A whiteout marker, from the file name of a layer entry.
#[allow(dead_code, reason = "only whiteout's solution builds the variants")]
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Marker {
    /// `.wh..wh..opq`: hide the lower layers' children of this directory.
    Opaque,
    /// `.wh.NAME`: delete `NAME`, a sibling of the marker, from lower layers.
    Whiteout(OsString),
}

impl Marker {
    // ANCHOR: whiteout
    /// The marker a file name makes, if any. A whiteout of `.`, `..` or of
    /// nothing at all names no sibling: it is refused with the reason.
    pub(super) fn of(file_name: &OsStr) -> Result<Option<Marker>, &'static str> {
        // EXERCISE(whiteout): Recognise the opaque marker and `.wh.NAME` whiteouts by their file names.
        // Return Ok(None) for an ordinary name. The opaque marker
        // (OPAQUE_MARKER) also starts with WHITEOUT_PREFIX: test for it
        // first, or it is read as a whiteout of a file named `.wh..opq`.
        // For `.wh.NAME`, NAME is what gets deleted, a sibling of the
        // marker: refuse an empty NAME, `.` and `..` (`.wh...` would delete
        // the parent directory: an escape). See
        // book/src/step-02-layers.md#whiteouts.
        // HINT: Work on the name's bytes (`OsStrExt::as_bytes`): names need not be UTF-8. Compare
        // with the whole opaque marker before you look for the `.wh.` prefix.
        // HINT+: Equal to `OPAQUE_MARKER`: `Marker::Opaque`. Else `<[u8]>::strip_prefix` with
        // `WHITEOUT_PREFIX` gives the hidden name, or `None` for an ordinary file. Match what
        // remains: empty, `.` or `..` is an `Err` with a `&'static str` reason; anything else goes
        // back to an `OsString` with `OsStr::from_bytes` and `to_os_string`.
        use std::os::unix::ffi::OsStrExt;
        let bytes = file_name.as_bytes();
        if bytes == OPAQUE_MARKER {
            return Ok(Some(Marker::Opaque));
        }
        let Some(hidden) = bytes.strip_prefix(WHITEOUT_PREFIX) else {
            return Ok(None);
        };
        match hidden {
            b"" => Err("its whiteout names no file"),
            b"." | b".." => Err("its whiteout names `.` or `..`, not a sibling"),
            name => Ok(Some(Marker::Whiteout(
                OsStr::from_bytes(name).to_os_string(),
            ))),
        }
        // END EXERCISE
    }
    // ANCHOR_END: whiteout
}

/// The paths on disk this layer has written so far, so its own whiteouts
/// and opaque markers can spare them.
#[derive(Debug, Default)]
pub(super) struct Written(HashSet<PathBuf>);

impl Written {
    /// Records that this layer wrote `path`, and so the directories above
    /// it too, whether or not the layer lists them: an opaque marker on one
    /// of them must look inside rather than delete it.
    pub(super) fn insert(&mut self, path: &Path) {
        for ancestor in path.ancestors() {
            if !self.0.insert(ancestor.to_path_buf()) {
                break;
            }
        }
    }

    pub(super) fn contains(&self, path: &Path) -> bool {
        self.0.contains(path)
    }

    /// Deletes what the lower layers put at `path`: all of it if this layer
    /// did not write `path`; if it did and `path` is a directory, the
    /// children this layer did not write, recursively. A missing `path` is
    /// nothing to delete. Symbolic links are deleted, never followed.
    // ANCHOR: remove_lower
    pub(super) fn remove_lower(&self, path: &Path) -> io::Result<()> {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(error) if is_missing(&error) => return Ok(()),
            Err(error) => return Err(error),
        };
        if !self.contains(path) {
            return if meta.is_dir() {
                fs::remove_dir_all(path)
            } else {
                fs::remove_file(path)
            };
        }
        if meta.is_dir() {
            hide_lower_children(path, self)?;
        }
        Ok(())
    }
    // ANCHOR_END: remove_lower
}

// ANCHOR: opaque_directory
/// Applies an opaque marker: deletes every child of `dir` that came from a
/// lower layer, and keeps what this layer (`written`) put there.
pub(super) fn hide_lower_children(dir: &Path, written: &Written) -> io::Result<()> {
    // EXERCISE(opaque-directory): Hide the lower layers' children of an opaque directory, keeping this layer's.
    // List `dir` with `fs::read_dir` (a `dir` that does not exist, or is
    // not a directory, hides nothing: return Ok, `is_missing` tells) and
    // hand every child's
    // path to `written.remove_lower`, which deletes it unless this layer
    // wrote it, and looks inside the directories it did write. The marker
    // can come after this layer's own entries of `dir`: they must stay. See
    // book/src/step-02-layers.md#opaque-directories.
    // HINT: Do not delete the children yourself: `written.remove_lower` knows which ones this layer
    // wrote, and keeps them.
    // HINT+: `fs::read_dir(dir)` fails when `dir` is missing or is not a directory; `is_missing`
    // recognises both, and then there is nothing to hide: `Ok(())`. Any other error is returned.
    // Each item of the listing is an `io::Result<DirEntry>`: `?` it and pass its `path()` on.
    let children = match fs::read_dir(dir) {
        Ok(children) => children,
        Err(error) if is_missing(&error) => return Ok(()),
        Err(error) => return Err(error),
    };
    for child in children {
        written.remove_lower(&child?.path())?;
    }
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: opaque_directory

/// Whether `error` says there is nothing at a path: it does not exist, or
/// one of its parents is not a directory. Either way nothing is hidden.
fn is_missing(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// The whiteout and opaque-directory exercises on their own, without a
/// layer: the names, then what an opaque marker deletes.
#[cfg(test)]
mod tests {
    use super::*;
    use workshop::check_eq;

    const WHITEOUTS: &str = "step-02-layers.md#whiteouts";
    const OPAQUE: &str = "step-02-layers.md#opaque-directories";

    #[test]
    fn whiteout_names_are_recognised_and_the_dangerous_ones_refused() {
        let cases: [(&str, &str); 7] = [
            ("notes.txt", "an ordinary file"),
            (".wh..wh..opq", "the opaque marker"),
            (".wh.notes.txt", "a whiteout of notes.txt"),
            (".wh..wh.", "a whiteout of .wh."),
            (".wh.", "refused"),
            (".wh..", "refused"),
            (".wh...", "refused"),
        ];
        for (name, expected) in cases {
            let got = match Marker::of(OsStr::new(name)) {
                Ok(None) => "an ordinary file".to_string(),
                Ok(Some(Marker::Opaque)) => "the opaque marker".to_string(),
                Ok(Some(Marker::Whiteout(hidden))) => {
                    format!("a whiteout of {}", hidden.to_string_lossy())
                }
                Err(_) => "refused".to_string(),
            };
            check_eq!(got, expected, read = WHITEOUTS, "what the name {name:?} is");
        }
    }

    /// `dir` with `lower` (a file), `kept/` (a directory this layer wrote)
    /// holding `kept/old` (lower) and `kept/new` (this layer's), and
    /// `mine` (this layer's file); returns what this layer wrote.
    fn opaque_tree(dir: &Path) -> Written {
        fs::create_dir_all(dir.join("kept")).unwrap();
        for file in ["lower", "kept/old", "kept/new", "mine"] {
            fs::write(dir.join(file), file).unwrap();
        }
        let mut written = Written::default();
        written.insert(&dir.join("kept/new"));
        written.insert(&dir.join("mine"));
        written
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = walk(dir, dir);
        names.sort();
        names
    }

    fn walk(root: &Path, dir: &Path) -> Vec<String> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            names.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                names.extend(walk(root, &path));
            }
        }
        names
    }

    #[test]
    fn an_opaque_directory_loses_the_lower_children_and_keeps_this_layers() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("dir");
        let written = opaque_tree(&dir);
        hide_lower_children(&dir, &written).unwrap();
        check_eq!(
            listing(&dir),
            ["kept", "kept/new", "mine"],
            read = OPAQUE,
            "what is left in an opaque directory"
        );
    }

    #[test]
    fn an_opaque_marker_in_a_missing_directory_hides_nothing() {
        let temp = tempfile::tempdir().unwrap();
        let result = hide_lower_children(&temp.path().join("absent"), &Written::default());
        check_eq!(
            result.map_err(|e| e.to_string()),
            Ok(()),
            read = OPAQUE,
            "an opaque marker in a directory that does not exist"
        );
    }
}
