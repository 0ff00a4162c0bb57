//! Finding libraries like the dynamic loader: compared with `ldd` on this
//! machine's binaries, and on programs built here with their own libraries
//! beside them (`$ORIGIN`, `DT_RUNPATH`, `DT_RPATH`).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use common::{
    ERRORS, FINDING_LIBRARIES, LDD_AND_THE_VDSO, ORIGIN_AND_RUNPATH, app_with_private_library,
    canonical_set, have_cc, ldd,
};
use step_04_create::elf::{self, Elf, Machine};
use step_04_create::error::Error;
use step_04_create::resolve::{self, expand_origin, glob, ld_so_conf, search_order};
use workshop::{check, check_eq};

/// Dynamically linked programs most Debian and Ubuntu machines have.
const HOST_BINARIES: &[&str] = &[
    "/bin/ls",
    "/bin/bash",
    "/usr/bin/ssh",
    "/usr/bin/git",
    "/usr/local/bin/git",
    "/usr/bin/curl",
    "/usr/bin/python3",
    "/usr/bin/perl",
];

#[test]
fn the_same_libraries_as_ldd() {
    let mut compared = Vec::new();
    for binary in HOST_BINARIES.iter().map(Path::new).filter(|b| b.exists()) {
        let Some(ldd) = ldd(binary) else {
            workshop::skip("needs ldd (the libc-bin package)");
            return;
        };
        let theirs: BTreeSet<PathBuf> = ldd.iter().filter_map(|(_, path)| path.clone()).collect();
        let resolved = resolve::resolve(binary).unwrap_or_else(|e| panic!("{e}"));
        let ours = canonical_set(resolved.paths().into_iter().skip(1));
        check_eq!(
            ours,
            theirs,
            read = FINDING_LIBRARIES,
            "the libraries of {} (canonical paths), ours then ldd's",
            binary.display()
        );
        compared.push(binary);
    }
    check!(
        compared.len() >= 3,
        expected = "at least three host binaries to compare with ldd",
        got = compared,
        read = FINDING_LIBRARIES,
    );
}

#[test]
fn ldd_lists_the_vdso_which_no_file_holds() {
    let Some(ldd) = ldd(Path::new("/bin/ls")) else {
        workshop::skip("needs ldd (the libc-bin package)");
        return;
    };
    let resolved = resolve::resolve(Path::new("/bin/ls")).unwrap();
    let ours: BTreeSet<&str> = resolved.libraries.iter().map(|l| l.name.as_str()).collect();
    // What ldd prints that the ELF file does not ask for: the vDSO, which
    // the kernel maps into every process, and the interpreter, by path.
    let only_ldd: Vec<&str> = ldd
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !ours.contains(name) && !name.starts_with('/'))
        .collect();
    check!(
        only_ldd
            .iter()
            .all(|name| name.starts_with("linux-vdso") || name.starts_with("linux-gate")),
        expected = "every library ldd lists, except the vDSO, among ours",
        got = only_ldd,
        read = LDD_AND_THE_VDSO,
    );
    check!(
        resolved
            .libraries
            .iter()
            .all(|l| !l.name.starts_with("linux-vdso")),
        expected = "no linux-vdso.so.1 in ours: no DT_NEEDED names it and no file holds it",
        got = ours,
        read = LDD_AND_THE_VDSO,
    );
}

#[test]
fn each_library_once_breadth_first() {
    let resolved = resolve::resolve(Path::new("/bin/ls")).unwrap();
    let names: Vec<&str> = resolved.libraries.iter().map(|l| l.name.as_str()).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    check_eq!(
        names.len(),
        unique.len(),
        read = FINDING_LIBRARIES,
        "each name once: {names:?}"
    );
    let ls = elf::read(Path::new("/bin/ls")).unwrap();
    check_eq!(
        names[..ls.needed.len()].to_vec(),
        ls.needed.iter().map(String::as_str).collect::<Vec<_>>(),
        read = FINDING_LIBRARIES,
        "breadth first: the program's own DT_NEEDED come first, in order"
    );
    check!(
        !names.iter().any(|n| n.starts_with("ld-linux")),
        expected = "libc's DT_NEEDED on the loader to be met by the interpreter, already loaded",
        got = names,
        read = FINDING_LIBRARIES,
    );
}

