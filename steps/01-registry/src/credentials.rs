//! Where a user's registry credentials come from: `DOCKER_USERNAME` and
//! `DOCKER_PASSWORD` (as the Docker Internals write-up uses), else
//! `~/.docker/config.json` as `docker login` writes it: a credential helper it names
//! (`credHelpers`, `credsStore`), else its `auths`. They are only ever sent to
//! the registry itself or the token realm its challenge names, and never
//! printed.

use crate::error::{Error, Result};
use crate::reference::DOCKER_HUB;
use base64::Engine as _;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

    /// An identity token: what a credential helper (or `docker login` with
    /// some registries) keeps instead of a password. Docker's convention is
    /// the user name `<token>`, and so is ours.
    pub fn identity_token(token: &str) -> Credentials {
        Credentials::new(IDENTITY_TOKEN_USER, token)
    }

    /// Whether the password is an identity token (an OAuth2 refresh token),
    /// exchanged for access tokens at the realm rather than sent as Basic.
    pub fn is_identity_token(&self) -> bool {
        self.username == IDENTITY_TOKEN_USER
    }

    // ANCHOR: lookup
    /// Credentials for `registry` (`docker.io`, `localhost:5000`, ...): the
    /// environment first, then the Docker config file, where a credential
    /// helper it names for the registry comes before its `auths` (the
    /// helper knowing nothing of the registry falls back to them).
    pub fn lookup(registry: &str) -> Result<Option<Credentials>> {
        if let (Ok(username), Ok(password)) = (
            std::env::var("DOCKER_USERNAME"),
            std::env::var("DOCKER_PASSWORD"),
        ) && !username.is_empty()
        {
            return Ok(Some(Credentials::new(&username, &password)));
        }
        let Some(path) = docker_config_path().filter(|path| path.exists()) else {
            return Ok(None);
        };
        if let Some(helper) = helper_in(&path, registry)
            && let Some(credentials) = from_helper(&helper, &path, registry)?
        {
            return Ok(Some(credentials));
        }
        from_docker_config(&path, registry)
    }
    // ANCHOR_END: lookup
}

/// The user name that marks an identity token.
pub const IDENTITY_TOKEN_USER: &str = "<token>";

/// What a helper prints when it has nothing for the server: the message of
/// `docker-credential-helpers`' `ErrCredentialsNotFound`, on which Docker
/// goes on without credentials.
const NOT_FOUND: &str = "credentials not found";

/// How much of a failing helper's output an error quotes.
const QUOTED: usize = 400;

// ANCHOR: from_helper
/// Asks the credential helper `docker-credential-<helper>` for the
/// credentials of `registry`, as Docker does: `get` as the argument, the
/// server's address on stdin, and JSON back (`{"Username": .., "Secret": ..}`).
/// `Ok(None)` when the helper has none for it ("credentials not found").
/// `config` is the file that named the helper, for the error messages.
pub fn from_helper(helper: &str, config: &Path, registry: &str) -> Result<Option<Credentials>> {
    let program = format!("docker-credential-{helper}");
    let error = |reason: String| Error::CredentialHelper {
        program: program.clone(),
        config: config.display().to_string(),
        registry: registry.to_string(),
        reason,
    };
    let fail = |what: String| {
        error(format!(
            "{what}; run `{program} get` by hand to see why, log in again (docker login {registry})"
        ))
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => error(format!(
                "it is not installed (not found on PATH); install it, or remove it from {}",
                config.display()
            )),
            _ => fail(format!("it could not be started: {e}")),
        })?;
    // The only thing a helper is told: which server. A helper that exits
    // without reading it closes the pipe; what it printed says why.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let _ = stdin.write_all(server_url(registry).as_bytes());
    drop(stdin);
    let output = child
        .wait_with_output()
        .map_err(|e| fail(format!("it could not be waited for: {e}")))?;
    if !output.status.success() {
        // Helpers print their errors on stdout (never a secret: they failed).
        let said = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes).trim().to_string();
            text.chars().take(QUOTED).collect::<String>()
        };
        let (out, err) = (said(&output.stdout), said(&output.stderr));
        if out.contains(NOT_FOUND) {
            return Ok(None);
        }
        let said = [out, err]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" / ");
        return Err(fail(format!(
            "it failed ({}){}",
            output.status,
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        )));
    }
    // The answer holds the secret: an error about it never quotes it.
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    let answer: Answer = serde_json::from_slice(&output.stdout).map_err(|_| {
        fail(
            "its answer is not the JSON of Docker's helper protocol \
              ({\"Username\": .., \"Secret\": ..})"
                .into(),
        )
    })?;
    Ok(Some(if answer.username == IDENTITY_TOKEN_USER {
        Credentials::identity_token(&answer.secret)
    } else {
        Credentials::new(&answer.username, &answer.secret)
    }))
}
// ANCHOR_END: from_helper

/// The server address a helper knows a registry by: what `docker login`
/// stored it under, `https://index.docker.io/v1/` for Docker Hub and the
/// registry's host (`localhost:5000`) for any other.
fn server_url(registry: &str) -> String {
    if registry == DOCKER_HUB {
        "https://index.docker.io/v1/".into()
    } else {
        registry.into()
    }
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
/// registry (`credHelpers`, else `credsStore`), if the Docker config names one.
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

// ANCHOR: docker_config_credentials
/// Reads the `auths` section of a Docker config file.
pub fn from_docker_config(path: &Path, registry: &str) -> Result<Option<Credentials>> {
    // EXERCISE(docker-config-credentials): Find a registry's credentials in a Docker config file.
    // The file is JSON: `{"auths": {"<key>": {"auth": "<base64 of user:password>"}}}`,
    // sometimes with `username` and `password` fields instead of `auth`.
    // The key is the registry as `docker login` spelled it: try every
    // spelling `keys_for` gives (Docker Hub's is `https://index.docker.io/v1/`),
    // with or without a trailing path. No entry is `Ok(None)`; an entry that
    // cannot be read is `Error::Credentials` naming the file.
    // HINT: Parse the file into a `serde_json::Value` and look under `auths`. Compare each key with
    // every spelling from `keys_for`, ignoring a trailing `/` and allowing a `/path` after it.
    // HINT+: `as_object()` on `auths` lets you `iter().find(..)` the first key that matches. An
    // `auth` field is decoded with `base64::engine::general_purpose::STANDARD` (trim it first),
    // made a `String`, and split once at the first `:` (a password may hold colons). Else read
    // `username` and `password` with `as_str`; an entry with neither (`{}`, a helper's) is
    // `Ok(None)`. Every read failure goes through `Error::Credentials` with the file's path.
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
// ANCHOR_END: docker_config_credentials
