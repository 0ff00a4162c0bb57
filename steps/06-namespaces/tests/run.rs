//! Containers for real: what a process sees inside its namespaces, PID 1,
//! --init, what `ns` reports, and that nothing stays behind.

mod common;

use common::*;
use nix::sys::signal::{Signal, kill};
use std::io::Write;
use step_06_namespaces::container::Options;
use step_06_namespaces::ns;

#[test]
fn output_exit_codes_and_signal_deaths_pass_through() {
    let Some(fixture) = fixture() else { return };
    let (out, err) = (workshop::random_word(), workshop::random_word());
    let ran = run(&fixture, &format!("echo {out}; echo {err} >&2; exit 42"));
    workshop::check_eq!(
        (ran.code, ran.stdout, ran.stderr),
        (42, format!("{out}\n"), format!("{err}\n")),
        read = SET_UP,
        "(exit code, stdout, stderr) of: echo {out}; echo {err} >&2; exit 42"
    );
    // (A signal PID 1 sends itself is dropped: PID 1 only dies of signals
    // from outside, see `nothing_remains_after_exit_or_sigkill`.)
    for (script, code) in [
        ("exit 0", 0),
        ("exit 1", 1),
        ("sh -c 'kill -TERM $$'; exit $?", 143),
    ] {
        workshop::check_eq!(
            run(&fixture, script).code,
            code,
            read = PID_1,
            "sh -c {script:?}"
        );
    }
}

#[test]
fn the_command_is_pid_1_and_sees_only_its_processes() {
    let Some(fixture) = fixture() else { return };
    let ran = run(
        &fixture,
        "cut -d' ' -f1 /proc/self/stat; echo $$; ls /proc | grep -c '^[0-9]'",
    );
    // /proc/self is `cut` (PID 2 or 3); `$$` is the shell, PID 1; and the
    // only processes are the shell, cut's sibling ls and grep.
    let lines: Vec<&str> = ran.stdout.lines().collect();
    workshop::check_eq!(
        lines.get(1).copied(),
        Some("1"),
        read = PID_1,
        "the shell's own pid ($$) in the container, with output:\n{}",
        ran.stdout
    );
    let count: usize = lines
        .get(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    workshop::check!(
        count <= 4,
        expected =
            "at most 4 processes in the container's /proc (sh, ls, grep, and a finished cut)",
        got = ran.stdout,
        read = PROC,
    );
}

#[test]
fn the_hostname_is_the_containers_and_the_hosts_is_unchanged() {
    let Some(fixture) = fixture() else { return };
    let host_before = nix::unistd::gethostname().unwrap();
    let word = workshop::random_word();
    let options = Options {
        hostname: Some(word.clone()),
        ..Options::default()
    };
    let ran = start(&fixture, "hostname; echo $HOSTNAME", options)
        .unwrap()
        .finish();
    workshop::check_eq!(
        ran.stdout,
        format!("{word}\n{word}\n"),
        read = NETWORK,
        "hostname and $HOSTNAME inside, with --hostname {word}"
    );
    workshop::check_eq!(
        nix::unistd::gethostname().unwrap(),
        host_before,
        read = NETWORK,
        "the host's hostname after the container set its own"
    );
    let ran = run(&fixture, "hostname");
    workshop::check_eq!(
        ran.stdout.trim().len(),
        12,
        read = NETWORK,
        "the default hostname (the id's first 12 digits): {:?}",
        ran.stdout
    );
}

#[test]
fn only_lo_is_there_and_it_is_up() {
    let Some(fixture) = fixture() else { return };
    let ran = run(
        &fixture,
        "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; ip link show lo | grep -o ',UP'",
    );
    workshop::check_eq!(
        ran.stdout,
        "lo\n,UP\n",
        read = NETWORK,
        "the network devices in /proc/net/dev, and whether lo is UP"
    );
}

#[test]
fn host_files_and_container_mounts_stay_apart() {
    let Some(fixture) = fixture() else { return };
    let host_file = tempfile::NamedTempFile::new().unwrap();
    let host_path = host_file.path().display().to_string();
    let mut started = start(
        &fixture,
        &format!(
            "test -e {host_path} && echo visible || echo hidden; mkdir -p /tmp/inside; mount -t tmpfs tmpfs /tmp/inside && echo mounted; read line; exit 0"
        ),
        Options::default(),
    )
    .unwrap();
    let seen = (started.line(), started.line());
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let leaked = mountinfo.lines().any(|l| l.contains("/tmp/inside"));
    let ran = started.finish();
    workshop::check_eq!(
        (seen.0.as_str(), seen.1.as_str(), leaked, ran.code),
        ("hidden", "mounted", false, 0),
        read = PRIVATE,
        "(a host file {host_path} inside, a tmpfs mounted inside, that tmpfs in the host's mountinfo, exit code)"
    );
}

#[test]
fn ns_shows_new_namespaces_for_six_types_as_lsns_does() {
    let Some(fixture) = fixture() else { return };
    let mut started = start(&fixture, "echo ready; read line", Options::default()).unwrap();
    started.line();
    let pid = started.pid.to_string();
    let theirs = ns::of_process(&pid).unwrap();
    let mine = ns::of_process("self").unwrap();
    let differing: Vec<&str> = theirs
        .iter()
        .filter(|n| !mine.contains(n))
        .map(|n| n.kind.as_str())
        .collect();
    let rootless = !nix::unistd::geteuid().is_root();
    let expected: Vec<&str> = ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"]
        .into_iter()
        .filter(|kind| rootless || *kind != "user")
        .collect();
    let lsns = std::process::Command::new("lsns")
        .args(["-n", "-o", "NS,TYPE", "-p", &pid])
        .output();
    let processes = ns::processes().unwrap();
    let table = ns::process_table(&pid, &processes, &mine).unwrap();
    started.finish();
    workshop::check_eq!(
        differing,
        expected,
        read = LISTING,
        "the types whose namespace differs from the caller's"
    );
    if let Ok(lsns) = lsns {
        let mut from_lsns: Vec<String> = String::from_utf8_lossy(&lsns.stdout)
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        from_lsns.sort();
        let mut ours: Vec<String> = theirs
            .iter()
            .map(|n| format!("{} {}", n.inode, n.kind))
            .collect();
        ours.sort();
        workshop::check_eq!(
            ours,
            from_lsns,
            read = LISTING,
            "our namespaces of PID {pid} against `lsns -p {pid}`"
        );
    }
    // What a learner sees, inodes and the host's counts redacted.
    let redacted: String = table
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [kind, _inode, count, yours] if *kind != "TYPE" => {
                    let count = if *yours == "different" { *count } else { "[n]" };
                    format!("{kind:<7} [inode] {count:>7}  {yours}\n")
                }
                _ => format!("{line}\n"),
            }
        })
        .collect();
    if !rootless {
        insta::assert_snapshot!("ns_of_a_container", redacted);
    }
}

