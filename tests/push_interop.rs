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

/// A Docker config whose `credsStore` is a fake helper on PATH answering
/// `learner`/`secret`, as Docker Desktop or `docker-credential-pass` would:
/// writes both into `dir` and returns the environment that uses them.
fn helper_env(dir: &Path) -> [(&'static str, String); 2] {
    let helper = dir.join("docker-credential-fake");
    std::fs::write(
        &helper,
        "#!/bin/sh\n[ \"$1\" = get ] || exit 3\ncat >/dev/null\n\
         echo '{\"ServerURL\":\"x\",\"Username\":\"learner\",\"Secret\":\"secret\"}'\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("config.json"), r#"{"credsStore":"fake"}"#).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    [
        ("DOCKER_CONFIG", dir.display().to_string()),
        ("PATH", format!("{}:{path}", dir.display())),
    ]
}

#[test]
fn a_credential_helper_logs_in_to_the_distribution_registry_and_pulls_race_in_one_store() {
    let Some(dist) = Distribution::with_user("learner", "secret") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let env = helper_env(config.path());
    let tree = tempfile::tempdir().unwrap();
    make_tree(tree.path());
    let image = format!("{}/learner/app:v1", dist.host);
    dockerless(home.path())
        .envs(env.clone())
        .args(["push", &image, "--from", tree.path().to_str().unwrap()])
        .assert()
        .success();
    // Four pulls of what was pushed, into one fresh store, at once.
    let store = tempfile::tempdir().unwrap();
    let pulls: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_dockerless"))
                .env("DOCKER_INTERNALS_HOME", store.path())
                .env_remove("DOCKER_USERNAME")
                .env_remove("DOCKER_PASSWORD")
                .envs(env.clone())
                .args(["pull", "-q", &image])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for pull in pulls {
        let output = pull.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "a pull failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let pulled = store.path().join(&dist.host).join("learner/app/v1");
    assert_eq!(
        std::fs::read_to_string(pulled.join("etc/app/config")).unwrap(),
        "answer=42\n"
    );
    let partial: Vec<_> = std::fs::read_dir(store.path().join(".blobs/partial"))
        .unwrap()
        .collect();
    assert!(partial.is_empty(), "partial downloads left: {partial:?}");
}
