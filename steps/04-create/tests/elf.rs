//! Reading ELF files: the header, the interpreter and the dynamic section
//! of real binaries of this machine, files that are not what we read, and
//! broken ones (cut short, or pointing past their end), which must be
//! errors naming the file, never panics.

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
    check_malformed(&path, "program header table", ELF_FILES);
    // A table that starts inside the file but has more entries than fit.
    let mut bytes = tiny_elf();
    put_u16(&mut bytes, 56, u16::MAX);
    let path = write(dir.path(), "many-program-headers", &bytes);
    check_malformed(&path, "program header table", ELF_FILES);
    // `read` checks the table's size before it calls
    // `parse_program_headers`; given too few bytes, that refuses them too.
    let header = elf::Header {
        machine: host_machine(),
        phoff: 64,
        phnum: 3,
    };
    let table = &tiny_elf()[64..64 + 2 * elf::PROGRAM_HEADER_SIZE + 20];
    let result = elf::parse_program_headers(&path, &header, table);
    check!(
        matches!(&result, Err(Error::Malformed { path: named, .. }) if *named == path),
        expected = "Error::Malformed naming the file for 3 program headers in 132 bytes",
        got = result,
        read = ELF_FILES,
    );
}

// A small ELF file made here, so that the checks below can break one field
// at a time at offsets they know, the same on every machine.
const PHDRS: usize = elf::HEADER_SIZE;
const INTERP: usize = PHDRS + 3 * elf::PROGRAM_HEADER_SIZE;
const INTERP_PATH: &[u8] = b"/lib/ld-tiny.so.1\0";
const DYNAMIC: usize = INTERP + INTERP_PATH.len();
const STRTAB: usize = DYNAMIC + 4 * elf::DYNAMIC_ENTRY_SIZE;
const STRINGS: &[u8] = b"\0libtiny.so.1\0";
const END: usize = STRTAB + STRINGS.len();
/// Where the file's only `PT_LOAD` puts it in memory.
const BASE: u64 = 0x40_0000;

/// The offset of field `at` of program header `index` of [`tiny_elf`]:
/// 0 is `PT_LOAD`, 1 `PT_INTERP`, 2 `PT_DYNAMIC`.
fn phdr(index: usize, at: usize) -> usize {
    PHDRS + index * elf::PROGRAM_HEADER_SIZE + at
}

/// The offset of the value of dynamic entry `index` of [`tiny_elf`]: 0 is
/// `DT_NEEDED`, 1 `DT_STRTAB`, 2 `DT_STRSZ`, then `DT_NULL`.
fn dynamic_value(index: usize) -> usize {
    DYNAMIC + index * elf::DYNAMIC_ENTRY_SIZE + 8
}

/// A 64-bit little-endian ELF program for this machine, as small as one
/// can be for `read`: the header, three program headers (`PT_LOAD` of the
/// whole file, `PT_INTERP`, `PT_DYNAMIC`), the interpreter's path, a
/// dynamic section needing `libtiny.so.1`, and its string table.
fn tiny_elf() -> Vec<u8> {
    let mut bytes = vec![0; END];
    bytes[..4].copy_from_slice(&elf::MAGIC);
    bytes[4] = 2; // 64-bit
    bytes[5] = 1; // little-endian
    bytes[6] = 1; // version
    let machine = match host_machine() {
        Machine::X86_64 => 62,
        Machine::Aarch64 => 183,
        Machine::Other(value) => value,
    };
    put_u16(&mut bytes, 18, machine);
    put_u64(&mut bytes, 32, PHDRS as u64);
    put_u16(&mut bytes, 54, elf::PROGRAM_HEADER_SIZE as u16);
    put_u16(&mut bytes, 56, 3);
    let segments = [
        (elf::PT_LOAD, 0, END),
        (elf::PT_INTERP, INTERP, INTERP_PATH.len()),
        (elf::PT_DYNAMIC, DYNAMIC, STRTAB - DYNAMIC),
    ];
    for (index, (kind, offset, size)) in segments.into_iter().enumerate() {
        put_u32(&mut bytes, phdr(index, 0), kind);
        put_u64(&mut bytes, phdr(index, 8), offset as u64);
        put_u64(&mut bytes, phdr(index, 16), BASE + offset as u64);
        put_u64(&mut bytes, phdr(index, 32), size as u64);
    }
    bytes[INTERP..DYNAMIC].copy_from_slice(INTERP_PATH);
    let entries = [
        (elf::DT_NEEDED, 1),
        (elf::DT_STRTAB, BASE + STRTAB as u64),
        (elf::DT_STRSZ, STRINGS.len() as u64),
        (elf::DT_NULL, 0),
    ];
    for (index, (tag, value)) in entries.into_iter().enumerate() {
        put_u64(&mut bytes, dynamic_value(index) - 8, tag);
        put_u64(&mut bytes, dynamic_value(index), value);
    }
    bytes[STRTAB..].copy_from_slice(STRINGS);
    bytes
}

