//! skopeo, a real client, cannot tell `mock-registry serve` from a real
//! registry: it inspects the fixtures, and copies OCI layouts in and out with
//! every digest intact, with and without credentials.

mod support;

use mock_registry::{MockRegistry, fixtures};
use support::{Served, Skopeo, layout_blobs};

const INSECURE: &str = "--tls-verify=false";

#[test]
fn skopeo_inspects_every_fixture_byte_for_byte() {
    let Some(skopeo) = Skopeo::find() else { return };
    let served = Served::start(&[]);
    for image in fixtures::all() {
        let reference = format!("docker://{}/{}", served.host, image.reference());
        let raw = skopeo.ok(&["inspect", INSECURE, "--raw", &reference]);
        assert_eq!(
            raw.as_bytes(),
            image.manifest.bytes,
            "skopeo read a different manifest for {reference}"
        );
    }
    let hello = fixtures::hello(fixtures::Format::Docker);
    let summary: serde_json::Value = serde_json::from_str(&skopeo.ok(&[
        "inspect",
        INSECURE,
        &format!("docker://{}/library/hello:latest", served.host),
    ]))
    .unwrap();
    assert_eq!(summary["Digest"], hello.manifest.digest.as_str());
    assert_eq!(summary["Architecture"], "amd64");
    assert_eq!(summary["Os"], "linux");
    assert_eq!(summary["Layers"].as_array().unwrap().len(), 1);
}

/// An OCI layout holding every fixture, written by the registry's directory store.
fn fixture_layout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    drop(
        MockRegistry::builder()
            .directory(dir.path())
            .fixtures(true)
            .start()
            .unwrap(),
    );
    dir
}

#[test]
fn skopeo_round_trips_layouts_through_the_registry_with_every_digest_intact() {
    let Some(skopeo) = Skopeo::find() else { return };
    let source = fixture_layout();
    let stored = tempfile::tempdir().unwrap();
    let served = Served::start(&["--dir", stored.path().to_str().unwrap(), "--no-fixtures"]);
    let back = tempfile::tempdir().unwrap();
    // An OCI layout holds OCI manifests (skopeo skips other entries), so the
    // OCI form of each fixture goes layout -> registry -> layout.
    let images: Vec<_> = fixtures::all()
        .into_iter()
        .filter(|image| image.tag == "oci")
        .collect();
    for image in &images {
        let from = format!("oci:{}:{}", source.path().display(), image.reference());
        let remote = format!(
            "docker://{}/copies/{}",
            served.host,
            image.reference().replace("library/", "")
        );
        skopeo.ok(&[
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &from,
            &remote,
        ]);
        let raw = skopeo.ok(&["inspect", INSECURE, "--raw", &remote]);
        assert_eq!(
            raw.as_bytes(),
            image.manifest.bytes,
            "{remote} changed on the way in"
        );

        let to = format!("oci:{}:{}", back.path().display(), image.reference());
        skopeo.ok(&[
            "copy",
            "--all",
            "--preserve-digests",
            "--src-tls-verify=false",
            &remote,
            &to,
        ]);
    }
    // Every blob and manifest came back with the same digest.
    let expected: std::collections::BTreeSet<String> = images
        .iter()
        .flat_map(|image| {
            let blobs = image.blobs.iter().map(|b| b.digest.to_string());
            let children = image.children.iter().map(|m| m.digest.to_string());
            blobs
                .chain(children)
                .chain([image.manifest.digest.to_string()])
        })
        .collect();
    assert_eq!(
        layout_blobs(back.path()),
        expected.into_iter().collect::<Vec<_>>()
    );
    for digest in layout_blobs(back.path()) {
        let bytes = std::fs::read(back.path().join("blobs/sha256").join(&digest[7..])).unwrap();
        assert_eq!(mock_registry::Digest::of(&bytes).as_str(), digest);
    }
    // What the registry stored is itself a layout skopeo can read.
    drop(served);
    let direct = format!("oci:{}:copies/hello:oci", stored.path().display());
    let raw = skopeo.ok(&["inspect", "--raw", &direct]);
    assert_eq!(
        raw.as_bytes(),
        fixtures::hello(fixtures::Format::Oci).manifest.bytes
    );
}

#[test]
fn skopeo_copies_docker_schema2_images_between_repositories_unchanged() {
    let Some(skopeo) = Skopeo::find() else { return };
    let served = Served::start(&[]);
    for image in fixtures::all()
        .into_iter()
        .filter(|image| image.tag == "latest")
    {
        let from = format!("docker://{}/{}", served.host, image.reference());
        let to = format!("docker://{}/mirror/{}", served.host, image.reference());
        skopeo.copy_between_registries(&from, &to);
        let raw = skopeo.ok(&["inspect", INSECURE, "--raw", &to]);
        assert_eq!(
            raw.as_bytes(),
            image.manifest.bytes,
            "{to} is not byte-exact"
        );
    }
}

#[test]
fn with_auth_skopeo_needs_the_credentials_to_pull_and_push() {
    let Some(skopeo) = Skopeo::find() else { return };
    let source = fixture_layout();
    for mode in [
        &["--auth", "learner:secret"][..],
        &["--auth", "learner:secret", "--basic"],
    ] {
        let served = Served::start(mode);
        let remote = format!("docker://{}/library/hello:latest", served.host);
        let pushed = format!("docker://{}/learner/hello:v1", served.host);
        let from = format!("oci:{}:library/hello:oci", source.path().display());

        let refused = skopeo.run(&["inspect", INSECURE, "--raw", &remote]);
        assert!(
            !refused.status.success(),
            "{mode:?}: pull without credentials was allowed"
        );
        let refused = skopeo.run(&["copy", "--dest-tls-verify=false", &from, &pushed]);
        assert!(
            !refused.status.success(),
            "{mode:?}: push without credentials was allowed"
        );
        let wrong = skopeo.run(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            "learner:guess",
            &from,
            &pushed,
        ]);
        assert!(
            !wrong.status.success(),
            "{mode:?}: push with a wrong password was allowed"
        );

        skopeo.ok(&[
            "inspect",
            INSECURE,
            "--creds",
            "learner:secret",
            "--raw",
            &remote,
        ]);
        skopeo.ok(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            "learner:secret",
            &from,
            &pushed,
        ]);
        let raw = skopeo.ok(&[
            "inspect",
            INSECURE,
            "--creds",
            "learner:secret",
            "--raw",
            &pushed,
        ]);
        assert_eq!(
            raw.as_bytes(),
            fixtures::hello(fixtures::Format::Oci).manifest.bytes
        );
    }
}
