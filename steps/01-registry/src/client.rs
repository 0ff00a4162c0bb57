//! The registry client: every request goes through [`Client::send`], which
//! adds credentials, answers auth challenges, follows redirects without
//! leaking credentials, and retries what is worth retrying.

use crate::challenge::{self, Challenge};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::token::{self, Token};
use reqwest::Method;
use reqwest::blocking::Response;
use reqwest::header::{AUTHORIZATION, HeaderMap, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ANCHOR: retry_policy
/// How often and how patiently to retry 408, 429, 5xx and dropped connections.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The first backoff; it doubles each time.
    pub base_delay: Duration,
    /// No wait is longer than this, whatever `Retry-After` says.
    pub max_delay: Duration,
}
// ANCHOR_END: retry_policy

impl RetryPolicy {
    // ANCHOR: retry_delay
    /// How long to wait before attempt `attempt + 1`, given the server's
    /// `Retry-After` header as it came, if it sent one: the seconds it asked
    /// for, else a doubling backoff; never more than `max_delay`.
    pub fn delay(&self, attempt: u32, retry_after: Option<&str>) -> Duration {
        // EXERCISE(retry-delay): Decide how long to wait before the next attempt.
        // A server that answered 429 or 503 with `Retry-After` knows best:
        // when the header (spaces around it aside) is a whole number of
        // seconds, wait that long. Otherwise (no header, an HTTP date, or
        // anything else) back off exponentially: `base_delay` after the first
        // attempt, twice that after the second, and so on. Either way, never
        // wait longer than `max_delay`.
        // See book/src/step-01-registry.md#exercise-retry-delay-deep-dive.
        // HINT: Compute the backoff, let a `Retry-After` that is a number of seconds replace it,
        // and cap whichever you got at `max_delay`.
        // HINT+: `str::parse::<u64>` (after `trim`) succeeds only on a whole number; `.ok()` makes
        // its result an `Option`, for `Option::and_then`. A `Duration` multiplies by a `u32`:
        // after attempt n, `base_delay` times 2 to the power n - 1 (`saturating_sub` and
        // `saturating_pow` keep attempt 0 and big attempts safe). `Ord::min` caps.
        let exponential = self.base_delay * 2u32.saturating_pow(attempt.saturating_sub(1));
        let asked = retry_after
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        asked.unwrap_or(exponential).min(self.max_delay)
        // END EXERCISE
    }
    // ANCHOR_END: retry_delay
}

// ANCHOR: retry_default
impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}
// ANCHOR_END: retry_default

/// One exchange, for the `-v` log: `GET https://... -> 200`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub status: u16,
}

impl std::fmt::Display for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} -> {}", self.method, self.url, self.status)
    }
}

/// Makes a request body, once for each time the request is sent.
pub type BodyFn = dyn Fn() -> std::io::Result<reqwest::blocking::Body> + Sync;

/// Something that wants to see each exchange (the `-v` flag, or a test).
pub type Observer = Arc<dyn Fn(&Exchange) + Send + Sync>;

/// How to talk to a registry.
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// Use `http://` even for a registry that is not on this machine (`--insecure`).
    pub insecure: bool,
    /// Credentials for this registry; see [`Credentials::lookup`].
    pub credentials: Option<Credentials>,
    pub retry: RetryPolicy,
    pub observer: Option<Observer>,
}

// ANCHOR: client
/// A client for one registry.
pub struct Client {
    http: reqwest::blocking::Client,
    /// `https://registry-1.docker.io` or `http://127.0.0.1:5000`
    base: String,
    registry: String,
    credentials: Option<Credentials>,
    /// Tokens by scope.
    tokens: Mutex<HashMap<String, Token>>,
    /// The registry asked for Basic credentials rather than tokens.
    basic: Mutex<bool>,
    retry: RetryPolicy,
    observer: Option<Observer>,
}
// ANCHOR_END: client

/// What one attempt came to.
enum Attempt {
    Done(Response),
    /// Authenticated just now: send again at once, without counting an attempt.
    Again,
    Retry {
        reason: String,
        /// The answer's `Retry-After` header, as it came.
        retry_after: Option<String>,
    },
}

impl Client {
    pub fn new(reference: &Reference, options: ClientOptions) -> Result<Client> {
        let scheme = if options.insecure || reference.is_loopback() {
            "http"
        } else {
            "https"
        };
        let base = format!("{scheme}://{}", reference.api_host());
        // reqwest's TLS takes the process's default crypto provider (see the
        // workspace's Cargo.toml): ring, unless the program installed
        // another first, which is then kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            // Redirects are followed by hand, to drop credentials on the way.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("dockerless/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .timeout(None)
            .build()
            .map_err(|source| Error::Http {
                url: base.clone(),
                source,
            })?;
        Ok(Client {
            http,
            base,
            registry: reference.registry.clone(),
            credentials: options.credentials,
            tokens: Mutex::default(),
            basic: Mutex::new(false),
            retry: options.retry,
            observer: options.observer,
        })
    }

