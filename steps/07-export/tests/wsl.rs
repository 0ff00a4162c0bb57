//! The WSL formats: one standard gzip member made on every core, an archive
//! that GNU tar, bsdtar and podman take back to the stored tree, and the
//! `.wsl` file's settings.

mod common;

use common::{
    FIXTURE_CREATED, GZIP, Podman, Setup, WSL_FILES, gunzip_if_gzip, names, peer, run, tar_bytes,
    tar_listing,
};
use flate2::Compression;
use std::io::{Read, Write};
use step_02_layers::tree;
use step_07_export::gzip::{CHUNK, HEADER, ParallelGzip};
use step_07_export::wsl::import_command;
use step_07_export::{ExportOptions, Format};

/// `len` bytes of which about `random_percent` in a hundred 4 KiB blocks
/// are random and the rest text, so that chunks compress to every ratio
/// from a tenth to the whole (a chunk that compresses to just over half
/// its size once lost its flush marker).
fn sample(len: usize, random_percent: u32) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        let block = (len - bytes.len()).min(4096);
        if next() % 100 < random_percent {
            bytes.extend((0..block).map(|_| next() as u8));
        } else {
            bytes.extend((0..block).map(|i| b"the quick brown fox jumps "[i % 26]));
        }
    }
    bytes
}

#[test]
fn parallel_gzip_writes_one_standard_member() {
    let cases = [(0, 0), (1000, 50), (3 * CHUNK + 12_345, 10)]
        .into_iter()
        .chain([40, 45, 50, 55, 60, 100].map(|percent| (4 * CHUNK, percent)));
    for (len, random_percent) in cases {
        let input = sample(len, random_percent);
        let mut gzip = ParallelGzip::new(Vec::new(), Compression::default()).unwrap();
        // Written in odd pieces, as tar writes.
        for piece in input.chunks(7919) {
            gzip.write_all(piece).unwrap();
        }
        let compressed = gzip.finish().unwrap();
        workshop::check_eq!(compressed[..10], HEADER, read = GZIP, "the gzip header");
        // A `GzDecoder` reads one member only, and checks the CRC and length.
        let mut back = Vec::new();
        let read = flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut back);
        workshop::check!(
            read.is_ok() && back == input,
            expected = format!("{len} bytes ({random_percent} % random) back from one gzip member"),
            got = format!("{read:?}, {} bytes back", back.len()),
            read = GZIP,
        );
    }
}

#[test]
fn gzip_tests_the_wsl_archive() {
    let Some(gzip) = peer("gzip", "gzip") else {
        return;
    };
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    let (path, _) = setup.export(&layers, "layers.tar.gz");
    let output = std::process::Command::new(gzip)
        .arg("-tv")
        .arg(&path)
        .output()
        .unwrap();
    workshop::check!(
        output.status.success(),
        expected = "gzip -t: OK",
        got = String::from_utf8_lossy(&output.stderr),
        read = GZIP,
    );
}

#[test]
fn the_wsl_archive_is_the_rootfs_tar_gzipped_the_same_every_time() {
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    let (tgz, _) = setup.export(&layers, "layers.tgz");
    let (again, _) = setup.export(&layers, "again.tar.gz");
    let (tar, _) = setup.export(&layers, "layers.tar");
    workshop::check!(
        tar_bytes(&tgz) == std::fs::read(&tar).unwrap(),
        expected = "the .tar.gz holds exactly the .tar",
        got = tar_listing(&tar_bytes(&tgz), FIXTURE_CREATED),
        read = GZIP,
    );
    workshop::check!(
        std::fs::read(&tgz).unwrap() == std::fs::read(&again).unwrap(),
        expected = "the same compressed bytes twice",
        got = "two different archives",
        read = GZIP,
    );
    let streamed = setup.export_bytes(&layers, Format::Wsl);
    workshop::check!(
        streamed == std::fs::read(&tgz).unwrap(),
        expected = "-o - writes the same bytes as a file",
        got = format!("{} bytes", streamed.len()),
        read = GZIP,
    );
}

#[test]
fn gnu_tar_and_bsdtar_extract_the_stored_tree() {
    if !common::is_root() {
        return;
    }
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    let (path, _) = setup.export(&layers, "layers.tar.gz");
    let stored = tree::listing(&setup.rootfs(&layers)).unwrap();
    for (program, package, args) in [
        ("tar", "tar", ["--numeric-owner", "-xpzf"]),
        ("bsdtar", "libarchive-tools", ["--numeric-owner", "-xpzf"]),
    ] {
        let Some(program) = peer(program, package) else {
            continue;
        };
        let into = tempfile::tempdir().unwrap();
        let mut all = args.to_vec();
        let path = path.display().to_string();
        let into_text = into.path().display().to_string();
        all.extend([path.as_str(), "-C", into_text.as_str()]);
        run(&program, &all);
        // Both tools list the archive too, with every entry.
        let listed = run(&program, &["-tzf", &path]);
        workshop::check_eq!(
            String::from_utf8_lossy(&listed.stdout).lines().count(),
            stored.lines().count(),
            read = WSL_FILES,
            "entries {} lists",
            program.display()
        );
        workshop::check_eq!(
            tree::listing(into.path()).unwrap(),
            stored,
            read = WSL_FILES,
            "the tree {} extracts against the stored one",
            program.display()
        );
    }
}

