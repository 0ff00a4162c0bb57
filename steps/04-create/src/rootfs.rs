//! A root filesystem from host binaries: each binary, its dynamic loader
//! and every library it needs, at the paths they have on the host, plus
//! the files the user adds; and the command the image runs by default.

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use crate::copy::{self, Placed};
use crate::error::{Error, Result, io_error};
use crate::resolve::{self, Resolved, SearchPaths};

/// The `PATH` used to find binaries by name when the environment has none:
/// the one Docker gives containers.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A binary to put in the image, as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinarySpec {
    /// A bare name (`bash`), looked up in `PATH` as a shell would.
    Name(String),
    /// A path (`/usr/bin/ls`, `./app`), taken as it is.
    Path(PathBuf),
}

impl BinarySpec {
    /// A name when `arg` holds no `/`, else a path: the shell's rule.
    pub fn parse(arg: &str) -> BinarySpec {
        if arg.contains('/') {
            BinarySpec::Path(PathBuf::from(arg))
        } else {
            BinarySpec::Name(arg.to_string())
        }
    }
}

impl From<&str> for BinarySpec {
    fn from(arg: &str) -> BinarySpec {
        BinarySpec::parse(arg)
    }
}

// ANCHOR: built
/// What [`build`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// Every file and symbolic link placed in the root, as paths in the
    /// image (`/usr/bin/bash`), sorted.
    pub files: Vec<PathBuf>,
    /// What the image runs by default: the first binary, by its path in
    /// the image (`["/usr/bin/bash"]`).
    pub default_command: Vec<String>,
    /// The environment of that command: a `PATH` over the binaries'
    /// directories (`["PATH=/usr/bin"]`), and an `LD_LIBRARY_PATH` when a
    /// library was found through `/etc/ld.so.conf` outside the loader's
    /// default directories.
    pub env: Vec<String>,
    /// Each binary with what it needs, in the order given.
    pub binaries: Vec<Resolved>,
}
// ANCHOR_END: built

// ANCHOR: build
/// Builds a root filesystem in `root` (created if missing) from
/// `binaries` and their libraries, then copies each `(host source, path in
/// the image)` of `adds` into it.
///
/// Binaries given by name are looked up in the `PATH` of this process
/// (or [`DEFAULT_PATH`]). Everything lands at the path it has on the host,
/// with the host's symbolic links on the way (see [`copy::mirror`]).
pub fn build(binaries: &[BinarySpec], adds: &[(PathBuf, PathBuf)], root: &Path) -> Result<Built> {
    if binaries.is_empty() {
        return Err(Error::NoBinaries);
    }
    let path_var = env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    fs::create_dir_all(root).map_err(io_error(root))?;
    let mut placed = Placed::new();
    let mut found = Vec::new();
    let mut resolved_all = Vec::new();
    for spec in binaries {
        let binary = find_binary(spec, &path_var)?;
        let resolved = resolve::resolve(&binary)?;
        for host in resolved.paths() {
            copy::mirror(host, root, &mut placed)?;
        }
        found.push(std::path::absolute(&binary).map_err(io_error(&binary))?);
        resolved_all.push(resolved);
    }
    for (src, dest) in adds {
        copy::add(src, dest, root, &mut placed)?;
    }
    let (default_command, mut env) = default_config(&found);
    env.extend(library_path(&resolved_all)?);
    Ok(Built {
        files: placed.into_iter().collect(),
        default_command,
        env,
        binaries: resolved_all,
    })
}
// ANCHOR_END: build

