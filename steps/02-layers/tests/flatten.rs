//! Flattening: the fixture images applied layer by layer, and one check
//! per rule of applying a layer, each with the smallest layers that show it.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use mock_registry::fixtures::{
    self, Compression, Entry, FIXTURE_MTIME, Format, HeaderStyle, Layer, LayerBuilder,
};
use mock_registry::{Image, Manifest};
use serde_json::Value;
use step_02_layers::decompress::{self, decompress};
use step_02_layers::error::Error;
use step_02_layers::flatten::{Applied, Options, apply_layer};
use step_02_layers::tree::{self, ListingOptions};
use tempfile::TempDir;
use workshop::{check, check_eq};

// ----- Helpers ---------------------------------------------------------------

/// A fresh, empty root filesystem in a temporary directory.
fn fresh_root() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("root");
    fs::create_dir(&root).expect("creating the root");
    (dir, root)
}

/// Applies one layer blob (compressed or not) to `root`.
fn apply(root: &Path, blob: &[u8], options: Options) -> Result<Applied, Error> {
    let tar = decompress(blob).expect("reading from memory cannot fail");
    apply_layer(root, tar, &options)
}

/// Applies `layers` in order to a fresh root, as the user running the tests.
fn flatten(layers: &[Layer]) -> (TempDir, PathBuf) {
    let (dir, root) = fresh_root();
    for (n, layer) in layers.iter().enumerate() {
        if let Err(error) = apply(&root, &layer.data, Options::detect()) {
            panic!("applying layer {} failed: {error}", n + 1);
        }
    }
    (dir, root)
}

/// A layer of `entries`, gzip-compressed with GNU headers.
fn layer(entries: impl IntoIterator<Item = Entry>) -> Layer {
    LayerBuilder::new().entries(entries).build()
}

/// The layer blobs of an image manifest, in the manifest's order.
fn layer_blobs<'a>(image: &'a Image, manifest: &Manifest) -> Vec<&'a [u8]> {
    let parsed: Value = serde_json::from_slice(&manifest.bytes).expect("manifest JSON");
    parsed["layers"]
        .as_array()
        .expect("a layers array")
        .iter()
        .map(|descriptor| {
            let blob = image
                .blobs
                .iter()
                .find(|blob| blob.digest.as_str() == descriptor["digest"])
                .expect("every layer is among the image's blobs");
            &blob.data[..]
        })
        .collect()
}

/// The listing of `manifest`'s layers applied in order to a fresh root.
fn flattened_listing(image: &Image, manifest: &Manifest) -> String {
    let (_dir, root) = fresh_root();
    for blob in layer_blobs(image, manifest) {
        apply(&root, blob, Options::detect()).expect("a fixture layer applies");
    }
    tree::listing(&root).expect("listing the root")
}

/// The listing line of one path (`/etc/passwd`), without the path.
fn line_of(root: &Path, path: &str) -> Option<String> {
    let listing = tree::listing(root).expect("listing the root");
    let prefix = format!("{path} ");
    listing
        .lines()
        .find_map(|line| line.strip_prefix(&prefix).map(str::to_string))
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).expect("lstat").mode() & 0o7777
}

fn skip_unless_root() -> bool {
    if Options::detect().privileged {
        return false;
    }
    workshop::skip("needs root: owners and device nodes are only applied by root");
    true
}

// ----- The fixture images -----------------------------------------------------

#[test]
fn hello_flattens_to_its_tree() {
    let docker = fixtures::hello(Format::Docker);
    let oci = fixtures::hello(Format::Oci);
    let listing = flattened_listing(&docker, &docker.manifest);
    check_eq!(
        flattened_listing(&oci, &oci.manifest),
        listing,
        read = "step-02-layers.md#flattening",
        "the OCI and Docker forms of library/hello hold the same layer"
    );
    if skip_unless_root() {
        return;
    }
    insta::assert_snapshot!("hello", listing);
}

#[test]
fn layers_flattens_to_its_tree() {
    if skip_unless_root() {
        return;
    }
    let image = fixtures::layers(Format::Oci);
    insta::assert_snapshot!("layers", flattened_listing(&image, &image.manifest));
}

