//! What the registry holds: repositories with their tags, manifests and blobs.
//!
//! Blobs are stored once, by digest, but each repository only sees the blobs
//! linked to it (pushed there, mounted there, or referred to by one of its
//! manifests), as in a real registry: that is what makes cross-repository
//! mounting meaningful.

mod blobs;
mod layout;

pub use blobs::{BlobBody, Staging};

use crate::digest::Digest;
use crate::image::{Image, Manifest};
use crate::media_types;
use blobs::BlobStorage;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Default)]
struct Repository {
    tags: BTreeMap<String, Digest>,
    /// Manifests of this repository, with their media types.
    manifests: BTreeMap<Digest, String>,
    blobs: BTreeSet<Digest>,
}

pub struct Store {
    blobs: BlobStorage,
    repositories: Mutex<BTreeMap<String, Repository>>,
    /// The OCI layout directory that index.json is written to, for a directory store.
    layout: Option<PathBuf>,
}

impl Store {
    /// A store that lives in memory and vanishes with the registry.
    pub fn memory() -> Store {
        Store {
            blobs: BlobStorage::memory(),
            repositories: Mutex::default(),
            layout: None,
        }
    }

    /// A store kept in `dir` as an OCI image layout, so it survives restarts.
    ///
    /// An existing layout (made by this registry, skopeo or umoci) is imported:
    /// entries whose `org.opencontainers.image.ref.name` is `repository:tag`
    /// keep their repository; a bare tag goes into `default_repository`.
    pub fn directory(dir: &Path, default_repository: &str) -> io::Result<Store> {
        let store = Store {
            blobs: BlobStorage::Directory(dir.to_path_buf()),
            repositories: Mutex::default(),
            layout: Some(dir.to_path_buf()),
        };
        for entry in layout::open(dir, default_repository)? {
            let bytes = store.blobs.read_small(&entry.digest).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "{}: manifest {} is listed in index.json but its blob is missing: {e}",
                        dir.display(),
                        entry.digest
                    ),
                )
            })?;
            store.link_manifest(&entry.repository, &entry.media_type, &entry.digest, &bytes)?;
            if let Some(tag) = entry.tag {
                store.with_repository(&entry.repository, |r| {
                    r.tags.insert(tag, entry.digest.clone());
                });
            }
        }
        Ok(store)
    }

    /// Records a stored manifest in a repository, and links the blobs (and, for an
    /// index, the child manifests) it refers to.
    fn link_manifest(
        &self,
        repository: &str,
        media_type: &str,
        digest: &Digest,
        bytes: &[u8],
    ) -> io::Result<()> {
        let references = References::of(bytes);
        for (child_type, child) in &references.manifests {
            if let Ok(child_bytes) = self.blobs.read_small(child) {
                self.link_manifest(repository, child_type, child, &child_bytes)?;
            }
        }
        self.with_repository(repository, |r| {
            r.manifests.insert(digest.clone(), media_type.to_string());
            r.blobs.extend(references.blobs.iter().cloned());
        });
        Ok(())
    }

    fn with_repository<T>(&self, name: &str, f: impl FnOnce(&mut Repository) -> T) -> T {
        let mut repositories = self.repositories.lock().unwrap();
        f(repositories.entry(name.to_string()).or_default())
    }

    fn read_repository<T>(&self, name: &str, f: impl FnOnce(&Repository) -> T) -> Option<T> {
        self.repositories.lock().unwrap().get(name).map(f)
    }

    /// Puts a whole image (blobs, child manifests, manifest, tag) into a repository.
    pub fn seed(&self, image: &Image) -> io::Result<()> {
        for blob in &image.blobs {
            self.blobs.put(&blob.digest, blob.data.clone())?;
            self.link_blob(&image.repository, &blob.digest);
        }
        for child in &image.children {
            self.put_manifest(&image.repository, None, child)?;
        }
        self.put_manifest(&image.repository, Some(&image.tag), &image.manifest)
    }

    /// Repository names in lexical order.
    pub fn catalog(&self) -> Vec<String> {
        self.repositories.lock().unwrap().keys().cloned().collect()
    }

    /// Tags of a repository in lexical order; `None` if it does not exist.
    pub fn tags(&self, repository: &str) -> Option<Vec<String>> {
        self.read_repository(repository, |r| r.tags.keys().cloned().collect())
    }

    /// The digest a tag or digest reference names in a repository, if present.
    pub fn resolve(&self, repository: &str, reference: &str) -> Option<Digest> {
        self.read_repository(repository, |r| match reference.parse::<Digest>() {
            Ok(digest) => r.manifests.contains_key(&digest).then_some(digest),
            Err(_) => r.tags.get(reference).cloned(),
        })
        .flatten()
    }

    /// A manifest of a repository, byte for byte as it was pushed.
    pub fn manifest(&self, repository: &str, reference: &str) -> Option<Manifest> {
        let digest = self.resolve(repository, reference)?;
        let media_type =
            self.read_repository(repository, |r| r.manifests.get(&digest).cloned())??;
        let bytes = self.blobs.read_small(&digest).ok()?;
        Some(Manifest {
            media_type,
            digest,
            bytes,
        })
    }

    /// Stores a manifest, tags it when `tag` is given and persists the index.
    /// The caller has checked that what it refers to is present.
    pub fn put_manifest(
        &self,
        repository: &str,
        tag: Option<&str>,
        manifest: &Manifest,
    ) -> io::Result<()> {
        self.blobs.put(&manifest.digest, manifest.bytes.clone())?;
        self.link_manifest(
            repository,
            &manifest.media_type,
            &manifest.digest,
            &manifest.bytes,
        )?;
        if let Some(tag) = tag {
            self.with_repository(repository, |r| {
                r.tags.insert(tag.to_string(), manifest.digest.clone());
            });
        }
        self.persist()
    }

    /// Removes a manifest and every tag pointing at it.
    pub fn delete_manifest(&self, repository: &str, digest: &Digest) -> io::Result<bool> {
        let removed = self.with_repository(repository, |r| {
            r.tags.retain(|_, d| d != digest);
            r.manifests.remove(digest).is_some()
        });
        self.persist()?;
        Ok(removed)
    }

    /// Whether a repository can see a blob.
    pub fn has_blob(&self, repository: &str, digest: &Digest) -> bool {
        self.read_repository(repository, |r| {
            r.blobs.contains(digest) || r.manifests.contains_key(digest)
        })
        .unwrap_or(false)
            && self.blobs.size(digest).is_some()
    }

    pub fn blob_size(&self, repository: &str, digest: &Digest) -> Option<u64> {
        if self.has_blob(repository, digest) {
            self.blobs.size(digest)
        } else {
            None
        }
    }

    /// The size of a blob in any repository (for the second origin, which has no repositories).
    pub fn blob_size_anywhere(&self, digest: &Digest) -> Option<u64> {
        self.blobs.size(digest)
    }

    pub fn link_blob(&self, repository: &str, digest: &Digest) {
        self.with_repository(repository, |r| {
            r.blobs.insert(digest.clone());
        });
    }

    pub async fn read_blob(&self, digest: &Digest, offset: u64, len: u64) -> io::Result<BlobBody> {
        self.blobs.read(digest, offset, len).await
    }

    pub async fn stage_upload(&self) -> io::Result<Staging> {
        self.blobs.stage().await
    }

    /// Moves a verified upload into place and links it to the repository.
    pub async fn commit_upload(
        &self,
        repository: &str,
        staging: Staging,
        digest: &Digest,
    ) -> io::Result<()> {
        self.blobs.commit(staging, digest).await?;
        self.link_blob(repository, digest);
        Ok(())
    }

    fn persist(&self) -> io::Result<()> {
        let Some(dir) = &self.layout else {
            return Ok(());
        };
        // Held while the snapshot is taken and written: two changes at once
        // must not leave the older snapshot on disk.
        let repositories = self.repositories.lock().unwrap();
        let entries: Vec<layout::Entry> = {
            let mut entries = Vec::new();
            for (name, repository) in repositories.iter() {
                let tagged: BTreeSet<&Digest> = repository.tags.values().collect();
                for (tag, digest) in &repository.tags {
                    // A tag whose manifest was deleted meanwhile is not written.
                    let Some(media_type) = repository.manifests.get(digest) else {
                        continue;
                    };
                    entries.push(layout::Entry {
                        repository: name.clone(),
                        tag: Some(tag.clone()),
                        media_type: media_type.clone(),
                        digest: digest.clone(),
                        size: self.blobs.size(digest).unwrap_or(0),
                    });
                }
                for (digest, media_type) in &repository.manifests {
                    if !tagged.contains(digest) {
                        entries.push(layout::Entry {
                            repository: name.clone(),
                            tag: None,
                            media_type: media_type.clone(),
                            digest: digest.clone(),
                            size: self.blobs.size(digest).unwrap_or(0),
                        });
                    }
                }
            }
            entries
        };
        layout::write_index(dir, &entries)
    }
}

/// What a manifest refers to: blobs (config, layers) and, for an index, child manifests.
#[derive(Default)]
pub struct References {
    pub blobs: Vec<Digest>,
    /// Child manifests with the media type the index gives them.
    pub manifests: Vec<(String, Digest)>,
}

impl References {
    /// Reads the descriptors out of a manifest or index. Anything that is not a
    /// well-formed descriptor is left out: validation is the server's job.
    pub fn of(bytes: &[u8]) -> References {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            return References::default();
        };
        let digest_of = |d: &serde_json::Value| d.get("digest")?.as_str()?.parse::<Digest>().ok();
        let mut references = References::default();
        if let Some(config) = value.get("config").and_then(digest_of) {
            references.blobs.push(config);
        }
        for layer in value
            .get("layers")
            .and_then(|l| l.as_array())
            .into_iter()
            .flatten()
        {
            references.blobs.extend(digest_of(layer));
        }
        for child in value
            .get("manifests")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
        {
            let media_type = child
                .get("mediaType")
                .and_then(|m| m.as_str())
                .unwrap_or(media_types::OCI_MANIFEST);
            if let Some(digest) = digest_of(child) {
                references.manifests.push((media_type.to_string(), digest));
            }
        }
        references
    }
}
