//! What the interop tests share: finding the real peers (skopeo, umoci, ...)
//! and running `mock-registry serve` and the distribution registry as child
//! processes.

// Each test binary includes this module and uses a part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The Debian package that brings each peer.
const PACKAGES: [(&str, &str); 7] = [
    ("skopeo", "skopeo"),
    ("umoci", "umoci"),
    ("docker-registry", "docker-registry"),
    ("htpasswd", "apache2-utils"),
    ("busybox", "busybox-static"),
    ("getcap", "libcap2-bin"),
    ("openssl", "openssl"),
];

/// Finds a peer tool on PATH. When it is missing the test is skipped, unless
/// `DOCKER_INTERNALS_REQUIRE_PEERS=1` (set by `cargo xtask ci`), where a
/// missing peer is a failure: CI must never pass by skipping.
pub fn peer(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        let package = PACKAGES
            .iter()
            .find(|(tool, _)| *tool == name)
            .map_or(name, |(_, package)| package);
        skip_unless_required(&format!(
            "needs {name}: apt-get install {package} (or cargo xtask setup)"
        ));
    }
    found
}

/// Skips the test with `reason`, unless `DOCKER_INTERNALS_REQUIRE_PEERS=1`
/// (set by `cargo xtask ci`), where it fails: CI must never pass by skipping.
fn skip_unless_required(reason: &str) {
    if std::env::var("DOCKER_INTERNALS_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{reason}");
    }
    workshop::skip(reason);
}

/// `mock-registry serve` running as a child process; killed when dropped.
pub struct Served {
    child: Child,
    /// `IP:PORT`, `127.0.0.1:PORT` unless started elsewhere
    pub host: String,
}

impl Served {
    /// Starts `mock-registry serve --addr 127.0.0.1:0 ARGS...` and waits for the
    /// line that tells the address it listens on.
    pub fn start(args: &[&str]) -> Served {
        Served::start_at("127.0.0.1", args)
    }

