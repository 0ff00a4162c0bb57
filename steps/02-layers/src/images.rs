//! `dockerless images`: what the store holds.

use crate::error::{Error, Result};
use crate::store::{LockMode, Store, lock_directory};
use std::path::Path;
use std::time::SystemTime;
use step_01_registry::inspect::human_size;
use step_01_registry::manifest::{Digest, ImageManifest, sha256_digest};

/// One stored image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredImage {
    /// `library/hello:latest`, `localhost:5000/me/app:v1`
    pub name: String,
    pub digest: Digest,
    /// Compressed size of its layers.
    pub size: u64,
    pub pulled: SystemTime,
}

/// What the store holds.
#[derive(Debug, Default)]
pub struct Listing {
    /// Every readable image, by name.
    pub images: Vec<StoredImage>,
    /// Images whose manifest could not be read: one bad file does not hide
    /// the others, and each is named so it can be removed or pulled again.
    pub unreadable: Vec<Error>,
}

/// Every image in the store, by name.
pub fn list(store: &Store) -> Result<Listing> {
    let mut listing = Listing::default();
    walk(store.home(), store.home(), &mut listing)?;
    listing.images.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listing)
}

/// Finds `<tag>.manifest.json` files; the store's own dot-directories are skipped.
///
/// Each directory is read under its shared lock (the one an install takes
/// exclusively, see [`Store::lock_image`](crate::store::Store::lock_image)),
/// so an image being installed is seen before or after, never halfway: a new
/// tree without its manifest beside it yet would look like a directory to
/// descend into.
fn walk(home: &Path, dir: &Path, listing: &mut Listing) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut below = Vec::new();
    {
        let _lock = lock_directory(dir, LockMode::Shared)?;
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with('.') {
                continue;
            }
            if let Some(tag) = name.strip_suffix(".manifest.json") {
                match read(home, &path, tag) {
                    Ok(image) => listing.images.push(image),
                    Err(error) => listing.unreadable.push(error),
                }
            } else if entry.file_type().map_err(io)?.is_dir() && !is_rootfs(&path) {
                below.push(path);
            }
        }
    }
    // One lock at a time: the walk never waits while holding one.
    for path in below {
        walk(home, &path, listing)?;
    }
    Ok(())
}

/// A root filesystem sits beside its manifest; never descend into one.
fn is_rootfs(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{name}.manifest.json"))
        .exists()
}

fn read(home: &Path, manifest_path: &Path, tag: &str) -> Result<StoredImage> {
    let io = |source| Error::Io {
        path: manifest_path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(manifest_path).map_err(io)?;
    let manifest: ImageManifest = serde_json::from_slice(&bytes).map_err(|e| Error::Io {
        path: manifest_path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    let repository = manifest_path
        .parent()
        .and_then(|p| p.strip_prefix(home).ok())
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let separator = if tag.starts_with("sha256:") { '@' } else { ':' };
    Ok(StoredImage {
        name: format!("{repository}{separator}{tag}"),
        digest: sha256_digest(&bytes),
        size: manifest.layers.iter().map(|l| l.size).sum(),
        pulled: std::fs::metadata(manifest_path)
            .and_then(|m| m.modified())
            .map_err(io)?,
    })
}

/// The table `dockerless images` prints.
pub fn table(images: &[StoredImage]) -> String {
    let width = images
        .iter()
        .map(|i| i.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "{:<width$}  {:<19}  {:>9}  PULLED\n",
        "IMAGE", "DIGEST", "SIZE"
    );
    for image in images {
        let age = image.pulled.elapsed().map_or(0, |d| d.as_secs());
        out.push_str(&format!(
            "{:<width$}  {:<19}  {:>9}  {}\n",
            image.name,
            &image.digest.as_str()[..19],
            human_size(image.size),
            ago(age)
        ));
    }
    out
}

fn ago(seconds: u64) -> String {
    match seconds {
        0..60 => "just now".into(),
        60..3600 => format!("{} minutes ago", seconds / 60),
        3600..86400 => format!("{} hours ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86400),
    }
}
