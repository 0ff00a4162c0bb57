//! Building a root filesystem from host binaries: what lands where, that
//! every link and library resolves inside it, and that its programs run
//! there (as root, in a chroot).

mod common;

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use common::{COPYING_WITH_SYMLINKS, ERRORS, FINDING_LIBRARIES, app_with_private_library, have_cc};
use step_04_create::elf;
use step_04_create::error::Error;
use step_04_create::resolve::default_dirs;
use step_04_create::rootfs::{BinarySpec, Built, build, find_binary, parse_add};
use tempfile::TempDir;
use workshop::{check, check_eq};

/// `binaries` built into `root` under a fresh temporary directory.
fn built(binaries: &[&str], adds: &[(PathBuf, PathBuf)]) -> (TempDir, PathBuf, Built) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let specs: Vec<BinarySpec> = binaries.iter().map(|b| BinarySpec::parse(b)).collect();
    let built = build(&specs, adds, &root).unwrap_or_else(|e| panic!("building {binaries:?}: {e}"));
    (dir, root, built)
}

/// Where `path` ends up inside `root`, following every link as if `root`
/// were `/` (the last component too), or `None` if it does not exist.
/// An absolute link starts again at `root`, `..` stops at it: nothing can
/// lead outside.
fn resolve_inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut pending: Vec<OsString> = components_reversed(path);
    let mut current = PathBuf::new();
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            current.pop();
            continue;
        }
        let candidate = root.join(&current).join(&name);
        let meta = fs::symlink_metadata(&candidate).ok()?;
        if meta.file_type().is_symlink() {
            links += 1;
            assert!(links < 40, "a symlink loop at {}", candidate.display());
            let target = fs::read_link(&candidate).unwrap();
            if target.is_absolute() {
                current.clear();
            }
            pending.extend(components_reversed(&target));
        } else {
            current.push(name);
        }
    }
    Some(root.join(current))
}

fn components_reversed(path: &Path) -> Vec<OsString> {
    path.components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

/// Whether `path` resolves inside `root` to a regular file.
fn is_file_inside(root: &Path, path: &Path) -> bool {
    resolve_inside(root, path).is_some_and(|p| p.is_file())
}

#[test]
fn bash_and_ls_resolve_inside_the_root() {
    let (_dir, root, built) = built(&["bash", "ls"], &[]);
    let mut report = vec![
        format!("default command: {:?}", built.default_command),
        format!("env: {:?}", built.env),
    ];
    for resolved in &built.binaries {
        let binary = &resolved.binary.path;
        report.push(format!("{}: {}", binary.display(), inside(&root, binary)));
        if let Some(interpreter) = &resolved.binary.interpreter {
            report.push(format!(
                "  interpreter {}: {}",
                interpreter.display(),
                inside(&root, interpreter)
            ));
        }
        for library in &resolved.libraries {
            report.push(format!(
                "  {}: {}",
                library.name,
                inside(&root, &library.path)
            ));
        }
    }
    insta::assert_snapshot!(report.join("\n"));
}

fn inside(root: &Path, path: &Path) -> &'static str {
    if is_file_inside(root, path) {
        "in the root"
    } else {
        "MISSING from the root"
    }
}

#[test]
fn every_link_on_the_way_is_the_hosts_link() {
    let (_dir, root, built) = built(&["bash", "ls"], &[]);
    check!(
        built
            .files
            .iter()
            .any(|f| fs::symlink_metadata(f).is_ok_and(|m| m.file_type().is_symlink())),
        expected = "some of the placed paths to be symbolic links on the host (/lib64, sonames)",
        got = built.files,
        read = COPYING_WITH_SYMLINKS,
    );
    for file in &built.files {
        let host = fs::symlink_metadata(file).unwrap();
        let in_root = root.join(file.strip_prefix("/").unwrap());
        let copy = fs::symlink_metadata(&in_root)
            .unwrap_or_else(|e| panic!("{} was placed but is not there: {e}", file.display()));
        if host.file_type().is_symlink() {
            check_eq!(
                fs::read_link(&in_root).ok(),
                fs::read_link(file).ok(),
                read = COPYING_WITH_SYMLINKS,
                "{} is the same symbolic link as on the host",
                file.display()
            );
        } else {
            check_eq!(
                (
                    copy.is_file(),
                    copy.len(),
                    copy.permissions().mode() & 0o7777
                ),
                (true, host.len(), host.permissions().mode() & 0o7777),
                read = COPYING_WITH_SYMLINKS,
                "{}: a file of the same size and mode as on the host",
                file.display()
            );
        }
    }
}

