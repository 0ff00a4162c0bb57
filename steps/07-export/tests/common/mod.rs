//! What the step's checks share: fixture images pulled from the bundled
//! registry into a temporary store, listings of archives and trees to
//! compare, and the peers (GNU tar, bsdtar, podman, skopeo, umoci).

#![allow(dead_code)] // each test binary uses its own share of the helpers

use mock_registry::MockRegistry;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output as ProcessOutput};
use std::time::Duration;
use step_01_registry::{Client, ClientOptions, Reference, RetryPolicy};
use step_02_layers::progress::Silent;
use step_02_layers::pull::{PullOptions, pull};
use step_02_layers::store::Store;
use step_07_export::{ExportOptions, Exported, Format, Output, export};

/// The book sections the checks send a learner to.
pub const FORMATS: &str = "step-07-export.md#formats-and-names";
pub const ENTRY_NAMES: &str = "step-07-export.md#entry-names";
pub const WHAT_STAYS_OUT: &str = "step-07-export.md#what-stays-out";
pub const ENTRY_HEADERS: &str = "step-07-export.md#entry-headers";
pub const HARD_LINKS: &str = "step-07-export.md#hard-links";
pub const GZIP: &str = "step-07-export.md#gzip-on-every-core";
pub const WSL_FILES: &str = "step-07-export.md#wsl-files";
pub const OCI_LAYOUT: &str = "step-07-export.md#the-oci-layout";
pub const DOCKER_ARCHIVE: &str = "step-07-export.md#docker-save-archives";
pub const BAD_INPUT: &str = "step-07-export.md#bad-input";

/// The bundled registry and a store to pull its fixtures into.
pub struct Setup {
    pub registry: MockRegistry,
    pub home: tempfile::TempDir,
    /// Where the checks write their exports.
    pub out: tempfile::TempDir,
}

impl Setup {
    pub fn new() -> Setup {
        Setup {
            registry: MockRegistry::with_fixtures().expect("the bundled registry starts"),
            home: tempfile::tempdir().unwrap(),
            out: tempfile::tempdir().unwrap(),
        }
    }

    pub fn store(&self) -> Store {
        Store::open(Some(self.home.path())).unwrap()
    }

    pub fn reference(&self, name: &str) -> Reference {
        Reference::parse(&format!("{}/{name}", self.registry.host())).unwrap()
    }

    /// A client of the bundled registry for `reference`.
    pub fn client(&self, reference: &Reference) -> Client {
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

    /// Pulls `name` (`library/hello`, `library/layers:oci`) with step 02.
    pub fn pull(&self, name: &str) -> Reference {
        let reference = self.reference(name);
        let client = self.client(&reference);
        let options = PullOptions {
            jobs: 1,
            ..PullOptions::default()
        };
        pull(&client, &self.store(), &reference, &options, &Silent).expect("the fixture pulls");
        reference
    }

    /// Where the stored root filesystem of `reference` is.
    pub fn rootfs(&self, reference: &Reference) -> PathBuf {
        self.store().image_dir(reference)
    }

    /// Exports `reference` to `file` in the output directory, the format
    /// taken from the name, and returns the path with what was done.
    pub fn export(&self, reference: &Reference, file: &str) -> (PathBuf, Exported) {
        self.export_with(reference, file, &ExportOptions::default())
    }

    pub fn export_with(
        &self,
        reference: &Reference,
        file: &str,
        options: &ExportOptions,
    ) -> (PathBuf, Exported) {
        let path = self.out.path().join(file);
        let exported = export(
            &self.store(),
            reference,
            &Output::Path(path.clone()),
            options,
            &mut std::io::sink(),
        )
        .unwrap_or_else(|e| panic!("exporting {reference} to {file}: {e}"));
        (path, exported)
    }

    /// Exports as `format` to standard output (a buffer here).
    pub fn export_bytes(&self, reference: &Reference, format: Format) -> Vec<u8> {
        let mut bytes = Vec::new();
        export(
            &self.store(),
            reference,
            &Output::Stdout,
            &ExportOptions {
                format: Some(format),
                ..ExportOptions::default()
            },
            &mut bytes,
        )
        .unwrap_or_else(|e| panic!("exporting {reference} as {format}: {e}"));
        bytes
    }
}

/// The bytes of a file, gunzipped when they start with gzip's magic.
pub fn tar_bytes(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    gunzip_if_gzip(bytes)
}

pub fn gunzip_if_gzip(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut tar)
            .expect("a valid gzip stream");
        tar
    } else {
        bytes
    }
}

