//! The request log: what a client asked, in order, for tests and for learners
//! to compare with the book.

use std::fmt;

/// Which listener a request reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Registry,
    /// The second origin that redirected blobs are served from.
    Cdn,
}

/// One request and the status it got. Credentials are never recorded: only
/// which scheme the `Authorization` header used.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LoggedRequest {
    pub origin: Origin,
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    pub status: u16,
    /// `Bearer` or `Basic` when the request carried credentials.
    pub authorization: Option<String>,
    /// The `Range` header, when one was sent.
    pub range: Option<String>,
}

impl fmt::Display for LoggedRequest {
    /// `GET /v2/library/hello/manifests/latest -> 200`, with the origin, the
    /// auth scheme and the range when they tell something.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.origin == Origin::Cdn {
            f.write_str("[cdn] ")?;
        }
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(scheme) = &self.authorization {
            write!(f, " ({scheme})")?;
        }
        if let Some(range) = &self.range {
            write!(f, " [{range}]")?;
        }
        write!(f, " -> {}", self.status)
    }
}
