//! `copy::mirror` on its own: a host path whose directories and file are
//! symbolic links, recreated link by link in a new root.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::COPYING_WITH_SYMLINKS;
use step_04_create::copy::{self, Placed};
use step_04_create::error::Error;
use workshop::{check, check_eq};

/// What is at `path`, without following a symlink: a link's target, `file`
/// with its contents, `dir`, or `nothing`.
fn what_is_at(path: &Path) -> String {
    match fs::symlink_metadata(path) {
        Err(_) => "nothing".into(),
        Ok(meta) if meta.file_type().is_symlink() => {
            format!("link to {}", fs::read_link(path).unwrap().display())
        }
        Ok(meta) if meta.is_dir() => "dir".into(),
        Ok(_) => format!("file: {}", fs::read_to_string(path).unwrap()),
    }
}

#[test]
fn every_link_on_a_host_path_is_recreated_and_followed() {
    let host = tempfile::tempdir().unwrap();
    // Canonical, so the links below are the only ones on the way.
    let base = fs::canonicalize(host.path()).unwrap();
    fs::create_dir_all(base.join("usr/lib")).unwrap();
    fs::write(base.join("usr/lib/libz.so.1.3"), "the library").unwrap();
    std::os::unix::fs::symlink("usr/lib", base.join("lib")).unwrap();
    std::os::unix::fs::symlink("libz.so.1.3", base.join("usr/lib/libz.so.1")).unwrap();
    std::os::unix::fs::symlink(base.join("lib"), base.join("absolute")).unwrap();

    let root = tempfile::tempdir().unwrap();
    let mut placed = Placed::new();
    let real = copy::mirror(&base.join("absolute/libz.so.1"), root.path(), &mut placed);
    check_eq!(
        real.map_err(|e| e.to_string()),
        Ok(base.join("usr/lib/libz.so.1.3")),
        read = COPYING_WITH_SYMLINKS,
        "the real host path mirror returns"
    );
    let image = |path: &str| copy::image_path(root.path(), &base.join(path));
    let got: Vec<(&str, String)> = [
        "absolute",
        "lib",
        "usr/lib/libz.so.1",
        "usr/lib/libz.so.1.3",
    ]
    .into_iter()
    .map(|path| (path, what_is_at(&image(path))))
    .collect();
    check_eq!(
        got,
        [
            (
                "absolute",
                format!("link to {}", base.join("lib").display())
            ),
            ("lib", "link to usr/lib".to_string()),
            ("usr/lib/libz.so.1", "link to libz.so.1.3".to_string()),
            ("usr/lib/libz.so.1.3", "file: the library".to_string()),
        ],
        read = COPYING_WITH_SYMLINKS,
        "what the new root holds at each path the walk crossed"
    );
}

#[test]
fn a_loop_of_links_is_refused() {
    let host = tempfile::tempdir().unwrap();
    let base: PathBuf = fs::canonicalize(host.path()).unwrap();
    std::os::unix::fs::symlink("b", base.join("a")).unwrap();
    std::os::unix::fs::symlink("a", base.join("b")).unwrap();
    let root = tempfile::tempdir().unwrap();
    let result = copy::mirror(&base.join("a"), root.path(), &mut Placed::new());
    check!(
        matches!(result, Err(Error::SymlinkLoop { .. })),
        expected = "Error::SymlinkLoop",
        got = result,
        read = COPYING_WITH_SYMLINKS,
    );
}
