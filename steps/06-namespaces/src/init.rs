//! `--init`: a tiny PID 1, like `docker run --init` (tini).
//!
//! PID 1 of a PID namespace has two jobs no normal program expects. The
//! kernel gives it every orphan of the namespace: when they exit, they stay
//! zombies until PID 1 `wait`s for them. And the kernel delivers to PID 1
//! only the signals it has a handler for, so a program that never installs
//! one cannot be stopped with SIGTERM. This init runs the command as its
//! child, forwards signals to it, reaps every child, and exits as the
//! command does.

use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, sigprocmask};
use nix::unistd::Pid;

/// The signals init passes on to the command.
pub const FORWARDED: [Signal; 6] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Blocks the forwarded signals and SIGCHLD, to take them with `sigwait`.
pub fn block() -> SigSet {
    let mut set = SigSet::empty();
    for signal in FORWARDED {
        set.add(signal);
    }
    set.add(Signal::SIGCHLD);
    let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
    set
}

// ANCHOR: reap
/// Waits for every child that has ended, without blocking; returns the
/// command's exit code if `command` was among them.
pub fn reap(command: Pid) -> Option<i32> {
    // EXERCISE(reap-zombies): Reap every child that has ended (deep dive).
    // One SIGCHLD can stand for several children, so loop on
    // `waitpid(None, Some(WaitPidFlag::WNOHANG))` (any child, don't block)
    // until it says `StillAlive` or fails (`ECHILD`: no children left).
    // Remember the exit code (`exit_code(status)`) when the pid is `command`.
    // HINT: Loop until nothing is left to reap: one SIGCHLD can stand for several
    // children, and reaping one per signal leaves zombies.
    // HINT+: With `WNOHANG`, `waitpid` returns at once: a status for a child that
    // ended, `StillAlive` when none has (stop), `Err(ECHILD)` when there are no
    // children (stop), `Err(EINTR)` (try again). When `status.pid()` is the
    // command's, keep `exit_code(status)` in a variable, and keep looping: other
    // children may have ended too. Return the variable when the loop stops.
    use nix::errno::Errno;
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    use step_05_chroot::exit::exit_code;
    let mut code = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return code,
            Ok(status) => {
                if status.pid() == Some(command) {
                    code = exit_code(status).or(code);
                }
            }
            Err(Errno::EINTR) => continue,
            Err(_) => return code,
        }
    }
    // END EXERCISE
}
// ANCHOR_END: reap

/// Runs as PID 1 once `command` (our child) runs: forwards signals to it
/// and reaps, until it ends; exits with its code.
pub fn supervise(command: Pid, signals: &SigSet) -> ! {
    loop {
        match signals.wait() {
            Ok(Signal::SIGCHLD) => {
                if let Some(code) = reap(command) {
                    // SAFETY: `_exit` runs nothing of the parent's.
                    unsafe { nix::libc::_exit(code) }
                }
            }
            Ok(signal) => {
                let _ = kill(command, signal);
            }
            Err(_) => {}
        }
    }
}
