//! Reading ELF files: just enough of the format to know what a binary
//! needs before it can run.
//!
//! A dynamically linked program does not run on its own. The kernel reads
//! its *program headers*, finds a `PT_INTERP` segment naming the dynamic
//! loader (`/lib64/ld-linux-x86-64.so.2`), and starts that instead. The
//! loader reads the program's *dynamic section* (`PT_DYNAMIC`): a list of
//! tagged values, among them the libraries the program needs (`DT_NEEDED`)
//! and where to look for them (`DT_RUNPATH`, `DT_RPATH`). The names
//! themselves sit in a string table (`DT_STRTAB`), given as an address in
//! memory, which the `PT_LOAD` segments translate back into a place in the
//! file.
//!
//! This module reads exactly that, from 64-bit little-endian files (x86_64
//! and aarch64), with positional reads of the few hundred bytes it needs:
//! a 2 MB libc is never read whole.

use std::fmt;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, io_error};

/// The size of an ELF64 file header.
pub const HEADER_SIZE: usize = 64;
/// The size of one ELF64 program header.
pub const PROGRAM_HEADER_SIZE: usize = 56;
/// The size of one ELF64 dynamic entry: a tag and a value, 8 bytes each.
pub const DYNAMIC_ENTRY_SIZE: usize = 16;

/// The four bytes every ELF file starts with.
pub const MAGIC: [u8; 4] = *b"\x7fELF";

/// Program header types (`p_type`) this module looks at.
pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;

/// Dynamic tags (`d_tag`) this module looks at.
pub const DT_NULL: u64 = 0;
pub const DT_NEEDED: u64 = 1;
pub const DT_STRTAB: u64 = 5;
pub const DT_STRSZ: u64 = 10;
pub const DT_SONAME: u64 = 14;
pub const DT_RPATH: u64 = 15;
pub const DT_RUNPATH: u64 = 29;

/// The most bytes one read takes: headers and string tables are small, so
/// a larger size means a broken or hostile file.
const MAX_READ: u64 = 16 << 20;

/// The processor an ELF file is built for (`e_machine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Machine {
    /// `EM_X86_64`, 62.
    X86_64,
    /// `EM_AARCH64`, 183.
    Aarch64,
    /// Any other `e_machine` value.
    Other(u16),
}

impl Machine {
    pub fn from_e_machine(value: u16) -> Machine {
        match value {
            62 => Machine::X86_64,
            183 => Machine::Aarch64,
            other => Machine::Other(other),
        }
    }

    /// Debian's multiarch tuple, the directory below `/lib` and `/usr/lib`
    /// that holds this processor's libraries.
    pub fn multiarch(self) -> Option<&'static str> {
        match self {
            Machine::X86_64 => Some("x86_64-linux-gnu"),
            Machine::Aarch64 => Some("aarch64-linux-gnu"),
            Machine::Other(_) => None,
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Machine::X86_64 => write!(f, "x86_64"),
            Machine::Aarch64 => write!(f, "aarch64"),
            Machine::Other(value) => write!(f, "machine {value}"),
        }
    }
}

// ANCHOR: header
/// What the file header tells: the processor, and where the program
/// header table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub machine: Machine,
    /// `e_phoff`: the file offset of the program header table.
    pub phoff: u64,
    /// `e_phnum`: how many program headers there are.
    pub phnum: u16,
}
// ANCHOR_END: header

/// One program header: a segment of the file and where it goes in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramHeader {
    /// `p_type`: `PT_LOAD`, `PT_DYNAMIC`, `PT_INTERP`, ...
    pub kind: u32,
    /// `p_offset`: where the segment starts in the file.
    pub offset: u64,
    /// `p_vaddr`: where it starts in memory.
    pub vaddr: u64,
    /// `p_filesz`: how many bytes of it are in the file.
    pub filesz: u64,
}

/// The dynamic section's entries that name strings, as offsets into the
/// string table, and where that table is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicEntries {
    /// `DT_STRTAB`: the string table's *virtual address*.
    pub strtab: Option<u64>,
    /// `DT_STRSZ`: its size in bytes.
    pub strsz: Option<u64>,
    /// `DT_NEEDED`, in order: one per library.
    pub needed: Vec<u64>,
    pub soname: Option<u64>,
    pub rpath: Option<u64>,
    pub runpath: Option<u64>,
}

