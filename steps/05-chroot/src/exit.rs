//! How a child's end becomes this process's exit code.

use nix::sys::wait::WaitStatus;

// ANCHOR: exit_code
/// The exit code a shell gives for `status`: the program's own code when
/// it exited, 128 + the signal's number when a signal killed it (so
/// SIGKILL, 9, is 137). `None` for a status that is not an end (stopped,
/// continued).
pub fn exit_code(status: WaitStatus) -> Option<i32> {
    // EXERCISE(exit-code): Turn a wait status into a shell's exit code.
    // `WaitStatus::Exited(pid, code)` and `WaitStatus::Signaled(pid,
    // signal, core_dumped)` are ends; every other variant is not.
    // HINT: One `match` on `status`: an arm for `Exited`, one for `Signaled`, and `_`
    // for every other variant.
    // HINT+: Ignore the pid and the core-dump flag with `_` in the patterns. nix's
    // `Signal` is a `#[repr(i32)]` enum, so an `as i32` cast gives its number
    // (SIGKILL is 9). `Stopped`, `Continued` and `StillAlive` are not ends: `None`,
    // and the caller waits again.
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, signal, _) => Some(128 + signal as i32),
        _ => None,
    }
    // END EXERCISE
}
// ANCHOR_END: exit_code
