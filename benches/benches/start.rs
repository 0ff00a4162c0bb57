//! The start-up benchmark: how long a container takes from start to exit
//! when all it runs is `/bin/true`, for `dockerless run` against `unshare`
//! with the same namespaces and against `crun run` of the same root
//! filesystem.
//!
//! ```text
//! sudo cargo bench -p benches --bench start     (or: just bench)
//! ```
//!
//! The image is this machine's busybox-static as the bundled registry serves
//! it (`library/busybox`), pulled once, untimed, into a store of the
//! benchmark's own. The four runs then start `/bin/true` in its root
//! filesystem, [`RUNS`] times each, taking turns, after a few untimed runs
//! that warm the page cache:
//!
//! - `dockerless --home DIR run IMAGE /bin/true`: new uts, ipc, mount, pid,
//!   net and cgroup namespaces, the root bound onto itself, a fresh /proc, a
//!   hostname, lo up, a chroot, and a supervisor outside. It runs as this
//!   binary started again with [`CHILD_DOCKERLESS`], which parses that
//!   command line and does what step 06's `dockerless run` does;
//! - `dockerless --home DIR run --memory 64m --pids-limit 64 IMAGE
//!   /bin/true`, as the tool runs it (step 08): all of the above with
//!   pivot_root instead of chroot, Docker's /dev and masked paths, a cgroup
//!   with those limits and Docker's capabilities, started with
//!   [`CHILD_ISOLATED`];
//! - `unshare --fork --pid --mount --uts --ipc --net --mount-proc --root
//!   ROOTFS /bin/true`: the namespaces and /proc, nothing else;
//! - `crun run --bundle B ID`: the OCI runtime, with the default `crun spec`
//!   made to run `/bin/true` in the same root filesystem (writable) and the
//!   same namespaces.
//!
//! Debian's crun 1.8 refuses a hybrid cgroup host ("cgroups in hybrid mode
//! not supported"). Its runs are therefore measured by a helper, this binary
//! started with [`CHILD_CRUN_MOUNTS`], that moves into a mount namespace of
//! its own where the cgroup v2 mount at `/sys/fs/cgroup/unified` is gone, so
//! crun sees plain cgroup v1; elsewhere the helper changes nothing that crun
//! sees. The helper stays up for the whole benchmark and measures one crun
//! run each time the benchmark asks, so the runs still take turns.
//!
//! Every measured command runs under a fresh measuring parent (as in the
//! pull and push benchmarks), which times it from spawn to exit and reads
//! the peak memory of it or of its largest descendant. The report is
//! printed and written to `target/bench/start.md`. Timings are compared as
//! ratios of medians on one machine in one run; nothing here fails because
//! a target is missed.

use benches::peers::{self, Sample};
use benches::{BenchResult, Summary, Target, load_average, machine};
use mock_registry::MockRegistry;
use mock_registry::fixtures::{HOST_BUSYBOX, busybox_image, default_config};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::time::Duration;
use step_01_registry::Reference;
use step_01_registry::cli::RegistryArgs;
use step_02_layers::cli::StoreArgs;
use step_02_layers::store::Store;
use step_06_namespaces::cli::RunArgs;
use step_08_isolation::cli::RunArgs as IsolatedArgs;

/// Timed runs of each tool; the report shows the median.
const RUNS: usize = 200;

/// Untimed runs of each tool before the timed ones.
const WARM_UP: usize = 5;

/// The program every container runs.
const TRUE: &str = "/bin/true";

/// The argument that makes this binary `dockerless`, for `run` only:
/// `--child-dockerless --home DIR run IMAGE COMMAND...`.
const CHILD_DOCKERLESS: &str = "--child-dockerless";

/// The argument that makes this binary `dockerless` with step 08's
/// isolation: `--child-isolated --home DIR run --memory 64m ... IMAGE COMMAND`.
const CHILD_ISOLATED: &str = "--child-isolated";

/// The limits the isolated runs set, as the issue for step 08 asked.
const LIMITS: [&str; 4] = ["--memory", "64m", "--pids-limit", "64"];

/// The argument that makes this binary the helper that measures crun:
/// `--child-crun-mounts <crun> <state dir> <bundle>`. It reads a container
/// id a line and answers each with `<nanoseconds> <peak KiB>`.
const CHILD_CRUN_MOUNTS: &str = "--child-crun-mounts";

