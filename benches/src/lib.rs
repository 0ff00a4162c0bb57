//! What the benchmarks in `benches/` share: the generated image, the peers
//! (the registry, skopeo, the measuring parent), the pull that fills a store,
//! and the parts of a report, so that they measure the same image the same
//! way.

pub mod image;
pub mod peers;

use image::{Image, Plan};
use peers::{Registry, Sample, Skopeo};
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use step_01_registry::{Client, ClientOptions, Reference};
use step_02_layers::progress::Silent;
use step_02_layers::pull::{PullOptions, pull};
use step_02_layers::store::Store;

pub type BenchResult<T> = Result<T, Box<dyn Error>>;

/// The image the targets are about: 200 MB of files in four layers of
/// different sizes, as a base layer and the ones built on it.
pub const IMAGE: Plan = Plan {
    name: "pull-image",
    layer_bytes: [80_000_000, 60_000_000, 40_000_000, 20_000_000],
    seed: 0x5eed_0002,
    file_size_divisor: 1,
};

/// Runs of each measurement; the report shows the median time.
pub const RUNS: usize = 3;

/// Where the runs write instead of the target directory.
const WORK_DIR_VARIABLE: &str = "BENCH_WORK_DIR";

/// The argument that makes a benchmark binary pull one image into one store:
/// `--child-pull <home> <reference>`.
pub const CHILD_PULL: &str = "--child-pull";

/// The pull as `dockerless pull -q` does it, in this process.
pub fn child_pull(args: &[String]) -> BenchResult<()> {
    let [home, image] = args else {
        return Err(format!("usage: {CHILD_PULL} <home> <reference>").into());
    };
    let reference = Reference::parse(image)?;
    let client = Client::new(&reference, ClientOptions::default())?;
    let store = Store::open(Some(Path::new(home)))?;
    pull(
        &client,
        &store,
        &reference,
        &PullOptions::default(),
        &Silent,
    )?;
    Ok(())
}

/// A child a benchmark binary starts with itself: its flag, and what it runs
/// with the arguments after the flag.
pub type Child = (&'static str, fn(&[String]) -> BenchResult<()>);

/// A benchmark binary's `main`: the measuring parent, the pull child, one of
/// `children`, or (as `cargo bench` starts it, with `--bench`) `run`. A
/// failure is printed under `name`.
pub fn bench_main(name: &str, children: &[Child], run: fn() -> BenchResult<()>) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = args.first().map(String::as_str);
    let child = [(CHILD_PULL, child_pull as fn(&[String]) -> BenchResult<()>)]
        .iter()
        .chain(children)
        .find(|(child, _)| flag == Some(*child));
    let result = match child {
        Some((_, child)) => child(&args[1..]).map(|()| true),
        None if flag == Some(peers::MEASURE) => {
            peers::measuring_parent(&args[1..]).map_err(Into::into)
        }
        None => run().map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("{name} benchmark: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Where the benchmark keeps its files: the target directory this binary was
/// built in (`<target>/<host tuple>/release/deps/<bench>-<hash>`, or without
/// the tuple), wherever that is.
pub fn target_dir() -> BenchResult<PathBuf> {
    let exe = std::env::current_exe()?;
    // Cargo tags the target directory, and the one per tuple inside it, with
    // a CACHEDIR.TAG: the outermost of them is the target directory.
    exe.ancestors()
        .skip(3)
        .take_while(|dir| dir.join("CACHEDIR.TAG").is_file())
        .last()
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("{} is not in a cargo target directory", exe.display()).into())
}

/// The directory the runs write in: `BENCH_WORK_DIR` if set (`/dev/shm`
/// takes the disk out and shows the tools' own work), else `default`.
pub fn work_parent(default: PathBuf) -> PathBuf {
    std::env::var_os(WORK_DIR_VARIABLE).map_or(default, PathBuf::from)
}

/// A fresh directory for one benchmark's runs, in `parent`, deleted when
/// dropped.
///
/// On ext4 it gets the "top of a directory hierarchy" flag (`chattr +T`), so
/// that each run's directory is placed in a block group of its own choosing
/// rather than beside the last one. On ext4 without a journal, creating a
/// file scans past every inode of its group freed in the last minute (five,
/// while the inode table is not yet written back): a run that lands where an
/// earlier run or benchmark just deleted its tree spends seconds of kernel
/// time on that scan (`tar -xzf` of the four layers: 5.6 s instead of 0.8 s),
/// and the benchmark would time someone else's cleanup. Other file systems
/// refuse or ignore the flag, which is fine.
pub fn work_dir(prefix: &str, parent: &Path) -> BenchResult<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir_in(parent)?;
    if let Ok(handle) = std::fs::File::open(dir.path()) {
        let _ = spread_subdirectories(&handle);
    }
    Ok(dir)
}

/// Sets `FS_TOPDIR_FL` on the directory `handle`: `chattr +T`.
fn spread_subdirectories(handle: &std::fs::File) -> nix::Result<()> {
    use nix::libc::{FS_IOC_GETFLAGS, FS_IOC_SETFLAGS, c_int};
    use std::os::fd::AsRawFd;
    /// `linux/fs.h`: "top of directory hierarchies".
    const FS_TOPDIR_FL: c_int = 0x0002_0000;
    // The request numbers say `long`, but the kernel reads and writes an `int`.
    nix::ioctl_read_bad!(get_flags, FS_IOC_GETFLAGS, c_int);
    nix::ioctl_write_ptr_bad!(set_flags, FS_IOC_SETFLAGS, c_int);
    let mut flags: c_int = 0;
    // SAFETY: both calls pass a pointer to a live `c_int`, which is what
    // the kernel reads and writes for them, on a descriptor we hold open.
    unsafe {
        get_flags(handle.as_raw_fd(), &mut flags)?;
        flags |= FS_TOPDIR_FL;
        set_flags(handle.as_raw_fd(), &flags)?;
    }
    Ok(())
}

/// `skopeo copy` of the layout's image to `reference` on a plain-HTTP
/// registry, ready to run or to measure.
pub fn skopeo_push(skopeo: &Skopeo, image: &Image, reference: &str) -> Vec<String> {
    skopeo.command(&[
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        &format!("oci:{}:bench", image.dir.display()),
        &format!("docker://{reference}"),
    ])
}

/// Pushes the layout to the registry as `name:v1`; returns the reference.
pub fn push(
    skopeo: &Skopeo,
    image: &Image,
    registry: &Registry,
    name: &str,
) -> BenchResult<String> {
    let reference = format!("{}/{name}:v1", registry.host);
    let command = skopeo_push(skopeo, image, &reference);
    let (key, value) = skopeo.env();
    let status = std::process::Command::new(&command[0])
        .args(&command[1..])
        .env(key, value)
        .status()?;
    if !status.success() {
        return Err(format!("pushing with `{}` failed ({status})", command.join(" ")).into());
    }
    Ok(reference)
}

/// Commands run one after the other: their times add up, the peak is the
/// largest.
pub fn total(parts: &[Sample]) -> Sample {
    Sample {
        time: parts.iter().map(|s| s.time).sum(),
        max_rss_kib: parts.iter().map(|s| s.max_rss_kib).max().unwrap_or(0),
    }
}

/// The median time and the highest peak over the runs of one measurement.
#[derive(Clone, Copy)]
pub struct Summary {
    pub seconds: f64,
    pub peak_mb: f64,
}

impl Summary {
    pub fn of(samples: &[Sample]) -> Summary {
        let mut times: Vec<Duration> = samples.iter().map(|s| s.time).collect();
        times.sort();
        let peak_kib = samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0);
        Summary {
            seconds: times[times.len() / 2].as_secs_f64(),
            peak_mb: mb(peak_kib * 1024),
        }
    }
}

