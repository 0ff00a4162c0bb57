//! `dockerless pull` end to end against the bundled registry: the requests it
//! makes, the cache, resuming, refusing wrong bytes, and installing atomically.

use mock_registry::fixtures::{Compression, Entry, Layer, LayerBuilder, image_of_layers};
use mock_registry::{Auth, Digest, Fault, FaultRule, MockRegistry};
use std::path::Path;
use std::time::Duration;
use step_01_registry::{Client, ClientOptions, Reference, RetryPolicy};
use step_02_layers::download::Source;
use step_02_layers::error::Error;
use step_02_layers::progress::Silent;
use step_02_layers::pull::{PullOptions, Pulled, pull};
use step_02_layers::store::Store;
use step_02_layers::tree;

const READ: &str = "step-02-layers.md#downloading-blobs";
/// The one layer of `library/hello`.
const HELLO_LAYER: &str = "sha256:eca8d088320eb19ad0860bc15bb7adc794aacb7fca36d965083bdead114a76dc";

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

    fn pull(&self, name: &str) -> Result<Pulled, Error> {
        let reference = self.reference(name);
        let client = Client::new(
            &reference,
            ClientOptions {
                retry: RetryPolicy {
                    attempts: 3,
                    base_delay: Duration::ZERO,
                    max_delay: Duration::ZERO,
                },
                ..ClientOptions::default()
            },
        )
        .unwrap();
        let options = PullOptions {
            jobs: 1,
            ..PullOptions::default()
        };
        pull(&client, &self.store(), &reference, &options, &Silent)
    }

    /// The registry's log, one request a line.
    fn log(&self) -> String {
        self.registry.take_request_lines().join("\n")
    }
}

