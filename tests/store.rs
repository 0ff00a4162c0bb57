//! One store, many processes: `dockerless` commands started together on the
//! same store (two shells, CI jobs, `run` pulling on demand) must each
//! succeed and leave one whole image behind, as containerd's content store
//! does. Each command is a real process, so the locks under test are the
//! ones between processes.

use mock_registry::MockRegistry;
use mock_registry::fixtures::{Entry, Layer, LayerBuilder, image_of_layers};
use std::path::Path;
use std::process::{Command, Output};
use step_01_registry::Reference;
use step_02_layers::fingerprint::fingerprint;
use step_02_layers::store::Store;
use step_02_layers::tree;

const READ: &str = "step-02-layers.md#one-store-many-processes";

/// Bytes that gzip cannot shrink much, so each layer takes a while to
/// download and the pulls overlap.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Four layers of two megabytes each, the later ones changing the earlier.
fn layers() -> Vec<Layer> {
    (0..4u64)
        .map(|i| {
            LayerBuilder::new()
                .entry(Entry::dir("data"))
                .entry(Entry::file(format!("data/layer-{i}"), noise(i, 2 << 20)))
                .entry(Entry::file("data/last", format!("layer {i}\n")))
                .build()
        })
        .collect()
}

struct Setup {
    registry: MockRegistry,
    home: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let registry = MockRegistry::with_fixtures().expect("the bundled registry starts");
        registry
            .seed(&image_of_layers("library/shared", "latest", layers()))
            .unwrap();
        Setup {
            registry,
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn image(&self) -> String {
        format!("{}/library/shared:latest", self.registry.host())
    }

    fn command(&self, home: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dockerless"));
        command
            .args(args)
            .env("DOCKER_INTERNALS_HOME", home)
            .env("DOCKER_CONFIG", home.join("no-docker-config"))
            .env_remove("DOCKER_USERNAME")
            .env_remove("DOCKER_PASSWORD");
        command
    }

    /// Starts every command at once, then waits for them all.
    fn race(&self, commands: Vec<Vec<String>>) -> Vec<(Vec<String>, Output)> {
        let children: Vec<_> = commands
            .into_iter()
            .map(|args| {
                let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                let child = self
                    .command(self.home.path(), &argv)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("dockerless starts");
                (args, child)
            })
            .collect();
        children
            .into_iter()
            .map(|(args, child)| (args, child.wait_with_output().unwrap()))
            .collect()
    }

    /// The tree one pull alone makes, in a store of its own.
    fn expected_tree(&self) -> String {
        let home = tempfile::tempdir().unwrap();
        let output = self
            .command(home.path(), &["pull", "-q", &self.image()])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        self.tree_in(home.path())
    }

    fn tree_in(&self, home: &Path) -> String {
        let dir = home
            .join(self.registry.host())
            .join("library/shared/latest");
        tree::listing(&dir).unwrap_or_else(|e| format!("no tree at {}: {e}", dir.display()))
    }

    /// What is left in the store's blob downloads and staging area.
    fn leftovers(&self) -> Vec<String> {
        [".blobs/partial", ".tmp"]
            .iter()
            .flat_map(|dir| {
                std::fs::read_dir(self.home.path().join(dir))
                    .unwrap()
                    .map(move |e| format!("{dir}/{}", e.unwrap().file_name().to_string_lossy()))
            })
            .collect()
    }
}

/// Every command that failed, with what it printed.
fn failures(outputs: &[(Vec<String>, Output)]) -> Vec<String> {
    outputs
        .iter()
        .filter(|(_, output)| !output.status.success() || !output.stderr.is_empty())
        .map(|(args, output)| {
            format!(
                "dockerless {}: {}\n{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )
        })
        .collect()
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn eight_pulls_of_one_image_at_once_all_succeed() {
    let setup = Setup::new();
    let expected = setup.expected_tree();
    let image = setup.image();
    let outputs = setup.race(vec![args(&["pull", &image]); 8]);
    workshop::check_eq!(
        failures(&outputs),
        Vec::<String>::new(),
        read = READ,
        "pulls that failed"
    );
    for (_, output) in &outputs {
        let out = String::from_utf8_lossy(&output.stdout);
        workshop::check!(
            out.starts_with("Pulled ") || out.contains(" is up to date"),
            expected = "each pull reports the image pulled, or up to date",
            got = out,
            read = READ,
        );
    }
    workshop::check_eq!(
        setup.tree_in(setup.home.path()),
        expected,
        read = READ,
        "the tree after eight pulls at once"
    );
    workshop::check_eq!(
        setup.leftovers(),
        Vec::<String>::new(),
        read = READ,
        "partial downloads and staging directories left behind"
    );
}

#[test]
fn pulls_race_images_and_push_of_the_same_image() {
    let setup = Setup::new();
    let expected = setup.expected_tree();
    let without_last = expected
        .lines()
        .filter(|line| !line.contains("data/last"))
        .collect::<Vec<_>>()
        .join("\n");
    let image = setup.image();
    // The push needs the image in the store; the pulls then find it changed
    // (a file removed), so each of them flattens and installs it again.
    let first = setup.race(vec![args(&["pull", "-q", &image])]);
    assert_eq!(failures(&first), Vec::<String>::new());
    let stored = setup
        .home
        .path()
        .join(setup.registry.host())
        .join("library/shared/latest");
    std::fs::remove_file(stored.join("data/last")).unwrap();
    let mut commands = vec![args(&["pull", &image]); 4];
    commands.extend(vec![args(&["images"]); 4]);
    commands.push(args(&["pull", &image]));
    commands.push(args(&["push", &image]));
    commands.extend(vec![args(&["images"]); 4]);
    let outputs = setup.race(commands);
    workshop::check_eq!(
        failures(&outputs),
        Vec::<String>::new(),
        read = READ,
        "commands that failed"
    );
    for (args, output) in outputs.iter().filter(|(args, _)| args[0] == "images") {
        let out = String::from_utf8_lossy(&output.stdout);
        workshop::check!(
            out.lines().count() <= 2,
            expected = "the listing: a header, and the image once it is in",
            got = format!("dockerless {}:\n{out}", args.join(" ")),
            read = READ,
        );
    }
    // The push ran before or after the pulls. It sent the tree as it found
    // it (with or without `data/last`) under the same tag, so the tag now
    // names either version. Whichever it is, the tree is whole and is the
    // one the files beside it describe.
    let tree = setup.tree_in(setup.home.path());
    workshop::check!(
        tree == expected || tree == without_last,
        expected = format!("{expected}\nor\n{without_last}"),
        got = tree,
        read = READ,
    );
    let store = Store::open(Some(setup.home.path())).unwrap();
    let reference = Reference::parse(&image).unwrap();
    let record = store.record(&reference).map(|r| r.fingerprint);
    workshop::check_eq!(
        record,
        Some(fingerprint(&stored).unwrap()),
        read = READ,
        "the fingerprint kept beside the tree, and the tree's"
    );
    workshop::check_eq!(
        setup.leftovers(),
        Vec::<String>::new(),
        read = READ,
        "partial downloads and staging directories left behind"
    );
}
