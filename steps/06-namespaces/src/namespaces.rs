//! Which namespaces a container gets, and what each one hides.
//!
//! `lsns` lists eight types. A container made here gets six new ones; the
//! other two are the host's: the user namespace (unless running without
//! root, see [`flags`]) and the time namespace (which Docker leaves alone
//! too: clocks are the host's).

use nix::sched::CloneFlags;

/// One type of namespace: its `clone` flag, its name in `/proc/PID/ns`
/// and `lsns`, the `unshare` option that makes it, and what it hides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    pub flag: CloneFlags,
    pub name: &'static str,
    pub unshare_option: &'static str,
    pub hides: &'static str,
}

/// The namespaces every container here gets, in `lsns` order.
pub const CONTAINER: [Kind; 6] = [
    Kind {
        flag: CloneFlags::CLONE_NEWCGROUP,
        name: "cgroup",
        unshare_option: "--cgroup",
        hides: "where the process sits in the cgroup tree: its own cgroup looks like the root",
    },
    Kind {
        flag: CloneFlags::CLONE_NEWIPC,
        name: "ipc",
        unshare_option: "--ipc",
        hides: "System V message queues, semaphores and shared memory, and POSIX message queues",
    },
    Kind {
        flag: CloneFlags::CLONE_NEWNS,
        name: "mnt",
        unshare_option: "--mount",
        hides: "the mount table: mounts made inside are not seen outside, and the reverse with private propagation",
    },
    Kind {
        flag: CloneFlags::CLONE_NEWNET,
        name: "net",
        unshare_option: "--net",
        hides: "network devices, addresses, routes, firewall rules and ports: a new one has only lo, down",
    },
    Kind {
        flag: CloneFlags::CLONE_NEWPID,
        name: "pid",
        unshare_option: "--pid",
        hides: "the other processes: the first process is PID 1 and sees only its descendants",
    },
    Kind {
        flag: CloneFlags::CLONE_NEWUTS,
        name: "uts",
        unshare_option: "--uts",
        hides: "the hostname and NIS domain name",
    },
];

/// The user namespace, added when running without root.
pub const USER: Kind = Kind {
    flag: CloneFlags::CLONE_NEWUSER,
    name: "user",
    unshare_option: "--user",
    hides: "user and group ids: root inside can be a normal user outside",
};

// ANCHOR: flags
/// The `clone` flags for a container's namespaces; `rootless` adds a user
/// namespace, which lets a normal user make the others.
pub fn flags(rootless: bool) -> CloneFlags {
    // EXERCISE(namespace-flags): Choose the namespaces.
    // The flags of every kind in `CONTAINER`, OR-ed together (as
    // `unshare --uts --ipc --net --mount --pid --cgroup` asks), plus
    // `USER.flag` when `rootless`.
    // HINT: `CloneFlags` is a bitflags type: flags combine with `|`, starting from
    // `CloneFlags::empty()`.
    // HINT+: Walk `CONTAINER` and OR each kind's `flag` into an accumulator (a
    // `fold`, or a `for` loop with `|=`), then add `USER.flag` only when `rootless`.
    // Take the flags from the array instead of naming the six constants again:
    // `CONTAINER` is the one list of what a container gets.
    let mut flags = CONTAINER
        .iter()
        .fold(CloneFlags::empty(), |flags, kind| flags | kind.flag);
    if rootless {
        flags |= USER.flag;
    }
    flags
    // END EXERCISE
}
// ANCHOR_END: flags
