//! Names.

use super::*;

#[test]
fn a_name_that_is_not_utf8_survives() {
    let name = b"caf\xe9.txt";
    let (_dir, root) = flatten(&[layer([Entry::file(name.as_slice(), "latin-1")])]);
    let names: Vec<Vec<u8>> = fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().as_bytes().to_vec())
        .collect();
    check_eq!(
        names,
        [name.to_vec()],
        read = "step-02-layers.md#long-names",
        "the raw bytes of the one name in the root"
    );
    check!(
        tree::listing(&root)
            .unwrap()
            .starts_with("/caf\\xe9.txt f "),
        expected = "the listing to write the byte 0xe9 as \\xe9",
        got = tree::listing(&root).unwrap(),
        read = "step-02-layers.md#long-names",
    );
}

#[test]
fn long_names_and_link_targets_in_gnu_and_pax_form() {
    let dir = format!("{}/", "d".repeat(90));
    let file = format!("{dir}{}", "f".repeat(90));
    let link_target = format!("../{file}");
    for style in [HeaderStyle::Gnu, HeaderStyle::Pax] {
        let (_tmp, root) = flatten(&[LayerBuilder::new()
            .header_style(style)
            .entries([
                Entry::dir(dir.as_str()),
                Entry::file(file.as_str(), "long"),
                Entry::dir("links/"),
                Entry::symlink("links/to-long", link_target.as_str()),
                Entry::hardlink("links/hard", file.as_str()),
            ])
            .build()]);
        check_eq!(
            (
                fs::read_to_string(root.join(&file)).ok(),
                fs::read_link(root.join("links/to-long")).ok(),
                fs::read_to_string(root.join("links/hard")).ok()
            ),
            (
                Some("long".to_string()),
                Some(PathBuf::from(&link_target)),
                Some("long".to_string())
            ),
            read = "step-02-layers.md#long-names",
            "a long file, a symlink and a hard link with long targets ({style:?} headers)"
        );
    }
}
