//! The one error type of step 01. Every message names the input, says what is
//! wrong and, where there is one, what to do about it.

/// Anything that can go wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid image reference {reference:?}: {reason}")]
    Reference { reference: String, reason: String },

    #[error(
        "invalid platform {platform:?}: expected os/arch or os/arch/variant, such as linux/amd64 or linux/arm64/v8"
    )]
    Platform { platform: String },

    #[error("cannot reach {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("cannot read what to send to {url}: {source}")]
    Body {
        url: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{method} {url} failed with {status}{}", detail(.code, .message))]
    Status {
        method: String,
        url: String,
        status: u16,
        code: Option<String>,
        message: Option<String>,
    },

    #[error("{registry} refused access{}: {hint}", detail(.code, .message))]
    Unauthorized {
        registry: String,
        code: Option<String>,
        message: Option<String>,
        hint: String,
    },

    #[error("cannot understand the authentication challenge {header:?}: {reason}")]
    Challenge { header: String, reason: String },

    #[error("the token service at {realm} answered without a token: {reason}")]
    Token { realm: String, reason: String },

    #[error(
        "{what} has digest {actual}, not {expected}: the bytes were changed or cut on the way; nothing was kept"
    )]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },

    #[error("{registry} has no image {repository}:{reference}: check the name and the tag{}", detail(.code, .message))]
    NotFound {
        registry: String,
        repository: String,
        reference: String,
        code: Option<String>,
        message: Option<String>,
    },

    #[error("{what} is larger than {limit} bytes: refusing to read it")]
    TooBig { what: String, limit: u64 },

    #[error("{what}: {reason}")]
    Manifest { what: String, reason: String },

    #[error("{reference} has no image for {wanted}; it has: {}. Choose one with --platform", .available.join(", "))]
    NoMatchingPlatform {
        reference: String,
        wanted: String,
        available: Vec<String>,
    },

    #[error("cannot read credentials from {path}: {reason}")]
    Credentials { path: String, reason: String },

    /// The credential helper the Docker config names for a registry could
    /// not be run, or failed. `reason` ends with what to do about it.
    #[error(
        "{program} (the credential helper {config} names for {registry}) gave no credentials: \
         {reason}, or set DOCKER_USERNAME and DOCKER_PASSWORD"
    )]
    CredentialHelper {
        program: String,
        config: String,
        registry: String,
        reason: String,
    },

    #[error("{what} is not valid JSON: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },

    /// TLS with a server failed in a way retrying cannot mend: its
    /// certificate is refused, or it does not speak TLS at all.
    #[error("cannot talk TLS to {url}: {reason}{}", .fix.map(|fix| format!(" ({fix})")).unwrap_or_default())]
    Tls {
        url: String,
        reason: String,
        /// What to do about it, where that is clear.
        fix: Option<&'static str>,
    },

    #[error("gave up on {url} after {attempts} attempts: {last}")]
    Retries {
        url: String,
        attempts: u32,
        last: String,
    },
}

/// What kind of failure an error is. Every step's error says its kind
/// (`kind()`), and the tool turns the kind into its exit code, so a script
/// can tell a missing image from a refused password from a network outage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The command line asks for something impossible.
    Usage,
    /// The image, tag, repository or binary does not exist.
    NotFound,
    /// The registry refused the credentials, or asked for some.
    Refused,
    /// Bytes did not match their digest, or a layer tried to leave the root.
    Integrity,
    /// The registry could not be reached, or kept failing.
    Network,
    /// A container could not be set up (`docker run` exits 125).
    Runtime,
    /// The container's program is there but cannot run (126).
    NotExecutable,
    /// The container's program is not in the image (127).
    CommandNotFound,
    /// Anything else.
    Other,
}

impl Kind {
    /// The exit code `docker run` gives a container that did not start:
    /// 125, 126 or 127; `None` for the other kinds.
    pub fn start_code(self) -> Option<u8> {
        match self {
            Kind::Runtime => Some(125),
            Kind::NotExecutable => Some(126),
            Kind::CommandNotFound => Some(127),
            _ => None,
        }
    }
}

impl Error {
    pub fn kind(&self) -> Kind {
        match self {
            Error::NotFound { .. } | Error::NoMatchingPlatform { .. } => Kind::NotFound,
            Error::Unauthorized { .. } | Error::Token { .. } => Kind::Refused,
            Error::DigestMismatch { .. } | Error::Manifest { .. } => Kind::Integrity,
            Error::Http { .. } | Error::Tls { .. } | Error::Retries { .. } => Kind::Network,
            // A helper missing or failing is this machine's setup, not the
            // registry's answer.
            _ => Kind::Other,
        }
    }
}

/// `: CODE message` from a registry's error body, when it sent one.
pub fn detail(code: &Option<String>, message: &Option<String>) -> String {
    match (code, message) {
        (Some(code), Some(message)) => format!(": {code} {message}"),
        (Some(code), None) => format!(": {code}"),
        (None, Some(message)) => format!(": {message}"),
        (None, None) => String::new(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
