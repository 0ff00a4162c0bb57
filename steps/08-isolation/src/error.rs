//! The step's one error type.

use std::io;
use std::path::PathBuf;
use step_01_registry::error::Kind;

/// What can go wrong adding isolation to a container.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Starting the container failed (steps 05 and 06).
    #[error(transparent)]
    Container(#[from] step_06_namespaces::Error),

    /// A size, a CPU count or a limit that does not parse.
    #[error("invalid {option} {value:?}: {reason}")]
    Option {
        option: &'static str,
        value: String,
        reason: String,
    },

    /// A capability name this kernel does not know.
    #[error(
        "unknown capability {0:?}: use a name from capabilities(7) such as NET_BIND_SERVICE (with or without CAP_), or ALL"
    )]
    Capability(String),

    /// Limits were asked for, but this caller cannot create cgroups.
    #[error("cannot apply {limits}: {reason}. {fix}")]
    Limits {
        limits: String,
        reason: String,
        fix: String,
    },

    /// Reading or writing a cgroup file failed.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl Error {
    pub fn kind(&self) -> Kind {
        match self {
            Error::Container(error) => error.kind(),
            Error::Limits { .. } => Kind::Runtime,
            // A value that does not parse is a usage error, as clap's are.
            Error::Option { .. } | Error::Capability(_) => Kind::Usage,
            _ => Kind::Other,
        }
    }
}

impl From<step_05_chroot::Error> for Error {
    fn from(error: step_05_chroot::Error) -> Error {
        Error::Container(error.into())
    }
}

/// A closure that wraps an [`io::Error`] with the path it is about.
pub(crate) fn io_error(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