#[test]
fn ld_so_conf_includes_are_followed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("conf.d")).unwrap();
    fs::write(
        d.join("ld.so.conf"),
        "# a comment\n/first\ninclude conf.d/*.conf\n\n/last # trailing comment\n/first\n",
    )
    .unwrap();
    fs::write(d.join("conf.d/b.conf"), "/b\n").unwrap();
    fs::write(d.join("conf.d/a.conf"), "/a1\n/a2\ninclude ../ld.so.conf\n").unwrap();
    fs::write(d.join("conf.d/not-conf.txt"), "/never\n").unwrap();
    fs::write(d.join("conf.d/.hidden.conf"), "/hidden\n").unwrap();
    let dirs = ld_so_conf(&d.join("ld.so.conf")).unwrap();
    let expected: Vec<PathBuf> = ["/first", "/a1", "/a2", "/last", "/b"]
        .iter()
        .map(PathBuf::from)
        .collect();
    check_eq!(
        dirs,
        expected,
        read = FINDING_LIBRARIES,
        "directories of ld.so.conf: includes in sorted order, each directory once, a loop stopped"
    );
    check_eq!(
        ld_so_conf(&d.join("missing.conf")).unwrap(),
        Vec::<PathBuf>::new(),
        read = FINDING_LIBRARIES,
        "no ld.so.conf, no directories"
    );
    check_eq!(
        glob(&d.join("conf.d/?.conf")).unwrap(),
        vec![d.join("conf.d/a.conf"), d.join("conf.d/b.conf")],
        read = FINDING_LIBRARIES
    );
}

#[test]
fn origin_is_the_directory_of_the_object() {
    let origin = Path::new("/opt/app/bin");
    for (entry, expected) in [
        ("$ORIGIN", "/opt/app/bin"),
        ("$ORIGIN/../lib", "/opt/app/bin/../lib"),
        ("${ORIGIN}/lib", "/opt/app/bin/lib"),
        ("/usr/lib/$ORIGIN", "/usr/lib//opt/app/bin"),
        ("/plain", "/plain"),
        ("$LIB/x", "$LIB/x"),
        ("$ORIGINAL/lib", "$ORIGINAL/lib"),
        ("$ORIGIN_X", "$ORIGIN_X"),
        ("$ORIGIN$ORIGIN", "/opt/app/bin/opt/app/bin"),
        ("cost$", "cost$"),
    ] {
        check_eq!(
            expand_origin(entry, origin),
            PathBuf::from(expected),
            read = ORIGIN_AND_RUNPATH,
            "{entry:?} for an object in {}",
            origin.display()
        );
    }
}

fn object(path: &str, rpath: Option<&str>, runpath: Option<&str>) -> Elf {
    Elf {
        path: PathBuf::from(path),
        machine: Machine::X86_64,
        interpreter: None,
        needed: Vec::new(),
        soname: None,
        rpath: rpath.map(str::to_string),
        runpath: runpath.map(str::to_string),
    }
}

fn paths(list: &[&str]) -> Vec<PathBuf> {
    list.iter().map(PathBuf::from).collect()
}

