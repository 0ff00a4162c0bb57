//! Capabilities: root's privileges, one by one.
//!
//! The kernel splits what root may do into about forty capabilities:
//! `CAP_NET_BIND_SERVICE` to listen on a port below 1024, `CAP_SYS_ADMIN`
//! to mount, `CAP_MKNOD` to make device nodes... Root in a container keeps
//! only Docker's default fourteen. A process has five sets; what matters
//! here is the *bounding* set, the most any program it runs can ever have:
//! root's programs start with all of it, a normal user's with none.

#![allow(clippy::result_large_err)]

use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::libc;
use step_05_chroot::child::Failure;

/// Every capability's name, by number (capabilities(7); 41 in Linux 6.x).
pub const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Docker's default set: what `CapBnd` shows in a container,
/// `00000000a80425fb`.
pub const DOCKER_DEFAULT: [&str; 14] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SYS_CHROOT",
    "MKNOD",
    "AUDIT_WRITE",
    "SETFCAP",
];

/// A set of capabilities, as the kernel writes it: bit N is capability N.
pub type Set = u64;

/// The number of capability `name` (`net_raw`, `CAP_NET_RAW`).
pub fn number(name: &str) -> Result<u32> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    NAMES
        .iter()
        .position(|n| *n == bare)
        .map(|n| n as u32)
        .ok_or_else(|| Error::Capability(name.to_string()))
}

/// The set of `names`.
pub fn set_of(names: &[&str]) -> Result<Set> {
    names
        .iter()
        .try_fold(0, |set, name| Ok(set | 1 << number(name)?))
}

// ANCHOR: resolve
/// Docker's default set, changed by `--cap-add` and `--cap-drop` (`ALL`
/// allowed in either); `all` is every capability this kernel has.
pub fn resolve(add: &[String], drop: &[String], all: Set) -> Result<Set> {
    // EXERCISE(capability-set): Work out the capability set.
    // Start from `set_of(&DOCKER_DEFAULT)`. Drop first, then add, as
    // Docker does: `--cap-drop ALL --cap-add NET_BIND_SERVICE` leaves that
    // one. `ALL` (any case) means every capability in `all`. Unknown names
    // are `Error::Capability` (`number` says so).
    // HINT: A `Set` is a `u64` with bit N for capability N: drop clears bits, add
    // sets them, and drop goes first.
    // HINT+: Turn each list into a mask: `ALL` (`eq_ignore_ascii_case`) is `all`, any
    // other name one bit at `number(name)?`, whose error is the one for unknown names
    // (`try_fold` keeps the `?` working). Shift a `u64`, not an `i32`: capabilities
    // go up to 40. Start from `set_of(&DOCKER_DEFAULT)?`, clear with `& !`, set with
    // `|`, and keep only the bits in `all` at the end.
    let names = |list: &[String]| -> Result<Set> {
        list.iter().try_fold(0, |set, name| {
            if name.eq_ignore_ascii_case("ALL") {
                Ok(set | all)
            } else {
                Ok(set | 1 << number(name)?)
            }
        })
    };
    let mut set = set_of(&DOCKER_DEFAULT)?;
    set &= !names(drop)?;
    set |= names(add)?;
    Ok(set & all)
    // END EXERCISE
}
// ANCHOR_END: resolve

/// The names in `set`, as `capsh --decode` lists them (`cap_chown,...`).
pub fn decode(set: Set) -> String {
    let names: Vec<String> = NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| set & (1 << bit) != 0)
        .map(|(_, name)| format!("cap_{}", name.to_ascii_lowercase()))
        .collect();
    names.join(",")
}

/// Every capability this kernel knows (`/proc/sys/kernel/cap_last_cap`).
pub fn all() -> Set {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40);
    if last >= 63 {
        u64::MAX
    } else {
        (1 << (last + 1)) - 1
    }
}

/// In the child, still root: drops every capability outside `set` from
/// the bounding set, so no program run from here can get it back.
pub fn limit_bounding(set: Set, all: Set) -> Result<(), Failure> {
    for cap in 0..64 {
        if all & (1 << cap) != 0 && set & (1 << cap) == 0 {
            // SAFETY: PR_CAPBSET_DROP takes a capability number.
            let result =
                unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
            if result < 0 {
                return Err(Failure::setup(
                    Errno::last(),
                    format_args!("cannot drop capability {cap} from the bounding set"),
                ));
            }
        }
    }
    Ok(())
}

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets, as two 32-bit halves.
const CAP_VERSION_3: u32 = 0x2008_0522;

/// The kernel's `struct __user_cap_header_struct` (linux/capability.h).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// The kernel's `struct __user_cap_data_struct`: one 32-bit half.
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// In the child, as the image's user, right before exec: `set` as the
/// permitted and effective sets (only lowered: a normal user has none
/// left), an empty inheritable set, no ambient capabilities, and
/// `no_new_privs`, so neither setuid programs nor file capabilities can
/// add privileges.
pub fn apply(set: Set) -> Result<(), Failure> {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capget fills two data structs for version 3.
    if unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) } < 0 {
        return Err(Failure::setup(Errno::last(), format_args!("capget failed")));
    }
    for (half, part) in data.iter_mut().enumerate() {
        let wanted = (set >> (32 * half)) as u32;
        part.permitted &= wanted;
        part.effective = part.permitted;
        part.inheritable = 0;
    }
    // SAFETY: capset reads the header and two data structs.
    if unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) } < 0 {
        return Err(Failure::setup(Errno::last(), format_args!("capset failed")));
    }
    // SAFETY: these prctl calls take integers only.
    unsafe {
        if libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        ) < 0
        {
            return Err(Failure::setup(
                Errno::last(),
                format_args!("cannot clear the ambient capabilities"),
            ));
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 {
            return Err(Failure::setup(
                Errno::last(),
                format_args!("cannot set no_new_privs"),
            ));
        }
    }
    Ok(())
}
