//! Manifests and indexes: what a registry returns for `/v2/<name>/manifests/<ref>`.
//!
//! An image manifest lists a config and layers; an index (Docker's "manifest
//! list") lists one image manifest per platform. Both come in Docker and OCI
//! media types. The digest of an image is the sha256 of the manifest's bytes
//! exactly as served, so those bytes are kept as they are.

use crate::client::Client;
pub use crate::digest::{Digest, sha256_digest};
use crate::error::{Error, Result};
use crate::platform::Platform;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ANCHOR: media_types
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Every manifest type we read. Asking for fewer makes Docker Hub answer 404
/// for images it only has as an OCI index.
pub const ACCEPTED: [&str; 4] = [
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    OCI_INDEX,
];

/// Manifests larger than this are not read (`Error::TooBig`). The distribution
/// spec asks implementations to handle manifests of at least 4 megabytes and
/// sets no maximum; real manifests are a few kilobytes.
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
// ANCHOR_END: media_types

// ANCHOR: types
/// A pointer to content: what it is, its digest and its size. Reading one
/// checks its digest: see [`Digest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Descriptor {
    /// Whether this points at an image manifest (not an index, an attestation
    /// blob or something newer we do not know).
    pub fn is_manifest(&self) -> bool {
        self.media_type == DOCKER_MANIFEST || self.media_type == OCI_MANIFEST
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Manifest {
    Image(ImageManifest),
    Index(Index),
}
// ANCHOR_END: types

/// A manifest as fetched: its media type, its digest (checked) and its bytes.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub media_type: String,
    pub digest: Digest,
    pub bytes: Vec<u8>,
    pub manifest: Manifest,
}

// ANCHOR: fetch
/// Fetches a manifest or index by tag or digest and checks it.
pub fn fetch(client: &Client, repository: &str, reference: &str) -> Result<Fetched> {
    if reference.contains(':') && reference.parse::<Digest>().is_err() {
        return Err(Error::Manifest {
            what: format!("manifest {repository}@{reference}"),
            reason: "only sha256 digests can be checked, and an unchecked manifest is never used"
                .into(),
        });
    }
    let path = format!("/v2/{repository}/manifests/{reference}");
    let mut headers = HeaderMap::new();
    let accept =
        HeaderValue::from_str(&ACCEPTED.join(", ")).expect("media types are valid header text");
    headers.insert(ACCEPT, accept);
    let scope = format!("repository:{repository}:pull");
    let what = format!("manifest {repository}:{reference}");
    let (received, bytes) = client
        .get_document(&path, &scope, headers, MAX_MANIFEST_BYTES, &what)
        .map_err(|error| match error {
            Error::Status {
                status: 404,
                code,
                message,
                ..
            } => Error::NotFound {
                registry: client.registry().to_string(),
                repository: repository.to_string(),
                reference: reference.to_string(),
                code,
                message,
            },
            other => other,
        })?;
    let header = |name: &str| {
        received
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
    };
    let content_type = header(CONTENT_TYPE.as_str());
    let claimed = header("Docker-Content-Digest");
    let digest = verify(&what, &bytes, reference, claimed.as_deref())?;
    let (media_type, manifest) =
        parse(&what, &bytes, content_type.as_deref()).map_err(|error| match error {
            // JSON, but not a manifest: a field missing, or content named by
            // a digest that is not one (`Descriptor::digest` checks each).
            Error::Json { what, source } if source.is_data() => Error::Manifest {
                what,
                reason: format!("{source}; the registry is broken or hostile"),
            },
            other => other,
        })?;
    Ok(Fetched {
        media_type,
        digest,
        bytes,
        manifest,
    })
}
// ANCHOR_END: fetch