    /// An absolute URL for `path`, which may already be one (an upload `Location`).
    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// The registry as the reference names it (`docker.io`, `localhost:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// `http://host:port` or `https://host`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn observe(&self, method: &Method, url: &str, status: u16) {
        if let Some(observer) = &self.observer {
            observer(&Exchange {
                method: method.to_string(),
                url: url.to_string(),
                status,
            });
        }
    }

    /// `GET /v2/`: is this a registry, and what does it want from us?
    pub fn ping(&self) -> Result<()> {
        let response = self.send(Method::GET, "/v2/", "", HeaderMap::new())?;
        check_status(&Method::GET, response).map(drop)
    }

    // ANCHOR: send
    /// Sends a request for `path` (or an absolute URL) that needs `scope`
    /// (`repository:library/alpine:pull`; empty for `/v2/`), answering one auth
    /// challenge and retrying transient failures. Non-2xx answers other than
    /// those are returned for the caller to judge.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        scope: &str,
        headers: HeaderMap,
    ) -> Result<Response> {
        self.send_with_body(method, path, scope, headers, None)
    }

    /// Like [`Client::send`], with a request body. The body is made by a
    /// function because a request may go out more than once (after a new
    /// token, a redirect or a retry), and a streamed body can only be read once.
    pub fn send_with_body(
        &self,
        method: Method,
        path: &str,
        scope: &str,
        headers: HeaderMap,
        body: Option<&BodyFn>,
    ) -> Result<Response> {
        let url = self.url(path);
        let mut authenticated = false;
        let mut attempt = 1;
        loop {
            let outcome = match self.send_following_redirects(&method, &url, scope, &headers, body)
            {
                Ok(response) => self.judge(response, scope, &mut authenticated)?,
                Err(Error::Http { source, .. })
                    if source.is_connect() || source.is_timeout() || source.is_request() =>
                {
                    if let Some(tls) = tls_failure(&source, &self.base, Some(&self.base)) {
                        return Err(tls);
                    }
                    let hint = if source.is_connect() {
                        format!(
                            " (is a registry running at {}? one that speaks plain HTTP and is not on this machine needs --insecure)",
                            self.base
                        )
                    } else {
                        String::new()
                    };
                    Attempt::Retry {
                        reason: format!("{}{hint}", causes(&source)),
                        retry_after: None,
                    }
                }
                Err(error) => return Err(error),
            };
            match outcome {
                Attempt::Done(response) => return Ok(response),
                Attempt::Again => {}
                Attempt::Retry { reason, .. } if attempt >= self.retry.attempts => {
                    return Err(Error::Retries {
                        url,
                        attempts: attempt,
                        last: reason,
                    });
                }
                Attempt::Retry { retry_after, .. } => {
                    std::thread::sleep(self.retry.delay(attempt, retry_after.as_deref()));
                    attempt += 1;
                }
            }
        }
    }
    // ANCHOR_END: send

    // ANCHOR: judge
    /// Decides what a response means: done, authenticate and go again, or retry later.
    fn judge(&self, response: Response, scope: &str, authenticated: &mut bool) -> Result<Attempt> {
        let status = response.status().as_u16();
        let from_registry = same_origin(response.url().as_str(), &self.base);
        match status {
            // A host we were redirected to (a CDN) gets no credentials, so its
            // challenge is not ours to answer: its token service could be anyone's.
            401 | 403 if !from_registry => {
                let url = response.url().to_string();
                let (code, message) = error_body(response);
                Err(Error::Status {
                    method: "GET".into(),
                    url,
                    status,
                    code,
                    message: Some(format!(
                        "{}; the registry redirected here, and credentials are never sent to another host",
                        message.unwrap_or_else(|| "refused".into())
                    )),
                })
            }
            401 if !*authenticated => {
                *authenticated = true;
                self.authenticate(&response, scope)?;
                Ok(Attempt::Again)
            }
            401 | 403 => {
                let (code, message) = error_body(response);
                Err(Error::Unauthorized {
                    registry: self.registry.clone(),
                    code,
                    message,
                    hint: self.login_hint(),
                })
            }
            408 | 429 | 500..=599 => {
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                Ok(Attempt::Retry {
                    reason: format!("{} answered {}", response.url(), response.status()),
                    retry_after,
                })
            }
            _ => Ok(Attempt::Done(response)),
        }
    }
    // ANCHOR_END: judge

    fn login_hint(&self) -> String {
        match &self.credentials {
            Some(c) => format!(
                "user {:?} may not do this, or the password is wrong",
                c.username
            ),
            None => match crate::credentials::helper_for(&self.registry) {
                Some(helper) => format!(
                    "the credential helper docker-credential-{helper} has no credentials \
                     for this registry: log in (docker login {}), or set DOCKER_USERNAME \
                     and DOCKER_PASSWORD",
                    self.registry
                ),
                None => {
                    "log in: set DOCKER_USERNAME and DOCKER_PASSWORD, or run docker login".into()
                }
            },
        }
    }

    // ANCHOR: redirects
    /// Follows redirects by hand: credentials go only to the registry's own
    /// origin, never to the host a blob is redirected to (a CDN, S3).
    fn send_following_redirects(
        &self,
        method: &Method,
        url: &str,
        scope: &str,
        headers: &HeaderMap,
        body: Option<&BodyFn>,
    ) -> Result<Response> {
        let mut url = url.to_string();
        for _ in 0..10 {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .headers(headers.clone());
            if same_origin(&url, &self.base)
                && let Some(authorization) = self.authorization(scope)
            {
                request = request.header(AUTHORIZATION, authorization);
            }
            if let Some(body) = body {
                request = request.body(body().map_err(|source| Error::Body {
                    url: url.clone(),
                    source,
                })?);
            }
            let response = request.send().map_err(|source| Error::Http {
                url: url.clone(),
                source,
            })?;
            self.observe(method, &url, response.status().as_u16());
            if !response.status().is_redirection() {
                return Ok(response);
            }
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| Error::Status {
                    method: method.to_string(),
                    url: url.clone(),
                    status: response.status().as_u16(),
                    code: None,
                    message: Some("a redirect without a Location".into()),
                })?;
            url = response
                .url()
                .join(location)
                .map_err(|e| Error::Status {
                    method: method.to_string(),
                    url: url.clone(),
                    status: response.status().as_u16(),
                    code: None,
                    message: Some(format!(
                        "a redirect to an invalid Location {location:?}: {e}"
                    )),
                })?
                .to_string();
        }
        Err(Error::Status {
            method: method.to_string(),
            url,
            status: 310,
            code: None,
            message: Some("too many redirects".into()),
        })
    }
    // ANCHOR_END: redirects

    // ANCHOR: authorization
    /// The `Authorization` value for a request needing `scope`, if we have one.
    fn authorization(&self, scope: &str) -> Option<String> {
        if *self.basic.lock().unwrap() {
            return self.credentials.as_ref().map(Credentials::basic_header);
        }
        let tokens = self.tokens.lock().unwrap();
        let token = tokens.get(scope)?;
        (token.expires > Instant::now()).then(|| format!("Bearer {}", token.value))
    }
    // ANCHOR_END: authorization

    // ANCHOR: authenticate
    /// Answers a 401's challenge: a token for Bearer, credentials for Basic.
    fn authenticate(&self, response: &Response, scope: &str) -> Result<()> {
        let mut challenges: Vec<Challenge> = Vec::new();
        for value in response.headers().get_all(WWW_AUTHENTICATE) {
            let value = value.to_str().unwrap_or("");
            challenges.extend(challenge::parse_challenges(value)?);
        }
        if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
            let realm = bearer.param("realm").unwrap_or_default();
            if self.credentials.is_some()
                && self.base.starts_with("https://")
                && !realm.starts_with("https://")
            {
                return Err(Error::Token {
                    realm: realm.to_string(),
                    reason: "it is not an https:// address, and the registry is: \
                             refusing to send the password there in clear text"
                        .into(),
                });
            }
            let observe = |url: &str, status: u16| self.observe(&Method::GET, url, status);
            let token = match &self.credentials {
                // An identity token is exchanged for an access token (OAuth2).
                Some(c) if c.is_identity_token() => {
                    token::fetch_oauth_token(&self.http, bearer, scope, &c.password, &observe)?
                }
                credentials => {
                    token::fetch_token(&self.http, bearer, scope, credentials.as_ref(), &observe)?
                }
            };
            self.tokens.lock().unwrap().insert(scope.to_string(), token);
            return Ok(());
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            if self.credentials.is_none() {
                return Err(Error::Unauthorized {
                    registry: self.registry.clone(),
                    code: None,
                    message: Some("the registry asks for a user name and password".into()),
                    hint: self.login_hint(),
                });
            }
            *self.basic.lock().unwrap() = true;
            return Ok(());
        }
        Err(Error::Unauthorized {
            registry: self.registry.clone(),
            code: None,
            message: Some("401 without a challenge we know (Bearer or Basic)".into()),
            hint: self.login_hint(),
        })
    }
    // ANCHOR_END: authenticate
}

