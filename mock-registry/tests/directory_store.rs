//! `serve --dir`: the store is an OCI image layout that survives restarts and
//! can be read by the tools that read layouts.

use mock_registry::{Digest, MockRegistry, fixtures};
use serde_json::Value;
use std::path::Path;

fn start(dir: &Path, fixtures: bool) -> MockRegistry {
    MockRegistry::builder()
        .directory(dir)
        .fixtures(fixtures)
        .start()
        .expect("registry starts on a directory")
}

fn index(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap()
}

#[test]
fn the_store_is_an_oci_layout() {
    let dir = tempfile::tempdir().unwrap();
    let _registry = start(dir.path(), true);
    let layout: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("oci-layout")).unwrap()).unwrap();
    assert_eq!(layout["imageLayoutVersion"], "1.0.0");
    let names: Vec<String> = index(dir.path())["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(str::to_string)
        .collect();
    assert_eq!(
        names,
        [
            "library/hello:latest",
            "library/hello:oci",
            "library/layers:latest",
            "library/layers:oci",
            "library/multi:latest",
            "library/multi:oci"
        ]
    );
    for image in fixtures::all() {
        for blob in &image.blobs {
            let path = dir.path().join("blobs/sha256").join(blob.digest.hex());
            assert_eq!(
                std::fs::read(&path).unwrap(),
                blob.data,
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn images_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let hello = fixtures::hello(fixtures::Format::Oci);
    {
        let registry = start(dir.path(), false);
        let mut moved = hello.clone();
        moved.repository = "me/app".into();
        moved.tag = "v1".into();
        registry.seed(&moved).unwrap();
    }
    let registry = start(dir.path(), false);
    assert_eq!(registry.tags("me/app"), Some(vec!["v1".to_string()]));
    let manifest = registry.manifest("me/app", "v1").unwrap();
    assert_eq!(manifest.bytes, hello.manifest.bytes);
    for blob in &hello.blobs {
        assert!(registry.has_blob("me/app", &blob.digest), "{}", blob.digest);
    }
    assert_eq!(registry.tags("library/hello"), None);
}

#[test]
fn a_layout_with_bare_tags_is_imported_into_the_default_repository() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("alpine");
    drop(start(&layout, true));
    // Rewrite the index as skopeo writes it: a bare tag, no repository annotation.
    let hello = fixtures::hello(fixtures::Format::Docker);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": hello.manifest.media_type,
            "digest": hello.manifest.digest.as_str(),
            "size": hello.manifest.bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": "3.20"}
        }]
    });
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();

    let registry = start(&layout, false);
    assert_eq!(registry.tags("alpine"), Some(vec!["3.20".to_string()]));
    let renamed = MockRegistry::builder()
        .directory(&layout)
        .default_repository("library/alpine")
        .start()
        .unwrap();
    assert_eq!(
        renamed.manifest("library/alpine", "3.20").unwrap().digest,
        hello.manifest.digest
    );
}

#[test]
fn a_broken_layout_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.json"), "{ not json").unwrap();
    let error = MockRegistry::builder()
        .directory(dir.path())
        .start()
        .err()
        .expect("a broken index.json is refused");
    let message = error.to_string();
    assert!(
        message.contains("index.json is not valid JSON"),
        "{message}"
    );
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );

    let missing = Digest::of(b"nothing");
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": missing.as_str(), "size": 7,
        "annotations": {"org.opencontainers.image.ref.name": "a:b"}}]});
    std::fs::write(dir.path().join("index.json"), index.to_string()).unwrap();
    let message = MockRegistry::builder()
        .directory(dir.path())
        .start()
        .err()
        .unwrap()
        .to_string();
    assert!(message.contains("its blob is missing"), "{message}");
}
