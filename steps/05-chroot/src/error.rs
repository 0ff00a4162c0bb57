//! The step's one error type.

use std::io;
use std::path::PathBuf;
use step_01_registry::error::Kind;

/// What can go wrong before, while and after a program starts in an
/// image's root filesystem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The image is not in the store.
    #[error(
        "{reference} is not in the store ({home}); stored: {stored}. Pull it first: dockerless pull {reference}"
    )]
    NotStored {
        reference: String,
        home: PathBuf,
        stored: String,
    },

    /// The image's config beside its root filesystem cannot be read.
    #[error("{path}: cannot read the image's config: {reason}; pull the image again")]
    Config { path: PathBuf, reason: String },

    /// Neither the command line nor the image says what to run.
    #[error(
        "{image} has no default command (no Entrypoint or Cmd in its config); give one after the image name"
    )]
    NoCommand { image: String },

    /// A `-e` option that is not `NAME=VALUE` or `NAME`.
    #[error(
        "invalid environment variable {0:?}: expected NAME=VALUE, or NAME to pass this shell's value"
    )]
    Env(String),

    /// The program is not in the image (exit code 127).
    #[error("{program}: not found in the image{searched}")]
    CommandNotFound { program: String, searched: String },

    /// The program exists but cannot be executed (exit code 126).
    #[error("{program}: permission denied: {reason}")]
    NotExecutable { program: String, reason: String },

    /// The `User` of the config or `-u` names no user or group of the image.
    #[error("user {user:?}: {reason}")]
    User { user: String, reason: String },

    /// Something between fork and exec failed: entering the root, the
    /// working directory, the user, a namespace, a mount.
    #[error("cannot start the container: {0}")]
    Setup(String),

    /// This process lacks what the step needs.
    #[error("{what} needs root, or user namespaces: {how}")]
    Privileges { what: String, how: String },

    /// A system call in this process failed.
    #[error("{call}: {source}")]
    System {
        call: &'static str,
        source: nix::Error,
    },

    /// Reading a file failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },

    /// Finding the image in the store failed.
    #[error(transparent)]
    Store(Box<step_02_layers::error::Error>),

    /// The image reference is not valid.
    #[error(transparent)]
    Registry(Box<step_01_registry::Error>),
}

impl Error {
    /// The exit code `docker run` would give this failure to start: 127
    /// for a command not in the image, 126 for one that cannot run, 125
    /// for the rest of the setup; `None` for errors before any start.
    pub fn exit_code(&self) -> Option<u8> {
        self.kind().start_code()
    }

    pub fn kind(&self) -> Kind {
        match self {
            Error::CommandNotFound { .. } => Kind::CommandNotFound,
            Error::NotExecutable { .. } => Kind::NotExecutable,
            Error::Setup(_) | Error::User { .. } => Kind::Runtime,
            Error::NotStored { .. } => Kind::NotFound,
            Error::Store(error) => error.kind(),
            Error::Registry(error) => error.kind(),
            _ => Kind::Other,
        }
    }
}

impl From<step_02_layers::error::Error> for Error {
    fn from(error: step_02_layers::error::Error) -> Error {
        Error::Store(Box::new(error))
    }
}

impl From<step_01_registry::Error> for Error {
    fn from(error: step_01_registry::Error) -> Error {
        Error::Registry(Box::new(error))
    }
}

/// A closure that wraps a failed system call with its name.
pub(crate) fn system(call: &'static str) -> impl FnOnce(nix::Error) -> Error {
    move |source| Error::System { call, source }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