impl Client {
    // ANCHOR: get_document
    /// GETs a small document (a manifest, a config) whole, at most `limit`
    /// bytes of it. A body cut off on the way is asked for again, like any
    /// other dropped connection.
    pub fn get_document(
        &self,
        path: &str,
        scope: &str,
        headers: HeaderMap,
        limit: u64,
        what: &str,
    ) -> Result<(HeaderMap, Vec<u8>)> {
        let mut attempt = 1;
        loop {
            let response = check_status(
                &Method::GET,
                self.send(Method::GET, path, scope, headers.clone())?,
            )?;
            let received = response.headers().clone();
            let mut bytes = Vec::new();
            match std::io::Read::read_to_end(
                &mut std::io::Read::take(response, limit + 1),
                &mut bytes,
            ) {
                Ok(_) if bytes.len() as u64 > limit => {
                    return Err(Error::TooBig {
                        what: what.to_string(),
                        limit,
                    });
                }
                Ok(_) => return Ok((received, bytes)),
                Err(e) if attempt >= self.retry.attempts => {
                    return Err(Error::Retries {
                        url: self.url(path),
                        attempts: attempt,
                        last: format!("the body of {what} was cut off: {e}"),
                    });
                }
                Err(_) => {
                    std::thread::sleep(self.retry.delay(attempt, None));
                    attempt += 1;
                }
            }
        }
    }
    // ANCHOR_END: get_document
}