// ANCHOR: elf
/// What an ELF file needs to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elf {
    /// The file this was read from.
    pub path: PathBuf,
    pub machine: Machine,
    /// `PT_INTERP`: the dynamic loader; `None` for a static binary or a library.
    pub interpreter: Option<PathBuf>,
    /// `DT_NEEDED`: the libraries it needs, by name, in order.
    pub needed: Vec<String>,
    /// `DT_SONAME`: the name a library answers to.
    pub soname: Option<String>,
    /// `DT_RPATH`: where to look first (ignored when there is a `DT_RUNPATH`).
    pub rpath: Option<String>,
    /// `DT_RUNPATH`: where to look after `LD_LIBRARY_PATH`.
    pub runpath: Option<String>,
}
// ANCHOR_END: elf

impl Elf {
    /// Whether nothing has to be loaded for this file to run.
    pub fn is_static(&self) -> bool {
        self.interpreter.is_none() && self.needed.is_empty()
    }
}

// ANCHOR: read
/// Reads the interpreter, the needed libraries and the search paths of the
/// ELF file at `path` (symbolic links are followed).
pub fn read(path: &Path) -> Result<Elf> {
    let file = ElfFile::open(path)?;
    let start = file.read_at(0, HEADER_SIZE.min(file.len as usize) as u64, "file header")?;
    let header = parse_header(path, &start)?;
    let table_len = u64::from(header.phnum) * PROGRAM_HEADER_SIZE as u64;
    let table = file.read_at(header.phoff, table_len, "program header table")?;
    let segments = parse_program_headers(path, &header, &table)?;

    let interpreter = match segments.iter().find(|s| s.kind == PT_INTERP) {
        Some(interp) => {
            let bytes = file.read_at(interp.offset, interp.filesz, "PT_INTERP segment")?;
            Some(PathBuf::from(string_at(&bytes, 0).ok_or_else(|| {
                malformed(path, "the interpreter path is not a string")
            })?))
        }
        None => None,
    };
    let mut elf = Elf {
        path: path.to_path_buf(),
        machine: header.machine,
        interpreter,
        needed: Vec::new(),
        soname: None,
        rpath: None,
        runpath: None,
    };
    let Some(dynamic) = segments.iter().find(|s| s.kind == PT_DYNAMIC) else {
        return Ok(elf);
    };
    let bytes = file.read_at(dynamic.offset, dynamic.filesz, "PT_DYNAMIC segment")?;
    let entries = parse_dynamic(path, &bytes)?;
    let names_a_string = !entries.needed.is_empty()
        || entries.soname.is_some()
        || entries.rpath.is_some()
        || entries.runpath.is_some();
    if !names_a_string {
        return Ok(elf);
    }
    let (Some(strtab), Some(strsz)) = (entries.strtab, entries.strsz) else {
        return Err(malformed(
            path,
            "the dynamic section names strings but has no string table",
        ));
    };
    let offset = file_offset(&segments, strtab).ok_or_else(|| {
        malformed(
            path,
            &format!("DT_STRTAB {strtab:#x} is in no PT_LOAD segment"),
        )
    })?;
    let strings = file.read_at(offset, strsz, "dynamic string table")?;
    let string = |at: u64| {
        usize::try_from(at)
            .ok()
            .and_then(|at| string_at(&strings, at))
            .map(str::to_string)
            .ok_or_else(|| {
                malformed(
                    path,
                    &format!("no string at offset {at} of the string table"),
                )
            })
    };
    elf.needed = entries
        .needed
        .iter()
        .map(|&at| string(at))
        .collect::<Result<_>>()?;
    elf.soname = entries.soname.map(string).transpose()?;
    elf.rpath = entries.rpath.map(string).transpose()?;
    elf.runpath = entries.runpath.map(string).transpose()?;
    Ok(elf)
}
// ANCHOR_END: read

