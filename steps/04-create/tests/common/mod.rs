//! Helpers shared by the step's checks: `ldd` as a peer to compare with,
//! and small C programs built with `cc` to make the cases the host lacks.

#![allow(dead_code)] // each test binary uses its own share of the helpers

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The book sections the checks send a learner to.
pub const ELF_FILES: &str = "step-04-create.md#elf-files";
pub const DYNAMIC_SECTION: &str = "step-04-create.md#the-dynamic-section";
pub const FINDING_LIBRARIES: &str = "step-04-create.md#finding-libraries";
pub const ORIGIN_AND_RUNPATH: &str = "step-04-create.md#origin-and-runpath";
pub const COPYING_WITH_SYMLINKS: &str = "step-04-create.md#copying-with-symlinks";
pub const LDD_AND_THE_VDSO: &str = "step-04-create.md#ldd-and-the-vdso";
pub const ERRORS: &str = "step-04-create.md#errors";

/// What `ldd` prints for `binary`: each library as `(name, path)`, the
/// path canonicalised; `None` as path for lines with no file (the vDSO).
/// `None` if `ldd` cannot run here.
pub fn ldd(binary: &Path) -> Option<Vec<(String, Option<PathBuf>)>> {
    let output = Command::new("ldd").arg(binary).output().ok()?;
    if !output.status.success() {
        return None;
    }
    Some(parse_ldd(&String::from_utf8_lossy(&output.stdout)))
}

/// Parses `ldd`'s three kinds of lines:
///
/// ```text
///     linux-vdso.so.1 (0x00007ffd...)                 the kernel's, no file
///     libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)
///     /lib64/ld-linux-x86-64.so.2 (0x...)             the interpreter, by path
/// ```
pub fn parse_ldd(text: &str) -> Vec<(String, Option<PathBuf>)> {
    let mut libraries = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let line = match line.rfind(" (0x") {
            Some(at) => &line[..at],
            None => line,
        };
        if line.is_empty() || line.ends_with(':') {
            continue;
        }
        let (name, path) = match line.split_once(" => ") {
            Some((name, path)) => (name.to_string(), Some(PathBuf::from(path))),
            None if line.starts_with('/') => (line.to_string(), Some(PathBuf::from(line))),
            None => (line.to_string(), None),
        };
        let path = path.map(|p| fs::canonicalize(&p).unwrap_or(p));
        libraries.push((name, path));
    }
    libraries
}

/// The canonical paths of `paths`, as a set.
pub fn canonical_set<'a>(paths: impl IntoIterator<Item = &'a Path>) -> BTreeSet<PathBuf> {
    paths
        .into_iter()
        .map(|p| fs::canonicalize(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

/// Whether a C compiler is here; if not, the check says so and skips.
pub fn have_cc() -> bool {
    let ok = Command::new("cc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        workshop::skip("needs a C compiler: apt-get install gcc");
    }
    ok
}

/// Runs `cc` with `args` in `dir`, failing the check with its output if
/// it fails.
pub fn cc(dir: &Path, args: &[&str]) {
    let output = Command::new("cc")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running cc");
    assert!(
        output.status.success(),
        "cc {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// In `dir`: `lib/libfoo.so.1.0` (soname `libfoo.so.1`, with the links
/// `libfoo.so.1` and `libfoo.so` to it) and `app`, which needs it and
/// finds it through `DT_RUNPATH` `$ORIGIN/lib`, as a program that ships its
/// own libraries does. `extra` are more linker flags for `app`.
pub fn app_with_private_library(dir: &Path, extra: &[&str]) {
    fs::create_dir_all(dir.join("lib")).unwrap();
    fs::write(dir.join("foo.c"), "int foo(void) { return 42; }\n").unwrap();
    fs::write(
        dir.join("app.c"),
        "#include <stdio.h>\nint foo(void);\nint main(void) { printf(\"%d\\n\", foo()); return 0; }\n",
    )
    .unwrap();
    cc(
        dir,
        &[
            "-shared",
            "-fPIC",
            "-Wl,-soname,libfoo.so.1",
            "-o",
            "lib/libfoo.so.1.0",
            "foo.c",
        ],
    );
    std::os::unix::fs::symlink("libfoo.so.1.0", dir.join("lib/libfoo.so.1")).unwrap();
    std::os::unix::fs::symlink("libfoo.so.1", dir.join("lib/libfoo.so")).unwrap();
    let mut args = vec![
        "-o",
        "app",
        "app.c",
        "-Llib",
        "-lfoo",
        "-Wl,-rpath,$ORIGIN/lib",
    ];
    args.extend_from_slice(extra);
    cc(dir, &args);
}
