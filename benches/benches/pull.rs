//! The pull benchmark: `dockerless pull` against `skopeo copy` + `umoci raw
//! unpack` and against `tar -xzf` of the same layers, on a generated image of
//! about 200 MB in four layers served by the CNCF distribution registry.
//!
//! ```text
//! cargo bench -p benches --bench pull     (or: just bench)
//! ```
//!
//! Every measured command runs as its own process under a fresh measuring
//! parent, so its peak memory is its own; the pull runs as this binary
//! started again with [`CHILD_PULL`]. The report (a table, each target MET or
//! NOT MET, and where the time goes) is printed and written to
//! `target/bench/pull.md`. Timings are compared as ratios on one machine in
//! one run; nothing here fails because a target is missed.
//!
//! The runs write where a real pull would, to disk (under the target
//! directory). Set `BENCH_WORK_DIR=/dev/shm` to take the disk out and see
//! the tools' own work.
//!
//! Each run writes into a fresh directory of its own, placed away from the
//! others ([`benches::work_dir`]), and nothing is deleted until the benchmark
//! ends, so that no run pays for the file system's bookkeeping of another.

use benches::image::{self, Image, Plan};
use benches::peers::{self, Sample, Skopeo};
use benches::{
    BenchResult, CHILD_PULL, IMAGE, RUNS, Summary, Target, load_average, machine, mb, push, total,
};
use std::fmt::Write as _;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The same files four times smaller, to show that the pull's memory does
/// not depend on layer size: only the bytes change, not how many files
/// there are to keep track of.
const SMALL_IMAGE: Plan = Plan {
    name: "pull-image-small",
    layer_bytes: [20_000_000, 15_000_000, 10_000_000, 5_000_000],
    seed: 0x5eed_0002,
    file_size_divisor: 4,
};

/// The targets, from the issue that asked for this benchmark.
const MAX_RATIO_TO_SKOPEO_UMOCI: f64 = 0.6;
const MAX_RATIO_TO_TAR: f64 = 1.0;
const MAX_SECOND_PULL_RATIO: f64 = 0.2;
const MAX_RSS_MB: f64 = 30.0;
/// "Does not grow": the peak with 4× larger layers is at most this much
/// higher, which leaves room for allocator noise and nothing else.
const MAX_RSS_GROWTH: f64 = 1.1;

fn main() -> ExitCode {
    benches::bench_main("pull", &[], run)
}

/// The peers, found on PATH.
struct Tools {
    registry: PathBuf,
    skopeo: Skopeo,
    umoci: PathBuf,
    tar: PathBuf,
    gzip: PathBuf,
}

impl Tools {
    fn find() -> BenchResult<Tools> {
        Ok(Tools {
            registry: peers::find("docker-registry", "docker-registry")?,
            skopeo: Skopeo::new(peers::find("skopeo", "skopeo")?)?,
            umoci: peers::find("umoci", "umoci")?,
            tar: peers::find("tar", "tar")?,
            gzip: peers::find("gzip", "gzip")?,
        })
    }
}

