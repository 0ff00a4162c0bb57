//! `pivot_root` instead of `chroot`.
//!
//! `chroot` changes one process's idea of `/`; the host's root stays in
//! its mount namespace, a `..` away for anyone who can call `chroot` again
//! (step 05's breakout). `pivot_root` changes the mount namespace itself:
//! the image becomes its root mount, the old root is moved under it and
//! then detached. After that, no path leads back to the host's files.

#![allow(clippy::result_large_err)]

use nix::mount::{MsFlags, mount};
use nix::unistd::{chdir, chroot};
use std::ffi::CStr;
use step_05_chroot::child::{Failure, Lossy};

/// Makes `rootfs` (a mount point: step 06 binds it onto itself) the root
/// of this mount namespace and forgets the old one; then enters `workdir`.
pub fn enter(rootfs: &CStr, workdir: &CStr) -> Result<(), Failure> {
    chdir(rootfs).map_err(|e| Failure::setup(e, format_args!("cannot enter {}", Lossy(rootfs))))?;
    swap_root()?;
    chdir(workdir).map_err(|e| {
        Failure::setup(
            e,
            format_args!("cannot enter the working directory {}", Lossy(workdir)),
        )
    })
}

// ANCHOR: pivot
/// Standing in the new root: makes it `/`, with the old root detached.
pub fn swap_root() -> Result<(), Failure> {
    // EXERCISE(pivot-root): Swap the root mount.
    // `pivot_root(".", ".")` puts the old root on top of the new one, at
    // the same place; `umount2(".", MntFlags::MNT_DETACH)` then detaches
    // it (the old root is what "." names now). `chdir("/")` last. Where
    // pivot_root is impossible (`EINVAL`: the root is the initramfs, which
    // cannot be unmounted), fall back to `move_root()`.
    // HINT: `enter` already stands in the new root, so `"."` can be both of
    // `pivot_root`'s arguments: see the NOTES of `man 2 pivot_root`.
    // HINT+: Match on nix's `pivot_root`. On success the old root sits on top, at
    // `.`: `umount2` it with `MntFlags::MNT_DETACH` (a plain unmount fails with
    // `EBUSY`, as the host's mounts are in use). `Err(Errno::EINVAL)` means an
    // initramfs: `move_root()` instead. Any other errno is a `Failure::setup`. Then
    // `chdir` to `/`, whichever way you came.
    use nix::errno::Errno;
    use nix::mount::{MntFlags, umount2};
    use nix::unistd::pivot_root;
    match pivot_root(c".", c".") {
        Ok(()) => {
            umount2(c".", MntFlags::MNT_DETACH)
                .map_err(|e| Failure::setup(e, format_args!("cannot detach the old root")))?;
        }
        Err(Errno::EINVAL) => move_root()?,
        Err(e) => return Err(Failure::setup(e, format_args!("pivot_root failed"))),
    }
    chdir(c"/").map_err(|e| Failure::setup(e, format_args!("cannot chdir to the new root")))
    // END EXERCISE
}
// ANCHOR_END: pivot

/// The fallback where `pivot_root` cannot work: move the image's mount
/// over `/`, then `chroot` into it (what runc's `--no-pivot` does). The
/// host's root is still underneath, so this is weaker.
fn move_root() -> Result<(), Failure> {
    mount(
        Some(c"."),
        c"/",
        None::<&CStr>,
        MsFlags::MS_MOVE,
        None::<&CStr>,
    )
    .map_err(|e| Failure::setup(e, format_args!("cannot move the root filesystem onto /")))?;
    chroot(c".").map_err(|e| Failure::setup(e, format_args!("cannot chroot into the moved root")))
}