#[test]
fn init_reaps_orphans_and_passes_the_exit_code() {
    let Some(fixture) = fixture() else { return };
    let options = Options {
        init: true,
        ..Options::default()
    };
    // A subshell starts `sleep 0` in the background and exits: the sleep is
    // an orphan, given to PID 1. When it exits, only PID 1 can reap it: it
    // is gone from /proc once reaped, and stays a zombie otherwise. (A
    // zombie seen for a moment is no failure: PID 1 reaps it when its
    // SIGCHLD arrives, which on a busy machine takes a while.)
    // (Background jobs read /etc/hostname: the image has no /dev/null.)
    let script = "(sleep 0 </etc/hostname & echo $! > /tmp/orphan); \
        pid=$(cat /tmp/orphan); \
        timeout 5 sh -c \"while [ -e /proc/$pid ]; do usleep 1000; done\"; \
        if [ -e /proc/$pid ]; then echo zombie; else echo reaped; fi; exit 7";
    let ran = start(&fixture, script, options).unwrap().finish();
    workshop::check_eq!(
        (ran.stdout.as_str(), ran.code),
        ("reaped\n", 7),
        read = INIT,
        "(what became of an orphan under --init, exit code)"
    );
}

#[test]
fn nothing_remains_after_exit_or_sigkill() {
    let Some(fixture) = fixture() else { return };
    let mut started = start(
        &fixture,
        "sleep 1000 </etc/hostname & sleep 1000 </etc/hostname & echo ready; read line",
        Options::default(),
    )
    .unwrap();
    started.line();
    let namespaces = ns::of_process(&started.pid.to_string()).unwrap();
    kill(started.pid, Signal::SIGKILL).unwrap();
    let ran = started.finish();
    let remaining: Vec<(String, Vec<u32>)> = namespaces
        .iter()
        .filter(|n| n.kind == "pid" || n.kind == "mnt")
        .map(|n| (n.kind.clone(), processes_in(&n.kind, n.inode)))
        .filter(|(_, pids)| !pids.is_empty())
        .collect();
    workshop::check_eq!(
        (ran.code, remaining),
        (137, vec![]),
        read = PID_1,
        "(exit code of a SIGKILLed PID 1, processes left in its pid and mount namespaces)"
    );
}

#[test]
fn containers_work_without_root() {
    if !workshop::as_normal_user("containers_work_without_root") {
        return;
    }
    let Some(fixture) = fixture() else { return };
    let word = workshop::random_word();
    let options = Options {
        hostname: Some(word.clone()),
        ..Options::default()
    };
    let ran = start(
        &fixture,
        &format!("echo {word}; echo $$; hostname; id -u; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; exit 3"),
        options,
    )
    .unwrap()
    .finish();
    workshop::check_eq!(
        (ran.code, ran.stdout),
        (3, format!("{word}\n1\n{word}\n0\nlo\n")),
        read = ROOTLESS,
        "as uid {}: a word, PID 1, the hostname, root inside, only lo",
        nix::unistd::geteuid()
    );
    let _ = std::io::stdout().flush();
}
