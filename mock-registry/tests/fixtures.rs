//! The fixture images are a contract: their digests, their trees and their
//! internal consistency are checked here, so a change to any of them shows up
//! in review as a snapshot diff.

use flate2::read::GzDecoder;
use mock_registry::fixtures::{
    self, Compression, Entry, FIXTURE_MTIME, Format, GREETING, HeaderStyle, LONG_PATH, LayerBuilder,
};
use mock_registry::{Blob, Digest, Image, Manifest, media_types};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;

#[test]
fn building_twice_gives_identical_bytes() {
    for (first, second) in fixtures::all().iter().zip(fixtures::all().iter()) {
        assert_eq!(first.reference(), second.reference());
        assert_eq!(first.manifest.bytes, second.manifest.bytes);
        let children =
            |image: &Image| -> Vec<_> { image.children.iter().map(|c| c.bytes.clone()).collect() };
        assert_eq!(children(first), children(second));
        let blobs =
            |image: &Image| -> Vec<_> { image.blobs.iter().map(|b| b.data.clone()).collect() };
        assert_eq!(blobs(first), blobs(second));
    }
}

#[test]
fn all_lists_six_images_in_a_stable_order() {
    let references: Vec<String> = fixtures::all().iter().map(Image::reference).collect();
    assert_eq!(
        references,
        [
            "library/hello:latest",
            "library/layers:latest",
            "library/multi:latest",
            "library/hello:oci",
            "library/layers:oci",
            "library/multi:oci",
        ]
    );
}

/// Any change to any byte of any fixture changes a digest here.
#[test]
fn every_image_matches_its_snapshot() {
    for image in fixtures::all() {
        let name = image.reference().replace(['/', ':'], "_");
        insta::assert_yaml_snapshot!(name, summary(&image));
    }
}

fn summary(image: &Image) -> Value {
    let manifest = |m: &Manifest| json!({"media_type": m.media_type, "digest": m.digest.as_str(), "size": m.bytes.len()});
    let blob = |b: &Blob| json!({"media_type": b.media_type, "digest": b.digest.as_str(), "size": b.data.len()});
    json!({
        "reference": image.reference(),
        "manifest": manifest(&image.manifest),
        "children": image.children.iter().map(manifest).collect::<Vec<_>>(),
        "blobs": image.blobs.iter().map(blob).collect::<Vec<_>>(),
    })
}

#[test]
fn every_descriptor_refers_to_something_present_with_the_right_size() {
    for image in fixtures::all() {
        let root = parse(&image.manifest.bytes);
        assert_eq!(root["mediaType"], image.manifest.media_type.as_str());
        if media_types::is_index(&image.manifest.media_type) {
            for entry in root["manifests"].as_array().unwrap() {
                let child = find_child(&image, entry);
                check_image_manifest(&image, child, Some(&entry["platform"]));
            }
            assert_eq!(
                image.children.len(),
                root["manifests"].as_array().unwrap().len()
            );
        } else {
            assert!(image.children.is_empty());
            check_image_manifest(&image, &image.manifest, None);
        }
        let mut digests: Vec<&Digest> = image.blobs.iter().map(|b| &b.digest).collect();
        digests.sort();
        digests.dedup();
        assert_eq!(
            digests.len(),
            image.blobs.len(),
            "{}: a blob is listed twice",
            image.reference()
        );
    }
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("fixture JSON parses")
}

fn find_child<'a>(image: &'a Image, descriptor: &Value) -> &'a Manifest {
    let child = image
        .children
        .iter()
        .find(|c| c.digest.as_str() == descriptor["digest"])
        .unwrap_or_else(|| panic!("{}: no child for {descriptor}", image.reference()));
    assert_eq!(descriptor["size"], child.bytes.len());
    assert_eq!(descriptor["mediaType"], child.media_type.as_str());
    child
}

fn find_blob<'a>(image: &'a Image, descriptor: &Value) -> &'a Blob {
    let blob = image
        .blobs
        .iter()
        .find(|b| b.digest.as_str() == descriptor["digest"])
        .unwrap_or_else(|| panic!("{}: no blob for {descriptor}", image.reference()));
    assert_eq!(descriptor["size"], blob.data.len());
    assert_eq!(descriptor["mediaType"], blob.media_type.as_str());
    blob
}

