//! The config and the manifest of a pushed image.
//!
//! The config says how to run the image and lists the layers' DiffIDs; the
//! manifest lists the config and the layers by digest. Both are JSON written
//! the same way every time, so the same directory gives the same image digest.

use crate::layer::LayerDigests;
use step_01_registry::config::ImageConfig;
use step_01_registry::digest::Digest;
use step_01_registry::manifest::{DOCKER_MANIFEST, OCI_MANIFEST};

// ANCHOR: format
/// Docker schema2 (the default, as `docker push` writes) or OCI media types.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Docker,
    Oci,
}
// ANCHOR_END: format

impl Format {
    pub fn manifest_type(self) -> &'static str {
        match self {
            Format::Docker => DOCKER_MANIFEST,
            Format::Oci => OCI_MANIFEST,
        }
    }

    pub fn config_type(self) -> &'static str {
        match self {
            Format::Docker => "application/vnd.docker.container.image.v1+json",
            Format::Oci => "application/vnd.oci.image.config.v1+json",
        }
    }

    pub fn layer_type(self) -> &'static str {
        match self {
            Format::Docker => "application/vnd.docker.image.rootfs.diff.tar.gzip",
            Format::Oci => "application/vnd.oci.image.layer.v1.tar+gzip",
        }
    }

    /// The format a manifest media type belongs to.
    pub fn of_manifest(media_type: &str) -> Option<Format> {
        match media_type {
            DOCKER_MANIFEST => Some(Format::Docker),
            OCI_MANIFEST => Some(Format::Oci),
            _ => None,
        }
    }
}

// ANCHOR: build_config
/// The config for a one-layer image: the platform and run settings of `base`
/// (the config the directory was pulled with) when there is one, else this
/// machine's platform and no settings.
pub fn config(base: Option<&ImageConfig>, layer: &LayerDigests, created_by: &str) -> Vec<u8> {
    // EXERCISE(build-config): Write the image config as JSON bytes.
    // Required: `architecture`, `os` (and `variant` when there is one) and
    // `rootfs`: `{"type": "layers", "diff_ids": [<the layer's DiffID>]}`.
    // Carry the run settings over from `base` (`config`: Entrypoint, Cmd,
    // Env, WorkingDir, User) so the pushed image runs like the pulled one,
    // and add one `history` entry with `created_by`. No timestamps: the same
    // directory must give the same bytes (and so the same digest).
    // HINT: The snapshot compares bytes, and serde_json here keeps keys in insertion order
    // (`preserve_order`): `architecture`, `os`, `variant`, `config`, `rootfs`, `history`.
    // HINT+: Build a `Value` with `json!` and add keys by indexing it. The platform comes from
    // `base` or `Platform::host()`; `variant` only when `Some`. Run settings:
    // `serde_json::to_value` of `base.config`, kept only when the object is not empty. Then
    // `rootfs` (`type` `layers`, `diff_ids` holding the layer's `diff_id`) and a one-entry
    // `history`. `serde_json::to_vec`, never pretty; no `created` time.
    use serde_json::json;
    use step_01_registry::platform::Platform;
    let host = Platform::host();
    let (architecture, os, variant) = match base {
        Some(base) => (
            base.architecture.clone(),
            base.os.clone(),
            base.variant.clone(),
        ),
        None => (host.architecture, host.os, host.variant),
    };
    let mut config = json!({
        "architecture": architecture,
        "os": os,
    });
    if let Some(variant) = variant {
        config["variant"] = json!(variant);
    }
    let run = base.map(|b| serde_json::to_value(&b.config).expect("run settings serialise"));
    if let Some(run) = run.filter(|r| r.as_object().is_some_and(|o| !o.is_empty())) {
        config["config"] = run;
    }
    config["rootfs"] = json!({ "type": "layers", "diff_ids": [layer.diff_id] });
    config["history"] = json!([{ "created_by": created_by }]);
    serde_json::to_vec(&config).expect("a config serialises")
    // END EXERCISE
}
// ANCHOR_END: build_config