fn run() -> BenchResult<()> {
    let tools = Tools::find()?;
    let target = benches::target_dir()?;
    let data = target.join("bench-data");
    std::fs::create_dir_all(&data)?;
    eprintln!(
        "pull benchmark: preparing the images under {}",
        data.display()
    );
    let image = image::ensure(&data.join(IMAGE.name), &IMAGE)?;
    let small = image::ensure(&data.join(SMALL_IMAGE.name), &SMALL_IMAGE)?;

    let work_parent = benches::work_parent(data);
    let work = benches::work_dir("pull-bench-", &work_parent)?;
    let load_before = load_average();
    let registry = peers::Registry::start(&tools.registry, work.path())?;
    let reference = push(&tools.skopeo, &image, &registry, "bench/pull")?;
    let small_reference = push(&tools.skopeo, &small, &registry, "bench/pull-small")?;

    let mut results = Results::default();
    for round in 0..RUNS {
        // Each round starts with a different tool, so none always runs first.
        for turn in 0..3 {
            // Every run writes into a directory of its own, kept to the end.
            let dir = |tool: &str| work.path().join(run_name(tool, round));
            let say = |what: &str| eprintln!("pull benchmark: round {}: {what}", round + 1);
            match (round + turn) % 3 {
                0 => {
                    say("dockerless pull");
                    let (cold, warm) = measure_pull(&dir("pull"), &reference)?;
                    results.cold.push(cold);
                    results.warm.push(warm);
                    results
                        .small
                        .push(measure_pull(&dir("pull-small"), &small_reference)?.0);
                }
                1 => {
                    say("skopeo copy + umoci raw unpack");
                    let (skopeo, umoci) =
                        measure_skopeo_umoci(&tools, &dir("skopeo-umoci"), &reference)?;
                    results.skopeo.push(skopeo);
                    results.umoci.push(umoci);
                }
                _ => {
                    say("tar -xzf");
                    results.tar.push(measure_tar(&tools, &dir("tar"), &image)?);
                }
            }
        }
    }
    drop(registry);
    let load = format!("{} before, {} after", load_before, load_average());

    eprintln!("pull benchmark: timing decompression and hashing alone");
    let breakdown = Breakdown::measure(&tools, &image)?;
    let setting = Setting {
        work: work_parent.display().to_string(),
        load,
    };
    let report = report(&tools, &setting, &image, &small, &results, &breakdown);
    benches::publish(&target, "pull", &report)
}

/// A name for a run's directory that no earlier benchmark used: ext4 picks
/// a top-level directory's block group from a hash of its name, so reusing
/// names would land on the groups freed by the last benchmark.
fn run_name(what: &str, round: usize) -> String {
    format!("{what}-{round}-{}", std::process::id())
}

/// A first pull into an empty store, then a second into the same store.
fn measure_pull(dir: &Path, reference: &str) -> BenchResult<(Sample, Sample)> {
    let home = dir.join("home");
    let command = [
        std::env::current_exe()?.display().to_string(),
        CHILD_PULL.to_string(),
        home.display().to_string(),
        reference.to_string(),
    ];
    let cold = peers::measure(&command, &[])?;
    let warm = peers::measure(&command, &[])?;
    Ok((cold, warm))
}

/// `skopeo copy` into an empty OCI layout, then `umoci raw unpack` of it.
fn measure_skopeo_umoci(
    tools: &Tools,
    dir: &Path,
    reference: &str,
) -> BenchResult<(Sample, Sample)> {
    std::fs::create_dir_all(dir)?;
    let layout = dir.join("oci");
    let copy = tools.skopeo.command(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{reference}"),
        &format!("oci:{}:bench", layout.display()),
    ]);
    let skopeo = peers::measure(&copy, &[tools.skopeo.env()])?;
    let mut unpack = vec![
        tools.umoci.display().to_string(),
        "raw".to_string(),
        "unpack".to_string(),
    ];
    if !nix::unistd::geteuid().is_root() {
        unpack.push("--rootless".to_string());
    }
    unpack.extend([
        "--image".to_string(),
        format!("{}:bench", layout.display()),
        dir.join("rootfs").display().to_string(),
    ]);
    let umoci = peers::measure(&unpack, &[])?;
    Ok((skopeo, umoci))
}

/// The extraction floor: `tar -xzf` of each layer, in order, into one directory.
fn measure_tar(tools: &Tools, dir: &Path, image: &Image) -> BenchResult<Sample> {
    let rootfs = dir.join("rootfs");
    std::fs::create_dir_all(&rootfs)?;
    let mut parts = Vec::new();
    for layer in &image.layers {
        let command = [
            tools.tar.display().to_string(),
            "-xzf".to_string(),
            image.blob(layer).display().to_string(),
            "-C".to_string(),
            rootfs.display().to_string(),
        ];
        parts.push(peers::measure(&command, &[])?);
    }
    Ok(total(&parts))
}

/// Every run of every measurement.
#[derive(Default)]
struct Results {
    cold: Vec<Sample>,
    warm: Vec<Sample>,
    small: Vec<Sample>,
    skopeo: Vec<Sample>,
    umoci: Vec<Sample>,
    tar: Vec<Sample>,
}

