//! The export benchmark: `dockerless export IMAGE -o FILE.tar.gz` (a WSL
//! root filesystem) against `tar --numeric-owner -czf` over the same stored
//! tree, gzip at its default level, side by side in one run.
//!
//! ```text
//! cargo bench -p benches --bench export     (or: just bench)
//! ```
//!
//! The image is the pull benchmark's generated one ([`IMAGE`]: about 200 MB
//! of files in four layers, the same bytes every time). It gets into a store
//! without a registry: its layers are applied in order with step 02's
//! flattening and installed with its manifest and config, as a pull would
//! leave it. Each measured command runs as its own process under a fresh
//! measuring parent, so its peak memory is its own; the export runs as this
//! binary started again with [`CHILD_EXPORT`]. The report gives the time
//! ratio, the size ratio and the peak memory, and is written to
//! `target/bench/export.md`. Nothing here fails because a target is missed.

use benches::image::{self, Image};
use benches::peers::{self, Sample};
use benches::{BenchResult, IMAGE, RUNS, Summary, Target, load_average, machine, mb};
use std::fmt::Write as _;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use step_01_registry::Reference;
use step_02_layers::decompress::decompress;
use step_02_layers::fingerprint::fingerprint;
use step_02_layers::flatten::{Options, apply_layer};
use step_02_layers::store::{ImageRecord, Store};
use step_07_export::{ExportOptions, Output, export};

/// The argument that makes this binary export one stored image:
/// `--child-export <home> <reference> <output>`.
const CHILD_EXPORT: &str = "--child-export";

/// The name the image is stored under.
const STORED_AS: &str = "bench/export:v1";

/// The targets, from the issue that asked for this benchmark.
const MAX_TIME_RATIO: f64 = 0.8;
const MAX_SIZE_RATIO: f64 = 1.05;
const MAX_RSS_MB: f64 = 30.0;

fn main() -> ExitCode {
    benches::bench_main("export", &[(CHILD_EXPORT, child_export)], run)
}

/// The export as `dockerless export -q` does it, in this process.
fn child_export(args: &[String]) -> BenchResult<()> {
    let [home, image, output] = args else {
        return Err(format!("usage: {CHILD_EXPORT} <home> <reference> <output>").into());
    };
    let store = Store::open(Some(Path::new(home)))?;
    export(
        &store,
        &Reference::parse(image)?,
        &Output::Path(PathBuf::from(output)),
        &ExportOptions::default(),
        &mut std::io::sink(),
    )?;
    Ok(())
}

/// Stores the generated image in a fresh store at `home`, as a pull would:
/// layers applied in order, installed with its manifest and config.
fn store_image(image: &Image, home: &Path) -> BenchResult<(Store, Reference)> {
    let store = Store::open(Some(home))?;
    let reference = Reference::parse(STORED_AS)?;
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(image.dir.join("index.json"))?)?;
    let digest = index["manifests"][0]["digest"]
        .as_str()
        .ok_or("the layout's index.json names no manifest")?;
    let blob = |digest: &str| image.dir.join("blobs/sha256").join(&digest[7..]);
    let manifest = std::fs::read(blob(digest))?;
    let parsed: serde_json::Value = serde_json::from_slice(&manifest)?;
    let config_digest = parsed["config"]["digest"]
        .as_str()
        .ok_or("the manifest names no config")?;
    let config = std::fs::read(blob(config_digest))?;
    let staging = store.staging()?;
    let rootfs = staging.path().join("rootfs");
    std::fs::create_dir(&rootfs)?;
    for layer in &image.layers {
        let file = BufReader::new(std::fs::File::open(image.blob(layer))?);
        apply_layer(&rootfs, decompress(file)?, &Options::detect())?;
    }
    let record = ImageRecord {
        origin: "bench/export".into(),
        fingerprint: fingerprint(&rootfs)?,
    };
    store.install(&reference, &rootfs, &manifest, &config, &record)?;
    Ok((store, reference))
}

/// What one round measured, with each archive's size.
#[derive(Default)]
struct Results {
    dockerless: Vec<Sample>,
    tar: Vec<Sample>,
    dockerless_bytes: u64,
    tar_bytes: u64,
}