/// One line per tar entry, in the archive's order:
/// `name type mode uid:gid size [-> target]`, type `d f l h p c b` as
/// `ls -l` would show it (`h` a hard link). An entry with a user or group
/// name, or an mtime other than `mtime`, gets a note at the end.
pub fn tar_listing(tar: &[u8], mtime: u64) -> String {
    let mut archive = tar::Archive::new(tar);
    let mut lines = String::new();
    for entry in archive.entries().expect("a tar") {
        let entry = entry.expect("a tar entry");
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Regular => 'f',
            tar::EntryType::Symlink => 'l',
            tar::EntryType::Link => 'h',
            tar::EntryType::Fifo => 'p',
            tar::EntryType::Char => 'c',
            tar::EntryType::Block => 'b',
            _ => '?',
        };
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mut line = format!(
            "{name} {kind} {:04o} {}:{} {}",
            header.mode().unwrap(),
            header.uid().unwrap(),
            header.gid().unwrap(),
            header.size().unwrap(),
        );
        if let Some(target) = entry.link_name_bytes() {
            line += &format!(" -> {}", String::from_utf8_lossy(&target));
        }
        if header.username_bytes().is_some_and(|n| !n.is_empty())
            || header.groupname_bytes().is_some_and(|n| !n.is_empty())
        {
            line += " (has a user or group name)";
        }
        if header.mtime().unwrap() != mtime {
            line += &format!(" (mtime {})", header.mtime().unwrap());
        }
        lines += &line;
        lines.push('\n');
    }
    lines
}

/// The entry names of a tar listing, without the trailing `/` of directories.
pub fn names(listing: &str) -> Vec<String> {
    listing
        .lines()
        .map(|l| {
            l.split(' ')
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}

/// Every path under `root` (relative, sorted) but device nodes and sockets.
pub fn tree_names(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let kind = meta.file_type();
            if kind.is_char_device() || kind.is_block_device() || kind.is_socket() {
                continue;
            }
            if meta.is_dir() {
                stack.push(path.clone());
            }
            found.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
    found.sort();
    found
}

/// The image's config `created`, in seconds: what every entry's mtime is.
pub const FIXTURE_CREATED: u64 = 1_704_067_200;

/// A peer program on PATH. Missing, the check is skipped and says which
/// Debian package brings it, unless `DOCKER_INTERNALS_REQUIRE_PEERS=1` (CI),
/// where it fails.
pub fn peer(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        let reason = format!("needs {name}: apt-get install {package} (or cargo xtask setup)");
        if std::env::var("DOCKER_INTERNALS_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("{reason}");
        }
        workshop::skip(&reason);
    }
    found
}

/// Whether this process is root; if not, the check says so and skips
/// (extracting owners and podman's storage need it).
pub fn is_root() -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        workshop::skip("needs root: extracting owners and podman's image store need it");
    }
    root
}

/// Runs `program args`, failing the check with its output if it fails.
pub fn run(program: &Path, args: &[&str]) -> ProcessOutput {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    assert!(
        output.status.success(),
        "{} {} failed:\n{}{}",
        program.display(),
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// podman with a throwaway image store under `dir` (vfs, so it needs no
/// overlay mounts), never the system's.
pub struct Podman {
    program: PathBuf,
    root: String,
    runroot: String,
}

impl Podman {
    pub fn find(dir: &Path) -> Option<Podman> {
        let program = peer("podman", "podman")?;
        if !is_root() {
            return None;
        }
        Some(Podman {
            program,
            root: dir.join("root").display().to_string(),
            runroot: dir.join("runroot").display().to_string(),
        })
    }

    pub fn run(&self, args: &[&str]) -> String {
        let mut all = vec![
            "--root",
            &self.root,
            "--runroot",
            &self.runroot,
            "--storage-driver",
            "vfs",
            "--events-backend",
            "none",
        ];
        all.extend_from_slice(args);
        let output = run(&self.program, &all);
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Mounted images keep their directory busy; unmount them all.
        let _ = Command::new(&self.program)
            .args(["--root", &self.root, "--runroot", &self.runroot])
            .args(["--storage-driver", "vfs", "image", "unmount", "--all"])
            .output();
    }
}