impl Results {
    /// skopeo and umoci of the same round, as one tool.
    fn skopeo_umoci(&self) -> Vec<Sample> {
        self.skopeo
            .iter()
            .zip(&self.umoci)
            .map(|(s, u)| total(&[*s, *u]))
            .collect()
    }
}

/// The parts of a pull's work timed alone on the big image, to tell where the
/// time goes.
struct Breakdown {
    /// flate2 (what the pull decompresses with) over all layers, one thread.
    flate2: Duration,
    /// `gzip -dc` over all layers (what `tar -z` decompresses with).
    gzip: Duration,
    /// SHA-256 over the compressed blobs, to get its speed.
    sha256_mb_per_s: f64,
}

impl Breakdown {
    fn measure(tools: &Tools, image: &Image) -> BenchResult<Breakdown> {
        let start = Instant::now();
        for layer in &image.layers {
            let file = std::fs::File::open(image.blob(layer))?;
            let mut tar =
                step_02_layers::decompress::decompress(BufReader::with_capacity(256 * 1024, file))?;
            std::io::copy(&mut tar, &mut std::io::sink())?;
        }
        let flate2 = start.elapsed();

        let mut gzip = Duration::ZERO;
        for layer in &image.layers {
            let command = [
                tools.gzip.display().to_string(),
                "-dc".to_string(),
                image.blob(layer).display().to_string(),
            ];
            gzip += peers::measure(&command, &[])?.time;
        }

        let start = Instant::now();
        let mut buffer = vec![0; 256 * 1024];
        for layer in &image.layers {
            let mut file = std::fs::File::open(image.blob(layer))?;
            let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
            loop {
                let n = file.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                sha2::Digest::update(&mut hasher, &buffer[..n]);
            }
            std::hint::black_box(sha2::Digest::finalize(hasher));
        }
        let sha256_mb_per_s = mb(image.compressed()) / start.elapsed().as_secs_f64();
        Ok(Breakdown {
            flate2,
            gzip,
            sha256_mb_per_s,
        })
    }
}

/// The median of the runs' peak memory.
fn median_peak_mb(samples: &[Sample]) -> f64 {
    let mut peaks: Vec<u64> = samples.iter().map(|s| s.max_rss_kib).collect();
    peaks.sort_unstable();
    mb(peaks[peaks.len() / 2] * 1024)
}

/// Where and under what load the runs happened.
struct Setting {
    /// The directory the runs wrote in.
    work: String,
    /// The 1-minute load average before and after.
    load: String,
}

