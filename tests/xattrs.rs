//! Extended attributes and file capabilities: a layer whose tar carries
//! `SCHILY.xattr.*` records (GNU tar `--xattrs`, BuildKit, umoci) keeps them
//! through `pull`, as root; a normal user's pull leaves out what it cannot
//! set and says so; umoci unpacks the same tree and attributes; and `push
//! --from` records them, so a round trip keeps the digest.

mod support;

use mock_registry::MockRegistry;
use mock_registry::fixtures::{Entry, Layer, LayerBuilder, image_of_layers};
use std::path::Path;
use std::process::{Command, Output};
use support::{Skopeo, peer};

const READ: &str = "step-02-layers.md#extended-attributes-and-file-capabilities";

/// `cap_net_raw=ep` as the kernel stores it in `security.capability`
/// (`struct vfs_cap_data`, revision 2): the magic with the effective flag,
/// then permitted and inheritable for capabilities 0-31 and 32-63.
/// `CAP_NET_RAW` is capability 13: bit 13 of the first permitted word.
const CAP_NET_RAW_EP: [u8; 20] = [
    0x01, 0x00, 0x00, 0x02, // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
    0x00, 0x20, 0x00, 0x00, // permitted, 0-31: 1 << 13
    0x00, 0x00, 0x00, 0x00, // inheritable, 0-31
    0x00, 0x00, 0x00, 0x00, // permitted, 32-63
    0x00, 0x00, 0x00, 0x00, // inheritable, 32-63
];

/// A `ping` with `cap_net_raw=ep` and a `user.` attribute, one owned by
/// another user (its capability must be set after the chown, which would
/// clear it), and a read-only file with a `user.` attribute.
fn layer() -> Layer {
    LayerBuilder::new()
        .entry(Entry::dir("bin"))
        .entry(
            Entry::file("bin/ping", "#!/bin/sh\necho pong\n")
                .mode(0o755)
                .xattr("security.capability", CAP_NET_RAW_EP)
                .xattr("user.origin", "iputils"),
        )
        .entry(
            Entry::file("bin/owned", "#!/bin/sh\n")
                .mode(0o755)
                .owner(1000, 1000)
                .xattr("security.capability", CAP_NET_RAW_EP),
        )
        .entry(Entry::dir("etc"))
        .entry(
            Entry::file("etc/motd", "read me\n")
                .mode(0o444)
                .xattr("user.note", "read-only"),
        )
        .build()
}

struct Setup {
    registry: MockRegistry,
}

impl Setup {
    fn new() -> Setup {
        let registry = MockRegistry::with_fixtures().unwrap();
        registry
            .seed(&image_of_layers("library/caps", "latest", vec![layer()]))
            .unwrap();
        Setup { registry }
    }

    fn image(&self, name: &str) -> String {
        format!("{}/{name}", self.registry.host())
    }

    fn dockerless(&self, home: &Path, args: &[&str]) -> Output {
        self.command(home, &[], args)
    }

    /// dockerless, behind `wrapper` (such as setpriv) when there is one.
    fn command(&self, home: &Path, wrapper: &[&str], args: &[&str]) -> Output {
        let binary = env!("CARGO_BIN_EXE_dockerless");
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .args(args)
            .env("DOCKER_INTERNALS_HOME", home)
            .env("DOCKER_CONFIG", home.join("no-docker-config"))
            .env_remove("DOCKER_USERNAME")
            .env_remove("DOCKER_PASSWORD")
            .output()
            .unwrap()
    }

    fn rootfs(&self, home: &Path, name: &str) -> std::path::PathBuf {
        home.join(self.registry.host()).join(name)
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A store in a fresh directory, or `None` (the check skipped) where its
/// file system keeps no `user.` attributes (tmpfs before Linux 6.6).
fn store_dir() -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, "").unwrap();
    if xattr::set(&probe, "user.probe", b"1").is_err() {
        workshop::skip("the temporary directory's file system keeps no user. attributes");
        return None;
    }
    std::fs::remove_file(&probe).unwrap();
    Some(dir)
}

