//! The formats an image can be exported in, and how an output's name picks one.

use crate::error::Result;
use std::path::Path;

/// What `dockerless export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A gzip-compressed root-filesystem tar for `wsl --import` (`.tar.gz`, `.tgz`).
    Wsl,
    /// The same with `/etc/wsl-distribution.conf`, for `wsl --install --from-file` (`.wsl`).
    WslModern,
    /// The plain root-filesystem tar, as `docker export` writes it (`.tar`).
    Rootfs,
    /// An OCI image layout directory.
    Oci,
    /// An OCI image layout in a tar (`.oci.tar`).
    OciArchive,
    /// What `docker save` writes, for `docker load` and `podman load` (`.docker.tar`).
    DockerArchive,
}

impl Format {
    /// Every format's name, as `--format` takes it.
    pub const NAMES: [&'static str; 6] = [
        "wsl",
        "wsl-modern",
        "rootfs",
        "oci",
        "oci-archive",
        "docker-archive",
    ];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Wsl => "wsl",
            Format::WslModern => "wsl-modern",
            Format::Rootfs => "rootfs",
            Format::Oci => "oci",
            Format::OciArchive => "oci-archive",
            Format::DockerArchive => "docker-archive",
        }
    }

    /// Whether the output is one file (and can go to standard output).
    pub fn is_stream(self) -> bool {
        self != Format::Oci
    }

    /// Whether it is a root filesystem for WSL.
    pub fn is_wsl(self) -> bool {
        matches!(self, Format::Wsl | Format::WslModern)
    }

    // ANCHOR: from_path
    /// The format an output's name asks for. A directory (a name ending in
    /// `/`, or one that is a directory already) is an OCI layout.
    pub fn from_path(path: &Path) -> Result<Format> {
        // EXERCISE(format-from-name): Pick the format from the output's name.
        // Compare the end of the file name, longest endings first:
        // `.oci.tar` is `OciArchive` and `.docker.tar` is `DockerArchive`
        // before a plain `.tar` is `Rootfs`; `.tar.gz` and `.tgz` are `Wsl`,
        // `.wsl` is `WslModern`. A name ending in `/`, or naming an existing
        // directory, is `Oci`. Anything else: `Error::UnknownFormat`.
        // ANCHOR_END: from_path
        // HINT: Compare the end of the whole name as a string: `Path::extension` sees
        // only what follows the last dot, so it cannot tell `.oci.tar` from `.tar`.
        // HINT+: `to_string_lossy()` keeps a trailing `/` (`file_name()` drops it),
        // and `path.is_dir()` covers an existing directory: test both first. Then a
        // list of (ending, format) pairs, the longer endings before `.tar`, and the
        // first that `ends_with` matches wins; none is `Error::UnknownFormat`.
        use crate::error::Error;
        let name = path.to_string_lossy();
        if name.ends_with('/') || path.is_dir() {
            return Ok(Format::Oci);
        }
        let endings = [
            (".oci.tar", Format::OciArchive),
            (".docker.tar", Format::DockerArchive),
            (".tar.gz", Format::Wsl),
            (".tgz", Format::Wsl),
            (".wsl", Format::WslModern),
            (".tar", Format::Rootfs),
        ];
        endings
            .into_iter()
            .find(|(ending, _)| name.ends_with(ending))
            .map(|(_, format)| format)
            .ok_or_else(|| Error::UnknownFormat {
                path: path.to_path_buf(),
            })
        // END EXERCISE
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