fn report(
    tools: &Tools,
    setting: &Setting,
    image: &Image,
    small: &Image,
    results: &Results,
    breakdown: &Breakdown,
) -> String {
    let cold = Summary::of(&results.cold);
    let warm = Summary::of(&results.warm);
    let small_pull = Summary::of(&results.small);
    let skopeo = Summary::of(&results.skopeo);
    let umoci = Summary::of(&results.umoci);
    let theirs = Summary::of(&results.skopeo_umoci());
    let floor = Summary::of(&results.tar);
    let ours_peak = cold.peak_mb.max(warm.peak_mb).max(small_pull.peak_mb);
    // Growth compares medians: a run's peak moves by a megabyte or so with
    // how the download threads and the allocator happen to interleave.
    let (big_peak, small_peak) = (
        median_peak_mb(&results.cold),
        median_peak_mb(&results.small),
    );
    let targets = [
        Target {
            goal: format!(
                "pull + flatten ≤ {MAX_RATIO_TO_SKOPEO_UMOCI} × (skopeo copy + umoci raw unpack)"
            ),
            measured: format!("{:.2} ×", cold.seconds / theirs.seconds),
            met: cold.seconds <= MAX_RATIO_TO_SKOPEO_UMOCI * theirs.seconds,
        },
        Target {
            goal: "pull + flatten ≤ tar -xzf of the layers in order (the floor)".to_string(),
            measured: format!("{:.2} ×", cold.seconds / floor.seconds),
            met: cold.seconds <= MAX_RATIO_TO_TAR * floor.seconds,
        },
        Target {
            goal: format!("second pull ≤ {MAX_SECOND_PULL_RATIO} × first pull"),
            measured: format!("{:.2} ×", warm.seconds / cold.seconds),
            met: warm.seconds <= MAX_SECOND_PULL_RATIO * cold.seconds,
        },
        Target {
            goal: format!("peak memory of every pull < {MAX_RSS_MB} MB"),
            measured: format!("{ours_peak:.1} MB"),
            met: ours_peak < MAX_RSS_MB,
        },
        Target {
            goal: format!(
                "peak memory does not grow with layer size (4× larger layers: ≤ {MAX_RSS_GROWTH} ×, \
                 median peaks)"
            ),
            measured: format!(
                "{big_peak:.1} MB vs {small_peak:.1} MB ({:.2} ×)",
                big_peak / small_peak
            ),
            met: big_peak <= MAX_RSS_GROWTH * small_peak,
        },
    ];

    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# dockerless pull benchmark\n");
    let _ = writeln!(
        w,
        "Image: {} layers, {:.1} MB of tar, {:.1} MB gzip ({:.0} %), {} files; \
         the small image: the same files 4× smaller, {:.1} MB of tar in {} files.",
        image.layers.len(),
        mb(image.uncompressed()),
        mb(image.compressed()),
        100.0 * image.compressed() as f64 / image.uncompressed() as f64,
        image.files(),
        mb(small.uncompressed()),
        small.files(),
    );
    let _ = writeln!(
        w,
        "Served by {} on 127.0.0.1. Machine: {}.",
        peers::version(&tools.registry),
        machine(),
    );
    let _ = writeln!(
        w,
        "Peers: {}; {}; {}.",
        peers::version(&tools.skopeo.binary),
        peers::version(&tools.umoci),
        peers::version(&tools.tar),
    );
    w.push_str(&benches::runs_table(
        &setting.work,
        &setting.load,
        &[
            ("dockerless pull (first, empty store)", cold),
            ("dockerless pull (second, same store)", warm),
            ("dockerless pull, the same files 4× smaller", small_pull),
            ("skopeo copy", skopeo),
            ("umoci raw unpack", umoci),
            ("skopeo copy + umoci raw unpack", theirs),
            ("tar -xzf × 4 layers (floor)", floor),
        ],
    ));
    w.push_str(&benches::targets_section(&targets, &[]));

    let uncompressed = mb(image.uncompressed());
    let compressed = mb(image.compressed());
    let hashed = compressed + uncompressed;
    let _ = writeln!(w, "\n## Where the time goes (big image, each part alone)\n");
    let _ = writeln!(
        w,
        "A pull spreads this over the cores: layers download in parallel, and each \
         layer is inflated on one thread while another hashes its tar and writes its \
         files. `tar -xzf` inflates in a `gzip` process beside it.\n"
    );
    let _ = writeln!(
        w,
        "- flate2 decompression of all layers: {:.2} s ({:.0} MB/s of tar)",
        breakdown.flate2.as_secs_f64(),
        uncompressed / breakdown.flate2.as_secs_f64()
    );
    let _ = writeln!(
        w,
        "- gzip -dc of all layers (what tar -z runs): {:.2} s ({:.0} MB/s of tar)",
        breakdown.gzip.as_secs_f64(),
        uncompressed / breakdown.gzip.as_secs_f64()
    );
    let _ = writeln!(
        w,
        "- SHA-256: {:.0} MB/s, so {:.2} s for the {hashed:.0} MB a pull hashes \
         (blobs as they download, tars as they flatten)",
        breakdown.sha256_mb_per_s,
        hashed / breakdown.sha256_mb_per_s
    );
    let _ = writeln!(
        w,
        "- Bytes written: a pull writes the {compressed:.0} MB of blobs to its cache \
         besides the {uncompressed:.0} MB tree; tar -xzf writes only the tree"
    );
    let _ = writeln!(
        w,
        "\nReproduce: `cargo bench -p benches --bench pull` (or `just bench`, \
         which runs every benchmark)."
    );
    out
}
