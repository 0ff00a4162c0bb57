//! Writing new blobs into the store's blob cache, where `push` (and the next
//! push) reads them from: written under a temporary name in the store's
//! `.tmp` (cleared by the next run if this one is interrupted), renamed to
//! their digest once it is known.

use crate::error::{Error, Result};
use crate::layer::{LayerDigests, LayerOptions, write_layer};
use std::io::Write;
use std::path::{Path, PathBuf};
use step_01_registry::digest::{Digest, sha256_digest};
use step_02_layers::store::Store;

// ANCHOR: store_layer
/// Builds the layer for `dir` straight into the cache; returns its digests and path.
pub fn store_layer(
    store: &Store,
    dir: &Path,
    options: &LayerOptions,
) -> Result<(LayerDigests, PathBuf)> {
    let staged = store.staged_file()?;
    let layer = write_layer(dir, options, std::io::BufWriter::new(staged.as_file()))?;
    let path = store.blob_path(&layer.digest);
    keep(staged, &path)?;
    Ok((layer, path))
}
// ANCHOR_END: store_layer

/// Puts a small blob (a config) into the cache; returns its digest and path.
pub fn store_blob(store: &Store, bytes: &[u8]) -> Result<(Digest, PathBuf)> {
    let mut staged = store.staged_file()?;
    staged.write_all(bytes).map_err(|source| Error::Io {
        path: staged.path().to_path_buf(),
        source,
    })?;
    let digest = sha256_digest(bytes);
    let path = store.blob_path(&digest);
    keep(staged, &path)?;
    Ok((digest, path))
}

fn keep(staged: tempfile::NamedTempFile, path: &Path) -> Result<()> {
    staged.persist(path).map(drop).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e.error,
    })
}