// ANCHOR: build_manifest
/// The manifest listing a config and layers, as `(digest, size)` pairs.
pub fn manifest(format: Format, config: (&Digest, u64), layers: &[(Digest, u64)]) -> Vec<u8> {
    // EXERCISE(build-manifest): Write the image manifest as JSON bytes.
    // `schemaVersion` 2, `mediaType` (the format's manifest type), a
    // `config` descriptor and one `layers` descriptor per layer: each
    // descriptor is `{"mediaType", "digest", "size"}` with the format's
    // config or layer media type.
    // HINT: A descriptor is the same three keys every time: a small closure that makes one from a
    // media type, a digest and a size serves the config and every layer.
    // HINT+: `json!` with `schemaVersion` 2, `mediaType` from `format.manifest_type()`, `config`
    // with `format.config_type()`, and `layers` mapped from the pairs with `format.layer_type()`
    // (collect a `Vec` inside `json!`). Keys in that order, a descriptor's as `mediaType`,
    // `digest`, `size`: the snapshot compares bytes. `serde_json::to_vec`, compact.
    use serde_json::{Value, json};
    let descriptor = |media_type: &str, digest: &Digest, size: u64| -> Value {
        json!({ "mediaType": media_type, "digest": digest, "size": size })
    };
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": format.manifest_type(),
        "config": descriptor(format.config_type(), config.0, config.1),
        "layers": layers
            .iter()
            .map(|(digest, size)| descriptor(format.layer_type(), digest, *size))
            .collect::<Vec<_>>(),
    });
    serde_json::to_vec(&manifest).expect("a manifest serialises")
    // END EXERCISE
}
// ANCHOR_END: build_manifest

/// The build-config exercise on its own: the bytes of a config, with and
/// without the pulled image's settings.
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use step_01_registry::platform::Platform;
    use workshop::check_eq;

    const READ: &str = "step-03-push.md#the-config-and-the-manifest";

    fn layer() -> LayerDigests {
        LayerDigests {
            digest: format!("sha256:{}", "1".repeat(64)).parse().unwrap(),
            size: 3,
            diff_id: format!("sha256:{}", "2".repeat(64)).parse().unwrap(),
        }
    }

    #[test]
    fn a_config_carries_the_pulled_settings_and_names_its_layer() {
        let base: ImageConfig = serde_json::from_str(
            r#"{"architecture":"arm64","os":"linux","variant":"v8",
                "config":{"Cmd":["/bin/sh"],"Env":["PATH=/bin"],"WorkingDir":"/srv"},
                "rootfs":{"type":"layers","diff_ids":["sha256:old"]},
                "created":"2024-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let bytes = config(Some(&base), &layer(), "dockerless push");
        check_eq!(
            String::from_utf8_lossy(&bytes),
            format!(
                r#"{{"architecture":"arm64","os":"linux","variant":"v8","config":{{"Cmd":["/bin/sh"],"Env":["PATH=/bin"],"WorkingDir":"/srv"}},"rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}},"history":[{{"created_by":"dockerless push"}}]}}"#,
                "2".repeat(64)
            ),
            read = READ,
            "the config of a layer pushed from a pulled image"
        );
    }

    #[test]
    fn without_a_pulled_config_the_platform_is_this_machines() {
        let bytes = config(None, &layer(), "dockerless push");
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        let host = Platform::host();
        check_eq!(
            (
                value["architecture"].as_str(),
                value["os"].as_str(),
                value.get("config").is_some(),
                value["rootfs"]["diff_ids"][0].as_str().map(str::to_string),
            ),
            (
                Some(host.architecture.as_str()),
                Some(host.os.as_str()),
                false,
                Some(layer().diff_id.to_string()),
            ),
            read = READ,
            "(architecture, os, has run settings, first DiffID) without a pulled config"
        );
    }
}
