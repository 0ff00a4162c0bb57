//! A stored image: where its root filesystem is, and its config.

use crate::error::{Error, Result};
use std::path::PathBuf;
use step_01_registry::Reference;
use step_01_registry::config::ImageConfig;
use step_02_layers::images;
use step_02_layers::store::Store;

/// An image ready to run: its root filesystem on disk and how to run it.
#[derive(Clone, Debug)]
pub struct Image {
    pub reference: Reference,
    /// The flattened root filesystem, `~/.docker-internals/library/alpine/latest`.
    pub rootfs: PathBuf,
    pub config: ImageConfig,
}

impl Image {
    /// The image `reference` from `store`, or [`Error::NotStored`] naming
    /// what the store does hold.
    pub fn load(store: &Store, reference: &Reference) -> Result<Image> {
        let rootfs = store.image_dir(reference);
        let config_path = store.config_path(reference);
        if !rootfs.is_dir() || !config_path.is_file() {
            return Err(not_stored(store, reference));
        }
        let bytes = std::fs::read(&config_path).map_err(|source| Error::Io {
            path: config_path.clone(),
            source,
        })?;
        let config = serde_json::from_slice(&bytes).map_err(|e| Error::Config {
            path: config_path,
            reason: e.to_string(),
        })?;
        Ok(Image {
            reference: reference.clone(),
            rootfs,
            config,
        })
    }

    /// Whether `store` holds `reference`.
    pub fn is_stored(store: &Store, reference: &Reference) -> bool {
        store.image_dir(reference).is_dir() && store.config_path(reference).is_file()
    }
}

/// The error for a missing image, listing the stored ones so a typo shows.
fn not_stored(store: &Store, reference: &Reference) -> Error {
    let names: Vec<String> = images::list(store)
        .map(|listing| listing.images.into_iter().map(|i| i.name).collect())
        .unwrap_or_default();
    Error::NotStored {
        reference: reference.to_string(),
        home: store.home().to_path_buf(),
        stored: if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join(", ")
        },
    }
}
