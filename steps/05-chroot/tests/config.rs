//! From an image's config to a process: argv, environment, user, program.
//! None of these checks needs root.

mod common;

use common::*;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use std::os::unix::fs::PermissionsExt;
use step_01_registry::config::RunConfig;
use step_05_chroot::Error;
use step_05_chroot::exit::exit_code;
use step_05_chroot::lookup;
use step_05_chroot::root::Root;
use step_05_chroot::spec::{DEFAULT_PATH, command_line, environment};
use step_05_chroot::user::{Credentials, parse_group, parse_passwd, resolve};

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn config(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> RunConfig {
    RunConfig {
        entrypoint: entrypoint.map(strings),
        cmd: cmd.map(strings),
        ..RunConfig::default()
    }
}

#[test]
fn the_command_line_is_the_entrypoint_then_cmd() {
    let word = workshop::random_word();
    let image = config(Some(&["/bin/app", "--serve"]), Some(&["--port", &word]));
    workshop::check_eq!(
        command_line(&image, &[]),
        strings(&["/bin/app", "--serve", "--port", &word]),
        read = COMMAND_LINE,
        "no command given: Entrypoint, then Cmd"
    );
    workshop::check_eq!(
        command_line(&config(None, Some(&["sh", "-c", &word])), &[]),
        strings(&["sh", "-c", &word]),
        read = COMMAND_LINE,
        "an image with Cmd only"
    );
}

#[test]
fn a_command_replaces_cmd_but_never_the_entrypoint() {
    let word = workshop::random_word();
    let image = config(Some(&["/bin/app"]), Some(&["--default"]));
    workshop::check_eq!(
        command_line(&image, &strings(&["--name", &word])),
        strings(&["/bin/app", "--name", &word]),
        read = COMMAND_LINE,
        "a command with an Entrypoint: its arguments replace Cmd"
    );
    workshop::check_eq!(
        command_line(&config(None, Some(&["sh"])), &strings(&["echo", &word])),
        strings(&["echo", &word]),
        read = COMMAND_LINE,
        "a command without an Entrypoint replaces Cmd"
    );
    workshop::check_eq!(
        command_line(&config(None, None), &[]),
        Vec::<String>::new(),
        read = COMMAND_LINE,
        "neither Entrypoint nor Cmd nor a command"
    );
}

#[test]
fn env_options_replace_in_place_and_path_has_a_default() {
    let word = workshop::random_word();
    let image = strings(&["PATH=/opt/bin:/bin", "LANG=C", "EMPTY="]);
    workshop::check_eq!(
        environment(
            &image,
            &strings(&[&format!("LANG={word}"), "NEW=1"]),
            |_| None
        )
        .unwrap(),
        strings(&[
            "PATH=/opt/bin:/bin",
            &format!("LANG={word}"),
            "EMPTY=",
            "NEW=1"
        ]),
        read = ENVIRONMENT,
        "-e LANG={word} -e NEW=1 over the image's PATH, LANG and EMPTY"
    );
    workshop::check_eq!(
        environment(&strings(&["GREETING=hi"]), &[], |_| None).unwrap(),
        strings(&["GREETING=hi", &format!("PATH={DEFAULT_PATH}")]),
        read = ENVIRONMENT,
        "an image that sets no PATH gets Docker's default, last"
    );
}

#[test]
fn a_name_alone_passes_the_shells_value_or_nothing() {
    let word = workshop::random_word();
    let host = |name: &str| (name == "FROM_SHELL").then(|| word.clone());
    workshop::check_eq!(
        environment(&[], &strings(&["FROM_SHELL", "UNSET_IN_SHELL"]), host).unwrap(),
        strings(&[
            &format!("FROM_SHELL={word}"),
            &format!("PATH={DEFAULT_PATH}")
        ]),
        read = ENVIRONMENT,
        "-e FROM_SHELL -e UNSET_IN_SHELL"
    );
    let refused = environment(&[], &strings(&["=value"]), |_| None);
    workshop::check!(
        matches!(refused, Err(Error::Env(_))),
        expected = "Error::Env for -e =value",
        got = refused,
        read = ENVIRONMENT,
    );
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
    # a comment\n\
    learner:x:1000:1000:A learner:/home/learner:/bin/sh\n\
    broken line\n";
const GROUP: &str = "root:x:0:\nwheel:x:10:root,learner\naudio:x:29:learner\nlearner:x:1000:\n";

fn user(user: &str) -> Result<Credentials, Error> {
    resolve(user, &parse_passwd(PASSWD), &parse_group(GROUP))
}

fn credentials(uid: u32, gid: u32, groups: &[u32], home: &str) -> Credentials {
    Credentials {
        uid,
        gid,
        groups: groups.to_vec(),
        home: home.to_string(),
    }
}

#[test]
fn a_user_name_brings_its_ids_home_and_groups() {
    workshop::check_eq!(
        user("learner").unwrap(),
        credentials(1000, 1000, &[10, 29], "/home/learner"),
        read = USERS,
        "User learner"
    );
    workshop::check_eq!(
        user("").unwrap(),
        credentials(0, 0, &[10], "/root"),
        read = USERS,
        "no User: root, with the groups that list root"
    );
    workshop::check_eq!(
        user("1000").unwrap(),
        credentials(1000, 1000, &[10, 29], "/home/learner"),
        read = USERS,
        "User 1000, which /etc/passwd names"
    );
}

#[test]
fn numbers_need_no_entry_and_a_group_replaces_the_groups() {
    workshop::check_eq!(
        user("4242").unwrap(),
        credentials(4242, 0, &[], "/"),
        read = USERS,
        "User 4242, in no /etc/passwd line"
    );
    workshop::check_eq!(
        user("learner:audio").unwrap(),
        credentials(1000, 29, &[], "/home/learner"),
        read = USERS,
        "User learner:audio"
    );
    workshop::check_eq!(
        user("learner:77").unwrap(),
        credentials(1000, 77, &[], "/home/learner"),
        read = USERS,
        "User learner:77"
    );
    for unknown in ["nobody-here", "learner:no-such-group"] {
        let result = user(unknown);
        workshop::check!(
            matches!(result, Err(Error::User { .. })),
            expected = format!("Error::User for {unknown:?}"),
            got = result,
            read = USERS,
        );
    }
}

/// A root filesystem with `bin/tool` (executable), `bin/data` (not) and
/// `usr/bin/data` (executable).
fn tools() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, mode) in [
        ("bin/tool", 0o755),
        ("bin/data", 0o644),
        ("usr/bin/data", 0o755),
    ] {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::os::unix::fs::symlink("/bin/tool", dir.path().join("bin/link")).unwrap();
    dir
}

#[test]
fn programs_are_found_in_the_images_path_not_the_hosts() {
    let dir = tools();
    let root = Root::open(dir.path()).unwrap();
    let find = |path: &str, program: &str| lookup::find(&root, path, "/", program);
    workshop::check_eq!(
        find("/sbin:/bin", "tool").unwrap(),
        "/bin/tool",
        read = FINDING,
        "tool with PATH=/sbin:/bin"
    );
    workshop::check_eq!(
        find("/bin:/usr/bin", "data").unwrap(),
        "/usr/bin/data",
        read = FINDING,
        "data, not executable in /bin but executable in /usr/bin"
    );
    workshop::check_eq!(
        find("", "/bin/link").unwrap(),
        "/bin/link",
        read = FINDING,
        "an absolute path is not searched"
    );
    // `ls` is on this host, but not in this root filesystem.
    let result = find("/bin:/usr/bin", "ls");
    workshop::check!(
        matches!(result, Err(Error::CommandNotFound { .. })),
        expected = "Error::CommandNotFound for ls, which only the host has",
        got = result,
        read = FINDING,
    );
}

#[test]
fn a_program_that_cannot_run_is_126_and_a_missing_one_127() {
    let dir = tools();
    let root = Root::open(dir.path()).unwrap();
    let not_executable = lookup::find(&root, "/bin", "/", "data").unwrap_err();
    workshop::check_eq!(
        not_executable.exit_code(),
        Some(126),
        read = FINDING,
        "data, only in /bin and not executable: {not_executable}"
    );
    let missing = lookup::find(&root, "/bin", "/", "nothing").unwrap_err();
    workshop::check_eq!(
        missing.exit_code(),
        Some(127),
        read = FINDING,
        "a program in no PATH directory: {missing}"
    );
}

#[test]
fn exit_codes_are_a_shells() {
    let pid = Pid::from_raw(1);
    let cases = [
        (WaitStatus::Exited(pid, 0), Some(0)),
        (WaitStatus::Exited(pid, 42), Some(42)),
        (WaitStatus::Signaled(pid, Signal::SIGKILL, false), Some(137)),
        (WaitStatus::Signaled(pid, Signal::SIGTERM, true), Some(143)),
        (WaitStatus::Stopped(pid, Signal::SIGSTOP), None),
    ];
    for (status, expected) in cases {
        workshop::check_eq!(exit_code(status), expected, read = EXIT_CODES, "{status:?}");
    }
}
