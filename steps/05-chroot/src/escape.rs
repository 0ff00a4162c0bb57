//! Why a chroot is not a jail.
//!
//! `chroot` changes one thing: where the kernel stops a path's `..`. It
//! stops there only when the process's *root* is reached, and checks
//! nothing else. A process that can call `chroot` (root, with
//! `CAP_SYS_CHROOT`) can move its root below its working directory, and
//! then walk up past it, to the host's `/`. That is the classic escape
//! every container runtime defends against, with `pivot_root` and by
//! taking `CAP_SYS_CHROOT` away (step 08).

use std::ffi::CStr;

/// How many `..` to climb: deeper than any real path.
pub const CLIMB: usize = 256;

// ANCHOR: escape
/// From inside a chroot, as root: makes this process's root the host's
/// real `/` again. `hatch` is a directory name to create and use.
pub fn escape(hatch: &CStr) -> nix::Result<()> {
    // EXERCISE(break-out): Break out of the chroot (deep dive).
    // 1. `mkdir(hatch)` (it may exist already: `Errno::EEXIST` is fine).
    // 2. `chroot(hatch)`: the root moves *below* the working directory,
    //    which stays where it was, now outside the root.
    // 3. `chdir("..")` CLIMB times: `..` is only stopped at the root, and
    //    the working directory will never meet it again; at the host's `/`,
    //    `..` is `/` itself.
    // 4. `chroot(".")`: the host's `/` is the root again. `chdir("/")`.
    // HINT: The trick: `chroot` into the hatch without `chdir`-ing into it. The
    // working directory is then outside the root, where `..` is never stopped.
    // HINT+: Match on `mkdir`'s result: `Ok` and `Err(Errno::EEXIST)` go on, any
    // other error returns (`Mode::from_bits_truncate` for the mode). The other calls
    // return `nix::Result` like this function, so `?` passes errors on; the climb is
    // a `for` loop of `chdir` to `..`, `CLIMB` times. Never `chdir` into the hatch:
    // that would put you back inside the root.
    use nix::errno::Errno;
    use nix::sys::stat::Mode;
    use nix::unistd::{chdir, chroot, mkdir};
    match mkdir(hatch, Mode::from_bits_truncate(0o700)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e),
    }
    chroot(hatch)?;
    for _ in 0..CLIMB {
        chdir(c"..")?;
    }
    chroot(c".")?;
    chdir(c"/")
    // END EXERCISE
}
// ANCHOR_END: escape
