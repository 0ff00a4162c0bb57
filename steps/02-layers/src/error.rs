//! The step's one error type.
//!
//! Every message names what it is about (the layer entry, the path on disk)
//! and says what is wrong; where the reader can do something about it, it
//! says what. The variants come in sections, one per part of the step, so a
//! part that needs new failures adds a section of its own.

use std::io;
use std::path::PathBuf;
use step_01_registry::digest::Digest;
use step_01_registry::error::Kind;

/// What can go wrong while downloading, storing and flattening an image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- Flattening: the layer is hostile or broken --------------------
    /// An entry would create, change or delete something outside the root
    /// filesystem. Nothing outside the root was touched.
    #[error(
        "layer entry `{entry}` reaches outside the root filesystem: {reason}; \
         the layer is corrupt or hostile, so it was refused"
    )]
    Escape { entry: String, reason: &'static str },

    /// A hard link whose target cannot be linked to.
    #[error("hard link `{entry}` -> `{target}` cannot be made: {reason}")]
    Hardlink {
        entry: String,
        target: String,
        reason: &'static str,
    },

    /// An entry of a type a root filesystem cannot hold, such as a socket
    /// or a tape volume header.
    #[error(
        "layer entry `{entry}` is of type {kind}, which cannot be extracted; \
         only files, directories, links, FIFOs and device nodes can"
    )]
    UnsupportedEntry { entry: String, kind: String },

    /// The bytes are not a tar stream, or it stops halfway.
    #[error(
        "the layer is not a readable tar stream: {source}; \
         it may be cut short, or still compressed in a format we do not know"
    )]
    Tar { source: io::Error },

    /// Applying one layer of an image failed: which layer, and why.
    #[error("layer {number} of {count} ({digest}): {source}")]
    Layer {
        /// From 1, bottom layer first.
        number: usize,
        count: usize,
        digest: Digest,
        source: Box<Error>,
    },

    // ----- Flattening: the file system said no ----------------------------
    /// Writing an entry to disk failed.
    #[error("could not extract layer entry `{entry}` to {path}: {source}")]
    Extract {
        entry: String,
        path: PathBuf,
        source: io::Error,
    },

    // ----- Files on disk ---------------------------------------------------
    /// Reading or writing a file outside of a layer failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },

    // ----- Talking to the registry (step 01) --------------------------------
    #[error(transparent)]
    Registry(#[from] step_01_registry::Error),

    // ----- Downloading blobs -------------------------------------------------
    /// A blob's bytes do not hash to the digest that names it.
    #[error(
        "{what} has digest {actual}, not {expected}: it was changed or cut on the way; \
         nothing was installed"
    )]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },

    /// A download that kept failing.
    #[error("could not download {what} after {attempts} attempts: {reason}")]
    Download {
        what: String,
        attempts: u32,
        reason: String,
    },

    // ----- The image store ---------------------------------------------------
    /// The manifest and the config disagree about the layers.
    #[error("{reference}: {reason}")]
    Image { reference: String, reason: String },

    /// A lock in the store could not be taken (not a wait: waiting for
    /// another process is what a lock does).
    #[error(
        "could not lock {path}: {source}; the store must be on a file system \
         with flock(2) locks (a local disk, not every network share)"
    )]
    Lock { path: PathBuf, source: io::Error },

    /// An image that is not in the store.
    #[error(
        "{reference} is not in {home}: pull it first (`dockerless pull {reference}`), \
         or push a directory with --from DIR"
    )]
    NotStored { reference: String, home: PathBuf },
}

/// The step's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> Kind {
        match self {
            Error::NotStored { .. } => Kind::NotFound,
            Error::DigestMismatch { .. } | Error::Escape { .. } | Error::Hardlink { .. } => {
                Kind::Integrity
            }
            Error::Download { .. } => Kind::Network,
            Error::Registry(error) => error.kind(),
            // Which layer failed does not change what kind of failure it was.
            Error::Layer { source, .. } => source.kind(),
            // A store on a file system without locks: neither missing nor refused.
            _ => Kind::Other,
        }
    }
}