fn run() -> BenchResult<()> {
    let tar = peers::find("tar", "tar")?;
    let gzip = peers::find("gzip", "gzip")?;
    let target = benches::target_dir()?;
    let data = target.join("bench-data");
    std::fs::create_dir_all(&data)?;
    eprintln!(
        "export benchmark: preparing the image under {}",
        data.display()
    );
    let image = image::ensure(&data.join(IMAGE.name), &IMAGE)?;
    let work_parent = benches::work_parent(data);
    let work = benches::work_dir("export-bench-", &work_parent)?;
    let home = work.path().join("home");
    eprintln!("export benchmark: storing it in {}", home.display());
    let (store, reference) = store_image(&image, &home)?;
    let rootfs = store.image_dir(&reference);
    let load_before = load_average();

    let mut results = Results::default();
    for round in 0..RUNS {
        // Each round starts with the other tool, so neither always runs first.
        for turn in 0..2 {
            let ours = (round + turn) % 2 == 0;
            let output = work
                .path()
                .join(if ours { "ours.tar.gz" } else { "tar.tar.gz" });
            let _ = std::fs::remove_file(&output);
            let command: Vec<String> = if ours {
                vec![
                    std::env::current_exe()?.display().to_string(),
                    CHILD_EXPORT.into(),
                    home.display().to_string(),
                    STORED_AS.into(),
                    output.display().to_string(),
                ]
            } else {
                vec![
                    tar.display().to_string(),
                    "--numeric-owner".into(),
                    "-czf".into(),
                    output.display().to_string(),
                    "-C".into(),
                    rootfs.display().to_string(),
                    ".".into(),
                ]
            };
            eprintln!(
                "export benchmark: round {}: {}",
                round + 1,
                if ours {
                    "dockerless export"
                } else {
                    "tar -czf"
                }
            );
            let sample = peers::measure(&command, &[])?;
            let size = std::fs::metadata(&output)?.len();
            if ours {
                results.dockerless.push(sample);
                results.dockerless_bytes = size;
            } else {
                results.tar.push(sample);
                results.tar_bytes = size;
            }
        }
    }
    // The archive must be one that gzip itself reads back whole.
    let ours = work.path().join("ours.tar.gz");
    let tested = std::process::Command::new(&gzip)
        .arg("-t")
        .arg(&ours)
        .status()?;
    if !tested.success() {
        return Err(format!("gzip -t {} failed", ours.display()).into());
    }
    let report = report(&results, &image, &tar, &work_parent, &load_before);
    benches::publish(&target, "export", &report)
}

fn report(results: &Results, image: &Image, tar: &Path, work: &Path, load: &str) -> String {
    let ours = Summary::of(&results.dockerless);
    let theirs = Summary::of(&results.tar);
    let time_ratio = ours.seconds / theirs.seconds;
    let size_ratio = results.dockerless_bytes as f64 / results.tar_bytes as f64;
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# Export benchmark\n");
    let _ = writeln!(
        w,
        "A WSL root filesystem (`.tar.gz`) of a stored image of {:.0} MB in {} files, \
         against `tar --numeric-owner -czf` of the same tree ({}). {}.\n",
        mb(image.uncompressed()),
        image.files(),
        peers::version(tar),
        machine()
    );
    let _ = write!(
        w,
        "{}",
        benches::runs_table(
            &work.display().to_string(),
            load,
            &[
                ("dockerless export (.tar.gz)", ours),
                ("tar --numeric-owner -czf", theirs),
            ],
        )
    );
    let _ = writeln!(
        w,
        "\n| archive | MB |\n|---|---:|\n| dockerless export | {:.1} |\n| tar -czf | {:.1} |",
        mb(results.dockerless_bytes),
        mb(results.tar_bytes)
    );
    let targets = [
        Target {
            goal: format!("time at most {MAX_TIME_RATIO} × tar -czf"),
            measured: format!("{time_ratio:.2} ×"),
            met: time_ratio <= MAX_TIME_RATIO,
        },
        Target {
            goal: format!(
                "archive at most {:.0} % larger than tar -czf's",
                (MAX_SIZE_RATIO - 1.0) * 100.0
            ),
            measured: format!("{:+.1} %", (size_ratio - 1.0) * 100.0),
            met: size_ratio <= MAX_SIZE_RATIO,
        },
        Target {
            goal: format!("peak memory under {MAX_RSS_MB} MB"),
            measured: format!("{:.1} MB", ours.peak_mb),
            met: ours.peak_mb < MAX_RSS_MB,
        },
    ];
    let _ = write!(w, "{}", benches::targets_section(&targets, &[]));
    out
}