// ANCHOR: verify_manifest
/// Checks the bytes against the digest asked for and the one the registry claims;
/// returns the digest.
pub fn verify(what: &str, bytes: &[u8], reference: &str, claimed: Option<&str>) -> Result<Digest> {
    // EXERCISE(verify-manifest): Compute the manifest's digest and check it.
    // The digest is `sha256_digest` of the bytes exactly as they came, a
    // `Digest`; the two it is checked against are text, as they came:
    // - If we asked by digest (`reference` starts with `sha256:`), it must match.
    // - If the registry sent `Docker-Content-Digest` (`claimed`), it must match too.
    // A mismatch is `Error::DigestMismatch`: never trust bytes that do not
    // hash to their name.
    // HINT: Hash first (`sha256_digest(bytes)`), then compare its text (`as_str()`): with the
    // reference only when it is a digest, with `claimed` only when it is `Some`. A tag is never
    // compared with anything.
    // HINT+: Gather the expected digests as `Option<&str>` values (`bool::then_some` turns the test
    // on `reference` into one) and loop over the ones that are there (`Iterator::flatten`). The
    // first that differs is `Error::DigestMismatch` with `what`, the expected and the actual
    // digest as strings. If none differs, return the `Digest` you computed.
    let actual = sha256_digest(bytes);
    let expected = [
        reference.starts_with("sha256:").then_some(reference),
        claimed,
    ];
    for expected in expected.into_iter().flatten() {
        if expected != actual.as_str() {
            return Err(Error::DigestMismatch {
                what: what.to_string(),
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
    }
    Ok(actual)
    // END EXERCISE
}
// ANCHOR_END: verify_manifest

// ANCHOR: parse_manifest
/// Reads a manifest or index, deciding which by its media type.
pub fn parse(what: &str, bytes: &[u8], content_type: Option<&str>) -> Result<(String, Manifest)> {
    // EXERCISE(parse-manifest): Tell an index from an image manifest, and read it.
    // The media type comes from the body's `mediaType` field and from the
    // `Content-Type` header (`content_type`). When both are one of `ACCEPTED`
    // and they differ, refuse: the registry contradicts itself. When neither
    // says, look at the shape: `manifests` means index, `config` and `layers`
    // mean image manifest. Deserialise into `Index` or `ImageManifest`; any
    // other media type is an `Error::Manifest` that names it. Bytes that are
    // not JSON, or JSON that does not fit the struct (a field missing, a
    // digest that is not one), are `Error::Json` with serde's error. See
    // book/src/step-01-registry.md#manifests-and-indexes.
    // HINT: Parse into a `serde_json::Value` first: you need its `mediaType` and its shape before
    // you know which struct to deserialise into.
    // HINT+: A `content_type` that is not in `ACCEPTED` (`application/json`) says nothing: drop it.
    // Match on the pair (body's `mediaType`, header's type): both there and different is
    // `Error::Manifest`, worded as the book shows (the check compares the message); else the
    // body's, else the header's, else the shape (`manifests` means index). Then
    // `serde_json::from_value` into `Index` or `ImageManifest`; any other type is an error.
    let fail = |reason: String| Error::Manifest {
        what: what.to_string(),
        reason,
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|source| Error::Json {
        what: what.to_string(),
        source,
    })?;
    let declared = value.get("mediaType").and_then(|m| m.as_str());
    let served = content_type.filter(|t| ACCEPTED.contains(t));
    let media_type = match (declared, served) {
        (Some(declared), Some(served)) if declared != served => {
            return Err(fail(format!(
                "its mediaType is {declared} but it was served as {served}"
            )));
        }
        (Some(declared), _) => declared.to_string(),
        (None, Some(served)) => served.to_string(),
        (None, None) if value.get("manifests").is_some() => OCI_INDEX.to_string(),
        (None, None) => OCI_MANIFEST.to_string(),
    };
    let json_error = |source| Error::Json {
        what: what.to_string(),
        source,
    };
    let manifest = match media_type.as_str() {
        DOCKER_MANIFEST_LIST | OCI_INDEX => {
            Manifest::Index(serde_json::from_value(value).map_err(json_error)?)
        }
        DOCKER_MANIFEST | OCI_MANIFEST => {
            Manifest::Image(serde_json::from_value(value).map_err(json_error)?)
        }
        other => {
            return Err(fail(format!(
                "media type {other} is not a manifest we can read"
            )));
        }
    };
    Ok((media_type, manifest))
    // END EXERCISE
}
// ANCHOR_END: parse_manifest