// ANCHOR: elf_header
/// Checks the identification bytes and reads the file header from the
/// first (up to) [`HEADER_SIZE`] bytes of the file at `path`.
pub fn parse_header(path: &Path, bytes: &[u8]) -> Result<Header> {
    // EXERCISE(elf-header): Check that the file is 64-bit little-endian ELF and read its header.
    // The first 16 bytes are `e_ident`: the magic `\x7fELF` (anything else:
    // `Err(not_elf(path, bytes))`, which says what the file looks like),
    // then the class at 4 (2 = 64-bit; 1 is 32-bit), the byte order at 5
    // (1 = little-endian; 2 is big) and the version at 6 (1). A wrong class
    // or order is `Error::UnsupportedElf` naming the kind ("32-bit").
    // A header shorter than HEADER_SIZE is `malformed`, saying the file
    // header is cut short, even one too short to hold the class and the
    // byte order. Then, little-endian: `e_machine` at 18, `e_phoff` at 32,
    // `e_phentsize` at 54 (must be PROGRAM_HEADER_SIZE) and `e_phnum` at
    // 56. Read them with `u16_at` and `u64_at`, which return a `Result`
    // (`malformed` when the bytes end too soon): use `?`.
    // HINT: Check in this order: magic, then class and byte order, then length. A 32-bit header is
    // only 52 bytes: measured first, it would be called malformed instead of 32-bit.
    // HINT+: A file shorter than `MAGIC`, or not starting with it, is `not_elf`. Match the pair
    // `bytes.get(4)`, `bytes.get(5)`: (2, 1) goes on; class 1 is `"32-bit"`, order 2
    // `"big-endian"`, anything else unknown, all `Error::UnsupportedElf`. Then `HEADER_SIZE`, the
    // version byte and `e_phentsize` are `malformed` cases. `Header` takes
    // `Machine::from_e_machine` of the `u16` at 18, the `u64` at 32 and the `u16` at 56, each
    // read with `?`.
    if bytes.len() < MAGIC.len() || bytes[..4] != MAGIC {
        return Err(not_elf(path, bytes));
    }
    let kind = match (bytes.get(4), bytes.get(5)) {
        (Some(2), Some(1)) => None,
        (Some(1), Some(_)) => Some("32-bit"),
        (Some(2), Some(2)) => Some("big-endian"),
        (Some(_), Some(_)) => Some("an unknown class or byte order of"),
        // The file ends before byte 5: cut short, as the length check below says.
        _ => None,
    };
    if let Some(kind) = kind {
        return Err(Error::UnsupportedElf {
            path: path.to_path_buf(),
            kind: kind.to_string(),
        });
    }
    if bytes.len() < HEADER_SIZE {
        return Err(malformed(path, "the file header is cut short"));
    }
    if bytes[6] != 1 {
        return Err(malformed(
            path,
            &format!("unknown ELF version {}", bytes[6]),
        ));
    }
    if usize::from(u16_at(path, bytes, 54)?) != PROGRAM_HEADER_SIZE {
        return Err(malformed(path, "program headers are not 56 bytes long"));
    }
    Ok(Header {
        machine: Machine::from_e_machine(u16_at(path, bytes, 18)?),
        phoff: u64_at(path, bytes, 32)?,
        phnum: u16_at(path, bytes, 56)?,
    })
    // END EXERCISE
}
// ANCHOR_END: elf_header

// ANCHOR: program_headers
/// Reads `header.phnum` program headers from `table`, the bytes of the
/// program header table.
pub fn parse_program_headers(
    path: &Path,
    header: &Header,
    table: &[u8],
) -> Result<Vec<ProgramHeader>> {
    // EXERCISE(program-headers): Read the program header table.
    // Each entry is PROGRAM_HEADER_SIZE bytes: `p_type` (u32) at 0,
    // `p_flags` at 4, `p_offset` (u64) at 8, `p_vaddr` at 16, `p_paddr` at
    // 24, `p_filesz` at 32, read with `u32_at` and `u64_at` (they return a
    // `Result`: use `?`). If `table` is too short for `header.phnum`
    // entries, the file is `malformed`.
    // HINT: Check the length once, before reading any entry: `phnum` entries must fit in `table`,
    // or `u64_at` panics on a header that lies.
    // HINT+: `usize::from` the `u16` count before multiplying by `PROGRAM_HEADER_SIZE`. Take that
    // many bytes and split them with `chunks_exact`; each chunk is one entry, read with `u32_at` at
    // 0 and `u64_at` at 8, 16 and 32 (offsets into the entry, not the table). `map` each to a
    // `ProgramHeader` and `collect`.
    let needed = usize::from(header.phnum) * PROGRAM_HEADER_SIZE;
    if table.len() < needed {
        return Err(malformed(path, "the program header table is cut short"));
    }
    table[..needed]
        .chunks_exact(PROGRAM_HEADER_SIZE)
        .map(|entry| {
            Ok(ProgramHeader {
                kind: u32_at(path, entry, 0)?,
                offset: u64_at(path, entry, 8)?,
                vaddr: u64_at(path, entry, 16)?,
                filesz: u64_at(path, entry, 32)?,
            })
        })
        .collect()
    // END EXERCISE
}
// ANCHOR_END: program_headers

