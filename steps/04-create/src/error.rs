//! The step's one error type.
//!
//! Every message names the file it is about and says what is wrong; where
//! the user can do something about it (a script needs its interpreter, a
//! library is missing), it says what.

use std::io;
use std::path::PathBuf;
use step_01_registry::error::Kind;

use crate::elf::Machine;

/// What can go wrong while reading binaries, finding their libraries and
/// copying them into a new root filesystem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- Finding the binaries ------------------------------------------
    /// A binary given by name is in none of the `PATH` directories.
    #[error("{name}: not found in PATH ({path}); give its path instead, such as /usr/bin/{name}")]
    BinaryNotFound { name: String, path: String },

    /// Nothing to build an image from.
    #[error("no binaries given: an image needs at least one program to run")]
    NoBinaries,

    // ----- Reading ELF files ---------------------------------------------
    /// The file does not start with the ELF magic bytes. `what` says what
    /// it looks like instead (a script, an empty file, ...).
    #[error("{path} is not an ELF binary: {what}")]
    NotElf { path: PathBuf, what: String },

    /// An ELF file of a kind this step does not read: 32-bit or big-endian.
    #[error(
        "{path} is {kind} ELF; only 64-bit little-endian ELF files (x86_64, aarch64) are supported"
    )]
    UnsupportedElf { path: PathBuf, kind: String },

    /// An ELF file whose headers contradict themselves or point past its end.
    #[error("{path} is a broken ELF file: {reason}")]
    Malformed { path: PathBuf, reason: String },

    /// A library or interpreter built for another processor than the binary.
    #[error("{path} is built for {found}, but the binary needs {expected}")]
    WrongMachine {
        path: PathBuf,
        found: Machine,
        expected: Machine,
    },

    // ----- Resolving libraries -------------------------------------------
    /// A `DT_NEEDED` library that is in none of the directories searched.
    #[error(
        "{library}, needed by {needed_by}, was not found; searched: {}",
        searched_list(.searched)
    )]
    LibraryNotFound {
        library: String,
        needed_by: PathBuf,
        searched: Vec<PathBuf>,
    },

    // ----- Copying into the root -----------------------------------------
    /// Following symbolic links met more than [`crate::copy::MAX_SYMLINKS`]
    /// of them: a loop.
    #[error("{path}: too many levels of symbolic links")]
    SymlinkLoop { path: PathBuf },

    /// The new root already holds something else where a file goes.
    #[error("{image_path} in the image is already {existing}; cannot put {host} there")]
    Conflict {
        image_path: PathBuf,
        existing: String,
        host: PathBuf,
    },

    /// An `--add` argument that is not `SRC:DEST` with an absolute `DEST`.
    #[error("invalid --add {spec:?}: {reason} (expected SRC:DEST, such as ./etc:/etc)")]
    Add { spec: String, reason: &'static str },

    /// Something `--add` names that cannot go into an image.
    #[error("cannot add {path}: {reason}")]
    CannotAdd { path: PathBuf, reason: &'static str },

    // ----- Files on disk -------------------------------------------------
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },

    // ----- Making it an image in the store ---------------------------------
    /// Building the layer or the config, or installing the image, failed.
    #[error(transparent)]
    Image(Box<step_03_push::Error>),
}

impl From<step_03_push::Error> for Error {
    fn from(error: step_03_push::Error) -> Error {
        Error::Image(Box::new(error))
    }
}

impl From<step_02_layers::error::Error> for Error {
    fn from(error: step_02_layers::error::Error) -> Error {
        Error::Image(Box::new(error.into()))
    }
}

/// The searched directories, comma-separated, or a word when there were none.
fn searched_list(searched: &[PathBuf]) -> String {
    if searched.is_empty() {
        return "no directories".to_string();
    }
    let dirs: Vec<String> = searched.iter().map(|d| d.display().to_string()).collect();
    dirs.join(", ")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A closure that wraps an [`io::Error`] with the path it is about.
pub(crate) fn io_error(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

impl Error {
    pub fn kind(&self) -> Kind {
        match self {
            Error::BinaryNotFound { .. } | Error::LibraryNotFound { .. } => Kind::NotFound,
            Error::Image(error) => error.kind(),
            _ => Kind::Other,
        }
    }
}