fn put_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// Writes `bytes` to `name` in `dir`.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// Checks that reading `path` is `Error::Malformed` naming the file, with a
/// reason that mentions `about`: what is wrong.
fn check_malformed(path: &Path, about: &str, read: &str) {
    match elf::read(path) {
        Err(Error::Malformed {
            path: named,
            reason,
        }) => {
            check_eq!(named, path, read = read, "the error names the file");
            check!(
                reason.contains(about),
                expected = format!("a reason that mentions {about:?}"),
                got = reason,
                read = read,
            );
        }
        other => workshop::fail(
            format!("Error::Malformed ({about}) for {}", path.display()),
            format!("{other:?}"),
            read,
        ),
    }
}

#[test]
fn a_hand_made_elf_file_reads_as_made() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "tiny", &tiny_elf());
    let tiny = read(path.to_str().unwrap());
    check_eq!(
        tiny.interpreter,
        Some(PathBuf::from("/lib/ld-tiny.so.1")),
        read = ELF_FILES,
        "the PT_INTERP of a file whose fields the checks below break one at a time"
    );
    check_eq!(
        tiny.needed,
        ["libtiny.so.1"],
        read = DYNAMIC_SECTION,
        "the DT_NEEDED of a file whose fields the checks below break one at a time"
    );
}

#[test]
fn a_truncated_header_is_malformed_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = tiny_elf();
    // From just past the magic to one byte short of the whole header.
    for len in elf::MAGIC.len()..elf::HEADER_SIZE {
        let path = write(dir.path(), &format!("cut-at-{len}"), &bytes[..len]);
        check_malformed(&path, "header", ELF_FILES);
    }
}

#[test]
fn a_segment_running_past_the_end_is_malformed_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let breaks = [
        ("interp-offset", phdr(1, 8), END as u64 - 4, "PT_INTERP"),
        ("interp-size", phdr(1, 32), END as u64, "PT_INTERP"),
        ("interp-overflow", phdr(1, 8), u64::MAX - 2, "PT_INTERP"),
        ("dynamic-offset", phdr(2, 8), END as u64, "PT_DYNAMIC"),
        ("dynamic-size", phdr(2, 32), 1 << 40, "PT_DYNAMIC"),
    ];
    for (name, at, value, about) in breaks {
        let mut bytes = tiny_elf();
        put_u64(&mut bytes, at, value);
        check_malformed(&write(dir.path(), name, &bytes), about, ELF_FILES);
    }
    // `read` hands `parse_dynamic` whole entries; given a cut one, it
    // refuses it too.
    let path = dir.path().join("tiny");
    let cut = &tiny_elf()[DYNAMIC..DYNAMIC + elf::DYNAMIC_ENTRY_SIZE + 12];
    let result = elf::parse_dynamic(&path, cut);
    check!(
        matches!(&result, Err(Error::Malformed { path: named, .. }) if *named == path),
        expected = "Error::Malformed naming the file for a dynamic section cut inside an entry",
        got = result,
        read = DYNAMIC_SECTION,
    );
}

#[test]
fn a_string_table_past_the_end_is_malformed_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let breaks = [
        // DT_STRSZ: the table runs past the end of the file.
        ("strsz", dynamic_value(2), 1 << 20, "dynamic string table"),
        // DT_STRTAB: an address no PT_LOAD maps, so no place in the file.
        ("strtab", dynamic_value(1), BASE + END as u64, "DT_STRTAB"),
        // DT_NEEDED: a name past the end of the table.
        (
            "needed",
            dynamic_value(0),
            STRINGS.len() as u64,
            "string table",
        ),
    ];
    for (name, at, value, about) in breaks {
        let mut bytes = tiny_elf();
        put_u64(&mut bytes, at, value);
        check_malformed(&write(dir.path(), name, &bytes), about, DYNAMIC_SECTION);
    }
}

#[test]
fn a_binary_cut_anywhere_is_an_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut");
    // A static binary if there is one, a dynamically linked one, and this
    // check's own executable (a static PIE, see .cargo/config.toml).
    let binaries: Vec<PathBuf> = [PathBuf::from("/bin/busybox"), PathBuf::from("/bin/ls")]
        .into_iter()
        .filter(|p| p.exists())
        .chain(std::env::current_exe().ok())
        .collect();
    for binary in binaries {
        let bytes = fs::read(&binary).unwrap();
        for len in (0..=8192.min(bytes.len())).step_by(64) {
            fs::write(&path, &bytes[..len]).unwrap();
            let result = std::panic::catch_unwind(|| elf::read(&path)).unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic");
                workshop::fail(
                    "an error or an Elf, never a panic",
                    format!("{message}, reading {} cut to {len} bytes", binary.display()),
                    ELF_FILES,
                )
            });
            check!(
                match &result {
                    Ok(_) => true,
                    Err(
                        Error::Malformed { path: named, .. } | Error::NotElf { path: named, .. },
                    ) => *named == path,
                    Err(_) => false,
                },
                expected = format!(
                    "an Elf, or Error::Malformed or Error::NotElf naming the file, for {} cut to {len} bytes",
                    binary.display()
                ),
                got = result,
                read = ELF_FILES,
            );
        }
    }
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
