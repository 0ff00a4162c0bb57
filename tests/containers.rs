//! `dockerless chroot` and `dockerless run` end to end, through the real
//! binary: what only a separate process can show (its exit code, the
//! signals it receives, its terminal).

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::Served;

/// A store with the bundled registry's busybox image pulled into it, or
/// `None` (skipped) without busybox-static or root.
fn pulled() -> Option<(Served, tempfile::TempDir, String)> {
    support::peer("busybox")?;
    if !nix::unistd::geteuid().is_root() && !workshop::require_root_or_userns() {
        return None;
    }
    let served = Served::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let image = format!("{}/library/busybox", served.host);
    let status = dockerless(&home)
        .args(["pull", "-q", &image])
        .status()
        .unwrap();
    assert!(status.success(), "the busybox image pulls");
    Some((served, home, image))
}

/// The bundled registry, and an empty store that uid 65534 owns.
fn nobodys_store() -> (Served, tempfile::TempDir, String) {
    let served = Served::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let nobody = Some(nix::unistd::Uid::from_raw(workshop::NOBODY));
    let group = Some(nix::unistd::Gid::from_raw(workshop::NOBODY));
    nix::unistd::chown(home.path(), nobody, group).unwrap();
    let image = format!("{}/library/busybox", served.host);
    (served, home, image)
}

/// The output of a command run as uid 65534, or `None` (skipped) where
/// that user cannot reach the binary: a checkout under a directory others
/// cannot enter, such as /root.
fn as_nobody(output: std::io::Result<std::process::Output>) -> Option<std::process::Output> {
    match output {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            workshop::skip(&format!(
                "uid {} cannot run {} (a directory above it lacks o+x)",
                workshop::NOBODY,
                env!("CARGO_BIN_EXE_dockerless")
            ));
            None
        }
        Err(e) => panic!("cannot run dockerless as uid {}: {e}", workshop::NOBODY),
    }
}

fn dockerless(home: &tempfile::TempDir) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dockerless"));
    command.env("DOCKER_INTERNALS_HOME", home.path());
    command
}

#[test]
fn exit_codes_pass_through_the_tool() {
    let Some((_served, home, image)) = pulled() else {
        return;
    };
    for (verb, script, expected) in [
        ("chroot", "exit 42", Some(42)),
        ("chroot", "kill -KILL $$", Some(137)),
        ("run", "exit 42", Some(42)),
        ("run", "sh -c 'kill -TERM $$'; exit $?", Some(143)),
    ] {
        let status = dockerless(&home)
            .args([verb, &image, "sh", "-c", script])
            .status()
            .unwrap();
        assert_eq!(
            status.code(),
            expected,
            "dockerless {verb} {image} sh -c {script:?}"
        );
    }
    for verb in ["chroot", "run"] {
        let missing = dockerless(&home)
            .args([verb, &image, "no-such-program"])
            .output()
            .unwrap();
        assert_eq!(
            missing.status.code(),
            Some(127),
            "{verb} of a missing program"
        );
        assert!(
            String::from_utf8_lossy(&missing.stderr)
                .contains("no-such-program: not found in the image"),
            "{}",
            String::from_utf8_lossy(&missing.stderr)
        );
        let denied = dockerless(&home)
            .args([verb, &image, "/bin/not-executable"])
            .output()
            .unwrap();
        assert_eq!(
            denied.status.code(),
            Some(126),
            "{verb} of a file without x bits"
        );
    }
}

