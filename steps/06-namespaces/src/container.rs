//! Starting a container: `clone` a child into new namespaces, set them up
//! from inside, and exec the image's program as PID 1.
//!
//! `unshare --fork --pid ...` calls `unshare(2)`, then `fork(2)`, because
//! a new PID namespace only applies to the children made after it. `clone`
//! does both in one call, which is what runc does: the parent never enters
//! the namespaces and stays on the host as the supervisor, and without root
//! the parent can write the child's uid and gid maps from outside while
//! the child waits for them.

#![allow(clippy::result_large_err)]

use crate::error::{Error, Result, system};
use crate::namespaces::{self, CONTAINER};
use crate::{init, terminal};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sched::{CloneFlags, clone};
use nix::sys::signal::Signal;
use nix::unistd::{Pid, pipe2, read, write};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use step_05_chroot::child::{
    self, Failure, Prepared, Report, Stdio, become_user, enter_root, reset_signals,
};
use step_05_chroot::chroot;
use step_05_chroot::image::Image;
use step_05_chroot::spec::Options as ProcessOptions;

/// How much stack the child gets until it execs.
const STACK_SIZE: usize = 1024 * 1024;

/// What `run` adds to a process: its hostname, `--init`, and a terminal.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--hostname`; by default the first 12 characters of the id.
    pub hostname: Option<String>,
    /// `--init`: a tiny init as PID 1, the command as its child.
    pub init: bool,
}

/// A container ready to start.
#[derive(Debug)]
pub struct Container {
    /// 64 hex digits, as Docker's.
    pub id: String,
    pub hostname: String,
    pub init: bool,
    prepared: Prepared,
    #[allow(dead_code, reason = "only set-up's solution reads it")]
    proc_dir: CString,
}

impl Container {
    /// Everything decided before `clone`: step 05's process, an id, the
    /// hostname, where `/proc` goes.
    pub fn prepare(
        image: &Image,
        process: &ProcessOptions,
        options: &Options,
        host_env: impl Fn(&str) -> Option<String>,
    ) -> Result<Container> {
        let id = container_id()?;
        let hostname = options
            .hostname
            .clone()
            .unwrap_or_else(|| id[..12].to_string());
        let valid = !hostname.is_empty()
            && hostname.len() <= 64
            && hostname
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !valid {
            return Err(Error::Hostname(hostname));
        }
        let mut process = process.clone();
        process.env.push(format!("HOSTNAME={hostname}"));
        let prepared = chroot::prepare(image, &process, host_env)?;
        let proc_dir = proc_mount_point(&image.rootfs)?;
        Ok(Container {
            id,
            hostname,
            init: options.init,
            prepared,
            proc_dir,
        })
    }

    /// Whether the container gets a user namespace (not running as root).
    pub fn rootless(&self) -> bool {
        self.prepared.rootless.is_some()
    }

    /// Starts the container with `stdio` (or, with `terminal`, the
    /// secondary side of a pseudo-terminal); returns PID 1's pid, as the
    /// host sees it, once the program runs.
    pub fn spawn(&self, stdio: &Stdio, terminal: Option<&OwnedFd>) -> Result<Pid> {
        self.spawn_with(stdio, terminal, &Chroot)
    }

    /// [`Container::spawn`], with what a later step adds at each moment
    /// (`hooks`).
    pub fn spawn_with(
        &self,
        stdio: &Stdio,
        terminal: Option<&OwnedFd>,
        hooks: &dyn Hooks,
    ) -> Result<Pid> {
        let (report_read, report_write) = pipe2(OFlag::O_CLOEXEC).map_err(system("pipe2"))?;
        let (go_read, go_write) = pipe2(OFlag::O_CLOEXEC).map_err(system("pipe2"))?;
        let mut stack = vec![0u8; STACK_SIZE];
        // Every namespace but the cgroup one, which the child makes once the
        // parent has put it in its cgroup (see `start`).
        let flags = namespaces::flags(self.rootless()) - CloneFlags::CLONE_NEWCGROUP;
        let child_main = Box::new(|| -> isize {
            let failure = self.start(stdio, terminal, hooks, &go_read, &report_write);
            failure.report(report_write.as_fd())
        });
        // SAFETY: without CLONE_VM the child has its own copy of memory, as
        // after fork; it makes system calls only, then execs or exits.
        let pid = unsafe { clone(child_main, &mut stack, flags, Some(Signal::SIGCHLD as i32)) }
            .map_err(|errno| namespaces_error(errno, self.rootless()))?;
        drop(report_write);
        drop(go_read);
        if let Some(outside) = self.prepared.rootless {
            let proc_dir = CString::new(format!("/proc/{pid}")).expect("no NUL in a pid");
            let inside = (self.prepared.credentials.uid, self.prepared.credentials.gid);
            if let Err(failure) = child::write_id_maps(&proc_dir, outside, inside) {
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
                let _ = nix::sys::wait::waitpid(pid, None);
                return Err(Error::Namespaces {
                    reason: failure.to_string(),
                    fix: USERNS_FIX.to_string(),
                });
            }
        }
        // The child sets its namespaces up while `hooks.created` places it
        // in a cgroup: on cgroup v1 the first move into a cgroup waits for
        // the kernel (an RCU grace period), and the two overlap. The child
        // waits for the second byte before it makes its cgroup namespace.
        let _ = write(&go_write, GO);
        if let Err(error) = hooks.created(pid) {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
            return Err(error);
        }
        let _ = write(&go_write, GO);
        drop(go_write);
        match Report::read(&report_read) {
            None => Ok(pid),
            Some(report) => {
                let _ = nix::sys::wait::waitpid(pid, None);
                Err(chroot::failure(&self.prepared, report).into())
            }
        }
    }

