//! The OCI image layout on disk: `oci-layout`, `index.json` and `blobs/sha256/<hex>`.
//!
//! skopeo, umoci and podman read and write this layout, so a directory store
//! can be filled with `skopeo copy ... oci:DIR:TAG` and read back the same way.

use crate::digest::Digest;
use serde_json::{Value, json};
use std::io;
use std::path::Path;

/// The annotation the OCI layout uses to name an entry.
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Our annotation recording which repository an entry belongs to.
const REPOSITORY: &str = "io.docker-internals.repository";

/// One manifest listed in index.json.
pub struct Entry {
    pub repository: String,
    pub tag: Option<String>,
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

fn invalid(dir: &Path, message: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {message}", dir.display()),
    )
}

/// Opens (creating when missing) the layout in `dir` and lists its entries.
pub fn open(dir: &Path, default_repository: &str) -> io::Result<Vec<Entry>> {
    std::fs::create_dir_all(dir.join("blobs/sha256"))?;
    let marker = dir.join("oci-layout");
    if !marker.exists() {
        std::fs::write(&marker, r#"{"imageLayoutVersion":"1.0.0"}"#)?;
    }
    let index_path = dir.join("index.json");
    if !index_path.exists() {
        write_index(dir, &[])?;
        return Ok(Vec::new());
    }
    let index: Value = serde_json::from_slice(&std::fs::read(&index_path)?)
        .map_err(|e| invalid(dir, format!("index.json is not valid JSON: {e}")))?;
    let manifests = index
        .get("manifests")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid(dir, "index.json has no \"manifests\" array".into()))?;
    manifests
        .iter()
        .map(|descriptor| entry(dir, descriptor, default_repository))
        .collect()
}

fn entry(dir: &Path, descriptor: &Value, default_repository: &str) -> io::Result<Entry> {
    let text = |key: &str| descriptor.get(key).and_then(Value::as_str);
    let annotation = |key: &str| {
        descriptor
            .get("annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    };
    let digest: Digest = text("digest")
        .unwrap_or_default()
        .parse()
        .map_err(|e| invalid(dir, format!("index.json: {e}")))?;
    let media_type = text("mediaType")
        .ok_or_else(|| invalid(dir, format!("index.json: entry {digest} has no mediaType")))?
        .to_string();
    let repository = annotation(REPOSITORY).unwrap_or(default_repository);
    let (repository, tag) = match annotation(REF_NAME) {
        Some(name) => split_ref_name(name, repository),
        None => (repository.to_string(), None),
    };
    crate::names::check_repository(&repository)
        .map_err(|e| invalid(dir, format!("index.json: entry {digest}: {e}")))?;
    if let Some(tag) = &tag {
        crate::names::check_tag(tag)
            .map_err(|e| invalid(dir, format!("index.json: entry {digest}: {e}")))?;
    }
    Ok(Entry {
        repository,
        tag,
        media_type,
        size: descriptor.get("size").and_then(Value::as_u64).unwrap_or(0),
        digest,
    })
}

/// `library/hello:latest` names a repository and a tag; a bare `latest`
/// (as skopeo writes) is a tag of the default repository.
fn split_ref_name(name: &str, default_repository: &str) -> (String, Option<String>) {
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(colon) => {
            let colon = last_slash + colon;
            (
                name[..colon].to_string(),
                Some(name[colon + 1..].to_string()),
            )
        }
        None if name.contains('/') => (name.to_string(), Some("latest".to_string())),
        None => (default_repository.to_string(), Some(name.to_string())),
    }
}

/// Rewrites index.json atomically: a reader never sees half of it.
pub fn write_index(dir: &Path, entries: &[Entry]) -> io::Result<()> {
    let manifests: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let mut annotations = json!({ REPOSITORY: entry.repository });
            if let Some(tag) = &entry.tag {
                annotations[REF_NAME] = json!(format!("{}:{tag}", entry.repository));
            }
            json!({
                "mediaType": entry.media_type,
                "digest": entry.digest.as_str(),
                "size": entry.size,
                "annotations": annotations,
            })
        })
        .collect();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": crate::media_types::OCI_INDEX,
        "manifests": manifests,
    });
    let mut staged = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer_pretty(&mut staged, &index)?;
    staged
        .persist(dir.join("index.json"))
        .map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_ref_name;

    #[test]
    fn ref_names_map_to_repository_and_tag() {
        let split = |n| split_ref_name(n, "imported");
        assert_eq!(
            split("library/hello:latest"),
            ("library/hello".into(), Some("latest".into()))
        );
        assert_eq!(split("3.20"), ("imported".into(), Some("3.20".into())));
        assert_eq!(split("me/app"), ("me/app".into(), Some("latest".into())));
        assert_eq!(
            split("localhost/me/app:v1"),
            ("localhost/me/app".into(), Some("v1".into()))
        );
    }
}
