//! `/v2/<name>/blobs/uploads/`: monolithic (POST then PUT, or one POST with
//! `?digest=`), streamed and chunked (PATCH) uploads, status, cancel, and
//! cross-repository mounts.

use super::manifests::storage_error;
use super::{Call, Reply};
use crate::api_error::{ApiError, Code};
use crate::auth::{Access, Action};
use crate::digest::Digest;
use crate::names;
use crate::store::Staging;
use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

/// An upload session: its repository and the bytes received so far.
pub struct Upload {
    repository: String,
    staging: Staging,
}

type Session = Arc<tokio::sync::Mutex<Option<Upload>>>;

/// Sessions in progress, by id. A finished or cancelled session is removed.
#[derive(Default)]
pub struct Uploads(Mutex<HashMap<String, Session>>);

impl Uploads {
    fn open(&self, upload: Upload) -> String {
        let state = RandomState::new();
        let id = format!(
            "{:016x}{:016x}",
            state.hash_one(1u8),
            state.hash_one(&upload.repository)
        );
        self.0
            .lock()
            .unwrap()
            .insert(id.clone(), Arc::new(tokio::sync::Mutex::new(Some(upload))));
        id
    }

    fn get(&self, id: &str) -> Option<Session> {
        self.0.lock().unwrap().get(id).cloned()
    }

    fn close(&self, id: &str) {
        self.0.lock().unwrap().remove(id);
    }

    /// How many sessions are open (a test can check that none leaked).
    pub fn open_sessions(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

fn parse_digest(text: &str) -> Result<Digest, ApiError> {
    text.parse()
        .map_err(|e: crate::digest::DigestError| ApiError::new(Code::DigestInvalid, e.to_string()))
}

/// `POST /v2/<name>/blobs/uploads/`
pub async fn start(call: &Call<'_>, name: &str, body: Body) -> Reply {
    if call.method != Method::POST {
        return Err(super::method_not_allowed(&call.method));
    }
    if let Some(mount) = call.param("mount") {
        let digest = parse_digest(mount)?;
        if let Some(response) = try_mount(call, name, &digest) {
            return Ok(response);
        }
    }
    let mut staging = call.app.store.stage_upload().await.map_err(storage_error)?;
    if let Some(digest) = call.param("digest") {
        let digest = parse_digest(digest)?;
        append(&mut staging, body).await?;
        return finish(call, name, staging, &digest).await;
    }
    let id = call.app.uploads.open(Upload {
        repository: name.to_string(),
        staging,
    });
    let mut response = progress(call, StatusCode::ACCEPTED, name, &id, 0);
    if let Some(min) = call.app.settings().chunk_min_length {
        response
            .headers_mut()
            .insert("OCI-Chunk-Min-Length", min.into());
    }
    Ok(response)
}

/// Links a blob from another repository. `None` means "upload it instead"
/// (the spec's 202 fallback): the source does not have it, or the client may not read it.
fn try_mount(call: &Call, name: &str, digest: &Digest) -> Option<Response> {
    let from = call.param("from")?;
    names::check_repository(from).ok()?;
    call.authorize(&Access::repository(from, Action::Pull))
        .ok()?;
    if !call.app.store.has_blob(from, digest) {
        return None;
    }
    call.app.store.link_blob(name, digest);
    Some(created(name, digest))
}

/// `GET`, `PATCH`, `PUT` and `DELETE` on `/v2/<name>/blobs/uploads/<id>`.
pub async fn handle(call: &Call<'_>, name: &str, id: &str, body: Body) -> Reply {
    let unknown = || {
        ApiError::new(
            Code::BlobUploadUnknown,
            format!(
                "upload {id:?} is not in progress in repository {name:?}: start one with POST /v2/{name}/blobs/uploads/"
            ),
        )
    };
    let session = call.app.uploads.get(id).ok_or_else(unknown)?;
    let mut guard = session.lock().await;
    let Some(upload) = guard.as_mut().filter(|u| u.repository == name) else {
        return Err(unknown());
    };
    match call.method {
        Method::GET => Ok(progress(
            call,
            StatusCode::NO_CONTENT,
            name,
            id,
            upload.staging.len(),
        )),
        Method::PATCH => {
            check_chunk(call, name, id, upload.staging.len())?;
            append(&mut upload.staging, body).await?;
            Ok(progress(
                call,
                StatusCode::ACCEPTED,
                name,
                id,
                upload.staging.len(),
            ))
        }
        Method::PUT => {
            let digest = parse_digest(call.param("digest").ok_or_else(|| {
                ApiError::new(
                    Code::DigestInvalid,
                    "the final PUT of an upload needs ?digest=sha256:...",
                )
            })?)?;
            append(&mut upload.staging, body).await?;
            let upload = guard.take().expect("checked above");
            call.app.uploads.close(id);
            finish(call, name, upload.staging, &digest).await
        }
        Method::DELETE => {
            guard.take();
            call.app.uploads.close(id);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(super::method_not_allowed(&call.method)),
    }
}

/// A chunk must start where the upload stands (416 otherwise, with the real
/// position), and must not be smaller than `OCI-Chunk-Min-Length` when set.
fn check_chunk(call: &Call, name: &str, id: &str, len: u64) -> Result<(), ApiError> {
    if let Some(range) = call.header(header::CONTENT_RANGE) {
        let start = range
            .trim_start_matches("bytes ")
            .split('-')
            .next()
            .and_then(|s| s.trim().parse::<u64>().ok());
        if start != Some(len) {
            return Err(ApiError::new(
                Code::RangeInvalid,
                format!("chunk {range:?} does not start at byte {len}, where the upload stands"),
            )
            .header(header::RANGE, range_value(len))
            .header(header::LOCATION, location(call, name, id)));
        }
    }
    let min = call.app.settings().chunk_min_length;
    let size = call
        .header(header::CONTENT_LENGTH)
        .and_then(|l| l.parse::<u64>().ok());
    if let (Some(min), Some(size)) = (min, size)
        && size < min
    {
        return Err(ApiError::new(
            Code::SizeInvalid,
            format!("chunk of {size} bytes is smaller than OCI-Chunk-Min-Length {min}"),
        ));
    }
    Ok(())
}

/// Streams a request body into the upload, never holding it whole.
async fn append(staging: &mut Staging, body: Body) -> Result<(), ApiError> {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                Code::BlobUploadInvalid,
                format!("the upload body could not be read: {e}"),
            )
        })?;
        staging.append(&chunk).await.map_err(storage_error)?;
    }
    Ok(())
}

