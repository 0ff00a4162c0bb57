//! Running an image's program in a chroot, for real: as root, or as a
//! normal user through a user namespace.

mod common;

use common::*;
use serde_json::json;
use std::io::{Read, Write};
use step_05_chroot::child::{become_user, enter_root};
use step_05_chroot::escape::escape;
use step_05_chroot::spec::Options;
use step_05_chroot::user::Credentials;

/// The image, or `None` (skipped) without busybox or privileges.
fn fixture() -> Option<Fixture> {
    if !workshop::require_root_or_userns() {
        return None;
    }
    Fixture::new()
}

#[test]
fn become_user_sets_groups_then_gid_then_uid() {
    if !nix::unistd::geteuid().is_root() {
        workshop::skip("needs root: only root can take on other ids");
        return;
    }
    let ids = in_child(|out| {
        let credentials = Credentials {
            uid: 1000,
            gid: 1000,
            groups: vec![10, 29],
            home: "/home/learner".into(),
        };
        if become_user(&credentials, true).is_err() {
            let _ = write!(out, "become_user failed");
            return;
        }
        let uid = nix::unistd::getresuid().unwrap();
        let gid = nix::unistd::getresgid().unwrap();
        let groups: Vec<u32> = nix::unistd::getgroups()
            .unwrap()
            .iter()
            .map(|g| g.as_raw())
            .collect();
        let _ = write!(
            out,
            "uid {} {} {}, gid {} {} {}, groups {groups:?}",
            uid.real, uid.effective, uid.saved, gid.real, gid.effective, gid.saved
        );
    });
    workshop::check_eq!(
        ids,
        "uid 1000 1000 1000, gid 1000 1000 1000, groups [10, 29]",
        read = BECOMING,
        "real, effective and saved ids after become_user(uid 1000, gid 1000, groups [10, 29])"
    );
}

#[test]
fn enter_root_makes_the_image_slash_and_the_workdir_current() {
    let Some(fixture) = fixture() else { return };
    if !nix::unistd::geteuid().is_root() {
        workshop::skip("needs root: chroot outside a user namespace");
        return;
    }
    let rootfs = std::ffi::CString::new(fixture.image().rootfs.to_str().unwrap()).unwrap();
    let seen = in_child(|out| {
        if enter_root(&rootfs, c"/tmp").is_err() {
            let _ = write!(out, "enter_root failed");
            return;
        }
        let mut hostname = String::new();
        let read =
            std::fs::File::open("/etc/hostname").and_then(|mut f| f.read_to_string(&mut hostname));
        let cwd = std::env::current_dir().map(|p| p.display().to_string());
        let _ = write!(out, "cwd {cwd:?}, /etc/hostname {read:?} {hostname:?}");
    });
    workshop::check_eq!(
        seen,
        "cwd Ok(\"/tmp\"), /etc/hostname Ok(8) \"busybox\\n\"",
        read = ENTERING,
        "after enter_root(rootfs, /tmp): the working directory and the image's /etc/hostname"
    );
}

#[test]
fn stdout_and_stderr_come_back_on_their_own_streams() {
    let Some(fixture) = fixture() else { return };
    let (out, err) = (workshop::random_word(), workshop::random_word());
    let ran = fixture.sh(&format!("echo {out}; echo {err} >&2"));
    workshop::check_eq!(
        (ran.code, ran.stdout.as_str(), ran.stderr.as_str()),
        (0, format!("{out}\n").as_str(), format!("{err}\n").as_str()),
        read = ENTERING,
        "(exit code, stdout, stderr) of: echo {out}; echo {err} >&2"
    );
}

#[test]
fn exit_codes_and_signal_deaths_pass_through() {
    let Some(fixture) = fixture() else { return };
    for (script, expected) in [
        ("exit 0", 0),
        ("exit 1", 1),
        ("exit 42", 42),
        ("kill -KILL $$", 137),
        ("kill -TERM $$", 143),
    ] {
        workshop::check_eq!(
            fixture.sh(script).code,
            expected,
            read = EXIT_CODES,
            "sh -c {script:?}"
        );
    }
}

#[test]
fn missing_and_non_executable_programs_are_127_and_126() {
    let Some(fixture) = fixture() else { return };
    let word = workshop::random_word();
    let missing = fixture.run(&[&word], Options::default()).unwrap_err();
    workshop::check_eq!(
        missing.exit_code(),
        Some(127),
        read = FINDING,
        "{word}, in no image directory: {missing}"
    );
    let denied = fixture
        .run(&["not-executable"], Options::default())
        .unwrap_err();
    workshop::check_eq!(
        denied.exit_code(),
        Some(126),
        read = FINDING,
        "/bin/not-executable, mode 0644: {denied}"
    );
}

