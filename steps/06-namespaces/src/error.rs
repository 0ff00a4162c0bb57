//! The step's one error type.

use std::io;
use std::path::PathBuf;
use step_01_registry::error::Kind;

/// What can go wrong starting, supervising or listing containers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Preparing the process (the image, its config, the user, the
    /// program) or starting it failed, as in step 05.
    #[error(transparent)]
    Start(#[from] step_05_chroot::Error),

    /// The kernel refused to make the namespaces.
    #[error("cannot make the container's namespaces: {reason}. {fix}")]
    Namespaces { reason: String, fix: String },

    /// `-it` without a terminal to give the container.
    #[error(
        "-it needs a terminal: standard input is not one. Run it from a terminal, or leave out -it (and -t) to pipe data in and out"
    )]
    NoTerminal,

    /// A hostname the kernel would refuse.
    #[error("invalid hostname {0:?}: use 1 to 64 letters, digits, '-' and '.'")]
    Hostname(String),

    /// A process that does not exist, or whose namespaces cannot be read.
    #[error("process {pid}: {source}; see running processes with `dockerless ns`")]
    Process { pid: String, source: io::Error },

    /// A system call in this process failed.
    #[error("{call}: {source}")]
    System {
        call: &'static str,
        source: nix::Error,
    },

    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },

    /// Pulling the image first failed.
    #[error(transparent)]
    Pull(Box<step_02_layers::error::Error>),
}

impl Error {
    pub fn kind(&self) -> Kind {
        match self {
            Error::Start(error) => error.kind(),
            Error::Namespaces { .. } => Kind::Runtime,
            Error::Pull(error) => error.kind(),
            _ => Kind::Other,
        }
    }
}

impl From<step_02_layers::error::Error> for Error {
    fn from(error: step_02_layers::error::Error) -> Error {
        Error::Pull(Box::new(error))
    }
}

impl From<step_01_registry::Error> for Error {
    fn from(error: step_01_registry::Error) -> Error {
        Error::Pull(Box::new(error.into()))
    }
}

/// A closure that wraps a failed system call with its name.
pub(crate) fn system(call: &'static str) -> impl FnOnce(nix::Error) -> Error {
    move |source| Error::System { call, source }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
