//! The fixture images.

use super::*;

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
            // The amd64 image of library/multi is library/hello's layer:
            // one snapshot holds that tree.
            let snapshot = match architecture {
                "amd64" => "hello".to_string(),
                other => format!("multi_{other}"),
            };
            insta::assert_snapshot!(snapshot, flattened_listing(&image, child));
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
    let source = include_str!("../../../../mock-registry/src/fixtures/layers.rs");
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
