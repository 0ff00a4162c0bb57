//! The image as other tools exchange it: an OCI image layout (a directory
//! or a tar of one), and the `docker save` archive that `docker load` and
//! `podman load` read.
//!
//! ```text
//! oci-layout               {"imageLayoutVersion":"1.0.0"}
//! index.json               the manifest's descriptor, named by its tag
//! blobs/sha256/<hex>       the manifest, the config and the layers
//! manifest.json            docker-archive only: config and layers by file name
//! repositories             docker-archive only: the tag and its top layer
//! ```
//!
//! Nothing is rebuilt: the blobs are the bytes the registry served, so the
//! manifest digest in the layout is the image's digest. Only a Docker
//! manifest is rewritten, with OCI media types (skopeo and umoci read
//! nothing else from a layout), and gets a digest of its own. A docker-archive is
//! written as Docker 25 and later write one, an OCI layout with
//! `manifest.json` beside it, which every version of `docker load` reads.

use crate::error::{Result, io_error};
use crate::image::{Blob, Content, StoredImage, blob_name};
use serde_json::json;
use std::io::{self, Write};
use std::path::Path;
use step_01_registry::Reference;
use step_01_registry::manifest::Descriptor;

/// The annotation an OCI layout names a manifest with (`oci:DIR:TAG`).
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The annotation containerd (`ctr import`, nerdctl) reads the full name from.
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// The `oci-layout` file: which version of the layout this is.
pub const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

// ANCHOR: index_json
/// `index.json`: one entry, the image's manifest, named by its tag.
pub fn index_json(manifest: &Descriptor, reference: &Reference) -> Vec<u8> {
    // EXERCISE(oci-index): Write the OCI layout's index.json.
    // An image index (`schemaVersion` 2, `mediaType` OCI_INDEX) whose
    // `manifests` holds one descriptor: the manifest's `mediaType`,
    // `digest` and `size`, with `annotations` naming it, in this order:
    // CONTAINERD_NAME, the full reference, then REF_NAME, the tag alone
    // (`latest`: what `oci:DIR:latest` and `umoci --image DIR:latest`
    // look for). An image stored by digest has no tag: leave the
    // annotations out.
    // ANCHOR_END: index_json
    // HINT: Build the JSON with `serde_json::json!`, with the three fields of
    // `manifest` and the names from `reference`, then `serde_json::to_vec`.
    // HINT+: Not `manifest` serialised as it is: a `Descriptor` may carry a platform
    // or annotations. This workspace's serde_json keeps keys in insertion order, and
    // the snapshot in `tests/snapshots` checks it. CONTAINERD_NAME is
    // `reference.to_string()`. Without `reference.tag`, no `annotations` key at all.
    use step_01_registry::manifest::OCI_INDEX;
    let mut entry = json!({
        "mediaType": manifest.media_type,
        "digest": manifest.digest,
        "size": manifest.size,
    });
    if let Some(tag) = &reference.tag {
        entry["annotations"] = json!({
            CONTAINERD_NAME: reference.to_string(),
            REF_NAME: tag,
        });
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [entry],
    });
    serde_json::to_vec(&index).expect("JSON values serialise")
    // END EXERCISE
}

// ANCHOR: manifest_json
/// `manifest.json` of a docker-archive: for each image, the file of its
/// config, its names, and the files of its layers, bottom first.
pub fn manifest_json(config: &str, repo_tags: &[String], layers: &[String]) -> Vec<u8> {
    // EXERCISE(docker-manifest): Write the docker-archive's manifest.json.
    // A JSON array with one object per image (here, one) with three keys,
    // capitalised as Docker writes them: `Config` (the config's file name
    // in the archive), `RepoTags` (the names `docker load` gives the image)
    // and `Layers` (the layers' file names, in the manifest's order).
    // ANCHOR_END: manifest_json
    // HINT: An array with one object in it: `serde_json::json!` builds it from the
    // three arguments as they are, and `serde_json::to_vec` gives the bytes.
    // HINT+: The keys are capitalised (`Config`, `RepoTags`, `Layers`) and the
    // snapshot checks their order too, which `json!` keeps. The arguments are already
    // names in the archive: don't add a directory or reorder the layers.
    // `docker load` wants the array even for one image.
    let manifest = json!([{
        "Config": config,
        "RepoTags": repo_tags,
        "Layers": layers,
    }]);
    serde_json::to_vec(&manifest).expect("JSON values serialise")
    // END EXERCISE
}