#[test]
fn multi_platform_flattens_each_platform() {
    if skip_unless_root() {
        return;
    }
    for format in [Format::Docker, Format::Oci] {
        let image = fixtures::multi_platform(format);
        let index: Value = serde_json::from_slice(&image.manifest.bytes).expect("index JSON");
        for entry in index["manifests"].as_array().expect("a manifests array") {
            let architecture = entry["platform"]["architecture"].as_str().unwrap_or("");
            if architecture == "unknown" {
                continue; // an attestation: its one layer is JSON, not a tar
            }
            let child = image
                .children
                .iter()
                .find(|child| child.digest.as_str() == entry["digest"])
                .expect("every index entry is among the children");
            insta::assert_snapshot!(
                format!("multi_{architecture}"),
                flattened_listing(&image, child)
            );
        }
    }
}

/// Where each path of `library/layers` comes from: the rule that breaks
/// when that path is missing, extra or wrong, and where the book explains it.
const RULES: &[(&str, &str, &str)] = &[
    (
        "/etc/motd",
        "`etc/.wh.motd` deletes a file of a lower layer",
        "step-02-layers.md#whiteouts",
    ),
    (
        "/opt/tool",
        "`opt/.wh.tool` deletes a directory and everything below it",
        "step-02-layers.md#whiteouts",
    ),
    (
        "/srv/data/",
        "an opaque marker hides the lower layers' children, never its own layer's",
        "step-02-layers.md#opaque-directories",
    ),
    (
        "/var/lib/thing",
        "a directory replaces a file (unlink-then-create)",
        "step-02-layers.md#unlink-then-create",
    ),
    (
        "/var/cache",
        "a file replaces a directory tree (unlink-then-create)",
        "step-02-layers.md#unlink-then-create",
    ),
    (
        "/shared",
        "a directory over a directory takes the new mode and owner and keeps its children",
        "step-02-layers.md#unlink-then-create",
    ),
    (
        "/srv/app/config-link.txt",
        "a hard link shares its target's inode, owner and mode",
        "step-02-layers.md#hard-links",
    ),
    (
        "/usr/share/base-link.txt",
        "a hard link may point to a file of an earlier layer",
        "step-02-layers.md#hard-links",
    ),
    (
        "/srv/app/sealed",
        "a mode-000 file is still written, then gets its mode",
        "step-02-layers.md#modes-owners-and-times",
    ),
    (
        "/bin/su-hello",
        "setuid survives: the owner is set before the mode",
        "step-02-layers.md#modes-owners-and-times",
    ),
    (
        "/srv/app/passwd",
        "symlinks are written verbatim, absolute ones too",
        "step-02-layers.md#symbolic-links",
    ),
    (
        "/srv/app/long-link",
        "a long link target comes from a PAX record",
        "step-02-layers.md#long-names",
    ),
    (
        "/srv/app/a-directory",
        "a long name comes from a PAX record",
        "step-02-layers.md#long-names",
    ),
    (
        "/srv/app/pipe",
        "a FIFO is created with mkfifo",
        "step-02-layers.md#writing-entries",
    ),
    (
        "/srv/app",
        "owners and modes come from the headers (as root)",
        "step-02-layers.md#modes-owners-and-times",
    ),
    (
        "/",
        "the files of the layers are written",
        "step-02-layers.md#writing-entries",
    ),
];

/// The rule behind `path`: the entry of [`RULES`] with the longest prefix.
fn rule_for(path: &str) -> (&'static str, &'static str) {
    RULES
        .iter()
        .filter(|(prefix, _, _)| path.starts_with(prefix))
        .max_by_key(|(prefix, _, _)| prefix.len())
        .map(|(_, rule, read)| (*rule, *read))
        .expect("`/` matches every path")
}

/// The table under "# Flattened tree" in the doc comment of
/// `mock_registry::fixtures::layers`: lines and their hard link annotations.
fn documented_tree() -> (Vec<String>, Vec<(String, String)>) {
    let source = include_str!("../../../mock-registry/src/fixtures/layers.rs");
    let doc = source
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("///"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line));
    let mut lines = Vec::new();
    let mut hardlinks = Vec::new();
    for line in doc
        .skip_while(|line| *line != "# Flattened tree")
        .skip_while(|line| *line != "```text")
        .skip(1)
        .take_while(|line| *line != "```")
    {
        let (line, link) = match line.split_once("  (hardlink to ") {
            Some((line, target)) => (line, target.strip_suffix(')')),
            None => (line, None),
        };
        let line = squash(line);
        if let Some(target) = link {
            let path = line.split(' ').nth(4).expect("a path column").to_string();
            hardlinks.push((path, target.to_string()));
        }
        lines.push(line);
    }
    (lines, hardlinks)
}