#[test]
fn rpath_then_runpath_then_the_system() {
    let system = paths(&["/lib", "/usr/lib"]);
    let program = object("/opt/a/bin/app", Some("$ORIGIN/../lib:/rp"), None);
    let library = object("/opt/a/lib/liba.so", Some("/lib-rpath"), None);
    check_eq!(
        search_order(&library, &[&program], &system),
        paths(&["/lib-rpath", "/opt/a/bin/../lib", "/rp", "/lib", "/usr/lib"]),
        read = ORIGIN_AND_RUNPATH,
        "a library without RUNPATH: its RPATH, its loaders' RPATH, then the system"
    );
    let with_runpath = object(
        "/opt/a/lib/libb.so",
        Some("/ignored"),
        Some("$ORIGIN/x:/usr/lib"),
    );
    check_eq!(
        search_order(&with_runpath, &[&program], &system),
        paths(&["/opt/a/lib/x", "/usr/lib", "/lib"]),
        read = ORIGIN_AND_RUNPATH,
        "a RUNPATH hides all RPATHs, its own and its loaders'; each directory once"
    );
    let runpath_program = object("/opt/b/app", Some("/hidden"), Some("/opt/b/lib"));
    let plain = object("/opt/b/lib/libc.so", None, None);
    check_eq!(
        search_order(&plain, &[&runpath_program], &system),
        paths(&["/lib", "/usr/lib"]),
        read = ORIGIN_AND_RUNPATH,
        "a loader's RUNPATH is its own: it is not searched for the libraries it loads"
    );
}

#[test]
fn origin_runpath_and_sonames_of_a_program_built_here() {
    if !have_cc() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    app_with_private_library(d, &[]);
    let app = elf::read(&d.join("app")).unwrap();
    check_eq!(
        (app.runpath.as_deref(), app.rpath.as_deref()),
        (Some("$ORIGIN/lib"), None),
        read = ORIGIN_AND_RUNPATH,
        "the linker writes -rpath as DT_RUNPATH (--enable-new-dtags)"
    );
    check_eq!(
        app.needed[0],
        "libfoo.so.1",
        read = ORIGIN_AND_RUNPATH,
        "the soname, not the file name"
    );
    let resolved = resolve::resolve(&d.join("app")).unwrap();
    let foo = &resolved.libraries[0];
    check_eq!(
        foo.path.clone(),
        d.join("lib/libfoo.so.1"),
        read = ORIGIN_AND_RUNPATH,
        "libfoo.so.1 found through $ORIGIN/lib"
    );
    let Some(ldd) = ldd(&d.join("app")) else {
        workshop::skip("needs ldd (the libc-bin package)");
        return;
    };
    let theirs: BTreeSet<PathBuf> = ldd.into_iter().filter_map(|(_, p)| p).collect();
    check_eq!(
        canonical_set(resolved.paths().into_iter().skip(1)),
        theirs,
        read = LDD_AND_THE_VDSO,
        "our libraries and ldd's for a program with $ORIGIN"
    );
}

#[test]
fn rpath_is_followed_when_there_is_no_runpath() {
    if !have_cc() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    app_with_private_library(dir.path(), &["-Wl,--disable-new-dtags"]);
    let resolved = resolve::resolve(&dir.path().join("app")).unwrap();
    check_eq!(
        resolved.binary.rpath.as_deref(),
        Some("$ORIGIN/lib"),
        read = ORIGIN_AND_RUNPATH,
        "--disable-new-dtags writes DT_RPATH"
    );
    check_eq!(
        resolved.libraries[0].path.clone(),
        dir.path().join("lib/libfoo.so.1"),
        read = ORIGIN_AND_RUNPATH
    );
}

