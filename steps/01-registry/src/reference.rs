//! Image references: what a user types (`alpine`, `localhost:5000/me/app:v1`,
//! `me/app@sha256:...`) turned into the registry, repository and tag or digest
//! that the registry API needs, with Docker's normalisation.

use crate::digest::Digest;
use crate::error::{Error, Result};
use std::fmt;

// ANCHOR: reference
/// How Docker names Docker Hub in a normalised reference.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API really lives.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A parsed, normalised image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `localhost:5000`, `registry.example.com`, ...
    pub registry: String,
    /// `library/alpine`, `me/app`, `a/b/c`, ...
    pub repository: String,
    /// The tag; `latest` when neither a tag nor a digest was given.
    pub tag: Option<String>,
    /// `sha256:...` when the reference pins a digest.
    pub digest: Option<Digest>,
}
// ANCHOR_END: reference

impl Reference {
    // ANCHOR: parse_reference
    /// Parses a reference the way `docker pull` does.
    ///
    /// ```
    /// use step_01_registry::Reference;
    /// let r = Reference::parse("alpine").unwrap();
    /// assert_eq!(r.to_string(), "docker.io/library/alpine:latest");
    /// ```
    pub fn parse(text: &str) -> Result<Reference> {
        // EXERCISE(parse-reference): Parse and normalise an image reference as Docker does.
        // 1. Split off `@digest` first; check it with `check_digest`.
        // 2. Then a `:tag`, but only a colon after the last `/` starts a tag
        //    (`localhost:5000/app` has a port, not a tag); check it with `check_tag`.
        // 3. The first `/`-separated component is a registry if it contains
        //    `.` or `:`, or is `localhost`; otherwise the registry is Docker Hub
        //    (`docker.io`, also spelled `index.docker.io`).
        // 4. On Docker Hub a one-component name gets `library/` in front.
        // 5. The repository (with `library/`) is at most 255 characters, as
        //    the distribution spec limits it; check each of its components
        //    with `check_component`.
        // 6. No tag and no digest means the tag `latest`.
        // Every error is `invalid(text, "...")`, naming the bad part.
        // HINT: A colon after the last `/` starts a tag; one before it is a port. Find the last `/`
        // first, then look for `:` only in the text after it.
        // HINT+: `split_once('@')` takes the digest off first. `rfind('/')` marks where the last
        // component starts; an index found in that sub-slice is relative to it, so add the offset
        // back. `split_once('/')` on the name gives the registry candidate; none (or
        // `index.docker.io`) means `DOCKER_HUB`, the only registry where a path with no `/` gets
        // `library/`. A digest alone leaves the tag `None`.
        if text.is_empty() {
            return Err(invalid(text, "it is empty"));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(check_digest(text, digest)?)),
            None => (text, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(colon) => {
                let colon = last_slash + colon;
                (&rest[..colon], Some(check_tag(text, &rest[colon + 1..])?))
            }
            None => (rest, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), path)
            }
            _ => (DOCKER_HUB.to_string(), name),
        };
        let registry = if registry == "index.docker.io" {
            DOCKER_HUB.to_string()
        } else {
            registry
        };
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        if repository.len() > 255 {
            return Err(invalid(
                text,
                "the repository name is longer than 255 characters",
            ));
        }
        for component in repository.split('/') {
            check_component(text, component)?;
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (tag, _) => tag,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
        // END EXERCISE
    }
    // ANCHOR_END: parse_reference

    // ANCHOR: api_host
    /// The host that serves the registry API: Docker Hub's is not `docker.io`.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    pub fn is_docker_hub(&self) -> bool {
        self.registry == DOCKER_HUB
    }

    /// What goes after `/manifests/`: the digest when pinned, else the tag.
    pub fn reference(&self) -> &str {
        self.digest
            .as_ref()
            .map(Digest::as_str)
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
    // ANCHOR_END: api_host

    /// Registries on this machine speak plain HTTP (as Docker allows for
    /// `localhost` and loopback addresses); everything else HTTPS.
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => self.registry.as_str(),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn invalid(reference: &str, reason: impl Into<String>) -> Error {
    Error::Reference {
        reference: reference.to_string(),
        reason: reason.into(),
    }
}

/// `sha256:` and 64 lowercase hex digits: see [`Digest`].
fn check_digest(reference: &str, digest: &str) -> Result<Digest> {
    digest
        .parse()
        .map_err(|error: crate::digest::NotADigest| invalid(reference, error.to_string()))
}

/// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`
fn check_tag(reference: &str, tag: &str) -> Result<String> {
    let mut bytes = tag.bytes();
    let first = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let rest = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if first && rest && tag.len() <= 128 {
        Ok(tag.to_string())
    } else {
        Err(invalid(
            reference,
            format!(
                "tag {tag:?} must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
            ),
        ))
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn check_component(reference: &str, component: &str) -> Result<()> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut separator = String::new();
    let mut previous_alnum = false;
    let mut valid = !component.is_empty();
    for c in component.chars() {
        if alnum(c) {
            if !separator.is_empty() {
                valid &= matches!(separator.as_str(), "." | "_" | "__")
                    || separator.chars().all(|s| s == '-');
                separator.clear();
            }
            previous_alnum = true;
        } else {
            valid &= previous_alnum || !separator.is_empty();
            separator.push(c);
            previous_alnum = false;
        }
    }
    valid &= previous_alnum;
    if valid {
        Ok(())
    } else if component.chars().any(|c| c.is_ascii_uppercase()) {
        Err(invalid(
            reference,
            format!("repository name component {component:?} must be lowercase"),
        ))
    } else {
        Err(invalid(
            reference,
            format!(
                "repository name component {component:?} must be lowercase letters and digits separated by '.', '_', '__' or '-'"
            ),
        ))
    }
}
