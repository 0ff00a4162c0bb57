//! The container's mount namespace: cut off from the host's, the image as
//! its root, and a `/proc` of its own PID namespace.
//!
//! All of this runs in the child, after `clone` and before `chroot`.

// A `Failure` carries its message on the stack (the child must not
// allocate): returning it by value is the point.
#![allow(clippy::result_large_err)]

use nix::mount::{MsFlags, mount};
use std::ffi::CStr;
use step_05_chroot::child::{Failure, Lossy};

// ANCHOR: private
/// Stops mount events from crossing between the container and the host,
/// in both directions.
pub fn make_private() -> Result<(), Failure> {
    // EXERCISE(private-mounts): Make every mount private.
    // A new mount namespace starts as a copy of the host's, and on most
    // systems (systemd) `/` is a *shared* mount: a mount made under it in
    // one namespace propagates to the others. Remount `/` recursively
    // private: `mount(None, "/", None, MS_REC | MS_PRIVATE, None)`.
    mount(
        None::<&CStr>,
        c"/",
        None::<&CStr>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&CStr>,
    )
    .map_err(|e| Failure::setup(e, format_args!("cannot make / private")))
    // END EXERCISE
}
// ANCHOR_END: private

// ANCHOR: bind
/// Mounts the image's root filesystem onto itself, so it is a mount point
/// of this namespace (what `pivot_root` in step 08 needs) and what is
/// mounted under it stays with it.
pub fn bind_root(rootfs: &CStr) -> Result<(), Failure> {
    // EXERCISE(bind-root): Bind the root filesystem onto itself.
    // `mount(Some(rootfs), rootfs, None, MS_BIND | MS_REC, None)`.
    mount(
        Some(rootfs),
        rootfs,
        None::<&CStr>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&CStr>,
    )
    .map_err(|e| Failure::setup(e, format_args!("cannot bind {} onto itself", Lossy(rootfs))))
    // END EXERCISE
}
// ANCHOR_END: bind

// ANCHOR: proc
/// Mounts a new `proc` file system at `target` (the image's `/proc`): it
/// shows the processes of the PID namespace of the process that mounts it.
pub fn mount_proc(target: &CStr) -> Result<(), Failure> {
    // EXERCISE(mount-proc): Mount a fresh /proc.
    // Source "proc", type "proc", with MS_NOSUID | MS_NOEXEC | MS_NODEV
    // (nothing in /proc is a program or a device). The host's /proc would
    // show the host's processes.
    mount(
        Some(c"proc"),
        target,
        Some(c"proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV,
        None::<&CStr>,
    )
    .map_err(|e| Failure::setup(e, format_args!("cannot mount proc on {}", Lossy(target))))
    // END EXERCISE
}
// ANCHOR_END: proc
