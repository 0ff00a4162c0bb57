//! Changing the process's groups and ids with the kernel's system calls,
//! not glibc's functions of the same names.
//!
//! POSIX says ids belong to a process, but Linux keeps them per thread. So
//! glibc's `setgroups`, `setresgid` and `setresuid` change every thread of
//! the process: they signal each thread on glibc's list of threads and wait
//! on a futex for each to follow. A child made with `clone` (as steps 05
//! and 06 make theirs) copies that list from its parent, whose other
//! threads it does not have; glibc then waits for a thread that is not
//! there, and the container never starts. The system calls change the
//! calling thread only, which in the child is the whole process.

use nix::errno::Errno;
use nix::libc;

/// `setgroups(2)`: the supplementary groups.
pub fn set_supplementary_groups(groups: &[libc::gid_t]) -> nix::Result<()> {
    // SAFETY: the pointer and length describe `groups`, which outlives the call.
    let result = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    Errno::result(result).map(drop)
}

/// `setresgid(2)` with one gid for the real, effective and saved ids.
pub fn set_gids(gid: libc::gid_t) -> nix::Result<()> {
    // SAFETY: plain integers.
    let result = unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) };
    Errno::result(result).map(drop)
}

/// `setresuid(2)` with one uid for the real, effective and saved ids.
pub fn set_uids(uid: libc::uid_t) -> nix::Result<()> {
    // SAFETY: plain integers.
    let result = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
    Errno::result(result).map(drop)
}
