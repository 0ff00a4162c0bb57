//! A new network namespace has one device, `lo`, and it is down: even
//! `127.0.0.1` does not answer. Bringing it up is an `ioctl` on any socket
//! of the namespace: read the interface's flags, add `IFF_UP`, write them.
//! (`ip link set lo up` does the same over netlink.)

#![allow(clippy::result_large_err)]

use nix::libc;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
use step_05_chroot::child::Failure;

// ANCHOR: loopback
/// Brings up the loopback device of this process's network namespace.
pub fn loopback_up() -> Result<(), Failure> {
    let fail = |e| Failure::setup(e, format_args!("cannot bring lo up"));
    let socket = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(fail)?;
    // SAFETY: `ifreq` is plain data; all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // EXERCISE(loopback-up): Set IFF_UP on lo.
    // `request` names "lo". `SIOCGIFFLAGS` fills `request.ifr_ifru.ifru_flags`
    // with its flags; OR in `libc::IFF_UP` and hand it back with
    // `SIOCSIFFLAGS`. Both go through `libc::ioctl(socket, REQUEST, &mut
    // request)`, which returns -1 on failure (`Errno::last()` says why).
    // SAFETY: both requests read and write an `ifreq`, which `request` is.
    // HINT: Read, change, write: `SIOCGIFFLAGS` fills in lo's flags, you add
    // `IFF_UP`, and `SIOCSIFFLAGS` sets them. `man 7 netdevice`.
    // HINT+: `libc::ioctl` takes the raw fd (`as_raw_fd()`), the request and
    // `&mut request`, and returns -1 on failure, when `Errno::last()` is the errno
    // for `fail`. The flags are the union field `ifr_ifru.ifru_flags`, a `c_short`,
    // and `IFF_UP` is a `c_int`: cast it. Keep the flags already there (OR, don't
    // assign), and do it all in the one `unsafe` block.
    use nix::errno::Errno;
    use std::os::fd::AsRawFd;
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) < 0 {
            return Err(fail(Errno::last()));
        }
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &mut request) < 0 {
            return Err(fail(Errno::last()));
        }
    }
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: loopback