// ANCHOR: find_in_path
/// The path of the binary `spec` names: a path as it is, a name looked up
/// in `path_var` (a `PATH` value).
pub fn find_binary(spec: &BinarySpec, path_var: &OsStr) -> Result<PathBuf> {
    // EXERCISE(find-in-path): Find a binary by name in PATH, as a shell does.
    // A `BinarySpec::Path` is returned as it is. For a `Name`, try each
    // `:`-separated directory of `path_var` in order (an empty entry means
    // the current directory, "."): the first `dir/name` that is a file
    // (following links) with an execute bit (`mode & 0o111`) wins. None:
    // `Error::BinaryNotFound` with the name and `path_var` as text.
    // HINT: `env::split_paths` splits `path_var` for you, and an empty entry comes out as an empty
    // path: that one means `.`.
    // HINT+: A `BinarySpec::Path` returns at once. For each directory, `fs::metadata` (it follows
    // links) of `dir.join(name)`: it wins when `is_file()` and its `PermissionsExt::mode` has a bit
    // of `0o111`. A directory named like the binary, or a file without an execute bit, is skipped.
    // Nothing: `Error::BinaryNotFound`, with `path_var` through `to_string_lossy`.
    use std::os::unix::fs::PermissionsExt;
    let name = match spec {
        BinarySpec::Path(path) => return Ok(path.clone()),
        BinarySpec::Name(name) => name,
    };
    for dir in env::split_paths(path_var) {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let candidate = dir.join(name);
        let executable = fs::metadata(&candidate)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0);
        if executable {
            return Ok(candidate);
        }
    }
    Err(Error::BinaryNotFound {
        name: name.clone(),
        path: path_var.to_string_lossy().into_owned(),
    })
    // END EXERCISE
}
// ANCHOR_END: find_in_path

// ANCHOR: default_command
/// The default command and environment of an image made of `binaries`
/// (absolute paths, in the order given).
pub fn default_config(binaries: &[PathBuf]) -> (Vec<String>, Vec<String>) {
    // EXERCISE(default-command): The image's default command and its PATH.
    // The command is the first binary alone, by its path. The environment
    // is one `PATH=` entry joining, with `:`, the directories of the
    // binaries, each once, in order: `bash` and `ls` give `PATH=/usr/bin`.
    // HINT: The command is the first binary alone, as text, in a one-element `Vec`; with no
    // binaries, no command.
    // HINT+: `binaries.first()` mapped to a `Vec` of its `display().to_string()`, else empty. For
    // `PATH`, collect each binary's `parent()` in order, skipping one already there
    // (`Vec::contains`; a `HashSet` would lose the order), then `join(":")` after `PATH=`, as the
    // only entry of the environment.
    let command = binaries
        .first()
        .map(|binary| vec![binary.display().to_string()])
        .unwrap_or_default();
    let mut dirs: Vec<String> = Vec::new();
    for binary in binaries {
        let dir = binary
            .parent()
            .unwrap_or(Path::new("/"))
            .display()
            .to_string();
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    (command, vec![format!("PATH={}", dirs.join(":"))])
    // END EXERCISE
}
// ANCHOR_END: default_command

// ANCHOR: library_path
/// An `LD_LIBRARY_PATH=` entry for the libraries found through
/// `/etc/ld.so.conf` outside the loader's default directories, if any.
///
/// On the host, `ldconfig` lists those directories in `/etc/ld.so.cache`;
/// the image has no cache, so its loader searches the default directories
/// only, and the environment has to name the others.
fn library_path(resolved: &[Resolved]) -> Result<Option<String>> {
    let mut dirs: Vec<String> = Vec::new();
    for binary in resolved {
        let paths = SearchPaths::host(binary.binary.machine)?;
        for library in &binary.libraries {
            let Some(dir) = library.path.parent() else {
                continue;
            };
            let configured_only = paths.configured.iter().any(|d| d == dir)
                && !paths.defaults.iter().any(|d| d == dir);
            let dir = dir.display().to_string();
            if configured_only && !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    Ok((!dirs.is_empty()).then(|| format!("LD_LIBRARY_PATH={}", dirs.join(":"))))
}
// ANCHOR_END: library_path

/// Splits an `--add SRC:DEST` argument at its first `:`. `DEST` is where
/// `SRC` goes in the image and must be absolute.
pub fn parse_add(spec: &str) -> Result<(PathBuf, PathBuf)> {
    let invalid = |reason| Error::Add {
        spec: spec.to_string(),
        reason,
    };
    let (src, dest) = spec
        .split_once(':')
        .ok_or_else(|| invalid("there is no `:`"))?;
    if src.is_empty() {
        return Err(invalid("SRC is empty"));
    }
    if !dest.starts_with('/') {
        return Err(invalid("DEST must be an absolute path in the image"));
    }
    Ok((PathBuf::from(src), PathBuf::from(dest)))
}