fn squash(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A listing line in the documented table's format:
/// `type mode owner size path [-> target]`.
fn documented_form(line: &str) -> String {
    let columns: Vec<&str> = line.splitn(6, ' ').collect();
    let [path, kind, mode, owner, size, detail] = columns[..] else {
        panic!("a listing line has six columns: {line}");
    };
    let kind = match kind {
        "d" => "dir",
        "f" => "file",
        "l" => "symlink",
        "p" => "fifo",
        other => other,
    };
    let mut documented = format!("{kind} {mode} {owner} {size} {path}");
    if kind == "symlink" {
        documented.push(' ');
        documented.push_str(detail);
    }
    documented
}

/// `library/layers` must flatten to exactly the tree documented with the
/// fixture; a difference names the rule it breaks.
#[test]
fn layers_match_the_documented_tree_rule_by_rule() {
    if skip_unless_root() {
        return;
    }
    let (expected, hardlinks) = documented_tree();
    for format in [Format::Docker, Format::Oci] {
        let image = fixtures::layers(format);
        let (_dir, root) = fresh_root();
        for blob in layer_blobs(&image, &image.manifest) {
            apply(&root, blob, Options::detect()).expect("a fixture layer applies");
        }
        let listing = tree::listing(&root).expect("listing the root");
        let actual: Vec<String> = listing.lines().map(documented_form).collect();
        let mut broken = BTreeMap::new();
        for line in expected.iter().filter(|line| !actual.contains(line)) {
            broken.insert(line.split(' ').nth(4).unwrap().to_string(), "missing");
        }
        for line in actual.iter().filter(|line| !expected.contains(line)) {
            broken
                .entry(line.split(' ').nth(4).unwrap().to_string())
                .and_modify(|what| *what = "different")
                .or_insert("unexpected");
        }
        if let Some((path, _)) = broken.first_key_value() {
            let (rule, read) = rule_for(path);
            let report: Vec<String> = broken
                .iter()
                .map(|(path, what)| format!("{what}: {path} ({})", rule_for(path).0))
                .collect();
            workshop::Failure::new(
                format!(
                    "the tree in mock-registry/src/fixtures/layers.rs\n{}",
                    expected.join("\n")
                ),
                actual.join("\n"),
                read,
            )
            .about(format!(
                "library/layers ({format:?}) breaks the rule: {rule}\n{}",
                report.join("\n")
            ))
            .panic();
        }
        for (path, target) in &hardlinks {
            let inode = |path: &str| fs::symlink_metadata(root.join(&path[1..])).unwrap().ino();
            check_eq!(
                inode(path),
                inode(target),
                read = rule_for(path).1,
                "{path} is a hard link to {target}: the same inode"
            );
        }
    }
}

// ----- Compression --------------------------------------------------------

#[test]
fn compression_is_told_by_magic_bytes() {
    let cases: [(&[u8], decompress::Compression); 5] = [
        (&[0x1f, 0x8b, 0x08, 0x00], decompress::Compression::Gzip),
        (&[0x28, 0xb5, 0x2f, 0xfd], decompress::Compression::Zstd),
        (b"bin/", decompress::Compression::None),
        (&[0x28, 0xb5], decompress::Compression::None),
        (&[], decompress::Compression::None),
    ];
    for (magic, expected) in cases {
        check_eq!(
            decompress::Compression::detect(magic),
            expected,
            read = "step-02-layers.md#compression",
            "the compression of a blob starting with {magic:02x?}"
        );
    }
}

/// A small layer as gzip, zstd, plain tar and multi-member gzip.
#[test]
fn gzip_zstd_and_plain_layers_all_apply() {
    let entries = [Entry::dir("etc/"), Entry::file("etc/hostname", "box\n")];
    let plain = LayerBuilder::new()
        .entries(entries.clone())
        .compression(Compression::None)
        .build()
        .data;
    let gzip = LayerBuilder::new().entries(entries).build().data;
    let zstd = zstd::encode_all(&plain[..], 3).expect("zstd in memory");
    let (first, second) = plain.split_at(700);
    let mut multi = gzip_member(first);
    multi.extend(gzip_member(second));
    for (name, blob) in [
        ("gzip", &gzip[..]),
        ("zstd", &zstd[..]),
        ("plain tar", &plain[..]),
        ("multi-member gzip", &multi[..]),
    ] {
        let (_dir, root) = fresh_root();
        let applied = apply(&root, blob, Options::detect());
        check!(
            applied.is_ok(),
            expected = format!("a {name} layer to apply"),
            got = applied,
            read = "step-02-layers.md#compression",
        );
        check_eq!(
            fs::read_to_string(root.join("etc/hostname")).ok(),
            Some("box\n".to_string()),
            read = "step-02-layers.md#compression",
            "etc/hostname from a {name} layer"
        );
    }
}

fn gzip_member(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// A reader that hands out one byte per `read`, as a slow network might.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.0.len()).min(1);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn magic_bytes_are_found_in_a_stream_that_trickles() {
    let plain = LayerBuilder::new()
        .entry(Entry::file("hello.txt", "hi\n"))
        .compression(Compression::None)
        .build()
        .data;
    let zstd = zstd::encode_all(&plain[..], 3).expect("zstd in memory");
    let reader = io::BufReader::with_capacity(1, Trickle(&zstd));
    let (_dir, root) = fresh_root();
    let tar = decompress(reader).expect("reading from memory");
    let applied = apply_layer(&root, tar, &Options::detect());
    check!(
        applied.is_ok(),
        expected = "a zstd layer read one byte at a time to apply",
        got = applied,
        read = "step-02-layers.md#compression",
    );
}

/// The digest of a layer covers every byte, so the stream is read to its
/// end, past the tar's end-of-archive blocks.
#[test]
fn the_stream_is_read_to_its_end() {
    let mut tar = LayerBuilder::new()
        .entry(Entry::file("a", "a"))
        .compression(Compression::None)
        .build()
        .data
        .to_vec();
    tar.extend([0; 10 * 512]);
    let (_dir, root) = fresh_root();
    let mut rest = &tar[..];
    apply_layer(&root, &mut rest, &Options::detect()).expect("the layer applies");
    check_eq!(
        rest.len(),
        0,
        read = "step-02-layers.md#flattening",
        "bytes left unread after the layer"
    );
}

// ----- Whiteouts ------------------------------------------------------------

#[test]
fn a_whiteout_deletes_a_file_and_a_tree_of_a_lower_layer() {
    let (_dir, root) = flatten(&[
        layer([
            Entry::dir("etc/"),
            Entry::file("etc/motd", "old"),
            Entry::dir("opt/"),
            Entry::dir("opt/tool/"),
            Entry::file("opt/tool/bin", "old"),
        ]),
        layer([Entry::whiteout("etc/motd"), Entry::whiteout("opt/tool")]),
    ]);
    for gone in ["etc/motd", "opt/tool", "etc/.wh.motd", "opt/.wh.tool"] {
        check!(
            !exists(&root.join(gone)),
            expected = format!("{gone} to be gone: whiteouts delete, and are never written"),
            got = tree::listing(&root).unwrap(),
            read = "step-02-layers.md#whiteouts",
        );
    }
}

/// A whiteout only hides lower layers: a file of its own layer stays.
#[test]
fn a_whiteout_spares_its_own_layer() {
    let (_dir, root) = flatten(&[
        layer([Entry::file("note", "lower")]),
        layer([Entry::file("note", "mine"), Entry::whiteout("note")]),
    ]);
    check_eq!(
        fs::read_to_string(root.join("note")).ok(),
        Some("mine".to_string()),
        read = "step-02-layers.md#whiteouts",
        "note, written by the layer that also has .wh.note"
    );
}

/// `.wh..wh..opq` hides the lower children of its directory, even when it
/// comes after the layer's own entries there, and never those entries.
#[test]
fn an_opaque_marker_after_its_own_entries_keeps_them() {
    let (_dir, root) = flatten(&[
        layer([
            Entry::dir("data/"),
            Entry::file("data/old.txt", "lower"),
            Entry::dir("data/keep/"),
            Entry::file("data/keep/old-too.txt", "lower"),
        ]),
        layer([
            Entry::dir("data/"),
            Entry::file("data/new.txt", "mine"),
            Entry::dir("data/keep/"),
            Entry::file("data/keep/mine.txt", "mine"),
            Entry::opaque("data/"),
            Entry::file("data/later.txt", "mine"),
        ]),
    ]);
    let listing = tree::listing(&root).unwrap();
    let paths: Vec<&str> = listing
        .lines()
        .map(|line| line.split(' ').next().unwrap())
        .collect();
    check_eq!(
        paths,
        [
            "/data",
            "/data/keep",
            "/data/keep/mine.txt",
            "/data/later.txt",
            "/data/new.txt"
        ],
        read = "step-02-layers.md#opaque-directories",
        "the tree after an opaque marker on data/"
    );
}

// ----- Unlink-then-create -------------------------------------------------

#[test]
fn a_file_replaces_a_directory_tree() {
    let (_dir, root) = flatten(&[
        layer([Entry::dir("cache/"), Entry::file("cache/stale", "old")]),
        layer([Entry::file("cache", "now a file")]),
    ]);
    check_eq!(
        fs::read_to_string(root.join("cache")).ok(),
        Some("now a file".to_string()),
        read = "step-02-layers.md#unlink-then-create",
        "cache, a directory in layer 1 and a file in layer 2"
    );
}

#[test]
fn a_directory_replaces_a_file() {
    let (_dir, root) = flatten(&[
        layer([Entry::file("thing", "old")]),
        layer([Entry::dir("thing/"), Entry::file("thing/inside", "new")]),
    ]);
    check_eq!(
        fs::read_to_string(root.join("thing/inside")).ok(),
        Some("new".to_string()),
        read = "step-02-layers.md#unlink-then-create",
        "thing/inside, below a file that became a directory"
    );
}

#[test]
fn a_directory_over_a_directory_keeps_its_children_and_takes_the_new_metadata() {
    let (_dir, root) = flatten(&[
        layer([
            Entry::dir("shared/"),
            Entry::file("shared/keep.txt", "kept"),
        ]),
        layer([Entry::dir("shared/").mode(0o750)]),
    ]);
    check_eq!(
        fs::read_to_string(root.join("shared/keep.txt")).ok(),
        Some("kept".to_string()),
        read = "step-02-layers.md#unlink-then-create",
        "shared/keep.txt after layer 2 lists shared/ again"
    );
    check_eq!(
        format!("{:04o}", mode(&root.join("shared"))),
        "0750",
        read = "step-02-layers.md#unlink-then-create",
        "the mode of shared/ after layer 2 set it"
    );
}

/// A file over a symlink replaces the link; it is not written through it.
#[test]
fn a_file_over_a_symlink_replaces_the_link() {
    let (_dir, root) = flatten(&[
        layer([Entry::file("real", "real"), Entry::symlink("alias", "real")]),
        layer([Entry::file("alias", "alias")]),
    ]);
    check_eq!(
        (
            fs::read_to_string(root.join("real")).ok(),
            fs::symlink_metadata(root.join("alias"))
                .map(|m| m.is_file())
                .ok()
        ),
        (Some("real".to_string()), Some(true)),
        read = "step-02-layers.md#unlink-then-create",
        "(contents of real, whether alias is now a plain file)"
    );
}

// ----- Links --------------------------------------------------------------

#[test]
fn a_hard_link_may_point_to_an_earlier_layer() {
    let (_dir, root) = flatten(&[
        layer([Entry::dir("usr/"), Entry::file("usr/base.txt", "base")]),
        layer([Entry::hardlink("usr/base-link.txt", "usr/base.txt")]),
    ]);
    let inode = |path: &str| fs::symlink_metadata(root.join(path)).map(|m| m.ino()).ok();
    check!(
        inode("usr/base-link.txt").is_some() && inode("usr/base-link.txt") == inode("usr/base.txt"),
        expected = "usr/base-link.txt and usr/base.txt to be one inode",
        got = (inode("usr/base-link.txt"), inode("usr/base.txt")),
        read = "step-02-layers.md#hard-links",
    );
}

#[test]
fn a_hard_link_to_a_directory_is_refused() {
    let (_dir, root) = fresh_root();
    let error = apply(
        &root,
        &layer([Entry::dir("etc/"), Entry::hardlink("etc-link", "etc")]).data,
        Options::detect(),
    );
    check!(
        matches!(&error, Err(Error::Hardlink { entry, .. }) if entry == "etc-link"),
        expected = "Error::Hardlink naming etc-link",
        got = error,
        read = "step-02-layers.md#hard-links",
    );
}

#[test]
fn a_hard_link_to_nothing_is_refused() {
    let (_dir, root) = fresh_root();
    let error = apply(
        &root,
        &layer([Entry::hardlink("copy", "missing")]).data,
        Options::detect(),
    );
    check!(
        matches!(&error, Err(Error::Hardlink { entry, target, .. }) if entry == "copy" && target == "missing"),
        expected = "Error::Hardlink naming copy and missing",
        got = error,
        read = "step-02-layers.md#hard-links",
    );
}

/// Debian's `etc -> /...` style links are written as they are, and a later
/// entry below one lands inside the root, never outside it.
#[test]
fn an_absolute_symlink_is_kept_and_never_followed_out_of_the_root() {
    let (dir, root) = fresh_root();
    let outside = dir.path().join("somewhere-outside");
    let target = outside
        .to_str()
        .expect("a UTF-8 temporary path")
        .to_string();
    let applied = apply(
        &root,
        &layer([
            Entry::symlink("etc", target.as_str()),
            Entry::file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
        ])
        .data,
        Options::detect(),
    );
    check!(
        applied.is_ok(),
        expected = "the layer to apply",
        got = applied,
        read = "step-02-layers.md#symbolic-links",
    );
    check_eq!(
        fs::read_link(root.join("etc")).ok(),
        Some(outside.clone()),
        read = "step-02-layers.md#symbolic-links",
        "the target of etc, stored verbatim"
    );
    check!(
        !exists(&outside),
        expected = format!("nothing at {}, outside the root", outside.display()),
        got = fs::read_dir(dir.path()).unwrap().count(),
        read = "step-02-layers.md#staying-inside-the-root",
    );
    let inside = root.join(outside.strip_prefix("/").unwrap()).join("passwd");
    check!(
        inside.is_file(),
        expected = format!(
            "etc/passwd at {}: the link resolved inside the root",
            inside.display()
        ),
        got = tree::listing(&root).unwrap(),
        read = "step-02-layers.md#staying-inside-the-root",
    );
}

/// `lib -> usr/lib` (a merged /usr) then `lib/x`: written into usr/lib.
#[test]
fn a_relative_symlink_inside_the_root_is_followed_for_later_entries() {
    let (_dir, root) = flatten(&[
        layer([
            Entry::dir("usr/"),
            Entry::dir("usr/lib/"),
            Entry::symlink("lib", "usr/lib"),
        ]),
        layer([Entry::file("lib/libc.so", "elf")]),
    ]);
    check_eq!(
        fs::read_to_string(root.join("usr/lib/libc.so")).ok(),
        Some("elf".to_string()),
        read = "step-02-layers.md#staying-inside-the-root",
        "usr/lib/libc.so, written as lib/libc.so through lib -> usr/lib"
    );
}

// ----- Modes, owners and times -------------------------------------------

#[test]
fn a_mode_000_file_is_written_all_the_same() {
    let (_dir, root) = flatten(&[layer([Entry::file("sealed", "secret").mode(0)])]);
    let options = Options::detect();
    // Only root may read it back; a normal user's listing says so.
    let contents = if options.privileged {
        "sha256:2bb80d537b1d"
    } else {
        "unreadable"
    };
    check_eq!(
        line_of(&root, "/sealed"),
        Some(format!("f 0000 {} 6 {contents}", owner(&options, 0))),
        read = "step-02-layers.md#modes-owners-and-times",
        "the listing of a mode-000 file"
    );
}

/// The owner a file of `uid:gid` gets with `options`.
fn owner(options: &Options, id: u32) -> String {
    if options.privileged {
        format!("{id}:{id}")
    } else {
        format!("{}:{}", nix::unistd::geteuid(), nix::unistd::getegid())
    }
}

#[test]
fn setuid_setgid_and_sticky_bits_survive() {
    let (_dir, root) = flatten(&[layer([
        Entry::file("su", "x").mode(0o4755).owner(0, 0),
        Entry::file("wall", "x").mode(0o2755),
        Entry::dir("tmp/").mode(0o1777),
    ])]);
    let modes: Vec<String> = ["su", "wall", "tmp"]
        .iter()
        .map(|path| format!("{path} {:04o}", mode(&root.join(path))))
        .collect();
    check_eq!(
        modes,
        ["su 4755", "wall 2755", "tmp 1777"],
        read = "step-02-layers.md#modes-owners-and-times",
        "modes set after creating (the umask trims them) and after chown (which clears setuid)"
    );
}

/// Directories get their mode and mtime when the layer is done: a
/// read-only or mode-000 directory can still take its children, and the
/// children written later do not move its mtime.
#[test]
fn directories_get_their_mode_and_mtime_when_the_layer_is_done() {
    let (_dir, root) = flatten(&[layer([
        Entry::dir("ro/").mode(0o555),
        Entry::file("ro/inside", "x"),
        Entry::dir("closed/").mode(0),
        Entry::dir("closed/deeper/").mode(0o500),
        Entry::file("closed/deeper/inside", "x"),
        Entry::symlink("link", "ro"),
    ])]);
    let open = |path: &str| {
        fs::set_permissions(root.join(path), fs::Permissions::from_mode(0o700)).unwrap();
    };
    let mut times = Vec::new();
    for path in ["ro", "ro/inside", "link", "closed", "closed/deeper"] {
        let meta = fs::symlink_metadata(root.join(path)).expect("lstat");
        times.push(format!(
            "{path} {:04o} {}",
            meta.mode() & 0o7777,
            meta.mtime()
        ));
        if path == "closed" {
            // A normal user may not look inside a mode-000 directory;
            // chmod changes its ctime, not its mtime.
            open(path);
        }
    }
    // Let a normal user remove the temporary directory, too.
    open("closed/deeper");
    let t = FIXTURE_MTIME;
    check_eq!(
        times,
        [
            format!("ro 0555 {t}"),
            format!("ro/inside 0644 {t}"),
            format!("link 0777 {t}"),
            format!("closed 0000 {t}"),
            format!("closed/deeper 0500 {t}"),
        ],
        read = "step-02-layers.md#modes-owners-and-times",
        "mode and mtime of each path"
    );
}

#[test]
fn owners_are_applied_only_when_privileged() {
    if skip_unless_root() {
        return;
    }
    let owned = || {
        layer([
            Entry::dir("home/").owner(1000, 1000),
            Entry::file("home/file", "x").owner(1000, 1000),
            Entry::symlink("home/link", "file").owner(1000, 1000),
        ])
    };
    for options in [Options { privileged: true }, Options { privileged: false }] {
        let (_dir, root) = fresh_root();
        apply(&root, &owned().data, options).expect("the layer applies");
        let owners: Vec<String> = ["home", "home/file", "home/link"]
            .iter()
            .map(|path| {
                let meta = fs::symlink_metadata(root.join(path)).unwrap();
                format!("{path} {}:{}", meta.uid(), meta.gid())
            })
            .collect();
        let expected = owner(&options, 1000);
        check_eq!(
            owners,
            [
                format!("home {expected}"),
                format!("home/file {expected}"),
                format!("home/link {expected}"),
            ],
            read = "step-02-layers.md#running-without-root",
            "owners with {options:?}"
        );
    }
}

// ----- Read-only directories of lower layers, without root --------------------

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

// ----- Special files ------------------------------------------------------

#[test]
fn fifos_are_created_and_devices_only_when_privileged() {
    let entries = || {
        layer([
            Entry::dir("dev/"),
            Entry::char_device("dev/null", 1, 3),
            Entry::block_device("dev/loop9", 7, 9),
            Entry::fifo("dev/pipe"),
        ])
    };
    let (_dir, root) = fresh_root();
    let applied = apply(&root, &entries().data, Options { privileged: false });
    check_eq!(
        applied.ok(),
        Some(Applied {
            entries: 2,
            whiteouts: 0,
            skipped_devices: 2,
            skipped_attributes: Vec::new(),
        }),
        read = "step-02-layers.md#running-without-root",
        "what applying two devices, a FIFO and a directory did as a normal user"
    );
    check_eq!(
        line_of(&root, "/dev/null"),
        None,
        read = "step-02-layers.md#running-without-root",
        "a device node as a normal user"
    );
    check!(
        line_of(&root, "/dev/pipe").is_some_and(|line| line.starts_with("p 0644 ")),
        expected = "a FIFO of mode 0644 at /dev/pipe",
        got = tree::listing(&root).unwrap(),
        read = "step-02-layers.md#writing-entries",
    );
    if skip_unless_root() {
        return;
    }
    let (_dir, root) = fresh_root();
    apply(&root, &entries().data, Options { privileged: true }).expect("the layer applies");
    check_eq!(
        (line_of(&root, "/dev/null"), line_of(&root, "/dev/loop9")),
        (
            Some("c 0666 0:0 - 1,3".to_string()),
            Some("b 0660 0:0 - 7,9".to_string())
        ),
        read = "step-02-layers.md#writing-entries",
        "device nodes made as root"
    );
}

#[test]
fn an_unsupported_entry_type_is_named_in_the_error() {
    let mut header = tar::Header::new_gnu();
    header.set_path("volume-label").unwrap();
    header.set_entry_type(tar::EntryType::new(b'V'));
    header.set_size(0);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, io::empty()).unwrap();
    let tar = builder.into_inner().unwrap();
    let (_dir, root) = fresh_root();
    let error = apply(&root, &tar, Options::detect());
    check!(
        matches!(&error, Err(Error::UnsupportedEntry { entry, kind }) if entry == "volume-label" && kind.contains('V')),
        expected = "Error::UnsupportedEntry naming volume-label and its type V",
        got = error,
        read = "step-02-layers.md#writing-entries",
    );
}