    /// [`Served::start`] on another of this machine's addresses.
    pub fn start_at(ip: &str, args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mock-registry"))
            .args(["serve", "--addr", &format!("{ip}:0")])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mock-registry starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        lines
            .read_line(&mut first)
            .expect("mock-registry prints where it listens");
        // Keep reading what it prints, so it never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
        let url = first
            .trim()
            .strip_prefix("mock-registry: serving ")
            .unwrap_or_else(|| panic!("unexpected first line from mock-registry: {first:?}"));
        Served {
            host: url.trim_start_matches("http://").to_string(),
            child,
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CNCF distribution registry (Debian's `docker-registry`), on a free
/// loopback port with a store in a temporary directory; stopped when dropped.
pub struct Distribution {
    child: Child,
    _store: tempfile::TempDir,
    /// `127.0.0.1:PORT`, or `NAME:PORT` with TLS
    pub host: String,
}

impl Distribution {
    /// Starts it, open to anyone.
    pub fn start() -> Option<Distribution> {
        Distribution::start_with(None, None)
    }

    /// Starts it open to anyone, speaking HTTPS on `tls.ip` with
    /// `tls.certificate`; `host` is then `tls.name:PORT`.
    pub fn with_tls(tls: &Tls) -> Option<Distribution> {
        Distribution::start_with(None, Some(tls))
    }

    /// Starts it with HTTP Basic auth for one user (an htpasswd file made
    /// with `htpasswd -B`, the bcrypt hashes the registry requires).
    pub fn with_user(user: &str, password: &str) -> Option<Distribution> {
        let htpasswd = peer("htpasswd")?;
        let output = Command::new(htpasswd)
            .args(["-Bbn", user, password])
            .output()
            .expect("htpasswd runs");
        assert!(output.status.success(), "htpasswd failed");
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &output.stdout).unwrap();
        let (_, path) = file.keep().unwrap();
        Distribution::start_with(Some(&path), None)
    }

    fn start_with(htpasswd: Option<&Path>, tls: Option<&Tls>) -> Option<Distribution> {
        let binary = peer("docker-registry")?;
        let store = tempfile::tempdir().unwrap();
        let ip = tls.map_or("127.0.0.1", |tls| tls.ip.as_str());
        // The port is chosen here and released just before the registry binds it.
        let port = std::net::TcpListener::bind((ip, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let auth = htpasswd.map_or(String::new(), |path| {
            format!(
                "auth:\n  htpasswd:\n    realm: interop\n    path: {}\n",
                path.display()
            )
        });
        let certificate = tls.map_or(String::new(), |tls| {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                tls.certificate.display(),
                tls.key.display()
            )
        });
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {ip}:{port}\n{certificate}{auth}",
            store.path().join("data").display()
        );
        let config_path = store.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker-registry starts");
        // It says "listening on" once it accepts connections.
        let mut lines = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            let read = lines.read_line(&mut line).unwrap();
            assert!(read > 0, "docker-registry stopped before it listened");
            if line.contains("listening on") {
                break;
            }
        }
        std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
        let name = tls.map_or("127.0.0.1", |tls| tls.name.as_str());
        Some(Distribution {
            child,
            _store: store,
            host: format!("{name}:{port}"),
        })
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A certificate authority made for one test, and a server certificate it
/// signed, normally for `name`: this machine's name, which resolves to `ip`,
/// one of its addresses. Made with `openssl`, in a temporary directory.
pub struct Tls {
    _dir: tempfile::TempDir,
    /// The CA's certificate, PEM: what `SSL_CERT_FILE` names to trust it.
    pub ca: PathBuf,
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub name: String,
    pub ip: String,
}

impl Tls {
    /// A CA and a certificate for this machine's name. `None` (skipped, with
    /// the reason) where `openssl` is missing or that name does not lead to
    /// an address of this machine: `localhost` and loopback addresses are
    /// spoken to in plain HTTP, so HTTPS needs another name.
    pub fn make() -> Option<Tls> {
        Tls::make_for(None)
    }

    /// [`Tls::make`], with a certificate made for `certified` instead.
    pub fn make_for(certified: Option<&str>) -> Option<Tls> {
        let openssl = peer("openssl")?;
        let name = nix::unistd::gethostname()
            .ok()
            .and_then(|name| name.into_string().ok())
            .unwrap_or_default();
        let ip = std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), 0))
            .into_iter()
            .flatten()
            .map(|address| address.ip())
            .find(|ip| ip.is_ipv4() && std::net::TcpListener::bind((*ip, 0)).is_ok());
        let Some(ip) = ip.filter(|_| name != "localhost") else {
            skip_unless_required(&format!(
                "needs this machine's name ({name:?}) to resolve to one of its addresses: \
                 add `127.0.1.1 {name}` to /etc/hosts"
            ));
            return None;
        };
        let certified = certified.unwrap_or(&name);
        let dir = tempfile::tempdir().unwrap();
        let path = |file: &str| dir.path().join(file);
        let run = |args: &[&str]| {
            let output = Command::new(&openssl)
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("openssl runs");
            assert!(
                output.status.success(),
                "openssl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let p256 = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        run(&[
            &["req", "-x509"],
            &p256[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=dockerless test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        ]
        .concat());
        run(&[
            &["req"],
            &p256[..],
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                &format!("/CN={certified}"),
            ],
        ]
        .concat());
        std::fs::write(
            path("server.ext"),
            format!("subjectAltName=DNS:{certified}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"),
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        Some(Tls {
            ca: path("ca.pem"),
            certificate: path("server.pem"),
            key: path("server.key"),
            name,
            ip: ip.to_string(),
            _dir: dir,
        })
    }
}

/// skopeo with a policy that accepts unsigned images (the default policy file
/// may be missing or strict on a test machine).
pub struct Skopeo {
    binary: PathBuf,
    policy: tempfile::NamedTempFile,
}

impl Skopeo {
    pub fn find() -> Option<Skopeo> {
        let binary = peer("skopeo")?;
        let policy = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            policy.path(),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        Some(Skopeo { binary, policy })
    }

    /// Runs `skopeo --policy P ARGS...` and returns its output, successful or not.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.binary)
            .arg("--policy")
            .arg(self.policy.path())
            .args(args)
            .env(
                "REGISTRY_AUTH_FILE",
                self.policy.path().with_extension("auth.json"),
            )
            .output()
            .expect("skopeo runs")
    }

    /// `skopeo copy --all --preserve-digests` between two plain-HTTP registries:
    /// every platform, every byte as it was.
    pub fn copy_between_registries(&self, from: &str, to: &str) {
        self.ok(&[
            "copy",
            "--all",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            from,
            to,
        ]);
    }

    /// Runs skopeo and fails the test, with skopeo's own words, if it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "skopeo {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

/// Digests of every blob file in an OCI layout, sorted.
pub fn layout_blobs(dir: &Path) -> Vec<String> {
    let mut blobs: Vec<String> = std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|entry| format!("sha256:{}", entry.unwrap().file_name().to_string_lossy()))
        .collect();
    blobs.sort();
    blobs
}
