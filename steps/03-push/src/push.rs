//! `docker push`, in full: decide what to send (the blobs the image was pulled
//! with, or one new layer from the directory), send every blob the registry
//! lacks, and only then the manifest, so a tag never points at missing blobs.

use crate::cache::{store_blob, store_layer};
use crate::error::Result;
use crate::image::{self, Format};
use crate::layer::LayerOptions;
use crate::upload::{self, Blob, Outcome, UploadOptions};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use std::path::{Path, PathBuf};
use step_01_registry::config::ImageConfig;
use step_01_registry::manifest::{Digest, ImageManifest, OCI_MANIFEST, sha256_digest};
use step_01_registry::workers;
use step_01_registry::{Client, Reference};
use step_02_layers::fingerprint::fingerprint;
use step_02_layers::store::{ImageRecord, LockMode, Store};

/// How to push.
#[derive(Clone, Debug)]
pub struct PushOptions {
    /// Push this directory instead of the stored image.
    pub from: Option<PathBuf>,
    /// The manifest format for a new image (a pulled image keeps its own).
    pub format: Option<Format>,
    pub upload: UploadOptions,
    pub layer: LayerOptions,
    /// Blobs sent at once.
    pub jobs: usize,
}

/// How many blobs go up at once by default, as pull downloads them.
pub const DEFAULT_JOBS: usize = 3;

impl Default for PushOptions {
    fn default() -> PushOptions {
        PushOptions {
            from: None,
            format: None,
            upload: UploadOptions::default(),
            layer: LayerOptions::default(),
            jobs: DEFAULT_JOBS,
        }
    }
}

/// What a push did.
#[derive(Debug)]
pub struct Pushed {
    /// The manifest's digest: what `docker pull name@digest` would ask for.
    pub digest: Digest,
    /// Each blob (layers, then the config) and what the registry needed.
    pub blobs: Vec<(Digest, Outcome)>,
    /// Whether the image went as it is stored (as pulled, or as last pushed),
    /// with no new layer built.
    pub as_stored: bool,
}

/// The image to send: its manifest bytes and the blobs it names.
struct Prepared {
    manifest: Vec<u8>,
    media_type: String,
    blobs: Vec<Blob>,
    mount_from: Option<String>,
    as_stored: bool,
    /// For a newly built image of the store: the config and record to keep
    /// beside it once the push has succeeded (not before: a failed push
    /// changes nothing).
    keep: Option<(Vec<u8>, ImageRecord)>,
}

/// Hears about each blob as it is dealt with.
pub trait PushProgress: Sync {
    fn blob(&self, digest: &Digest, size: u64, outcome: Outcome);
}

impl PushProgress for () {
    fn blob(&self, _: &Digest, _: u64, _: Outcome) {}
}

// ANCHOR: push
pub fn push(
    client: &Client,
    store: &Store,
    reference: &Reference,
    options: &PushOptions,
    progress: &dyn PushProgress,
) -> Result<Pushed> {
    // A tag is what a push names; a digest alone would silently replace `latest`.
    let Some(tag) = reference.tag.as_deref() else {
        return Err(crate::Error::NeedsTag {
            reference: reference.to_string(),
        });
    };
    // Before the lock, which would make the repository's directory.
    match &options.from {
        Some(dir) if !dir.is_dir() => {
            return Err(crate::Error::NotADirectory { path: dir.clone() });
        }
        None if !store.image_dir(reference).is_dir() => return Err(not_stored(store, reference)),
        _ => {}
    }
    // Held for the whole push: the tree is read, sent, and its new manifest
    // kept beside it, with no pull of the same repository swapping it meanwhile.
    let lock = store.lock_image(reference, LockMode::Exclusive)?;
    let prepared = prepare(store, reference, options)?;
    let blobs = upload_all(client, reference, &prepared, options, progress)?;
    // Every blob is confirmed: now the manifest may name them.
    let digest = put_manifest(
        client,
        reference,
        tag,
        &prepared.media_type,
        &prepared.manifest,
    )?;
    if let Some((config, record)) = &prepared.keep {
        store.write_metadata(&lock, reference, &prepared.manifest, config, record)?;
    }
    Ok(Pushed {
        digest,
        blobs,
        as_stored: prepared.as_stored,
    })
}
// ANCHOR_END: push

