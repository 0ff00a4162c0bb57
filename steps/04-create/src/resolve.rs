//! Finding the libraries a binary needs, the way the dynamic loader does,
//! without running anything: what `ldd` prints.
//!
//! For each `DT_NEEDED` name of an object, glibc's loader tries, in order:
//!
//! 1. the `DT_RPATH` of the object, then of the object that loaded it, and
//!    so on up to the program, but only if the object has no `DT_RUNPATH`
//!    (an object's own `DT_RUNPATH` also hides its `DT_RPATH` from the
//!    objects it loads);
//! 2. `LD_LIBRARY_PATH`, which we ignore on purpose: an image built from
//!    the same binaries should not depend on who built it and what their
//!    shell happened to export;
//! 3. the `DT_RUNPATH` of the object itself (not of its loaders);
//! 4. the directories of `/etc/ld.so.conf` (which `ldconfig` caches in
//!    `/etc/ld.so.cache`);
//! 5. the default directories glibc was built with (on Debian the multiarch
//!    ones, `/lib` and `/usr/lib`; on Fedora `/lib64` and `/usr/lib64`),
//!    for which we search one list for every layout: the multiarch ones,
//!    then `/lib64`, `/usr/lib64`, `/lib` and `/usr/lib`.
//!
//! In each directory the loader tries the `glibc-hwcaps` subdirectories
//! the processor supports first (`glibc-hwcaps/x86-64-v3`); we do not, so
//! an image gets the plain build of a library, which runs on any processor
//! of the architecture.
//!
//! In `DT_RPATH` and `DT_RUNPATH`, `$ORIGIN` means the directory of the
//! object that holds them, so a program can ship its libraries beside it.
//! A name with a `/` in it is a path, taken as it is. A candidate built for
//! another processor or class (a 32-bit library in `/usr/lib`) is skipped,
//! as the loader skips it.
//!
//! Dependencies are followed breadth first, each name once: the order in
//! which the loader loads them, and the order `ldd` prints.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::elf::{self, Elf, Machine};
use crate::error::{Error, Result, io_error};

/// Where glibc reads its list of library directories.
pub const LD_SO_CONF: &str = "/etc/ld.so.conf";

/// How deep `include` lines of `ld.so.conf` may nest: deeper is a loop.
const MAX_INCLUDE_DEPTH: usize = 8;

// ANCHOR: resolved
/// A binary and everything that has to be loaded for it to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The binary itself.
    pub binary: Elf,
    /// Its dynamic loader (`PT_INTERP`), if it has one.
    pub interpreter: Option<Elf>,
    /// Every library, in the order the loader loads them.
    pub libraries: Vec<Library>,
}

/// One library found for a `DT_NEEDED` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// The `DT_NEEDED` name that asked for it (`libc.so.6`).
    pub name: String,
    /// Where it was found (`/lib/x86_64-linux-gnu/libc.so.6`).
    pub path: PathBuf,
    /// The object whose `DT_NEEDED` named it first.
    pub needed_by: PathBuf,
    pub elf: Elf,
}
// ANCHOR_END: resolved

impl Resolved {
    /// The binary, its interpreter and its libraries, as found on the host.
    pub fn paths(&self) -> Vec<&Path> {
        let mut paths = vec![self.binary.path.as_path()];
        paths.extend(self.interpreter.iter().map(|i| i.path.as_path()));
        paths.extend(self.libraries.iter().map(|l| l.path.as_path()));
        paths
    }
}

/// The directories searched after an object's own paths: those of
/// `ld.so.conf`, then the defaults for the processor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPaths {
    /// From `/etc/ld.so.conf` and the files it includes, in order.
    pub configured: Vec<PathBuf>,
    /// The directories the loader always searches last.
    pub defaults: Vec<PathBuf>,
}

impl SearchPaths {
    /// This machine's search paths for binaries built for `machine`.
    pub fn host(machine: Machine) -> Result<SearchPaths> {
        Ok(SearchPaths {
            configured: ld_so_conf(Path::new(LD_SO_CONF))?,
            defaults: default_dirs(machine),
        })
    }

