//! `/dev` and `/sys` as Docker sets them up.
//!
//! The image's `/dev` is usually empty, and a container must not see the
//! host's (disks, `/dev/mem`, every terminal). So `/dev` is a small tmpfs
//! with six device nodes, a private `/dev/pts` for terminals, `/dev/shm`
//! and `/dev/mqueue`, and a few links into `/proc/self/fd`. `/sys` is
//! mounted read-only. Everything here runs in the child, standing in the
//! root filesystem (after `chdir(rootfs)`), so paths are relative.

#![allow(clippy::result_large_err)]

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sys::stat::Mode;
use nix::unistd::symlinkat;
use std::ffi::CStr;
use step_05_chroot::child::{Failure, Lossy};

/// A device node Docker puts in every container's `/dev`.
pub struct Device {
    /// Relative to the root filesystem.
    pub path: &'static CStr,
    /// The host's node, bind-mounted where `mknod` is not allowed (in a
    /// user namespace).
    pub host: &'static CStr,
    pub major: u64,
    pub minor: u64,
}

/// The nodes: all character devices, mode 0666.
pub const DEVICES: [Device; 6] = [
    Device {
        path: c"dev/null",
        host: c"/dev/null",
        major: 1,
        minor: 3,
    },
    Device {
        path: c"dev/zero",
        host: c"/dev/zero",
        major: 1,
        minor: 5,
    },
    Device {
        path: c"dev/full",
        host: c"/dev/full",
        major: 1,
        minor: 7,
    },
    Device {
        path: c"dev/random",
        host: c"/dev/random",
        major: 1,
        minor: 8,
    },
    Device {
        path: c"dev/urandom",
        host: c"/dev/urandom",
        major: 1,
        minor: 9,
    },
    Device {
        path: c"dev/tty",
        host: c"/dev/tty",
        major: 5,
        minor: 0,
    },
];

/// The links into `/proc/self/fd`, as `(link, target)`.
pub const LINKS: [(&CStr, &CStr); 5] = [
    (c"dev/fd", c"/proc/self/fd"),
    (c"dev/stdin", c"/proc/self/fd/0"),
    (c"dev/stdout", c"/proc/self/fd/1"),
    (c"dev/stderr", c"/proc/self/fd/2"),
    (c"dev/ptmx", c"pts/ptmx"),
];

fn mount_fs(
    what: &CStr,
    target: &CStr,
    flags: MsFlags,
    data: Option<&CStr>,
) -> Result<(), Failure> {
    mount(Some(what), target, Some(what), flags, data).map_err(|e| {
        Failure::setup(
            e,
            format_args!("cannot mount {} on {}", Lossy(what), Lossy(target)),
        )
    })
}

fn make_dir(path: &CStr, mode: u32) -> Result<(), Failure> {
    match nix::unistd::mkdir(path, Mode::from_bits_truncate(mode)) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(Failure::setup(
            e,
            format_args!("cannot make {}", Lossy(path)),
        )),
    }
}

// ANCHOR: nodes
/// Makes each of [`DEVICES`] in the new `/dev`: with `mknod` as real root,
/// by bind-mounting the host's node in a user namespace (`rootless`),
/// where the kernel forbids making device nodes.
pub fn make_nodes(rootless: bool) -> Result<(), Failure> {
    // EXERCISE(device-nodes): Make the device nodes.
    // As root: `mknod(path, SFlag::S_IFCHR, mode 0666, makedev(major,
    // minor))`; mknod applies the umask, so set the mode again with
    // `fchmodat`/`chmod` to be sure. Rootless: create an empty file at
    // `path` (`open` with O_CREAT) and bind-mount `host` onto it.
    // HINT: `mknod` as real root; in a user namespace (`rootless`) `mknod` of a
    // device is `EPERM`, so bind-mount the host's node onto an empty file instead.
    // HINT+: Root: nix's `mknod` with `SFlag::S_IFCHR`, mode 0o666 and `makedev`,
    // then `fchmodat` to the same mode, since the umask took write bits (the check
    // wants `20666`). Rootless: `open` with `O_CREAT` (and `O_CLOEXEC`), drop the fd,
    // then `mount` `device.host` onto the path with `MS_BIND`. The paths are
    // relative: the child stands in the root filesystem.
    use nix::sys::stat::{SFlag, makedev, mknod};
    for device in &DEVICES {
        let fail = |e| Failure::setup(e, format_args!("cannot make {}", Lossy(device.path)));
        if rootless {
            let file = nix::fcntl::open(
                device.path,
                nix::fcntl::OFlag::O_CREAT
                    | nix::fcntl::OFlag::O_WRONLY
                    | nix::fcntl::OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o666),
            )
            .map_err(fail)?;
            drop(file);
            mount(
                Some(device.host),
                device.path,
                None::<&CStr>,
                MsFlags::MS_BIND,
                None::<&CStr>,
            )
            .map_err(fail)?;
        } else {
            let mode = Mode::from_bits_truncate(0o666);
            mknod(
                device.path,
                SFlag::S_IFCHR,
                mode,
                makedev(device.major, device.minor),
            )
            .map_err(fail)?;
            nix::sys::stat::fchmodat(
                nix::fcntl::AT_FDCWD,
                device.path,
                mode,
                nix::sys::stat::FchmodatFlags::FollowSymlink,
            )
            .map_err(fail)?;
        }
    }
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: nodes

/// Mounts `/dev` (nodes, pts, shm, mqueue, links) and a read-only `/sys`
/// into the root filesystem, from inside it.
pub fn mount_dev_and_sys(rootless: bool) -> Result<(), Failure> {
    let hardened = MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV;
    mount_fs(
        c"tmpfs",
        c"dev",
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some(c"mode=755,size=65536k"),
    )?;
    make_nodes(rootless)?;
    make_dir(c"dev/pts", 0o755)?;
    // A new instance: the container's terminals only, not the host's.
    let pts_options: &CStr = if rootless {
        c"newinstance,ptmxmode=0666,mode=0620"
    } else {
        c"newinstance,ptmxmode=0666,mode=0620,gid=5"
    };
    mount(
        Some(c"devpts"),
        c"dev/pts",
        Some(c"devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some(pts_options),
    )
    .map_err(|e| Failure::setup(e, format_args!("cannot mount devpts on dev/pts")))?;
    make_dir(c"dev/shm", 0o1777)?;
    mount_fs(
        c"tmpfs",
        c"dev/shm",
        hardened,
        Some(c"mode=1777,size=65536k"),
    )?;
    make_dir(c"dev/mqueue", 0o755)?;
    mount_fs(c"mqueue", c"dev/mqueue", hardened, None)?;
    for (link, target) in LINKS {
        symlinkat(target, nix::fcntl::AT_FDCWD, link)
            .map_err(|e| Failure::setup(e, format_args!("cannot link {}", Lossy(link))))?;
    }
    // sysfs belongs to the network namespace that mounts it: ours.
    mount_fs(c"sysfs", c"sys", hardened | MsFlags::MS_RDONLY, None)
}
