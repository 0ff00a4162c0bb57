//! The narrow cases real registries produce, each served by a tiny mock server.

mod common;

use common::client;
use mockito::Matcher;
use reqwest::Method;
use reqwest::header::HeaderMap;
use std::time::Duration;
use step_01_registry::credentials::{Credentials, from_docker_config};
use step_01_registry::manifest::{self, DOCKER_MANIFEST, OCI_MANIFEST};
use step_01_registry::{Error, Reference, RetryPolicy};

fn reference_for(server: &mockito::Server, name: &str) -> Reference {
    Reference::parse(&format!("{}/{name}", server.host_with_port())).unwrap()
}

fn manifest_body(media_type: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{media_type}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}},"layers":[]}}"#,
        "0".repeat(64)
    )
}

#[test]
fn redirected_blobs_are_fetched_without_credentials() {
    let mut registry = mockito::Server::new();
    let mut cdn = mockito::Server::new();
    let realm = format!("{}/token", registry.url());
    let _challenge = registry
        .mock("GET", "/v2/me/app/blobs/sha256:abc")
        .match_header("authorization", Matcher::Missing)
        .with_status(401)
        .with_header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{realm}",service="r",scope="repository:me/app:pull""#),
        )
        .create();
    let _token = registry
        .mock("GET", "/token")
        .match_query(Matcher::Any)
        .with_body(r#"{"access_token":"t0k3n"}"#)
        .create();
    let _redirect = registry
        .mock("GET", "/v2/me/app/blobs/sha256:abc")
        .match_header("authorization", "Bearer t0k3n")
        .with_status(307)
        .with_header(
            "Location",
            &format!("{}/storage/abc?signature=x", cdn.url()),
        )
        .create();
    let served = cdn
        .mock("GET", "/storage/abc")
        .match_query(Matcher::Any)
        .match_header("authorization", Matcher::Missing)
        .with_body("blob bytes")
        .create();
    let (client, _) = client(&reference_for(&registry, "me/app"), None);
    let response = client
        .send(
            Method::GET,
            "/v2/me/app/blobs/sha256:abc",
            "repository:me/app:pull",
            HeaderMap::new(),
        )
        .unwrap();
    workshop::check_eq!(
        response.text().unwrap(),
        "blob bytes",
        read = "step-01-registry.md#retries-and-redirects",
        "the blob comes from the redirect target"
    );
    served.assert();
}

#[test]
fn a_manifest_whose_digest_header_lies_is_refused() {
    let mut server = mockito::Server::new();
    let body = manifest_body(OCI_MANIFEST);
    let _m = server
        .mock("GET", "/v2/me/app/manifests/v1")
        .with_header("Content-Type", OCI_MANIFEST)
        .with_header(
            "Docker-Content-Digest",
            &format!("sha256:{}", "1".repeat(64)),
        )
        .with_body(&body)
        .create();
    let (client, _) = client(&reference_for(&server, "me/app:v1"), None);
    let error = manifest::fetch(&client, "me/app", "v1").unwrap_err();
    workshop::check!(
        matches!(error, Error::DigestMismatch { .. }),
        expected = "Error::DigestMismatch",
        got = error,
        read = "step-01-registry.md#digests",
    );
}

#[test]
fn a_manifest_asked_for_by_digest_must_hash_to_it() {
    let mut server = mockito::Server::new();
    let wanted = format!("sha256:{}", "2".repeat(64));
    let _m = server
        .mock("GET", format!("/v2/me/app/manifests/{wanted}").as_str())
        .with_header("Content-Type", OCI_MANIFEST)
        .with_body(manifest_body(OCI_MANIFEST))
        .create();
    let (client, _) = client(&reference_for(&server, "me/app"), None);
    let error = manifest::fetch(&client, "me/app", &wanted).unwrap_err();
    workshop::check!(
        matches!(error, Error::DigestMismatch { .. }),
        expected = "Error::DigestMismatch",
        got = error,
        read = "step-01-registry.md#digests",
    );
}

