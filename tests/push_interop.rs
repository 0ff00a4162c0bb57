//! `dockerless push` to the CNCF distribution registry with HTTP Basic auth:
//! skopeo copies the image back and umoci unpacks it to the tree we pushed.

mod support;

use assert_cmd::Command;
use std::path::Path;
use support::{Distribution, Skopeo, peer};

fn dockerless(home: &Path) -> Command {
    let mut command = Command::cargo_bin("dockerless").unwrap();
    command
        .env("DOCKER_INTERNALS_HOME", home)
        .env("DOCKER_CONFIG", home.join("no-docker-config"))
        .env_remove("DOCKER_USERNAME")
        .env_remove("DOCKER_PASSWORD");
    command
}

/// A small tree with files, a directory, a symlink and a hard link.
fn make_tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("etc/app")).unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::write(dir.join("etc/app/config"), "answer=42\n").unwrap();
    std::fs::write(dir.join("bin/run"), "#!/bin/sh\necho run\n").unwrap();
    std::os::unix::fs::symlink("../etc/app/config", dir.join("bin/config")).unwrap();
    std::fs::hard_link(dir.join("bin/run"), dir.join("bin/run-again")).unwrap();
}

#[test]
fn a_push_with_basic_auth_comes_back_through_skopeo_and_umoci_unchanged() {
    let Some(skopeo) = Skopeo::find() else { return };
    let Some(umoci) = peer("umoci") else { return };
    let Some(dist) = Distribution::with_user("learner", "secret") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    make_tree(tree.path());
    let image = format!("{}/learner/app:v1", dist.host);
    let from = tree.path().to_str().unwrap();

    let refused = dockerless(home.path())
        .args(["push", &image, "--from", from])
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "a push without credentials was accepted"
    );
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("DOCKER_USERNAME"),
        "the refusal should say how to log in: {said}"
    );

    dockerless(home.path())
        .args(["push", &image, "--from", from, "--format", "oci"])
        .env("DOCKER_USERNAME", "learner")
        .env("DOCKER_PASSWORD", "secret")
        .assert()
        .success();

    let layout = tempfile::tempdir().unwrap();
    let bundle = layout.path().join("bundle");
    skopeo.ok(&[
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        "learner:secret",
        &format!("docker://{image}"),
        &format!("oci:{}:app", layout.path().join("layout").display()),
    ]);
    let output = std::process::Command::new(umoci)
        .args(["unpack", "--image"])
        .arg(format!("{}:app", layout.path().join("layout").display()))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "umoci unpack: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        step_02_layers::tree::listing(&bundle.join("rootfs")).unwrap(),
        step_02_layers::tree::listing(tree.path()).unwrap(),
        "the tree umoci unpacked is not the tree we pushed"
    );
}

#[test]
fn a_pulled_image_pushed_to_the_distribution_registry_keeps_its_digest() {
    let Some(skopeo) = Skopeo::find() else { return };
    let Some(dist) = Distribution::with_user("learner", "secret") else {
        return;
    };
    let mock = mock_registry::MockRegistry::with_fixtures().unwrap();
    let home = tempfile::tempdir().unwrap();
    dockerless(home.path())
        .args(["pull", "-q", &format!("{}/library/layers:oci", mock.host())])
        .assert()
        .success();
    // As the seed does: move the image under your own name, then push it.
    let from = home.path().join(mock.host()).join("library/layers");
    let to = home.path().join(&dist.host).join("learner/layers");
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::rename(&from, &to).unwrap();
    let image = format!("{}/learner/layers:oci", dist.host);
    dockerless(home.path())
        .args(["push", &image])
        .env("DOCKER_USERNAME", "learner")
        .env("DOCKER_PASSWORD", "secret")
        .assert()
        .success();
    let raw = skopeo.ok(&[
        "inspect",
        "--tls-verify=false",
        "--creds",
        "learner:secret",
        "--raw",
        &format!("docker://{image}"),
    ]);
    let fixture = mock_registry::fixtures::layers(mock_registry::fixtures::Format::Oci);
    assert_eq!(
        raw.as_bytes(),
        fixture.manifest.bytes,
        "the image did not go back as it was pulled"
    );
}