/// An error and every error under it, `: `-separated: reqwest's own message
/// ("error sending request") says little; the cause ("connection refused")
/// is what a user needs.
pub fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// The TLS failure under `error`, if it is one that fails the same way every
/// time: a certificate this machine cannot accept, or a server that answers
/// HTTPS in plain HTTP. Those are reported at once, with what to do, rather
/// than retried; any other TLS trouble is retried like a dropped connection.
/// `fallback` names the server when the error has no URL. `registry` is the
/// registry's base URL, if the request was meant for it: `--insecure`
/// changes the scheme of the registry alone (not a token service's, not a
/// CDN's it redirects to).
pub(crate) fn tls_failure(
    error: &reqwest::Error,
    fallback: &str,
    registry: Option<&str>,
) -> Option<Error> {
    use rustls::CertificateError as Certificate;
    let is_registry = registry.is_some_and(|base| {
        error
            .url()
            .is_none_or(|failed| same_origin(failed.as_str(), base))
    });
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            let fix = match tls {
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
                    if is_registry =>
                {
                    Some(
                        "it answered in plain HTTP: for a registry that speaks only that, use --insecure",
                    )
                }
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
                    Some("it answered in plain HTTP where HTTPS was expected")
                }
                rustls::Error::InvalidCertificate(Certificate::UnknownIssuer) => Some(
                    "no authority this machine trusts signed its certificate: add yours to \
                     the system's trust store (update-ca-certificates), or set SSL_CERT_FILE \
                     to a bundle holding the system's authorities and yours (it replaces \
                     the system's list)",
                ),
                rustls::Error::InvalidCertificate(
                    Certificate::NotValidForName | Certificate::NotValidForNameContext { .. },
                ) => Some("use the name its certificate was made for"),
                rustls::Error::InvalidCertificate(
                    Certificate::Expired
                    | Certificate::ExpiredContext { .. }
                    | Certificate::NotValidYet
                    | Certificate::NotValidYetContext { .. },
                ) => Some("check this machine's clock, or renew the certificate"),
                rustls::Error::InvalidCertificate(_) => None,
                _ => return None,
            };
            let url = error.url().map_or_else(
                || fallback.to_string(),
                |url| url.origin().ascii_serialization(),
            );
            return Some(Error::Tls {
                url,
                reason: tls.to_string(),
                fix,
            });
        }
        // rustls's error arrives wrapped in `io::Error`s, whose `source`
        // skips what they wrap: `get_ref` is the way in.
        next = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as _),
            None => cause.source(),
        };
    }
    None
}

/// Whether two URLs share scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// The `code` and `message` of a registry's JSON error body, if it sent one.
pub fn error_body(response: Response) -> (Option<String>, Option<String>) {
    // An error page from anywhere may be anything, and of any length.
    let mut bytes = Vec::new();
    let _ = std::io::Read::read_to_end(&mut std::io::Read::take(response, 64 * 1024), &mut bytes);
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let first = &body["errors"][0];
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    (text(&first["code"]), text(&first["message"]))
}

/// Turns a non-2xx answer into an error that names the request.
pub fn check_status(method: &Method, response: Response) -> Result<Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let url = response.url().to_string();
    let status = response.status().as_u16();
    let (code, message) = error_body(response);
    Err(Error::Status {
        method: method.to_string(),
        url,
        status,
        code,
        message,
    })
}