/// Where a hybrid cgroup host mounts cgroup v2 beside the v1 hierarchies.
const UNIFIED: &str = "/sys/fs/cgroup/unified";

/// The namespaces `dockerless run` makes as root, as the OCI spec names them.
const NAMESPACES: [&str; 6] = ["pid", "network", "ipc", "uts", "mount", "cgroup"];

/// The targets, from the issue that asked for this benchmark.
const MAX_RATIO_TO_UNSHARE: f64 = 1.2;
const MAX_RATIO_TO_CRUN: f64 = 0.5;
const MAX_ISOLATED_TO_CRUN: f64 = 0.5;

fn main() -> ExitCode {
    benches::bench_main(
        "start",
        &[
            (CHILD_DOCKERLESS, child_dockerless),
            (CHILD_ISOLATED, child_isolated),
            (CHILD_CRUN_MOUNTS, child_crun_mounts),
        ],
        run,
    )
}

/// The command line `dockerless run` is reached through, as `dockerless`
/// parses it.
#[derive(clap::Parser)]
#[command(name = "dockerless")]
struct Cli {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Subcommand,
}

#[derive(clap::Subcommand)]
enum Subcommand {
    Run(RunArgs),
}

/// `dockerless run`, in this process; a container that exits with anything
/// but 0 is a failure.
fn child_dockerless(args: &[String]) -> BenchResult<()> {
    let cli = <Cli as clap::Parser>::try_parse_from(
        std::iter::once("dockerless").chain(args.iter().map(String::as_str)),
    )?;
    let Subcommand::Run(run) = &cli.command;
    let code = step_06_namespaces::cli::run_command(run, &cli.registry, &cli.store)?;
    if code != 0 {
        return Err(format!("the container exited with {code}").into());
    }
    Ok(())
}

/// The same command line for step 08's `run`: pivot_root, /dev, masked
/// paths, a cgroup with limits, capabilities.
#[derive(clap::Parser)]
#[command(name = "dockerless")]
struct IsolatedCli {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: IsolatedSubcommand,
}

#[derive(clap::Subcommand)]
enum IsolatedSubcommand {
    Run(IsolatedArgs),
}

/// `dockerless run` as the tool runs it (step 08), in this process.
fn child_isolated(args: &[String]) -> BenchResult<()> {
    let cli = <IsolatedCli as clap::Parser>::try_parse_from(
        std::iter::once("dockerless").chain(args.iter().map(String::as_str)),
    )?;
    let IsolatedSubcommand::Run(run) = &cli.command;
    let code = step_08_isolation::cli::run_command(run, &cli.registry, &cli.store)?;
    if code != 0 {
        return Err(format!("the container exited with {code}").into());
    }
    Ok(())
}

/// The crun helper: a mount namespace of its own without the cgroup v2
/// mount, then one measured `crun run` per container id read from stdin.
fn child_crun_mounts(args: &[String]) -> BenchResult<()> {
    let [crun, state, bundle] = args else {
        return Err(format!("usage: {CHILD_CRUN_MOUNTS} <crun> <state dir> <bundle>").into());
    };
    hide_unified_cgroup()?;
    let mut answers = std::io::stdout().lock();
    for id in std::io::stdin().lock().lines() {
        let command = crun_run(crun, state, bundle, &id?);
        let sample = peers::measure(&command, &[])?;
        writeln!(answers, "{} {}", sample.time.as_nanos(), sample.max_rss_kib)?;
        answers.flush()?;
    }
    Ok(())
}

/// Moves this process into a new mount namespace, keeps its mounts from
/// propagating back, and detaches `/sys/fs/cgroup/unified` there (where
/// there is one): crun 1.8 then finds cgroup v1 alone.
fn hide_unified_cgroup() -> nix::Result<()> {
    use nix::mount::{MntFlags, MsFlags, mount, umount2};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )?;
    match umount2(UNIFIED, MntFlags::MNT_DETACH) {
        // Not a mount point, or not there: a cgroup v1 or v2 host.
        Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOENT) => Ok(()),
        result => result,
    }
}

/// `crun --root STATE run --bundle BUNDLE ID`.
fn crun_run(crun: &str, state: &str, bundle: &str, id: &str) -> Vec<String> {
    [crun, "--root", state, "run", "--bundle", bundle, id]
        .map(str::to_string)
        .to_vec()
}