/// Sends the blobs with `options.jobs` workers; each blob's outcome, in the
/// manifest's order. The first failure stops the workers from taking more.
fn upload_all(
    client: &Client,
    reference: &Reference,
    prepared: &Prepared,
    options: &PushOptions,
    progress: &dyn PushProgress,
) -> Result<Vec<(Digest, Outcome)>> {
    let blobs = &prepared.blobs;
    workers::run(
        blobs,
        options.jobs,
        |blob| -> Result<Outcome> {
            let mount_from = prepared.mount_from.as_deref();
            let outcome = upload::upload(
                client,
                &reference.repository,
                blob,
                mount_from,
                &options.upload,
            )?;
            // Reported by the worker, as each blob is confirmed.
            progress.blob(&blob.digest, blob.size, outcome);
            Ok(outcome)
        },
        |finished| {
            let mut outcomes = vec![None; blobs.len()];
            for (index, outcome) in finished {
                outcomes[index] = Some(outcome?);
            }
            Ok(blobs
                .iter()
                .zip(outcomes)
                .map(|(blob, outcome)| (blob.digest.clone(), outcome.expect("every blob was sent")))
                .collect())
        },
    )
}

fn put_manifest(
    client: &Client,
    reference: &Reference,
    tag: &str,
    media_type: &str,
    manifest: &[u8],
) -> Result<Digest> {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(media_type).expect("a media type is a valid header"),
    );
    let bytes = manifest.to_vec();
    let body = move || Ok(reqwest::blocking::Body::from(bytes.clone()));
    let path = format!("/v2/{}/manifests/{tag}", reference.repository);
    let scope = format!("repository:{}:pull,push", reference.repository);
    let response = client.send_with_body(Method::PUT, &path, &scope, headers, Some(&body))?;
    if response.status().as_u16() != 201 {
        return Err(upload::refused(
            &format!("the manifest of {reference}"),
            "PUT",
            response,
        ));
    }
    Ok(sha256_digest(manifest))
}

// ANCHOR: prepare
/// Decides what to send. A stored image whose directory is unchanged since it
/// was pulled (or last pushed) goes as it is; anything else becomes one new
/// layer, with the run settings of the stored config.
fn prepare(store: &Store, reference: &Reference, options: &PushOptions) -> Result<Prepared> {
    let stored = store.image_dir(reference);
    let dir = options.from.clone().unwrap_or_else(|| stored.clone());
    if !dir.is_dir() {
        return Err(match &options.from {
            Some(from) => crate::Error::NotADirectory { path: from.clone() },
            None => not_stored(store, reference),
        });
    }
    let base = read_stored(store, reference);
    let record = store.record(reference);
    if options.from.is_none()
        && let Some((manifest, _)) = &base
        && let Some(prepared) = as_stored(store, reference, manifest, record.as_ref(), options)?
    {
        return Ok(prepared);
    }
    build(
        store,
        reference,
        &dir,
        base.as_ref().map(|(_, config)| config),
        options,
    )
}
// ANCHOR_END: prepare

/// The error for an image that is not in the store.
fn not_stored(store: &Store, reference: &Reference) -> crate::Error {
    step_02_layers::error::Error::NotStored {
        reference: reference.to_string(),
        home: store.home().to_path_buf(),
    }
    .into()
}

/// The stored manifest bytes and config, when the image has them.
fn read_stored(store: &Store, reference: &Reference) -> Option<(Vec<u8>, ImageConfig)> {
    let manifest = std::fs::read(store.manifest_path(reference)).ok()?;
    let config = std::fs::read(store.config_path(reference)).ok()?;
    Some((manifest, serde_json::from_slice(&config).ok()?))
}