    /// The child, PID 1 of its namespaces: set them up, then exec.
    fn start(
        &self,
        stdio: &Stdio,
        terminal: Option<&OwnedFd>,
        hooks: &dyn Hooks,
        go: &OwnedFd,
        report: &OwnedFd,
    ) -> Failure {
        let steps = || -> Result<(), Failure> {
            // Wait for the parent (and, without root, for our id maps).
            wait_for_parent(go)?;
            // Die with the supervisor rather than outlive it.
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            match terminal {
                Some(secondary) => terminal::attach(secondary)
                    .map_err(|e| Failure::setup(e, format_args!("cannot attach the terminal")))?,
                None => stdio.redirect()?,
            }
            self.set_up(hooks)?;
            // Wait until `hooks.created` has placed this process in its
            // cgroup. A cgroup namespace takes the cgroup its maker is in
            // as its root: made now, the container sees its own cgroup as
            // `/`, as runc does.
            wait_for_parent(go)?;
            nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
                .map_err(|e| Failure::setup(e, format_args!("cannot make the cgroup namespace")))?;
            hooks.before_user()?;
            become_user(&self.prepared.credentials, self.prepared.rootless.is_none())?;
            hooks.before_exec()?;
            Ok(())
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(steps)) {
            Ok(Ok(())) if self.init => self.start_init(report),
            Ok(Ok(())) => {
                reset_signals();
                Failure::exec(self.prepared.exec.exec(), self.prepared.exec.program())
            }
            Ok(Err(failure)) => failure,
            Err(_) => Failure::panicked(),
        }
    }

    // ANCHOR: set_up
    /// Inside the new namespaces: the mounts, the hostname, `lo`, and the
    /// image's root as `/`.
    fn set_up(&self, hooks: &dyn Hooks) -> Result<(), Failure> {
        // EXERCISE(set-up): Set up the namespaces from inside, in order.
        // 1. `mounts::make_private()`, before anything is mounted;
        // 2. `mounts::bind_root(rootfs)`, then `mounts::mount_proc` on the
        //    image's /proc (`self.proc_dir`);
        // 3. `sethostname(&self.hostname)` (this UTS namespace's only);
        // 4. `network::loopback_up()`;
        // 5. `hooks.enter_root(rootfs, workdir)`: step 05's chroot and
        //    chdir here (`Chroot`), pivot_root in step 08.
        // `self.prepared` holds `rootfs` and `workdir`.
        // HINT: Every step is a function that already exists: call them in the
        // numbered order and pass their errors on with `?`.
        // HINT+: `make_private` before any mount, or the others reach the host's
        // mount table; proc after the bind, so it sits on the bound tree;
        // `hooks.enter_root` last, as `self.proc_dir` and `rootfs` are host paths.
        // Only nix's `sethostname` (it takes the `String` as it is) returns a bare
        // errno: wrap it in `Failure::setup`.
        use crate::{mounts, network};
        use nix::unistd::sethostname;
        let rootfs = &self.prepared.rootfs;
        mounts::make_private()?;
        mounts::bind_root(rootfs)?;
        mounts::mount_proc(&self.proc_dir)?;
        sethostname(&self.hostname)
            .map_err(|e| Failure::setup(e, format_args!("cannot set the hostname")))?;
        network::loopback_up()?;
        hooks.enter_root(rootfs, &self.prepared.workdir)
        // END EXERCISE
    }
    // ANCHOR_END: set_up

    /// `--init`: fork the command, then be its init.
    fn start_init(&self, report: &OwnedFd) -> Failure {
        let signals = init::block();
        match raw_fork() {
            Ok(nix::unistd::ForkResult::Child) => {
                reset_signals();
                Failure::exec(self.prepared.exec.exec(), self.prepared.exec.program())
                    .report(report.as_fd())
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                // The report pipe now belongs to the command: it closes
                // on its exec, or carries its failure.
                // SAFETY: this copy of the descriptor is not used again.
                unsafe { nix::libc::close(std::os::fd::AsRawFd::as_raw_fd(report)) };
                init::supervise(child, &signals)
            }
            Err(e) => Failure::setup(e, format_args!("init cannot fork the command")),
        }
    }
}