/// Everything under `dir`, for checking that nothing was left behind.
fn entries(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            found.push(path.strip_prefix(dir).unwrap().display().to_string());
            if entry.file_type().unwrap().is_dir() && !path.join("bin").exists() {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The pull of `library/hello` got through: its program is in place.
fn check_hello_installed(pulled: &Pulled) {
    workshop::check!(
        pulled.path.join("bin/hello").exists(),
        expected = "bin/hello installed",
        got = pulled.path,
        read = READ
    );
}

/// After a failed pull of a new `library/hello:latest` (with a `srv/`
/// directory): the version pulled before is still in place, whole, and no
/// half-written image is left.
fn check_previous_hello_kept(setup: &Setup) {
    let image = setup
        .store()
        .image_dir(&setup.reference("library/hello:latest"));
    workshop::check!(
        image.join("bin/hello").exists() && !image.join("srv").exists(),
        expected = "the previous version of library/hello:latest still in place",
        got = entries(&image),
        read = "step-02-layers.md#installing-atomically",
    );
    let leftovers = entries(&setup.home.path().join(".tmp"));
    workshop::check!(
        leftovers.is_empty(),
        expected = "no half-written image",
        got = leftovers,
        read = "step-02-layers.md#installing-atomically"
    );
}

#[test]
fn a_pull_asks_for_manifest_config_and_layers_once_each() {
    let setup = Setup::new();
    let pulled = setup
        .pull("library/layers:oci")
        .expect("library/layers:oci pulls");
    insta::assert_snapshot!(setup.log());
    let expected = setup
        .home
        .path()
        .join(format!("{}/library/layers/oci", setup.registry.host()));
    workshop::check_eq!(
        pulled.path,
        expected,
        read = "step-02-layers.md#the-image-store",
        "where the image lands"
    );
}

#[test]
fn the_flattened_tree_of_each_fixture() {
    let setup = Setup::new();
    let mut out = String::new();
    for name in [
        "library/hello:latest",
        "library/layers:latest",
        "library/multi:oci",
    ] {
        let pulled = setup.pull(name).expect("fixture pulls");
        out.push_str(&format!(
            "== {name}\n{}\n",
            tree::listing(&pulled.path).unwrap()
        ));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn a_second_pull_downloads_no_layer_again() {
    let setup = Setup::new();
    setup.pull("library/layers:latest").unwrap();
    setup.log();
    let again = setup.pull("library/layers:latest").unwrap();
    workshop::check!(
        again.up_to_date,
        expected = "the second pull to find the image up to date",
        got = again,
        read = "step-02-layers.md#the-image-store",
    );
    workshop::check_eq!(
        again.sources,
        vec![Source::Present; 4],
        read = READ,
        "every layer already present"
    );
    insta::assert_snapshot!(setup.log(), @r"
    GET /v2/library/layers/manifests/latest -> 401
    GET /token?service=mock-registry&scope=repository%3Alibrary%2Flayers%3Apull -> 200
    GET /v2/library/layers/manifests/latest (Bearer) -> 200
    GET /v2/library/layers/blobs/sha256:4aa4ca26b0cf7eef21c97f1e781af8eab095f1f9d71e34c725d3c694e0a48e9b (Bearer) -> 200
    ");
}

#[test]
fn a_touched_image_is_pulled_again_whole() {
    let setup = Setup::new();
    let root = setup.pull("library/hello:latest").unwrap().path;
    std::fs::remove_file(root.join("etc/hostname")).unwrap();
    let again = setup.pull("library/hello:latest").unwrap();
    workshop::check!(
        !again.up_to_date && again.path.join("etc/hostname").exists(),
        expected = "the image flattened again, etc/hostname back",
        got = again,
        read = "step-02-layers.md#the-image-store",
    );
}

#[test]
fn a_cut_download_resumes_with_range() {
    let setup = Setup::new();
    setup
        .registry
        .inject(FaultRule::new(Fault::CutBody { after: 100 }).on_path(HELLO_LAYER));
    let pulled = setup
        .pull("library/hello:latest")
        .expect("the pull recovers");
    let log = setup.log();
    let resumed: Vec<&str> = log.lines().filter(|l| l.contains("[bytes=")).collect();
    workshop::check_eq!(
        resumed.len(),
        1,
        read = READ,
        "one request resumes with a Range header; the log was:\n{log}"
    );
    workshop::check!(
        resumed[0].ends_with("-> 206"),
        expected = "206 Partial Content",
        got = resumed,
        read = READ
    );
    check_hello_installed(&pulled);
}

#[test]
fn a_server_that_ignores_range_is_read_from_the_start() {
    let setup = Setup::new();
    setup
        .registry
        .inject(FaultRule::new(Fault::CutBody { after: 100 }).on_path(HELLO_LAYER));
    setup
        .registry
        .inject(FaultRule::new(Fault::IgnoreRange).on_path(HELLO_LAYER));
    let pulled = setup
        .pull("library/hello:latest")
        .expect("the pull recovers");
    check_hello_installed(&pulled);
}

#[test]
fn wrong_bytes_install_nothing_and_keep_the_previous_version() {
    let setup = Setup::new();
    setup.pull("library/hello:latest").unwrap();
    // The same tag now points at another image whose layer arrives damaged.
    let mut other = mock_registry::fixtures::layers(mock_registry::fixtures::Format::Docker);
    other.repository = "library/hello".into();
    other.tag = "latest".into();
    setup.registry.seed(&other).unwrap();
    setup
        .registry
        .inject(FaultRule::new(Fault::WrongBytes).always());
    let error = setup.pull("library/hello:latest").unwrap_err();
    workshop::check!(
        matches!(
            error,
            Error::DigestMismatch { .. }
                | Error::Registry(step_01_registry::Error::DigestMismatch { .. })
        ),
        expected = "a digest mismatch",
        got = error,
        read = READ,
    );
    check_previous_hello_kept(&setup);
}

#[test]
fn a_new_version_replaces_the_old_one_whole() {
    let setup = Setup::new();
    setup.pull("library/hello:latest").unwrap();
    let mut other = mock_registry::fixtures::layers(mock_registry::fixtures::Format::Docker);
    other.repository = "library/hello".into();
    other.tag = "latest".into();
    setup.registry.seed(&other).unwrap();
    let pulled = setup.pull("library/hello:latest").unwrap();
    workshop::check!(
        pulled.path.join("srv").exists() && !pulled.path.join("home/learner").exists(),
        expected = "only the new image's files",
        got = entries(&pulled.path),
        read = "step-02-layers.md#installing-atomically",
    );
    let manifest = std::fs::read(
        setup
            .store()
            .manifest_path(&setup.reference("library/hello:latest")),
    )
    .unwrap();
    workshop::check_eq!(
        manifest,
        other.manifest.bytes.to_vec(),
        read = "step-02-layers.md#the-image-store",
        "the manifest beside it is the new one"
    );
}

#[test]
fn redirected_blobs_are_fetched_without_the_token() {
    let setup = Setup::new();
    setup
        .registry
        .inject(FaultRule::new(Fault::RedirectBlobs).always());
    setup
        .pull("library/hello:latest")
        .expect("blobs come from the second origin");
    let cdn: Vec<_> = setup
        .registry
        .requests()
        .into_iter()
        .filter(|r| r.origin == mock_registry::Origin::Cdn)
        .collect();
    workshop::check!(
        !cdn.is_empty() && cdn.iter().all(|r| r.authorization.is_none()),
        expected = "blob requests to the second origin, none with Authorization",
        got = cdn,
        read = "step-01-registry.md#retries-and-redirects",
    );
}

#[test]
fn the_store_follows_the_write_ups_layout() {
    let store = Store::open(Some(Path::new("/images"))).unwrap_or_else(|_| {
        Store::open(Some(tempfile::tempdir().unwrap().keep().as_path())).unwrap()
    });
    let home = store.home().to_path_buf();
    let path = |name: &str| {
        store
            .image_dir(&Reference::parse(name).unwrap())
            .strip_prefix(&home)
            .unwrap()
            .display()
            .to_string()
    };
    let read = "step-02-layers.md#the-image-store";
    workshop::check_eq!(path("alpine"), "library/alpine/latest", read = read);
    workshop::check_eq!(path("me/app:v1"), "me/app/v1", read = read);
    workshop::check_eq!(
        path("localhost:5000/me/app:v1"),
        "localhost:5000/me/app/v1",
        read = read
    );
}

#[test]
fn images_lists_what_was_pulled() {
    let setup = Setup::new();
    setup.pull("library/hello:latest").unwrap();
    setup.pull("library/layers:oci").unwrap();
    // A manifest nobody can read is named, and hides nothing else.
    let junk = setup.home.path().join("junk/app");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("v1.manifest.json"), "not json").unwrap();
    let listing = step_02_layers::images::list(&setup.store()).unwrap();
    workshop::check!(
        listing.unreadable.len() == 1
            && listing.unreadable[0]
                .to_string()
                .contains("v1.manifest.json"),
        expected = "the broken manifest reported by name",
        got = listing.unreadable,
        read = "step-02-layers.md#the-image-store",
    );
    let list = listing.images;
    let names: Vec<String> = list
        .iter()
        .map(|i| {
            format!(
                "{} {} {}",
                i.name.replace(&setup.registry.host(), "REGISTRY"),
                i.digest,
                i.size
            )
        })
        .collect();
    insta::assert_snapshot!(names.join("\n"), @r"
    REGISTRY/library/hello:latest sha256:07bf1163d7dda2dd8c9c945b8756b562b288a4d791e2f9ece8a593c62a366baf 863
    REGISTRY/library/layers:oci sha256:d708d72d672e20bac8a8ece6adf8470ac676041878272a71de9a0e7d40f04fc5 2246
    ");
}

#[test]
fn a_body_longer_than_its_size_is_not_read_to_the_end() {
    let setup = Setup::new();
    setup.registry.inject(
        FaultRule::new(Fault::ExtraBytes { count: 1 << 20 })
            .on_path(HELLO_LAYER)
            .always(),
    );
    let error = setup.pull("library/hello:latest").unwrap_err();
    workshop::check!(
        error
            .to_string()
            .contains("864 bytes arrived, 863 expected"),
        expected = "a digest mismatch after one byte too many, not a megabyte read",
        got = error,
        read = READ,
    );
}

/// `len` bytes that differ from file to file and compress only somewhat.
fn contents(seed: usize, len: usize) -> Vec<u8> {
    let mut state = (seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Every other byte predictable, so gzip has something to do.
            if i % 2 == 0 {
                b'a' + (i % 26) as u8
            } else {
                state as u8
            }
        })
        .collect()
}

#[test]
fn a_layer_listed_twice_is_downloaded_once() {
    let setup = Setup::new();
    let hello = mock_registry::fixtures::hello(mock_registry::fixtures::Format::Oci);
    let layer = hello
        .blobs
        .iter()
        .find(|b| b.digest.as_str() == HELLO_LAYER)
        .unwrap()
        .clone();
    let config: serde_json::Value = serde_json::from_slice(&hello.blobs[0].data).unwrap();
    let layer = Layer {
        diff_id: config["rootfs"]["diff_ids"][0]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        digest: layer.digest,
        data: layer.data,
        compression: Compression::Gzip,
    };
    setup
        .registry
        .seed(&image_of_layers(
            "library/twice",
            "latest",
            vec![layer.clone(), layer],
        ))
        .unwrap();
    let pulled = setup
        .pull("library/twice:latest")
        .expect("an image may repeat a layer");
    workshop::check_eq!(
        pulled.sources,
        vec![Source::Network, Source::Repeated],
        read = READ,
        "one download, used twice"
    );
    let downloads = setup
        .log()
        .lines()
        .filter(|l| l.contains(HELLO_LAYER))
        .count();
    workshop::check_eq!(downloads, 1, read = READ, "requests for the repeated layer");
}

#[test]
fn a_layer_of_many_megabytes_arrives_whole_and_in_order() {
    // Decompressing runs ahead of extracting in chunks of a quarter MiB: this
    // layer is a dozen of them, with files that straddle chunk boundaries.
    let setup = Setup::new();
    let files: Vec<(String, Vec<u8>)> = (0..12)
        .map(|i| {
            (
                format!("data/file-{i:02}"),
                contents(i, 100_000 + i * 41_017),
            )
        })
        .collect();
    let layer = LayerBuilder::new()
        .entries(
            files
                .iter()
                .map(|(name, data)| Entry::file(name.as_str(), data.clone())),
        )
        .build();
    setup
        .registry
        .seed(&image_of_layers("library/big", "latest", vec![layer]))
        .unwrap();
    let pulled = setup
        .pull("library/big:latest")
        .expect("a layer of several megabytes pulls");
    for (name, data) in &files {
        let written = std::fs::read(pulled.path.join(name)).unwrap_or_default();
        workshop::check!(
            written == *data,
            expected = format!("{name}: the {} bytes the layer holds", data.len()),
            got = format!(
                "{} bytes, the first difference at byte {:?}",
                written.len(),
                written.iter().zip(data).position(|(a, b)| a != b)
            ),
            read = "step-02-layers.md#two-cores-for-one-layer",
        );
    }
}

#[test]
fn a_hostile_entry_at_the_start_of_a_big_layer_stops_the_pull_at_once() {
    // The extraction stops at the first entry while the decompression is
    // megabytes ahead: the pull must end with the error, not wait forever.
    let setup = Setup::new();
    let layer = LayerBuilder::new()
        .entry(Entry::file("../escaped", "out"))
        .entries((0..12).map(|i| Entry::file(format!("data/file-{i:02}"), contents(i, 300_000))))
        .build();
    let digest = layer.digest.to_string();
    setup
        .registry
        .seed(&image_of_layers("library/hostile", "latest", vec![layer]))
        .unwrap();
    // A hang guard, not a time limit: a pull that deadlocks would otherwise
    // stop the whole test run instead of failing this check.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(setup.pull("library/hostile:latest"));
    });
    let Ok(pulled) = receiver.recv_timeout(Duration::from_secs(300)) else {
        workshop::fail(
            "the pull to end with an error",
            "no end after five minutes: the extraction and the decompression wait for each other",
            "step-02-layers.md#two-cores-for-one-layer",
        );
    };
    check_refused(pulled, &digest);
}

/// The hostile pull's outcome: `../escaped` refused, the layer named.
fn check_refused(pulled: Result<Pulled, Error>, digest: &str) {
    let error = pulled.unwrap_err();
    workshop::check!(
        matches!(&error, Error::Layer { number: 1, source, .. } if matches!(**source, Error::Escape { .. }))
            && error.to_string().contains(digest),
        expected = "the pull refused `../escaped`, naming the layer",
        got = error,
        read = "step-02-layers.md#staying-inside-the-root",
    );
}

#[test]
fn a_layer_whose_gzip_breaks_halfway_installs_nothing() {
    // The registry serves exactly the bytes the manifest names (the digest
    // holds), but the gzip stream inside stops in the middle of a file.
    let setup = Setup::new();
    setup.pull("library/hello:latest").unwrap();
    let layer = LayerBuilder::new()
        .entry(Entry::file("srv/first", contents(1, 300_000)))
        .entry(Entry::file("srv/second", contents(2, 300_000)))
        .build();
    let cut = layer.data.slice(..layer.data.len() / 2);
    let cut = Layer {
        digest: Digest::of(&cut),
        data: cut,
        ..layer
    };
    setup
        .registry
        .seed(&image_of_layers("library/hello", "latest", vec![cut]))
        .unwrap();
    let error = setup.pull("library/hello:latest").unwrap_err();
    workshop::check!(
        matches!(&error, Error::Layer { number: 1, source, .. }
            if matches!(**source, Error::Tar { .. } | Error::Extract { .. }))
            && error.to_string().contains("incomplete deflate stream"),
        expected = "an error saying the gzip stream ends too soon",
        got = error,
        read = "step-02-layers.md#compression",
    );
    check_previous_hello_kept(&setup);
}

/// The preview of step 05 at the end of this chapter: the program of a
/// pulled image runs in a plain `chroot` of its root filesystem.
#[test]
fn a_pulled_program_runs_in_a_plain_chroot() {
    use std::os::unix::process::CommandExt;
    let busybox = Path::new(mock_registry::fixtures::HOST_BUSYBOX);
    if !busybox.is_file() {
        let reason = "needs busybox-static: apt-get install busybox-static";
        if std::env::var("DOCKER_INTERNALS_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("{reason}");
        }
        workshop::skip(reason);
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        workshop::skip("needs root: chroot is for root only (step 05 says why)");
        return;
    }
    let setup = Setup::new();
    let image = mock_registry::fixtures::busybox_image(
        busybox,
        "library/busybox",
        "latest",
        mock_registry::fixtures::default_config(),
    )
    .expect("busybox is readable");
    setup.registry.seed(&image).unwrap();
    let pulled = setup.pull("library/busybox").unwrap();
    let word = workshop::random_word();
    // Made before the fork: the child may not allocate (another thread of
    // this test binary can hold the allocator's lock at the fork).
    let root = std::ffi::CString::new(pulled.path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: between fork and exec the child only makes two system calls.
    let output = unsafe {
        std::process::Command::new("/bin/busybox")
            .args(["echo", &word])
            .env_clear()
            .pre_exec(move || {
                nix::unistd::chroot(root.as_c_str())?;
                nix::unistd::chdir(c"/")?;
                Ok(())
            })
            .output()
    }
    .expect("the chroot and the exec work");
    workshop::check_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{word}\n"),
        read = "step-02-layers.md#a-first-run",
        "what /bin/busybox echo printed in a chroot of the pulled image"
    );
}
