//! `dockerless push` against the bundled registry: the upload protocol step
//! by step, what a second push sends, mounts, chunks, and failures.

use mock_registry::{Auth, Fault, FaultRule, MockRegistry, Settings, Target};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use step_01_registry::credentials::Credentials;
use step_01_registry::digest::Digest;
use step_01_registry::{Client, ClientOptions, Reference, RetryPolicy};
use step_02_layers::progress::Silent;
use step_02_layers::pull::{PullOptions, pull};
use step_02_layers::store::Store;
use step_02_layers::tree;
use step_03_push::Error;
use step_03_push::push::{PushOptions, PushProgress, Pushed, push};
use step_03_push::upload::{Outcome, UploadOptions};

struct Setup {
    registry: MockRegistry,
    home: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let registry = MockRegistry::with_fixtures().expect("the bundled registry starts");
        registry.set_auth(Auth::token("learner", "secret"));
        Setup {
            registry,
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn reference(&self, name: &str) -> Reference {
        Reference::parse(&format!("{}/{name}", self.registry.host())).unwrap()
    }

    fn store(&self) -> Store {
        Store::open(Some(self.home.path())).unwrap()
    }

    fn client(&self, reference: &Reference, password: &str) -> Client {
        Client::new(
            reference,
            ClientOptions {
                credentials: Some(Credentials::new("learner", password)),
                retry: RetryPolicy {
                    attempts: 3,
                    base_delay: Duration::ZERO,
                    max_delay: Duration::ZERO,
                },
                ..ClientOptions::default()
            },
        )
        .unwrap()
    }

    fn push_with(
        &self,
        name: &str,
        options: &PushOptions,
        progress: &dyn PushProgress,
    ) -> Result<Pushed, Error> {
        // One blob at a time: the request logs the checks compare are in order.
        let options = &PushOptions {
            jobs: 1,
            ..options.clone()
        };
        let reference = self.reference(name);
        push(
            &self.client(&reference, "secret"),
            &self.store(),
            &reference,
            options,
            progress,
        )
    }

    fn push(&self, name: &str, options: &PushOptions) -> Result<Pushed, Error> {
        self.push_with(name, options, &())
    }

    fn pull(&self, name: &str) -> std::path::PathBuf {
        let reference = self.reference(name);
        let options = PullOptions {
            jobs: 1,
            ..PullOptions::default()
        };
        pull(
            &self.client(&reference, "secret"),
            &self.store(),
            &reference,
            &options,
            &Silent,
        )
        .expect("the image pulls")
        .path
    }

    fn log(&self) -> String {
        self.registry
            .take_request_lines()
            .iter()
            .map(|line| redact_upload_ids(line))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Upload session ids are random: `uploads/<id>` becomes `uploads/ID`, and
/// `_state=<id>` becomes `_state=STATE`.
fn redact_upload_ids(line: &str) -> String {
    let line = match line.find("_state=") {
        Some(start) => {
            let rest = &line[start + "_state=".len()..];
            let end = rest.find(['&', ' ']).unwrap_or(rest.len());
            format!("{}_state=STATE{}", &line[..start], &rest[end..])
        }
        None => line.to_string(),
    };
    let line = line.as_str();
    match line.find("/blobs/uploads/") {
        Some(start) => {
            let rest = &line[start + "/blobs/uploads/".len()..];
            let end = rest.find(['?', ' ']).unwrap_or(rest.len());
            if end == 0 {
                line.to_string()
            } else {
                format!("{}/blobs/uploads/ID{}", &line[..start], &rest[end..])
            }
        }
        None => line.to_string(),
    }
}

/// A small tree with every kind of entry a layer holds.
fn make_tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("etc/app")).unwrap();
    std::fs::write(dir.join("bin/tool"), b"#!/bin/sh\necho tool\n").unwrap();
    std::fs::write(dir.join("etc/app/config"), b"answer=42\n").unwrap();
    std::fs::write(dir.join("etc/empty"), b"").unwrap();
    std::os::unix::fs::symlink("../bin/tool", dir.join("etc/app/tool")).unwrap();
    std::fs::hard_link(dir.join("etc/app/config"), dir.join("etc/config-link")).unwrap();
    let long = dir.join("etc").join("n".repeat(120));
    std::fs::write(long, b"a name longer than a tar header holds\n").unwrap();
    for (path, mode) in [
        ("bin", 0o755),
        ("bin/tool", 0o4755),
        ("etc", 0o755),
        ("etc/app", 0o750),
        ("etc/app/config", 0o600),
        ("etc/empty", 0o644),
    ] {
        std::fs::set_permissions(dir.join(path), std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn from(dir: &Path) -> PushOptions {
    PushOptions {
        from: Some(dir.to_path_buf()),
        ..PushOptions::default()
    }
}

#[test]
fn a_first_push_uploads_every_blob_then_the_manifest() {
    let setup = Setup::new();
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path());
    setup
        .push("learner/app:v1", &from(dir.path()))
        .expect("the push succeeds");
    insta::assert_snapshot!(setup.log());
}

#[test]
fn a_second_push_only_asks() {
    let setup = Setup::new();
    setup.pull("library/layers:latest");
    setup
        .push("library/layers:latest", &PushOptions::default())
        .unwrap();
    let pushed = setup
        .push("library/layers:latest", &PushOptions::default())
        .unwrap();
    workshop::check!(
        pushed.as_stored && pushed.blobs.iter().all(|(_, o)| *o == Outcome::Present),
        expected = "the unchanged image sent as stored, every blob already there",
        got = pushed,
        read = "step-03-push.md#what-a-push-sends",
    );
    let log = setup.log();
    let second: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.starts_with("PUT /v2/library/layers/manifests"))
        .skip(1)
        .collect();
    insta::assert_snapshot!(second.join("\n"));
}

#[test]
fn a_pulled_image_goes_back_as_it_was_pulled() {
    let setup = Setup::new();
    let fixture = mock_registry::fixtures::layers(mock_registry::fixtures::Format::Oci);
    setup.pull("library/layers:oci");
    let pushed = setup
        .push("library/layers:oci", &PushOptions::default())
        .unwrap();
    workshop::check_eq!(
        pushed.digest.to_string(),
        fixture.manifest.digest.to_string(),
        read = "step-03-push.md#what-a-push-sends",
        "the same manifest digest as pulled"
    );
}

#[test]
fn a_changed_directory_becomes_one_new_layer_with_the_old_settings() {
    let setup = Setup::new();
    let root = setup.pull("library/layers:latest");
    std::fs::write(root.join("srv/new-file"), b"added after the pull\n").unwrap();
    let pushed = setup
        .push("library/layers:latest", &PushOptions::default())
        .unwrap();
    let manifest = setup.registry.manifest("library/layers", "latest").unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&manifest.bytes).unwrap();
    workshop::check!(
        !pushed.as_stored && parsed["layers"].as_array().unwrap().len() == 1,
        expected = "a manifest with one new layer",
        got = parsed,
        read = "step-03-push.md#what-a-push-sends",
    );
    let config_digest = parsed["config"]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let config = std::fs::read(setup.store().blob_path(&config_digest)).unwrap();
    let config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    workshop::check_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/bin/hello"]),
        read = "step-03-push.md#the-config-and-the-manifest",
        "the run settings come from the pulled config"
    );
}

