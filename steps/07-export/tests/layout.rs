//! The image as other tools exchange it: an OCI layout (a directory and a
//! tar) that skopeo copies and umoci unpacks, and a docker-archive that
//! skopeo copies and podman loads, all from the blobs as served.

mod common;

use common::{DOCKER_ARCHIVE, OCI_LAYOUT, Podman, Setup, peer, run};
use sha2::{Digest as _, Sha256};
use std::path::Path;
use step_01_registry::Reference;
use step_01_registry::digest::Digest;
use step_02_layers::tree::{self, ListingOptions};
use step_07_export::export::fetch_missing;
use step_07_export::{Error, ExportOptions, Output, export};

/// The JSON file `name` of a layout directory, with the registry's port
/// (which changes every run) replaced.
fn json_file(dir: &Path, name: &str, setup: &Setup) -> String {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    serde_json::to_string_pretty(&value)
        .unwrap()
        .replace(&setup.registry.host(), "REGISTRY")
}

/// The manifest digest that index.json points at.
fn indexed_digest(dir: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every `blobs/sha256/<hex>` file hashes to its name.
fn check_blobs(dir: &Path) {
    for entry in std::fs::read_dir(dir.join("blobs/sha256")).unwrap() {
        let entry = entry.unwrap();
        let hex = format!("{:x}", Sha256::digest(std::fs::read(entry.path()).unwrap()));
        workshop::check_eq!(
            hex,
            entry.file_name().to_string_lossy(),
            read = OCI_LAYOUT,
            "a blob's sha256 against its name"
        );
    }
}

/// The stored manifest's digest.
fn stored_digest(setup: &Setup, reference: &Reference) -> String {
    let bytes = std::fs::read(setup.store().manifest_path(reference)).unwrap();
    format!("sha256:{:x}", Sha256::digest(bytes))
}

#[test]
fn the_oci_layout_of_an_oci_image_keeps_its_digest() {
    let setup = Setup::new();
    let hello = setup.pull("library/hello:oci");
    let (dir, _) = setup.export(&hello, "hello-oci/");
    insta::assert_snapshot!(json_file(&dir, "index.json", &setup));
    workshop::check_eq!(
        std::fs::read_to_string(dir.join("oci-layout")).unwrap(),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
        read = OCI_LAYOUT
    );
    workshop::check_eq!(
        indexed_digest(&dir),
        stored_digest(&setup, &hello),
        read = OCI_LAYOUT,
        "the manifest in index.json is the one the registry served"
    );
    check_blobs(&dir);
}

#[test]
fn a_docker_manifest_goes_into_the_layout_in_oci_form() {
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    // A directory is asked for by --format, or by a name ending in `/`.
    let (dir, exported) = setup.export_with(
        &layers,
        "layers-oci",
        &ExportOptions {
            format: Some(step_07_export::Format::Oci),
            ..ExportOptions::default()
        },
    );
    workshop::check_eq!(
        exported.oci_digest.as_ref().map(|d| d.as_str()),
        Some(indexed_digest(&dir).as_str()),
        read = OCI_LAYOUT,
        "the export reports the digest of the manifest in OCI form"
    );
    let digest = indexed_digest(&dir);
    let manifest = json_file(&dir, &format!("blobs/sha256/{}", &digest[7..]), &setup);
    insta::assert_snapshot!(manifest);
    check_blobs(&dir);
}

#[test]
fn skopeo_copies_the_layout_and_umoci_unpacks_the_stored_tree() {
    let Some(skopeo) = peer("skopeo", "skopeo") else {
        return;
    };
    let Some(umoci) = peer("umoci", "umoci") else {
        return;
    };
    if !common::is_root() {
        return;
    }
    let setup = Setup::new();
    for (name, tag) in [
        ("library/hello:oci", "oci"),
        ("library/layers:latest", "latest"),
    ] {
        let reference = setup.pull(name);
        let dir = setup.out.path().join(format!("{tag}-layout"));
        export(
            &setup.store(),
            &reference,
            &Output::Path(dir.clone()),
            &ExportOptions {
                format: Some(step_07_export::Format::Oci),
                ..ExportOptions::default()
            },
            &mut std::io::sink(),
        )
        .unwrap();
        let to = format!("docker://{}/copied/{name}", setup.registry.host());
        run(
            &skopeo,
            &[
                "copy",
                "--dest-tls-verify=false",
                &format!("oci:{}:{tag}", dir.display()),
                &to,
            ],
        );
        let repository = name.split(':').next().unwrap();
        let copied = setup
            .registry
            .manifest(&format!("copied/{repository}"), tag);
        workshop::check_eq!(
            copied.map(|m| m.digest.to_string()),
            Some(indexed_digest(&dir)),
            read = OCI_LAYOUT,
            "the manifest skopeo copied from the layout into the registry"
        );
        let bundle = setup.out.path().join(format!("{tag}-bundle"));
        run(
            &umoci,
            &[
                "unpack",
                "--image",
                &format!("{}:{tag}", dir.display()),
                &bundle.display().to_string(),
            ],
        );
        workshop::check_eq!(
            tree::listing(&bundle.join("rootfs")).unwrap(),
            tree::listing(&setup.rootfs(&reference)).unwrap(),
            read = OCI_LAYOUT,
            "umoci's unpacking of the layout of {name} against the stored tree"
        );
    }
}

#[test]
fn the_oci_archive_is_the_layout_in_a_tar_that_skopeo_reads() {
    let Some(skopeo) = peer("skopeo", "skopeo") else {
        return;
    };
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    let (path, _) = setup.export(&layers, "layers.oci.tar");
    let unpacked = setup.out.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    tar::Archive::new(std::fs::File::open(&path).unwrap())
        .unpack(&unpacked)
        .unwrap();
    check_blobs(&unpacked);
    run(
        &skopeo,
        &[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci-archive:{}:latest", path.display()),
            &format!("docker://{}/copied/layers:latest", setup.registry.host()),
        ],
    );
    workshop::check_eq!(
        setup
            .registry
            .manifest("copied/layers", "latest")
            .map(|m| m.digest.to_string()),
        Some(indexed_digest(&unpacked)),
        read = OCI_LAYOUT
    );
}

#[test]
fn the_docker_archive_names_its_config_and_layers() {
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    let (path, _) = setup.export(&layers, "layers.docker.tar");
    let unpacked = setup.out.path().join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    tar::Archive::new(std::fs::File::open(&path).unwrap())
        .unpack(&unpacked)
        .unwrap();
    insta::assert_snapshot!(json_file(&unpacked, "manifest.json", &setup));
    let repositories = json_file(&unpacked, "repositories", &setup);
    workshop::check!(
        repositories.contains("REGISTRY/library/layers") && repositories.contains("\"latest\""),
        expected = "repositories naming REGISTRY/library/layers with the tag latest",
        got = repositories,
        read = DOCKER_ARCHIVE,
    );
    check_blobs(&unpacked);
}

#[test]
fn skopeo_copies_and_podman_loads_the_docker_archive() {
    let Some(skopeo) = peer("skopeo", "skopeo") else {
        return;
    };
    let podman_dir = tempfile::tempdir().unwrap();
    let Some(podman) = Podman::find(podman_dir.path()) else {
        return;
    };
    let setup = Setup::new();
    let layers = setup.pull("library/layers");
    let (path, _) = setup.export(&layers, "layers.docker.tar");
    run(
        &skopeo,
        &[
            "copy",
            "--dest-tls-verify=false",
            &format!("docker-archive:{}", path.display()),
            &format!("docker://{}/copied/layers:latest", setup.registry.host()),
        ],
    );
    workshop::check!(
        setup.registry.manifest("copied/layers", "latest").is_some(),
        expected = "the image in the registry after skopeo copy docker-archive:",
        got = "no manifest",
        read = DOCKER_ARCHIVE,
    );
    let loaded = podman.run(&["load", "-i", &path.display().to_string()]);
    let name = format!("{}/library/layers:latest", setup.registry.host());
    workshop::check!(
        loaded.contains(&name),
        expected = format!("podman load: Loaded image: {name}"),
        got = &loaded,
        read = DOCKER_ARCHIVE,
    );
    // Owners are left out of this comparison: applying the fixture's own
    // layers, podman's storage gives srv/app/config.txt (a file with two
    // names, chowned in a later layer) 0:0 where step 02 and umoci give
    // 1000:1000. The archive carries those layers unchanged, so that is
    // podman's reading of the layers, not of the archive; owners are
    // compared in the WSL import check, whose archive is one layer.
    let without_owners = ListingOptions {
        owners: false,
        ..ListingOptions::default()
    };
    let mounted = podman.run(&["image", "mount", &name]);
    let got = tree::listing_with(Path::new(&mounted), &without_owners).unwrap();
    podman.run(&["image", "unmount", &name]);
    workshop::check_eq!(
        got,
        tree::listing_with(&setup.rootfs(&layers), &without_owners).unwrap(),
        read = DOCKER_ARCHIVE,
        "podman load, then podman image mount: the tree"
    );
}

#[test]
fn a_layer_missing_from_the_cache_is_named_and_pull_brings_it_back() {
    let setup = Setup::new();
    let layers = setup.pull("library/layers:oci");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(setup.store().manifest_path(&layers)).unwrap())
            .unwrap();
    let digest: Digest = manifest["layers"][1]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    std::fs::remove_file(setup.store().blob_path(&digest)).unwrap();
    let path = setup.out.path().join("layers.oci.tar");
    let got = export(
        &setup.store(),
        &layers,
        &Output::Path(path.clone()),
        &ExportOptions::default(),
        &mut std::io::sink(),
    );
    let message = match got {
        Err(error @ Error::MissingBlob { .. }) => error.to_string(),
        other => panic!("expected Error::MissingBlob, got {other:?}"),
    };
    workshop::check!(
        message.contains(digest.as_str()) && message.contains("--pull"),
        expected = format!("a message naming {digest} and --pull"),
        got = &message,
        read = OCI_LAYOUT,
    );
    workshop::check!(
        !path.exists(),
        expected = "no file",
        got = "a file",
        read = OCI_LAYOUT
    );
    // `--pull`: the missing layer comes back from the registry, and the export works.
    fetch_missing(&setup.client(&layers), &setup.store(), &layers).unwrap();
    export(
        &setup.store(),
        &layers,
        &Output::Path(path.clone()),
        &ExportOptions::default(),
        &mut std::io::sink(),
    )
    .unwrap();
    workshop::check!(
        setup.store().blob_path(&digest).is_file() && path.is_file(),
        expected = "the layer back in the cache and the archive written",
        got = format!("cached: {}", setup.store().blob_path(&digest).is_file()),
        read = OCI_LAYOUT,
    );
}
