//! What `dockerless` prints, for people: summaries, progress-free output when
//! not on a terminal, and errors that say what to do.

use assert_cmd::Command;
use mock_registry::fixtures::{Entry, LayerBuilder, image_of_layers};
use mock_registry::{Auth, MockRegistry};

struct Tool {
    registry: MockRegistry,
    home: tempfile::TempDir,
}

impl Tool {
    fn new() -> Tool {
        let registry = MockRegistry::with_fixtures().unwrap();
        registry.set_auth(Auth::token("learner", "secret"));
        Tool {
            registry,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs dockerless with the store in a temporary home and no credentials
    /// from the environment; returns (success, stdout, stderr) with the
    /// registry's address and the home replaced by placeholders.
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let (code, out, err) = self.run_with_code(args);
        (code == 0, out, err)
    }

    /// Like `run`, with the exit code itself.
    fn run_with_code(&self, args: &[&str]) -> (i32, String, String) {
        let config = self.home.path().join("no-docker-config");
        // A fixed PATH, so messages that list it read the same everywhere.
        let home = self.home.path().display().to_string();
        self.invoke(args, &config, "/usr/bin:/bin".to_string(), (&home, "HOME"))
    }

    /// dockerless with `args`, its Docker config in `config`, `PATH` as
    /// given, no credentials in the environment; the exit code and the
    /// output with the registry's address and `placeholder.0` replaced.
    fn invoke(
        &self,
        args: &[&str],
        config: &std::path::Path,
        path: String,
        placeholder: (&str, &str),
    ) -> (i32, String, String) {
        let output = Command::cargo_bin("dockerless")
            .unwrap()
            .args(args)
            .env("DOCKER_INTERNALS_HOME", self.home.path())
            .env("DOCKER_CONFIG", config)
            .env("PATH", path)
            .env_remove("DOCKER_USERNAME")
            .env_remove("DOCKER_PASSWORD")
            .output()
            .unwrap();
        let clean = |bytes: &[u8]| {
            String::from_utf8_lossy(bytes)
                .replace(&self.registry.host(), "REGISTRY")
                .replace(placeholder.0, placeholder.1)
        };
        (
            output.status.code().unwrap_or(-1),
            clean(&output.stdout),
            clean(&output.stderr),
        )
    }

    fn image(&self, name: &str) -> String {
        format!("{}/{name}", self.registry.host())
    }
}

#[test]
fn inspect_prints_a_summary_and_raw_prints_the_bytes() {
    let tool = Tool::new();
    let (ok, out, _) = tool.run(&["inspect", &tool.image("library/layers:oci")]);
    assert!(ok);
    insta::assert_snapshot!(out);
    let (ok, raw, _) = tool.run(&["inspect", "--raw", &tool.image("library/hello:oci")]);
    assert!(ok);
    let hello = mock_registry::fixtures::hello(mock_registry::fixtures::Format::Oci);
    assert_eq!(raw.trim_end().as_bytes(), hello.manifest.bytes);
}

#[test]
fn verbose_prints_each_request() {
    let tool = Tool::new();
    let (ok, _, err) = tool.run(&["inspect", "-v", &tool.image("library/hello")]);
    assert!(ok);
    insta::assert_snapshot!(err);
}

#[test]
fn pull_then_images() {
    let tool = Tool::new();
    let (ok, out, err) = tool.run(&["pull", &tool.image("library/multi:oci")]);
    assert!(ok, "{err}");
    insta::assert_snapshot!(out, @r"
    Pulled REGISTRY/library/multi:oci (linux/amd64, 1 layer: 1 downloaded (863 B))
      digest sha256:96f34a865db53ed2c4dbeda918325acd6685a6c173c28e5a1bd70f73acf22dbe
      into   HOME/REGISTRY/library/multi/oci
    ");
    assert!(
        err.is_empty(),
        "no progress bars when not on a terminal: {err}"
    );
    let (ok, quiet, _) = tool.run(&["pull", "-q", &tool.image("library/hello")]);
    assert!(ok && quiet.is_empty());
    let (ok, images, _) = tool.run(&["images"]);
    assert!(ok);
    // Column widths follow the registry's port number: compare words only.
    let words: Vec<String> = images
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    insta::assert_snapshot!(words.join("\n"), @r"
    IMAGE DIGEST SIZE PULLED
    REGISTRY/library/hello:latest sha256:07bf1163d7dd 863 B just now
    REGISTRY/library/multi:oci sha256:96f34a865db5 863 B just now
    ");
}

#[test]
fn errors_name_the_input_and_the_fix() {
    let tool = Tool::new();
    let hostile = LayerBuilder::new()
        .entry(Entry::file("../escaped", "out"))
        .build();
    tool.registry
        .seed(&image_of_layers("library/hostile", "latest", vec![hostile]))
        .unwrap();
    let cases = [
        vec!["inspect".to_string(), "Library/Hello".to_string()],
        vec!["inspect".into(), tool.image("library/nothing")],
        vec![
            "pull".into(),
            tool.image("library/multi"),
            "--platform".into(),
            "linux/s390x".into(),
        ],
        vec![
            "pull".into(),
            tool.image("library/multi"),
            "--platform".into(),
            "linux".into(),
        ],
        vec!["pull".into(), tool.image("library/hostile")],
        vec!["push".into(), tool.image("me/never-pulled:v1")],
        vec![
            "push".into(),
            tool.image("me/app:v1"),
            "--from".into(),
            "/no/such/rootfs".into(),
        ],
        vec![
            "create".into(),
            "me/tools".into(),
            "--bin".into(),
            "no-such-program".into(),
        ],
    ];
    let mut report = String::new();
    for args in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, err) = tool.run_with_code(&args);
        assert_ne!(code, 0, "{args:?} succeeded");
        report.push_str(&format!(
            "$ dockerless {}   (exit {code})\n{err}\n",
            args.join(" ").replace(&tool.registry.host(), "REGISTRY")
        ));
    }
    insta::assert_snapshot!(report);
    // A push refused before it began leaves nothing in the store either.
    let repositories = tool.home.path().join(tool.registry.host()).join("me");
    assert!(
        !repositories.exists(),
        "a refused push left {} behind",
        repositories.display()
    );
}

/// The summary says what happened to each layer: downloaded (and how many
/// bytes), found in the blob cache, repeated within the image, or already
/// present. A first pull downloads every layer, whatever order the parallel
/// downloads finish in.
#[test]
fn pull_summaries_say_what_happened() {
    let tool = Tool::new();
    let layer = |name: &str| {
        LayerBuilder::new()
            .entry(Entry::file(name, format!("{name}\n")))
            .build()
    };
    let (a, b, c) = (layer("a"), layer("b"), layer("c"));
    for (tag, layers) in [
        ("v1", vec![a.clone(), b.clone()]),
        ("v2", vec![a.clone(), b, c.clone()]),
        ("again", vec![a.clone(), c, a]),
    ] {
        tool.registry
            .seed(&image_of_layers("me/app", tag, layers))
            .unwrap();
    }
    let mut report = String::new();
    for (what, image) in [
        ("a first pull, four layers at once", "library/layers"),
        ("a first pull", "me/app:v1"),
        ("the same again", "me/app:v1"),
        ("an image sharing two layers with it", "me/app:v2"),
        ("an image repeating a layer", "me/app:again"),
    ] {
        let (ok, out, err) = tool.run(&["pull", "--jobs", "4", &tool.image(image)]);
        assert!(ok, "{err}");
        let first = out.lines().next().unwrap_or_default();
        report.push_str(&format!("{what}:\n{first}\n"));
    }
    insta::assert_snapshot!(report, @r"
    a first pull, four layers at once:
    Pulled REGISTRY/library/layers:latest (linux/amd64, 4 layers: 4 downloaded (2.2 kB))
    a first pull:
    Pulled REGISTRY/me/app:v1 (linux/amd64, 2 layers: 2 downloaded (161 B))
    the same again:
    REGISTRY/me/app:v1 is up to date (2 layers: 2 already present)
    an image sharing two layers with it:
    Pulled REGISTRY/me/app:v2 (linux/amd64, 3 layers: 1 downloaded (81 B), 2 from the blob cache)
    an image repeating a layer:
    Pulled REGISTRY/me/app:again (linux/amd64, 3 layers: 2 from the blob cache, 1 repeated)
    ");
}

/// Holds back the download of the first layer until every other layer has
/// arrived, so the layers finish in the reverse of their order.
struct FirstLast {
    sizes: Vec<u64>,
    arrived: std::sync::Mutex<Vec<bool>>,
    changed: std::sync::Condvar,
}

impl step_02_layers::progress::Progress for FirstLast {
    fn downloaded(&self, index: usize, bytes: u64) {
        let mut arrived = self.arrived.lock().unwrap();
        if bytes == self.sizes[index] {
            arrived[index] = true;
            self.changed.notify_all();
        }
        if index == 0 {
            let _others = self
                .changed
                .wait_while(arrived, |arrived| !arrived[1..].iter().all(|a| *a))
                .unwrap();
        }
    }
    fn cached(&self, _: usize) {}
    fn extracting(&self, _: usize) {}
    fn done(&self, _: usize) {}
}

/// Layers that arrive before their turn are still downloads, not repeats
/// or cache hits: the summary once said "4 layers, 3 from cache" of a
/// first pull into an empty store.
#[test]
fn layers_arriving_out_of_order_are_reported_downloaded() {
    use step_01_registry::{Client, ClientOptions, Reference};
    use step_02_layers::download::Source;
    use step_02_layers::pull::{PullOptions, pull_resolved};
    let tool = Tool::new();
    let reference = Reference::parse(&tool.image("library/layers")).unwrap();
    let client = Client::new(
        &reference,
        ClientOptions {
            credentials: Some(step_01_registry::credentials::Credentials::new(
                "learner", "secret",
            )),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let resolved = step_01_registry::inspect::resolve(&client, &reference, None).unwrap();
    let sizes: Vec<u64> = resolved.image.layers.iter().map(|l| l.size).collect();
    let progress = FirstLast {
        arrived: std::sync::Mutex::new(vec![false; sizes.len()]),
        sizes,
        changed: std::sync::Condvar::new(),
    };
    let store = step_02_layers::store::Store::open(Some(tool.home.path())).unwrap();
    let options = PullOptions {
        jobs: 4,
        ..PullOptions::default()
    };
    let pulled = pull_resolved(&client, &store, resolved, &options, &progress).unwrap();
    workshop::check_eq!(
        pulled.sources,
        vec![Source::Network; 4],
        read = "step-02-layers.md#parallel-downloads-applied-in-order",
        "where each layer of a first pull came from"
    );
}

/// A Docker config naming credential helpers, and fake helpers on PATH: each
/// records the server address it was asked about, then answers as a real
/// helper would.
struct Helpers {
    dir: tempfile::TempDir,
}

impl Helpers {
    fn new(config: serde_json::Value) -> Helpers {
        let dir = tempfile::tempdir().unwrap();
        let helpers = [
            (
                "password",
                r#"echo '{"ServerURL":"x","Username":"learner","Secret":"secret"}'"#,
            ),
            (
                "identity",
                r#"echo '{"ServerURL":"x","Username":"<token>","Secret":"id-0451"}'"#,
            ),
            (
                "empty",
                "echo 'credentials not found in native keychain'; exit 1",
            ),
            ("crash", "echo 'panic: the keyring is locked' >&2; exit 2"),
        ];
        for (name, answer) in helpers {
            let path = dir.path().join(format!("docker-credential-{name}"));
            let script =
                format!("#!/bin/sh\n[ \"$1\" = get ] || exit 3\ncat > \"$0.asked\"\n{answer}\n");
            std::fs::write(&path, script).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        Helpers { dir }
    }

    /// What the helper `name` was asked for on stdin, if it ran.
    fn asked(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(
            self.dir
                .path()
                .join(format!("docker-credential-{name}.asked")),
        )
        .ok()
    }
}

impl Tool {
    /// Runs dockerless with the Docker config and helpers of `helpers`.
    fn run_with_helpers(&self, helpers: &Helpers, args: &[&str]) -> (i32, String, String) {
        let dir = helpers.dir.path();
        let shown = dir.display().to_string();
        let path = format!("{shown}:/usr/bin:/bin");
        self.invoke(args, dir, path, (&shown, "DOCKER_CONFIG"))
    }

    /// A registry that lets nobody pull without credentials, and takes the
    /// identity token `id-0451` for the user `learner`.
    fn private() -> Tool {
        let tool = Tool::new();
        let auth = match Auth::token("learner", "secret").with_identity_token("learner", "id-0451")
        {
            Auth::Token(mut settings) => {
                settings.anonymous_pull = false;
                Auth::Token(settings)
            }
            _ => unreachable!("a token flow"),
        };
        tool.registry.set_auth(auth);
        tool
    }
}

const HELPERS: &str = "step-01-registry.md#credential-helpers";

#[test]
fn credential_helpers_give_a_password_or_an_identity_token() {
    let tool = Tool::private();
    let host = tool.registry.host();
    for helper in ["password", "identity"] {
        let helpers = Helpers::new(serde_json::json!({
            "credsStore": "crash",
            "credHelpers": { &host: helper },
        }));
        let (code, _, err) =
            tool.run_with_helpers(&helpers, &["inspect", &tool.image("library/hello")]);
        workshop::check_eq!(
            (code, err),
            (0, String::new()),
            read = HELPERS,
            "inspect of a private image, credentials from docker-credential-{helper}"
        );
        workshop::check_eq!(
            (helpers.asked(helper), helpers.asked("crash")),
            (Some(host.clone()), None),
            read = HELPERS,
            "what each helper was asked (credHelpers comes before credsStore)"
        );
    }
    // The identity token went to the realm as an OAuth2 refresh token.
    let posts = tool
        .registry
        .take_request_lines()
        .into_iter()
        .filter(|line| line.starts_with("POST /token"))
        .count();
    workshop::check_eq!(
        posts,
        1,
        read = HELPERS,
        "POSTs of the identity token to the realm"
    );
}

#[test]
fn a_helper_without_credentials_falls_back_to_auths() {
    let tool = Tool::private();
    let host = tool.registry.host();
    let auths = serde_json::json!({ &host: { "auth": "bGVhcm5lcjpzZWNyZXQ=" } });
    let helpers = Helpers::new(serde_json::json!({ "credsStore": "empty", "auths": auths }));
    let (code, _, err) =
        tool.run_with_helpers(&helpers, &["inspect", &tool.image("library/hello")]);
    workshop::check_eq!(
        (code, err, helpers.asked("empty")),
        (0, String::new(), Some(host.clone())),
        read = HELPERS,
        "inspect with a helper that has nothing, and learner:secret in auths"
    );
}

#[test]
fn a_missing_or_failing_helper_is_named_with_what_it_said() {
    let tool = Tool::private();
    let mut report = String::new();
    for store in ["crash", "nothere", "empty"] {
        let helpers = Helpers::new(serde_json::json!({ "credsStore": store }));
        let (code, _, err) =
            tool.run_with_helpers(&helpers, &["inspect", &tool.image("library/hello")]);
        report.push_str(&format!("credsStore {store}: exit {code}\n{err}\n"));
    }
    workshop::check!(
        !report.contains("secret"),
        expected = "no secret in any message",
        got = report,
        read = HELPERS,
    );
    insta::assert_snapshot!(report, @r"
    credsStore crash: exit 1
    dockerless: docker-credential-crash (the credential helper DOCKER_CONFIG/config.json names for REGISTRY) gave no credentials: it failed (exit status: 2): panic: the keyring is locked; run `docker-credential-crash get` by hand to see why, log in again (docker login REGISTRY), or set DOCKER_USERNAME and DOCKER_PASSWORD

    credsStore nothere: exit 1
    dockerless: docker-credential-nothere (the credential helper DOCKER_CONFIG/config.json names for REGISTRY) gave no credentials: it is not installed (not found on PATH); install it, or remove it from DOCKER_CONFIG/config.json, or set DOCKER_USERNAME and DOCKER_PASSWORD

    credsStore empty: exit 4
    dockerless: REGISTRY refused access: UNAUTHORIZED authentication required: the credential helper docker-credential-empty has no credentials for this registry: log in (docker login REGISTRY), or set DOCKER_USERNAME and DOCKER_PASSWORD
    ");
}

#[test]
fn export_writes_a_wsl_archive_and_says_how_to_import_it() {
    let tool = Tool::new();
    let (ok, _, err) = tool.run(&["pull", "-q", &tool.image("library/hello")]);
    assert!(ok, "{err}");
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("hello.tar.gz").display().to_string();
    let (code, said, _) =
        tool.run_with_code(&["export", &tool.image("library/hello"), "-o", &file]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(said.replace(&out.path().display().to_string(), "OUT"), @r"
    warning: there is no /bin/sh: WSL runs its commands through it, so `wsl -d` will fail
    Exported REGISTRY/library/hello:latest as wsl, 21 entries
      digest sha256:07bf1163d7dda2dd8c9c945b8756b562b288a4d791e2f9ece8a593c62a366baf
      to     OUT/hello.tar.gz
    Import it on Windows (PowerShell, in the directory the file was copied to):
      wsl.exe --import hello C:\WSL\hello hello.tar.gz
    ");
    // The archive to standard output: what the command says goes to stderr.
    let output = Command::cargo_bin("dockerless")
        .unwrap()
        .args([
            "export",
            &tool.image("library/hello"),
            "-o",
            "-",
            "--format",
            "wsl",
            "-q",
        ])
        .env("DOCKER_INTERNALS_HOME", tool.home.path())
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        output.stdout,
        std::fs::read(&file).unwrap(),
        "-o - writes the same archive"
    );
}

#[test]
fn export_errors_say_what_to_do_and_exit_with_their_kind() {
    let tool = Tool::new();
    let (ok, _, err) = tool.run(&["pull", "-q", &tool.image("library/hello")]);
    assert!(ok, "{err}");
    let out = tempfile::tempdir().unwrap();
    let existing = out.path().join("existing.tar");
    std::fs::write(&existing, "keep me").unwrap();
    let existing = existing.display().to_string();
    let cases = [
        vec![
            "export".to_string(),
            tool.image("library/nothing"),
            "-o".into(),
            "x.tar".into(),
        ],
        vec![
            "export".into(),
            tool.image("library/hello"),
            "-o".into(),
            "hello.zip".into(),
        ],
        vec![
            "export".into(),
            tool.image("library/hello"),
            "-o".into(),
            existing.clone(),
        ],
        vec![
            "export".into(),
            tool.image("library/hello"),
            "-o".into(),
            "-".into(),
            "--format".into(),
            "oci".into(),
        ],
    ];
    let mut report = String::new();
    for args in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, err) = tool.run_with_code(&args);
        report.push_str(&format!(
            "$ dockerless {}   (exit {code})\n{err}\n",
            args.join(" ").replace(&tool.registry.host(), "REGISTRY")
        ));
    }
    insta::assert_snapshot!(report.replace(&out.path().display().to_string(), "OUT"));
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
}