#[test]
fn every_needed_library_is_found_by_the_loader_in_the_root() {
    let (_dir, root, built) = built(&["bash", "ls"], &[]);
    let elf_files: Vec<&PathBuf> = built
        .files
        .iter()
        .filter(|f| root.join(f.strip_prefix("/").unwrap()).is_file())
        .collect();
    for file in elf_files {
        let object = elf::read(&root.join(file.strip_prefix("/").unwrap())).unwrap();
        if let Some(interpreter) = &object.interpreter {
            check!(
                is_file_inside(&root, interpreter),
                expected = format!(
                    "{} (the interpreter of {}) inside the root",
                    interpreter.display(),
                    file.display()
                ),
                got = built.files,
                read = COPYING_WITH_SYMLINKS,
            );
        }
        // The image has no ld.so.cache: its loader looks in the default
        // directories only.
        let dirs = default_dirs(object.machine);
        for needed in &object.needed {
            check!(
                dirs.iter()
                    .any(|dir| is_file_inside(&root, &dir.join(needed))),
                expected = format!(
                    "{needed} (needed by {}) in a default directory of the root",
                    file.display()
                ),
                got = built.files,
                read = FINDING_LIBRARIES,
            );
        }
    }
}

#[test]
fn the_default_command_is_the_first_binary() {
    let (_dir, root, built) = built(&["/bin/ls", "bash"], &[]);
    check_eq!(
        built.default_command,
        vec!["/bin/ls".to_string()],
        read = COPYING_WITH_SYMLINKS
    );
    check!(
        built.env.iter().any(|e| e.starts_with("PATH=/bin:")),
        expected = "a PATH with /bin (where ls was given) first, then bash's directory",
        got = built.env,
        read = COPYING_WITH_SYMLINKS,
    );
    check!(
        is_file_inside(&root, Path::new("/bin/ls")),
        expected = "/bin/ls to run in the image by the path it was given",
        got = built.files,
        read = COPYING_WITH_SYMLINKS,
    );
}

/// Runs `program args` with `root` as its root directory; its stdout.
fn run_in(root: &Path, program: &str, args: &[&str]) -> String {
    run_in_with(root, program, args, &[])
}

/// [`run_in`] with more environment variables.
fn run_in_with(root: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let root = root.to_path_buf();
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied());
    // SAFETY: between fork and exec the closure only makes two syscalls.
    unsafe {
        command.pre_exec(move || {
            std::os::unix::fs::chroot(&root)?;
            std::env::set_current_dir("/")
        });
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {program} in the root: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} in the root failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn is_root() -> bool {
    let root = workshop::privileges() == Ok(workshop::Privileges::Root);
    if !root {
        workshop::skip("needs root (chroot)");
    }
    root
}

#[test]
fn bash_and_ls_run_in_the_root() {
    let (_dir, root, built) = built(&["bash", "ls"], &[]);
    if !is_root() {
        return;
    }
    let listing = run_in(&root, "/usr/bin/ls", &["/"]);
    check!(
        listing.lines().any(|l| l == "usr"),
        expected = "ls / in the image to list usr",
        got = listing,
        read = COPYING_WITH_SYMLINKS,
    );
    let word = workshop::random_word();
    let echoed = run_in(
        &root,
        &built.default_command[0],
        &["-c", &format!("echo {word}")],
    );
    check_eq!(
        echoed.trim(),
        word.as_str(),
        read = COPYING_WITH_SYMLINKS,
        "bash -c 'echo {word}' in the image"
    );
}

