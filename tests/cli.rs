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
        let output = Command::cargo_bin("dockerless")
            .unwrap()
            .args(args)
            .env("DOCKER_INTERNALS_HOME", self.home.path())
            .env("DOCKER_CONFIG", self.home.path().join("no-docker-config"))
            // A fixed PATH, so messages that list it read the same everywhere.
            .env("PATH", "/usr/bin:/bin")
            .env_remove("DOCKER_USERNAME")
            .env_remove("DOCKER_PASSWORD")
            .output()
            .unwrap();
        let clean = |bytes: &[u8]| {
            String::from_utf8_lossy(bytes)
                .replace(&self.registry.host(), "REGISTRY")
                .replace(&self.home.path().display().to_string(), "HOME")
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
    Pulled REGISTRY/library/multi:oci (linux/amd64, 1 layer, 0 from cache)
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
