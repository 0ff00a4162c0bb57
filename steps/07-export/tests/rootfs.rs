//! The root filesystem as one tar, entry by entry: names relative to the
//! root, headers with numeric owners and one time, hard links, and what
//! stays out; the same bytes every time, and nothing at the output when an
//! export fails.

mod common;

use common::{
    BAD_INPUT, ENTRY_HEADERS, ENTRY_NAMES, FIXTURE_CREATED, HARD_LINKS, Setup, WHAT_STAYS_OUT,
    names, tar_bytes, tar_listing, tree_names,
};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use step_07_export::Error;
use step_07_export::rootfs::{entry_name, left_out};

#[test]
fn entries_are_named_relative_to_the_root() {
    let root = Path::new("/store/library/hello/latest");
    let name = |path: &str, is_dir: bool| {
        entry_name(root, &root.join(path), is_dir).map_err(|e| e.to_string())
    };
    workshop::check_eq!(
        name("etc/passwd", false),
        Ok(PathBuf::from("etc/passwd")),
        read = ENTRY_NAMES
    );
    workshop::check_eq!(
        name("usr/share", true).map(|p| p.display().to_string()),
        Ok("usr/share/".to_string()),
        read = ENTRY_NAMES,
        "a directory's name ends in /"
    );
    let outside = entry_name(root, Path::new("/etc/passwd"), false);
    workshop::check!(
        matches!(outside, Err(Error::OutsideRoot { .. })),
        expected = "Error::OutsideRoot for /etc/passwd",
        got = format!("{outside:?}"),
        read = ENTRY_NAMES,
    );
    let itself = entry_name(root, root, true);
    workshop::check!(
        itself.is_err(),
        expected = "an error: the root is not an entry",
        got = format!("{itself:?}"),
        read = ENTRY_NAMES,
    );
}

#[test]
fn devices_and_sockets_stay_out() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("socket");
    let _listener = UnixListener::bind(&socket).unwrap();
    std::fs::write(dir.path().join("file"), "x").unwrap();
    std::os::unix::fs::symlink("file", dir.path().join("link")).unwrap();
    nix::unistd::mkfifo(
        &dir.path().join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let kind = |path: &Path| std::fs::symlink_metadata(path).unwrap().file_type();
    let out = |path: &Path| left_out(kind(path)).is_some();
    workshop::check_eq!(
        out(Path::new("/dev/null")),
        true,
        read = WHAT_STAYS_OUT,
        "/dev/null, a character device"
    );
    workshop::check_eq!(out(&socket), true, read = WHAT_STAYS_OUT, "a socket");
    for kept in ["file", "link", "fifo", ""] {
        workshop::check_eq!(
            out(&dir.path().join(kept)),
            false,
            read = WHAT_STAYS_OUT,
            "a {} goes in",
            if kept.is_empty() { "directory" } else { kept }
        );
    }
}

#[test]
fn the_rootfs_tar_of_hello_entry_by_entry() {
    let setup = Setup::new();
    let hello = setup.pull("library/hello");
    let (path, _) = setup.export(&hello, "hello.tar");
    let listing = tar_listing(&tar_bytes(&path), FIXTURE_CREATED);
    insta::assert_snapshot!(listing);
    let mut got = names(&listing);
    got.sort();
    workshop::check_eq!(
        got,
        tree_names(&setup.rootfs(&hello)),
        read = ENTRY_HEADERS,
        "the archive's entries against the stored tree (nothing missing, nothing extra)"
    );
}

#[test]
fn the_rootfs_tar_of_layers_keeps_hard_links_setuid_and_owners() {
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    let (path, _) = setup.export(&layers, "layers.tar");
    let listing = tar_listing(&tar_bytes(&path), FIXTURE_CREATED);
    insta::assert_snapshot!(listing);
    let mut got = names(&listing);
    got.sort();
    workshop::check_eq!(got, tree_names(&setup.rootfs(&layers)), read = HARD_LINKS);
    for line in listing.lines() {
        let name = line.split(' ').next().unwrap();
        workshop::check!(
            !name.starts_with('/') && !name.split('/').any(|c| c == ".." || c == "."),
            expected = "names relative to the root, with no `..` or `.`",
            got = name,
            read = ENTRY_NAMES,
        );
    }
}