#[test]
fn the_images_config_is_applied() {
    if !workshop::require_root_or_userns() {
        return;
    }
    let word = workshop::random_word();
    let Some(fixture) = Fixture::with_config(json!({
        "Entrypoint": ["/bin/sh", "-c"],
        "Cmd": ["echo \"$GREETING from $(pwd) as $(id -un)\""],
        "Env": [format!("GREETING={word}")],
        "WorkingDir": "/tmp",
    })) else {
        return;
    };
    let ran = fixture.run(&[], Options::default()).unwrap();
    workshop::check_eq!(
        ran.stdout,
        format!("{word} from /tmp as root\n"),
        read = ENVIRONMENT,
        "Entrypoint sh -c, Cmd echo ..., Env GREETING={word}, WorkingDir /tmp"
    );
    let ran = fixture
        .run(
            &["echo $PATH $HOME $GREETING"],
            Options {
                env: vec![format!("GREETING=not-{word}")],
                workdir: Some("/".into()),
                ..Options::default()
            },
        )
        .unwrap();
    workshop::check_eq!(
        ran.stdout,
        format!("{} /root not-{word}\n", step_05_chroot::spec::DEFAULT_PATH),
        read = ENVIRONMENT,
        "a command (replacing Cmd), -e GREETING=not-{word} and -w /"
    );
}

#[test]
fn the_user_and_groups_come_from_the_images_files() {
    let Some(fixture) = fixture() else { return };
    if !nix::unistd::geteuid().is_root() {
        workshop::skip("needs root: a rootless chroot maps one user only");
        return;
    }
    let id = |user: &str| {
        let options = Options {
            user: Some(user.into()),
            ..Options::default()
        };
        fixture
            .run(&["sh", "-c", "id; echo $HOME"], options)
            .unwrap()
            .stdout
    };
    workshop::check_eq!(
        id("learner"),
        "uid=1000(learner) gid=1000(learner) groups=10(wheel),29(audio)\n/home/learner\n",
        read = BECOMING,
        "-u learner"
    );
    workshop::check_eq!(
        id("1000:29"),
        "uid=1000(learner) gid=29(audio)\n/home/learner\n",
        read = BECOMING,
        "-u 1000:29"
    );
}

#[test]
fn the_root_is_the_images_and_the_hosts_files_are_gone() {
    let Some(fixture) = fixture() else { return };
    let secret = tempfile::NamedTempFile::new().unwrap();
    let path = secret.path().display().to_string();
    let ran = fixture.sh(&format!(
        "cat /etc/hostname; test -e {path} && echo visible || echo hidden"
    ));
    workshop::check_eq!(
        ran.stdout,
        "busybox\nhidden\n",
        read = ENTERING,
        "the image's /etc/hostname, and a host file ({path}) from inside"
    );
}

#[test]
fn chroot_does_not_hide_processes_the_hostname_or_the_network() {
    let Some(fixture) = fixture() else { return };
    let word = workshop::random_word();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let host_pid = std::process::id();
    let accept = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut got = String::new();
        stream.read_to_string(&mut got).ok();
        got
    });
    let ran = fixture.sh(&format!(
        "hostname; kill -0 {host_pid} && echo signalled; echo {word} | nc 127.0.0.1 {port}"
    ));
    let hostname = nix::unistd::gethostname().unwrap().into_string().unwrap();
    workshop::check_eq!(
        ran.stdout,
        format!("{hostname}\nsignalled\n"),
        read = NOT_ISOLATED,
        "inside the chroot: hostname, then kill -0 of the test's own pid {host_pid}"
    );
    workshop::check_eq!(
        accept.join().unwrap(),
        format!("{word}\n"),
        read = NOT_ISOLATED,
        "what the chroot sent to a socket the host listens on (127.0.0.1:{port})"
    );
}

#[test]
fn root_in_a_chroot_can_break_out() {
    let Some(fixture) = fixture() else { return };
    if !nix::unistd::geteuid().is_root() {
        workshop::skip("needs root: the escape is root's");
        return;
    }
    let marker = tempfile::NamedTempFile::new().unwrap();
    let path = marker.path().to_path_buf();
    let rootfs = std::ffi::CString::new(fixture.image().rootfs.to_str().unwrap()).unwrap();
    let seen = in_child(|out| {
        nix::unistd::chroot(rootfs.as_c_str()).unwrap();
        nix::unistd::chdir(c"/").unwrap();
        let before = path.exists();
        let escaped = escape(c"escape-hatch");
        let _ = write!(
            out,
            "before {before}, escape {escaped:?}, after {}",
            path.exists()
        );
    });
    workshop::check_eq!(
        seen,
        "before false, escape Ok(()), after true",
        read = BREAKING_OUT,
        "a host file ({}) seen from the chroot, before and after escape()",
        marker.path().display()
    );
}

#[test]
fn chroot_works_without_root() {
    if !workshop::as_normal_user("chroot_works_without_root") {
        return;
    }
    let Some(fixture) = fixture() else { return };
    let word = workshop::random_word();
    let ran = fixture.sh(&format!("echo {word}; id -u; cat /etc/hostname"));
    workshop::check_eq!(
        (ran.code, ran.stdout),
        (0, format!("{word}\n0\nbusybox\n")),
        read = ROOTLESS,
        "as uid {}: echo {word}; id -u; cat /etc/hostname",
        nix::unistd::geteuid()
    );
}
