//! Images as a registry stores them: manifests and blobs, each named by its digest.

use crate::digest::Digest;
use bytes::Bytes;

/// A blob (a config or a layer) with the media type a manifest gives it.
#[derive(Clone, Debug)]
pub struct Blob {
    pub media_type: String,
    pub digest: Digest,
    pub data: Bytes,
}

impl Blob {
    pub fn new(media_type: &str, data: impl Into<Bytes>) -> Blob {
        let data = data.into();
        Blob {
            media_type: media_type.to_string(),
            digest: Digest::of(&data),
            data,
        }
    }
}

// ANCHOR: manifest
/// A manifest or an index, byte for byte as it is served: its digest is over these bytes.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub media_type: String,
    pub digest: Digest,
    pub bytes: Bytes,
}

impl Manifest {
    pub fn new(media_type: &str, bytes: impl Into<Bytes>) -> Manifest {
        let bytes = bytes.into();
        Manifest {
            media_type: media_type.to_string(),
            digest: Digest::of(&bytes),
            bytes,
        }
    }
}
// ANCHOR_END: manifest

/// One tagged image with everything it refers to, ready to be seeded into a registry.
#[derive(Clone, Debug)]
pub struct Image {
    /// Repository name, such as `library/hello`.
    pub repository: String,
    /// The tag that points at `manifest`.
    pub tag: String,
    /// The tagged manifest; for a multi-platform image this is the index.
    pub manifest: Manifest,
    /// The manifests an index lists (empty for a single-platform image).
    pub children: Vec<Manifest>,
    /// Every config and layer blob the manifests refer to.
    pub blobs: Vec<Blob>,
}

impl Image {
    /// The reference a client would use, such as `library/hello:latest`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}