/// Megabytes as the targets count them (10^6 bytes).
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// The part every report shares: where the runs wrote and under what load,
/// how they were counted, and a row of time and memory for each tool.
pub fn runs_table(work: &str, load: &str, rows: &[(&str, Summary)]) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "Runs wrote under {work}; load average {load}.");
    let _ = writeln!(
        w,
        "{RUNS} runs each, tools alternating; median time, highest peak RSS.\n"
    );
    let _ = writeln!(w, "| tool | median s | peak RSS MB |");
    let _ = writeln!(w, "|---|---:|---:|");
    for (name, summary) in rows {
        let _ = writeln!(
            w,
            "| {name} | {:.2} | {:.1} |",
            summary.seconds, summary.peak_mb
        );
    }
    out
}

/// One target: what was asked, what was measured, and whether it is met.
pub struct Target {
    pub goal: String,
    pub measured: String,
    pub met: bool,
}

/// The report's targets: each MET or NOT MET, then `notes` (why a target
/// may be out of any tool's reach here), then the count.
pub fn targets_section(targets: &[Target], notes: &[String]) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "\n## Targets\n");
    for target in targets {
        let verdict = if target.met { "MET" } else { "NOT MET" };
        let _ = writeln!(
            w,
            "- {verdict}: {} — measured {}",
            target.goal, target.measured
        );
    }
    for note in notes {
        let _ = writeln!(w, "- Note: {note}");
    }
    let met = targets.iter().filter(|t| t.met).count();
    let _ = writeln!(w, "\n{met} of {} targets met.", targets.len());
    out
}

/// Prints the report and keeps it as `target/bench/<name>.md`.
pub fn publish(target: &Path, name: &str, report: &str) -> BenchResult<()> {
    print!("{report}");
    let path = target.join("bench").join(format!("{name}.md"));
    std::fs::create_dir_all(path.parent().expect("has a parent"))?;
    std::fs::write(&path, report)?;
    println!("(also written to {})", path.display());
    Ok(())
}

/// The 1-minute load average: other work on the machine slows every tool,
/// but not evenly.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

/// `N CPUs, <model>`, for telling runs on different machines apart.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    format!(
        "{} CPUs, {model}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}
