//! Fetching a Bearer token from the realm a challenge names.

use crate::challenge::Challenge;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use std::io::Read;
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

/// The most of a realm's answer that is read: a token answer is small, and
/// it comes from the network.
pub const ANSWER_LIMIT: u64 = 1 << 20;
// ANCHOR_END: token

// ANCHOR: fetch_token
/// Asks the challenge's realm for a token for `scope`, with Basic credentials
/// when there are any (anonymous otherwise).
pub fn fetch_token(
    http: &reqwest::blocking::Client,
    challenge: &Challenge,
    scope: &str,
    credentials: Option<&Credentials>,
    observe: &dyn Fn(&str, u16),
) -> Result<Token> {
    let (realm, query) = token_query(challenge, scope)?;
    // reqwest encodes the query; a name may repeat (`scope=...&scope=...`).
    let mut request = http.get(realm).query(&query);
    // Credentials go to the realm, and nowhere else.
    if let Some(credentials) = credentials {
        request = request.header(reqwest::header::AUTHORIZATION, credentials.basic_header());
    }
    let response = request
        .send()
        .map_err(|source| request_failed(realm, source))?;
    // The `-v` log: the URL the answer came from, query included.
    observe(response.url().as_str(), response.status().as_u16());
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(Error::Unauthorized {
            registry: realm.to_string(),
            code: None,
            message: None,
            // A hint, never the password.
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
    read_token(response, realm)
}
// ANCHOR_END: fetch_token

// ANCHOR: token_query
/// The realm to ask for a token for `scope`, and the query to send it:
/// `service` when the challenge names one, then a `scope` for each scope.
pub fn token_query<'a>(
    challenge: &'a Challenge,
    scope: &'a str,
) -> Result<(&'a str, Vec<(&'static str, &'a str)>)> {
    // EXERCISE(token-query): Find the realm of a Bearer challenge and the query to send it.
    // - The realm is the challenge's `realm` parameter. A challenge without
    //   one is `Error::Token`, with an empty `realm` and the reason
    //   "the challenge names no realm".
    // - The query is a list of `(name, value)` pairs: `("service", ...)`
    //   first, when the challenge has a `service`; then one `("scope", ...)`
    //   for each scope we need (`scope` may hold several, separated by
    //   spaces: a mount needs the source repository too; an empty `scope`
    //   holds none); then the challenge's own `scope`, when it names one we
    //   did not. See book/src/step-01-registry.md#exercise-token-query-deep-dive.
    // HINT: `challenge.param(name)` gives a parameter, if there is one. Gather the scopes in a
    // `Vec` before you make pairs of them, so you can ask whether the challenge's is new.
    // HINT+: `Option::ok_or_else` turns a missing realm into the error. `scope.split(' ')` with
    // the empty parts filtered out gives our scopes; `Vec::contains` says whether the challenge's
    // is among them. `Vec::extend` with a `map` to `("scope", s)` appends the pairs.
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
    Ok((realm, query))
    // END EXERCISE
}
// ANCHOR_END: token_query

// ANCHOR: read_token
/// Reads the answer of `realm` to a token request: the token, and when it
/// stops working.
pub fn read_token(body: impl Read, realm: &str) -> Result<Token> {
    // EXERCISE(read-token): Read a token and its lifetime from a realm's answer.
    // - Read at most `ANSWER_LIMIT` bytes (1 MiB) of `body`. A read that
    //   fails is `Error::Token` with the reason "the answer was cut off: "
    //   followed by the error.
    // - Parse them as JSON; bytes that are not JSON are `Error::Json` with
    //   `what` "the answer of <realm>".
    // - The token is the first of `token` and `access_token` that is a
    //   string and not empty. None is `Error::Token` with the reason
    //   `the answer has neither "token" nor "access_token"`.
    // - It lives `expires_in` seconds from now when that is a whole number,
    //   else `DEFAULT_EXPIRY`. See book/src/step-01-registry.md#exercise-read-token-deep-dive.
    // HINT: `Read::take` makes a reader that stops after so many bytes; read that one to the end.
    // Then parse the bytes as a `serde_json::Value`, whose fields you can look up by name.
    // HINT+: `Read::read_to_end` of the `take`n reader fills a `Vec<u8>` (`map_err` turns its
    // error into yours); `serde_json::from_slice` gives the `Value`. `get(name)` and `as_str` read
    // a string field, `as_u64` a number. `Iterator::find` picks the first token that is not
    // empty; `Option::map_or` with `Duration::from_secs` gives the lifetime.
    let mut bytes = Vec::new();
    body.take(ANSWER_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Token {
            realm: realm.to_string(),
            reason: format!("the answer was cut off: {e}"),
        })?;
    let answer: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|source| Error::Json {
            what: format!("the answer of {realm}"),
            source,
        })?;
    let value = ["token", "access_token"]
        .iter()
        .filter_map(|name| answer.get(name).and_then(|t| t.as_str()))
        .find(|t| !t.is_empty())
        .ok_or_else(|| Error::Token {
            realm: realm.to_string(),
            reason: "the answer has neither \"token\" nor \"access_token\"".into(),
        })?;
    let lifetime = answer
        .get("expires_in")
        .and_then(|e| e.as_u64())
        .map_or(DEFAULT_EXPIRY, Duration::from_secs);
    Ok(Token {
        value: value.to_string(),
        expires: Instant::now() + lifetime,
    })
    // END EXERCISE
}
// ANCHOR_END: read_token

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
    let (realm, query) = token_query(challenge, scope)?;
    // The same scopes, in one field of the form, separated by spaces.
    let scopes: Vec<&str> = query
        .iter()
        .filter(|(name, _)| *name == "scope")
        .map(|(_, scope)| *scope)
        .collect();
    let scopes = scopes.join(" ");
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", identity_token),
        ("client_id", CLIENT_ID),
        ("scope", scopes.as_str()),
    ];
    form.extend(query.iter().filter(|(name, _)| *name == "service").copied());
    let response = http
        .post(realm)
        .form(&form)
        .send()
        .map_err(|source| request_failed(realm, source))?;
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
    // Capped as in `read_token`, but read as OAuth2 has it: `access_token`
    // only, and a token that is not there is an error of the JSON.
    let mut bytes = Vec::new();
    response
        .take(ANSWER_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Token {
            realm: realm.to_string(),
            reason: format!("the answer was cut off: {e}"),
        })?;
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