/// Checks the bytes against the digest the client named, then stores them.
async fn finish(call: &Call<'_>, name: &str, staging: Staging, digest: &Digest) -> Reply {
    let actual = staging.digest();
    if &actual != digest {
        return Err(ApiError::new(
            Code::DigestInvalid,
            format!("the uploaded bytes have digest {actual}, not {digest}: nothing was stored"),
        )
        .detail(serde_json::json!({ "digest": digest.as_str() })));
    }
    call.app
        .store
        .commit_upload(name, staging, digest)
        .await
        .map_err(storage_error)?;
    Ok(created(name, digest))
}

fn created(name: &str, digest: &Digest) -> Response {
    let mut response = StatusCode::CREATED.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::try_from(format!("/v2/{name}/blobs/{digest}")) {
        headers.insert(header::LOCATION, value);
    }
    if let Ok(value) = HeaderValue::try_from(digest.as_str()) {
        headers.insert("Docker-Content-Digest", value);
    }
    response
}

/// Where the client sends the rest of an upload, phrased as the settings say.
fn location(call: &Call, name: &str, id: &str) -> String {
    let settings = call.app.settings();
    let base = if settings.absolute_locations {
        call.base_url.as_str()
    } else {
        ""
    };
    let query = if settings.location_query {
        format!("?_state={id}")
    } else {
        String::new()
    };
    format!("{base}/v2/{name}/blobs/uploads/{id}{query}")
}

/// `0-<last byte received>`, or `0-0` before the first byte, as registries send it.
fn range_value(len: u64) -> String {
    format!("0-{}", len.saturating_sub(1))
}

fn progress(call: &Call, status: StatusCode, name: &str, id: &str, len: u64) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    for (key, value) in [
        (header::LOCATION.as_str(), location(call, name, id)),
        (header::RANGE.as_str(), range_value(len)),
        ("Docker-Upload-UUID", id.to_string()),
    ] {
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(
                header::HeaderName::from_bytes(key.as_bytes()).expect("valid header name"),
                value,
            );
        }
    }
    headers.insert(header::CONTENT_LENGTH, 0.into());
    response
}
