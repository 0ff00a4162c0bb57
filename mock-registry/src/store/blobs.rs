//! Where blob bytes live: in memory for tests, or in an OCI layout's
//! `blobs/sha256/` directory for `serve --dir`.

use crate::digest::Digest;
use bytes::Bytes;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// The bytes of a blob (or a slice of it) ready to send.
pub enum BlobBody {
    Bytes(Bytes),
    /// An open file positioned at the first byte to send, and how many bytes to send.
    File(tokio::io::Take<tokio::fs::File>),
}

pub enum BlobStorage {
    Memory(Mutex<HashMap<Digest, Bytes>>),
    Directory(PathBuf),
}

impl BlobStorage {
    pub fn memory() -> BlobStorage {
        BlobStorage::Memory(Mutex::default())
    }

    fn path(root: &Path, digest: &Digest) -> PathBuf {
        root.join("blobs/sha256").join(digest.hex())
    }

    pub fn size(&self, digest: &Digest) -> Option<u64> {
        match self {
            BlobStorage::Memory(map) => map.lock().unwrap().get(digest).map(|b| b.len() as u64),
            BlobStorage::Directory(root) => std::fs::metadata(Self::path(root, digest))
                .ok()
                .map(|m| m.len()),
        }
    }

    /// Reads `len` bytes from `offset`; the caller has checked the range against the size.
    pub async fn read(&self, digest: &Digest, offset: u64, len: u64) -> io::Result<BlobBody> {
        match self {
            BlobStorage::Memory(map) => {
                let bytes = map.lock().unwrap().get(digest).cloned();
                let bytes = bytes.ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
                Ok(BlobBody::Bytes(
                    bytes.slice(offset as usize..(offset + len) as usize),
                ))
            }
            BlobStorage::Directory(root) => {
                let mut file = tokio::fs::File::open(Self::path(root, digest)).await?;
                file.seek(io::SeekFrom::Start(offset)).await?;
                Ok(BlobBody::File(file.take(len)))
            }
        }
    }

    /// Reads a whole blob into memory; only for small blobs such as manifests.
    pub fn read_small(&self, digest: &Digest) -> io::Result<Bytes> {
        match self {
            BlobStorage::Memory(map) => map
                .lock()
                .unwrap()
                .get(digest)
                .cloned()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound)),
            BlobStorage::Directory(root) => {
                std::fs::read(Self::path(root, digest)).map(Bytes::from)
            }
        }
    }

    /// Stores bytes whose digest the caller has computed.
    pub fn put(&self, digest: &Digest, bytes: Bytes) -> io::Result<()> {
        match self {
            BlobStorage::Memory(map) => {
                map.lock().unwrap().insert(digest.clone(), bytes);
                Ok(())
            }
            BlobStorage::Directory(root) => {
                let target = Self::path(root, digest);
                if target.exists() {
                    return Ok(());
                }
                let dir = root.join("blobs/sha256");
                let mut staged = tempfile::NamedTempFile::new_in(&dir)?;
                io::Write::write_all(&mut staged, &bytes)?;
                staged.persist(target).map_err(|e| e.error)?;
                Ok(())
            }
        }
    }

    /// Starts staging an upload.
    pub async fn stage(&self) -> io::Result<Staging> {
        let sink = match self {
            BlobStorage::Memory(_) => Sink::Memory(Vec::new()),
            BlobStorage::Directory(root) => {
                let dir = root.join(".uploads");
                tokio::fs::create_dir_all(&dir).await?;
                // The temporary path removes itself if the upload is abandoned.
                let path = tempfile::Builder::new()
                    .prefix("upload-")
                    .tempfile_in(&dir)?
                    .into_temp_path();
                let file = tokio::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .await?;
                Sink::File { path, file }
            }
        };
        Ok(Staging {
            hasher: Sha256::new(),
            len: 0,
            sink,
        })
    }

    /// Moves a finished upload into place under `digest`, which the caller has verified.
    ///
    /// Two uploads of the same blob may finish at once: both write the same
    /// bytes, and a rename over an identical file is harmless.
    pub async fn commit(&self, staging: Staging, digest: &Digest) -> io::Result<()> {
        match (self, staging.sink) {
            (BlobStorage::Memory(map), Sink::Memory(bytes)) => {
                map.lock()
                    .unwrap()
                    .insert(digest.clone(), Bytes::from(bytes));
                Ok(())
            }
            (BlobStorage::Directory(root), Sink::File { path, mut file }) => {
                file.flush().await?;
                drop(file);
                path.persist(Self::path(root, digest)).map_err(|e| e.error)
            }
            _ => unreachable!("a staging area always matches its storage"),
        }
    }
}

/// An upload in progress: bytes so far, and their running hash.
pub struct Staging {
    hasher: Sha256,
    len: u64,
    sink: Sink,
}

enum Sink {
    Memory(Vec<u8>),
    File {
        path: tempfile::TempPath,
        file: tokio::fs::File,
    },
}

impl Staging {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub async fn append(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
        match &mut self.sink {
            Sink::Memory(bytes) => bytes.extend_from_slice(chunk),
            Sink::File { file, .. } => file.write_all(chunk).await?,
        }
        Ok(())
    }

    /// The digest of everything appended so far.
    pub fn digest(&self) -> Digest {
        Digest::from_hasher(self.hasher.clone())
    }
}
