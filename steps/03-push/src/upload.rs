//! Blob upload, as the distribution spec describes it: ask first (HEAD), try
//! to mount from another repository, else start an upload session (POST) and
//! send the bytes, in one PUT or in chunks (PATCH), closing with the digest.

use crate::error::{Error, Result};
use reqwest::Method;
use reqwest::blocking::{Body, Response};
use reqwest::header::{
    CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION,
};
use std::io::{Read, Seek, SeekFrom};

use std::path::{Path, PathBuf};
use step_01_registry::Client;
use step_01_registry::client::error_body;
use step_01_registry::digest::Digest;

/// A blob on disk and its name.
#[derive(Clone, Debug)]
pub struct Blob {
    pub digest: Digest,
    pub size: u64,
    pub path: PathBuf,
}

/// What the registry needed for a blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It had it already: nothing sent.
    Present,
    /// Linked from another repository of the same registry: nothing sent.
    Mounted,
    /// Sent.
    Uploaded,
}

/// How to send blobs.
#[derive(Clone, Copy, Debug, Default)]
pub struct UploadOptions {
    /// Send in PATCH chunks of this many bytes (raised to the registry's
    /// `OCI-Chunk-Min-Length`); one PUT when `None`, which every registry handles best.
    pub chunk_size: Option<u64>,
}

// ANCHOR: upload
/// Makes sure `repository` has `blob`, sending it only when it must.
pub fn upload(
    client: &Client,
    repository: &str,
    blob: &Blob,
    mount_from: Option<&str>,
    options: &UploadOptions,
) -> Result<Outcome> {
    let what = format!("blob {}", blob.digest);
    let (mut location, chunk_min) = match start(client, repository, blob, mount_from)? {
        Start::Present => return Ok(Outcome::Present),
        Start::Mounted => return Ok(Outcome::Mounted),
        Start::Upload {
            location,
            chunk_min,
        } => (location, chunk_min),
    };
    let scope = format!("repository:{repository}:pull,push");
    let chunk = options
        .chunk_size
        .map(|c| c.max(chunk_min.unwrap_or(0)).max(1));
    let mut offset = 0;
    if let Some(chunk) = chunk {
        (location, offset) = send_chunks(client, &scope, blob, location, chunk, &what)?;
    }
    // The closing PUT carries what is left: everything, in a monolithic upload.
    let (path, len) = (blob.path.clone(), blob.size - offset);
    let body = move || read_range(&path, offset, len);
    finish(client, &scope, blob, &location, len, &body, &what)?;
    Ok(Outcome::Uploaded)
}

/// What the registry answered before any byte was sent.
#[allow(dead_code, reason = "only start-upload's solution builds them")]
enum Start {
    /// It has the blob.
    Present,
    /// It linked the blob from the other repository.
    Mounted,
    /// Send the bytes to this session URL, in chunks of at least `chunk_min`
    /// bytes when chunking.
    Upload {
        location: String,
        chunk_min: Option<u64>,
    },
}

// ANCHOR_END: upload

// ANCHOR: start_upload
/// Asks before sending: does the repository have the blob, can it be
/// mounted, and if not, where does the upload go?
fn start(
    client: &Client,
    repository: &str,
    blob: &Blob,
    mount_from: Option<&str>,
) -> Result<Start> {
    // EXERCISE(start-upload): Ask before sending: HEAD the blob, then mount it or open an upload.
    // 1. `HEAD /v2/<repository>/blobs/<digest>` with the scope
    //    `repository:<repository>:pull,push`: a 2xx means the registry has
    //    it already (`Start::Present`), and nothing is sent.
    // 2. Open an upload session: `POST /v2/<repository>/blobs/uploads/`, or,
    //    when `mount_from` names a repository of the same registry,
    //    `.../uploads/?mount=<digest>&from=<repository>`; a mount reads the
    //    source, so the token must cover `repository:<from>:pull` too (add
    //    it to the scope, separated by a space).
    // 3. `201` to a mount: done (`Start::Mounted`). `202`: upload to the
    //    `Location` it gives (`location`), minding `OCI-Chunk-Min-Length`.
    //    Anything else: `refused`.
    // HINT: Send every request through `client.send` with the scope it needs: it answers the 401
    // and fetches the token. A mount needs both repositories' scopes, separated by a space.
    // HINT+: HEAD the blob with `Method::HEAD`: `status().is_success()` is `Start::Present`. Then
    // `Method::POST` to the uploads path, adding `mount` and `from` when `mount_from` is `Some`.
    // Match `status().as_u16()`: 201 is `Mounted` only when you asked for a mount; 202 is `Upload`
    // with the `location` helper (and `client.base_url()`) and `OCI-Chunk-Min-Length` parsed as a
    // `u64` (absent or bad: `None`); anything else is `refused`, naming the `POST`.
    let scope = format!("repository:{repository}:pull,push");
    let head = client.send(
        Method::HEAD,
        &format!("/v2/{repository}/blobs/{}", blob.digest),
        &scope,
        HeaderMap::new(),
    )?;
    if head.status().is_success() {
        return Ok(Start::Present);
    }
    let what = format!("blob {}", blob.digest);
    let (start_path, start_scope) = match mount_from {
        Some(from) => (
            format!(
                "/v2/{repository}/blobs/uploads/?mount={}&from={from}",
                blob.digest
            ),
            format!("{scope} repository:{from}:pull"),
        ),
        None => (format!("/v2/{repository}/blobs/uploads/"), scope.clone()),
    };
    let started = client.send(Method::POST, &start_path, &start_scope, HeaderMap::new())?;
    match started.status().as_u16() {
        201 if mount_from.is_some() => Ok(Start::Mounted),
        202 => Ok(Start::Upload {
            location: location(&started, client.base_url(), &what)?,
            chunk_min: started
                .headers()
                .get("OCI-Chunk-Min-Length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok()),
        }),
        _ => Err(refused(&what, "POST", started)),
    }
    // END EXERCISE
}
// ANCHOR_END: start_upload

/// The absolute URL of the upload session a response points at.
fn location(response: &Response, base: &str, what: &str) -> Result<String> {
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| Error::NoLocation {
            what: what.to_string(),
        })?;
    Ok(absolute(base, location))
}