// ANCHOR: vaddr_to_offset
/// The file offset of virtual address `vaddr`, through the `PT_LOAD`
/// segment that maps it; `None` if no segment does.
pub fn file_offset(segments: &[ProgramHeader], vaddr: u64) -> Option<u64> {
    // EXERCISE(vaddr-to-offset): Translate a virtual address into a file offset.
    // The dynamic section gives addresses in memory, but we read a file. A
    // `PT_LOAD` segment copies `filesz` bytes from file offset `offset` to
    // memory at `vaddr`: an address inside [vaddr, vaddr + filesz) is at
    // `address - vaddr + offset` in the file (checked: a hostile file may
    // make that overflow). Ignore the other segments.
    // HINT: Only `PT_LOAD` segments count, and the range is half-open and measured with `filesz`:
    // an address at `vaddr + filesz` is past the file's bytes.
    // HINT+: Test the range as a distance: once `vaddr <= address` holds, `address - vaddr` cannot
    // underflow, and comparing it with `filesz` avoids `vaddr + filesz`, which a hostile file can
    // overflow. `filter` by kind, `find` the segment, `and_then` a `u64::checked_add`.
    segments
        .iter()
        .filter(|s| s.kind == PT_LOAD)
        .find(|s| s.vaddr <= vaddr && vaddr - s.vaddr < s.filesz)
        // A hostile file may put the segment anywhere: no overflow.
        .and_then(|s| s.offset.checked_add(vaddr - s.vaddr))
    // END EXERCISE
}
// ANCHOR_END: vaddr_to_offset

// ANCHOR: dynamic_section
/// Reads the entries of a dynamic section (the bytes of its `PT_DYNAMIC`
/// segment) up to `DT_NULL`.
pub fn parse_dynamic(path: &Path, bytes: &[u8]) -> Result<DynamicEntries> {
    // EXERCISE(dynamic-section): Read the tags of the dynamic section that the loader needs.
    // The section is a list of DYNAMIC_ENTRY_SIZE-byte entries: `d_tag`
    // (u64) then `d_val` (u64), read with `u64_at` (it returns a `Result`:
    // use `?`). It ends at the first `DT_NULL` tag; one that never comes is
    // `malformed`. Keep `DT_STRTAB` and `DT_STRSZ`, every `DT_NEEDED` in
    // order, and `DT_SONAME`, `DT_RPATH` and `DT_RUNPATH`.
    // The string values are offsets into the string table, kept as they are.
    // HINT: Walk `chunks_exact(DYNAMIC_ENTRY_SIZE)` and return as soon as `DT_NULL` comes: leaving
    // the loop means it never came.
    // HINT+: Read the tag with `u64_at` at 0 and the value at 8, and `match` the tag against the
    // `DT_*` constants: `DT_NEEDED` pushes onto `needed` (in order), the others set their `Option`
    // in a `DynamicEntries::default()`, any other tag is skipped. After the loop: `malformed`.
    let mut entries = DynamicEntries::default();
    for entry in bytes.chunks_exact(DYNAMIC_ENTRY_SIZE) {
        let value = u64_at(path, entry, 8)?;
        match u64_at(path, entry, 0)? {
            DT_NULL => return Ok(entries),
            DT_NEEDED => entries.needed.push(value),
            DT_STRTAB => entries.strtab = Some(value),
            DT_STRSZ => entries.strsz = Some(value),
            DT_SONAME => entries.soname = Some(value),
            DT_RPATH => entries.rpath = Some(value),
            DT_RUNPATH => entries.runpath = Some(value),
            _ => {}
        }
    }
    Err(malformed(
        path,
        "the dynamic section has no DT_NULL at its end",
    ))
    // END EXERCISE
}
// ANCHOR_END: dynamic_section