#[test]
fn blobs_from_another_repository_are_mounted() {
    let setup = Setup::new();
    setup.pull("library/hello:latest");
    setup
        .store()
        .move_image(
            &setup.reference("library/hello:latest"),
            &setup.reference("learner/hello:latest"),
        )
        .unwrap();
    setup.log();
    let pushed = setup
        .push("learner/hello:latest", &PushOptions::default())
        .unwrap();
    workshop::check!(
        pushed.blobs.iter().all(|(_, o)| *o == Outcome::Mounted),
        expected = "every blob mounted from library/hello",
        got = pushed,
        read = "step-03-push.md#mounting",
    );
    insta::assert_snapshot!(setup.log());
}

#[test]
fn a_chunked_push_respects_the_minimum_chunk() {
    let setup = Setup::new();
    setup.registry.set_settings(Settings {
        chunk_min_length: Some(512),
        location_query: true,
        absolute_locations: true,
    });
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path());
    // Bytes that do not compress, so the layer needs several chunks.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..4000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(dir.path().join("data"), noise).unwrap();
    let options = PushOptions {
        upload: UploadOptions {
            chunk_size: Some(100),
        },
        ..from(dir.path())
    };
    setup
        .push("learner/chunked:v1", &options)
        .expect("the chunked push succeeds");
    let log = setup.log().replace(&setup.registry.url(), "");
    let patches = log.lines().filter(|l| l.starts_with("PATCH")).count();
    workshop::check!(
        patches >= 2,
        expected = "several PATCH requests",
        got = log,
        read = "step-03-push.md#chunked-uploads"
    );
    insta::assert_snapshot!(log);
}

