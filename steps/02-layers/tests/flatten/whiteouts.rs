//! Whiteouts.

use super::*;

#[test]
fn a_whiteout_deletes_a_file_and_a_tree_of_a_lower_layer() {
    let (_dir, root) = flatten(&[
        layer([
            Entry::dir("etc/"),
            Entry::file("etc/motd", "old"),
            Entry::dir("opt/"),
            Entry::dir("opt/tool/"),
            Entry::file("opt/tool/bin", "old"),
        ]),
        layer([Entry::whiteout("etc/motd"), Entry::whiteout("opt/tool")]),
    ]);
    for gone in ["etc/motd", "opt/tool", "etc/.wh.motd", "opt/.wh.tool"] {
        check!(
            !exists(&root.join(gone)),
            expected = format!("{gone} to be gone: whiteouts delete, and are never written"),
            got = tree::listing(&root).unwrap(),
            read = "step-02-layers.md#whiteouts",
        );
    }
}

/// A whiteout only hides lower layers: a file of its own layer stays.
#[test]
fn a_whiteout_spares_its_own_layer() {
    let (_dir, root) = flatten(&[
        layer([Entry::file("note", "lower")]),
        layer([Entry::file("note", "mine"), Entry::whiteout("note")]),
    ]);
    check_eq!(
        fs::read_to_string(root.join("note")).ok(),
        Some("mine".to_string()),
        read = "step-02-layers.md#whiteouts",
        "note, written by the layer that also has .wh.note"
    );
}

/// `.wh..wh..opq` hides the lower children of its directory, even when it
/// comes after the layer's own entries there, and never those entries.
#[test]
fn an_opaque_marker_after_its_own_entries_keeps_them() {
    let (_dir, root) = flatten(&[
        layer([
            Entry::dir("data/"),
            Entry::file("data/old.txt", "lower"),
            Entry::dir("data/keep/"),
            Entry::file("data/keep/old-too.txt", "lower"),
        ]),
        layer([
            Entry::dir("data/"),
            Entry::file("data/new.txt", "mine"),
            Entry::dir("data/keep/"),
            Entry::file("data/keep/mine.txt", "mine"),
            Entry::opaque("data/"),
            Entry::file("data/later.txt", "mine"),
        ]),
    ]);
    let listing = tree::listing(&root).unwrap();
    let paths: Vec<&str> = listing
        .lines()
        .map(|line| line.split(' ').next().unwrap())
        .collect();
    check_eq!(
        paths,
        [
            "/data",
            "/data/keep",
            "/data/keep/mine.txt",
            "/data/later.txt",
            "/data/new.txt"
        ],
        read = "step-02-layers.md#opaque-directories",
        "the tree after an opaque marker on data/"
    );
}