#[test]
fn a_program_with_its_own_library_runs_in_the_root() {
    if !have_cc() {
        return;
    }
    let app_dir = tempfile::tempdir().unwrap();
    app_with_private_library(app_dir.path(), &[]);
    let app = fs::canonicalize(app_dir.path().join("app")).unwrap();
    let (_dir, root, built) = built(&[app.to_str().unwrap()], &[]);
    let soname = app.parent().unwrap().join("lib/libfoo.so.1");
    check!(
        built.files.contains(&soname)
            && built
                .files
                .contains(&soname.with_file_name("libfoo.so.1.0")),
        expected = "the soname link libfoo.so.1 and the file libfoo.so.1.0 it names",
        got = built.files,
        read = COPYING_WITH_SYMLINKS,
    );
    check!(
        !built.files.contains(&soname.with_file_name("libfoo.so")),
        expected = "no libfoo.so: only the linker needs the development link",
        got = built.files,
        read = COPYING_WITH_SYMLINKS,
    );
    if !is_root() {
        return;
    }
    // The loader learns the program's `$ORIGIN` from /proc/self/exe, and a
    // bare chroot has no /proc (`dockerless run` mounts one). Without it,
    // glibc falls back to LD_ORIGIN_PATH.
    let origin = app.parent().unwrap().to_str().unwrap();
    check_eq!(
        run_in_with(
            &root,
            app.to_str().unwrap(),
            &[],
            &[("LD_ORIGIN_PATH", origin)]
        )
        .trim(),
        "42",
        read = COPYING_WITH_SYMLINKS
    );
}

#[test]
fn a_static_binary_is_copied_alone() {
    if !Path::new("/bin/busybox").exists() {
        workshop::skip("needs a static binary: apt-get install busybox-static");
        return;
    }
    let (_dir, root, built) = built(&["/bin/busybox"], &[]);
    let files: Vec<&PathBuf> = built
        .files
        .iter()
        .filter(|f| root.join(f.strip_prefix("/").unwrap()).is_file())
        .collect();
    check_eq!(
        files,
        vec![&fs::canonicalize("/bin/busybox").unwrap()],
        read = FINDING_LIBRARIES,
        "the one file of an image of a static binary"
    );
    if !is_root() {
        return;
    }
    let word = workshop::random_word();
    check_eq!(
        run_in(&root, "/bin/busybox", &["echo", &word]).trim(),
        word.as_str(),
        read = FINDING_LIBRARIES
    );
}

#[test]
fn added_files_land_inside_the_root_through_its_links() {
    let src = tempfile::tempdir().unwrap();
    let s = src.path();
    fs::create_dir_all(s.join("etc/app")).unwrap();
    fs::write(s.join("etc/app/app.conf"), "answer = 42\n").unwrap();
    std::os::unix::fs::symlink("app.conf", s.join("etc/app/current")).unwrap();
    fs::write(s.join("notes.txt"), "hello\n").unwrap();
    let adds = vec![
        parse_add(&format!("{}:/etc", s.join("etc").display())).unwrap(),
        parse_add(&format!("{}:/lib/notes.txt", s.join("notes.txt").display())).unwrap(),
    ];
    for bad in ["./etc", ":/etc", "./etc:etc"] {
        check!(
            matches!(parse_add(bad), Err(Error::Add { .. })),
            expected = format!("Error::Add for {bad:?}: --add takes SRC:DEST, DEST absolute"),
            got = parse_add(bad),
            read = ERRORS,
        );
    }
    let (_dir, root, built) = built(&["ls"], &adds);
    check_eq!(
        fs::read_to_string(root.join("etc/app/app.conf"))
            .ok()
            .as_deref(),
        Some("answer = 42\n"),
        read = COPYING_WITH_SYMLINKS,
        "a directory tree added at /etc"
    );
    check_eq!(
        fs::read_link(root.join("etc/app/current")).ok(),
        Some(PathBuf::from("app.conf")),
        read = COPYING_WITH_SYMLINKS,
        "a link inside an added tree stays a link"
    );
    let lib_is_link = fs::symlink_metadata("/lib").is_ok_and(|m| m.file_type().is_symlink());
    check!(
        is_file_inside(&root, Path::new("/lib/notes.txt"))
            && fs::symlink_metadata(root.join("lib"))
                .unwrap()
                .file_type()
                .is_symlink()
                == lib_is_link,
        expected = "/lib/notes.txt in the image, written through the image's /lib (a link if the host's is)",
        got = built.files,
        read = COPYING_WITH_SYMLINKS,
    );
}