    /// The configured directories then the defaults, each once.
    pub fn system(&self) -> Vec<PathBuf> {
        let mut seen = HashSet::new();
        self.configured
            .iter()
            .chain(&self.defaults)
            .filter(|dir| seen.insert(dir.as_path()))
            .cloned()
            .collect()
    }
}

// ANCHOR: default_dirs
/// The directories searched last, for `machine`, one list for every layout:
/// the multiarch ones (`/lib/x86_64-linux-gnu`, as Debian and Ubuntu lay
/// out), the 64-bit ones (`/lib64`, as Fedora does), then `/lib` and `/usr/lib`.
pub fn default_dirs(machine: Machine) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(tuple) = machine.multiarch() {
        dirs.push(Path::new("/lib").join(tuple));
        dirs.push(Path::new("/usr/lib").join(tuple));
    }
    for dir in ["/lib64", "/usr/lib64", "/lib", "/usr/lib"] {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}
// ANCHOR_END: default_dirs

/// The library directories listed in the `ld.so.conf` file at `path`,
/// following its `include` lines. A missing file lists nothing (not every
/// system has one).
pub fn ld_so_conf(path: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    read_ld_so_conf(path, 0, &mut dirs)?;
    Ok(dirs)
}

// ANCHOR: ld_so_conf
fn read_ld_so_conf(path: &Path, depth: usize, dirs: &mut Vec<PathBuf>) -> Result<()> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error(path)(error)),
    };
    // EXERCISE(ld-so-conf): Read the directories of an ld.so.conf file, following `include`.
    // One entry a line; `#` starts a comment; blank lines are skipped.
    // `include PATTERN` reads every file the glob PATTERN matches (use
    // `glob`; a relative pattern is relative to this file's directory), in
    // order, at `depth + 1`: past MAX_INCLUDE_DEPTH, stop following (a
    // file that includes itself). `hwcap` lines are from old glibc: skip
    // them. Anything else is a directory: push it, unless already there.
    // HINT: Cut the comment before you trim (`/last # comment` is `/last`). A relative `include`
    // pattern is relative to this file's directory, not to the current one.
    // HINT+: Cut each line at the first `#`, `trim`, skip empty and `hwcap ` lines. `include` is a
    // keyword only with a space or tab after it (`strip_prefix`). Join a relative pattern onto
    // `path.parent()`; only while `depth < MAX_INCLUDE_DEPTH`, recurse into each path this crate's
    // `glob` returns, at `depth + 1`. Other lines are directories, pushed unless `dirs` has them.
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() || line.starts_with("hwcap ") {
            continue;
        }
        // `include` is a keyword only when a blank follows it, as in glibc.
        if let Some(pattern) = line
            .strip_prefix("include")
            .filter(|rest| rest.starts_with([' ', '\t']))
        {
            let pattern = Path::new(pattern.trim());
            let pattern = match path.parent() {
                Some(dir) if pattern.is_relative() => dir.join(pattern),
                _ => pattern.to_path_buf(),
            };
            if depth < MAX_INCLUDE_DEPTH {
                for included in glob(&pattern).map_err(io_error(&pattern))? {
                    read_ld_so_conf(&included, depth + 1, dirs)?;
                }
            }
            continue;
        }
        let dir = PathBuf::from(line);
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: ld_so_conf

