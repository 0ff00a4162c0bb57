//! Each piece on its own: pivot_root against the breakout, masking, the
//! cgroup layouts and files, capability sets.

mod common;

use common::*;
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use std::io::Write;
use step_08_isolation::capabilities::{self, DOCKER_DEFAULT, decode, resolve, set_of};
use step_08_isolation::cgroups::{Layout, Limits, detect, v2};
use step_08_isolation::{masks, pivot};

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn root_only() -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        workshop::skip("needs root: this check makes a mount namespace without a user namespace");
    }
    root
}

/// In a new mount namespace with private propagation.
fn private_mounts() {
    unshare(CloneFlags::CLONE_NEWNS).unwrap();
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .unwrap();
}

#[test]
fn after_pivot_root_the_chroot_breakout_finds_no_host() {
    let Some(fixture) = fixture() else { return };
    let marker = tempfile::NamedTempFile::new().unwrap();
    let path = marker.path().to_path_buf();
    let rootfs = std::ffi::CString::new(fixture.image().rootfs.to_str().unwrap()).unwrap();
    let seen = in_child(|out| {
        private_mounts();
        mount(
            Some(rootfs.as_c_str()),
            rootfs.as_c_str(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .unwrap();
        let entered = pivot::enter(&rootfs, c"/").is_ok();
        let escaped = step_05_chroot::escape::escape(c"escape-hatch").is_ok();
        let _ = write!(
            out,
            "pivot {entered}, escape ran {escaped}, host file visible {}",
            path.exists()
        );
    });
    workshop::check_eq!(
        seen,
        "pivot true, escape ran true, host file visible false",
        read = PIVOT,
        "step 05's escape() after pivot::enter(): can the host's {} be seen?",
        marker.path().display()
    );
}

#[test]
fn device_nodes_are_made_with_their_numbers_and_mode() {
    if !root_only() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().to_path_buf();
    let seen = in_child(|out| {
        private_mounts();
        nix::unistd::chdir(&dir).unwrap();
        std::fs::create_dir("dev").unwrap();
        mount(
            Some("tmpfs"),
            "dev",
            Some("tmpfs"),
            MsFlags::empty(),
            None::<&str>,
        )
        .unwrap();
        let made = step_08_isolation::devices::make_nodes(false).is_ok();
        let nodes: Vec<String> = ["null", "zero", "full", "random", "urandom", "tty"]
            .iter()
            .map(
                |name| match nix::sys::stat::stat(format!("dev/{name}").as_str()) {
                    Ok(st) => format!(
                        "{name} {},{} {:o}",
                        nix::sys::stat::major(st.st_rdev),
                        nix::sys::stat::minor(st.st_rdev),
                        st.st_mode
                    ),
                    Err(e) => format!("{name} {e}"),
                },
            )
            .collect();
        let _ = write!(out, "{made} {}", nodes.join(", "));
    });
    workshop::check_eq!(
        seen,
        "true null 1,3 20666, zero 1,5 20666, full 1,7 20666, random 1,8 20666, urandom 1,9 20666, tty 5,0 20666",
        read = DEVICES,
        "make_nodes(rootless: false) in an empty tmpfs: each node's major,minor and mode (20666: a character device, rw for all)"
    );
}

#[test]
fn masking_hides_files_and_directories() {
    if !root_only() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    for (path, contents) in [
        ("dev/null", ""),
        ("proc/secret", "kernel memory"),
        ("proc/dir/inside", "x"),
    ] {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    let dir = root.path().to_path_buf();
    let seen = in_child(|out| {
        private_mounts();
        nix::unistd::chdir(&dir).unwrap();
        let results = [
            masks::mask(c"proc/secret").is_ok(),
            masks::mask(c"proc/dir").is_ok(),
            masks::mask(c"proc/missing").is_ok(),
        ];
        let secret = std::fs::read_to_string("proc/secret").unwrap_or_else(|e| e.to_string());
        let listing = std::fs::read_dir("proc/dir")
            .map(|d| d.count())
            .unwrap_or(99);
        let write = std::fs::write("proc/dir/new", "x").map_err(|e| e.raw_os_error());
        let _ = write!(out, "{results:?} {secret:?} {listing} {write:?}");
    });
    workshop::check_eq!(
        seen,
        format!("[true, true, true] \"\" 0 Err(Some({}))", nix::libc::EROFS),
        read = MASKS,
        "(mask results for a file, a directory and a missing path; the file's text; entries in the directory; writing into it)"
    );
}

const V1_HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
35 31 0:32 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
";

const V2: &str = "\
22 1 8:1 / / rw,relatime - ext4 /dev/vda rw
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

#[test]
fn the_cgroup_layout_is_read_from_mountinfo() {
    workshop::check_eq!(
        detect(V2),
        Some(Layout::V2 {
            root: "/sys/fs/cgroup".into()
        }),
        read = LAYOUTS,
        "a cgroup2 file system at /sys/fs/cgroup"
    );
    let v1 = detect(V1_HYBRID);
    let controllers: Vec<(String, String)> = match &v1 {
        Some(Layout::V1 { controllers }) => controllers
            .iter()
            .map(|(k, v)| (k.clone(), v.display().to_string()))
            .collect(),
        _ => Vec::new(),
    };
    workshop::check_eq!(
        controllers,
        vec![
            ("cpu".to_string(), "/sys/fs/cgroup/cpu,cpuacct".to_string()),
            (
                "cpuacct".to_string(),
                "/sys/fs/cgroup/cpu,cpuacct".to_string()
            ),
            ("memory".to_string(), "/sys/fs/cgroup/memory".to_string()),
        ],
        read = LAYOUTS,
        "a hybrid host: v1 controllers, and an empty cgroup2 at /sys/fs/cgroup/unified; got {v1:?}"
    );
    workshop::check_eq!(
        detect("22 1 8:1 / / rw - ext4 /dev/vda rw\n"),
        None,
        read = LAYOUTS,
        "no cgroup mounted"
    );
}

#[test]
fn limits_become_cgroup_v2_files() {
    let limits = Limits {
        memory: Some(64 << 20),
        memory_swap: None,
        cpus: Some(0.5),
        cpu_shares: Some(512),
        pids: Some(32),
    };
    let files: Vec<(String, String)> = v2::files(&limits)
        .into_iter()
        .map(|(f, v)| (f.to_string(), v))
        .collect();
    workshop::check_eq!(
        files,
        vec![
            ("memory.max".to_string(), "67108864".to_string()),
            ("memory.swap.max".to_string(), "67108864".to_string()),
            ("cpu.max".to_string(), "50000 100000".to_string()),
            ("cpu.weight".to_string(), "20".to_string()),
            ("pids.max".to_string(), "32".to_string()),
        ],
        read = LIMITS,
        "--memory 64m --cpus 0.5 --cpu-shares 512 --pids-limit 32 (swap: Docker's default, as much again)"
    );
    workshop::check_eq!(
        [2, 1024, 262144].map(v2::shares_to_weight),
        [1, 39, 10000],
        read = LIMITS,
        "cpu.shares 2, 1024 and 262144 as cpu.weight"
    );
}

#[test]
fn a_v2_cgroup_enables_controllers_in_its_ancestors_only() {
    // A fake v2 tree: the interface files the kernel would have.
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("cgroup.controllers"),
        "cpuset cpu io memory pids\n",
    )
    .unwrap();
    std::fs::write(root.path().join("cgroup.subtree_control"), "").unwrap();
    let limits = Limits {
        memory: Some(32 << 20),
        memory_swap: Some(-1),
        pids: Some(8),
        ..Limits::default()
    };
    let leaf = v2::create(root.path(), "c0ffee", &limits).unwrap();
    let read =
        |path: &std::path::Path| std::fs::read_to_string(path).unwrap_or_else(|e| e.to_string());
    workshop::check_eq!(
        (
            read(&root.path().join("cgroup.subtree_control")),
            read(&root.path().join("dockerless/cgroup.subtree_control")),
            read(&leaf.join("memory.max")),
            read(&leaf.join("memory.swap.max")),
            read(&leaf.join("pids.max")),
            leaf.join("cgroup.subtree_control").exists(),
        ),
        (
            "+memory +pids".to_string(),
            "+memory +pids".to_string(),
            "33554432".to_string(),
            "max".to_string(),
            "8".to_string(),
            false,
        ),
        read = LIMITS,
        "(root and dockerless/ subtree_control, the leaf's memory.max, memory.swap.max, pids.max, and no subtree_control written in the leaf)"
    );
}

#[test]
fn capabilities_start_from_dockers_default() {
    let all = capabilities::all();
    let default = set_of(&DOCKER_DEFAULT).unwrap();
    workshop::check_eq!(
        format!("{default:016x}"),
        "00000000a80425fb",
        read = CAPABILITIES,
        "Docker's default set"
    );
    workshop::check_eq!(
        format!("{:016x}", resolve(&[], &[], all).unwrap()),
        "00000000a80425fb",
        read = CAPABILITIES,
        "no --cap-add or --cap-drop"
    );
    workshop::check_eq!(
        format!(
            "{:016x}",
            resolve(&strings(&["NET_BIND_SERVICE"]), &strings(&["all"]), all).unwrap()
        ),
        "0000000000000400",
        read = CAPABILITIES,
        "--cap-drop all --cap-add NET_BIND_SERVICE"
    );
    workshop::check_eq!(
        format!(
            "{:016x}",
            resolve(
                &strings(&["cap_sys_admin"]),
                &strings(&["MKNOD", "NET_RAW"]),
                all
            )
            .unwrap()
        ),
        format!("{:016x}", (default | 1 << 21) & !(1 << 27) & !(1 << 13)),
        read = CAPABILITIES,
        "--cap-add cap_sys_admin --cap-drop MKNOD --cap-drop NET_RAW"
    );
    let unknown = resolve(&strings(&["FLY"]), &[], all);
    workshop::check!(
        unknown.is_err(),
        expected = "an error for --cap-add FLY",
        got = unknown,
        read = CAPABILITIES,
    );
}

#[test]
fn capability_sets_decode_like_capsh() {
    let decoded = decode(resolve(&[], &[], capabilities::all()).unwrap());
    workshop::check_eq!(
        decoded,
        "cap_chown,cap_dac_override,cap_fowner,cap_fsetid,cap_kill,cap_setgid,cap_setuid,cap_setpcap,cap_net_bind_service,cap_net_raw,cap_sys_chroot,cap_mknod,cap_audit_write,cap_setfcap",
        read = CAPABILITIES,
        "decode() of the default set"
    );
    if let Ok(capsh) = std::process::Command::new("capsh")
        .arg("--decode=00000000a80425fb")
        .output()
    {
        let text = String::from_utf8_lossy(&capsh.stdout);
        let from_capsh = text
            .trim()
            .split('=')
            .nth(1)
            .unwrap_or_default()
            .to_string();
        workshop::check_eq!(
            decoded,
            from_capsh,
            read = CAPABILITIES,
            "against capsh --decode=00000000a80425fb"
        );
    }
}
