//! Flattening: the fixture images applied layer by layer, and one check
//! per rule of applying a layer, each with the smallest layers that show it.
//! One module per section of the chapter; the helpers they share are here.

mod compression;
mod fixture_images;
mod links;
mod listing;
mod modes;
mod names;
mod read_only;
mod special_files;
mod unlink_then_create;
mod whiteouts;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use mock_registry::fixtures::{
    self, Compression, Entry, FIXTURE_MTIME, Format, HeaderStyle, Layer, LayerBuilder,
};
use mock_registry::{Image, Manifest};
use serde_json::Value;
use step_02_layers::decompress::{self, decompress};
use step_02_layers::error::Error;
use step_02_layers::flatten::{Applied, Options, apply_layer};
use step_02_layers::tree::{self, ListingOptions};
use tempfile::TempDir;
use workshop::{check, check_eq};

/// A fresh, empty root filesystem in a temporary directory.
fn fresh_root() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("root");
    fs::create_dir(&root).expect("creating the root");
    (dir, root)
}

/// Applies one layer blob (compressed or not) to `root`.
fn apply(root: &Path, blob: &[u8], options: Options) -> Result<Applied, Error> {
    let tar = decompress(blob).expect("reading from memory cannot fail");
    apply_layer(root, tar, &options)
}

/// Applies `layers` in order to a fresh root, as the user running the tests.
fn flatten(layers: &[Layer]) -> (TempDir, PathBuf) {
    let (dir, root) = fresh_root();
    for (n, layer) in layers.iter().enumerate() {
        if let Err(error) = apply(&root, &layer.data, Options::detect()) {
            panic!("applying layer {} failed: {error}", n + 1);
        }
    }
    (dir, root)
}

/// A layer of `entries`, gzip-compressed with GNU headers.
fn layer(entries: impl IntoIterator<Item = Entry>) -> Layer {
    LayerBuilder::new().entries(entries).build()
}

/// The layer blobs of an image manifest, in the manifest's order.
fn layer_blobs<'a>(image: &'a Image, manifest: &Manifest) -> Vec<&'a [u8]> {
    let parsed: Value = serde_json::from_slice(&manifest.bytes).expect("manifest JSON");
    parsed["layers"]
        .as_array()
        .expect("a layers array")
        .iter()
        .map(|descriptor| {
            let blob = image
                .blobs
                .iter()
                .find(|blob| blob.digest.as_str() == descriptor["digest"])
                .expect("every layer is among the image's blobs");
            &blob.data[..]
        })
        .collect()
}

/// The listing of `manifest`'s layers applied in order to a fresh root.
fn flattened_listing(image: &Image, manifest: &Manifest) -> String {
    let (_dir, root) = fresh_root();
    for blob in layer_blobs(image, manifest) {
        apply(&root, blob, Options::detect()).expect("a fixture layer applies");
    }
    tree::listing(&root).expect("listing the root")
}

/// The listing line of one path (`/etc/passwd`), without the path.
fn line_of(root: &Path, path: &str) -> Option<String> {
    let listing = tree::listing(root).expect("listing the root");
    let prefix = format!("{path} ");
    listing
        .lines()
        .find_map(|line| line.strip_prefix(&prefix).map(str::to_string))
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).expect("lstat").mode() & 0o7777
}

fn skip_unless_root() -> bool {
    if Options::detect().privileged {
        return false;
    }
    workshop::skip("needs root: owners and device nodes are only applied by root");
    true
}