/// A request to the realm that got no answer: a TLS failure says what to do
/// about it (see [`crate::client`]), anything else that the realm is out of
/// reach.
fn request_failed(realm: &str, source: reqwest::Error) -> Error {
    crate::client::tls_failure(&source, realm, None).unwrap_or(Error::Http {
        url: realm.to_string(),
        source,
    })
}

/// The two exercises of a token request on their own: the query, from a
/// challenge made by hand, and the answer, read from bytes in memory.
#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use workshop::{check, check_eq};

    const QUERY: &str = "step-01-registry.md#exercise-token-query-deep-dive";
    const ANSWER: &str = "step-01-registry.md#exercise-read-token-deep-dive";

    fn bearer(params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: "bearer".into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn the_query_names_the_service_and_each_scope() {
        let hub = bearer(&[
            ("realm", "https://auth.docker.io/token"),
            ("service", "registry.docker.io"),
            ("scope", "repository:library/alpine:pull"),
        ]);
        check_eq!(
            token_query(&hub, "repository:library/alpine:pull").unwrap(),
            (
                "https://auth.docker.io/token",
                vec![
                    ("service", "registry.docker.io"),
                    ("scope", "repository:library/alpine:pull"),
                ]
            ),
            read = QUERY,
            "Docker Hub's challenge, asking for the scope it names"
        );
        let push = bearer(&[
            ("realm", "http://r/token"),
            ("scope", "repository:me/app:pull,push"),
        ]);
        check_eq!(
            token_query(
                &push,
                "repository:me/app:pull,push repository:library/hello:pull"
            )
            .unwrap(),
            (
                "http://r/token",
                vec![
                    ("scope", "repository:me/app:pull,push"),
                    ("scope", "repository:library/hello:pull"),
                ]
            ),
            read = QUERY,
            "two scopes (a mount), no service, and the challenge's scope already asked for"
        );
        let catalog = bearer(&[
            ("realm", "http://r/token"),
            ("service", "r"),
            ("scope", "registry:catalog:*"),
        ]);
        check_eq!(
            token_query(&catalog, "").unwrap(),
            (
                "http://r/token",
                vec![("service", "r"), ("scope", "registry:catalog:*")]
            ),
            read = QUERY,
            "no scope of ours, and the challenge's own"
        );
    }

    #[test]
    fn a_challenge_without_a_realm_is_refused() {
        let error = token_query(&bearer(&[("service", "r")]), "").unwrap_err();
        check!(
            matches!(error, Error::Token { .. }),
            expected = "Error::Token",
            got = error,
            read = QUERY,
        );
        check_eq!(
            error.to_string(),
            "the token service at  answered without a token: the challenge names no realm",
            read = QUERY
        );
    }

    /// `(token, lifetime in whole seconds)` of an answer, or its error.
    fn read(answer: &str) -> std::result::Result<(String, u64), String> {
        let before = Instant::now();
        let token = read_token(answer.as_bytes(), "http://r/token").map_err(|e| e.to_string())?;
        // Whole seconds: the little time that passes before the token is made
        // does not count.
        let lifetime = (token.expires - before).as_secs();
        Ok((token.value, lifetime))
    }

    #[test]
    fn an_answer_gives_a_token_and_its_lifetime() {
        let ok = |token: &str, seconds: u64| Ok((token.to_string(), seconds));
        let cases = [
            (r#"{"token":"t0k3n","expires_in":300}"#, ok("t0k3n", 300)),
            (r#"{"access_token":"acc3ss"}"#, ok("acc3ss", 60)),
            (
                r#"{"token":"t","access_token":"t","expires_in":"soon"}"#,
                ok("t", 60),
            ),
            (
                r#"{"token":""}"#,
                Err(
                    "the token service at http://r/token answered without a token: \
                     the answer has neither \"token\" nor \"access_token\""
                        .to_string(),
                ),
            ),
        ];
        for (answer, expected) in cases {
            check_eq!(read(answer), expected, read = ANSWER, "the answer {answer}");
        }
        let error = read("<html>").unwrap_err();
        check!(
            error.starts_with("the answer of http://r/token is not valid JSON: "),
            expected = "the answer of http://r/token is not valid JSON: ...",
            got = error,
            read = ANSWER,
        );
    }

    #[test]
    fn no_more_than_a_mebibyte_of_an_answer_is_read() {
        let huge = format!(r#"{{"token":"t0k3n","padding":"{}"}}"#, "x".repeat(2 << 20));
        let mut rest = huge.as_bytes();
        let result = read_token(&mut rest, "http://r/token");
        check_eq!(
            huge.len() - rest.len(),
            1 << 20,
            read = ANSWER,
            "bytes read of a 2 MiB answer"
        );
        check!(
            matches!(result, Err(Error::Json { .. })),
            expected = "Error::Json: the answer was cut off at 1 MiB",
            got = result.map(|t| t.value),
            read = ANSWER,
        );
    }
}
