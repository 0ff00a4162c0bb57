//! From a root filesystem to an image in the store: one layer, a config that
//! runs the first binary, a manifest, installed like a pulled image, so that
//! `push`, `chroot` and `run` treat it like any other.

use crate::elf::Machine;
use crate::error::Result;
use crate::rootfs::{BinarySpec, Built, build};
use std::path::PathBuf;
use step_01_registry::Reference;
use step_01_registry::config::{ImageConfig, RunConfig};
use step_01_registry::digest::{Digest, sha256_digest};
use step_01_registry::platform::Platform;
use step_02_layers::fingerprint::fingerprint;
use step_02_layers::store::{ImageRecord, Store};
use step_03_push::cache::{store_blob, store_layer};
use step_03_push::image::{self, Format};

/// What to put in the image.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    pub binaries: Vec<BinarySpec>,
    /// `(host source, path in the image)` pairs.
    pub adds: Vec<(PathBuf, PathBuf)>,
    pub format: Format,
}

/// What was created.
#[derive(Debug)]
pub struct Created {
    /// Where the root filesystem is.
    pub path: PathBuf,
    /// The manifest's digest.
    pub digest: Digest,
    pub built: Built,
}

// ANCHOR: create
/// Builds the root filesystem in a staging directory of the store, makes it
/// an image and installs it under `reference`.
pub fn create(store: &Store, reference: &Reference, options: &CreateOptions) -> Result<Created> {
    let staging = store.staging()?;
    let root = staging.path().join("rootfs");
    let built = build(&options.binaries, &options.adds, &root)?;
    let (layer, _) = store_layer(store, &root, &Default::default())?;
    let base = ImageConfig {
        config: RunConfig {
            cmd: Some(built.default_command.clone()),
            env: Some(built.env.clone()),
            ..RunConfig::default()
        },
        ..platform_of(&built)
    };
    let names: Vec<String> = options.binaries.iter().map(describe).collect();
    let created_by = format!("dockerless create --bin {}", names.join(" --bin "));
    let config = image::config(Some(&base), &layer, &created_by);
    let (config_digest, _) = store_blob(store, &config)?;
    let manifest = image::manifest(
        options.format,
        (&config_digest, config.len() as u64),
        &[(layer.digest.clone(), layer.size)],
    );
    let record = ImageRecord {
        origin: format!("{}/{}", reference.registry, reference.repository),
        fingerprint: fingerprint(&root)?,
    };
    let path = store.install(reference, &root, &manifest, &config, &record)?;
    Ok(Created {
        path,
        digest: sha256_digest(&manifest),
        built,
    })
}
// ANCHOR_END: create

/// The image's platform: that of the binaries (the first one's machine).
fn platform_of(built: &Built) -> ImageConfig {
    let host = Platform::host();
    let (architecture, variant) = match built.binaries.first().map(|b| b.binary.machine) {
        Some(Machine::X86_64) => ("amd64".to_string(), None),
        Some(Machine::Aarch64) => ("arm64".to_string(), Some("v8".to_string())),
        _ => (host.architecture, host.variant),
    };
    ImageConfig {
        architecture,
        os: "linux".to_string(),
        variant,
        ..ImageConfig::default()
    }
}

fn describe(spec: &BinarySpec) -> String {
    match spec {
        BinarySpec::Name(name) => name.clone(),
        BinarySpec::Path(path) => path.display().to_string(),
    }
}
