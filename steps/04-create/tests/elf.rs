//! Reading ELF files: the header, the interpreter and the dynamic section
//! of real binaries of this machine, and files that are not what we read.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{DYNAMIC_SECTION, ELF_FILES, ERRORS};
use step_04_create::elf::{self, Machine, PT_LOAD, ProgramHeader};
use step_04_create::error::Error;
use workshop::{check, check_eq};

/// This machine's processor, as `e_machine` names it.
fn host_machine() -> Machine {
    match std::env::consts::ARCH {
        "x86_64" => Machine::X86_64,
        "aarch64" => Machine::Aarch64,
        other => panic!("these checks run on x86_64 or aarch64, not {other}"),
    }
}

fn read(path: &str) -> elf::Elf {
    elf::read(Path::new(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

#[test]
fn ls_names_the_loader_and_its_libraries() {
    let ls = read("/bin/ls");
    check_eq!(
        ls.machine,
        host_machine(),
        read = ELF_FILES,
        "e_machine of /bin/ls"
    );
    check!(
        ls.interpreter
            .as_ref()
            .is_some_and(|i| i.to_string_lossy().contains("ld-linux")),
        expected = "PT_INTERP naming the dynamic loader, such as /lib64/ld-linux-x86-64.so.2",
        got = ls.interpreter,
        read = ELF_FILES,
    );
    check!(
        ls.needed.iter().any(|n| n == "libc.so.6"),
        expected = "DT_NEEDED entries of /bin/ls including libc.so.6",
        got = ls.needed,
        read = DYNAMIC_SECTION,
    );
    check_eq!(
        ls.soname,
        None,
        read = DYNAMIC_SECTION,
        "a program has no DT_SONAME"
    );
}

#[test]
fn bash_needs_what_readelf_says() {
    let bash = read("/bin/bash");
    let Some(expected) = readelf_needed(Path::new("/bin/bash")) else {
        workshop::skip("needs readelf to compare with: apt-get install binutils");
        return;
    };
    check_eq!(
        bash.needed,
        expected,
        read = DYNAMIC_SECTION,
        "the DT_NEEDED entries of /bin/bash, in order, as `readelf -d` lists them"
    );
}

/// The `(NEEDED)` names of `readelf -d`, in order.
fn readelf_needed(path: &Path) -> Option<Vec<String>> {
    let output = std::process::Command::new("readelf")
        .arg("-d")
        .arg(path)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    Some(
        text.lines()
            .filter(|line| line.contains("(NEEDED)"))
            .filter_map(|line| Some(line.split_once('[')?.1.trim_end_matches(']').to_string()))
            .collect(),
    )
}

#[test]
fn a_library_answers_to_its_soname() {
    let bash = read("/bin/bash");
    let interpreter = bash.interpreter.expect("bash is dynamically linked");
    let loader = elf::read(&interpreter).expect("the loader is ELF too");
    check!(
        loader
            .soname
            .as_deref()
            .is_some_and(|s| interpreter.ends_with(s)),
        expected = format!(
            "the loader's DT_SONAME to be the file name of {}",
            interpreter.display()
        ),
        got = loader.soname,
        read = DYNAMIC_SECTION,
    );
    check!(
        loader.interpreter.is_none(),
        expected = "no PT_INTERP in the loader itself",
        got = loader.interpreter,
        read = ELF_FILES,
    );
}

#[test]
fn a_static_binary_needs_nothing() {
    if !Path::new("/bin/busybox").exists() {
        workshop::skip("needs a static binary: apt-get install busybox-static");
        return;
    }
    let busybox = read("/bin/busybox");
    if busybox.interpreter.is_some() {
        workshop::skip("/bin/busybox is dynamically linked here: apt-get install busybox-static");
        return;
    }
    check!(
        busybox.is_static(),
        expected = "no interpreter and no DT_NEEDED in static /bin/busybox",
        got = busybox,
        read = ELF_FILES,
    );
    check_eq!(busybox.machine, host_machine(), read = ELF_FILES);
}

#[test]
fn an_address_is_found_in_the_segment_that_loads_it() {
    let load = |offset, vaddr, filesz| ProgramHeader {
        kind: PT_LOAD,
        offset,
        vaddr,
        filesz,
    };
    let segments = [
        ProgramHeader {
            kind: elf::PT_DYNAMIC,
            offset: 0x100,
            vaddr: 0x100,
            filesz: 0x1000,
        },
        load(0, 0, 0x800),
        load(0x2d98, 0x3d98, 0x200),
    ];
    check_eq!(
        elf::file_offset(&segments, 0x400),
        Some(0x400),
        read = DYNAMIC_SECTION
    );
    check_eq!(
        elf::file_offset(&segments, 0x3e00),
        Some(0x2e00),
        read = DYNAMIC_SECTION,
        "an address in the second PT_LOAD: address - p_vaddr + p_offset"
    );
    check_eq!(
        elf::file_offset(&segments, 0x3d98 + 0x200),
        None,
        read = DYNAMIC_SECTION,
        "the first address past a segment's file bytes"
    );
    check_eq!(
        elf::file_offset(&segments, 0x900),
        None,
        read = DYNAMIC_SECTION,
        "an address only a non-PT_LOAD segment covers"
    );
}

/// A copy of `/bin/ls` in a temporary directory with bytes `at` changed.
fn patched_ls(dir: &Path, patches: &[(usize, u8)]) -> PathBuf {
    let mut bytes = fs::read("/bin/ls").unwrap();
    for &(at, value) in patches {
        bytes[at] = value;
    }
    let path = dir.join("patched");
    fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn only_64_bit_little_endian_elf_is_read() {
    let dir = tempfile::tempdir().unwrap();
    for (patches, kind) in [(vec![(4, 1)], "32-bit"), (vec![(5, 2)], "big-endian")] {
        let path = patched_ls(dir.path(), &patches);
        match elf::read(&path) {
            Err(Error::UnsupportedElf {
                path: named,
                kind: got,
            }) => {
                check_eq!(named, path, read = ELF_FILES, "the error names the file");
                check_eq!(got, kind, read = ELF_FILES);
            }
            other => workshop::fail(
                format!("Error::UnsupportedElf for {kind} ELF"),
                format!("{other:?}"),
                ELF_FILES,
            ),
        }
    }
}

#[test]
fn a_header_pointing_past_the_end_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // e_phoff (at 32) far beyond the end of the file.
    let path = patched_ls(dir.path(), &[(38, 0x7f)]);
    let result = elf::read(&path);
    check!(
        matches!(&result, Err(Error::Malformed { .. })),
        expected = "Error::Malformed for a program header table past the end of the file",
        got = result,
        read = ELF_FILES,
    );
}

#[test]
fn a_script_is_not_elf_and_the_error_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hello.sh");
    fs::write(&script, "#!/bin/sh\necho hello\n").unwrap();
    let message = match elf::read(&script) {
        Err(error @ Error::NotElf { .. }) => error.to_string(),
        other => workshop::fail("Error::NotElf", format!("{other:?}"), ERRORS),
    };
    check!(
        message.contains("/bin/sh") && message.contains("--add") && message.contains("hello.sh"),
        expected = "a message naming the script, its interpreter /bin/sh and --add",
        got = message,
        read = ERRORS,
    );
    let empty = dir.path().join("empty");
    fs::write(&empty, "").unwrap();
    let message = elf::read(&empty).map_err(|e| e.to_string());
    check!(
        message.as_ref().is_err_and(|m| m.contains("empty")),
        expected = "an error saying the file is empty",
        got = message,
        read = ERRORS,
    );
}

#[test]
fn a_segment_placed_past_the_end_of_the_address_space_is_no_offset() {
    use step_04_create::elf::{PT_LOAD, ProgramHeader, file_offset};
    let hostile = ProgramHeader {
        kind: PT_LOAD,
        offset: u64::MAX,
        vaddr: 0x1000,
        filesz: 0x100,
    };
    workshop::check_eq!(
        file_offset(&[hostile], 0x1010),
        None,
        read = "step-04-create.md#the-dynamic-section",
        "an offset that would overflow is refused, not wrapped or panicked on"
    );
}
