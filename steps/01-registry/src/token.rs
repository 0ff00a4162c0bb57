//! Fetching a Bearer token from the realm a challenge names.

use crate::challenge::Challenge;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use std::time::{Duration, Instant};

// ANCHOR: token
/// A token and when it stops working.
#[derive(Clone)]
pub struct Token {
    pub value: String,
    pub expires: Instant,
}

/// How long a token lives when the realm does not say (the spec's default).
pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(60);
// ANCHOR_END: token

/// Asks the challenge's realm for a token for `scope`, with Basic credentials
/// when there are any (anonymous otherwise).
pub fn fetch_token(
    http: &reqwest::blocking::Client,
    challenge: &Challenge,
    scope: &str,
    credentials: Option<&Credentials>,
    observe: &dyn Fn(&str, u16),
) -> Result<Token> {
    // EXERCISE(fetch-token): Get a token from the realm of a Bearer challenge.
    // - The realm parameter is the URL; send `service` (when the challenge
    //   has one) and a `scope` parameter for each scope we need (`scope` may
    //   hold several, separated by spaces: a mount needs the source
    //   repository too), plus the challenge's own scope when it names one
    //   we did not.
    // - Credentials go to the realm as `Authorization: Basic ...`
    //   (`Credentials::basic_header`), never anywhere else.
    // - Call `observe(url, status)` once the answer arrives (the `-v` log).
    // - The answer is JSON with `token` or `access_token` (or both) and
    //   maybe `expires_in` seconds (default: `DEFAULT_EXPIRY`); read at most
    //   a megabyte of it (`Read::take`): it comes from the network.
    // HINT: Let reqwest encode the query: `RequestBuilder::query` takes a slice of `(name, value)`
    // pairs, and a name may repeat. `observe` wants the URL the answer came from, query included.
    // HINT+: `challenge.param("realm")` is the URL (none: `Error::Token`). The pairs: `service`,
    // then a `scope` for each space-separated part of `scope`, then the challenge's scope if it is
    // new. Add `AUTHORIZATION` from `basic_header` only when `credentials` is `Some`. After `send`,
    // call `observe` with `response.url()`; 401/403 is `Error::Unauthorized` (a hint, never the
    // password), other failures `Error::Token`. Parse the capped body as a `serde_json::Value`.
    let realm = challenge.param("realm").ok_or_else(|| Error::Token {
        realm: String::new(),
        reason: "the challenge names no realm".into(),
    })?;
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(service) = challenge.param("service") {
        query.push(("service", service));
    }
    let mut scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if let Some(asked) = challenge.param("scope")
        && !scopes.contains(&asked)
    {
        scopes.push(asked);
    }
    query.extend(scopes.into_iter().map(|s| ("scope", s)));
    let mut request = http.get(realm).query(&query);
    if let Some(credentials) = credentials {
        request = request.header(reqwest::header::AUTHORIZATION, credentials.basic_header());
    }
    let response = request.send().map_err(|source| Error::Http {
        url: realm.to_string(),
        source,
    })?;
    observe(response.url().as_str(), response.status().as_u16());
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(Error::Unauthorized {
            registry: realm.to_string(),
            code: None,
            message: None,
            hint: match credentials {
                Some(c) => format!(
                    "check the password of {:?} (DOCKER_PASSWORD or docker login)",
                    c.username
                ),
                None => "log in: set DOCKER_USERNAME and DOCKER_PASSWORD".to_string(),
            },
        });
    }
    if !status.is_success() {
        return Err(Error::Token {
            realm: realm.to_string(),
            reason: format!("it answered {status}"),
        });
    }
    // A token answer is small; never read more than a megabyte of one.
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(response, 1 << 20), &mut bytes).map_err(
        |e| Error::Token {
            realm: realm.to_string(),
            reason: format!("the answer was cut off: {e}"),
        },
    )?;
    let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        what: format!("the answer of {realm}"),
        source,
    })?;
    let value = body
        .get("token")
        .or_else(|| body.get("access_token"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Token {
            realm: realm.to_string(),
            reason: "the answer has neither \"token\" nor \"access_token\"".into(),
        })?;
    let lifetime = body
        .get("expires_in")
        .and_then(|e| e.as_u64())
        .map_or(DEFAULT_EXPIRY, Duration::from_secs);
    Ok(Token {
        value: value.to_string(),
        expires: Instant::now() + lifetime,
    })
    // END EXERCISE
}

/// The `client_id` an OAuth2 token request names (Docker sends `docker`).
const CLIENT_ID: &str = "dockerless";

// ANCHOR: oauth_token
/// Exchanges an identity token (an OAuth2 refresh token, what a credential
/// helper may hold instead of a password) for an access token: a `POST` of
/// a form to the realm, as Docker does, since a refresh token is not a
/// password and cannot go as Basic credentials.
pub fn fetch_oauth_token(
    http: &reqwest::blocking::Client,
    challenge: &Challenge,
    scope: &str,
    identity_token: &str,
    observe: &dyn Fn(&str, u16),
) -> Result<Token> {
    let realm = challenge.param("realm").ok_or_else(|| Error::Token {
        realm: String::new(),
        reason: "the challenge names no realm".into(),
    })?;
    let mut scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if let Some(asked) = challenge.param("scope")
        && !scopes.contains(&asked)
    {
        scopes.push(asked);
    }
    let scopes = scopes.join(" ");
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", identity_token),
        ("client_id", CLIENT_ID),
        ("scope", scopes.as_str()),
    ];
    if let Some(service) = challenge.param("service") {
        form.push(("service", service));
    }
    let response = http
        .post(realm)
        .form(&form)
        .send()
        .map_err(|source| Error::Http {
            url: realm.to_string(),
            source,
        })?;
    observe(response.url().as_str(), response.status().as_u16());
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED
        || status == reqwest::StatusCode::FORBIDDEN
        || status == reqwest::StatusCode::BAD_REQUEST
    {
        return Err(Error::Unauthorized {
            registry: realm.to_string(),
            code: None,
            message: Some("the identity token was refused".into()),
            hint: "it may have expired: log in again (docker login)".into(),
        });
    }
    if !status.is_success() {
        return Err(Error::Token {
            realm: realm.to_string(),
            reason: format!(
                "it answered {status} to an identity token (an OAuth2 refresh token); \
                 a realm that does not take them needs a user name and password"
            ),
        });
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(response, 1 << 20), &mut bytes).map_err(
        |e| Error::Token {
            realm: realm.to_string(),
            reason: format!("the answer was cut off: {e}"),
        },
    )?;
    #[derive(serde::Deserialize)]
    struct Answer {
        access_token: String,
        expires_in: Option<u64>,
    }
    let answer: Answer = serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        what: format!("the OAuth2 answer of {realm}"),
        source,
    })?;
    Ok(Token {
        value: answer.access_token,
        expires: Instant::now()
            + answer
                .expires_in
                .map_or(DEFAULT_EXPIRY, Duration::from_secs),
    })
}
// ANCHOR_END: oauth_token
