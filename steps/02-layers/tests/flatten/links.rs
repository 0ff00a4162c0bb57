//! Links.

use super::*;

#[test]
fn a_hard_link_may_point_to_an_earlier_layer() {
    let (_dir, root) = flatten(&[
        layer([Entry::dir("usr/"), Entry::file("usr/base.txt", "base")]),
        layer([Entry::hardlink("usr/base-link.txt", "usr/base.txt")]),
    ]);
    let inode = |path: &str| fs::symlink_metadata(root.join(path)).map(|m| m.ino()).ok();
    check!(
        inode("usr/base-link.txt").is_some() && inode("usr/base-link.txt") == inode("usr/base.txt"),
        expected = "usr/base-link.txt and usr/base.txt to be one inode",
        got = (inode("usr/base-link.txt"), inode("usr/base.txt")),
        read = "step-02-layers.md#hard-links",
    );
}

#[test]
fn a_hard_link_to_a_directory_is_refused() {
    let (_dir, root) = fresh_root();
    let error = apply(
        &root,
        &layer([Entry::dir("etc/"), Entry::hardlink("etc-link", "etc")]).data,
        Options::detect(),
    );
    check!(
        matches!(&error, Err(Error::Hardlink { entry, .. }) if entry == "etc-link"),
        expected = "Error::Hardlink naming etc-link",
        got = error,
        read = "step-02-layers.md#hard-links",
    );
}

#[test]
fn a_hard_link_to_nothing_is_refused() {
    let (_dir, root) = fresh_root();
    let error = apply(
        &root,
        &layer([Entry::hardlink("copy", "missing")]).data,
        Options::detect(),
    );
    check!(
        matches!(&error, Err(Error::Hardlink { entry, target, .. }) if entry == "copy" && target == "missing"),
        expected = "Error::Hardlink naming copy and missing",
        got = error,
        read = "step-02-layers.md#hard-links",
    );
}

/// Debian's `etc -> /...` style links are written as they are, and a later
/// entry below one lands inside the root, never outside it.
#[test]
fn an_absolute_symlink_is_kept_and_never_followed_out_of_the_root() {
    let (dir, root) = fresh_root();
    let outside = dir.path().join("somewhere-outside");
    let target = outside
        .to_str()
        .expect("a UTF-8 temporary path")
        .to_string();
    let applied = apply(
        &root,
        &layer([
            Entry::symlink("etc", target.as_str()),
            Entry::file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
        ])
        .data,
        Options::detect(),
    );
    check!(
        applied.is_ok(),
        expected = "the layer to apply",
        got = applied,
        read = "step-02-layers.md#symbolic-links",
    );
    check_eq!(
        fs::read_link(root.join("etc")).ok(),
        Some(outside.clone()),
        read = "step-02-layers.md#symbolic-links",
        "the target of etc, stored verbatim"
    );
    check!(
        !exists(&outside),
        expected = format!("nothing at {}, outside the root", outside.display()),
        got = fs::read_dir(dir.path()).unwrap().count(),
        read = "step-02-layers.md#staying-inside-the-root",
    );
    let inside = root.join(outside.strip_prefix("/").unwrap()).join("passwd");
    check!(
        inside.is_file(),
        expected = format!(
            "etc/passwd at {}: the link resolved inside the root",
            inside.display()
        ),
        got = tree::listing(&root).unwrap(),
        read = "step-02-layers.md#staying-inside-the-root",
    );
}

/// `lib -> usr/lib` (a merged /usr) then `lib/x`: written into usr/lib.
#[test]
fn a_relative_symlink_inside_the_root_is_followed_for_later_entries() {
    let (_dir, root) = flatten(&[
        layer([
            Entry::dir("usr/"),
            Entry::dir("usr/lib/"),
            Entry::symlink("lib", "usr/lib"),
        ]),
        layer([Entry::file("lib/libc.so", "elf")]),
    ]);
    check_eq!(
        fs::read_to_string(root.join("usr/lib/libc.so")).ok(),
        Some("elf".to_string()),
        read = "step-02-layers.md#staying-inside-the-root",
        "usr/lib/libc.so, written as lib/libc.so through lib -> usr/lib"
    );
}