#[test]
fn a_body_that_contradicts_its_content_type_is_refused() {
    let mut server = mockito::Server::new();
    let _m = server
        .mock("GET", "/v2/me/app/manifests/v1")
        .with_header("Content-Type", DOCKER_MANIFEST)
        .with_body(manifest_body(OCI_MANIFEST))
        .create();
    let (client, _) = client(&reference_for(&server, "me/app:v1"), None);
    let error = manifest::fetch(&client, "me/app", "v1").unwrap_err();
    workshop::check_eq!(
        error.to_string(),
        format!(
            "manifest me/app:v1: its mediaType is {OCI_MANIFEST} but it was served as {DOCKER_MANIFEST}"
        ),
        read = "step-01-registry.md#manifests-and-indexes"
    );
}

#[test]
fn oversized_manifests_are_not_read_whole() {
    let mut server = mockito::Server::new();
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(4 * 1024 * 1024));
    let _m = server
        .mock("GET", "/v2/me/app/manifests/v1")
        .with_header("Content-Type", OCI_MANIFEST)
        .with_body(huge)
        .create();
    let (client, _) = client(&reference_for(&server, "me/app:v1"), None);
    let error = manifest::fetch(&client, "me/app", "v1").unwrap_err();
    workshop::check!(
        matches!(error, Error::TooBig { .. }),
        expected = "Error::TooBig",
        got = error,
        read = "step-01-registry.md#manifests-and-indexes",
    );
}

#[test]
fn an_index_with_unknown_entries_still_resolves() {
    let mut server = mockito::Server::new();
    let image = manifest_body(OCI_MANIFEST);
    let image_digest = manifest::sha256_digest(image.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
        {{"mediaType":"application/vnd.example.future+json","digest":"sha256:{}","size":1,"platform":{{"os":"linux","architecture":"amd64"}}}},
        {{"mediaType":"{OCI_MANIFEST}","digest":"{image_digest}","size":{},"platform":{{"os":"linux","architecture":"arm64"}}}}]}}"#,
        "3".repeat(64),
        image.len()
    );
    let _index = server
        .mock("GET", "/v2/me/app/manifests/v1")
        .with_header("Content-Type", "application/vnd.oci.image.index.v1+json")
        .with_body(&index)
        .create();
    let fetched = {
        let (client, _) = client(&reference_for(&server, "me/app:v1"), None);
        manifest::fetch(&client, "me/app", "v1").unwrap()
    };
    let manifest::Manifest::Index(list) = fetched.manifest else {
        panic!("an index was expected");
    };
    let wanted = step_01_registry::platform::Platform::parse("linux/arm64/v8").unwrap();
    let chosen = step_01_registry::platform::select(&list, &wanted, "me/app:v1").unwrap();
    workshop::check_eq!(
        chosen.digest,
        image_digest,
        read = "step-01-registry.md#choosing-a-platform",
        "arm64 without a variant serves arm64/v8, and the unknown media type is skipped"
    );
}

#[test]
fn retry_after_is_honoured_within_a_limit() {
    let policy = RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(5),
    };
    let read = "step-01-registry.md#retries-and-redirects";
    let cases = [
        (1, Some("2"), Duration::from_secs(2), "Retry-After: 2"),
        (
            1,
            Some("600"),
            Duration::from_secs(5),
            "Retry-After: 600, capped",
        ),
        (
            3,
            None,
            Duration::from_millis(400),
            "no Retry-After: doubling backoff",
        ),
        (
            2,
            Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            Duration::from_millis(200),
            "an HTTP date: doubling backoff",
        ),
        (
            1,
            Some("soon"),
            Duration::from_millis(100),
            "Retry-After: soon",
        ),
    ];
    for (attempt, retry_after, wait, what) in cases {
        workshop::check_eq!(
            policy.delay(attempt, retry_after),
            wait,
            read = read,
            "the wait after attempt {attempt}, {what}"
        );
    }
}

#[test]
fn docker_config_credentials_are_found_by_registry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        r#"{"auths":{
            "https://index.docker.io/v1/":{"auth":"aHViLXVzZXI6aHViLXBhc3M="},
            "localhost:5000":{"auth":"bG9jYWw6c2VjcmV0"},
            "http://other.example:8080":{"username":"u","password":"p"}}}"#,
    )
    .unwrap();
    let read = "step-01-registry.md#credentials";
    workshop::check_eq!(
        from_docker_config(&path, "docker.io").unwrap(),
        Some(Credentials::new("hub-user", "hub-pass")),
        read = read,
        "Docker Hub's key is https://index.docker.io/v1/"
    );
    workshop::check_eq!(
        from_docker_config(&path, "localhost:5000").unwrap(),
        Some(Credentials::new("local", "secret")),
        read = read
    );
    workshop::check_eq!(
        from_docker_config(&path, "other.example:8080").unwrap(),
        Some(Credentials::new("u", "p")),
        read = read
    );
    workshop::check_eq!(
        from_docker_config(&path, "nowhere.example").unwrap(),
        None,
        read = read
    );
    let debug = format!("{:?}", Credentials::new("local", "secret"));
    workshop::check!(
        !debug.contains("secret"),
        expected = "the password hidden",
        got = debug,
        read = read
    );
}