/// Config and layers are present, DiffIDs match the uncompressed layers, and
/// the config's platform is the one the index promised.
fn check_image_manifest(image: &Image, manifest: &Manifest, platform: Option<&Value>) {
    let parsed = parse(&manifest.bytes);
    assert_eq!(parsed["schemaVersion"], 2);
    assert_eq!(parsed["mediaType"], manifest.media_type.as_str());
    let config = parse(&find_blob(image, &parsed["config"]).data);
    let diff_ids: Vec<String> = parsed["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| Digest::of(&uncompressed(&find_blob(image, layer).data)).to_string())
        .collect();
    assert_eq!(
        config["rootfs"],
        json!({"type": "layers", "diff_ids": diff_ids})
    );
    assert_eq!(config["history"].as_array().unwrap().len(), diff_ids.len());
    if let Some(platform) = platform {
        for key in ["architecture", "os", "variant"] {
            assert_eq!(config[key], platform[key], "{}: {key}", image.reference());
        }
    }
}

/// The tar stream inside a layer: gzip is recognised by its magic bytes.
fn uncompressed(data: &[u8]) -> Vec<u8> {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return data.to_vec();
    }
    let mut out = Vec::new();
    GzDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}

/// The data of the `n`th layer of a single-platform image.
fn layer(image: &Image, n: usize) -> Vec<u8> {
    let manifest = parse(&image.manifest.bytes);
    uncompressed(&find_blob(image, &manifest["layers"][n]).data)
}

