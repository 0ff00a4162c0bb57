//! What the child does between `fork` and `exec`.
//!
//! After `fork` the child is a copy of a process that may have had other
//! threads; only the forking thread goes on, and a lock another thread held
//! (stdout's, the environment's) stays held forever in the child. So
//! everything is prepared in the parent ([`Prepared`]), and the child makes
//! system calls and nothing else: no allocation, no `println!`, no
//! `std::env`. A failure cannot be returned to the parent: it is written to
//! a pipe the parent reads ([`Failure::report`]), and the child exits. The
//! pipe is close-on-exec, so a successful `execve` closes it and the parent
//! reads end-of-file: the trick `std::process::Command` uses too.

// A `Failure` carries its message on the stack, since the child must not
// allocate: returning it by value is the point, not an oversight.
#![allow(clippy::result_large_err)]

use crate::user::Credentials;
use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::stat::Mode;
use nix::unistd::{dup2, write};
use std::ffi::{CStr, CString, c_char};
use std::fmt::{self, Write as _};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};

/// Everything the child needs, as the system calls take it.
#[derive(Debug)]
pub struct Prepared {
    /// The root filesystem on the host.
    pub rootfs: CString,
    /// The working directory inside the image.
    pub workdir: CString,
    /// The program, an absolute path inside the image, and its argv and
    /// environment.
    pub exec: Exec,
    pub credentials: Credentials,
    /// Without root: the caller's uid and gid, which a user namespace maps
    /// to the container's user.
    pub rootless: Option<(u32, u32)>,
}

/// An `execve` call, with its null-terminated pointer arrays built ahead.
#[derive(Debug)]
pub struct Exec {
    program: CString,
    argv: Vec<CString>,
    env: Vec<CString>,
    argv_pointers: Vec<*const c_char>,
    env_pointers: Vec<*const c_char>,
}

impl Exec {
    /// The call for `program` with `argv` and `env`; `None` if a string
    /// holds a NUL byte, which no C string can.
    pub fn new(program: &str, argv: &[String], env: &[String]) -> Option<Exec> {
        let strings = |list: &[String]| -> Option<Vec<CString>> {
            list.iter().map(|s| CString::new(s.as_str()).ok()).collect()
        };
        let argv = strings(argv)?;
        let env = strings(env)?;
        let pointers = |list: &[CString]| -> Vec<*const c_char> {
            list.iter()
                .map(|s| s.as_ptr())
                .chain([std::ptr::null()])
                .collect()
        };
        Some(Exec {
            program: CString::new(program).ok()?,
            argv_pointers: pointers(&argv),
            env_pointers: pointers(&env),
            argv,
            env,
        })
    }

    /// The program's path in the image.
    pub fn program(&self) -> &CStr {
        &self.program
    }

    /// The arguments, `argv[0]` first.
    pub fn argv(&self) -> &[CString] {
        &self.argv
    }

    /// The environment, `NAME=VALUE` each.
    pub fn env(&self) -> &[CString] {
        &self.env
    }

    /// Replaces this process with the program; returns only on failure.
    pub fn exec(&self) -> Errno {
        // SAFETY: every pointer points into `self.argv`/`self.env`, which
        // live as long as `self`, and both arrays end with a null pointer.
        unsafe {
            nix::libc::execve(
                self.program.as_ptr(),
                self.argv_pointers.as_ptr(),
                self.env_pointers.as_ptr(),
            );
        }
        Errno::last()
    }
}