/// The peers, found on PATH.
struct Tools {
    unshare: PathBuf,
    crun: PathBuf,
}

impl Tools {
    fn find() -> BenchResult<Tools> {
        Ok(Tools {
            unshare: peers::find("unshare", "util-linux")?,
            crun: peers::find("crun", "crun")?,
        })
    }
}

fn run() -> BenchResult<()> {
    if !nix::unistd::geteuid().is_root() {
        return Err("needs root to make namespaces for all three tools: \
                    sudo cargo bench -p benches --bench start"
            .into());
    }
    if !Path::new(HOST_BUSYBOX).is_file() {
        return Err(format!(
            "needs {HOST_BUSYBOX}: apt-get install busybox-static (or cargo xtask setup)"
        )
        .into());
    }
    let tools = Tools::find()?;
    let target = benches::target_dir()?;
    let data = target.join("bench-data");
    std::fs::create_dir_all(&data)?;
    let work_parent = benches::work_parent(data);
    let work = benches::work_dir("start-bench-", &work_parent)?;

    eprintln!(
        "start benchmark: pulling busybox into a store under {}",
        work.path().display()
    );
    let home = work.path().join("home");
    let image = pull_busybox(&home)?;
    let rootfs = Store::open(Some(home.as_path()))?.image_dir(&Reference::parse(&image)?);
    let bundle = work.path().join("bundle");
    write_bundle(&tools.crun, &bundle, &rootfs)?;
    let state = work.path().join("crun-state");
    std::fs::create_dir_all(&state)?;

    let dockerless = [
        std::env::current_exe()?.display().to_string(),
        CHILD_DOCKERLESS.to_string(),
        "--home".to_string(),
        home.display().to_string(),
        "run".to_string(),
        image.clone(),
        TRUE.to_string(),
    ];
    let isolated: Vec<String> = [
        std::env::current_exe()?.display().to_string(),
        CHILD_ISOLATED.to_string(),
        "--home".to_string(),
        home.display().to_string(),
        "run".to_string(),
    ]
    .into_iter()
    .chain(LIMITS.iter().map(|s| s.to_string()))
    .chain([image.clone(), TRUE.to_string()])
    .collect();
    let unshare = [
        tools.unshare.display().to_string(),
        "--fork".to_string(),
        "--pid".to_string(),
        "--mount".to_string(),
        "--uts".to_string(),
        "--ipc".to_string(),
        "--net".to_string(),
        "--mount-proc".to_string(),
        "--root".to_string(),
        rootfs.display().to_string(),
        TRUE.to_string(),
    ];
    let mut crun = CrunHelper::start(&tools.crun, &state, &bundle)?;

    let load_before = load_average();
    eprintln!("start benchmark: {WARM_UP} untimed runs of each tool");
    for _ in 0..WARM_UP {
        peers::measure(&dockerless, &[])?;
        peers::measure(&isolated, &[])?;
        peers::measure(&unshare, &[])?;
        crun.measure()?;
    }
    eprintln!("start benchmark: {RUNS} runs of each tool, taking turns");
    let mut results = Results::default();
    for round in 0..RUNS {
        // Each round starts with a different tool, so none always runs first.
        for turn in 0..4 {
            match (round + turn) % 4 {
                0 => results.dockerless.push(peers::measure(&dockerless, &[])?),
                1 => results.isolated.push(peers::measure(&isolated, &[])?),
                2 => results.unshare.push(peers::measure(&unshare, &[])?),
                _ => results.crun.push(crun.measure()?),
            }
        }
        if (round + 1) % 50 == 0 {
            eprintln!("start benchmark: {} of {RUNS} rounds", round + 1);
        }
    }
    crun.finish()?;
    let setting = Setting {
        work: work_parent.display().to_string(),
        load: format!("{} before, {} after", load_before, load_average()),
        rootfs,
    };
    let report = report(&tools, &setting, &results);
    benches::publish(&target, "start", &report)
}

