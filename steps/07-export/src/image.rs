//! A stored image as the export sees it: its root filesystem, and the
//! manifest and config kept beside it byte for byte, so that an OCI layout
//! or a docker-archive carries the digest the registry served.

use crate::error::{Error, Result, io_error};
use std::path::PathBuf;
use step_01_registry::Reference;
use step_01_registry::manifest::{
    DOCKER_MANIFEST, Descriptor, Digest, ImageManifest, OCI_MANIFEST, sha256_digest,
};
use step_02_layers::images;
use step_02_layers::store::Store;

/// A docker config's media type: a manifest without its own `mediaType`
/// that points at one is a Docker manifest.
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// An OCI config's media type.
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// An image in the store.
#[derive(Clone, Debug)]
pub struct StoredImage {
    pub reference: Reference,
    /// The flattened root filesystem.
    pub rootfs: PathBuf,
    /// The manifest as the registry served it.
    pub manifest_bytes: Vec<u8>,
    pub manifest: ImageManifest,
    /// The config as the registry served it.
    pub config_bytes: Vec<u8>,
    pub config: serde_json::Value,
}

/// Where one blob of the image comes from.
#[derive(Clone, Debug)]
pub enum Content {
    Bytes(Vec<u8>),
    /// A file in the blob cache, streamed.
    File(PathBuf),
}

/// A blob of the image: its descriptor and where its bytes are.
#[derive(Clone, Debug)]
pub struct Blob {
    pub descriptor: Descriptor,
    pub content: Content,
}

impl StoredImage {
    /// The image stored under `reference`; if there is none, the error
    /// lists what the store holds.
    pub fn open(store: &Store, reference: &Reference) -> Result<StoredImage> {
        let rootfs = store.image_dir(reference);
        let manifest_path = store.manifest_path(reference);
        let config_path = store.config_path(reference);
        if !rootfs.is_dir() || !manifest_path.is_file() {
            let stored = images::list(store)
                .map(|listing| listing.images.into_iter().map(|i| i.name).collect())
                .unwrap_or_default();
            return Err(Error::NotStored {
                reference: reference.to_string(),
                home: store.home().to_path_buf(),
                stored,
            });
        }
        let manifest_bytes = std::fs::read(&manifest_path).map_err(io_error(&manifest_path))?;
        let manifest: ImageManifest =
            serde_json::from_slice(&manifest_bytes).map_err(|e| Error::BadMetadata {
                path: manifest_path.clone(),
                reason: format!("not an image manifest ({e})"),
            })?;
        let config_bytes = std::fs::read(&config_path).map_err(io_error(&config_path))?;
        let config = serde_json::from_slice(&config_bytes).map_err(|e| Error::BadMetadata {
            path: config_path.clone(),
            reason: format!("not a JSON config ({e})"),
        })?;
        if sha256_digest(&config_bytes) != manifest.config.digest {
            return Err(Error::BadMetadata {
                path: config_path,
                reason: format!("its digest is not {}", manifest.config.digest),
            });
        }
        Ok(StoredImage {
            reference: reference.clone(),
            rootfs,
            manifest_bytes,
            manifest,
            config_bytes,
            config,
        })
    }

    /// The manifest's media type: its own `mediaType`, or what its config's implies.
    pub fn manifest_media_type(&self) -> &str {
        match &self.manifest.media_type {
            Some(media_type) => media_type,
            None if self.manifest.config.media_type == DOCKER_CONFIG => DOCKER_MANIFEST,
            None => OCI_MANIFEST,
        }
    }

    /// The descriptor of the manifest: what an index points at.
    pub fn manifest_descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.manifest_media_type().to_string(),
            digest: sha256_digest(&self.manifest_bytes),
            size: self.manifest_bytes.len() as u64,
            platform: None,
            annotations: None,
        }
    }

    /// The `User` the image runs as, if its config names one.
    pub fn user(&self) -> Option<&str> {
        self.config
            .pointer("/config/User")
            .and_then(|u| u.as_str())
            .filter(|u| !u.is_empty())
    }

    /// The manifest in OCI form, with its descriptor: the stored bytes when
    /// the registry served an OCI manifest (the digest stays the image's),
    /// else the Docker manifest with each media type replaced by its OCI
    /// twin, as `skopeo copy --format oci` does. skopeo and umoci read only
    /// OCI manifests from a layout; the config and layers are the same bytes
    /// in both forms.
    pub fn oci_manifest(&self) -> (Vec<u8>, Descriptor) {
        if self.manifest_media_type() == OCI_MANIFEST {
            return (self.manifest_bytes.clone(), self.manifest_descriptor());
        }
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&self.manifest_bytes).expect("parsed when the image was opened");
        manifest["mediaType"] = OCI_MANIFEST.into();
        manifest["config"]["mediaType"] = OCI_CONFIG.into();
        if let Some(layers) = manifest["layers"].as_array_mut() {
            for layer in layers {
                let docker = layer["mediaType"].as_str().unwrap_or_default();
                layer["mediaType"] = oci_layer_type(docker).into();
            }
        }
        let bytes = serde_json::to_vec(&manifest).expect("JSON values serialise");
        let descriptor = Descriptor {
            media_type: OCI_MANIFEST.to_string(),
            digest: sha256_digest(&bytes),
            size: bytes.len() as u64,
            platform: None,
            annotations: None,
        };
        (bytes, descriptor)
    }

    /// The manifest (in OCI form), the config and the layers, in that
    /// order. A layer missing from the blob cache is an error that names it.
    pub fn blobs(&self, store: &Store) -> Result<Vec<Blob>> {
        let (manifest, descriptor) = self.oci_manifest();
        let mut blobs = vec![
            Blob {
                descriptor,
                content: Content::Bytes(manifest),
            },
            Blob {
                descriptor: self.manifest.config.clone(),
                content: Content::Bytes(self.config_bytes.clone()),
            },
        ];
        for layer in &self.manifest.layers {
            let path = store.blob_path(&layer.digest);
            if !path.is_file() {
                return Err(Error::MissingBlob {
                    reference: self.reference.to_string(),
                    what: "layer",
                    digest: layer.digest.clone(),
                    path,
                });
            }
            blobs.push(Blob {
                descriptor: layer.clone(),
                content: Content::File(path),
            });
        }
        Ok(blobs)
    }
}

/// The OCI media type of a layer with the Docker media type `docker`.
fn oci_layer_type(docker: &str) -> &str {
    match docker {
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => {
            "application/vnd.oci.image.layer.v1.tar+gzip"
        }
        "application/vnd.docker.image.rootfs.diff.tar" => "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => {
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        }
        other => other,
    }
}

/// The blob's file name in a layout: `blobs/sha256/<hex>`.
pub fn blob_name(digest: &Digest) -> String {
    format!("blobs/sha256/{}", digest.hex())
}
