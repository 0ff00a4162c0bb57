//! Platforms (`linux/amd64`, `linux/arm64/v8`) and choosing one from an index.

use crate::error::{Error, Result};
use crate::manifest::{Descriptor, Index};
use serde::{Deserialize, Serialize};
use std::fmt;

// ANCHOR: platform
/// An image's platform, as an index entry or a config names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}
// ANCHOR_END: platform

impl Platform {
    // ANCHOR: host
    /// The platform this program runs on, in the names images use.
    pub fn host() -> Platform {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", Some("v8")),
            "arm" => ("arm", Some("v7")),
            "x86" => ("386", None),
            "powerpc64" => ("ppc64le", None),
            "loongarch64" => ("loong64", None),
            other => (other, None),
        };
        Platform {
            os: std::env::consts::OS.to_string(),
            architecture: architecture.to_string(),
            variant: variant.map(str::to_string),
        }
    }
    // ANCHOR_END: host

    /// Parses `os/arch` or `os/arch/variant`.
    pub fn parse(text: &str) -> Result<Platform> {
        let parts: Vec<&str> = text.split('/').collect();
        let invalid = || Error::Platform {
            platform: text.to_string(),
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(invalid());
        }
        match parts[..] {
            [os, architecture] => Ok(Platform {
                os: os.into(),
                architecture: architecture.into(),
                variant: None,
            }),
            [os, architecture, variant] => Ok(Platform {
                os: os.into(),
                architecture: architecture.into(),
                variant: Some(variant.into()),
            }),
            _ => Err(invalid()),
        }
    }

    // ANCHOR: satisfies
    /// The variant, with arm64's implicit `v8` made explicit.
    fn effective_variant(&self) -> Option<&str> {
        match (self.architecture.as_str(), self.variant.as_deref()) {
            ("arm64", None) => Some("v8"),
            (_, variant) => variant,
        }
    }

    /// Whether an image for `self` runs where `wanted` is asked for. A wanted
    /// platform without a variant takes any variant.
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && (wanted.variant.is_none() || self.effective_variant() == wanted.effective_variant())
    }
    // ANCHOR_END: satisfies
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

// ANCHOR: select_platform
/// Picks the entry of `index` for `wanted`.
pub fn select<'a>(index: &'a Index, wanted: &Platform, reference: &str) -> Result<&'a Descriptor> {
    // EXERCISE(select-platform): Choose the index entry whose platform satisfies `wanted`.
    // - Only entries that are image manifests count (`Descriptor::is_manifest`):
    //   an index may list things we do not know, and that is not an error.
    // - Skip `unknown/unknown` entries: they are build attestations, not images.
    // - Use `Platform::satisfies`, which knows that arm64 with and without `v8`
    //   are the same.
    // - None? `Error::NoMatchingPlatform` listing every platform there is.
    // HINT: Filter first (image manifests only, a platform that is not `unknown`), then take the
    // first entry whose platform satisfies `wanted`, remembering the others' names for the error.
    // HINT+: `index.manifests.iter()` with `filter`s for `Descriptor::is_manifest` and for a
    // `platform` that is `Some` with neither os nor architecture `unknown`. In one loop, return the
    // first match and push each other candidate's `to_string()` into a `Vec`: it becomes
    // `available`. Call `satisfies` on the entry's platform with `wanted` as the argument; the
    // other way round, a wanted `linux/arm` would no longer take `linux/arm/v7`.
    let candidates = index
        .manifests
        .iter()
        .filter(|d| d.is_manifest())
        .filter(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os != "unknown" && p.architecture != "unknown")
        });
    let mut available = Vec::new();
    for descriptor in candidates {
        let platform = descriptor.platform.as_ref().expect("filtered above");
        if platform.satisfies(wanted) {
            return Ok(descriptor);
        }
        available.push(platform.to_string());
    }
    Err(Error::NoMatchingPlatform {
        reference: reference.to_string(),
        wanted: wanted.to_string(),
        available,
    })
    // END EXERCISE
}
// ANCHOR_END: select_platform