/// Serves this machine's busybox as `library/busybox` from the bundled
/// registry and pulls it into the store at `home`, as `dockerless pull`
/// does; returns the reference.
fn pull_busybox(home: &Path) -> BenchResult<String> {
    let registry = MockRegistry::start()?;
    let image = busybox_image(
        Path::new(HOST_BUSYBOX),
        "library/busybox",
        "latest",
        default_config(),
    )
    .ok_or_else(|| format!("cannot read {HOST_BUSYBOX}"))?;
    registry.seed(&image)?;
    let reference = format!("{}/library/busybox", registry.host());
    benches::child_pull(&[home.display().to_string(), reference.clone()])?;
    Ok(reference)
}

/// An OCI bundle for crun: the config `crun spec` writes, running
/// `/bin/true` without a terminal in `rootfs` (writable, as dockerless
/// leaves it) with the namespaces dockerless makes.
fn write_bundle(crun: &Path, bundle: &Path, rootfs: &Path) -> BenchResult<()> {
    std::fs::create_dir_all(bundle)?;
    let status = Command::new(crun)
        .arg("spec")
        .current_dir(bundle)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("`{} spec` failed ({status})", crun.display()).into());
    }
    let path = bundle.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    config["root"] = json!({ "path": rootfs, "readonly": false });
    config["process"]["args"] = json!([TRUE]);
    config["process"]["terminal"] = json!(false);
    config["linux"]["namespaces"] = NAMESPACES
        .iter()
        .map(|kind| json!({ "type": kind }))
        .collect();
    std::fs::write(&path, serde_json::to_vec_pretty(&config)?)?;
    Ok(())
}

/// The crun helper, running: each [`CrunHelper::measure`] is one measured
/// `crun run` of a container with a new id.
struct CrunHelper {
    child: Child,
    requests: ChildStdin,
    answers: BufReader<ChildStdout>,
    runs: usize,
}

impl CrunHelper {
    fn start(crun: &Path, state: &Path, bundle: &Path) -> BenchResult<CrunHelper> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(CHILD_CRUN_MOUNTS)
            .args([crun, state, bundle])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let requests = child.stdin.take().expect("stdin is piped");
        let answers = BufReader::new(child.stdout.take().expect("stdout is piped"));
        Ok(CrunHelper {
            child,
            requests,
            answers,
            runs: 0,
        })
    }

    fn measure(&mut self) -> BenchResult<Sample> {
        self.runs += 1;
        let id = format!("start-bench-{}-{}", std::process::id(), self.runs);
        writeln!(self.requests, "{id}")?;
        self.requests.flush()?;
        let mut line = String::new();
        self.answers.read_line(&mut line)?;
        let mut fields = line.split_whitespace().map(str::parse::<u64>);
        match (fields.next(), fields.next()) {
            (Some(Ok(nanos)), Some(Ok(max_rss_kib))) => Ok(Sample {
                time: Duration::from_nanos(nanos),
                max_rss_kib,
            }),
            _ => Err(format!("the crun helper stopped (it answered {line:?})").into()),
        }
    }

    /// Closes the helper's input, so it ends, and waits for it.
    fn finish(self) -> BenchResult<()> {
        let CrunHelper {
            mut child,
            requests,
            ..
        } = self;
        drop(requests);
        let status = child.wait()?;
        if !status.success() {
            return Err(format!("the crun helper failed ({status})").into());
        }
        Ok(())
    }
}

/// Every run of every tool.
#[derive(Default)]
struct Results {
    /// Step 06's `run`: the namespaces only.
    dockerless: Vec<Sample>,
    /// Step 08's `run`, as the tool runs it, with `LIMITS`.
    isolated: Vec<Sample>,
    unshare: Vec<Sample>,
    crun: Vec<Sample>,
}

/// Where and under what load the runs happened.
struct Setting {
    /// The directory the store and the crun bundle were in.
    work: String,
    /// The 1-minute load average before and after.
    load: String,
    rootfs: PathBuf,
}

/// The `fraction` quantile of the runs' times, in milliseconds.
fn quantile_ms(samples: &[Sample], fraction: f64) -> f64 {
    let mut times: Vec<Duration> = samples.iter().map(|s| s.time).collect();
    times.sort();
    let index = ((times.len() - 1) as f64 * fraction).round() as usize;
    times[index].as_secs_f64() * 1e3
}