#[test]
fn a_tree_with_devices_and_sockets_exports_without_them() {
    if !common::is_root() {
        return;
    }
    let setup = Setup::new();
    let hello = setup.pull("library/hello");
    let rootfs = setup.rootfs(&hello);
    std::fs::create_dir(rootfs.join("dev")).unwrap();
    nix::sys::stat::mknod(
        &rootfs.join("dev/null"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .unwrap();
    nix::sys::stat::mknod(
        &rootfs.join("dev/loop0"),
        nix::sys::stat::SFlag::S_IFBLK,
        nix::sys::stat::Mode::from_bits_truncate(0o660),
        nix::sys::stat::makedev(7, 0),
    )
    .unwrap();
    let _listener = UnixListener::bind(rootfs.join("tmp/app.sock")).unwrap();
    let (path, exported) = setup.export(&hello, "hello.tar");
    let listing = tar_listing(&tar_bytes(&path), FIXTURE_CREATED);
    let left_out: Vec<_> = exported
        .written
        .unwrap()
        .left_out
        .into_iter()
        .map(|(path, _)| path.display().to_string())
        .collect();
    workshop::check_eq!(
        left_out,
        ["dev/loop0", "dev/null", "tmp/app.sock"],
        read = WHAT_STAYS_OUT,
        "what the export reports it left out"
    );
    workshop::check!(
        listing.contains("dev/ d 0755")
            && !listing.contains("dev/null")
            && !listing.contains("app.sock"),
        expected = "/dev as an empty directory, no device node, no socket",
        got = listing,
        read = WHAT_STAYS_OUT,
    );
}

#[test]
fn exporting_twice_gives_the_same_bytes() {
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    let (first, _) = setup.export(&layers, "first.tar");
    // Touching the stored files changes their mtimes, not the archive.
    let now = std::time::SystemTime::now();
    std::fs::File::options()
        .write(true)
        .open(setup.rootfs(&layers).join("etc/passwd"))
        .unwrap()
        .set_modified(now)
        .unwrap();
    let (second, _) = setup.export(&layers, "second.tar");
    workshop::check!(
        std::fs::read(&first).unwrap() == std::fs::read(&second).unwrap(),
        expected = "the same bytes twice",
        got = "two different archives",
        read = ENTRY_HEADERS,
    );
}

#[test]
fn a_failed_export_leaves_nothing_at_the_output() {
    if !common::is_root() {
        return;
    }
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    // A file system too small for the archive: the write fails halfway.
    let small = setup.out.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8k", "tmpfs"])
        .arg(&small)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        workshop::skip("needs to mount a small tmpfs (root, outside a restricted container)");
        return;
    }
    let unmount = Unmount(small.clone());
    let path = small.join("layers.tar");
    let got = step_07_export::export(
        &setup.store(),
        &layers,
        &step_07_export::Output::Path(path.clone()),
        &Default::default(),
        &mut std::io::sink(),
    );
    let left: Vec<_> = std::fs::read_dir(&small)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    drop(unmount);
    workshop::check!(
        got.as_ref()
            .is_err_and(|e| e.to_string().contains("No space left")),
        expected = "an error that says the disk is full",
        got = format!("{got:?}"),
        read = BAD_INPUT,
    );
    workshop::check_eq!(
        left,
        Vec::<String>::new(),
        read = BAD_INPUT,
        "files left in the output directory"
    );
}

#[test]
fn what_an_interrupted_export_left_is_removed_by_the_next() {
    let setup = Setup::new();
    let hello = setup.pull("library/hello");
    // A process that has exited: its pid names an export that was killed.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let left = format!(".dockerless-export-{}-x1y2z3", gone.id());
    std::fs::write(setup.out.path().join(&left), "half an archive").unwrap();
    setup.export(&hello, "hello.tar");
    let mut names: Vec<_> = std::fs::read_dir(setup.out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    workshop::check_eq!(
        names,
        ["hello.tar"],
        read = BAD_INPUT,
        "the output directory after an export beside {left}"
    );
}

/// Unmounts a directory when dropped, even if the check fails first.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}
