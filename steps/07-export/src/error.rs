//! The step's one error type.
//!
//! Every message names what it is about (the image, the output path, the
//! blob) and, where the user can do something, says what.

use std::io;
use std::path::PathBuf;
use step_01_registry::digest::Digest;
use step_01_registry::error::Kind;

/// What can go wrong while exporting an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- Usage ---------------------------------------------------------
    /// No `--format` and an output name whose ending says none.
    #[error(
        "cannot tell the format from {path:?}: name it with --format, one of {}, \
         or end the name with .tar.gz, .tgz, .wsl, .tar, .oci.tar or .docker.tar",
        crate::format::Format::NAMES.join(", ")
    )]
    UnknownFormat { path: PathBuf },

    /// `-o -` with a format that is a directory.
    #[error("the {format} format is a directory and cannot go to standard output; give -o DIR")]
    NotAStream { format: &'static str },

    /// The output exists and `--force` was not given.
    #[error("{path} already exists: choose another name, or add --force to replace it")]
    OutputExists { path: PathBuf },

    // ----- The image -----------------------------------------------------
    /// The image is not in the store.
    #[error(
        "{reference} is not in {home}; stored: {}. Pull it first: dockerless pull {reference}",
        stored_list(.stored)
    )]
    NotStored {
        reference: String,
        home: PathBuf,
        stored: Vec<String>,
    },

    /// A blob the manifest lists is not in the blob cache.
    #[error(
        "{what} {digest} of {reference} is not in the blob cache ({path}): \
         add --pull to download it again"
    )]
    MissingBlob {
        reference: String,
        what: &'static str,
        digest: Digest,
        path: PathBuf,
    },

    /// The manifest or config kept beside the image cannot be read as one.
    #[error("{path}: {reason}; pull the image again")]
    BadMetadata { path: PathBuf, reason: String },

    // ----- Files ---------------------------------------------------------
    /// A path in the stored tree that is not below its root.
    #[error("{path} is not below the root filesystem {root}")]
    OutsideRoot { path: PathBuf, root: PathBuf },

    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },

    /// The store or the registry (with `--pull`) failed.
    #[error(transparent)]
    Store(Box<step_02_layers::error::Error>),
}

impl From<step_02_layers::error::Error> for Error {
    fn from(error: step_02_layers::error::Error) -> Error {
        Error::Store(Box::new(error))
    }
}

impl From<step_01_registry::Error> for Error {
    fn from(error: step_01_registry::Error) -> Error {
        Error::Store(Box::new(error.into()))
    }
}

/// The stored images, comma-separated, or a word when there are none.
fn stored_list(stored: &[String]) -> String {
    if stored.is_empty() {
        "nothing yet".to_string()
    } else {
        stored.join(", ")
    }
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
            Error::UnknownFormat { .. } | Error::NotAStream { .. } | Error::OutputExists { .. } => {
                Kind::Usage
            }
            Error::NotStored { .. } | Error::MissingBlob { .. } => Kind::NotFound,
            Error::Store(error) => error.kind(),
            _ => Kind::Other,
        }
    }
}