#[test]
fn a_missing_library_is_named_with_who_needs_it_and_where_we_looked() {
    if !have_cc() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    app_with_private_library(d, &[]);
    fs::remove_file(d.join("lib/libfoo.so.1")).unwrap();
    match resolve::resolve(&d.join("app")) {
        Err(error @ Error::LibraryNotFound { .. }) => {
            let Error::LibraryNotFound {
                library,
                needed_by,
                searched,
            } = &error
            else {
                unreachable!()
            };
            check_eq!(library.as_str(), "libfoo.so.1", read = ERRORS);
            check_eq!(needed_by.clone(), d.join("app"), read = ERRORS);
            check_eq!(
                searched.first().cloned(),
                fs::canonicalize(d).ok().map(|d| d.join("lib")),
                read = ERRORS,
                "the first directory searched: $ORIGIN/lib"
            );
            let message = error.to_string();
            check!(
                message.contains("libfoo.so.1")
                    && message.contains("/app")
                    && message.contains("/lib"),
                expected = "a message naming the library, the program and the directories",
                got = message,
                read = ERRORS,
            );
        }
        other => workshop::fail("Error::LibraryNotFound", format!("{other:?}"), ERRORS),
    }
}

#[test]
fn a_library_for_another_class_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let libc = resolve::resolve(Path::new("/bin/ls"))
        .unwrap()
        .libraries
        .into_iter()
        .find(|l| l.name == "libc.so.6")
        .expect("ls needs libc");
    // A "32-bit libc" first in the search order, the real one second.
    fs::create_dir(d.join("lib32")).unwrap();
    let mut bytes = fs::read(&libc.path).unwrap();
    bytes[4] = 1;
    fs::write(d.join("lib32/libc.so.6"), bytes).unwrap();
    let real_dir = libc.path.parent().unwrap().to_path_buf();
    let found = resolve::find_library(
        "libc.so.6",
        &[d.join("lib32"), real_dir.clone()],
        libc.elf.machine,
    )
    .unwrap()
    .map(|e| e.path);
    check_eq!(
        found,
        Some(real_dir.join("libc.so.6")),
        read = FINDING_LIBRARIES,
        "a 32-bit libc.so.6 earlier in the search order is skipped, as ld.so skips it"
    );
}

/// A 64-bit ELF library of this machine, and its machine: the loader's
/// own file, which every dynamically linked program here uses.
fn a_host_library() -> Option<(PathBuf, Machine)> {
    let program = elf::read(Path::new("/bin/ls")).ok()?;
    let loader = program.interpreter?;
    let loader = fs::canonicalize(loader).ok()?;
    Some((loader, program.machine))
}

#[test]
fn a_needed_library_is_the_first_file_that_fits() {
    let Some((library, machine)) = a_host_library() else {
        workshop::skip("needs /bin/ls, dynamically linked");
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let (empty, text, found) = (
        temp.path().join("empty"),
        temp.path().join("text"),
        temp.path().join("found"),
    );
    for dir in [&empty, &text, &found] {
        fs::create_dir(dir).unwrap();
    }
    // A directory of that name is no library; the loader goes on.
    fs::create_dir(text.join("libwanted.so.1")).unwrap();
    // A 32-bit ELF file: the loader of a 64-bit program skips it.
    let mut elf32 = b"\x7fELF\x01\x01\x01".to_vec();
    elf32.resize(52, 0);
    fs::write(empty.join("libwanted.so.1"), elf32).unwrap();
    std::os::unix::fs::symlink(&library, found.join("libwanted.so.1")).unwrap();

    let dirs = [empty.clone(), text.clone(), found.clone()];
    let path_of = |name: &str, dirs: &[PathBuf]| {
        resolve::find_library(name, dirs, machine).map(|found| found.map(|elf| elf.path))
    };
    check_eq!(
        path_of("libwanted.so.1", &dirs).ok(),
        Some(Some(found.join("libwanted.so.1"))),
        read = FINDING_LIBRARIES,
        "the library found past a 32-bit file and a directory of the same name"
    );
    check_eq!(
        path_of("libmissing.so.1", &dirs).ok(),
        Some(None),
        read = FINDING_LIBRARIES,
        "a library in none of the directories"
    );
    let by_path = library.display().to_string();
    check_eq!(
        path_of(&by_path, &[]).ok(),
        Some(Some(library.clone())),
        read = FINDING_LIBRARIES,
        "a needed name with a `/`, taken as a path"
    );
}
