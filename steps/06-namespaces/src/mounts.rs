//! The container's mount namespace: cut off from the host's, the image as
//! its root, and a `/proc` of its own PID namespace.
//!
//! All of this runs in the child, after `clone` and before `chroot`.

// A `Failure` carries its message on the stack (the child must not
// allocate): returning it by value is the point.
#![allow(clippy::result_large_err)]

use std::ffi::CStr;
use step_05_chroot::child::Failure;

// ANCHOR: private
/// Stops mount events from crossing between the container and the host,
/// in both directions.
pub fn make_private() -> Result<(), Failure> {
    // EXERCISE(private-mounts): Make every mount private.
    // A new mount namespace starts as a copy of the host's, and on most
    // systems (systemd) `/` is a *shared* mount: a mount made under it in
    // one namespace propagates to the others. Remount `/` recursively
    // private: `mount(None, "/", None, MS_REC | MS_PRIVATE, None)`.
    // HINT: A `mount` with no source, no type and no data only changes propagation:
    // see "Changing the propagation type" in `man 2 mount`.
    // HINT+: nix's `mount` is generic over each path argument, so a bare `None` does
    // not compile: annotate it (`None::<&CStr>`). The target is `/` as a C string
    // literal. Without `MS_REC`, only `/` itself turns private and every mount under
    // it stays shared. Turn the errno into `Failure::setup` with `map_err`.
    use nix::mount::{MsFlags, mount};
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
    // HINT: A bind mount needs no file system type and no data; here the source and
    // the target are the same directory.
    // HINT+: `MS_BIND` makes it a bind, and `MS_REC` brings along what is already
    // mounted below the directory (`mount --rbind`). The `None`s need their type
    // (`None::<&CStr>`). For the message, `Lossy(rootfs)` in `format_args!` shows the
    // path without allocating: this runs in the child.
    use nix::mount::{MsFlags, mount};
    use step_05_chroot::child::Lossy;
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
    // HINT: Not a bind of the host's `/proc`, which shows the host's processes: a new
    // `proc` file system, which shows the PID namespace of the process mounting it.
    // HINT+: nix's `mount` with the C string `c"proc"` as both the source (only a
    // label) and the file system type, `target` as the target, the three `MS_NO...`
    // flags OR-ed together and no data (`None::<&CStr>`). `man 5 proc`. Wrap the
    // errno with `Failure::setup`, naming the target with `Lossy`.
    use nix::mount::{MsFlags, mount};
    use step_05_chroot::child::Lossy;
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
