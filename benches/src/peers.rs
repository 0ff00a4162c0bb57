//! The real tools the benchmark runs: the CNCF distribution registry, skopeo,
//! and a way to time any command and read its peak memory.

use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The argument that makes the benchmark binary a measuring parent: it runs
/// the command after it and prints its time and peak memory.
pub(crate) const MEASURE: &str = "--child-measure";

/// Finds the program `name` on PATH, or says which Debian `package` has it.
pub fn find(name: &str, package: &str) -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|path| path.is_file())
        })
        .ok_or_else(|| format!("needs {name}: apt-get install {package} (or cargo xtask setup)"))
}

/// The first line `program --version` prints, for the report.
pub fn version(program: &Path) -> String {
    Command::new(program)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.lines().next().map(str::to_string)
        })
        .unwrap_or_else(|| format!("{} (version unknown)", program.display()))
}

/// Debian's `docker-registry` on a free loopback port, storing in a
/// temporary directory; stopped when dropped.
pub struct Registry {
    child: Child,
    _store: tempfile::TempDir,
    /// `127.0.0.1:PORT`
    pub host: String,
}

impl Registry {
    pub fn start(binary: &Path, scratch: &Path) -> io::Result<Registry> {
        let store = tempfile::tempdir_in(scratch)?;
        // The port is chosen here and released just before the registry binds it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            store.path().join("data").display()
        );
        let config_path = store.path().join("config.yml");
        std::fs::write(&config_path, config)?;
        let mut child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        // It says "listening on" once it accepts connections.
        let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line)? == 0 {
                let _ = child.wait();
                return Err(io::Error::other(
                    "docker-registry stopped before it listened",
                ));
            }
            if line.contains("listening on") {
                break;
            }
        }
        // Keep reading its log (one line a request), so it never blocks on a full pipe.
        std::thread::spawn(move || io::copy(&mut lines, &mut io::sink()));
        Ok(Registry {
            child,
            _store: store,
            host: format!("127.0.0.1:{port}"),
        })
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// skopeo with a policy that accepts unsigned images and no stored
/// credentials, whatever the machine's own configuration says.
pub struct Skopeo {
    pub binary: PathBuf,
    policy: tempfile::NamedTempFile,
}

impl Skopeo {
    pub fn new(binary: PathBuf) -> io::Result<Skopeo> {
        let policy = tempfile::NamedTempFile::new()?;
        std::fs::write(
            policy.path(),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )?;
        Ok(Skopeo { binary, policy })
    }

    /// `skopeo --policy P ARGS...`, ready to run or to measure.
    pub fn command(&self, args: &[&str]) -> Vec<String> {
        let mut command = vec![
            self.binary.display().to_string(),
            "--policy".to_string(),
            self.policy.path().display().to_string(),
        ];
        command.extend(args.iter().map(|a| a.to_string()));
        command
    }

    /// The environment skopeo runs with: an auth file that does not exist.
    pub fn env(&self) -> (&'static str, PathBuf) {
        (
            "REGISTRY_AUTH_FILE",
            self.policy.path().with_extension("auth.json"),
        )
    }
}

/// One measured run of a command.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub time: Duration,
    /// Peak resident memory of the process (or of its largest descendant).
    pub max_rss_kib: u64,
}

/// Runs `command` under a fresh measuring parent (this binary with
/// [`MEASURE`]), so the peak memory read back belongs to that command alone:
/// `getrusage(RUSAGE_CHILDREN)` is the maximum over all children a process
/// ever waited for, so one parent can only measure one command.
pub fn measure(command: &[String], env: &[(&str, PathBuf)]) -> io::Result<Sample> {
    // Dirty pages of the previous run must not be written back during this one.
    nix::unistd::sync();
    let output = Command::new(std::env::current_exe()?)
        .arg(MEASURE)
        .args(command)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "{} failed ({})",
            command.join(" "),
            output.status
        )));
    }
    let mut fields = text.split_whitespace();
    let mut number = || -> io::Result<u64> {
        fields
            .next()
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other(format!("the measuring parent printed {text:?}")))
    };
    Ok(Sample {
        time: Duration::from_nanos(number()?),
        max_rss_kib: number()?,
    })
}

/// The measuring parent: runs `command`, then prints the nanoseconds it took
/// and the peak RSS in KiB of it (or of its largest descendant, such as the
/// `gzip` that `tar -z` starts). What the command says on stderr (umoci's
/// progress lines) is shown only if it fails, which this parent does too.
pub(crate) fn measuring_parent(command: &[String]) -> io::Result<bool> {
    let [program, args @ ..] = command else {
        return Err(io::Error::other(format!("{MEASURE} needs a command")));
    };
    let start = Instant::now();
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    let time = start.elapsed();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map_err(io::Error::from)?;
    if !output.status.success() {
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        return Ok(false);
    }
    println!("{} {}", time.as_nanos(), usage.max_rss());
    Ok(true)
}
