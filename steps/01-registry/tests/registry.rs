//! Talking to a real (bundled) registry: the token dance, manifests, indexes,
//! platforms and configs, as `dockerless inspect` does it.

mod common;

use common::{client, reference};
use mock_registry::{Auth, Fault, FaultRule, MockRegistry, Target};
use step_01_registry::Error;
use step_01_registry::credentials::Credentials;
use step_01_registry::inspect::resolve;
use step_01_registry::manifest::{self, Manifest};
use step_01_registry::platform::Platform;

fn registry() -> MockRegistry {
    let registry = MockRegistry::with_fixtures().expect("the bundled registry starts");
    registry.set_auth(Auth::token("learner", "secret"));
    registry
}

/// The registry's log with its address and tokens out of the way.
fn server_log(registry: &MockRegistry) -> String {
    registry.take_request_lines().join("\n")
}

#[test]
fn an_anonymous_pull_does_the_token_dance() {
    let registry = registry();
    let (client, recorder) = client(&reference(&registry.host(), "library/hello"), None);
    let r = reference(&registry.host(), "library/hello");
    resolve(&client, &r, None).expect("library/hello resolves");
    insta::assert_snapshot!("anonymous_client_log", recorder.take());
    insta::assert_snapshot!("anonymous_server_log", server_log(&registry));
}

#[test]
fn an_authenticated_pull_sends_credentials_to_the_realm_only() {
    let registry = registry();
    let r = reference(&registry.host(), "library/layers:oci");
    let (client, recorder) = client(&r, Some(Credentials::new("learner", "secret")));
    resolve(&client, &r, None).expect("library/layers:oci resolves");
    insta::assert_snapshot!("authenticated_client_log", recorder.take());
    let requests = registry.requests();
    let basic: Vec<String> = requests
        .iter()
        .filter(|r| r.authorization.as_deref() == Some("Basic"))
        .map(|r| r.path.clone())
        .collect();
    workshop::check!(
        basic.iter().all(|path| path.starts_with("/token")),
        expected = "Basic credentials sent to the token realm only",
        got = basic,
        read = "step-01-registry.md#credentials",
    );
}

#[test]
fn inspect_summaries() {
    let registry = registry();
    let mut out = String::new();
    for (name, platform) in [
        ("library/hello:latest", None),
        ("library/hello:oci", None),
        ("library/layers:latest", None),
        ("library/multi:oci", Some("linux/amd64")),
        ("library/multi:latest", Some("linux/arm64")),
        ("library/multi:oci", Some("linux/arm64/v8")),
    ] {
        let r = reference(&registry.host(), name);
        let (client, _) = client(&r, None);
        let platform = platform.map(|p| Platform::parse(p).unwrap());
        let resolved = resolve(&client, &r, platform.as_ref()).expect("fixture resolves");
        out.push_str(&resolved.to_string().replace(&registry.host(), "REGISTRY"));
        out.push('\n');
    }
    insta::assert_snapshot!(out);
}

#[test]
fn no_matching_platform_lists_what_there_is() {
    let registry = registry();
    let r = reference(&registry.host(), "library/multi:oci");
    let (client, _) = client(&r, None);
    let wanted = Platform::parse("linux/s390x").unwrap();
    let error = resolve(&client, &r, Some(&wanted)).unwrap_err();
    let message = error.to_string().replace(&registry.host(), "REGISTRY");
    workshop::check_eq!(
        message,
        "REGISTRY/library/multi:oci has no image for linux/s390x; it has: linux/amd64, linux/arm64/v8. Choose one with --platform",
        read = "step-01-registry.md#choosing-a-platform",
        "the attestation entry (unknown/unknown) is not a platform"
    );
}

#[test]
fn an_index_is_an_index_and_its_entries_have_platforms() {
    let registry = registry();
    let r = reference(&registry.host(), "library/multi:latest");
    let (client, _) = client(&r, None);
    let fetched = manifest::fetch(&client, &r.repository, r.reference()).unwrap();
    let Manifest::Index(index) = &fetched.manifest else {
        workshop::fail(
            "an index",
            format!("{:?}", fetched.manifest),
            "step-01-registry.md#manifests-and-indexes",
        );
    };
    let platforms: Vec<String> = index
        .manifests
        .iter()
        .map(|d| d.platform.as_ref().unwrap().to_string())
        .collect();
    workshop::check_eq!(
        platforms,
        ["linux/amd64", "linux/arm64/v8", "unknown/unknown"],
        read = "step-01-registry.md#manifests-and-indexes"
    );
}