/// Every extended attribute under `root`, one `path name=value` a line,
/// sorted, `security.selinux` left out (the host's label, not the image's).
fn attributes(root: &Path) -> String {
    let mut lines = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(root).unwrap().display().to_string();
            for name in xattr::list(&path).unwrap() {
                let name = name.to_string_lossy().into_owned();
                if name == "security.selinux" {
                    continue;
                }
                let value = xattr::get(&path, &name).unwrap().unwrap_or_default();
                lines.push(format!("{relative} {name}={}", hex(&value)));
            }
            if std::fs::symlink_metadata(&path).unwrap().is_dir() {
                stack.push(path);
            }
        }
    }
    lines.sort();
    lines.join("\n")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_pull_as_root_keeps_file_capabilities_and_user_attributes() {
    if !is_root() {
        workshop::skip("setting security.capability needs root");
        return;
    }
    let setup = Setup::new();
    let Some(home) = store_dir() else { return };
    let said = ok(&setup.dockerless(home.path(), &["pull", &setup.image("library/caps")]));
    workshop::check_eq!(said, "", read = READ, "what a root pull says on stderr");
    let root = setup.rootfs(home.path(), "library/caps/latest");
    insta::assert_snapshot!(attributes(&root), @r"
    bin/owned security.capability=0100000200200000000000000000000000000000
    bin/ping security.capability=0100000200200000000000000000000000000000
    bin/ping user.origin=69707574696c73
    etc/motd user.note=726561642d6f6e6c79
    ");
    // getcap reads the capability as the kernel will when ping runs.
    if let Some(getcap) = peer("getcap") {
        let output = Command::new(getcap)
            .arg(root.join("bin/ping"))
            .output()
            .unwrap();
        let shown =
            String::from_utf8_lossy(&output.stdout).replace(&root.display().to_string(), "");
        workshop::check_eq!(
            shown.trim(),
            "/bin/ping cap_net_raw=ep",
            read = READ,
            "getcap of the pulled ping"
        );
    }
}

#[test]
fn a_pull_as_a_normal_user_leaves_out_capabilities_and_says_so() {
    let setup = Setup::new();
    let Some(home) = store_dir() else { return };
    let wrapper: Vec<&str> = if is_root() {
        // A real normal user, with a store of its own.
        let Some(_) = peer("setpriv") else { return };
        nix::unistd::chown(
            home.path(),
            Some(nix::unistd::Uid::from_raw(65534)),
            Some(nix::unistd::Gid::from_raw(65534)),
        )
        .unwrap();
        vec![
            "setpriv",
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
        ]
    } else {
        Vec::new()
    };
    let output = setup.command(
        home.path(),
        &wrapper,
        &["pull", "-q", &setup.image("library/caps")],
    );
    let said = ok(&output);
    insta::assert_snapshot!(said, @"dockerless: note: 2 extended attributes were left out: security.capability of bin/ping (setting it needs root; pull as root to keep it); security.capability of bin/owned (setting it needs root; pull as root to keep it)");
    let root = setup.rootfs(home.path(), "library/caps/latest");
    workshop::check_eq!(
        attributes(&root),
        "bin/ping user.origin=69707574696c73\netc/motd user.note=726561642d6f6e6c79",
        read = READ,
        "the attributes a normal user's pull sets"
    );
}

#[test]
fn umoci_unpacks_the_same_tree_and_attributes() {
    if !is_root() {
        workshop::skip("umoci sets security.capability only as root");
        return;
    }
    let Some(skopeo) = Skopeo::find() else { return };
    let Some(umoci) = peer("umoci") else { return };
    let setup = Setup::new();
    let Some(home) = store_dir() else { return };
    ok(&setup.dockerless(home.path(), &["pull", "-q", &setup.image("library/caps")]));
    let ours = setup.rootfs(home.path(), "library/caps/latest");
    let Some(work) = store_dir() else { return };
    let layout = work.path().join("layout");
    skopeo.ok(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{}", setup.image("library/caps:latest")),
        &format!("oci:{}:caps", layout.display()),
    ]);
    let bundle = work.path().join("bundle");
    let output = Command::new(umoci)
        .args(["unpack", "--image"])
        .arg(format!("{}:caps", layout.display()))
        .arg(&bundle)
        .output()
        .unwrap();
    ok(&output);
    let theirs = bundle.join("rootfs");
    workshop::check_eq!(
        step_02_layers::tree::listing(&ours).unwrap(),
        step_02_layers::tree::listing(&theirs).unwrap(),
        read = READ,
        "our tree and umoci's"
    );
    workshop::check_eq!(
        attributes(&ours),
        attributes(&theirs),
        read = READ,
        "our attributes and umoci's"
    );
}