/// Where the child's standard streams come from: `None` keeps this
/// process's.
#[derive(Debug, Default)]
pub struct Stdio {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

impl Stdio {
    /// Makes the given descriptors the child's 0, 1 and 2.
    pub fn redirect(&self) -> Result<(), Failure> {
        let streams = [&self.stdin, &self.stdout, &self.stderr];
        for (number, source) in streams.into_iter().enumerate() {
            if let Some(source) = source {
                // SAFETY: 0, 1 and 2 are open in every process; the
                // `OwnedFd` is forgotten, never closed.
                let mut target =
                    std::mem::ManuallyDrop::new(unsafe { OwnedFd::from_raw_fd(number as i32) });
                dup2(source, &mut target)
                    .map_err(|e| Failure::setup(e, format_args!("cannot set up fd {number}")))?;
            }
        }
        Ok(())
    }
}

/// Signals back to their defaults and unblocked: ignored signals and the
/// signal mask survive `execve`, and the program must start clean.
pub fn reset_signals() {
    for signal in [
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGPIPE,
        Signal::SIGTERM,
    ] {
        // SAFETY: SIG_DFL installs no handler.
        let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
    }
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

/// Makes a user namespace for this process, and maps `outside` (the
/// caller's uid and gid) to `inside` (the container's): the process is
/// then `inside` there, with every capability over what the namespace owns.
pub fn enter_user_namespace(outside: (u32, u32), inside: (u32, u32)) -> Result<(), Failure> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
        .map_err(|e| Failure::setup(e, format_args!("cannot make a user namespace")))?;
    write_id_maps(c"/proc/self", outside, inside)
}

/// Writes the one-line uid and gid maps of the process at `proc_dir`
/// (`/proc/self`, or `/proc/<pid>` from the parent), denying `setgroups`
/// first as the kernel requires of an unprivileged writer.
pub fn write_id_maps(
    proc_dir: &CStr,
    outside: (u32, u32),
    inside: (u32, u32),
) -> Result<(), Failure> {
    let mut path = Text::new();
    let mut line = Text::new();
    let _ = write!(
        path,
        "{}/setgroups",
        proc_dir.to_str().unwrap_or("/proc/self")
    );
    write_file(&path, "deny")?;
    for (file, outside, inside) in [
        ("uid_map", outside.0, inside.0),
        ("gid_map", outside.1, inside.1),
    ] {
        path.clear();
        line.clear();
        let _ = write!(path, "{}/{file}", proc_dir.to_str().unwrap_or("/proc/self"));
        let _ = write!(line, "{inside} {outside} 1");
        write_file(&path, line.as_str())?;
    }
    Ok(())
}

fn write_file(path: &Text, contents: &str) -> Result<(), Failure> {
    let fail = |e| Failure::setup(e, format_args!("cannot write {}", path.as_str()));
    let fd = open(
        path.as_c_str(),
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(fail)?;
    write(&fd, contents.as_bytes()).map_err(fail)?;
    Ok(())
}

// ANCHOR: enter_root
/// Makes `rootfs` this process's `/`, and `workdir` (a path inside it) its
/// working directory.
pub fn enter_root(rootfs: &CStr, workdir: &CStr) -> Result<(), Failure> {
    // EXERCISE(enter-root): Enter the image's root filesystem.
    // `chroot(rootfs)` changes what `/` means for this process, but not
    // where it stands: its working directory is still outside the new
    // root. So `chdir("/")` right after, then `chdir(workdir)`. Wrap each
    // error with `Failure::setup(errno, format_args!(...))` saying what
    // failed (`rootfs.to_string_lossy()` shows a path).
    // HINT: Three calls: `chroot`, `chdir` to `/` (the image's now), then `chdir` to
    // the working directory. `man 2 chroot` says why the first `chdir` matters.
    // HINT+: nix's `chroot` and `chdir` take a `&CStr` as it is (`c"/"` is a C string
    // literal). The child must not allocate: no `format!`, no `String`. In the
    // messages, `format_args!` with this file's `Lossy` shows a `&CStr` without
    // allocating. Map each errno with `Failure::setup`, then `?`; end with `Ok`.
    use nix::unistd::{chdir, chroot};
    chroot(rootfs)
        .map_err(|e| Failure::setup(e, format_args!("cannot chroot into {}", Lossy(rootfs))))?;
    chdir(c"/").map_err(|e| Failure::setup(e, format_args!("cannot chdir to the new root")))?;
    chdir(workdir).map_err(|e| {
        Failure::setup(
            e,
            format_args!("cannot enter the working directory {}", Lossy(workdir)),
        )
    })?;
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: enter_root

// ANCHOR: become_user
/// Takes on `credentials`: the supplementary groups (when `set_groups`:
/// a rootless user namespace forbids it), the gid, then the uid.
pub fn become_user(credentials: &Credentials, set_groups: bool) -> Result<(), Failure> {
    // EXERCISE(become-user): Drop from root to the image's user.
    // The order matters: changing groups needs root, so the groups (only
    // when `set_groups`) and the gid come before the uid, which gives root
    // up for good. Set all three ids (real, effective, saved) so the
    // program cannot switch back. Use `crate::ids`'
    // `set_supplementary_groups`, `set_gids` and `set_uids`, not nix's
    // (glibc's) functions: `ids.rs` says why a child made with `clone` must.
    // HINT: Groups, then gid, then uid: after `set_uids` has left root, the process
    // may no longer change its groups.
    // HINT+: `credentials.groups` is a `Vec<u32>`, and a gid is a `u32`: pass the
    // slice as it is, nothing to convert or allocate in the child. Wrap each errno
    // with `Failure::setup(e, format_args!(...))`, naming the id, then `?`.
    use crate::ids::{set_gids, set_supplementary_groups, set_uids};
    if set_groups {
        set_supplementary_groups(&credentials.groups)
            .map_err(|e| Failure::setup(e, format_args!("cannot set the supplementary groups")))?;
    }
    let (gid, uid) = (credentials.gid, credentials.uid);
    set_gids(gid).map_err(|e| Failure::setup(e, format_args!("cannot set gid {gid}")))?;
    set_uids(uid).map_err(|e| Failure::setup(e, format_args!("cannot set uid {uid}")))?;
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: become_user

/// Runs `prepared` in this (forked) process: on success it never returns.
pub fn start(prepared: &Prepared, stdio: &Stdio) -> Failure {
    let steps = || -> Result<(), Failure> {
        reset_signals();
        stdio.redirect()?;
        let credentials = &prepared.credentials;
        if let Some(outside) = prepared.rootless {
            enter_user_namespace(outside, (credentials.uid, credentials.gid))?;
        }
        enter_root(&prepared.rootfs, &prepared.workdir)?;
        become_user(credentials, prepared.rootless.is_none())?;
        Ok(())
    };
    // A panic must not unwind into the parent's code, which this process
    // is a copy of (a test harness would go on running tests here).
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(steps)) {
        Ok(Ok(())) => Failure::exec(prepared.exec.exec(), prepared.exec.program()),
        Ok(Err(failure)) => failure,
        Err(_) => Failure::panicked(),
    }
}

/// A `&CStr` shown as text, without allocating.
pub struct Lossy<'a>(pub &'a CStr);

impl fmt::Display for Lossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.to_bytes().utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_char(char::REPLACEMENT_CHARACTER)?;
            }
        }
        Ok(())
    }
}

