//! Downloading blobs: streamed from the network through a hash into the blob
//! cache, resumed with `Range` after a cut, and kept only when the digest matches.

use crate::error::{Error, Result};
use crate::store::{LockMode, Store, lock_file};
use nix::fcntl::Flock;
use reqwest::Method;
use reqwest::header::{CONTENT_RANGE, HeaderMap, HeaderValue, RANGE};
use sha2::{Digest as _, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use step_01_registry::Client;
use step_01_registry::client::check_status;
use step_01_registry::manifest::Descriptor;

/// How many times a blob download is started or resumed before giving up.
pub const ATTEMPTS: u32 = 3;

/// Where a layer of a pull came from: what the pull's summary reports, so
/// that it says what happened rather than what might have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Downloaded by this pull.
    Network,
    /// Found in the blob cache: pulled, pushed or created before, or
    /// downloaded meanwhile by another process using the same store.
    Cache,
    /// Listed earlier in the same image (old images repeat the empty
    /// layer): the blob was already in hand, and is applied again.
    Repeated,
    /// Already in the store as part of this very image, unchanged: the pull
    /// had nothing to do.
    Present,
}

/// Makes sure the blob `descriptor` names is in the cache, verified, and
/// returns its path. `progress` hears how many bytes have arrived so far.
///
/// Other processes may want the same blob at the same time: whoever locks
/// its partial file first downloads it, the others wait on the lock and then
/// find it in the cache. Only the lock holder writes to the partial file or
/// renames it, so a finished blob is never overwritten or lost.
// ANCHOR: fetch_blob
pub fn fetch_blob(
    client: &Client,
    store: &Store,
    repository: &str,
    descriptor: &Descriptor,
    progress: &dyn Fn(u64),
) -> Result<(PathBuf, Source)> {
    let path = store.blob_path(&descriptor.digest);
    let partial_path = store.partial_path(&descriptor.digest);
    let Some(partial) = lock_partial(&path, &partial_path)? else {
        progress(descriptor.size);
        return Ok((path, Source::Cache));
    };
    let mut last_error = String::new();
    for _ in 0..ATTEMPTS {
        match download(
            client,
            repository,
            descriptor,
            &partial,
            &partial_path,
            progress,
        ) {
            Ok(()) => {
                // Still under the lock: nobody else writes this file, and
                // the blob appears under its digest whole.
                std::fs::rename(&partial_path, &path).map_err(|source| Error::Io {
                    path: partial_path.clone(),
                    source,
                })?;
                return Ok((path, Source::Network));
            }
            // A cut connection: resume from what arrived.
            Err(CopyError::Cut(reason)) => last_error = reason,
            Err(CopyError::Fatal(error)) => {
                // Wrong bytes are not worth resuming from. The name still
                // leads to the file this process holds locked: a process
                // waiting for it finds the name gone and starts afresh.
                let _ = std::fs::remove_file(&partial_path);
                return Err(error);
            }
        }
    }
    Err(Error::Download {
        what: format!("blob {}", descriptor.digest),
        attempts: ATTEMPTS,
        reason: last_error,
    })
}
// ANCHOR_END: fetch_blob

/// The partial file of a blob, locked by this process, or `None` when the
/// blob is (by now) in the cache.
///
/// The lock is taken on the file itself, so it can be waited for: opening
/// the name, locking what was opened, and checking that the name still
/// leads there (the previous holder may have renamed it into the cache
/// meanwhile, and a third process created a new one); if not, start again.
// ANCHOR: lock_partial
fn lock_partial(blob: &Path, partial: &Path) -> Result<Option<Flock<File>>> {
    use std::os::unix::fs::MetadataExt;
    let io = |source| Error::Io {
        path: partial.to_path_buf(),
        source,
    };
    loop {
        if blob.exists() {
            return Ok(None);
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(partial)
            .map_err(io)?;
        let locked = lock_file(file, LockMode::Exclusive, partial)?;
        let held = locked.metadata().map_err(io)?;
        let named = match std::fs::metadata(partial) {
            Ok(named) => named,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(e)),
        };
        if (held.dev(), held.ino()) != (named.dev(), named.ino()) {
            continue;
        }
        if blob.exists() {
            // Finished by another process while this one opened the name:
            // the file just created here is not needed.
            std::fs::remove_file(partial).map_err(io)?;
            return Ok(None);
        }
        return Ok(Some(locked));
    }
}
// ANCHOR_END: lock_partial

/// One attempt: ask for what is missing, append it, and check the whole.
/// `partial` is the locked partial file, `partial_path` its name.
// ANCHOR: download
fn download(
    client: &Client,
    repository: &str,
    descriptor: &Descriptor,
    partial: &File,
    partial_path: &Path,
    progress: &dyn Fn(u64),
) -> std::result::Result<(), CopyError> {
    let fatal = CopyError::Fatal;
    let io = |source| {
        fatal(Error::Io {
            path: partial_path.to_path_buf(),
            source,
        })
    };
    let have = partial.metadata().map_err(io)?.len();
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
        partial.set_len(0).map_err(io)?;
        return Err(CopyError::Cut(format!(
            "the registry answered a request for the bytes from {have} with another part ({:?})",
            response.headers().get(CONTENT_RANGE)
        )));
    }
    let (file, hasher, offset) = open_partial(partial, partial_path, resumed).map_err(fatal)?;
    progress(offset);
    copy_verified(
        response,
        file,
        hasher,
        offset,
        descriptor,
        partial_path,
        progress,
    )
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