/// The name `docker images` shows for the image: Docker Hub's registry and
/// `library/` left out, as `docker save` writes it. An image stored by
/// digest alone has none.
pub fn repo_tag(reference: &Reference) -> Option<String> {
    let tag = reference.tag.as_deref()?;
    let repository = if reference.is_docker_hub() {
        reference
            .repository
            .strip_prefix("library/")
            .unwrap_or(&reference.repository)
            .to_string()
    } else {
        format!("{}/{}", reference.registry, reference.repository)
    };
    Some(format!("{repository}:{tag}"))
}

/// One file of a layout, by its name in it.
pub struct LayoutFile {
    pub name: String,
    pub content: Content,
}

/// The files of the image's OCI layout, and for a docker-archive the two
/// files `docker load` reads; blobs after the small files.
pub fn layout_files(image: &StoredImage, blobs: Vec<Blob>, docker: bool) -> Vec<LayoutFile> {
    let (_, manifest) = image.oci_manifest();
    let mut files = vec![
        LayoutFile {
            name: "oci-layout".into(),
            content: Content::Bytes(OCI_LAYOUT.to_vec()),
        },
        LayoutFile {
            name: "index.json".into(),
            content: Content::Bytes(index_json(&manifest, &image.reference)),
        },
    ];
    if docker {
        let layers: Vec<String> = image
            .manifest
            .layers
            .iter()
            .map(|l| blob_name(&l.digest))
            .collect();
        let tags: Vec<String> = repo_tag(&image.reference).into_iter().collect();
        files.push(LayoutFile {
            name: "manifest.json".into(),
            content: Content::Bytes(manifest_json(
                &blob_name(&image.manifest.config.digest),
                &tags,
                &layers,
            )),
        });
        files.push(LayoutFile {
            name: "repositories".into(),
            content: Content::Bytes(repositories(image)),
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    for blob in blobs {
        // An image can list the same layer twice; a layout holds it once.
        if seen.insert(blob.descriptor.digest.clone()) {
            files.push(LayoutFile {
                name: blob_name(&blob.descriptor.digest),
                content: blob.content,
            });
        }
    }
    files
}

/// `repositories`: the legacy form of the name, `{"repo":{"tag":"<top layer>"}}`,
/// which old `docker load` versions read; `{}` for an image without a tag.
fn repositories(image: &StoredImage) -> Vec<u8> {
    let top = image
        .manifest
        .layers
        .last()
        .map(|l| l.digest.hex().to_string());
    let value = match (repo_tag(&image.reference), top) {
        (Some(name), Some(top)) => {
            let (repository, tag) = name.rsplit_once(':').unwrap_or((&name, "latest"));
            json!({ repository: { tag: top } })
        }
        _ => json!({}),
    };
    serde_json::to_vec(&value).expect("JSON values serialise")
}

/// Writes the files into the directory `dir` (which exists and is empty).
pub fn write_directory(files: &[LayoutFile], dir: &Path) -> Result<()> {
    for file in files {
        let path = dir.join(&file.name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        match &file.content {
            Content::Bytes(bytes) => std::fs::write(&path, bytes).map_err(io_error(&path))?,
            Content::File(source) => {
                std::fs::copy(source, &path).map_err(io_error(source))?;
            }
        }
    }
    Ok(())
}

/// Writes the files as a tar to `out`, each blob streamed from the cache:
/// directories before their files, root-owned, every entry dated `mtime`.
pub fn write_tar<W: Write>(files: &[LayoutFile], mtime: u64, out: W) -> Result<W> {
    let mut builder = tar::Builder::new(out);
    let mut directories = std::collections::BTreeSet::new();
    for file in files {
        let name = Path::new(&file.name);
        for parent in name
            .ancestors()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            if parent.as_os_str().is_empty() || !directories.insert(parent.to_path_buf()) {
                continue;
            }
            let mut header = header(tar::EntryType::Directory, 0o755, 0, mtime);
            builder
                .append_data(&mut header, parent.join(""), io::empty())
                .map_err(io_error(parent))?;
        }
        match &file.content {
            Content::Bytes(bytes) => {
                let mut header = header(tar::EntryType::Regular, 0o644, bytes.len() as u64, mtime);
                builder
                    .append_data(&mut header, name, &bytes[..])
                    .map_err(io_error(name))?;
            }
            Content::File(source) => {
                let blob = std::fs::File::open(source).map_err(io_error(source))?;
                let size = blob.metadata().map_err(io_error(source))?.len();
                let mut header = header(tar::EntryType::Regular, 0o644, size, mtime);
                builder
                    .append_data(&mut header, name, blob)
                    .map_err(io_error(source))?;
            }
        }
    }
    builder.into_inner().map_err(io_error("the archive"))
}

fn header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(size);
    header.set_mtime(mtime);
    header
}