/// The paths matching `pattern`, sorted, where only the last component may
/// hold wildcards (`*` for any run of bytes, `?` for one), as in
/// `/etc/ld.so.conf.d/*.conf`. Like the shell, a wildcard does not match a
/// leading `.`. A directory that does not exist matches nothing.
pub fn glob(pattern: &Path) -> io::Result<Vec<PathBuf>> {
    let (Some(dir), Some(name)) = (pattern.parent(), pattern.file_name()) else {
        return Ok(Vec::new());
    };
    let name = name.as_bytes();
    if !name.contains(&b'*') && !name.contains(&b'?') {
        return Ok(if pattern.exists() {
            vec![pattern.to_path_buf()]
        } else {
            Vec::new()
        });
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut matches = Vec::new();
    for entry in entries {
        let entry = entry?;
        let candidate = entry.file_name();
        let candidate = candidate.as_bytes();
        if candidate.starts_with(b".") && !name.starts_with(b".") {
            continue;
        }
        if wildcard_match(name, candidate) {
            matches.push(entry.path());
        }
    }
    matches.sort();
    Ok(matches)
}

/// Whether `name` matches `pattern`, where `*` matches any run of bytes
/// and `?` any one byte.
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.split_first(), name.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => {
            wildcard_match(rest, name) || (!name.is_empty() && wildcard_match(pattern, &name[1..]))
        }
        (Some((b'?', rest)), Some((_, name_rest))) => wildcard_match(rest, name_rest),
        (Some((p, rest)), Some((n, name_rest))) => p == n && wildcard_match(rest, name_rest),
        _ => false,
    }
}

