//! Downloading blobs: streamed from the network through a hash into the blob
//! cache, resumed with `Range` after a cut, and kept only when the digest matches.

use crate::error::{Error, Result};
use crate::store::Store;
use reqwest::Method;
use reqwest::header::{CONTENT_RANGE, HeaderMap, HeaderValue, RANGE};
use sha2::{Digest as _, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use step_01_registry::Client;
use step_01_registry::client::{causes, check_status};
use step_01_registry::manifest::Descriptor;

/// How many times a blob download is started or resumed before giving up.
pub const ATTEMPTS: u32 = 3;

/// Whether a blob came from the network or was already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Cache,
    Network,
}

/// Makes sure the blob `descriptor` names is in the cache, verified, and
/// returns its path. `progress` hears how many bytes have arrived so far.
// ANCHOR: fetch_blob
pub fn fetch_blob(
    client: &Client,
    store: &Store,
    repository: &str,
    descriptor: &Descriptor,
    progress: &dyn Fn(u64),
) -> Result<(PathBuf, Source)> {
    let path = store.blob_path(&descriptor.digest);
    if path.exists() {
        progress(descriptor.size);
        return Ok((path, Source::Cache));
    }
    let partial = store.partial_path(&descriptor.digest);
    let mut last_error = String::new();
    for _ in 0..ATTEMPTS {
        match download(client, repository, descriptor, &partial, progress) {
            Ok(()) => {
                std::fs::rename(&partial, &path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                return Ok((path, Source::Network));
            }
            // A cut connection: resume from what arrived.
            Err(CopyError::Cut(reason)) => last_error = reason,
            Err(CopyError::Fatal(error)) => return Err(error),
        }
    }
    Err(Error::Download {
        what: format!("blob {}", descriptor.digest),
        attempts: ATTEMPTS,
        reason: last_error,
    })
}
// ANCHOR_END: fetch_blob

/// One attempt: ask for what is missing, append it, and check the whole.
// ANCHOR: download
fn download(
    client: &Client,
    repository: &str,
    descriptor: &Descriptor,
    partial: &Path,
    progress: &dyn Fn(u64),
) -> std::result::Result<(), CopyError> {
    let fatal = CopyError::Fatal;
    let have = std::fs::metadata(partial).map_or(0, |m| m.len());
    let mut headers = HeaderMap::new();
    if have > 0 && have < descriptor.size {
        headers.insert(
            RANGE,
            HeaderValue::from_str(&format!("bytes={have}-")).expect("valid header"),
        );
    }
    let path = format!("/v2/{repository}/blobs/{}", descriptor.digest);
    let scope = format!("repository:{repository}:pull");
    let response = client
        .send(Method::GET, &path, &scope, headers.clone())
        .and_then(|r| check_status(&Method::GET, r))
        .map_err(|e| fatal(e.into()))?;
    let resumed = response.status() == reqwest::StatusCode::PARTIAL_CONTENT && !headers.is_empty();
    if resumed && range_start(&response) != Some(have) {
        // Not the part we asked for: start again from byte zero.
        let _ = std::fs::remove_file(partial);
        return Err(CopyError::Cut(format!(
            "the registry answered a request for the bytes from {have} with another part ({:?})",
            response.headers().get(CONTENT_RANGE)
        )));
    }
    let (file, hasher, offset) = open_partial(partial, resumed).map_err(fatal)?;
    progress(offset);
    copy_verified(
        response, file, hasher, offset, descriptor, partial, progress,
    )
    .inspect_err(|e| {
        if let CopyError::Fatal(_) = e {
            // Wrong bytes are not worth resuming from.
            let _ = std::fs::remove_file(partial);
        }
    })
}
// ANCHOR_END: download

/// Where a `206`'s `Content-Range: bytes START-END/TOTAL` starts.
fn range_start(response: &reqwest::blocking::Response) -> Option<u64> {
    let range = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    range
        .strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Opens the partial file: to append after its bytes (hashed again, since a
/// hash cannot be saved), or empty when the server starts from byte zero.
// ANCHOR: open_partial
fn open_partial(partial: &Path, resume: bool) -> Result<(File, Sha256, u64)> {
    let io = |source| Error::Io {
        path: partial.to_path_buf(),
        source,
    };
    let mut hasher = Sha256::new();
    if resume {
        let mut existing = File::open(partial).map_err(io)?;
        let offset = std::io::copy(&mut existing, &mut hasher).map_err(io)?;
        let file = OpenOptions::new().append(true).open(partial).map_err(io)?;
        return Ok((file, hasher, offset));
    }
    let file = File::create(partial).map_err(io)?;
    Ok((file, hasher, 0))
}
// ANCHOR_END: open_partial

enum CopyError {
    /// The connection broke: resume.
    Cut(String),
    /// The bytes are wrong or the disk failed: start over or stop.
    Fatal(Error),
}

/// Streams the body to the file through the hash, then checks size and digest.
fn copy_verified(
    body: impl Read,
    mut file: File,
    mut hasher: Sha256,
    mut written: u64,
    descriptor: &Descriptor,
    partial: &Path,
    progress: &dyn Fn(u64),
) -> std::result::Result<(), CopyError> {
    // EXERCISE(verify-blob): Stream a blob to disk through its hash, and check the digest.
    // Read the body in chunks (a 64 KiB buffer); feed each chunk to `hasher`
    // and write it to `file` (`partial` is its path, for error messages);
    // call `progress` with the bytes written so far. Never read more than one
    // byte past `descriptor.size` (`Read::take`): a server that sends more is
    // wrong, and must not fill the disk. A read error, or a body that ends
    // short, means the connection broke: `CopyError::Cut` (the caller
    // resumes). Too many bytes, or a `sha256:<hex of hasher>` that is not
    // `descriptor.digest`: `CopyError::Fatal(Error::DigestMismatch { .. })`.
    // Never hold the blob in memory whole: layers can be gigabytes.
    let mut body = body.take((descriptor.size + 1).saturating_sub(written));
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Cut(causes(&e))),
        };
        hasher.update(&buffer[..n]);
        file.write_all(&buffer[..n]).map_err(|source| {
            CopyError::Fatal(Error::Io {
                path: partial.to_path_buf(),
                source,
            })
        })?;
        written += n as u64;
        progress(written);
    }
    if written < descriptor.size {
        return Err(CopyError::Cut(format!(
            "the body ended after {written} of {} bytes",
            descriptor.size
        )));
    }
    let actual = format!("sha256:{:x}", hasher.finalize());
    if actual != descriptor.digest || written != descriptor.size {
        return Err(CopyError::Fatal(Error::DigestMismatch {
            what: format!(
                "blob {} ({written} bytes arrived, {} expected)",
                descriptor.digest, descriptor.size
            ),
            expected: descriptor.digest.clone(),
            actual,
        }));
    }
    Ok(())
    // END EXERCISE
}
