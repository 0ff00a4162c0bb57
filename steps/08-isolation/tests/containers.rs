//! Isolated containers for real, as root on this machine: devices, masked
//! paths, capabilities, a read-only root, and limits that hold.

mod common;

use common::*;
use nix::sys::signal::{Signal, kill};
use std::io::Read;
use std::time::Instant;
use step_08_isolation::cgroups::Limits;
use step_08_isolation::isolation::Options;

#[test]
fn dev_holds_dockers_nodes_and_links() {
    let Some(fixture) = fixture() else { return };
    let ran = run(
        &fixture,
        "stat -c '%n %F %t,%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; \
         for link in fd stdin ptmx; do readlink /dev/$link; done; test -d /dev/pts && test -d /dev/shm && test -d /dev/mqueue && echo dirs; \
         echo hidden > /dev/null && head -c 4 /dev/zero | wc -c",
        &Options::default(),
    );
    workshop::check_eq!(
        ran.stdout,
        "/dev/null character special file 1,3 666\n\
         /dev/zero character special file 1,5 666\n\
         /dev/full character special file 1,7 666\n\
         /dev/random character special file 1,8 666\n\
         /dev/urandom character special file 1,9 666\n\
         /dev/tty character special file 5,0 666\n\
         /proc/self/fd\n/proc/self/fd/0\npts/ptmx\ndirs\n4\n",
        read = DEVICES,
        "the container's /dev: nodes (type, major,minor, mode), links, directories, and using two nodes"
    );
}

#[test]
fn the_kernels_secrets_are_masked_and_its_knobs_read_only() {
    let Some(fixture) = fixture() else { return };
    let ran = run(
        &fixture,
        "wc -c < /proc/keys; ls /sys/firmware | wc -l; \
         echo 1 > /proc/sys/vm/drop_caches 2>/dev/null && echo written || echo refused; \
         grep -c ' /sys .* ro,' /proc/self/mountinfo",
        &Options::default(),
    );
    workshop::check_eq!(
        ran.stdout,
        "0\n0\nrefused\n1\n",
        read = MASKS,
        "(bytes in /proc/keys, entries in /sys/firmware, writing /proc/sys/vm/drop_caches, /sys mounted read-only)"
    );
}

#[test]
fn capabilities_and_no_new_privs_are_as_asked() {
    let Some(fixture) = fixture() else { return };
    let status = "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status";
    let default = run(&fixture, status, &Options::default()).stdout;
    let fields = |text: &str| {
        [
            "CapPrm",
            "CapEff",
            "CapBnd",
            "CapInh",
            "CapAmb",
            "NoNewPrivs",
        ]
        .map(|f| status_field(text, f))
    };
    workshop::check_eq!(
        fields(&default),
        [
            "00000000a80425fb",
            "00000000a80425fb",
            "00000000a80425fb",
            "0000000000000000",
            "0000000000000000",
            "1"
        ]
        .map(str::to_string),
        read = CAPABILITIES,
        "CapPrm, CapEff, CapBnd, CapInh, CapAmb and NoNewPrivs of root in a container"
    );
    let options = Options {
        cap_drop: vec!["ALL".into()],
        cap_add: vec!["NET_BIND_SERVICE".into()],
        ..Options::default()
    };
    let narrowed = run(&fixture, status, &options).stdout;
    workshop::check_eq!(
        fields(&narrowed)[..3].to_vec(),
        vec!["0000000000000400"; 3],
        read = CAPABILITIES,
        "CapPrm, CapEff, CapBnd with --cap-drop ALL --cap-add NET_BIND_SERVICE"
    );
}

#[test]
fn what_a_capability_guards_is_refused_without_it() {
    let Some(fixture) = fixture() else { return };
    let options = Options {
        cap_drop: vec!["MKNOD".into(), "NET_RAW".into()],
        ..Options::default()
    };
    let ran = run(
        &fixture,
        "mknod /tmp/null c 1 3 2>/dev/null && echo mknod || echo no-mknod; \
         mkdir -p /tmp/m; mount -t tmpfs tmpfs /tmp/m 2>/dev/null && echo mount || echo no-mount; \
         ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1 && echo ping || echo no-raw-socket",
        &options,
    );
    workshop::check_eq!(
        ran.stdout,
        "no-mknod\nno-mount\nno-raw-socket\n",
        read = CAPABILITIES,
        "mknod without MKNOD, mount without SYS_ADMIN (never in the default set), a raw socket without NET_RAW"
    );
}

#[test]
fn a_read_only_root_refuses_writes() {
    let Some(fixture) = fixture() else { return };
    let options = Options {
        read_only: true,
        ..Options::default()
    };
    let ran = run(
        &fixture,
        "touch /new 2>&1; echo ok > /dev/null && echo dev-writable",
        &options,
    );
    workshop::check_eq!(
        ran.stdout,
        "touch: /new: Read-only file system\ndev-writable\n",
        read = DEVICES,
        "--read-only: touch /new, then writing /dev/null"
    );
}

