//! The image config: the platform, the layers' DiffIDs and how to run the image
//! (Entrypoint, Cmd, Env, WorkingDir, User).

use crate::client::Client;
use crate::error::{Error, Result};
use crate::manifest::{Descriptor, sha256_digest};
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

/// Configs larger than this are refused (real ones are a few kilobytes).
pub const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

// ANCHOR: image_config
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: RunConfig,
    pub rootfs: RootFs,
}

/// How to run the image. Field names are Docker's, capitalised.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<String>,
}

impl ImageConfig {
    /// What runs when no command is given: Entrypoint followed by Cmd.
    pub fn default_command(&self) -> Vec<String> {
        let run = &self.config;
        run.entrypoint
            .iter()
            .chain(run.cmd.iter())
            .flatten()
            .cloned()
            .collect()
    }
}
// ANCHOR_END: image_config

/// Fetches a config blob, checks its digest, and returns its bytes and contents.
pub fn fetch(
    client: &Client,
    repository: &str,
    descriptor: &Descriptor,
) -> Result<(Vec<u8>, ImageConfig)> {
    let path = format!("/v2/{repository}/blobs/{}", descriptor.digest);
    let scope = format!("repository:{repository}:pull");
    let what = format!("config {}", descriptor.digest);
    let (_, bytes) =
        client.get_document(&path, &scope, HeaderMap::new(), MAX_CONFIG_BYTES, &what)?;
    let actual = sha256_digest(&bytes);
    if actual != descriptor.digest {
        return Err(Error::DigestMismatch {
            what,
            expected: descriptor.digest.to_string(),
            actual: actual.to_string(),
        });
    }
    let config = serde_json::from_slice(&bytes).map_err(|source| Error::Json { what, source })?;
    Ok((bytes, config))
}
