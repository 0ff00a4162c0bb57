//! `fork`, enter the image in the child, `exec`; wait in the parent.

use crate::child::{self, Exec, Prepared, Report, Stdio};
use crate::error::{Error, Result, system};
use crate::exit::exit_code;
use crate::image::Image;
use crate::lookup;
use crate::root::{Root, is_dir};
use crate::spec::{Options, Spec};
use crate::user;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{ForkResult, Pid, fork, pipe2};
use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

/// Everything about the process to start, decided in the parent: the
/// spec, the user's ids and the program's path inside the image.
pub fn prepare(
    image: &Image,
    options: &Options,
    host_env: impl Fn(&str) -> Option<String>,
) -> Result<Prepared> {
    let name = image.reference.to_string();
    let mut spec = Spec::new(&name, &image.config.config, options, host_env)?;
    let root = Root::open(&image.rootfs)?;
    let credentials = user::lookup(&root, &spec.user)?;
    spec.default_var("HOME", &credentials.home);
    match root.stat(&spec.workdir) {
        Ok(stat) if is_dir(&stat) => {}
        _ => {
            return Err(Error::Setup(format!(
                "the working directory {} does not exist in {name}; give another with -w",
                spec.workdir
            )));
        }
    }
    let path = spec.var("PATH").unwrap_or_default().to_string();
    let program = lookup::find(&root, &path, &spec.workdir, &spec.argv[0])?;
    let nul = |what: &str| Error::Setup(format!("{what} holds a NUL byte"));
    let rootless = (!nix::unistd::geteuid().is_root()).then(|| {
        (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    });
    Ok(Prepared {
        rootfs: CString::new(image.rootfs.as_os_str().as_bytes()).map_err(|_| nul("the path"))?,
        workdir: CString::new(spec.workdir.as_str()).map_err(|_| nul("the working directory"))?,
        exec: Exec::new(&program, &spec.argv, &spec.env)
            .ok_or_else(|| nul("the command or the environment"))?,
        credentials,
        rootless,
    })
}

/// Starts `prepared` in a chroot with `stdio`; returns the child once it
/// has called `execve`, or the error that stopped it before.
pub fn spawn(prepared: &Prepared, stdio: &Stdio) -> Result<Pid> {
    let (read, write) = pipe2(OFlag::O_CLOEXEC).map_err(system("pipe2"))?;
    // SAFETY: the child only makes system calls (see `child`), then execs
    // or exits.
    match unsafe { fork() }.map_err(system("fork"))? {
        ForkResult::Child => {
            drop(read);
            child::start(prepared, stdio).report(write.as_fd())
        }
        ForkResult::Parent { child } => {
            drop(write);
            match Report::read(&read) {
                None => Ok(child),
                Some(report) => {
                    let _ = waitpid(child, None);
                    Err(failure(prepared, report))
                }
            }
        }
    }
}

/// Waits for `child` to end; its exit code (128 + N for signal N).
pub fn wait(child: Pid) -> Result<i32> {
    loop {
        match waitpid(child, None) {
            Ok(status) => {
                if let Some(code) = exit_code(status) {
                    return Ok(code);
                }
            }
            Err(Errno::EINTR) => continue,
            Err(e) => {
                return Err(Error::System {
                    call: "waitpid",
                    source: e,
                });
            }
        }
    }
}

/// Runs `image` in a chroot as `options` say, with `stdio`; returns its
/// exit code.
pub fn run(image: &Image, options: &Options, stdio: &Stdio) -> Result<i32> {
    let prepared = prepare(image, options, |name| std::env::var(name).ok())?;
    let child = spawn(&prepared, stdio)?;
    wait(child)
}

/// The error for what the child reported.
pub fn failure(prepared: &Prepared, report: Report) -> Error {
    let program = prepared.exec.program().to_string_lossy().into_owned();
    match (report.exec, report.errno) {
        (true, Errno::ENOENT) => Error::CommandNotFound {
            program,
            searched: " (or the interpreter it names, in its #! line or ELF header, is missing)"
                .to_string(),
        },
        (true, errno) => Error::NotExecutable {
            program,
            reason: errno.desc().to_string(),
        },
        (false, Errno::EPERM) if prepared.rootless.is_some() => Error::Privileges {
            what: report.message,
            how: "the kernel refused it to a normal user; run as root, or allow user namespaces (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)".to_string(),
        },
        (false, errno) => Error::Setup(format!("{}: {}", report.message, errno.desc())),
    }
}