// ANCHOR: expand_origin
/// One `DT_RPATH` or `DT_RUNPATH` entry of the object in directory
/// `origin`, with `$ORIGIN` and `${ORIGIN}` replaced by that directory.
pub fn expand_origin(entry: &str, origin: &Path) -> PathBuf {
    // EXERCISE(expand-origin): Replace `$ORIGIN` and `${ORIGIN}` with the object's directory.
    // Both spellings may appear anywhere in the entry, any number of times
    // (`$ORIGIN/../lib`, `/opt/${ORIGIN}`). As for glibc, `$ORIGIN` is the
    // token only when no letter, digit or `_` follows it (`$ORIGINAL` is
    // not `$ORIGIN` + `AL`). Other tokens (`$LIB`, `$PLATFORM`) are left as
    // they are.
    // HINT: Look at each `$` in turn: it starts `${ORIGIN}`, or `$ORIGIN` not followed by a letter,
    // digit or `_`, or it is a plain `$` to copy.
    // HINT+: Build a new `String`. `str::find` the next `$` and copy what comes before it; on the
    // rest try `strip_prefix` with the braced form, then with `$ORIGIN`, checking the character
    // after it (`$ORIGINAL`, `$ORIGIN_X` stay). Else copy the `$` and move one byte on.
    // `to_string_lossy` turns the origin into text; copy the tail after the last `$` too.
    let origin = origin.to_string_lossy();
    let mut expanded = String::with_capacity(entry.len());
    let mut rest = entry;
    while let Some(at) = rest.find('$') {
        expanded.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(tail) = after.strip_prefix("${ORIGIN}") {
            expanded.push_str(&origin);
            rest = tail;
        } else if let Some(tail) = after
            .strip_prefix("$ORIGIN")
            .filter(|tail| !tail.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
        {
            expanded.push_str(&origin);
            rest = tail;
        } else {
            expanded.push('$');
            rest = &after[1..];
        }
    }
    expanded.push_str(rest);
    PathBuf::from(expanded)
    // END EXERCISE
}
// ANCHOR_END: expand_origin

/// The directory `$ORIGIN` stands for in `object`: the directory of the
/// path it was found at (for the program, the kernel gives the loader its
/// real path, so the caller passes that).
fn origin_of(object: &Elf) -> &Path {
    object.path.parent().unwrap_or(Path::new("/"))
}

/// The entries of a `:`-separated path list such as a `DT_RUNPATH`,
/// expanded for `object`. Empty entries are skipped.
fn path_list(list: &str, object: &Elf) -> Vec<PathBuf> {
    list.split(':')
        .filter(|entry| !entry.is_empty())
        .map(|entry| expand_origin(entry, origin_of(object)))
        .collect()
}

// ANCHOR: search_paths
/// The directories searched for a library that `requester` needs, in
/// order. `loaders` is the chain of objects that loaded `requester`: the
/// one that needed it first, the one that needed that, and so on up to the
/// program. `system` is [`SearchPaths::system`].
pub fn search_order(requester: &Elf, loaders: &[&Elf], system: &[PathBuf]) -> Vec<PathBuf> {
    // EXERCISE(search-paths): List the directories to search, in the loader's order.
    // 1. If `requester` has no `runpath`: the `rpath` of `requester`, then
    //    of each of `loaders` in order, skipping any object that has a
    //    `runpath` of its own (a RUNPATH hides its object's RPATH).
    // 2. (LD_LIBRARY_PATH would come here: it is ignored on purpose.)
    // 3. The `runpath` of `requester` only.
    // 4. `system`.
    // Split each list with `path_list(list, object)`, which expands
    // `$ORIGIN` for the object that holds the list. Keep each directory once.
    // HINT: A RUNPATH does two things: the requester's own turns off every RPATH, and a loader's
    // hides that loader's RPATH. Only the requester's RUNPATH is searched.
    // HINT+: Without a requester `runpath`, walk the requester and then each loader
    // (`std::iter::once` and `chain`), extending with `path_list` of each object's `rpath` when it
    // has no `runpath`. Then `path_list` of the requester's `runpath`, then `system`. Keep first
    // places with a `HashSet` and `Vec::retain`: `insert` says whether a directory is new.
    let mut dirs = Vec::new();
    if requester.runpath.is_none() {
        for object in std::iter::once(requester).chain(loaders.iter().copied()) {
            if let (Some(rpath), None) = (&object.rpath, &object.runpath) {
                dirs.extend(path_list(rpath, object));
            }
        }
    }
    if let Some(runpath) = &requester.runpath {
        dirs.extend(path_list(runpath, requester));
    }
    dirs.extend(system.iter().cloned());
    let mut seen = HashSet::new();
    dirs.retain(|dir| seen.insert(dir.clone()));
    dirs
    // END EXERCISE
}
// ANCHOR_END: search_paths

// ANCHOR: resolve_needed
/// The first of `dirs` that holds an ELF file called `name` built for
/// `machine`, read; `None` if none does. A `name` with a `/` is a path and
/// is taken as it is.
pub fn find_library(name: &str, dirs: &[PathBuf], machine: Machine) -> Result<Option<Elf>> {
    // EXERCISE(resolve-needed): Find one needed library in the search directories.
    // Candidates are `dir.join(name)` for each dir in order, or just `name`
    // when it contains a `/`. Skip a candidate that is not a file
    // (`Path::is_file` follows symlinks, as the loader does). Read it with
    // `elf::read`: skip it if it is `Error::UnsupportedElf` (32-bit) or its
    // `machine` differs; any other error is returned. The first that fits wins.
    // HINT: A candidate that exists but does not fit (32-bit, or another machine's) is skipped, not
    // an error: the loader keeps searching, and so do you.
    // HINT+: The candidates: `name` alone when it contains a `/`, else `dir.join(name)` for each
    // dir in order. Skip what is not `Path::is_file`. Match `elf::read`: `Ok` with the same
    // `machine` wins; `Ok` with another machine, or `Err(Error::UnsupportedElf { .. })`, goes on;
    // any other error is returned. Nothing fits: `Ok(None)`.
    let candidates: Vec<PathBuf> = if name.contains('/') {
        vec![PathBuf::from(name)]
    } else {
        dirs.iter().map(|dir| dir.join(name)).collect()
    };
    for candidate in candidates {
        if !candidate.is_file() {
            continue;
        }
        match elf::read(&candidate) {
            Ok(library) if library.machine == machine => return Ok(Some(library)),
            Ok(_) | Err(Error::UnsupportedElf { .. }) => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(None)
    // END EXERCISE
}
// ANCHOR_END: resolve_needed

/// Reads the binary at `binary` and finds its interpreter and every
/// library it needs, transitively, on this machine.
pub fn resolve(binary: &Path) -> Result<Resolved> {
    let program = elf::read(binary)?;
    let paths = SearchPaths::host(program.machine)?;
    resolve_with(program, &paths.system())
}

// ANCHOR: resolve_with
/// [`resolve`] for a binary already read, with `system` as the
/// directories after the objects' own (see [`SearchPaths::system`]).
pub fn resolve_with(binary: Elf, system: &[PathBuf]) -> Result<Resolved> {
    let machine = binary.machine;
    let interpreter = match &binary.interpreter {
        Some(path) => {
            let interpreter = elf::read(path)?;
            if interpreter.machine != machine {
                return Err(Error::WrongMachine {
                    path: path.clone(),
                    found: interpreter.machine,
                    expected: machine,
                });
            }
            Some(interpreter)
        }
        None => None,
    };
    // The program's `$ORIGIN` is its real directory: the kernel tells the
    // loader the path it executed, with symbolic links resolved.
    let mut program = binary.clone();
    if let Ok(real) = fs::canonicalize(&binary.path) {
        program.path = real;
    }
    let libraries = follow_dependencies(&program, interpreter.as_ref(), system)?;
    Ok(Resolved {
        binary,
        interpreter,
        libraries,
    })
}
// ANCHOR_END: resolve_with

// ANCHOR: follow_dependencies
/// Every library `program` needs, breadth first, each name once.
/// `interpreter` is already loaded: its names count as found.
pub fn follow_dependencies(
    program: &Elf,
    interpreter: Option<&Elf>,
    system: &[PathBuf],
) -> Result<Vec<Library>> {
    // EXERCISE(follow-dependencies): Find every library, breadth first, each name once.
    // Keep a list of loaded objects, each with the index of the object
    // that loaded it (the program has none), and walk it in order, adding
    // as you go. For each `needed` name of an object that is not known yet:
    // search `search_order(object, its loader chain, system)` with
    // `find_library`. Not found: `Error::LibraryNotFound` naming the
    // library, the object's path and the directories searched. Found: a new
    // `Library` and a new object. A name is known once it was needed, or is
    // the `soname` of a loaded object, or the interpreter's path or soname
    // (libc needs `ld-linux-x86-64.so.2`, which is already there).
    // HINT: Walk a `Vec` that grows as you go, by index, rather than a queue: each object must keep
    // the index of its loader, so its chain of loaders can be walked for RPATH inheritance.
    // HINT+: Seed a `HashSet` of known names with the interpreter's path and soname. Object 0 is
    // the program, object i is `libraries[i - 1]`, and a `Vec<Option<usize>>` says who loaded whom.
    // For the current object, follow that chain up to `None` for its `loaders`; for each `needed`
    // name that `known.insert` finds new, `search_order` then `find_library`. Found: add its soname
    // to `known`, push the `Library` and its loader's index.
    let machine = program.machine;
    let mut known: HashSet<String> = HashSet::new();
    if let Some(interpreter) = interpreter {
        known.insert(interpreter.path.to_string_lossy().into_owned());
        known.extend(interpreter.soname.clone());
    }
    // Object 0 is the program, object `i` is `libraries[i - 1]`.
    let object = |libraries: &[Library], i: usize| -> Elf {
        if i == 0 {
            program.clone()
        } else {
            libraries[i - 1].elf.clone()
        }
    };
    let mut loaded_by: Vec<Option<usize>> = vec![None];
    let mut libraries: Vec<Library> = Vec::new();
    let mut next = 0;
    while next < loaded_by.len() {
        let requester = object(&libraries, next);
        let mut loaders = Vec::new();
        let mut up = loaded_by[next];
        while let Some(i) = up {
            loaders.push(object(&libraries, i));
            up = loaded_by[i];
        }
        let loaders: Vec<&Elf> = loaders.iter().collect();
        for name in &requester.needed {
            if !known.insert(name.clone()) {
                continue;
            }
            let dirs = search_order(&requester, &loaders, system);
            let Some(elf) = find_library(name, &dirs, machine)? else {
                return Err(Error::LibraryNotFound {
                    library: name.clone(),
                    needed_by: requester.path.clone(),
                    searched: dirs,
                });
            };
            known.extend(elf.soname.clone());
            libraries.push(Library {
                name: name.clone(),
                path: elf.path.clone(),
                needed_by: requester.path.clone(),
                elf,
            });
            loaded_by.push(Some(next));
        }
        next += 1;
    }
    Ok(libraries)
    // END EXERCISE
}
// ANCHOR_END: follow_dependencies