#[test]
fn a_push_from_a_pulled_tree_records_its_attributes_and_keeps_the_digest() {
    if !is_root() {
        workshop::skip("a tree with file capabilities can only be made as root");
        return;
    }
    let setup = Setup::new();
    let Some(first) = store_dir() else { return };
    ok(&setup.dockerless(first.path(), &["pull", "-q", &setup.image("library/caps")]));
    let pulled = setup.rootfs(first.path(), "library/caps/latest");
    let from = pulled.to_str().unwrap();
    ok(&setup.dockerless(
        first.path(),
        &["push", &setup.image("me/caps:v1"), "--from", from],
    ));
    // The pushed image, pulled into another store, and pushed again from there.
    let Some(second) = store_dir() else { return };
    ok(&setup.dockerless(second.path(), &["pull", "-q", &setup.image("me/caps:v1")]));
    let again = setup.rootfs(second.path(), "me/caps/v1");
    workshop::check_eq!(
        attributes(&again),
        attributes(&pulled),
        read = READ,
        "the attributes after a push and a pull"
    );
    let from = again.to_str().unwrap();
    ok(&setup.dockerless(
        second.path(),
        &["push", &setup.image("me/caps:v2"), "--from", from],
    ));
    let manifest = |tag| {
        setup
            .registry
            .manifest("me/caps", tag)
            .map(|m| String::from_utf8_lossy(&m.bytes).into_owned())
    };
    workshop::check_eq!(
        manifest("v2"),
        manifest("v1"),
        read = READ,
        "the manifest of the round trip and of the first push"
    );
}

#[test]
fn create_keeps_the_capabilities_of_the_programs_it_copies() {
    if !is_root() {
        workshop::skip("a program with file capabilities can only be made as root");
        return;
    }
    let Some(busybox) = peer("busybox") else {
        return;
    };
    let setup = Setup::new();
    let host = tempfile::tempdir().unwrap();
    let ping = host.path().join("ping");
    std::fs::copy(&busybox, &ping).unwrap();
    xattr::set(&ping, "security.capability", &CAP_NET_RAW_EP).unwrap();
    let home = tempfile::tempdir().unwrap();
    ok(&setup.dockerless(
        home.path(),
        &[
            "create",
            &setup.image("me/ping:v1"),
            "--bin",
            ping.to_str().unwrap(),
        ],
    ));
    ok(&setup.dockerless(home.path(), &["push", &setup.image("me/ping:v1")]));
    // What the layer carries: pulled into a store of its own.
    let Some(other) = store_dir() else { return };
    ok(&setup.dockerless(other.path(), &["pull", "-q", &setup.image("me/ping:v1")]));
    let pulled = setup.rootfs(other.path(), "me/ping/v1");
    let inside = pulled.join(ping.strip_prefix("/").unwrap());
    workshop::check_eq!(
        xattr::get(&inside, "security.capability").ok().flatten(),
        Some(CAP_NET_RAW_EP.to_vec()),
        read = READ,
        "the capability of the copied program, after create, push and pull"
    );
}

#[test]
fn an_export_carries_the_attributes_as_pax_records() {
    if !is_root() {
        workshop::skip("setting security.capability needs root");
        return;
    }
    let setup = Setup::new();
    let Some(home) = store_dir() else { return };
    ok(&setup.dockerless(home.path(), &["pull", "-q", &setup.image("library/caps")]));
    let archive = home.path().join("caps.tar");
    let archive_name = archive.display().to_string();
    ok(&setup.dockerless(
        home.path(),
        &["export", &setup.image("library/caps"), "-o", &archive_name],
    ));
    let mut tar = tar::Archive::new(std::fs::File::open(&archive).unwrap());
    let mut found = Vec::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        if let Some(extensions) = entry.pax_extensions().unwrap() {
            for extension in extensions {
                let extension = extension.unwrap();
                let key = extension.key().unwrap().to_string();
                found.push(format!("{path} {key}={}", hex(extension.value_bytes())));
            }
        }
    }
    found.sort();
    insta::assert_snapshot!(found.join("\n"), @r"
    bin/owned SCHILY.xattr.security.capability=0100000200200000000000000000000000000000
    bin/ping SCHILY.xattr.security.capability=0100000200200000000000000000000000000000
    bin/ping SCHILY.xattr.user.origin=69707574696c73
    etc/motd SCHILY.xattr.user.note=726561642d6f6e6c79
    ");
}
