//! `docker pull`, in full: resolve the image, download its layers in parallel
//! into the blob cache, flatten them in order into a staging directory, and
//! install the result at its final path only when everything checked out.

use crate::decompress::decompress;
use crate::download::{self, Source};
use crate::error::{Error, Result};
use crate::fingerprint::fingerprint;
use crate::flatten::{self, Options, SkippedAttribute};
use crate::progress::Progress;
use crate::read_ahead::read_ahead;
use crate::store::{ImageRecord, LockMode, Store};
use std::collections::{HashMap, HashSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use step_01_registry::digest::Hashing;
use step_01_registry::inspect::{self, Resolved};
use step_01_registry::platform::Platform;
use step_01_registry::workers;
use step_01_registry::{Client, Reference};

/// How many layers download at once by default.
pub const DEFAULT_JOBS: usize = 3;

pub struct PullOptions {
    pub platform: Option<Platform>,
    /// Layers downloading at once.
    pub jobs: usize,
    /// Chown and create device nodes (root only).
    pub flatten: Options,
}

impl Default for PullOptions {
    fn default() -> PullOptions {
        PullOptions {
            platform: None,
            jobs: DEFAULT_JOBS,
            flatten: Options::detect(),
        }
    }
}

/// What a pull did.
#[derive(Debug)]
pub struct Pulled {
    pub resolved: Resolved,
    /// Where the root filesystem now is.
    pub path: PathBuf,
    /// For each layer: downloaded, found in the blob cache, repeated, or
    /// already present.
    pub sources: Vec<Source>,
    /// The store had this very image already, untouched: nothing was done.
    pub up_to_date: bool,
    /// Extended attributes of the layers that could not be set here (a
    /// normal user cannot set file capabilities): the caller says so.
    pub skipped_attributes: Vec<SkippedAttribute>,
}

pub fn pull(
    client: &Client,
    store: &Store,
    reference: &Reference,
    options: &PullOptions,
    progress: &dyn Progress,
) -> Result<Pulled> {
    let resolved = inspect::resolve(client, reference, options.platform.as_ref())?;
    pull_resolved(client, store, resolved, options, progress)
}

/// The rest of a pull, once the manifest and config are in (a caller that
/// shows progress needs the layer list before the download starts).
pub fn pull_resolved(
    client: &Client,
    store: &Store,
    resolved: Resolved,
    options: &PullOptions,
    progress: &dyn Progress,
) -> Result<Pulled> {
    let reference = &resolved.reference;
    if let Some(pulled) = up_to_date(store, &resolved)? {
        return Ok(pulled);
    }
    let layers = &resolved.image.layers;
    let diff_ids = &resolved.config.rootfs.diff_ids;
    if layers.len() != diff_ids.len() {
        return Err(Error::Image {
            reference: reference.to_string(),
            reason: format!(
                "the manifest lists {} layers but the config has {} diff_ids",
                layers.len(),
                diff_ids.len()
            ),
        });
    }
    let staging = store.staging()?;
    let rootfs = staging.path().join("rootfs");
    std::fs::create_dir(&rootfs).map_err(|source| Error::Io {
        path: rootfs.clone(),
        source,
    })?;
    let (sources, skipped_attributes) =
        download_and_flatten(client, store, &resolved, &rootfs, options, progress)?;
    let record = ImageRecord {
        origin: format!("{}/{}", reference.registry, reference.repository),
        fingerprint: fingerprint(&rootfs)?,
    };
    let path = store.install(
        reference,
        &rootfs,
        &resolved.manifest.bytes,
        &resolved.config_bytes,
        &record,
    )?;
    Ok(Pulled {
        resolved,
        path,
        sources,
        up_to_date: false,
        skipped_attributes,
    })
}

/// The stored image, when it is this manifest byte for byte and its
/// directory has not been touched since (as `docker pull` says "Image is up
/// to date"): then there is nothing to download or flatten.
fn up_to_date(store: &Store, resolved: &Resolved) -> Result<Option<Pulled>> {
    let reference = &resolved.reference;
    let path = store.image_dir(reference);
    if !store.manifest_path(reference).exists() {
        // Never stored: nothing to compare, and no directory to lock.
        return Ok(None);
    }
    // Read under the shared lock: an install running meanwhile would swap
    // the tree out from under the fingerprint.
    let _lock = store.lock_image(reference, LockMode::Shared)?;
    let stored = std::fs::read(store.manifest_path(reference)).ok();
    let record = store.record(reference);
    let (Some(stored), Some(record)) = (stored, record) else {
        return Ok(None);
    };
    if stored != resolved.manifest.bytes
        || !path.is_dir()
        || fingerprint(&path)? != record.fingerprint
    {
        return Ok(None);
    }
    Ok(Some(Pulled {
        sources: vec![Source::Present; resolved.image.layers.len()],
        resolved: resolved.clone(),
        path,
        up_to_date: true,
        skipped_attributes: Vec::new(),
    }))
}

/// Downloads with `options.jobs` workers while this thread applies each layer
/// as soon as it and all layers before it are in.
fn download_and_flatten(
    client: &Client,
    store: &Store,
    resolved: &Resolved,
    rootfs: &Path,
    options: &PullOptions,
    progress: &dyn Progress,
) -> Result<(Vec<Source>, Vec<SkippedAttribute>)> {
    let layers = &resolved.image.layers;
    let repository = &resolved.reference.repository;
    // A layer may appear more than once (old images repeat the empty layer):
    // each distinct blob is downloaded once, by one worker.
    let mut seen = HashSet::new();
    let distinct: Vec<usize> = (0..layers.len())
        .filter(|&index| seen.insert(layers[index].digest.as_str()))
        .collect();
    workers::run(
        &distinct,
        options.jobs,
        |&index| {
            let report = |bytes| progress.downloaded(index, bytes);
            download::fetch_blob(client, store, repository, &layers[index], &report)
                .map(|fetched| (index, fetched))
        },
        |finished| apply_in_order(resolved, rootfs, options, progress, finished),
    )
}

/// Downloads as they finish: a layer's index and its blob in the cache, or
/// why it is not there.
type Downloads<'a> = workers::Finished<'a, (usize, (PathBuf, Source)), Error>;

// ANCHOR: apply_in_order
fn apply_in_order(
    resolved: &Resolved,
    rootfs: &Path,
    options: &PullOptions,
    progress: &dyn Progress,
    mut finished: Downloads<'_>,
) -> Result<(Vec<Source>, Vec<SkippedAttribute>)> {
    let layers = &resolved.image.layers;
    // Blobs in by digest; a repeated layer finds its blob here already.
    let mut ready: HashMap<&str, (PathBuf, Source)> = HashMap::new();
    let mut sources = Vec::with_capacity(layers.len());
    let mut skipped = Vec::new();
    // Blobs applied already. A blob that arrived early (downloads finish in
    // any order) is in `ready` before its turn, but is not a repeat.
    let mut applied = HashSet::new();
    for (index, layer) in layers.iter().enumerate() {
        let first_use = applied.insert(layer.digest.as_str());
        while !ready.contains_key(layer.digest.as_str()) {
            let (_, fetched) = finished
                .next()
                .expect("every distinct blob is reported before the workers stop");
            let (arrived, fetched) = fetched?;
            ready.insert(layers[arrived].digest.as_str(), fetched);
        }
        let (path, source) = ready[layer.digest.as_str()].clone();
        let source = if first_use { source } else { Source::Repeated };
        if source != Source::Network {
            progress.cached(index);
        }
        progress.extracting(index);
        let diff_id = &resolved.config.rootfs.diff_ids[index];
        let applied =
            apply_layer(&path, rootfs, diff_id, options).map_err(|error| Error::Layer {
                number: index + 1,
                count: layers.len(),
                digest: layer.digest.clone(),
                source: Box::new(error),
            })?;
        skipped.extend(applied.skipped_attributes);
        progress.done(index);
        sources.push(source);
    }
    Ok((sources, skipped))
}
// ANCHOR_END: apply_in_order

/// Decompresses and applies one cached blob, checking its DiffID (the hash of
/// the uncompressed tar) against the config on the way.
///
/// The decompression runs on a second thread a few chunks ahead of the
/// extraction ([`read_ahead`]); this thread hashes what it reads and writes
/// the files, so that the two threads' work is about even.
// ANCHOR: diff_id
fn apply_layer(
    blob: &Path,
    rootfs: &Path,
    diff_id: &str,
    options: &PullOptions,
) -> Result<flatten::Applied> {
    let io = |source| Error::Io {
        path: blob.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(blob).map_err(io)?;
    let tar = decompress(BufReader::with_capacity(256 * 1024, file)).map_err(io)?;
    let (applied, actual) = std::thread::scope(|scope| {
        let (ahead, decompressing) = read_ahead(scope, tar);
        let mut tar = Hashing::new(ahead);
        // It reads the stream to its very end, past the tar's end marker, so
        // that the hash covers every byte.
        let applied = flatten::apply_layer(rootfs, &mut tar, &options.flatten);
        let (ahead, actual, _) = tar.finish();
        drop(ahead);
        if let Err(panic) = decompressing.join() {
            std::panic::resume_unwind(panic);
        }
        (applied, actual)
    });
    let applied = applied?;
    if actual.as_str() != diff_id {
        return Err(Error::DigestMismatch {
            what: format!("the uncompressed layer {}", blob.display()),
            expected: diff_id.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(applied)
}
// ANCHOR_END: diff_id