/// A short text built on the stack: messages and paths in the child.
#[derive(Clone)]
pub struct Text {
    bytes: [u8; 512],
    len: usize,
}

impl Text {
    pub fn new() -> Text {
        Text {
            bytes: [0; 512],
            len: 0,
        }
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }

    /// The text as a C string (one byte is always kept for the NUL).
    pub fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.bytes[..=self.len]).unwrap_or(c"")
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::new()
    }
}

impl fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep the last byte for the NUL; cut at a character boundary.
        let room = self.bytes.len() - 1 - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        self.bytes[self.len] = 0;
        Ok(())
    }
}

/// Why the child could not start the program.
pub struct Failure {
    errno: Errno,
    /// Whether `execve` itself failed (so the shell's 126/127 apply).
    exec: bool,
    message: Text,
}

impl Failure {
    /// A failure before `execve`: entering the root, the user, a mount...
    pub fn setup(errno: Errno, what: fmt::Arguments) -> Failure {
        let mut message = Text::new();
        let _ = message.write_fmt(what);
        Failure {
            errno,
            exec: false,
            message,
        }
    }

    /// The child's own code panicked (a `todo!()` not yet written, say);
    /// the panic's message is on stderr.
    pub fn panicked() -> Failure {
        Failure::setup(
            Errno::UnknownErrno,
            format_args!("the child panicked before exec (see the message above)"),
        )
    }

    /// `execve` of `program` failed with `errno`.
    pub fn exec(errno: Errno, program: &CStr) -> Failure {
        let mut message = Text::new();
        let _ = write!(message, "{}", Lossy(program));
        Failure {
            errno,
            exec: true,
            message,
        }
    }

    /// Writes this failure to `pipe` for the parent, then exits the child
    /// with the code a shell would give (127, 126 or 125).
    pub fn report(&self, pipe: BorrowedFd) -> ! {
        let mut record = [0u8; 5 + 512];
        record[..4].copy_from_slice(&(self.errno as i32).to_le_bytes());
        record[4] = self.exec as u8;
        let text = self.message.as_str().as_bytes();
        record[5..5 + text.len()].copy_from_slice(text);
        let _ = write(pipe, &record[..5 + text.len()]);
        let code = match (self.exec, self.errno) {
            (true, Errno::ENOENT) => 127,
            (true, _) => 126,
            (false, _) => 125,
        };
        // SAFETY: `_exit` ends the process at once, running nothing of
        // the parent's (no atexit handlers, no buffered stdout).
        unsafe { nix::libc::_exit(code) }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.message.as_str(), self.errno.desc())
    }
}

/// What the parent reads from the pipe: nothing when `execve` succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub errno: Errno,
    pub exec: bool,
    pub message: String,
}

impl Report {
    /// Reads the child's report from `pipe` (blocking until `execve` or
    /// the child's exit closes the other end).
    pub fn read(pipe: &OwnedFd) -> Option<Report> {
        let mut record = Vec::new();
        let mut buffer = [0u8; 1024];
        loop {
            match nix::unistd::read(pipe.as_fd(), &mut buffer) {
                Ok(0) => break,
                Ok(n) => record.extend_from_slice(&buffer[..n]),
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        if record.len() < 5 {
            return None;
        }
        Some(Report {
            errno: Errno::from_raw(i32::from_le_bytes([
                record[0], record[1], record[2], record[3],
            ])),
            exec: record[4] == 1,
            message: String::from_utf8_lossy(&record[5..]).into_owned(),
        })
    }
}