fn layer_count(image: &Image) -> usize {
    parse(&image.manifest.bytes)["layers"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn gzip_headers_carry_no_time_no_name_and_no_host() {
    for image in fixtures::all() {
        for blob in image
            .blobs
            .iter()
            .filter(|b| b.data.starts_with(&[0x1f, 0x8b]))
        {
            assert_eq!(blob.data[3], 0, "FLG: no file name, comment or extra field");
            assert_eq!(blob.data[4..8], [0, 0, 0, 0], "MTIME is 0");
            assert_eq!(blob.data[9], 255, "OS is unknown");
        }
    }
}

/// One line per tar entry: type, mode, owner, size, name and link target.
fn tar_listing(tar: &[u8]) -> String {
    let mut archive = tar::Archive::new(tar);
    let mut lines = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let header = entry.header();
        assert_eq!(header.mtime().unwrap(), FIXTURE_MTIME);
        assert_eq!(header.username_bytes(), Some(&b""[..]));
        assert_eq!(header.groupname_bytes(), Some(&b""[..]));
        let kind = format!("{:?}", header.entry_type());
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let link = entry
            .link_name_bytes()
            .map(|target| format!(" -> {}", String::from_utf8_lossy(&target)))
            .unwrap_or_default();
        lines.push(format!(
            "{kind:<9} {:04o} {:<9} {:>4} {path}{link}",
            header.mode().unwrap(),
            format!("{}:{}", header.uid().unwrap(), header.gid().unwrap()),
            header.size().unwrap(),
        ));
    }
    lines.join("\n")
}

#[test]
fn hello_tree_as_tar_entries() {
    for format in [Format::Docker, Format::Oci] {
        let image = fixtures::hello(format);
        assert_eq!(layer_count(&image), 1);
        insta::assert_snapshot!("hello_tree", tar_listing(&layer(&image, 0)));
    }
    assert!(LONG_PATH.len() > 100);
}

#[test]
fn layers_image_layer_by_layer() {
    let image = fixtures::layers(Format::Oci);
    let listing: Vec<String> = (0..layer_count(&image))
        .map(|n| format!("# layer {}\n{}", n + 1, tar_listing(&layer(&image, n))))
        .collect();
    insta::assert_snapshot!("layers_tree", listing.join("\n"));
}

/// A simple model of flattening, good enough to check the documented contract:
/// each layer's whiteouts first (they only ever hide lower layers), then its
/// entries in order, with unlink-then-create for changes of type.
#[derive(Clone, Debug)]
struct Node {
    kind: &'static str,
    mode: u32,
    owner: (u64, u64),
    size: u64,
    symlink: Option<String>,
    hardlink_to: Option<String>,
}

fn flatten(image: &Image) -> BTreeMap<String, Node> {
    let mut tree = BTreeMap::new();
    for n in 0..layer_count(image) {
        let tar = layer(image, n);
        let entries = tar_entries(&tar);
        for (path, _) in &entries {
            let (dir, name) = path.rsplit_once('/').unwrap();
            if name == ".wh..wh..opq" {
                remove_under(&mut tree, dir);
            } else if let Some(hidden) = name.strip_prefix(".wh.") {
                let hidden = format!("{dir}/{hidden}");
                tree.remove(&hidden);
                remove_under(&mut tree, &hidden);
            }
        }
        for (path, node) in entries {
            if path.rsplit('/').next().unwrap().starts_with(".wh.") {
                continue;
            }
            add(&mut tree, path, node);
        }
    }
    tree
}

fn add(tree: &mut BTreeMap<String, Node>, path: String, node: Node) {
    if let Some(target) = &node.hardlink_to {
        let linked = tree[target].clone();
        tree.insert(
            path,
            Node {
                hardlink_to: Some(target.clone()),
                ..linked
            },
        );
        return;
    }
    let keeps_children = node.kind == "dir" && tree.get(&path).is_some_and(|n| n.kind == "dir");
    if !keeps_children {
        remove_under(tree, &path);
    }
    tree.insert(path, node);
}

fn remove_under(tree: &mut BTreeMap<String, Node>, dir: &str) {
    let prefix = format!("{dir}/");
    tree.retain(|path, _| !path.starts_with(&prefix));
}

/// A layer's entries as rooted paths (`/etc/passwd`) and nodes, in tar order.
fn tar_entries(tar: &[u8]) -> Vec<(String, Node)> {
    let rooted = |bytes: &[u8]| {
        format!(
            "/{}",
            String::from_utf8(bytes.to_vec())
                .unwrap()
                .trim_end_matches('/')
        )
    };
    let mut archive = tar::Archive::new(tar);
    let mut entries = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let header = entry.header();
        let target = entry
            .link_name_bytes()
            .map(|t| String::from_utf8(t.to_vec()).unwrap());
        let kind = header.entry_type();
        entries.push((
            rooted(&entry.path_bytes()),
            Node {
                kind: match kind {
                    tar::EntryType::Directory => "dir",
                    tar::EntryType::Symlink => "symlink",
                    tar::EntryType::Fifo => "fifo",
                    _ => "file",
                },
                mode: header.mode().unwrap(),
                owner: (header.uid().unwrap(), header.gid().unwrap()),
                size: header.size().unwrap(),
                symlink: target.clone().filter(|_| kind == tar::EntryType::Symlink),
                hardlink_to: target
                    .filter(|_| kind == tar::EntryType::Link)
                    .map(|t| rooted(t.as_bytes())),
            },
        ));
    }
    entries
}

/// The tree in the format of the contract table: one line per path, like `ls -l`.
fn tree_lines(tree: &BTreeMap<String, Node>) -> Vec<String> {
    tree.iter()
        .map(|(path, node)| {
            let owner = format!("{}:{}", node.owner.0, node.owner.1);
            let size = match node.kind {
                "file" => node.size.to_string(),
                _ => "-".to_string(),
            };
            let mut line = format!(
                "{:<7}  {:04o}  {owner:<9}  {size:>3}  {path}",
                node.kind, node.mode
            );
            if let Some(target) = &node.symlink {
                line.push_str(&format!(" -> {target}"));
            }
            if let Some(target) = &node.hardlink_to {
                line.push_str(&format!("  (hardlink to {target})"));
            }
            line
        })
        .collect()
}

/// The table under "# Flattened tree" in the doc comment of `fixtures::layers`.
fn documented_tree() -> Vec<String> {
    let source = include_str!("../src/fixtures/layers.rs");
    let doc = source.lines().filter_map(|line| {
        let line = line.trim_start();
        line.strip_prefix("///")
            .or_else(|| line.strip_prefix("//!"))
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
    });
    doc.skip_while(|line| *line != "# Flattened tree")
        .skip_while(|line| *line != "```text")
        .skip(1)
        .take_while(|line| *line != "```")
        .map(str::to_string)
        .collect()
}

