//! Where a user's registry credentials come from: `DOCKER_USERNAME` and
//! `DOCKER_PASSWORD` (as the seed scripts use), else `~/.docker/config.json`
//! as `docker login` writes it. They are only ever sent to the registry itself
//! or the token realm its challenge names, and never printed.

use crate::error::{Error, Result};
use crate::reference::DOCKER_HUB;
use base64::Engine as _;
use std::fmt;
use std::path::{Path, PathBuf};

// ANCHOR: credentials
/// A user name and password. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}
// ANCHOR_END: credentials

impl Credentials {
    pub fn new(username: &str, password: &str) -> Credentials {
        Credentials {
            username: username.to_string(),
            password: password.to_string(),
        }
    }

    /// The value of an `Authorization: Basic ...` header.
    pub fn basic_header(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    // ANCHOR: lookup
    /// Credentials for `registry` (`docker.io`, `localhost:5000`, ...): the
    /// environment first, then the Docker config file.
    pub fn lookup(registry: &str) -> Result<Option<Credentials>> {
        if let (Ok(username), Ok(password)) = (
            std::env::var("DOCKER_USERNAME"),
            std::env::var("DOCKER_PASSWORD"),
        ) && !username.is_empty()
        {
            return Ok(Some(Credentials::new(&username, &password)));
        }
        match docker_config_path() {
            Some(path) if path.exists() => from_docker_config(&path, registry),
            _ => Ok(None),
        }
    }
    // ANCHOR_END: lookup
}

// ANCHOR: keys_for
/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// The credential helper `docker login` handed the password to for this
/// registry (`credHelpers`, else `credsStore`), if the Docker config names one:
/// this client does not run helpers, and a user who logged in needs to know.
pub fn helper_for(registry: &str) -> Option<String> {
    helper_in(&docker_config_path()?, registry)
}

/// [`helper_for`], reading the Docker config at `path`.
pub fn helper_in(path: &Path, registry: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let config: serde_json::Value = serde_json::from_str(&text).ok()?;
    let helpers = config.get("credHelpers").and_then(|h| h.as_object());
    let named = keys_for(registry)
        .iter()
        .find_map(|key| helpers.and_then(|h| h.get(key.as_str())))
        .or_else(|| config.get("credsStore"));
    named.and_then(|n| n.as_str()).map(str::to_string)
}

/// The keys `docker login` may have used for a registry.
fn keys_for(registry: &str) -> Vec<String> {
    if registry == DOCKER_HUB {
        return [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
        ]
        .map(String::from)
        .to_vec();
    }
    vec![
        registry.to_string(),
        format!("https://{registry}"),
        format!("http://{registry}"),
    ]
}
// ANCHOR_END: keys_for

/// Reads the `auths` section of a Docker config file.
pub fn from_docker_config(path: &Path, registry: &str) -> Result<Option<Credentials>> {
    // EXERCISE(docker-config-credentials): Find a registry's credentials in a Docker config file.
    // The file is JSON: `{"auths": {"<key>": {"auth": "<base64 of user:password>"}}}`,
    // sometimes with `username` and `password` fields instead of `auth`.
    // The key is the registry as `docker login` spelled it: try every
    // spelling `keys_for` gives (Docker Hub's is `https://index.docker.io/v1/`),
    // with or without a trailing path. No entry is `Ok(None)`; an entry that
    // cannot be read is `Error::Credentials` naming the file.
    let fail = |reason: String| Error::Credentials {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| fail(format!("not valid JSON: {e}")))?;
    let Some(auths) = config.get("auths").and_then(|a| a.as_object()) else {
        return Ok(None);
    };
    let entry = auths.iter().find(|(key, _)| {
        let key = key.trim_end_matches('/');
        keys_for(registry)
            .iter()
            .any(|k| k.trim_end_matches('/') == key || key.starts_with(&format!("{k}/")))
    });
    let Some((key, entry)) = entry else {
        return Ok(None);
    };
    if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| fail(format!("the \"auth\" of {key:?} is not base64")))?;
        let decoded = String::from_utf8(decoded)
            .map_err(|_| fail(format!("the \"auth\" of {key:?} is not text")))?;
        let (username, password) = decoded
            .split_once(':')
            .ok_or_else(|| fail(format!("the \"auth\" of {key:?} is not user:password")))?;
        return Ok(Some(Credentials::new(username, password)));
    }
    let field = |name: &str| entry.get(name).and_then(|v| v.as_str());
    Ok(match (field("username"), field("password")) {
        (Some(username), Some(password)) => Some(Credentials::new(username, password)),
        _ => None,
    })
    // END EXERCISE
}
