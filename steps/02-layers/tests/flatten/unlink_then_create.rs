//! Unlink-then-create.

use super::*;

#[test]
fn a_file_replaces_a_directory_tree() {
    let (_dir, root) = flatten(&[
        layer([Entry::dir("cache/"), Entry::file("cache/stale", "old")]),
        layer([Entry::file("cache", "now a file")]),
    ]);
    check_eq!(
        fs::read_to_string(root.join("cache")).ok(),
        Some("now a file".to_string()),
        read = "step-02-layers.md#unlink-then-create",
        "cache, a directory in layer 1 and a file in layer 2"
    );
}

#[test]
fn a_directory_replaces_a_file() {
    let (_dir, root) = flatten(&[
        layer([Entry::file("thing", "old")]),
        layer([Entry::dir("thing/"), Entry::file("thing/inside", "new")]),
    ]);
    check_eq!(
        fs::read_to_string(root.join("thing/inside")).ok(),
        Some("new".to_string()),
        read = "step-02-layers.md#unlink-then-create",
        "thing/inside, below a file that became a directory"
    );
}

#[test]
fn a_directory_over_a_directory_keeps_its_children_and_takes_the_new_metadata() {
    let (_dir, root) = flatten(&[
        layer([
            Entry::dir("shared/"),
            Entry::file("shared/keep.txt", "kept"),
        ]),
        layer([Entry::dir("shared/").mode(0o750)]),
    ]);
    check_eq!(
        fs::read_to_string(root.join("shared/keep.txt")).ok(),
        Some("kept".to_string()),
        read = "step-02-layers.md#unlink-then-create",
        "shared/keep.txt after layer 2 lists shared/ again"
    );
    check_eq!(
        format!("{:04o}", mode(&root.join("shared"))),
        "0750",
        read = "step-02-layers.md#unlink-then-create",
        "the mode of shared/ after layer 2 set it"
    );
}

/// A file over a symlink replaces the link; it is not written through it.
#[test]
fn a_file_over_a_symlink_replaces_the_link() {
    let (_dir, root) = flatten(&[
        layer([Entry::file("real", "real"), Entry::symlink("alias", "real")]),
        layer([Entry::file("alias", "alias")]),
    ]);
    check_eq!(
        (
            fs::read_to_string(root.join("real")).ok(),
            fs::symlink_metadata(root.join("alias"))
                .map(|m| m.is_file())
                .ok()
        ),
        (Some("real".to_string()), Some(true)),
        read = "step-02-layers.md#unlink-then-create",
        "(contents of real, whether alias is now a plain file)"
    );
}