#[test]
fn a_binary_that_is_not_in_path_is_named() {
    let error = find_binary(
        &BinarySpec::parse("no-such-program"),
        "/usr/bin:/bin".as_ref(),
    );
    match error {
        Err(error @ Error::BinaryNotFound { .. }) => {
            let message = error.to_string();
            check!(
                message.contains("no-such-program") && message.contains("/usr/bin:/bin"),
                expected = "a message naming the program and the PATH searched",
                got = message,
                read = ERRORS,
            );
        }
        other => workshop::fail("Error::BinaryNotFound", format!("{other:?}"), ERRORS),
    }
    check_eq!(
        find_binary(&BinarySpec::parse("ls"), "/nonexistent::/usr/bin".as_ref()).ok(),
        Some(PathBuf::from("/usr/bin/ls")),
        read = ERRORS,
        "ls found in the second directory of PATH"
    );
}

#[test]
fn a_script_is_refused_with_advice() {
    let script = ["/usr/bin/ldd", "/usr/bin/zgrep"]
        .into_iter()
        .map(Path::new)
        .find(|p| fs::read(p).is_ok_and(|b| b.starts_with(b"#!")));
    let Some(script) = script else {
        workshop::skip("needs a shell script in /usr/bin: apt-get install libc-bin");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let result = build(
        &[BinarySpec::Path(script.to_path_buf())],
        &[],
        &dir.path().join("root"),
    );
    let message = result.map(|_| ()).map_err(|e| e.to_string());
    check!(
        message
            .as_ref()
            .is_err_and(|m| m.contains(script.to_str().unwrap())
                && m.contains("script")
                && m.contains("--add")),
        expected = format!(
            "an error saying {} is a script, suggesting --add",
            script.display()
        ),
        got = message,
        read = ERRORS,
    );
}

#[test]
fn a_missing_library_stops_the_build() {
    if !have_cc() {
        return;
    }
    let app_dir = tempfile::tempdir().unwrap();
    app_with_private_library(app_dir.path(), &[]);
    fs::remove_file(app_dir.path().join("lib/libfoo.so.1.0")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = app_dir.path().join("app");
    let result = build(&[BinarySpec::Path(app)], &[], &dir.path().join("root"));
    check!(
        matches!(&result, Err(Error::LibraryNotFound { library, .. }) if library == "libfoo.so.1"),
        expected = "Error::LibraryNotFound for libfoo.so.1 (its link dangles)",
        got = result.map(|b| b.files),
        read = ERRORS,
    );
}

#[test]
fn adding_the_store_itself_or_a_fifo_is_refused() {
    let read = "step-04-create.md#errors";
    let src = tempfile::tempdir().unwrap();
    let root = src.path().join("store/.tmp/rootfs");
    std::fs::create_dir_all(&root).unwrap();
    let error = step_04_create::build(
        &["/bin/true".into()],
        &[(src.path().to_path_buf(), PathBuf::from("/data"))],
        &root,
    )
    .unwrap_err();
    workshop::check!(
        matches!(error, step_04_create::Error::CannotAdd { .. }),
        expected = "CannotAdd: the source holds the image being built",
        got = error,
        read = read,
    );
    let fifo = src.path().join("pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let other = tempfile::tempdir().unwrap();
    let error = step_04_create::build(
        &["/bin/true".into()],
        &[(fifo, PathBuf::from("/pipe"))],
        &other.path().join("rootfs"),
    )
    .unwrap_err();
    workshop::check!(
        matches!(error, step_04_create::Error::CannotAdd { .. }),
        expected = "CannotAdd: a FIFO cannot be copied",
        got = error,
        read = read,
    );
}
