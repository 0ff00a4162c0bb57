//! `/v2/<name>/manifests/<reference>`: manifests by tag or digest, byte-exact.

use super::{Call, Reply};
use crate::api_error::{ApiError, Code};
use crate::digest::Digest;
use crate::image::Manifest;
use crate::media_types;
use crate::names;
use crate::store::References;
use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// The largest manifest accepted, as in the CNCF distribution registry.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

pub async fn handle(call: &Call<'_>, name: &str, reference: &str, body: Body) -> Reply {
    check_reference(reference)?;
    match call.method {
        Method::GET | Method::HEAD => get(call, name, reference),
        Method::PUT => put(call, name, reference, body).await,
        Method::DELETE => delete(call, name, reference),
        _ => Err(super::method_not_allowed(&call.method)),
    }
}

/// A reference is a digest or a tag; anything else is refused before it is looked up.
fn check_reference(reference: &str) -> Result<(), ApiError> {
    if reference.contains(':') {
        reference
            .parse::<Digest>()
            .map(drop)
            .map_err(|e| ApiError::new(Code::DigestInvalid, e.to_string()))
    } else {
        names::check_tag(reference).map_err(|e| ApiError::new(Code::TagInvalid, e))
    }
}

fn get(call: &Call, name: &str, reference: &str) -> Reply {
    let manifest = call.app.store.manifest(name, reference).ok_or_else(|| {
        ApiError::new(
            Code::ManifestUnknown,
            format!("manifest {reference:?} is not in repository {name:?}"),
        )
        .detail(json!({ "Name": name, "Reference": reference }))
    })?;
    if !accepts(&call.headers, &manifest.media_type) {
        // Docker Hub's answer to a client that cannot read what is stored.
        return Err(ApiError::new(
            Code::ManifestUnknown,
            format!(
                "{} found, but the Accept header does not include it",
                manifest.media_type
            ),
        ));
    }
    let mut response = if call.method == Method::HEAD {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(manifest.bytes.clone()))
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, manifest.bytes.len().into());
    set(headers, header::CONTENT_TYPE, &manifest.media_type);
    set(headers, "Docker-Content-Digest", manifest.digest.as_str());
    set(headers, header::ETAG, &format!("\"{}\"", manifest.digest));
    Ok(response)
}

/// Whether the `Accept` headers admit a media type. Clients may send one header
/// with a list or one header per type (containers/image does); no header admits
/// anything.
fn accepts(headers: &axum::http::HeaderMap, media_type: &str) -> bool {
    let mut values = headers.get_all(header::ACCEPT).iter().peekable();
    if values.peek().is_none() {
        return true;
    }
    values
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|entry| entry.split(';').next().unwrap_or("").trim())
        .any(|entry| entry == media_type || entry == "*/*")
}

fn set(headers: &mut axum::http::HeaderMap, name: impl header::IntoHeaderName, value: &str) {
    if let Ok(value) = HeaderValue::try_from(value) {
        headers.insert(name, value);
    }
}

async fn put(call: &Call<'_>, name: &str, reference: &str, body: Body) -> Reply {
    let media_type = call
        .header(header::CONTENT_TYPE)
        .map(|t| t.split(';').next().unwrap_or("").trim().to_string())
        .unwrap_or_default();
    if !media_types::MANIFESTS.contains(&media_type.as_str()) {
        return Err(ApiError::new(
            Code::ManifestInvalid,
            format!(
                "Content-Type {media_type:?} is not a manifest media type; use one of {}",
                media_types::MANIFESTS.join(", ")
            ),
        ));
    }
    let too_big = || {
        ApiError::new(
            Code::ManifestTooBig,
            format!("manifest is larger than the limit of {MAX_MANIFEST_BYTES} bytes"),
        )
    };
    let bytes = read_limited(body)
        .await
        .map_err(|e| {
            ApiError::new(
                Code::ManifestInvalid,
                format!("the manifest upload broke off: {e}"),
            )
        })?
        .ok_or_else(too_big)?;
    let manifest = Manifest::new(&media_type, bytes);
    if let Ok(digest) = reference.parse::<Digest>()
        && digest != manifest.digest
    {
        return Err(ApiError::new(
            Code::DigestInvalid,
            format!(
                "the manifest's digest is {}, not {digest} as the URL says",
                manifest.digest
            ),
        ));
    }
    check_content(call, name, &manifest)?;
    let tag = (!reference.contains(':')).then_some(reference);
    call.app
        .store
        .put_manifest(name, tag, &manifest)
        .map_err(storage_error)?;
    let mut response = StatusCode::CREATED.into_response();
    let headers = response.headers_mut();
    set(
        headers,
        header::LOCATION,
        &format!("/v2/{name}/manifests/{}", manifest.digest),
    );
    set(headers, "Docker-Content-Digest", manifest.digest.as_str());
    Ok(response)
}