#[test]
fn an_expired_token_is_replaced_once() {
    let registry = registry();
    let r = reference(&registry.host(), "library/hello");
    let (client, recorder) = client(&r, None);
    manifest::fetch(&client, &r.repository, "latest").unwrap();
    registry.expire_tokens();
    recorder.take();
    manifest::fetch(&client, &r.repository, "latest").expect("a new token is fetched");
    insta::assert_snapshot!(recorder.take(), @r"
    GET http://REGISTRY/v2/library/hello/manifests/latest -> 401
    GET http://REGISTRY/token?service=mock-registry&scope=repository%3Alibrary%2Fhello%3Apull -> 200
    GET http://REGISTRY/v2/library/hello/manifests/latest -> 200
    ");
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let registry = registry();
    registry
        .inject(FaultRule::new(Fault::TooManyRequests { retry_after: 1 }).on(Target::Manifests));
    registry.inject(FaultRule::new(Fault::ServerError { status: 503 }).on(Target::Manifests));
    let r = reference(&registry.host(), "library/hello");
    let (client, recorder) = client(&r, None);
    manifest::fetch(&client, &r.repository, "latest").expect("the third attempt succeeds");
    let statuses: Vec<String> = recorder
        .take()
        .lines()
        .filter(|l| l.contains("/manifests/"))
        .map(|l| l.rsplit(' ').next().unwrap().to_string())
        .collect();
    workshop::check_eq!(
        statuses,
        ["429", "503", "401", "200"],
        read = "step-01-registry.md#retries-and-redirects"
    );
}

#[test]
fn retries_are_bounded() {
    let registry = registry();
    registry.inject(
        FaultRule::new(Fault::ServerError { status: 500 })
            .on(Target::Manifests)
            .always(),
    );
    let r = reference(&registry.host(), "library/hello");
    let (client, _) = client(&r, None);
    let error = manifest::fetch(&client, &r.repository, "latest").unwrap_err();
    workshop::check!(
        matches!(error, Error::Retries { attempts: 3, .. }),
        expected = "Error::Retries after 3 attempts",
        got = error,
        read = "step-01-registry.md#retries-and-redirects",
    );
}

#[test]
fn a_config_that_does_not_match_its_digest_is_refused() {
    let registry = registry();
    registry.inject(FaultRule::new(Fault::WrongBytes));
    let r = reference(&registry.host(), "library/hello");
    let (client, _) = client(&r, None);
    let error = resolve(&client, &r, None).unwrap_err();
    workshop::check!(
        matches!(error, Error::DigestMismatch { .. }),
        expected = "Error::DigestMismatch for the config",
        got = error,
        read = "step-01-registry.md#digests",
    );
}

#[test]
fn basic_auth_registries_get_basic_credentials() {
    let registry = MockRegistry::with_fixtures().unwrap();
    registry.set_auth(Auth::basic("learner", "secret"));
    let r = reference(&registry.host(), "library/hello");
    let (anonymous, _) = client(&r, None);
    let refused = manifest::fetch(&anonymous, &r.repository, "latest").unwrap_err();
    workshop::check!(
        matches!(refused, Error::Unauthorized { .. }),
        expected = "Error::Unauthorized without credentials",
        got = refused,
        read = "step-01-registry.md#credentials",
    );
    let (client, recorder) = client(&r, Some(Credentials::new("learner", "secret")));
    manifest::fetch(&client, &r.repository, "latest").expect("Basic credentials are accepted");
    insta::assert_snapshot!(recorder.take(), @r"
    GET http://REGISTRY/v2/library/hello/manifests/latest -> 401
    GET http://REGISTRY/v2/library/hello/manifests/latest -> 200
    ");
}

#[test]
fn wrong_credentials_are_reported_without_the_password() {
    let registry = registry();
    let r = reference(&registry.host(), "library/hello");
    let (client, _) = client(&r, Some(Credentials::new("learner", "hunter2")));
    let error = manifest::fetch(&client, &r.repository, "latest").unwrap_err();
    let message = error.to_string();
    workshop::check!(
        matches!(error, Error::Unauthorized { .. }) && !message.contains("hunter2"),
        expected = "Error::Unauthorized that does not print the password",
        got = message,
        read = "step-01-registry.md#credentials",
    );
}
