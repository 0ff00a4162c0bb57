//! The paths of `/proc` and `/sys` Docker hides or makes read-only.
//!
//! A PID namespace's `/proc` still shows the *kernel*: its memory
//! (`/proc/kcore`), its keyrings, its timers, and knobs that change the
//! whole machine (`/proc/sys`, `/proc/sysrq-trigger`). Docker masks the
//! first kind (an empty file or directory mounted over them) and makes the
//! second read-only. Both lists are Docker's defaults, which runc receives
//! as `linux.maskedPaths` and `linux.readonlyPaths`.

#![allow(clippy::result_large_err)]

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use std::ffi::CStr;
use step_05_chroot::child::{Failure, Lossy};

/// Hidden: an empty file (`/dev/null`) or directory (a read-only tmpfs)
/// over each. Relative to the root filesystem.
pub const MASKED: [&CStr; 12] = [
    c"proc/asound",
    c"proc/acpi",
    c"proc/interrupts",
    c"proc/kcore",
    c"proc/keys",
    c"proc/latency_stats",
    c"proc/timer_list",
    c"proc/timer_stats",
    c"proc/sched_debug",
    c"proc/scsi",
    c"sys/firmware",
    c"sys/devices/virtual/powercap",
];

/// Visible, but read-only.
pub const READ_ONLY: [&CStr; 5] = [
    c"proc/bus",
    c"proc/fs",
    c"proc/irq",
    c"proc/sys",
    c"proc/sysrq-trigger",
];

// ANCHOR: mask
/// Hides `path` (relative to the root filesystem, `dev/null` already made):
/// a directory gets an empty read-only tmpfs over it, anything else the
/// container's `/dev/null`. A path this kernel lacks is left alone.
pub fn mask(path: &CStr) -> Result<(), Failure> {
    // EXERCISE(mask-paths): Mask one path.
    // `stat(path)`: `Errno::ENOENT` means nothing to hide. A directory
    // (`st_mode & S_IFMT == S_IFDIR`): mount "tmpfs" there with MS_RDONLY.
    // Else bind-mount "dev/null" onto it (MS_BIND).
    // HINT: `stat` first: a missing path (`ENOENT`) is nothing to hide, and the
    // file's type decides how to hide it.
    // HINT+: Mask `st_mode` with `S_IFMT` before comparing it with `S_IFDIR`: it
    // holds the permission bits too (`SFlag::from_bits_truncate` makes it an
    // `SFlag`). A directory gets a new `tmpfs` mounted over it with `MS_RDONLY`
    // (empty, and refuses writes); anything else gets `dev/null` bind-mounted onto it
    // (`MS_BIND`, no type). One `Failure::setup` serves both mounts.
    use nix::sys::stat::{SFlag, stat};
    let fail = |e| Failure::setup(e, format_args!("cannot mask {}", Lossy(path)));
    let found = match stat(path) {
        Ok(found) => found,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(fail(e)),
    };
    let is_dir = SFlag::from_bits_truncate(found.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR;
    if is_dir {
        mount(
            Some(c"tmpfs"),
            path,
            Some(c"tmpfs"),
            MsFlags::MS_RDONLY,
            None::<&CStr>,
        )
    } else {
        mount(
            Some(c"dev/null"),
            path,
            None::<&CStr>,
            MsFlags::MS_BIND,
            None::<&CStr>,
        )
    }
    .map_err(fail)
    // END EXERCISE
}
// ANCHOR_END: mask

/// Makes `path` read-only: a bind mount onto itself, remounted read-only.
/// (A bind mount takes the flags of its first mount; only a remount can
/// change them.)
pub fn read_only(path: &CStr) -> Result<(), Failure> {
    let fail = |e| Failure::setup(e, format_args!("cannot make {} read-only", Lossy(path)));
    match mount(
        Some(path),
        path,
        None::<&CStr>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&CStr>,
    ) {
        Ok(()) => {}
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(fail(e)),
    }
    remount_read_only(path).map_err(fail)
}

/// Remounts the bind mount at `path` read-only, keeping its other flags: a
/// remount replaces them all, and in a user namespace the kernel refuses
/// to clear the ones it locked (`nosuid`, `nodev`, `noexec` on /proc).
pub fn remount_read_only(path: &CStr) -> nix::Result<()> {
    use nix::sys::statvfs::{FsFlags, statvfs};
    let current = statvfs(path)?.flags();
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    for (has, keep) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if current.contains(has) {
            flags |= keep;
        }
    }
    mount(None::<&CStr>, path, None::<&CStr>, flags, None::<&CStr>)
}

/// Every mask and read-only path, in order.
pub fn apply() -> Result<(), Failure> {
    for path in MASKED {
        mask(path)?;
    }
    for path in READ_ONLY {
        read_only(path)?;
    }
    Ok(())
}
