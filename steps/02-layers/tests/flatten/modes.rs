//! Modes, owners and times.

use super::*;

#[test]
fn a_mode_000_file_is_written_all_the_same() {
    let (_dir, root) = flatten(&[layer([Entry::file("sealed", "secret").mode(0)])]);
    let options = Options::detect();
    // Only root may read it back; a normal user's listing says so.
    let contents = if options.privileged {
        "sha256:2bb80d537b1d"
    } else {
        "unreadable"
    };
    check_eq!(
        line_of(&root, "/sealed"),
        Some(format!("f 0000 {} 6 {contents}", owner(&options, 0))),
        read = "step-02-layers.md#modes-owners-and-times",
        "the listing of a mode-000 file"
    );
}

/// The owner a file of `uid:gid` gets with `options`.
fn owner(options: &Options, id: u32) -> String {
    if options.privileged {
        format!("{id}:{id}")
    } else {
        format!("{}:{}", nix::unistd::geteuid(), nix::unistd::getegid())
    }
}

#[test]
fn setuid_setgid_and_sticky_bits_survive() {
    let (_dir, root) = flatten(&[layer([
        Entry::file("su", "x").mode(0o4755).owner(0, 0),
        Entry::file("wall", "x").mode(0o2755),
        Entry::dir("tmp/").mode(0o1777),
    ])]);
    let modes: Vec<String> = ["su", "wall", "tmp"]
        .iter()
        .map(|path| format!("{path} {:04o}", mode(&root.join(path))))
        .collect();
    check_eq!(
        modes,
        ["su 4755", "wall 2755", "tmp 1777"],
        read = "step-02-layers.md#modes-owners-and-times",
        "modes set after creating (the umask trims them) and after chown (which clears setuid)"
    );
}

/// Directories get their mode and mtime when the layer is done: a
/// read-only or mode-000 directory can still take its children, and the
/// children written later do not move its mtime.
#[test]
fn directories_get_their_mode_and_mtime_when_the_layer_is_done() {
    let (_dir, root) = flatten(&[layer([
        Entry::dir("ro/").mode(0o555),
        Entry::file("ro/inside", "x"),
        Entry::dir("closed/").mode(0),
        Entry::dir("closed/deeper/").mode(0o500),
        Entry::file("closed/deeper/inside", "x"),
        Entry::symlink("link", "ro"),
    ])]);
    let open = |path: &str| {
        fs::set_permissions(root.join(path), fs::Permissions::from_mode(0o700)).unwrap();
    };
    let mut times = Vec::new();
    for path in ["ro", "ro/inside", "link", "closed", "closed/deeper"] {
        let meta = fs::symlink_metadata(root.join(path)).expect("lstat");
        times.push(format!(
            "{path} {:04o} {}",
            meta.mode() & 0o7777,
            meta.mtime()
        ));
        if path == "closed" {
            // A normal user may not look inside a mode-000 directory;
            // chmod changes its ctime, not its mtime.
            open(path);
        }
    }
    // Let a normal user remove the temporary directory, too.
    open("closed/deeper");
    let t = FIXTURE_MTIME;
    check_eq!(
        times,
        [
            format!("ro 0555 {t}"),
            format!("ro/inside 0644 {t}"),
            format!("link 0777 {t}"),
            format!("closed 0000 {t}"),
            format!("closed/deeper 0500 {t}"),
        ],
        read = "step-02-layers.md#modes-owners-and-times",
        "mode and mtime of each path"
    );
}

#[test]
fn owners_are_applied_only_when_privileged() {
    if skip_unless_root() {
        return;
    }
    let owned = || {
        layer([
            Entry::dir("home/").owner(1000, 1000),
            Entry::file("home/file", "x").owner(1000, 1000),
            Entry::symlink("home/link", "file").owner(1000, 1000),
        ])
    };
    for options in [Options { privileged: true }, Options { privileged: false }] {
        let (_dir, root) = fresh_root();
        apply(&root, &owned().data, options).expect("the layer applies");
        let owners: Vec<String> = ["home", "home/file", "home/link"]
            .iter()
            .map(|path| {
                let meta = fs::symlink_metadata(root.join(path)).unwrap();
                format!("{path} {}:{}", meta.uid(), meta.gid())
            })
            .collect();
        let expected = owner(&options, 1000);
        check_eq!(
            owners,
            [
                format!("home {expected}"),
                format!("home/file {expected}"),
                format!("home/link {expected}"),
            ],
            read = "step-02-layers.md#running-without-root",
            "owners with {options:?}"
        );
    }
}