#[test]
fn out_of_memory_is_137_and_said() {
    let Some(fixture) = fixture() else { return };
    let options = Options {
        limits: Limits {
            memory: Some(32 << 20),
            ..Limits::default()
        },
        ..Options::default()
    };
    // `tail -n 1` keeps the last line in memory, and /dev/zero has no end
    // of line: PID 1 grows until the limit.
    let ran = run(&fixture, "exec tail -n 1 /dev/zero", &options);
    workshop::check_eq!(
        (
            ran.code,
            ran.stats.as_ref().and_then(|s| s.oom_kills).map(|n| n > 0),
            ran.oom.is_some()
        ),
        (137, Some(true), true),
        read = LIMITS,
        "(exit code, the cgroup counted an OOM kill, a message says so) with --memory 32m; stats {:?}",
        ran.stats
    );
}

#[test]
fn a_fork_storm_hits_the_pids_limit_and_the_container_survives() {
    let Some(fixture) = fixture() else { return };
    let options = Options {
        limits: Limits {
            pids: Some(16),
            ..Limits::default()
        },
        ..Options::default()
    };
    // The storm runs in a subshell (a busybox shell exits when it cannot
    // fork); PID 1 then kills what is left with its builtin kill, which
    // needs no fork, and says it is still there.
    let ran = run(
        &fixture,
        "(i=0; while [ $i -lt 64 ]; do sleep 100 </dev/null & i=$((i+1)); done) 2>/dev/null; kill -9 -1; wait; echo survived",
        &options,
    );
    let peak = ran.stats.as_ref().and_then(|s| s.peak_pids);
    workshop::check_eq!(
        (
            ran.code,
            ran.stdout.as_str(),
            peak.map(|p| p <= 16 && p > 8)
        ),
        (0, "survived\n", Some(true)),
        read = LIMITS,
        "(exit code, output, 8 < peak tasks <= 16) with --pids-limit 16; peak {peak:?}"
    );
}

#[test]
fn cpus_half_keeps_a_busy_loop_near_half_a_core() {
    let Some(fixture) = fixture() else { return };
    let options = Options {
        limits: Limits {
            cpus: Some(0.5),
            ..Limits::default()
        },
        ..Options::default()
    };
    let started = Instant::now();
    let ran = run(
        &fixture,
        "timeout 2 sh -c 'while :; do :; done'; true",
        &options,
    );
    let wall = started.elapsed().as_secs_f64();
    let cpu = ran.stats.as_ref().and_then(|s| s.cpu_usec).unwrap_or(0) as f64 / 1e6;
    // The quota is a ceiling, not a promise: a busy machine may give less.
    workshop::check!(
        cpu > 0.0 && cpu / wall <= 0.65,
        expected = "CPU time at most 0.65 of the wall time with --cpus 0.5",
        got = format!("{cpu:.2} s of CPU in {wall:.2} s"),
        read = LIMITS,
    );
}

#[test]
fn nothing_remains_after_exit_or_sigkill() {
    let Some(fixture) = fixture() else { return };
    let options = Options {
        limits: Limits {
            memory: Some(64 << 20),
            pids: Some(64),
            ..Limits::default()
        },
        ..Options::default()
    };
    let ran = run(&fixture, "true", &options);
    let killed = run_with(
        &fixture,
        "echo ready; sleep 1000 </dev/null & wait",
        &options,
        |pid, stdout| {
            let mut byte = [0u8; 6];
            stdout.read_exact(&mut byte).unwrap();
            kill(pid, Signal::SIGKILL).unwrap();
        },
    )
    .unwrap();
    let left: Vec<_> = ran
        .cgroup_dirs
        .iter()
        .chain(&killed.cgroup_dirs)
        .filter(|d| d.exists())
        .collect();
    workshop::check_eq!(
        (ran.cgroup_dirs.is_empty(), killed.code, left),
        (false, 137, Vec::<&std::path::PathBuf>::new()),
        read = LIMITS,
        "(no cgroup at all, exit code after SIGKILL, cgroup directories left)"
    );
}

#[test]
fn without_root_isolation_works_and_limits_say_why_not() {
    if !workshop::as_normal_user("without_root_isolation_works_and_limits_say_why_not") {
        return;
    }
    if !workshop::require_root_or_userns() {
        return;
    }
    let Some(fixture) = Fixture::new() else {
        return;
    };
    let ran = run(
        &fixture,
        "stat -c '%n %t,%T' /dev/null; grep CapBnd /proc/self/status; id -u",
        &Options::default(),
    );
    workshop::check_eq!(
        ran.stdout,
        "/dev/null 1,3\nCapBnd:\t00000000a80425fb\n0\n",
        read = ROOTLESS,
        "as uid {}: /dev/null (bound from the host), the bounding set, the uid inside",
        nix::unistd::geteuid()
    );
    let refused = run_with(
        &fixture,
        "true",
        &Options {
            limits: Limits {
                memory: Some(32 << 20),
                ..Limits::default()
            },
            ..Options::default()
        },
        |_, _| {},
    );
    let message = refused
        .as_ref()
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string());
    let on_v2 = matches!(
        step_08_isolation::cgroups::this_machine(),
        Some(step_08_isolation::cgroups::Layout::V2 { .. })
    );
    if !on_v2 {
        workshop::check!(
            message.contains("cannot apply --memory"),
            expected = "--memory refused without root on cgroup v1, saying why",
            got = message,
            read = ROOTLESS,
        );
    }
}
