//! Read-only directories of lower layers, without root.

use super::*;

/// Runs `f` with the permission checks a normal user meets, even as root.
///
/// Capabilities belong to a thread, and each test runs on a thread of its
/// own: dropping `CAP_DAC_OVERRIDE`, `CAP_DAC_READ_SEARCH` and `CAP_FOWNER`
/// from this thread's effective set makes root obey file modes as a normal
/// user does, for this test only. They are raised again afterwards (they
/// stay in the permitted set). A normal user has none of them to drop.
fn as_normal_user<T>(f: impl FnOnce() -> T) -> T {
    use nix::libc;
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    const FILE_OVERRIDES: u32 = (1 << 1) | (1 << 2) | (1 << 3);
    // pid 0: the calling thread.
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut saved = [Data::default(); 2];
    // SAFETY: capget and capset read and write one header and two data
    // structs of the layout the kernel's version 3 ABI defines.
    let capset = |header: &mut Header, data: &[Data; 2]| unsafe {
        libc::syscall(libc::SYS_capset, header as *mut Header, data.as_ptr())
    };
    let got = unsafe { libc::syscall(libc::SYS_capget, &mut header, saved.as_mut_ptr()) };
    assert_eq!(got, 0, "capget: {}", io::Error::last_os_error());
    let mut dropped = saved;
    dropped[0].effective &= !FILE_OVERRIDES;
    assert_eq!(
        capset(&mut header, &dropped),
        0,
        "capset: {}",
        io::Error::last_os_error()
    );
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    assert_eq!(
        capset(&mut header, &saved),
        0,
        "capset: {}",
        io::Error::last_os_error()
    );
    result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Applies `layers` in order to a fresh root as a normal user would.
fn flatten_as_normal_user(layers: &[Layer]) -> (TempDir, PathBuf, Result<(), String>) {
    let (dir, root) = fresh_root();
    let result = as_normal_user(|| {
        for (n, layer) in layers.iter().enumerate() {
            apply(&root, &layer.data, Options { privileged: false })
                .map_err(|error| format!("layer {} failed: {error}", n + 1))?;
        }
        Ok(())
    });
    (dir, root, result)
}

/// Applies `layers` as a normal user would, and checks that every layer
/// applied and that the tree is `expected` (path, type and mode of each
/// entry); `what` says what the tree shows.
fn check_flattened_as_normal_user(layers: &[Layer], expected: &[&str], what: &str) {
    let (_dir, root, result) = flatten_as_normal_user(layers);
    check!(
        result.is_ok(),
        expected = "every layer applied",
        got = result,
        read = READ_ONLY,
    );
    check_eq!(modes_listing(&root), expected, read = READ_ONLY, "{what}");
}

/// The listing of `root`, mode and type of each path, owners left out.
fn modes_listing(root: &Path) -> Vec<String> {
    let listing = tree::listing_with(
        root,
        &ListingOptions {
            owners: false,
            link_counts: false,
        },
    )
    .expect("listing the root");
    listing
        .lines()
        .map(|line| line.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .collect()
}

const READ_ONLY: &str = "step-02-layers.md#running-without-root";

#[test]
fn a_read_only_directory_of_a_lower_layer_takes_a_later_layers_entries() {
    // Fedora and its kin ship /usr/bin and /usr/lib read-only (0555): the
    // next layer's packages must still land there when pulled without root.
    check_flattened_as_normal_user(
        &[
            layer([
                Entry::dir("usr/").mode(0o555),
                Entry::dir("usr/bin/").mode(0o555),
                Entry::file("usr/bin/old", "old"),
                Entry::file("usr/bin/replaced", "old"),
            ]),
            layer([
                Entry::file("usr/bin/new", "new"),
                Entry::file("usr/bin/replaced", "new"),
                Entry::symlink("usr/bin/link", "new"),
                Entry::dir("usr/bin/sub/"),
                Entry::file("usr/bin/sub/deeper", "new"),
                Entry::whiteout("usr/bin/old"),
            ]),
        ],
        &[
            "/usr d 0555",
            "/usr/bin d 0555",
            "/usr/bin/link l 0777",
            "/usr/bin/new f 0644",
            "/usr/bin/replaced f 0644",
            "/usr/bin/sub d 0755",
            "/usr/bin/sub/deeper f 0644",
        ],
        "the tree, with the read-only directories read-only again",
    );
}

#[test]
fn a_read_only_tree_of_a_lower_layer_can_be_replaced_or_deleted() {
    check_flattened_as_normal_user(
        &[
            layer([
                Entry::dir("opt/").mode(0o555),
                Entry::dir("opt/app/").mode(0o555),
                Entry::dir("opt/app/lib/").mode(0o500),
                Entry::file("opt/app/lib/x", "x").mode(0o444),
                Entry::dir("srv/").mode(0o555),
                Entry::dir("srv/data/").mode(0),
                Entry::file("srv/data/y", "y"),
                Entry::dir("etc/").mode(0o555),
                Entry::dir("etc/old/").mode(0o555),
                Entry::file("etc/old/z", "z"),
            ]),
            layer([
                // A file over a read-only tree, a whiteout of one, and an
                // opaque directory hiding one.
                Entry::file("opt/app", "now a file"),
                Entry::whiteout("srv"),
                Entry::opaque("etc/"),
                Entry::file("etc/new", "new"),
            ]),
        ],
        &[
            "/etc d 0555",
            "/etc/new f 0644",
            "/opt d 0555",
            "/opt/app f 0644",
        ],
        "the tree after the read-only trees were replaced, deleted and hidden",
    );
}

#[test]
fn a_directory_opened_for_a_later_layer_takes_that_layers_mode_if_it_lists_it() {
    check_flattened_as_normal_user(
        &[
            layer([
                Entry::dir("var/").mode(0o555),
                Entry::dir("etc/").mode(0o555),
            ]),
            layer([
                Entry::file("var/a", "a"),
                Entry::dir("var/").mode(0o750),
                Entry::file("etc/b", "b"),
            ]),
        ],
        &[
            "/etc d 0555",
            "/etc/b f 0644",
            "/var d 0750",
            "/var/a f 0644",
        ],
        "the upper layer's mode for var/, the lower layer's for etc/",
    );
}

#[test]
fn opening_read_only_directories_never_reaches_outside_the_root() {
    // Read-only directories beside the root, and symlinks that point at
    // them: written through, whited out, replaced, hidden by an opaque
    // marker. Only the links may change, never what they point at.
    let (dir, root) = fresh_root();
    let outside = dir.path().join("outside");
    fs::create_dir_all(outside.join("inner")).unwrap();
    fs::write(outside.join("kept"), "kept").unwrap();
    for path in [outside.join("inner"), outside.clone()] {
        fs::set_permissions(path, fs::Permissions::from_mode(0o555)).unwrap();
    }
    let absolute = outside.to_str().expect("a UTF-8 path").to_string();
    let layers = [
        layer([
            Entry::symlink("up", "../outside"),
            Entry::symlink("up2", "../outside"),
            Entry::symlink("abs", absolute.as_str()),
            Entry::dir("d/").mode(0o555),
            Entry::symlink("d/link", "../../outside"),
        ]),
        layer([
            Entry::file("abs/new", "x"),
            Entry::whiteout("abs/kept"),
            Entry::whiteout("up"),
            Entry::file("up2", "now a file"),
            Entry::opaque("d/"),
        ]),
    ];
    let result = as_normal_user(|| {
        layers.iter().try_for_each(|layer| {
            apply(&root, &layer.data, Options { privileged: false }).map(drop)
        })
    });
    check!(
        result.is_ok(),
        expected = "both layers applied, inside the root",
        got = result,
        read = "step-02-layers.md#staying-inside-the-root",
    );
    let mut listing: Vec<String> = fs::read_dir(&outside)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    listing.sort();
    check_eq!(
        (mode(&outside), mode(&outside.join("inner")), listing),
        (0o555, 0o555, vec!["inner".to_string(), "kept".to_string()]),
        read = "step-02-layers.md#staying-inside-the-root",
        "the directories outside the root, after layers aimed at them"
    );
}

#[test]
fn a_lower_directory_without_search_permission_takes_a_new_subdirectory() {
    // The layer's new directories get their modes before the lower ones
    // get theirs back: deepest first, so every directory is still open
    // when the one below it is set.
    // The lower `a/` must also be opened before a name below it can be
    // resolved at all.
    check_flattened_as_normal_user(
        &[
            layer([Entry::dir("a/").mode(0o600), Entry::dir("a/b/")]),
            layer([
                Entry::dir("a/sub/").mode(0o555),
                Entry::file("a/sub/f", "f"),
                Entry::file("a/b/f", "f"),
            ]),
        ],
        &[
            "/a d 0600",
            "/a/b d 0755",
            "/a/b/f f 0644",
            "/a/sub d 0555",
            "/a/sub/f f 0644",
        ],
        "the tree, each directory with its own layer's mode",
    );
}

#[test]
fn a_skipped_device_does_not_open_what_it_would_have_replaced() {
    // Without root a device node is skipped, and so is a hard link to it:
    // the read-only tree at the link's path stays as it is.
    check_flattened_as_normal_user(
        &[
            layer([Entry::dir("t/").mode(0o555), Entry::dir("t/u/").mode(0o555)]),
            layer([Entry::char_device("d2", 1, 3), Entry::hardlink("t", "d2")]),
        ],
        &["/t d 0555", "/t/u d 0555"],
        "the read-only tree, untouched",
    );
}
