//! The parent, outside the container: it passes the signals it gets on to
//! the container's PID 1, and exits with PID 1's exit code.
//!
//! It waits for two kinds of events at once with `poll`: a signal (read
//! from a `signalfd`, so no handler runs at a random moment) and PID 1's
//! end (a `pidfd`, readable when the process exits). No SIGCHLD, no
//! sleeping, no polling in the sense of asking again and again.

use crate::error::{Error, Result, system};
use crate::terminal::Terminal;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};

/// The signals `docker run` forwards to the container, and that this
/// supervisor forwards to PID 1.
pub const FORWARDED: [Signal; 4] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
];

/// Signals this process takes as events instead of dying of them.
pub struct Supervisor {
    signals: SignalFd,
}

impl Supervisor {
    /// Blocks `FORWARDED` (and SIGWINCH, for a terminal) in the calling
    /// thread and reads them from a `signalfd`. Call it before starting
    /// the container, in a process whose other threads (if any) block
    /// them too.
    pub fn new() -> Result<Supervisor> {
        let mut set = SigSet::empty();
        for signal in FORWARDED {
            set.add(signal);
        }
        set.add(Signal::SIGWINCH);
        sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).map_err(system("sigprocmask"))?;
        let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(system("signalfd"))?;
        Ok(Supervisor { signals })
    }

    /// Waits for `pid` to end, forwarding signals to it (and, with a
    /// `terminal`, copying it both ways); returns its exit code.
    pub fn supervise(&self, pid: Pid, mut terminal: Option<&mut Terminal>) -> Result<i32> {
        let pidfd = pidfd_open(pid)?;
        loop {
            let mut fds = vec![
                PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
            ];
            if let Some(terminal) = terminal.as_deref() {
                fds.extend(terminal.poll_fds());
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => {
                    return Err(Error::System {
                        call: "poll",
                        source: e,
                    });
                }
            }
            let ready: Vec<bool> = fds.iter().map(|fd| fd.any().unwrap_or(false)).collect();
            drop(fds);
            if ready[1] {
                while let Ok(Some(info)) = self.signals.read_signal() {
                    let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
                        continue;
                    };
                    match (signal, terminal.as_deref_mut()) {
                        (Signal::SIGWINCH, Some(terminal)) => terminal.resize(),
                        (Signal::SIGWINCH, None) => {}
                        (signal, _) => {
                            let _ = kill(pid, signal);
                        }
                    }
                }
            }
            if let Some(terminal) = terminal.as_deref_mut() {
                terminal.copy(&ready[2..]);
            }
            if ready[0] {
                if let Some(terminal) = terminal.as_deref_mut() {
                    terminal.drain();
                }
                return step_05_chroot::chroot::wait(pid).map_err(Error::from);
            }
        }
    }
}

/// A descriptor for `pid` that `poll` finds readable once it has exited
/// (Linux 5.3).
fn pidfd_open(pid: Pid) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags, and returns a new descriptor.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(Error::System {
            call: "pidfd_open",
            source: Errno::last(),
        });
    }
    // SAFETY: the kernel just gave us this descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