// ANCHOR: upload_url
/// `Location` may be a path (`/v2/...`) or a whole URL.
pub fn absolute(base: &str, location: &str) -> String {
    // EXERCISE(upload-url): Turn an upload `Location` into a URL to send to.
    // Registries answer with a path (`/v2/me/app/blobs/uploads/1234`) or a
    // whole URL (`https://host/v2/...`), sometimes with a query of their
    // own (`?_state=...`). A path is relative to `base`; a URL is kept,
    // and so is the query: `with_digest`, below, adds to it for the closing
    // PUT. See book/src/step-03-push.md#the-upload-protocol.
    // HINT: Resolve it the way a browser resolves a link: `reqwest::Url` knows how, so do not glue
    // strings together.
    // HINT+: `reqwest::Url::parse` the base, then `Url::join` the location and `to_string()` the
    // result: a path replaces the base's path, a whole URL replaces everything, and the location's
    // query is kept. Both calls return a `Result`; if either fails, the two strings one after the
    // other will do.
    match reqwest::Url::parse(base).and_then(|b| b.join(location)) {
        Ok(url) => url.to_string(),
        Err(_) => format!("{base}{location}"),
    }
    // END EXERCISE
}
// ANCHOR_END: upload_url

/// Adds `digest=<digest>` to an upload URL, with `&` when it has a query
/// already: the closing PUT names what was sent, and a registry that keeps
/// its session's state in the query (`?_state=...`) needs that query back.
pub fn with_digest(url: &str, digest: &Digest) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}digest={digest}")
}

// ANCHOR: send_chunks
/// Sends all but the last piece of the blob in PATCH chunks; returns where to
/// send the closing PUT and how many bytes went. The last piece goes with the
/// PUT, so no PATCH is ever smaller than the chunk size the registry asked for.
fn send_chunks(
    client: &Client,
    scope: &str,
    blob: &Blob,
    mut location: String,
    chunk: u64,
    what: &str,
) -> Result<(String, u64)> {
    let mut offset = 0;
    while blob.size - offset > chunk {
        let (path, start) = (blob.path.clone(), offset);
        let body = move || read_range(&path, start, chunk);
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        headers.insert(CONTENT_LENGTH, HeaderValue::from(chunk));
        let range = format!("{offset}-{}", offset + chunk - 1);
        headers.insert(
            CONTENT_RANGE,
            HeaderValue::from_str(&range).expect("a valid header"),
        );
        let response =
            client.send_with_body(Method::PATCH, &location, scope, headers, Some(&body))?;
        if response.status().as_u16() != 202 {
            return Err(refused(what, "PATCH", response));
        }
        location = self::location(&response, client.base_url(), what)?;
        offset += chunk;
    }
    Ok((location, offset))
}
// ANCHOR_END: send_chunks

/// `len` bytes of a file from `offset`, streamed from disk as a request body.
fn read_range(path: &Path, offset: u64, len: u64) -> std::io::Result<Body> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    Ok(Body::sized(file.take(len), len))
}

/// The closing PUT, with the digest and the last `len` bytes.
fn finish(
    client: &Client,
    scope: &str,
    blob: &Blob,
    location: &str,
    len: u64,
    body: &step_01_registry::client::BodyFn,
    what: &str,
) -> Result<()> {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    let url = with_digest(location, &blob.digest);
    let response = client.send_with_body(Method::PUT, &url, scope, headers, Some(body))?;
    if response.status().as_u16() == 201 {
        Ok(())
    } else {
        Err(refused(what, "PUT", response))
    }
}

pub fn refused(what: &str, method: &str, response: Response) -> Error {
    let request = format!("{method} {}", response.url());
    let status = response.status().as_u16();
    let (code, message) = error_body(response);
    Error::Upload {
        what: what.to_string(),
        request,
        status,
        detail: step_01_registry::error::detail(&code, &message),
    }
}
