//! Each piece of a container on its own: the namespaces, the mounts, the
//! loopback device, reading namespace links.

mod common;

use common::*;
use nix::sched::{CloneFlags, unshare};
use std::io::Write;
use step_06_namespaces::namespaces::{CONTAINER, USER, flags};
use step_06_namespaces::ns::{Namespace, Process, group, parse_link};
use step_06_namespaces::{mounts, network};

fn root_only() -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        workshop::skip("needs root: this check makes namespaces without a user namespace");
    }
    root
}

#[test]
fn a_container_gets_six_namespaces_and_a_user_one_without_root() {
    let six = CloneFlags::CLONE_NEWCGROUP
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWUTS;
    workshop::check_eq!(
        flags(false),
        six,
        read = NAMESPACES,
        "flags(rootless: false)"
    );
    workshop::check_eq!(
        flags(true),
        six | CloneFlags::CLONE_NEWUSER,
        read = NAMESPACES,
        "flags(rootless: true)"
    );
    // The names are the kernel's: each is a link in /proc/self/ns.
    let missing: Vec<&str> = CONTAINER
        .iter()
        .chain([&USER])
        .map(|kind| kind.name)
        .filter(|name| !std::path::Path::new("/proc/self/ns").join(name).exists())
        .collect();
    workshop::check_eq!(
        missing,
        Vec::<&str>::new(),
        read = NAMESPACES,
        "kinds whose name is not in /proc/self/ns"
    );
}

/// Puts this (forked) process in a new mount namespace with private
/// propagation, set up by hand so a check needs only the exercise it tests.
fn private_mount_namespace() {
    unshare(CloneFlags::CLONE_NEWNS).unwrap();
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .unwrap();
}

/// The fields of the mountinfo line whose mount point is `path`.
fn mountinfo(path: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .rev()
        .find(|line| line.split(' ').nth(4) == Some(path))
        .map(str::to_string)
}

#[test]
fn private_mounts_stop_propagation() {
    if !root_only() {
        return;
    }
    let seen = in_child(|out| {
        unshare(CloneFlags::CLONE_NEWNS).unwrap();
        let result = mounts::make_private();
        let line = mountinfo("/").unwrap_or_default();
        let _ = write!(out, "{} {}", result.is_ok(), line.contains("shared:"));
    });
    workshop::check_eq!(
        seen,
        "true false",
        read = PRIVATE,
        "(make_private() succeeded, / still has a shared: tag in /proc/self/mountinfo)"
    );
}

#[test]
fn the_root_filesystem_is_bound_onto_itself() {
    if !root_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_string();
    let rootfs = std::ffi::CString::new(path.clone()).unwrap();
    let seen = in_child(|out| {
        private_mount_namespace();
        let result = mounts::bind_root(&rootfs);
        let _ = write!(out, "{} {}", result.is_ok(), mountinfo(&path).is_some());
    });
    workshop::check_eq!(
        seen,
        "true true",
        read = ROOTFS,
        "(bind_root({path}) succeeded, {path} is a mount point in /proc/self/mountinfo)"
    );
}

#[test]
fn proc_is_mounted_fresh_with_nosuid_nodev_noexec() {
    if !root_only() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap().to_string();
    let target = std::ffi::CString::new(path.clone()).unwrap();
    let seen = in_child(|out| {
        private_mount_namespace();
        let result = mounts::mount_proc(&target);
        let line = mountinfo(&path).unwrap_or_default();
        let options = line.split(' ').nth(5).unwrap_or_default().to_string();
        let fs = line
            .split(" - ")
            .nth(1)
            .unwrap_or_default()
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_string();
        let _ = write!(
            out,
            "{} {fs} nosuid={} nodev={} noexec={} self={}",
            result.is_ok(),
            options.contains("nosuid"),
            options.contains("nodev"),
            options.contains("noexec"),
            dir.path().join("self/stat").exists()
        );
    });
    workshop::check_eq!(
        seen,
        "true proc nosuid=true nodev=true noexec=true self=true",
        read = PROC,
        "mount_proc({path}): the mount's type and options, and {path}/self/stat"
    );
}

#[test]
fn loopback_up_makes_127_0_0_1_answer() {
    if !root_only() {
        return;
    }
    let seen = in_child(|out| {
        unshare(CloneFlags::CLONE_NEWNET).unwrap();
        let answers = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| std::net::TcpStream::connect(listener.local_addr()?))
                .is_ok()
        };
        let before = answers();
        let result = network::loopback_up();
        let after = answers();
        let _ = write!(
            out,
            "before {before}, loopback_up {}, after {after}",
            result.is_ok()
        );
    });
    workshop::check_eq!(
        seen,
        "before false, loopback_up true, after true",
        read = NETWORK,
        "in a new network namespace: does a connection to 127.0.0.1 work, before and after loopback_up()"
    );
}

#[test]
fn namespace_links_name_a_type_and_an_inode() {
    workshop::check_eq!(
        parse_link("net:[4026531840]"),
        Some(Namespace {
            kind: "net".into(),
            inode: 4026531840
        }),
        read = LISTING,
        "parse_link(\"net:[4026531840]\")"
    );
    for broken in ["net", "net:4026531840", "net:[x]", ""] {
        workshop::check_eq!(
            parse_link(broken),
            None,
            read = LISTING,
            "parse_link({broken:?})"
        );
    }
}

#[test]
fn namespaces_are_grouped_like_lsns() {
    let ns = |kind: &str, inode: u64| Namespace {
        kind: kind.into(),
        inode,
    };
    let processes = vec![
        Process {
            pid: 7,
            command: "sh".into(),
            namespaces: vec![ns("net", 10), ns("uts", 21)],
        },
        Process {
            pid: 3,
            command: "init".into(),
            namespaces: vec![ns("net", 10), ns("uts", 20)],
        },
    ];
    let grouped: Vec<String> = group(&processes, &[ns("net", 10)])
        .iter()
        .map(|s| {
            format!(
                "{} {} nprocs={} pid={} {} yours={}",
                s.namespace.inode, s.namespace.kind, s.processes, s.pid, s.command, s.yours
            )
        })
        .collect();
    workshop::check_eq!(
        grouped,
        vec![
            "10 net nprocs=2 pid=3 init yours=true",
            "20 uts nprocs=1 pid=3 init yours=false",
            "21 uts nprocs=1 pid=7 sh yours=false",
        ],
        read = LISTING,
        "lsns-like lines for two processes, by inode"
    );
}