#[test]
fn stdout_carries_only_the_programs_output() {
    let Some((_served, home, image)) = pulled() else {
        return;
    };
    for verb in ["chroot", "run"] {
        let output = dockerless(&home)
            .args([verb, &image, "cat", "/etc/hostname"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "busybox\n",
            "dockerless {verb} ... cat /etc/hostname"
        );
    }
}

#[test]
fn sigterm_to_run_reaches_a_trap_in_the_container() {
    let Some((_served, home, image)) = pulled() else {
        return;
    };
    let mut child = dockerless(&home)
        .args([
            "run",
            &image,
            "sh",
            "-c",
            "trap 'echo trapped; exit 3' TERM; echo ready; sleep 1000 </etc/hostname & wait $!",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "trapped");
    assert_eq!(
        child.wait().unwrap().code(),
        Some(3),
        "the trap's exit code"
    );
}

#[test]
fn a_missing_image_is_pulled_and_a_terminal_is_required_for_t() {
    support::peer("busybox");
    let served = Served::start(&[]);
    let home = tempfile::tempdir().unwrap();
    let image = format!("{}/library/busybox", served.host);
    let output = dockerless(&home)
        .args(["run", &image, "echo", "pulled"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(125) && stderr.contains("namespaces") {
        workshop::skip(&format!("the kernel refused namespaces here: {stderr}"));
        return;
    }
    assert_eq!(String::from_utf8_lossy(&output.stdout), "pulled\n");
    assert!(stderr.contains("Unable to find image"), "{stderr}");
    let refused = dockerless(&home)
        .args(["run", "-it", &image, "sh"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("-it needs a terminal"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[test]
fn run_it_gives_the_container_a_terminal_of_its_own() {
    let Some((_served, home, image)) = pulled() else {
        return;
    };
    let pty = nix::pty::openpty(None, None).unwrap();
    let stdio = |fd: &std::os::fd::OwnedFd| Stdio::from(fd.try_clone().unwrap());
    let mut child = dockerless(&home)
        .args(["run", "-it", &image, "sh"])
        .stdin(stdio(&pty.slave))
        .stdout(stdio(&pty.slave))
        .stderr(stdio(&pty.slave))
        .spawn()
        .unwrap();
    drop(pty.slave);
    let word = workshop::random_word();
    let mut master = std::fs::File::from(pty.master);
    use std::io::{Read, Write};
    writeln!(
        master,
        "test -t 0 && test -t 1 && echo \"terminal-$((6*7))-{word}\"; exit 5"
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    // Read until the terminal closes (EIO once no process holds it).
    while let Ok(n) = master.read(&mut buffer) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buffer[..n]);
    }
    let seen = String::from_utf8_lossy(&seen);
    assert!(
        seen.contains(&format!("terminal-42-{word}")),
        "what the terminal showed: {seen:?}"
    );
    assert_eq!(
        child.wait().unwrap().code(),
        Some(5),
        "the shell's exit code"
    );
}

#[test]
fn a_normal_user_pulls_and_runs_with_a_store_of_their_own() {
    use std::os::unix::process::CommandExt;
    if !nix::unistd::geteuid().is_root() {
        workshop::skip(
            "runs as root to become uid 65534 (as a normal user, the other checks already run unprivileged)",
        );
        return;
    }
    if support::peer("busybox").is_none() {
        return;
    }
    let (_served, home, image) = nobodys_store();
    let output = dockerless(&home)
        .args([
            "run",
            "--hostname",
            "rootless",
            &image,
            "sh",
            "-c",
            "id -u; hostname; echo $$",
        ])
        .uid(workshop::NOBODY)
        .gid(workshop::NOBODY)
        .stdin(Stdio::null())
        .output();
    let Some(output) = as_nobody(output) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(125) && stderr.contains("namespaces") {
        workshop::skip(&format!(
            "the kernel refuses user namespaces to uid 65534 here: {stderr}"
        ));
        return;
    }
    assert_eq!(
        (
            String::from_utf8_lossy(&output.stdout).as_ref(),
            output.status.code()
        ),
        ("0\nrootless\n1\n", Some(0)),
        "as uid 65534: {stderr}"
    );
}

#[test]
fn limits_hold_and_an_out_of_memory_kill_is_said() {
    if !nix::unistd::geteuid().is_root() {
        workshop::skip("needs root: cgroup limits");
        return;
    }
    let Some((_served, home, image)) = pulled() else {
        return;
    };
    let oom = dockerless(&home)
        .args([
            "run",
            "--memory",
            "32m",
            "--stats",
            &image,
            "sh",
            "-c",
            "exec tail -n 1 /dev/zero",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&oom.stderr);
    assert_eq!(oom.status.code(), Some(137), "{stderr}");
    assert!(stderr.contains("ran out of memory"), "{stderr}");
    assert!(stderr.contains("peak memory"), "{stderr}");
    let fine = dockerless(&home)
        .args([
            "run",
            "--memory",
            "64m",
            "--pids-limit",
            "64",
            "--cpus",
            "0.5",
            "--read-only",
            &image,
            "true",
        ])
        .status()
        .unwrap();
    assert_eq!(fine.code(), Some(0));
}

#[test]
fn without_root_limits_are_refused_with_the_reason() {
    use std::os::unix::process::CommandExt;
    if !nix::unistd::geteuid().is_root() {
        workshop::skip("runs as root to become uid 65534");
        return;
    }
    if support::peer("busybox").is_none() {
        return;
    }
    if std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| {
        m.contains(" /sys/fs/cgroup ")
            && m.contains("cgroup2 cgroup2")
            && !m.contains("/sys/fs/cgroup/memory")
    }) {
        workshop::skip(
            "a cgroup v2 host may delegate cgroups to users: the refusal is a v1 matter",
        );
        return;
    }
    let (_served, home, image) = nobodys_store();
    let output = dockerless(&home)
        .args(["run", "--memory", "32m", &image, "true"])
        .uid(workshop::NOBODY)
        .gid(workshop::NOBODY)
        .output();
    let Some(output) = as_nobody(output) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("cannot apply --memory"), "{stderr}");
}