#[test]
fn a_challenge_from_a_redirect_target_is_not_answered() {
    let mut registry = mockito::Server::new();
    let mut cdn = mockito::Server::new();
    let mut thief = mockito::Server::new();
    let realm = format!("{}/token", registry.url());
    let _ours = registry
        .mock("GET", "/v2/me/app/blobs/sha256:abc")
        .match_header("authorization", Matcher::Missing)
        .with_status(401)
        .with_header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{realm}",service="r""#),
        )
        .create();
    let _token = registry
        .mock("GET", "/token")
        .match_query(Matcher::Any)
        .with_body(r#"{"token":"t0k3n"}"#)
        .create();
    let _redirect = registry
        .mock("GET", "/v2/me/app/blobs/sha256:abc")
        .match_header("authorization", "Bearer t0k3n")
        .with_status(307)
        .with_header("Location", &format!("{}/storage/abc", cdn.url()))
        .create();
    let _challenge = cdn
        .mock("GET", "/storage/abc")
        .with_status(401)
        .with_header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{}/token",service="s""#, thief.url()),
        )
        .create();
    let stolen = thief
        .mock("GET", "/token")
        .match_query(Matcher::Any)
        .expect(0)
        .create();
    let reference = reference_for(&registry, "me/app");
    let (client, _) = client(&reference, Some(Credentials::new("learner", "secret")));
    let error = client
        .send(
            Method::GET,
            "/v2/me/app/blobs/sha256:abc",
            "repository:me/app:pull",
            HeaderMap::new(),
        )
        .unwrap_err();
    stolen.assert();
    workshop::check!(
        matches!(error, Error::Status { status: 401, .. }),
        expected = "an error naming the redirect target, and no credentials sent to its realm",
        got = error,
        read = "step-01-registry.md#retries-and-redirects",
    );
}

#[test]
fn digests_that_are_not_sha256_are_refused_before_they_become_paths() {
    let mut server = mockito::Server::new();
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:../../../../tmp/evil","size":10}}]}}"#,
        "0".repeat(64)
    );
    let _m = server
        .mock("GET", "/v2/me/app/manifests/v1")
        .with_header("Content-Type", OCI_MANIFEST)
        .with_body(&body)
        .create();
    let (client, _) = client(&reference_for(&server, "me/app:v1"), None);
    let error = manifest::fetch(&client, "me/app", "v1").unwrap_err();
    // serde may add where in the JSON it was (` at line 1 column 250`),
    // depending on how the manifest was read: the rest is fixed.
    let message = error.to_string();
    workshop::check!(
        message.starts_with(
            "manifest me/app:v1: digest \"sha256:../../../../tmp/evil\" is not sha256: \
             followed by 64 lowercase hex digits"
        ) && message.ends_with("; the registry is broken or hostile"),
        expected = "manifest me/app:v1: digest \"sha256:../../../../tmp/evil\" is not sha256: \
                    followed by 64 lowercase hex digits; the registry is broken or hostile",
        got = message,
        read = "step-01-registry.md#digests-as-a-type",
    );
}

#[test]
fn a_credential_helper_is_named_when_nothing_else_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"auths":{"https://index.docker.io/v1/":{}},"credsStore":"desktop"}"#,
    )
    .unwrap();
    let path = dir.path().join("config.json");
    let read = "step-01-registry.md#credentials";
    workshop::check_eq!(
        from_docker_config(&path, "docker.io").unwrap(),
        None,
        read = read,
        "an empty auths entry is no password"
    );
    workshop::check_eq!(
        step_01_registry::credentials::helper_in(&path, "docker.io"),
        Some("desktop".to_string()),
        read = read,
        "the helper that holds the password, for the error message"
    );
}