/// Prepares the locked partial file for writing: to append after its bytes
/// (hashed again, since a hash cannot be saved), or emptied when the server
/// starts from byte zero. The file is emptied rather than removed, so that
/// the name keeps leading to the file this process holds the lock on.
// ANCHOR: open_partial
fn open_partial(partial: &File, path: &Path, resume: bool) -> Result<(File, Sha256, u64)> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut hasher = Sha256::new();
    // A second descriptor for the same open file: it shares the offset.
    let mut file = partial.try_clone().map_err(io)?;
    if resume {
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let offset = std::io::copy(&mut file, &mut hasher).map_err(io)?;
        return Ok((file, hasher, offset));
    }
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok((file, hasher, 0))
}
// ANCHOR_END: open_partial

enum CopyError {
    /// The connection broke: resume.
    Cut(String),
    /// The bytes are wrong or the disk failed: start over or stop.
    Fatal(Error),
}

// ANCHOR: verify_blob
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
    // `descriptor.digest` (compare with its text, `as_str()`):
    // `CopyError::Fatal(Error::DigestMismatch { .. })`.
    // Never hold the blob in memory whole: layers can be gigabytes.
    // HINT: Cap the body with `Read::take` at one byte more than is still missing: reading exactly
    // the missing bytes would never notice a server that sends too many.
    // HINT+: Loop on `Read::read` into the buffer: `Ok(0)` ends it, `ErrorKind::Interrupted` is
    // tried again, any other error is a `Cut` (`causes` gives its text). Hash and `write_all` only
    // the `n` bytes read, then count them and call `progress`. At the end, too short is a `Cut`;
    // too long, or a digest (`sha256:` and the `finalize()`d hash as lowercase hex, `{:x}`) that
    // differs from `descriptor.digest.as_str()`, is `Fatal(Error::DigestMismatch)`.
    use std::io::Write;
    use step_01_registry::client::causes;
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
    if actual != descriptor.digest.as_str() || written != descriptor.size {
        return Err(CopyError::Fatal(Error::DigestMismatch {
            what: format!(
                "blob {} ({written} bytes arrived, {} expected)",
                descriptor.digest, descriptor.size
            ),
            expected: descriptor.digest.to_string(),
            actual,
        }));
    }
    Ok(())
    // END EXERCISE
}
// ANCHOR_END: verify_blob

/// The verify-blob exercise on its own: bodies that are right, short, long,
/// wrong or broken, without a registry.
#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use workshop::check_eq;

    const READ: &str = "step-02-layers.md#downloading-blobs";

    fn descriptor(contents: &[u8]) -> Descriptor {
        Descriptor {
            media_type: String::new(),
            digest: step_01_registry::digest::sha256_digest(contents),
            size: contents.len() as u64,
            platform: None,
            annotations: None,
        }
    }

    /// What `copy_verified` made of `body` against `descriptor`, and the
    /// file it wrote.
    fn copy(body: impl Read, descriptor: &Descriptor) -> (&'static str, Vec<u8>) {
        let temp = tempfile::NamedTempFile::new().unwrap();
        let file = temp.reopen().unwrap();
        let outcome = match copy_verified(
            body,
            file,
            Sha256::new(),
            0,
            descriptor,
            temp.path(),
            &|_| {},
        ) {
            Ok(()) => "verified",
            Err(CopyError::Cut(_)) => "cut: resume",
            Err(CopyError::Fatal(Error::DigestMismatch { .. })) => "refused: digest mismatch",
            Err(CopyError::Fatal(_)) => "fatal, but not a digest mismatch",
        };
        (outcome, std::fs::read(temp.path()).unwrap())
    }

    /// A body that breaks after its first bytes, as a dropped connection.
    struct Broken(Option<Vec<u8>>);

    impl Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.take() {
                Some(bytes) => {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    Ok(bytes.len())
                }
                None => Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            }
        }
    }

    #[test]
    fn a_blob_is_written_whole_and_only_when_its_digest_matches() {
        let blob = b"a layer's bytes".repeat(10_000);
        let right = descriptor(&blob);
        check_eq!(
            copy(Cursor::new(&blob), &right),
            ("verified", blob.clone()),
            read = READ,
            "a body of the right bytes"
        );
        let mut wrong = blob.clone();
        wrong[7] ^= 1;
        check_eq!(
            copy(Cursor::new(&wrong), &right).0,
            "refused: digest mismatch",
            read = READ,
            "a body of the right size with one bit flipped"
        );
        check_eq!(
            copy(Cursor::new(&blob[..100]), &right).0,
            "cut: resume",
            read = READ,
            "a body that ends short"
        );
        check_eq!(
            copy(Broken(Some(blob[..10].to_vec())), &right).0,
            "cut: resume",
            read = READ,
            "a body whose connection breaks"
        );
    }

    #[test]
    fn a_body_longer_than_its_descriptor_is_refused_without_reading_it_all() {
        let right = descriptor(b"four");
        // An endless body: reading it all would never end.
        let (outcome, written) = copy(std::io::repeat(b'x'), &right);
        check_eq!(
            (outcome, written.len()),
            ("refused: digest mismatch", 5),
            read = READ,
            "an endless body for a 4-byte blob: the outcome and the bytes written"
        );
    }
}