/// The little-endian `u16` at `at` in `bytes`, read from the file at `path`.
///
/// The offsets come from the file, and a truncated or hostile file can put
/// them anywhere: bytes that do not hold the value are the file's fault, so
/// they are a `malformed` error naming it, never a panic.
pub fn u16_at(path: &Path, bytes: &[u8], at: usize) -> Result<u16> {
    field_at(path, bytes, at).map(u16::from_le_bytes)
}

/// The little-endian `u32` at `at` in `bytes`, read from the file at `path`;
/// `malformed` if `bytes` end before it (see [`u16_at`]).
pub fn u32_at(path: &Path, bytes: &[u8], at: usize) -> Result<u32> {
    field_at(path, bytes, at).map(u32::from_le_bytes)
}

/// The little-endian `u64` at `at` in `bytes`, read from the file at `path`;
/// `malformed` if `bytes` end before it (see [`u16_at`]).
pub fn u64_at(path: &Path, bytes: &[u8], at: usize) -> Result<u64> {
    field_at(path, bytes, at).map(u64::from_le_bytes)
}

/// The `N` bytes at `at` in `bytes`, or the error the readers above share.
/// `get` and `first_chunk` check the bounds without an addition that could
/// overflow.
fn field_at<const N: usize>(path: &Path, bytes: &[u8], at: usize) -> Result<[u8; N]> {
    match bytes.get(at..).and_then(<[u8]>::first_chunk) {
        Some(field) => Ok(*field),
        None => Err(malformed(
            path,
            &format!(
                "it is cut short: the {N}-byte field at offset {at} runs past the end of the {} bytes read",
                bytes.len()
            ),
        )),
    }
}

/// The NUL-terminated UTF-8 string at `at` in `bytes`, if there is one.
pub fn string_at(bytes: &[u8], at: usize) -> Option<&str> {
    let rest = bytes.get(at..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    std::str::from_utf8(&rest[..end]).ok()
}

/// The error for a file that is not ELF, saying what it looks like
/// instead: `bytes` are its first bytes.
pub fn not_elf(path: &Path, bytes: &[u8]) -> Error {
    let what = if bytes.is_empty() {
        "the file is empty".to_string()
    } else if let Some(line) = bytes.strip_prefix(b"#!") {
        let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let interpreter = String::from_utf8_lossy(line).trim().to_string();
        format!(
            "it is a script for `{interpreter}` (it starts with #!); add the script with \
             --add {0}:{0} and give its interpreter as a binary",
            path.display()
        )
    } else {
        "it does not start with the ELF magic bytes 7f 45 4c 46".to_string()
    };
    Error::NotElf {
        path: path.to_path_buf(),
        what,
    }
}

fn malformed(path: &Path, reason: &str) -> Error {
    Error::Malformed {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// An open ELF file, read in pieces at given offsets.
struct ElfFile {
    file: File,
    path: PathBuf,
    len: u64,
}

impl ElfFile {
    fn open(path: &Path) -> Result<ElfFile> {
        // Looked at before it is opened: opening a FIFO would wait for a writer.
        let meta = std::fs::metadata(path).map_err(io_error(path))?;
        if !meta.is_file() {
            return Err(Error::NotElf {
                path: path.to_path_buf(),
                what: "it is not a regular file".to_string(),
            });
        }
        let file = File::open(path).map_err(io_error(path))?;
        Ok(ElfFile {
            file,
            path: path.to_path_buf(),
            len: meta.len(),
        })
    }

    /// `len` bytes at `offset`, which must lie inside the file. `what`
    /// names them in the error when they do not.
    fn read_at(&self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        let fits = offset.checked_add(len).is_some_and(|end| end <= self.len);
        if !fits {
            return Err(malformed(
                &self.path,
                &format!(
                    "its {what} ({len} bytes at offset {offset}) runs past the end of the file ({} bytes)",
                    self.len
                ),
            ));
        }
        if len > MAX_READ {
            return Err(malformed(
                &self.path,
                &format!(
                    "its {what} is {len} bytes, more than the {MAX_READ} bytes a header or string table can be"
                ),
            ));
        }
        let mut buffer = vec![0; len as usize];
        self.file
            .read_exact_at(&mut buffer, offset)
            .map_err(io_error(&self.path))?;
        Ok(buffer)
    }
}
