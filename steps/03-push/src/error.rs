//! The one error type of step 03.

use std::io;
use std::path::PathBuf;
use step_01_registry::error::Kind;

/// What can go wrong building and pushing an image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // Boxed: the errors of the earlier steps are large, and a `Result` is
    // returned from every function on the way.
    #[error(transparent)]
    Registry(Box<step_01_registry::Error>),

    #[error(transparent)]
    Store(Box<step_02_layers::error::Error>),

    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },

    #[error("{path} cannot go into a layer: {reason}")]
    Unsupported { path: PathBuf, reason: String },

    #[error("{what}: the registry answered {status} to {request}{detail}")]
    Upload {
        what: String,
        /// `PUT http://...`
        request: String,
        status: u16,
        /// `: CODE message` from the registry's error body, or nothing.
        detail: String,
    },

    #[error("the registry did not say where to upload {what} (no Location header)")]
    NoLocation { what: String },

    #[error("{reference} names no tag: a push needs one (add :TAG, such as :latest)")]
    NeedsTag { reference: String },

    #[error(
        "{path}: no such directory; --from takes the root filesystem to push, such as ./rootfs"
    )]
    NotADirectory { path: PathBuf },
}

impl From<step_01_registry::Error> for Error {
    fn from(error: step_01_registry::Error) -> Error {
        Error::Registry(Box::new(error))
    }
}

impl From<step_02_layers::error::Error> for Error {
    fn from(error: step_02_layers::error::Error) -> Error {
        Error::Store(Box::new(error))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn kind(&self) -> Kind {
        match self {
            Error::Registry(error) => error.kind(),
            Error::Store(error) => error.kind(),
            Error::NotADirectory { .. } => Kind::NotFound,
            _ => Kind::Other,
        }
    }
}
