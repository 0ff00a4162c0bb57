//! Special files.

use super::*;

#[test]
fn fifos_are_created_and_devices_only_when_privileged() {
    let entries = || {
        layer([
            Entry::dir("dev/"),
            Entry::char_device("dev/null", 1, 3),
            Entry::block_device("dev/loop9", 7, 9),
            Entry::fifo("dev/pipe"),
        ])
    };
    let (_dir, root) = fresh_root();
    let applied = apply(&root, &entries().data, Options { privileged: false });
    check_eq!(
        applied.ok(),
        Some(Applied {
            entries: 2,
            whiteouts: 0,
            skipped_devices: 2,
            skipped_attributes: Vec::new(),
        }),
        read = "step-02-layers.md#running-without-root",
        "what applying two devices, a FIFO and a directory did as a normal user"
    );
    check_eq!(
        line_of(&root, "/dev/null"),
        None,
        read = "step-02-layers.md#running-without-root",
        "a device node as a normal user"
    );
    check!(
        line_of(&root, "/dev/pipe").is_some_and(|line| line.starts_with("p 0644 ")),
        expected = "a FIFO of mode 0644 at /dev/pipe",
        got = tree::listing(&root).unwrap(),
        read = "step-02-layers.md#writing-entries",
    );
    if skip_unless_root() {
        return;
    }
    let (_dir, root) = fresh_root();
    apply(&root, &entries().data, Options { privileged: true }).expect("the layer applies");
    check_eq!(
        (line_of(&root, "/dev/null"), line_of(&root, "/dev/loop9")),
        (
            Some("c 0666 0:0 - 1,3".to_string()),
            Some("b 0660 0:0 - 7,9".to_string())
        ),
        read = "step-02-layers.md#writing-entries",
        "device nodes made as root"
    );
}

#[test]
fn an_unsupported_entry_type_is_named_in_the_error() {
    let mut header = tar::Header::new_gnu();
    header.set_path("volume-label").unwrap();
    header.set_entry_type(tar::EntryType::new(b'V'));
    header.set_size(0);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, io::empty()).unwrap();
    let tar = builder.into_inner().unwrap();
    let (_dir, root) = fresh_root();
    let error = apply(&root, &tar, Options::detect());
    check!(
        matches!(&error, Err(Error::UnsupportedEntry { entry, kind }) if entry == "volume-label" && kind.contains('V')),
        expected = "Error::UnsupportedEntry naming volume-label and its type V",
        got = error,
        read = "step-02-layers.md#writing-entries",
    );
}