/// The image exactly as stored, if nothing changed and every blob is cached.
fn as_stored(
    store: &Store,
    reference: &Reference,
    manifest_bytes: &[u8],
    record: Option<&ImageRecord>,
    options: &PushOptions,
) -> Result<Option<Prepared>> {
    let Some(record) = record else {
        return Ok(None);
    };
    // Reading it checks its digests, which become paths in the blob cache:
    // a manifest that names a blob by anything else is not the image as stored.
    let Ok(manifest) = serde_json::from_slice::<ImageManifest>(manifest_bytes) else {
        return Ok(None);
    };
    // `mediaType` is optional in an OCI manifest (Docker's always has it).
    let media_type = manifest
        .media_type
        .clone()
        .unwrap_or_else(|| OCI_MANIFEST.to_string());
    let same_format = options
        .format
        .is_none_or(|f| Format::of_manifest(&media_type) == Some(f));
    if !same_format || fingerprint(&store.image_dir(reference))? != record.fingerprint {
        return Ok(None);
    }
    let mut blobs = Vec::new();
    for descriptor in &manifest.layers {
        let path = store.blob_path(&descriptor.digest);
        if !path.exists() {
            return Ok(None);
        }
        blobs.push(Blob {
            digest: descriptor.digest.clone(),
            size: descriptor.size,
            path,
        });
    }
    // The config is kept beside the image, byte for byte; one that was
    // edited is no longer the config the manifest names.
    let config_path = store.config_path(reference);
    let config = std::fs::read(&config_path).map_err(|source| crate::Error::Io {
        path: config_path.clone(),
        source,
    })?;
    if sha256_digest(&config) != manifest.config.digest {
        return Ok(None);
    }
    blobs.push(Blob {
        digest: manifest.config.digest.clone(),
        size: manifest.config.size,
        path: config_path,
    });
    // Blobs pulled from another repository of the same registry can be mounted.
    let target = format!("{}/", reference.registry);
    let mount_from = record
        .origin
        .strip_prefix(&target)
        .filter(|repository| *repository != reference.repository)
        .map(str::to_string);
    Ok(Some(Prepared {
        manifest: manifest_bytes.to_vec(),
        media_type,
        blobs,
        mount_from,
        as_stored: true,
        keep: None,
    }))
}

/// One new layer from `dir`, written into the blob cache, and its config and
/// manifest. For the stored image, they are kept beside it once the push
/// succeeds, so the next push of the unchanged directory sends the same blobs
/// without building.
fn build(
    store: &Store,
    reference: &Reference,
    dir: &Path,
    base: Option<&ImageConfig>,
    options: &PushOptions,
) -> Result<Prepared> {
    let format = options.format.unwrap_or_default();
    // Taken before the layer is built: a change made while it is being built
    // then shows up as a change at the next push, never as "as stored".
    let before = fingerprint(dir)?;
    let (layer, layer_path) = store_layer(store, dir, &options.layer)?;
    // No path here: the same tree must give the same config wherever it lies.
    let created_by = if options.from.is_some() {
        "dockerless push --from DIR: one layer from a directory"
    } else {
        "dockerless push: one layer from the stored image's directory"
    };
    let config = image::config(base, &layer, created_by);
    let (config_digest, config_path) = store_blob(store, &config)?;
    let manifest = image::manifest(
        format,
        (&config_digest, config.len() as u64),
        &[(layer.digest.clone(), layer.size)],
    );
    let keep = options.from.is_none().then(|| {
        let record = ImageRecord {
            origin: format!("{}/{}", reference.registry, reference.repository),
            fingerprint: before,
        };
        (config.clone(), record)
    });
    Ok(Prepared {
        manifest,
        media_type: format.manifest_type().to_string(),
        blobs: vec![
            Blob {
                digest: layer.digest,
                size: layer.size,
                path: layer_path,
            },
            Blob {
                digest: config_digest,
                size: config.len() as u64,
                path: config_path,
            },
        ],
        mount_from: None,
        as_stored: false,
        keep,
    })
}
