//! `/v2/<name>/blobs/<digest>`: blobs streamed from the store, with `Range`,
//! and the blob faults (cut body, wrong bytes, ignored range, redirect).

use super::manifests::storage_error;
use super::{Call, Reply};
use crate::api_error::{ApiError, Code};
use crate::digest::Digest;
use crate::faults::{Fault, Target};
use crate::store::BlobBody;
use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

pub async fn handle(call: &Call<'_>, name: &str, digest: &str) -> Reply {
    let digest: Digest = digest.parse().map_err(|e: crate::digest::DigestError| {
        ApiError::new(Code::DigestInvalid, e.to_string())
    })?;
    if !matches!(call.method, Method::GET | Method::HEAD) {
        return Err(super::method_not_allowed(&call.method));
    }
    let size = call.app.store.blob_size(name, &digest).ok_or_else(|| {
        ApiError::new(
            Code::BlobUnknown,
            format!("blob {digest} is not in repository {name:?}"),
        )
        .detail(json_digest(&digest))
    })?;
    if call.method == Method::HEAD {
        return Ok(blob_response(
            StatusCode::OK,
            Body::empty(),
            &digest,
            size,
            None,
        ));
    }
    let fault = call.app.faults.take(Target::Blobs, &call.path, |f| {
        matches!(
            f,
            Fault::CutBody { .. }
                | Fault::WrongBytes
                | Fault::ExtraBytes { .. }
                | Fault::IgnoreRange
                | Fault::RedirectBlobs
        )
    });
    if fault == Some(Fault::RedirectBlobs)
        && let Some(cdn) = call.app.cdn.get()
    {
        let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
        let location = format!("{cdn}/cdn/{digest}?expires=never");
        if let Ok(value) = HeaderValue::try_from(location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        return Ok(response);
    }
    let range = match fault {
        Some(Fault::IgnoreRange) => None,
        _ => call.header(header::RANGE),
    };
    send(call.app, &digest, size, range, fault).await
}

/// `GET /cdn/<digest>` on the second origin: no auth (the redirect is the
/// permission), and the request log shows whether a client leaked its token here.
pub async fn cdn(app: &super::App, parts: &Parts, digest: &str) -> Reply {
    let digest: Digest = digest.parse().map_err(|e: crate::digest::DigestError| {
        ApiError::new(Code::DigestInvalid, e.to_string())
    })?;
    let size = app
        .store
        .blob_size_anywhere(&digest)
        .ok_or_else(|| ApiError::new(Code::BlobUnknown, format!("blob {digest} is unknown")))?;
    let range = parts
        .headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    send(app, &digest, size, range, None).await
}

async fn send(
    app: &super::App,
    digest: &Digest,
    size: u64,
    range: Option<&str>,
    fault: Option<Fault>,
) -> Reply {
    let (status, offset, len) = match range {
        None => (StatusCode::OK, 0, size),
        Some(range) => {
            let (start, end) = parse_range(range, size).ok_or_else(|| {
                ApiError::new(
                    Code::RangeInvalid,
                    format!("range {range:?} cannot be satisfied for a blob of {size} bytes"),
                )
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
            })?;
            (StatusCode::PARTIAL_CONTENT, start, end + 1 - start)
        }
    };
    let content = app
        .store
        .read_blob(digest, offset, len)
        .await
        .map_err(storage_error)?;
    let body = match fault {
        Some(Fault::CutBody { after }) => cut(content, after.min(len)),
        Some(Fault::WrongBytes) => {
            let mut bytes = read_all(content).await.map_err(storage_error)?.to_vec();
            if let Some(last) = bytes.last_mut() {
                *last ^= 0xff;
            }
            Body::from(bytes)
        }
        Some(Fault::ExtraBytes { count }) => {
            let mut bytes = read_all(content).await.map_err(storage_error)?.to_vec();
            bytes.resize(bytes.len() + count as usize, b'x');
            let len = bytes.len() as u64;
            return Ok(blob_response(status, Body::from(bytes), digest, len, None));
        }
        _ => body_of(content),
    };
    let content_range = (status == StatusCode::PARTIAL_CONTENT)
        .then(|| format!("bytes {offset}-{}/{size}", offset + len - 1));
    Ok(blob_response(status, body, digest, len, content_range))
}

fn blob_response(
    status: StatusCode,
    body: Body,
    digest: &Digest,
    len: u64,
    content_range: Option<String>,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, len.into());
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(value) = HeaderValue::try_from(digest.as_str()) {
        headers.insert("Docker-Content-Digest", value);
    }
    if let Some(range) = content_range.and_then(|r| HeaderValue::try_from(r).ok()) {
        headers.insert(header::CONTENT_RANGE, range);
    }
    response
}

/// `bytes=START-` or `bytes=START-END` (inclusive), within the blob.
fn parse_range(range: &str, size: u64) -> Option<(u64, u64)> {
    let (start, end) = range.strip_prefix("bytes=")?.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = match end.trim() {
        "" => size.checked_sub(1)?,
        end => end.parse::<u64>().ok()?.min(size.checked_sub(1)?),
    };
    (start <= end && start < size).then_some((start, end))
}

fn body_of(content: BlobBody) -> Body {
    match content {
        BlobBody::Bytes(bytes) => Body::from(bytes),
        BlobBody::File(file) => Body::from_stream(ReaderStream::new(file)),
    }
}

async fn read_all(content: BlobBody) -> std::io::Result<Bytes> {
    match content {
        BlobBody::Bytes(bytes) => Ok(bytes),
        BlobBody::File(mut file) => {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).await?;
            Ok(Bytes::from(bytes))
        }
    }
}

/// A body that sends `after` bytes and then fails, which cuts the connection
/// while the `Content-Length` still promises the whole blob.
fn cut(content: BlobBody, after: u64) -> Body {
    let head = async move {
        let bytes = read_all(content).await?;
        Ok::<Bytes, std::io::Error>(bytes.slice(..after as usize))
    };
    let failure = stream::once(async {
        // One pending poll lets the server flush what was sent, so the client
        // really receives the first bytes before the connection drops.
        tokio::task::yield_now().await;
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected fault: body cut short",
        ))
    });
    Body::from_stream(stream::once(head).chain(failure))
}

fn json_digest(digest: &Digest) -> serde_json::Value {
    serde_json::json!({ "digest": digest.as_str() })
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_are_inclusive_and_clamped() {
        assert_eq!(parse_range("bytes=0-", 10), Some((0, 9)));
        assert_eq!(parse_range("bytes=4-6", 10), Some((4, 6)));
        assert_eq!(parse_range("bytes=4-100", 10), Some((4, 9)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(parse_range("bytes=6-4", 10), None);
        assert_eq!(parse_range("items=0-1", 10), None);
        assert_eq!(parse_range("bytes=0-", 0), None);
    }
}