#[test]
fn the_layer_is_the_same_bytes_every_time() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path());
    let build = || {
        let mut out = Vec::new();
        let digests =
            step_03_push::layer::write_layer(dir.path(), &Default::default(), &mut out).unwrap();
        (digests, out)
    };
    let (first, bytes) = build();
    let (second, _) = build();
    workshop::check_eq!(
        first,
        second,
        read = "step-03-push.md#a-layer-from-a-directory",
        "two builds of one tree"
    );
    workshop::check_eq!(
        first.digest,
        step_01_registry::manifest::sha256_digest(&bytes),
        read = "step-03-push.md#digests-and-diffids"
    );
    workshop::check_eq!(
        first.size,
        bytes.len() as u64,
        read = "step-03-push.md#digests-and-diffids"
    );
    let mut entries = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let header = entry.header();
        let link = entry
            .link_name()
            .unwrap()
            .map(|l| format!(" -> {}", l.display()))
            .unwrap_or_default();
        entries.push(format!(
            "{:?} {} {:o} mtime={}{link}",
            header.entry_type(),
            entry.path().unwrap().display(),
            header.mode().unwrap(),
            header.mtime().unwrap()
        ));
    }
    insta::assert_snapshot!(entries.join("\n"));
}

#[test]
fn config_and_manifest_for_a_fixture_directory() {
    if !Path::new("/proc/self").exists() || nix_uid() != 0 {
        workshop::skip("needs root: the digests cover file owners, which are 0:0 only for root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path());
    let mut out = Vec::new();
    let layer =
        step_03_push::layer::write_layer(dir.path(), &Default::default(), &mut out).unwrap();
    let config = step_03_push::image::config(None, &layer, "test");
    let config_digest = step_01_registry::manifest::sha256_digest(&config);
    let manifest = step_03_push::image::manifest(
        step_03_push::image::Format::Oci,
        (&config_digest, config.len() as u64),
        &[(layer.digest.clone(), layer.size)],
    );
    insta::assert_snapshot!(format!(
        "layer {layer:?}\nconfig {}\nmanifest {}",
        String::from_utf8(config).unwrap(),
        String::from_utf8(manifest).unwrap()
    ));
}

fn nix_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next().map(|u| u.parse().unwrap()))
        .unwrap()
}

#[test]
fn push_then_pull_gives_back_the_same_tree() {
    let setup = Setup::new();
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path());
    setup
        .push("learner/roundtrip:v1", &from(dir.path()))
        .unwrap();
    let pulled = setup.pull("learner/roundtrip:v1");
    let read = "step-03-push.md#a-layer-from-a-directory";
    workshop::check_eq!(
        tree::listing(&pulled).unwrap(),
        tree::listing(dir.path()).unwrap(),
        read = read
    );
}

/// Makes every token expire after the first blob, as if the push took long.
struct ExpireAfterFirst<'a>(&'a MockRegistry, std::sync::atomic::AtomicBool);

impl PushProgress for ExpireAfterFirst<'_> {
    fn blob(&self, _: &Digest, _: u64, _: Outcome) {
        if !self.1.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.0.expire_tokens();
        }
    }
}

#[test]
fn an_expired_token_mid_push_is_replaced() {
    let setup = Setup::new();
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path());
    let progress = ExpireAfterFirst(&setup.registry, std::sync::atomic::AtomicBool::new(false));
    setup
        .push_with("learner/slow:v1", &from(dir.path()), &progress)
        .expect("the push gets a new token and goes on");
    workshop::check!(
        setup
            .registry
            .tags("learner/slow")
            .is_some_and(|t| t == ["v1"]),
        expected = "the tag pushed",
        got = setup.registry.tags("learner/slow"),
        read = "step-03-push.md#credentials-for-push",
    );
}

#[test]
fn server_errors_during_upload_are_retried() {
    let setup = Setup::new();
    setup.registry.inject(
        FaultRule::new(Fault::ServerError { status: 503 })
            .on(Target::Uploads)
            .times(2),
    );
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path());
    setup
        .push("learner/flaky:v1", &from(dir.path()))
        .expect("the push recovers");
    workshop::check!(
        setup.registry.tags("learner/flaky").is_some(),
        expected = "the tag pushed",
        got = setup.registry.tags("learner/flaky"),
        read = "step-03-push.md#when-things-fail",
    );
}

#[test]
fn a_failed_blob_never_leaves_a_tag() {
    let setup = Setup::new();
    setup.registry.inject(
        FaultRule::new(Fault::ServerError { status: 500 })
            .on(Target::Uploads)
            .always(),
    );
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path());
    let error = setup
        .push("learner/broken:v1", &from(dir.path()))
        .unwrap_err();
    let log = setup.log();
    workshop::check!(
        !log.contains("/manifests/"),
        expected = format!(
            "no manifest sent, since the manifest goes last (the push failed with: {error})"
        ),
        got = log,
        read = "step-03-push.md#why-the-manifest-goes-last",
    );
}