/// What a later step changes in how a container starts, at the moments it
/// can (step 08: cgroups, pivot_root and /dev, capabilities). The methods
/// that run in the child make system calls only (see step 05's `child`).
pub trait Hooks: Sync {
    /// In the parent, once the child exists, while it sets up its
    /// namespaces: where to put it in a cgroup, before it runs anything of
    /// the image.
    fn created(&self, _pid: Pid) -> Result<()> {
        Ok(())
    }

    /// In the child: make the bound root filesystem `/`, and `workdir`
    /// the working directory.
    fn enter_root(&self, rootfs: &CStr, workdir: &CStr) -> Result<(), Failure>;

    /// In the child, still root, before taking on the image's user.
    fn before_user(&self) -> Result<(), Failure> {
        Ok(())
    }

    /// In the child, as the image's user, right before exec.
    fn before_exec(&self) -> Result<(), Failure> {
        Ok(())
    }
}

/// Step 06's way in: step 05's `chroot` and `chdir`, nothing more.
pub struct Chroot;

impl Hooks for Chroot {
    fn enter_root(&self, rootfs: &CStr, workdir: &CStr) -> Result<(), Failure> {
        enter_root(rootfs, workdir)
    }
}

/// The byte the parent writes, once when the child may start and once
/// when it is in its cgroup.
const GO: &[u8] = b"1";

/// Waits for the parent's next [`GO`]. The pipe's end of file means the
/// parent gave up (it kills the child then): never go on unprepared.
fn wait_for_parent(go: &OwnedFd) -> Result<(), Failure> {
    let mut byte = [0u8; 1];
    match read(go.as_fd(), &mut byte) {
        Ok(1) => Ok(()),
        Ok(_) => Err(Failure::setup(
            Errno::EPIPE,
            format_args!("the supervisor went away"),
        )),
        Err(e) => Err(Failure::setup(
            e,
            format_args!("cannot hear from the supervisor"),
        )),
    }
}

/// `fork` as the bare system call. This process came from `clone`, which
/// copies memory as it is: a lock another thread of the parent held (the
/// allocator's) is held here forever, and glibc's `fork()` takes such locks
/// to run its fork handlers. The system call takes none.
fn raw_fork() -> nix::Result<nix::unistd::ForkResult> {
    // SAFETY: clone with only SIGCHLD and no new stack is fork: the child
    // gets a copy of this process's memory and runs on from here.
    let pid = unsafe { nix::libc::syscall(nix::libc::SYS_clone, nix::libc::SIGCHLD, 0, 0, 0, 0) };
    match pid {
        -1 => Err(Errno::last()),
        0 => Ok(nix::unistd::ForkResult::Child),
        pid => Ok(nix::unistd::ForkResult::Parent {
            child: Pid::from_raw(pid as i32),
        }),
    }
}

/// What to do when the kernel refuses a user namespace.
const USERNS_FIX: &str = "Run as root, or allow unprivileged user namespaces: \
    sysctl -w kernel.unprivileged_userns_clone=1 (Debian), \
    sysctl -w user.max_user_namespaces=15000, or on Ubuntu 24.04 \
    sysctl -w kernel.apparmor_restrict_unprivileged_userns=0";

/// The error for a refused `clone`, with what to do about it.
fn namespaces_error(errno: Errno, rootless: bool) -> Error {
    let names: Vec<&str> = CONTAINER.iter().map(|k| k.name).collect();
    let reason = format!("clone({}) failed: {}", names.join(", "), errno.desc());
    let fix = match (errno, rootless) {
        (Errno::EPERM | Errno::ENOSPC | Errno::EACCES, true) => USERNS_FIX.to_string(),
        (Errno::EPERM, false) => "a seccomp profile or a container around this one forbids it; run on the host, or with --privileged".to_string(),
        (Errno::EINVAL, _) => "this kernel lacks one of these namespace types (CONFIG_*_NS)".to_string(),
        _ => "see clone(2)".to_string(),
    };
    Error::Namespaces { reason, fix }
}

/// The image's `/proc`, where the container's proc goes: it must be a real
/// directory (a symbolic link would send the mount elsewhere).
fn proc_mount_point(rootfs: &Path) -> Result<CString> {
    let target = rootfs.join("proc");
    match std::fs::symlink_metadata(&target) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(step_05_chroot::Error::Setup(format!(
                "{} is not a directory; refusing to mount /proc there",
                target.display()
            ))
            .into());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Images made FROM scratch may lack it: make the mount point.
            std::fs::create_dir(&target).map_err(|source| Error::Io {
                path: target.clone(),
                source,
            })?;
        }
        Err(source) => {
            return Err(Error::Io {
                path: target,
                source,
            });
        }
    }
    CString::new(target.as_os_str().as_bytes()).map_err(|_| {
        step_05_chroot::Error::Setup(format!("{} holds a NUL byte", target.display())).into()
    })
}

/// A new container id: 32 random bytes as 64 hex digits.
fn container_id() -> Result<String> {
    use std::io::Read;
    let path = Path::new("/dev/urandom");
    let mut bytes = [0u8; 32];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