#[test]
fn podman_imports_the_wsl_archive_as_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let Some(podman) = Podman::find(dir.path()) else {
        return;
    };
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    let (path, _) = setup.export(&layers, "layers.tar.gz");
    podman.run(&[
        "import",
        &path.display().to_string(),
        "localhost/layers-wsl:test",
    ]);
    let mounted = podman.run(&["image", "mount", "localhost/layers-wsl:test"]);
    let got = tree::listing(std::path::Path::new(&mounted)).unwrap();
    podman.run(&["image", "unmount", "localhost/layers-wsl:test"]);
    workshop::check_eq!(
        got,
        tree::listing(&setup.rootfs(&layers)).unwrap(),
        read = WSL_FILES,
        "podman import, then podman image mount: the tree"
    );
}

#[test]
fn a_wsl_file_names_the_distribution_and_its_user() {
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    let (path, exported) = setup.export(&layers, "layers.wsl");
    let tar = tar_bytes(&path);
    let listing = tar_listing(&tar, FIXTURE_CREATED);
    workshop::check!(
        listing.contains("etc/wsl-distribution.conf f 0644 0:0 "),
        expected = "etc/wsl-distribution.conf, a file owned by root, mode 0644",
        got = listing,
        read = WSL_FILES,
    );
    let conf = file_in(&tar, "etc/wsl-distribution.conf");
    workshop::check_eq!(
        conf,
        "[oobe]\ndefaultName = layers\ndefaultUid = 1000\n",
        read = WSL_FILES,
        "the config runs the image as User 1000:1000"
    );
    // Everything else is the root filesystem, as in the .tar.gz.
    let (tgz, _) = setup.export(&layers, "layers.tar.gz");
    let mut expected = names(&tar_listing(&tar_bytes(&tgz), FIXTURE_CREATED));
    expected.push("etc/wsl-distribution.conf".into());
    expected.sort();
    let mut got = names(&listing);
    got.sort();
    workshop::check_eq!(got, expected, read = WSL_FILES);
    workshop::check_eq!(
        import_command(exported.format, &exported.name, &path),
        "wsl --install --from-file layers.wsl",
        read = WSL_FILES
    );
    workshop::check_eq!(
        import_command(Format::Wsl, "layers", &tgz),
        "wsl.exe --import layers C:\\WSL\\layers layers.tar.gz",
        read = WSL_FILES
    );
}

#[test]
fn a_wsl_file_leaves_out_resolv_conf_and_warns_what_the_image_lacks() {
    let setup = Setup::new();
    let hello = setup.pull("library/hello");
    std::fs::write(
        setup.rootfs(&hello).join("etc/resolv.conf"),
        "nameserver 10.0.0.1\n",
    )
    .unwrap();
    let options = ExportOptions {
        name: Some("Hello-1".into()),
        ..ExportOptions::default()
    };
    let (path, exported) = setup.export_with(&hello, "hello.wsl", &options);
    let tar = tar_bytes(&path);
    let got = names(&tar_listing(&tar, FIXTURE_CREATED));
    workshop::check!(
        !got.contains(&"etc/resolv.conf".to_string()),
        expected = "no etc/resolv.conf: WSL writes its own",
        got = got.join(" "),
        read = WSL_FILES,
    );
    workshop::check_eq!(
        file_in(&tar, "etc/wsl-distribution.conf"),
        "[oobe]\ndefaultName = Hello-1\n",
        read = WSL_FILES,
        "--name, and no defaultUid for an image that runs as root"
    );
    workshop::check!(
        exported.warnings.iter().any(|w| w.contains("/bin/sh")),
        expected = "a warning that the image has no /bin/sh",
        got = format!("{:?}", exported.warnings),
        read = WSL_FILES,
    );
    let (tgz, _) = setup.export(&hello, "hello.tar.gz");
    workshop::check!(
        names(&tar_listing(&tar_bytes(&tgz), FIXTURE_CREATED))
            .contains(&"etc/resolv.conf".to_string()),
        expected = "etc/resolv.conf in the plain WSL archive, which is the image as it is",
        got = "none",
        read = WSL_FILES,
    );
}

/// The text of the file `name` in a tar.
fn file_in(tar: &[u8], name: &str) -> String {
    let tar = gunzip_if_gzip(tar.to_vec());
    let mut archive = tar::Archive::new(&tar[..]);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path_bytes().as_ref() == name.as_bytes() {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            return text;
        }
    }
    panic!("{name} is not in the archive")
}