#[test]
fn wrong_credentials_say_so_without_the_password() {
    let setup = Setup::new();
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path());
    let reference = setup.reference("learner/app:v1");
    let error = push(
        &setup.client(&reference, "hunter2"),
        &setup.store(),
        &reference,
        &from(dir.path()),
        &(),
    )
    .unwrap_err();
    let message = error.to_string();
    workshop::check!(
        message.contains("password") && !message.contains("hunter2"),
        expected = "an error about the password that does not print it",
        got = message,
        read = "step-03-push.md#credentials-for-push",
    );
}

#[test]
fn upload_locations_in_every_shape() {
    use step_03_push::upload::{absolute, with_digest};
    let read = "step-03-push.md#the-upload-protocol";
    let base = "http://r:5000";
    workshop::check_eq!(
        absolute(base, "/v2/a/blobs/uploads/1"),
        "http://r:5000/v2/a/blobs/uploads/1",
        read = read
    );
    workshop::check_eq!(
        absolute(base, "https://cdn/up/1?x=y"),
        "https://cdn/up/1?x=y",
        read = read
    );
    workshop::check_eq!(
        absolute(base, "/v2/a/blobs/uploads/1?_state=s"),
        "http://r:5000/v2/a/blobs/uploads/1?_state=s",
        read = read,
        "a path with a query of the registry's own"
    );
    // `with_digest` is written for you; it relies on the query surviving.
    let digest: Digest = format!("sha256:{}", "ab".repeat(32)).parse().unwrap();
    workshop::check_eq!(
        with_digest("http://r/u/1", &digest),
        format!("http://r/u/1?digest={digest}"),
        read = read
    );
    workshop::check_eq!(
        with_digest("http://r/u/1?_state=s", &digest),
        format!("http://r/u/1?_state=s&digest={digest}"),
        read = read
    );
}

#[test]
fn a_tampered_cache_is_caught_by_the_registry() {
    let setup = Setup::new();
    setup.pull("library/hello:latest");
    // Another registry this time: nothing to mount, every blob is sent.
    let other = MockRegistry::start().unwrap();
    let layer = mock_registry::fixtures::hello(mock_registry::fixtures::Format::Docker).blobs[1]
        .digest
        .clone();
    // Same size, different bytes: only the digest can tell.
    let cached = setup.store().blob_path(&layer.as_str().parse().unwrap());
    let mut bytes = std::fs::read(&cached).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&cached, bytes).unwrap();
    let reference = Reference::parse(&format!("{}/learner/tampered:latest", other.host())).unwrap();
    let home = setup.store();
    home.move_image(&setup.reference("library/hello:latest"), &reference)
        .unwrap();
    let error = push(
        &setup.client(&reference, "secret"),
        &home,
        &reference,
        &PushOptions::default(),
        &(),
    )
    .unwrap_err();
    workshop::check!(
        error.to_string().contains("DIGEST_INVALID")
            && other
                .tags("learner/tampered")
                .unwrap_or_default()
                .is_empty(),
        expected = "DIGEST_INVALID from the registry, and no tag",
        got = error,
        read = "step-03-push.md#when-things-fail",
    );
}

#[test]
fn blobs_go_up_in_parallel_and_the_manifest_after_all_of_them() {
    let setup = Setup::new();
    setup.pull("library/layers:oci");
    // Another registry: nothing to mount, all five blobs are sent.
    let other = MockRegistry::start().unwrap();
    let reference = Reference::parse(&format!("{}/learner/layers:oci", other.host())).unwrap();
    setup
        .store()
        .move_image(&setup.reference("library/layers:oci"), &reference)
        .unwrap();
    let options = PushOptions {
        jobs: 3,
        ..PushOptions::default()
    };
    let pushed = push(
        &setup.client(&reference, "secret"),
        &setup.store(),
        &reference,
        &options,
        &(),
    )
    .expect("a parallel push succeeds");
    let read = "step-03-push.md#why-the-manifest-goes-last";
    workshop::check!(
        pushed.blobs.len() == 5 && pushed.blobs.iter().all(|(_, o)| *o == Outcome::Uploaded),
        expected = "five blobs uploaded",
        got = pushed,
        read = read,
    );
    let log = other.take_request_lines();
    let manifest_at = log.iter().position(|l| l.contains("/manifests/")).unwrap();
    workshop::check_eq!(
        manifest_at,
        log.len() - 1,
        read = read,
        "the manifest PUT is the last request:\n{}",
        log.join("\n")
    );
}
