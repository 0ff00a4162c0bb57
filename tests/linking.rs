//! How `dockerless` is built, kept that way: its start-up time depends on it
//! (README, "Performance"). A change that brings the dynamic loader or
//! aws-lc back fails here rather than only in a benchmark.

use std::path::Path;

/// `e_type` of an ELF file that is a position-independent executable (or a
/// shared library): its address is chosen at random at every start.
const ET_DYN: u16 = 3;

#[test]
fn the_tool_is_a_static_pie_where_glibc_is_the_c_library() {
    if !cfg!(all(
        target_os = "linux",
        target_env = "gnu",
        target_feature = "crt-static"
    )) {
        workshop::skip(
            "built without crt-static (a RUSTFLAGS of its own replaces .cargo/config.toml's)",
        );
        return;
    }
    let binary = Path::new(env!("CARGO_BIN_EXE_dockerless"));
    let elf = step_04_create::elf::read(binary).unwrap();
    assert!(
        elf.is_static(),
        "{} should need no dynamic loader and no library (.cargo/config.toml links it \
         statically); it has interpreter {:?} and needs {:?}",
        binary.display(),
        elf.interpreter,
        elf.needed
    );
    // `e_type` follows the 16 bytes of `e_ident`.
    let mut header = [0u8; 18];
    std::io::Read::read_exact(&mut std::fs::File::open(binary).unwrap(), &mut header).unwrap();
    let e_type = u16::from_le_bytes([header[16], header[17]]);
    assert_eq!(
        e_type,
        ET_DYN,
        "{} should be position-independent (a static PIE keeps its address random)",
        binary.display()
    );
}

#[test]
fn no_crate_brings_aws_lc_back() {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    let found: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("name = \"aws-lc"))
        .collect();
    assert!(
        found.is_empty(),
        "{} has {found:?}: a crate enabled reqwest's `rustls` feature or rustls's `aws_lc_rs`; \
         TLS here is rustls with ring (see the workspace's Cargo.toml)",
        lock.display()
    );
}
