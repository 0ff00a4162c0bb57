//! `dockerless create`: from host binaries to an image in the store, that
//! pushes, pulls back the same, and runs.

use mock_registry::MockRegistry;
use std::time::Duration;
use step_01_registry::{Client, ClientOptions, Reference, RetryPolicy};
use step_02_layers::progress::Silent;
use step_02_layers::pull::{PullOptions, pull};
use step_02_layers::store::Store;
use step_02_layers::tree;
use step_03_push::push::{PushOptions, push};
use step_04_create::create::{CreateOptions, create};

fn options() -> CreateOptions {
    CreateOptions {
        binaries: vec!["bash".into(), "/bin/ls".into()],
        ..CreateOptions::default()
    }
}

fn client(reference: &Reference) -> Client {
    Client::new(
        reference,
        ClientOptions {
            retry: RetryPolicy {
                attempts: 2,
                base_delay: Duration::ZERO,
                max_delay: Duration::ZERO,
            },
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn a_created_image_is_stored_like_a_pulled_one() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(Some(home.path())).unwrap();
    let reference = Reference::parse("me/tools:v1").unwrap();
    let created = create(&store, &reference, &options()).expect("bash and ls make an image");
    let read = "step-04-create.md#an-image-in-the-store";
    workshop::check_eq!(created.path, home.path().join("me/tools/v1"), read = read);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.config_path(&reference)).unwrap()).unwrap();
    workshop::check_eq!(
        config["config"]["Cmd"],
        serde_json::json!(["/usr/bin/bash"]),
        read = read,
        "the image runs the first binary (bash is /usr/bin/bash on this machine)"
    );
    workshop::check!(
        store.record(&reference).is_some() && store.manifest_path(&reference).exists(),
        expected = "a manifest and a record beside the image",
        got = std::fs::read_dir(home.path().join("me/tools"))
            .unwrap()
            .count(),
        read = read,
    );
}

#[test]
fn create_push_pull_gives_back_the_same_tree() {
    let registry = MockRegistry::start().unwrap();
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(Some(home.path())).unwrap();
    let reference = Reference::parse(&format!("{}/me/tools:v1", registry.host())).unwrap();
    let created = create(&store, &reference, &options()).unwrap();
    let before = tree::listing(&created.path).unwrap();
    let pushed = push(
        &client(&reference),
        &store,
        &reference,
        &PushOptions::default(),
        &(),
    )
    .unwrap();
    workshop::check_eq!(
        pushed.digest,
        created.digest,
        read = "step-04-create.md#an-image-in-the-store",
        "a created image goes out as it was stored"
    );
    let other = tempfile::tempdir().unwrap();
    let other_store = Store::open(Some(other.path())).unwrap();
    let pulled = pull(
        &client(&reference),
        &other_store,
        &reference,
        &PullOptions::default(),
        &Silent,
    )
    .unwrap();
    workshop::check_eq!(
        tree::listing(&pulled.path).unwrap(),
        before,
        read = "step-04-create.md#an-image-in-the-store",
        "the tree pulled back"
    );
}

#[test]
fn the_created_image_runs_in_a_chroot() {
    if !nix::unistd::geteuid().is_root() {
        workshop::skip("needs root (chroot)");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(Some(home.path())).unwrap();
    let created = create(&store, &Reference::parse("me/tools").unwrap(), &options()).unwrap();
    let word = workshop::random_word();
    let output = std::process::Command::new("/usr/sbin/chroot")
        .arg(&created.path)
        // No /dev in this image yet (step 05 adds one): nothing redirects there.
        .args(["/usr/bin/bash", "-c", &format!("ls / && echo {word}")])
        .output()
        .unwrap();
    workshop::check_eq!(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .unwrap_or(""),
        word.as_str(),
        read = "step-04-create.md#copying-with-symlinks",
        "bash in the new root echoes the word (stderr: {})",
        String::from_utf8_lossy(&output.stderr)
    );
}
