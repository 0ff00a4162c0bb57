//! `dockerless pull` against the CNCF distribution registry flattens every
//! fixture, in Docker schema2 and OCI form, to exactly the tree `umoci unpack`
//! makes of the same image.

mod support;

use assert_cmd::Command;
use mock_registry::{MockRegistry, fixtures};
use std::path::Path;
use support::{Distribution, Skopeo, peer};

/// The fixtures pushed to the distribution registry, by skopeo, under `interop/`.
fn seed(skopeo: &Skopeo, dist: &Distribution) -> Vec<String> {
    let mock = MockRegistry::with_fixtures().unwrap();
    let mut names = Vec::new();
    for image in fixtures::all() {
        let name = format!(
            "interop/{}-{}",
            image.repository.replace("library/", ""),
            image.tag
        );
        let from = format!("docker://{}/{}", mock.host(), image.reference());
        let to = format!("docker://{}/{name}:v1", dist.host);
        skopeo.copy_between_registries(&from, &to);
        names.push(name);
    }
    names
}

/// umoci's unpacking of `name` from the registry: skopeo copies it to an OCI
/// layout (the host's platform of an index), umoci unpacks that.
fn umoci_tree(
    skopeo: &Skopeo,
    umoci: &Path,
    dist: &Distribution,
    name: &str,
    work: &Path,
) -> String {
    let layout = work.join("layout");
    let bundle = work.join(format!("bundle-{}", name.replace('/', "-")));
    skopeo.ok(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{}/{name}:v1", dist.host),
        &format!("oci:{}:{}", layout.display(), name.replace('/', "-")),
    ]);
    let mut unpack = std::process::Command::new(umoci);
    unpack.arg("unpack");
    if !nix_is_root() {
        unpack.arg("--rootless");
    }
    let output = unpack
        .arg("--image")
        .arg(format!("{}:{}", layout.display(), name.replace('/', "-")))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "umoci unpack failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    step_02_layers::tree::listing(&bundle.join("rootfs")).unwrap()
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

#[test]
fn pulls_flatten_to_the_same_tree_as_umoci() {
    let Some(skopeo) = Skopeo::find() else { return };
    let Some(umoci) = peer("umoci") else { return };
    let Some(dist) = Distribution::start() else {
        return;
    };
    let names = seed(&skopeo, &dist);
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    for name in names {
        let reference = format!("{}/{name}:v1", dist.host);
        Command::cargo_bin("dockerless")
            .unwrap()
            .args(["pull", "-q", &reference])
            .env("DOCKER_INTERNALS_HOME", home.path())
            .assert()
            .success();
        let ours =
            step_02_layers::tree::listing(&home.path().join(format!("{}/{name}/v1", dist.host)))
                .unwrap();
        let theirs = umoci_tree(&skopeo, &umoci, &dist, &name, work.path());
        assert_eq!(
            ours, theirs,
            "dockerless and umoci flatten {reference} differently"
        );
    }
}
