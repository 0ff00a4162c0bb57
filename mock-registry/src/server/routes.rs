//! Which endpoint a request path names. Repository names contain slashes, so
//! the path is read from its end: `/v2/<name>/manifests/<reference>` and so on.

/// An endpoint of the distribution API (plus the token realm and the CDN).
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`
    Ping,
    /// `/v2/_catalog`
    Catalog,
    /// `/token`
    Token,
    /// `/v2/<name>/tags/list`
    Tags {
        name: String,
    },
    /// `/v2/<name>/manifests/<reference>`
    Manifest {
        name: String,
        reference: String,
    },
    /// `/v2/<name>/blobs/<digest>`
    Blob {
        name: String,
        digest: String,
    },
    /// `/v2/<name>/blobs/uploads/`
    StartUpload {
        name: String,
    },
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload {
        name: String,
        id: String,
    },
    /// `/cdn/<digest>`, on the second origin only
    Cdn {
        digest: String,
    },
    Unknown,
}

impl Route {
    pub fn parse(path: &str) -> Route {
        if path == "/token" {
            return Route::Token;
        }
        if let Some(digest) = path.strip_prefix("/cdn/") {
            return Route::Cdn {
                digest: digest.to_string(),
            };
        }
        let Some(rest) = path.strip_prefix("/v2/") else {
            return Route::Unknown;
        };
        if rest.is_empty() {
            return Route::Ping;
        }
        if rest == "_catalog" {
            return Route::Catalog;
        }
        let owned = |s: &str| s.to_string();
        if let Some(name) = rest.strip_suffix("/tags/list") {
            return Route::Tags { name: owned(name) };
        }
        if let Some(name) = rest.strip_suffix("/blobs/uploads/") {
            return Route::StartUpload { name: owned(name) };
        }
        if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
            return Route::Upload {
                name: owned(name),
                id: owned(id),
            };
        }
        if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
            return Route::Manifest {
                name: owned(name),
                reference: owned(reference),
            };
        }
        if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
            return Route::Blob {
                name: owned(name),
                digest: owned(digest),
            };
        }
        Route::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn paths_are_read_from_their_end() {
        assert_eq!(Route::parse("/v2/"), Route::Ping);
        assert_eq!(Route::parse("/v2/_catalog"), Route::Catalog);
        assert_eq!(
            Route::parse("/v2/a/b/c/manifests/latest"),
            Route::Manifest {
                name: "a/b/c".into(),
                reference: "latest".into()
            }
        );
        assert_eq!(
            Route::parse("/v2/blobs/blobs/sha256:00"),
            Route::Blob {
                name: "blobs".into(),
                digest: "sha256:00".into()
            }
        );
        assert_eq!(
            Route::parse("/v2/a/blobs/uploads/"),
            Route::StartUpload { name: "a".into() }
        );
        assert_eq!(
            Route::parse("/v2/a/blobs/uploads/x1"),
            Route::Upload {
                name: "a".into(),
                id: "x1".into()
            }
        );
        assert_eq!(
            Route::parse("/v2/a/tags/list"),
            Route::Tags { name: "a".into() }
        );
        assert_eq!(Route::parse("/v1/"), Route::Unknown);
    }
}
