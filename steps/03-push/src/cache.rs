//! Writing new blobs into the store's blob cache, where `push` (and the next
//! push) reads them from: written under a temporary name beside the cache,
//! renamed to their digest once it is known.

use crate::error::{Error, Result};
use crate::layer::{LayerDigests, LayerOptions, write_layer};
use std::io::Write;
use std::path::{Path, PathBuf};
use step_01_registry::manifest::sha256_digest;
use step_02_layers::store::Store;

// ANCHOR: store_layer
/// Builds the layer for `dir` straight into the cache; returns its digests and path.
pub fn store_layer(
    store: &Store,
    dir: &Path,
    options: &LayerOptions,
) -> Result<(LayerDigests, PathBuf)> {
    let staged = staged(store)?;
    let layer = write_layer(dir, options, std::io::BufWriter::new(staged.as_file()))?;
    let path = store.blob_path(&layer.digest);
    keep(staged, &path)?;
    Ok((layer, path))
}
// ANCHOR_END: store_layer

/// Puts a small blob (a config) into the cache; returns its digest and path.
pub fn store_blob(store: &Store, bytes: &[u8]) -> Result<(String, PathBuf)> {
    let mut staged = staged(store)?;
    staged.write_all(bytes).map_err(|source| Error::Io {
        path: staged.path().to_path_buf(),
        source,
    })?;
    let digest = sha256_digest(bytes);
    let path = store.blob_path(&digest);
    keep(staged, &path)?;
    Ok((digest, path))
}

/// A temporary file in the cache's directory, so the rename stays on one file system.
fn staged(store: &Store) -> Result<tempfile::NamedTempFile> {
    let dir = store
        .blob_path("sha256:")
        .parent()
        .expect("blobs live in a directory")
        .to_path_buf();
    tempfile::NamedTempFile::new_in(&dir).map_err(|source| Error::Io { path: dir, source })
}

fn keep(staged: tempfile::NamedTempFile, path: &Path) -> Result<()> {
    staged.persist(path).map(drop).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e.error,
    })
}