// ----- Names ------------------------------------------------------------

#[test]
fn a_name_that_is_not_utf8_survives() {
    let name = b"caf\xe9.txt";
    let (_dir, root) = flatten(&[layer([Entry::file(name.as_slice(), "latin-1")])]);
    let names: Vec<Vec<u8>> = fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().as_bytes().to_vec())
        .collect();
    check_eq!(
        names,
        [name.to_vec()],
        read = "step-02-layers.md#long-names",
        "the raw bytes of the one name in the root"
    );
    check!(
        tree::listing(&root)
            .unwrap()
            .starts_with("/caf\\xe9.txt f "),
        expected = "the listing to write the byte 0xe9 as \\xe9",
        got = tree::listing(&root).unwrap(),
        read = "step-02-layers.md#long-names",
    );
}

#[test]
fn long_names_and_link_targets_in_gnu_and_pax_form() {
    let dir = format!("{}/", "d".repeat(90));
    let file = format!("{dir}{}", "f".repeat(90));
    let link_target = format!("../{file}");
    for style in [HeaderStyle::Gnu, HeaderStyle::Pax] {
        let (_tmp, root) = flatten(&[LayerBuilder::new()
            .header_style(style)
            .entries([
                Entry::dir(dir.as_str()),
                Entry::file(file.as_str(), "long"),
                Entry::dir("links/"),
                Entry::symlink("links/to-long", link_target.as_str()),
                Entry::hardlink("links/hard", file.as_str()),
            ])
            .build()]);
        check_eq!(
            (
                fs::read_to_string(root.join(&file)).ok(),
                fs::read_link(root.join("links/to-long")).ok(),
                fs::read_to_string(root.join("links/hard")).ok()
            ),
            (
                Some("long".to_string()),
                Some(PathBuf::from(&link_target)),
                Some("long".to_string())
            ),
            read = "step-02-layers.md#long-names",
            "a long file, a symlink and a hard link with long targets ({style:?} headers)"
        );
    }
}

// ----- The listing --------------------------------------------------------

#[test]
fn the_listing_can_count_links_and_leave_owners_out() {
    let (_dir, root) = flatten(&[layer([
        Entry::file("a", "same").owner(1000, 1000),
        Entry::hardlink("b", "a"),
    ])]);
    let listing = tree::listing_with(
        &root,
        &ListingOptions {
            owners: false,
            link_counts: true,
        },
    )
    .unwrap();
    check_eq!(
        listing,
        "/a f 0644 - 4 sha256:0967115f2813 links=2\n/b f 0644 - 4 sha256:0967115f2813 links=2\n",
        read = "step-02-layers.md#flattening",
        "the listing without owners, with link counts"
    );
}
