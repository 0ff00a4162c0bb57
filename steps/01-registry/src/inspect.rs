//! From a reference to everything a pull needs: the index (if any), the image
//! manifest for the chosen platform, and the config. `dockerless inspect`
//! prints a summary of it.

use crate::client::Client;
use crate::config::{self, ImageConfig};
use crate::error::{Error, Result};
use crate::manifest::{self, Fetched, ImageManifest, Manifest};
use crate::platform::{self, Platform};
use crate::reference::Reference;
use std::fmt::{self, Write as _};

/// An image resolved down to one platform.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub reference: Reference,
    /// The index the reference named, when it named one.
    pub index: Option<Fetched>,
    /// The image manifest for the chosen platform, with its bytes.
    pub manifest: Fetched,
    pub image: ImageManifest,
    pub config_bytes: Vec<u8>,
    pub config: ImageConfig,
}

impl Resolved {
    pub fn platform(&self) -> Platform {
        Platform {
            os: self.config.os.clone(),
            architecture: self.config.architecture.clone(),
            variant: self.config.variant.clone(),
        }
    }
}

// ANCHOR: resolve
/// Fetches the manifest a reference names; for an index, chooses `wanted`
/// (the host's platform when `None`) and fetches that manifest; then the config.
pub fn resolve(
    client: &Client,
    reference: &Reference,
    wanted: Option<&Platform>,
) -> Result<Resolved> {
    let repository = &reference.repository;
    let first = manifest::fetch(client, repository, reference.reference())?;
    let (index, fetched) = match &first.manifest {
        Manifest::Image(_) => (None, first),
        Manifest::Index(list) => {
            let host = Platform::host();
            let choice = platform::select(list, wanted.unwrap_or(&host), &reference.to_string())?;
            let chosen = manifest::fetch(client, repository, choice.digest.as_str())?;
            (Some(first), chosen)
        }
    };
    let Manifest::Image(image) = fetched.manifest.clone() else {
        return Err(Error::Manifest {
            what: format!("{reference}"),
            reason: "an index lists another index where an image manifest belongs".into(),
        });
    };
    let (config_bytes, config) = config::fetch(client, repository, &image.config)?;
    let resolved = Resolved {
        reference: reference.clone(),
        index,
        manifest: fetched,
        image,
        config_bytes,
        config,
    };
    if let Some(wanted) = wanted
        && resolved.index.is_none()
        && !resolved.platform().satisfies(wanted)
    {
        return Err(Error::NoMatchingPlatform {
            reference: reference.to_string(),
            wanted: wanted.to_string(),
            available: vec![resolved.platform().to_string()],
        });
    }
    Ok(resolved)
}
// ANCHOR_END: resolve

/// `1.5 MB`, `863 B`: sizes as people read them (decimal units, like Docker).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl fmt::Display for Resolved {
    /// The summary `dockerless inspect` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let run = &self.config.config;
        let list = |items: &Option<Vec<String>>| match items {
            Some(items) if !items.is_empty() => serde_json::to_string(items).unwrap_or_default(),
            _ => "(none)".to_string(),
        };
        let mut out = String::new();
        writeln!(out, "Image:       {}", self.reference)?;
        if let Some(index) = &self.index {
            writeln!(out, "Index:       {} ({})", index.digest, index.media_type)?;
            if let Manifest::Index(list) = &index.manifest {
                let platforms: Vec<String> = list
                    .manifests
                    .iter()
                    .map(|d| d.platform.as_ref().map_or("?".into(), |p| p.to_string()))
                    .collect();
                writeln!(out, "Platforms:   {}", platforms.join(", "))?;
            }
        }
        writeln!(out, "Digest:      {}", self.manifest.digest)?;
        writeln!(out, "Media type:  {}", self.manifest.media_type)?;
        writeln!(out, "Platform:    {}", self.platform())?;
        writeln!(out, "Entrypoint:  {}", list(&run.entrypoint))?;
        writeln!(out, "Cmd:         {}", list(&run.cmd))?;
        writeln!(out, "Env:         {}", list(&run.env))?;
        writeln!(
            out,
            "WorkingDir:  {}",
            run.working_dir
                .as_deref()
                .filter(|w| !w.is_empty())
                .unwrap_or("/")
        )?;
        writeln!(
            out,
            "User:        {}",
            run.user
                .as_deref()
                .filter(|u| !u.is_empty())
                .unwrap_or("root")
        )?;
        let total: u64 = self.image.layers.iter().map(|l| l.size).sum();
        writeln!(
            out,
            "Layers:      {}, {} compressed",
            self.image.layers.len(),
            human_size(total)
        )?;
        for (layer, diff_id) in self.image.layers.iter().zip(&self.config.rootfs.diff_ids) {
            writeln!(
                out,
                "  {}  {:>9}  diff_id {}",
                layer.digest,
                human_size(layer.size),
                short(diff_id)
            )?;
        }
        f.write_str(&out)
    }
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}
