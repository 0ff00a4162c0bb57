//! Finding the program in the image's `PATH`, the way a shell does.
//!
//! `execvp` would search the `PATH` of *this* process, on the host. The
//! container's program must come from the image, found with the image's
//! `PATH`: so the search happens here, inside the root filesystem, and the
//! child execs the absolute path it found.

use crate::error::Result;
use crate::root::Root;
use nix::sys::stat::FileStat;

/// Where `program` is inside the image: an absolute path to exec.
pub fn find(root: &Root, path_var: &str, workdir: &str, program: &str) -> Result<String> {
    find_with(|path| root.stat(path).ok(), path_var, workdir, program)
}

// ANCHOR: find_program
/// [`find`], with `stat` telling what a path in the image is (`None`: nothing there).
pub fn find_with(
    stat: impl Fn(&str) -> Option<FileStat>,
    path_var: &str,
    workdir: &str,
    program: &str,
) -> Result<String> {
    // EXERCISE(find-program): Search the image's PATH for the program.
    // - A program with a `/` in it is not searched: an absolute one is
    //   taken as it is, a relative one (`./run.sh`) is under `workdir`.
    // - Otherwise try each directory of `path_var` in order (`:` separated,
    //   empty entries skipped): the first regular file with an execute
    //   bit (`st_mode & 0o111`) wins.
    // - Nothing at all: `Error::CommandNotFound` (the shell's 127), with
    //   `searched` saying which directories were tried (" (PATH=...)").
    //   Only files without an execute bit: `Error::NotExecutable` (126).
    // HINT: Deal with a program that contains a `/` first and return from there: only
    // a bare name is searched for in `path_var`.
    // HINT+: `split(':')` the PATH, skip empty entries, and `stat` each `DIR/program`
    // (mind a trailing `/` in DIR). An executable regular file (`is_file` and an
    // execute bit in `st_mode`) returns at once; remember the first one without an
    // execute bit (`Option::get_or_insert`) and go on. After the loop, that memory
    // picks `NotExecutable` (126) or `CommandNotFound` (127).
    use crate::error::Error;
    use crate::root::is_file;
    let executable = |stat: &FileStat| is_file(stat) && stat.st_mode & 0o111 != 0;
    if program.contains('/') {
        let path = if program.starts_with('/') {
            program.to_string()
        } else {
            format!(
                "{}/{}",
                workdir.trim_end_matches('/'),
                program.trim_start_matches("./")
            )
        };
        return match stat(&path) {
            Some(found) if executable(&found) => Ok(path),
            Some(_) => Err(Error::NotExecutable {
                program: program.to_string(),
                reason: format!("{path} in the image is not an executable file"),
            }),
            None => Err(Error::CommandNotFound {
                program: program.to_string(),
                searched: String::new(),
            }),
        };
    }
    let mut not_executable = None;
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = format!("{}/{program}", dir.trim_end_matches('/'));
        match stat(&candidate) {
            Some(found) if executable(&found) => return Ok(candidate),
            Some(_) => {
                not_executable.get_or_insert(candidate);
            }
            None => {}
        }
    }
    match not_executable {
        Some(path) => Err(Error::NotExecutable {
            program: program.to_string(),
            reason: format!("{path} in the image is not an executable file"),
        }),
        None => Err(Error::CommandNotFound {
            program: program.to_string(),
            searched: format!(" (PATH={path_var})"),
        }),
    }
    // END EXERCISE
}
// ANCHOR_END: find_program