/// Reads a manifest body, or `None` when it is over the limit; an error when
/// the upload breaks off. The rest of an
/// oversized body is read and dropped (up to a bound) so that the client,
/// still sending, gets the 413 rather than a broken pipe.
async fn read_limited(body: Body) -> Result<Option<Bytes>, axum::Error> {
    const DRAIN_LIMIT: usize = 64 * 1024 * 1024;
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    let mut seen = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        seen += chunk.len();
        if seen > DRAIN_LIMIT {
            break;
        }
        if seen <= MAX_MANIFEST_BYTES {
            bytes.extend_from_slice(&chunk);
        }
    }
    Ok((seen <= MAX_MANIFEST_BYTES).then(|| Bytes::from(bytes)))
}

/// A manifest must be JSON, agree with its Content-Type, and refer only to
/// blobs and manifests the repository already has: the manifest goes last.
fn check_content(call: &Call, name: &str, manifest: &Manifest) -> Result<(), ApiError> {
    let value: Value = serde_json::from_slice(&manifest.bytes).map_err(|e| {
        ApiError::new(
            Code::ManifestInvalid,
            format!("manifest is not valid JSON: {e}"),
        )
    })?;
    if let Some(declared) = value.get("mediaType").and_then(Value::as_str)
        && declared != manifest.media_type
    {
        return Err(ApiError::new(
            Code::ManifestInvalid,
            format!(
                "the manifest says its mediaType is {declared} but it was sent as {}",
                manifest.media_type
            ),
        ));
    }
    if value.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err(ApiError::new(
            Code::ManifestInvalid,
            "schemaVersion must be 2",
        ));
    }
    let references = References::of(&manifest.bytes);
    let is_index = media_types::is_index(&manifest.media_type);
    if !is_index && value.get("config").is_none() {
        return Err(ApiError::new(
            Code::ManifestInvalid,
            "an image manifest needs a config descriptor",
        ));
    }
    let store = &call.app.store;
    let missing_blob = references
        .blobs
        .iter()
        .find(|digest| !store.has_blob(name, digest));
    let missing_manifest = references
        .manifests
        .iter()
        .map(|(_, digest)| digest)
        .find(|digest| store.resolve(name, digest.as_str()).is_none());
    match missing_blob.or(missing_manifest) {
        Some(digest) => Err(ApiError::new(
            Code::ManifestBlobUnknown,
            format!("the manifest refers to {digest}, which repository {name:?} does not have: push it first"),
        )
        .detail(json!({ "digest": digest.as_str() }))),
        None => Ok(()),
    }
}

fn delete(call: &Call, name: &str, reference: &str) -> Reply {
    let digest = reference.parse::<Digest>().map_err(|_| {
        ApiError::new(Code::Unsupported, "delete a manifest by digest, not by tag")
            .status(StatusCode::BAD_REQUEST)
    })?;
    if call
        .app
        .store
        .delete_manifest(name, &digest)
        .map_err(storage_error)?
    {
        Ok(StatusCode::ACCEPTED.into_response())
    } else {
        Err(ApiError::new(
            Code::ManifestUnknown,
            format!("manifest {digest} is not in repository {name:?}"),
        ))
    }
}

pub fn storage_error(error: std::io::Error) -> ApiError {
    ApiError::new(Code::Unavailable, format!("storage error: {error}"))
        .status(StatusCode::INTERNAL_SERVER_ERROR)
}