#[test]
fn layers_flatten_to_the_documented_tree() {
    let squash = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    for format in [Format::Docker, Format::Oci] {
        let actual = tree_lines(&flatten(&fixtures::layers(format)));
        assert_eq!(
            squash(&documented_tree()),
            squash(&actual),
            "the flattened tree differs from the table in layers.rs; it now is:\n{}",
            actual.join("\n")
        );
    }
}

#[test]
fn hostile_entries_survive_byte_for_byte() {
    let long_escape = format!("{}etc/shadow", "../".repeat(40));
    let entries = [
        Entry::file("../../etc/evil", "escape"),
        Entry::file("/abs/path", "absolute"),
        Entry::symlink("innocent", "/"),
        Entry::symlink(b"bin/\xffnot-utf8".as_slice(), long_escape.as_str()),
        Entry::hardlink("passwd-copy", "/etc/passwd"),
        Entry::file(long_escape.as_str(), "a long escaping name")
            .mode(0o6755)
            .owner(4_000_000, 65_534),
        Entry::whiteout("../../etc/passwd"),
        Entry::char_device("dev/null", 1, 3),
        Entry::block_device("dev/sda", 8, 0),
        Entry::fifo("/tmp/fifo").mode(0o1777),
    ];
    for style in [HeaderStyle::Gnu, HeaderStyle::Pax] {
        for compression in [Compression::None, Compression::Gzip] {
            let layer = LayerBuilder::new()
                .entries(entries.clone())
                .header_style(style)
                .compression(compression)
                .build();
            let tar = uncompressed(&layer.data);
            assert_eq!(Digest::of(&tar), layer.diff_id);
            assert_eq!(Digest::of(&layer.data), layer.digest);
            assert_eq!(
                compression == Compression::None,
                layer.digest == layer.diff_id
            );
            check_read_back(&tar, &entries);
        }
    }
}

fn check_read_back(tar: &[u8], expected: &[Entry]) {
    let mut archive = tar::Archive::new(tar);
    let mut read = 0;
    for (entry, expected) in archive.entries().unwrap().zip(expected) {
        let entry = entry.unwrap();
        let header = entry.header();
        assert_eq!(&*entry.path_bytes(), expected.name.as_slice());
        assert_eq!(header.mode().unwrap(), expected.mode);
        assert_eq!(
            (header.uid().unwrap(), header.gid().unwrap()),
            (expected.uid, expected.gid)
        );
        let (kind, link) = match &expected.kind {
            fixtures::Kind::File(_) => (tar::EntryType::Regular, None),
            fixtures::Kind::Dir => (tar::EntryType::Directory, None),
            fixtures::Kind::Symlink(t) => (tar::EntryType::Symlink, Some(t)),
            fixtures::Kind::Hardlink(t) => (tar::EntryType::Link, Some(t)),
            fixtures::Kind::CharDevice { major, minor } => {
                assert_eq!(header.device_major().unwrap(), Some(*major));
                assert_eq!(header.device_minor().unwrap(), Some(*minor));
                (tar::EntryType::Char, None)
            }
            fixtures::Kind::BlockDevice { major, minor } => {
                assert_eq!(header.device_major().unwrap(), Some(*major));
                assert_eq!(header.device_minor().unwrap(), Some(*minor));
                (tar::EntryType::Block, None)
            }
            fixtures::Kind::Fifo => (tar::EntryType::Fifo, None),
        };
        assert_eq!(header.entry_type(), kind);
        assert_eq!(entry.link_name_bytes().as_deref(), link.map(Vec::as_slice));
        read += 1;
    }
    assert_eq!(read, expected.len());
}

#[test]
fn hello_runs_and_prints_its_greeting() {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        eprintln!("skipped: /bin/hello of library/hello is an x86_64 Linux executable");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let tar = layer(&fixtures::hello(Format::Docker), 0);
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut program = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if &*entry.path_bytes() == b"bin/hello" {
            entry.read_to_end(&mut program).unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hello");
    std::fs::write(&path, &program).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = std::process::Command::new(&path).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), GREETING);
    assert!(output.stderr.is_empty());
    assert_eq!(output.status.code(), Some(0));
}