fn report(tools: &Tools, setting: &Setting, results: &Results) -> String {
    let ours = Summary::of(&results.dockerless);
    let isolated = Summary::of(&results.isolated);
    let unshare = Summary::of(&results.unshare);
    let crun = Summary::of(&results.crun);
    let to_unshare = ours.seconds / unshare.seconds;
    let to_crun = ours.seconds / crun.seconds;
    let isolated_to_crun = isolated.seconds / crun.seconds;
    let targets = [
        Target {
            goal: format!(
                "dockerless run ≤ {MAX_RATIO_TO_UNSHARE} × unshare (median start to exit)"
            ),
            measured: format!("{to_unshare:.2} ×"),
            met: to_unshare <= MAX_RATIO_TO_UNSHARE,
        },
        Target {
            goal: format!("dockerless run ≤ {MAX_RATIO_TO_CRUN} × crun run (median start to exit)"),
            measured: format!("{to_crun:.2} ×"),
            met: to_crun <= MAX_RATIO_TO_CRUN,
        },
        Target {
            goal: format!(
                "dockerless run {} (pivot_root, /dev, cgroup limits, capabilities) ≤ \
                 {MAX_ISOLATED_TO_CRUN} × crun run",
                LIMITS.join(" ")
            ),
            measured: format!("{isolated_to_crun:.2} ×"),
            met: isolated_to_crun <= MAX_ISOLATED_TO_CRUN,
        },
    ];

    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# dockerless run start-up benchmark\n");
    let _ = writeln!(
        w,
        "Each tool starts `{TRUE}` in the root filesystem of `library/busybox` (this \
         machine's busybox-static, from the bundled registry), at {}.",
        setting.rootfs.display()
    );
    let _ = writeln!(w, "Machine: {}.", machine());
    let _ = writeln!(
        w,
        "Peers: {}; {} (run with `--root STATE run --bundle B ID`, the config of \
         `crun spec` with the root writable, `{TRUE}`, no terminal and the \
         namespaces {}; in a mount namespace without {UNIFIED}).",
        peers::version(&tools.unshare),
        peers::version(&tools.crun),
        NAMESPACES.join(", "),
    );
    let _ = writeln!(
        w,
        "Store and bundle under {}; load average {}.",
        setting.work, setting.load
    );
    let _ = writeln!(
        w,
        "{RUNS} runs each after {WARM_UP} untimed ones, tools taking turns; time from \
         spawn to exit; peak RSS is the highest over the runs, of the tool or its \
         largest descendant.\n"
    );
    let _ = writeln!(
        w,
        "| tool | median ms | p10 ms | p90 ms | dockerless run ÷ tool (medians) | peak RSS MB |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
    let rows = [
        (
            "dockerless run, namespaces only (step 06)",
            ours,
            &results.dockerless,
        ),
        (
            "dockerless run --memory 64m --pids-limit 64 (step 08)",
            isolated,
            &results.isolated,
        ),
        ("unshare", unshare, &results.unshare),
        ("crun run", crun, &results.crun),
    ];
    for (name, summary, samples) in rows {
        let _ = writeln!(
            w,
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} |",
            summary.seconds * 1e3,
            quantile_ms(samples, 0.1),
            quantile_ms(samples, 0.9),
            ours.seconds / summary.seconds,
            summary.peak_mb
        );
    }
    w.push_str(&benches::targets_section(&targets, &[]));
    let _ = writeln!(w, "\nThe commands, as run:\n");
    let _ = writeln!(
        w,
        "- `dockerless --home STORE run IMAGE {TRUE}` (this binary with \
         `{CHILD_DOCKERLESS}`: the same command line, the same `run_command`)"
    );
    let _ = writeln!(
        w,
        "- `dockerless --home STORE run {} IMAGE {TRUE}` (this binary with \
         `{CHILD_ISOLATED}`: step 08's `run_command`, as the tool runs it)",
        LIMITS.join(" ")
    );
    let _ = writeln!(
        w,
        "- `unshare --fork --pid --mount --uts --ipc --net --mount-proc --root ROOTFS {TRUE}`"
    );
    let _ = writeln!(
        w,
        "- `crun --root STATE run --bundle BUNDLE ID` (a new ID each run)"
    );
    let _ = writeln!(
        w,
        "\nReproduce: `sudo cargo bench -p benches --bench start` (or `just \
         bench`, which runs every benchmark)."
    );
    out
}
