//! The registry speaks the distribution protocol: each test is one rule of it,
//! checked over real HTTP.

use mock_registry::media_types::{DOCKER_MANIFEST, MANIFESTS, OCI_INDEX, OCI_MANIFEST};
use mock_registry::{Auth, Digest, Fault, FaultRule, MockRegistry, Settings, Target, fixtures};
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION, RANGE};
use serde_json::Value;

fn client() -> Client {
    // Built with the rest of the workspace, reqwest has TLS without a
    // default crypto provider (see the workspace's Cargo.toml): install one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn registry() -> MockRegistry {
    MockRegistry::with_fixtures().expect("registry starts")
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("response has no {name} header: {:?}", response.headers()))
        .to_str()
        .unwrap()
        .to_string()
}

/// The `code` of the first error in a spec error body.
fn error_code(response: Response) -> String {
    let body: Value = response.json().expect("error bodies are JSON");
    body["errors"][0]["code"].as_str().unwrap().to_string()
}

fn accept_all() -> String {
    MANIFESTS.join(", ")
}

#[test]
fn ping_answers_as_a_v2_registry() {
    let registry = registry();
    let response = client()
        .get(format!("{}/v2/", registry.url()))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "Docker-Distribution-API-Version"),
        "registry/2.0"
    );
}

#[test]
fn manifests_are_served_byte_exact_by_tag_and_digest() {
    let registry = registry();
    let image = fixtures::hello(fixtures::Format::Docker);
    let url = format!("{}/v2/library/hello/manifests/latest", registry.url());
    let response = client()
        .get(&url)
        .header(ACCEPT, accept_all())
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "Content-Type"), DOCKER_MANIFEST);
    let digest = header(&response, "Docker-Content-Digest");
    let bytes = response.bytes().unwrap();
    assert_eq!(bytes, image.manifest.bytes);
    assert_eq!(Digest::of(&bytes).as_str(), digest);

    let by_digest = client()
        .get(format!(
            "{}/v2/library/hello/manifests/{digest}",
            registry.url()
        ))
        .header(ACCEPT, accept_all())
        .send()
        .unwrap();
    assert_eq!(by_digest.bytes().unwrap(), image.manifest.bytes);

    let head = client()
        .head(&url)
        .header(ACCEPT, accept_all())
        .send()
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        header(&head, "Content-Length"),
        image.manifest.bytes.len().to_string()
    );
    assert_eq!(header(&head, "Docker-Content-Digest"), digest);
}

#[test]
fn an_index_is_not_served_to_a_client_that_does_not_accept_it() {
    let registry = registry();
    let url = format!("{}/v2/library/multi/manifests/oci", registry.url());
    let narrow = client()
        .get(&url)
        .header(ACCEPT, DOCKER_MANIFEST)
        .send()
        .unwrap();
    assert_eq!(narrow.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(narrow), "MANIFEST_UNKNOWN");
    let wide = client()
        .get(&url)
        .header(ACCEPT, accept_all())
        .send()
        .unwrap();
    assert_eq!(header(&wide, "Content-Type"), OCI_INDEX);
}

#[test]
fn blobs_stream_with_their_digest_and_honour_range() {
    let registry = registry();
    let image = fixtures::hello(fixtures::Format::Oci);
    let layer = image.blobs.iter().find(|b| b.data.len() > 100).unwrap();
    let url = format!("{}/v2/library/hello/blobs/{}", registry.url(), layer.digest);
    let full = client().get(&url).send().unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(
        header(&full, "Docker-Content-Digest"),
        layer.digest.as_str()
    );
    assert_eq!(full.bytes().unwrap(), layer.data);

    let tail = client()
        .get(&url)
        .header(RANGE, "bytes=10-")
        .send()
        .unwrap();
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    let size = layer.data.len();
    assert_eq!(
        header(&tail, "Content-Range"),
        format!("bytes 10-{}/{size}", size - 1)
    );
    assert_eq!(tail.bytes().unwrap(), layer.data.slice(10..));

    let beyond = client()
        .get(&url)
        .header(RANGE, format!("bytes={size}-"))
        .send()
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&beyond, "Content-Range"), format!("bytes */{size}"));
}

#[test]
fn unknown_and_malformed_names_get_the_spec_error_codes() {
    let registry = registry();
    let base = registry.url();
    let cases = [
        (
            "/v2/library/nope/manifests/latest",
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
        ),
        (
            "/v2/Library/hello/manifests/latest",
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
        ),
        (
            "/v2/library/hello/manifests/-bad",
            StatusCode::BAD_REQUEST,
            "TAG_INVALID",
        ),
        (
            "/v2/library/hello/manifests/sha256:xyz",
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
        ),
        (
            "/v2/library/hello/blobs/sha256:abc",
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
        ),
        (
            "/v2/library/hello/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000",
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
        ),
        (
            "/v2/library/nope/tags/list",
            StatusCode::NOT_FOUND,
            "NAME_UNKNOWN",
        ),
    ];
    for (path, status, code) in cases {
        let response = client().get(format!("{base}{path}")).send().unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(error_code(response), code, "{path}");
    }
}

/// Pushes `data` with POST then PUT and returns its digest.
fn push_blob(client: &Client, base: &str, repository: &str, data: &[u8]) -> Digest {
    let started = client
        .post(format!("{base}/v2/{repository}/blobs/uploads/"))
        .send()
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let location = header(&started, "Location");
    let digest = Digest::of(data);
    let separator = if location.contains('?') { '&' } else { '?' };
    let target = if location.starts_with("http") {
        location.clone()
    } else {
        format!("{base}{location}")
    };
    let done = client
        .put(format!("{target}{separator}digest={digest}"))
        .body(data.to_vec())
        .send()
        .unwrap();
    assert_eq!(done.status(), StatusCode::CREATED, "{:?}", done.text());
    digest
}

fn put_manifest(
    base: &str,
    repository: &str,
    reference: &str,
    media_type: &str,
    body: &[u8],
) -> Response {
    client()
        .put(format!("{base}/v2/{repository}/manifests/{reference}"))
        .header(CONTENT_TYPE, media_type)
        .body(body.to_vec())
        .send()
        .unwrap()
}

fn manifest_for(config: &Digest, config_size: usize, layer: &Digest, layer_size: usize) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.as_str(), "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.as_str(), "size": layer_size}],
    }))
    .unwrap()
}

#[test]
fn a_monolithic_push_then_manifest_is_pulled_back() {
    let registry = MockRegistry::start().unwrap();
    let base = registry.url();
    let client = client();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer = b"not really a tar, but a registry does not look inside";
    let config_digest = push_blob(&client, &base, "me/app", config);
    let layer_digest = push_blob(&client, &base, "me/app", layer);
    let manifest = manifest_for(&config_digest, config.len(), &layer_digest, layer.len());
    let response = put_manifest(&base, "me/app", "v1", OCI_MANIFEST, &manifest);
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        header(&response, "Docker-Content-Digest"),
        Digest::of(&manifest).as_str()
    );
    assert_eq!(registry.tags("me/app"), Some(vec!["v1".to_string()]));
    assert_eq!(registry.manifest("me/app", "v1").unwrap().bytes, manifest);
    assert_eq!(registry.open_uploads(), 0);
}

#[test]
fn a_single_post_with_digest_uploads_in_one_request() {
    let registry = MockRegistry::start().unwrap();
    let data = b"one request is enough";
    let digest = Digest::of(data);
    let response = client()
        .post(format!(
            "{}/v2/me/app/blobs/uploads/?digest={digest}",
            registry.url()
        ))
        .body(data.to_vec())
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        header(&response, "Location"),
        format!("/v2/me/app/blobs/{digest}")
    );
    assert!(registry.has_blob("me/app", &digest));
}

#[test]
fn a_body_that_does_not_match_its_digest_is_refused_and_not_stored() {
    let registry = MockRegistry::start().unwrap();
    let claimed = Digest::of(b"what the client meant to send");
    let response = client()
        .post(format!(
            "{}/v2/me/app/blobs/uploads/?digest={claimed}",
            registry.url()
        ))
        .body("something else")
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response), "DIGEST_INVALID");
    assert!(!registry.has_blob("me/app", &claimed));
    assert!(!registry.has_blob("me/app", &Digest::of(b"something else")));
}

#[test]
fn chunked_uploads_append_in_order_and_refuse_disorder() {
    let registry = MockRegistry::start().unwrap();
    let base = registry.url();
    let client = client();
    let started = client
        .post(format!("{base}/v2/me/app/blobs/uploads/"))
        .send()
        .unwrap();
    let location = format!("{base}{}", header(&started, "Location"));

    let first = client
        .patch(&location)
        .header("Content-Range", "0-4")
        .body("hello")
        .send()
        .unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(header(&first, "Range"), "0-4");

    let out_of_order = client
        .patch(&location)
        .header("Content-Range", "9-14")
        .body(" world")
        .send()
        .unwrap();
    assert_eq!(out_of_order.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&out_of_order, "Range"), "0-4");

    let second = client
        .patch(&location)
        .header("Content-Range", "5-10")
        .body(" world")
        .send()
        .unwrap();
    assert_eq!(header(&second, "Range"), "0-10");

    let status = client.get(&location).send().unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&status, "Range"), "0-10");

    let digest = Digest::of(b"hello world");
    let done = client
        .put(format!("{location}?digest={digest}"))
        .send()
        .unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    assert!(registry.has_blob("me/app", &digest));
}

#[test]
fn chunks_smaller_than_the_announced_minimum_are_refused() {
    let registry = MockRegistry::start().unwrap();
    registry.set_settings(Settings {
        chunk_min_length: Some(8),
        ..Settings::default()
    });
    let base = registry.url();
    let started = client()
        .post(format!("{base}/v2/me/app/blobs/uploads/"))
        .send()
        .unwrap();
    assert_eq!(header(&started, "OCI-Chunk-Min-Length"), "8");
    let location = format!("{base}{}", header(&started, "Location"));
    let small = client().patch(&location).body("tiny").send().unwrap();
    assert_eq!(small.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(small), "SIZE_INVALID");
}

#[test]
fn upload_sessions_can_be_cancelled_and_unknown_ones_are_404() {
    let registry = MockRegistry::start().unwrap();
    let base = registry.url();
    let started = client()
        .post(format!("{base}/v2/me/app/blobs/uploads/"))
        .send()
        .unwrap();
    let location = format!("{base}{}", header(&started, "Location"));
    assert_eq!(registry.open_uploads(), 1);
    let cancelled = client().delete(&location).send().unwrap();
    assert_eq!(cancelled.status(), StatusCode::NO_CONTENT);
    assert_eq!(registry.open_uploads(), 0);
    let gone = client().get(&location).send().unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(gone), "BLOB_UPLOAD_UNKNOWN");
}

#[test]
fn locations_can_be_absolute_and_carry_a_query() {
    let registry = MockRegistry::start().unwrap();
    registry.set_settings(Settings {
        absolute_locations: true,
        location_query: true,
        ..Settings::default()
    });
    let started = client()
        .post(format!("{}/v2/me/app/blobs/uploads/", registry.url()))
        .send()
        .unwrap();
    let location = header(&started, "Location");
    assert!(location.starts_with(&registry.url()), "{location}");
    assert!(location.contains("?_state="), "{location}");
    // The helper appends `&digest=` because a query is already there.
    let digest = push_blob(&client(), &registry.url(), "me/app", b"with a query");
    assert!(registry.has_blob("me/app", &digest));
}

#[test]
fn a_manifest_refers_only_to_blobs_the_repository_has() {
    let registry = MockRegistry::start().unwrap();
    let base = registry.url();
    let config = b"{}";
    let config_digest = push_blob(&client(), &base, "me/app", config);
    let missing = Digest::of(b"never pushed");
    let manifest = manifest_for(&config_digest, config.len(), &missing, 12);
    let response = put_manifest(&base, "me/app", "v1", OCI_MANIFEST, &manifest);
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().unwrap();
    assert_eq!(body["errors"][0]["code"], "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(body["errors"][0]["detail"]["digest"], missing.as_str());
    assert_eq!(registry.tags("me/app"), Some(vec![]));
}

#[test]
fn bad_manifests_are_refused_without_storing_anything() {
    let registry = registry();
    let base = registry.url();
    let hello = fixtures::hello(fixtures::Format::Oci);
    let body = hello.manifest.bytes.to_vec();
    let wrong_type = put_manifest(&base, "library/hello", "x", DOCKER_MANIFEST, &body);
    assert_eq!(error_code(wrong_type), "MANIFEST_INVALID");
    let not_json = put_manifest(&base, "library/hello", "x", OCI_MANIFEST, b"{");
    assert_eq!(error_code(not_json), "MANIFEST_INVALID");
    let wrong_digest = put_manifest(
        &base,
        "library/hello",
        Digest::of(b"other").as_str(),
        OCI_MANIFEST,
        &body,
    );
    assert_eq!(error_code(wrong_digest), "DIGEST_INVALID");
    let huge = vec![b' '; 4 * 1024 * 1024 + 1];
    let too_big = put_manifest(&base, "library/hello", "x", OCI_MANIFEST, &huge);
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        !registry
            .tags("library/hello")
            .unwrap()
            .contains(&"x".to_string())
    );
}

#[test]
fn mounting_links_a_blob_from_another_repository_or_falls_back_to_upload() {
    let registry = registry();
    let base = registry.url();
    let hello = fixtures::hello(fixtures::Format::Docker);
    let layer = &hello.blobs[1].digest;
    assert!(!registry.has_blob("me/copy", layer));
    let mounted = client()
        .post(format!(
            "{base}/v2/me/copy/blobs/uploads/?mount={layer}&from=library/hello"
        ))
        .send()
        .unwrap();
    assert_eq!(mounted.status(), StatusCode::CREATED);
    assert!(registry.has_blob("me/copy", layer));

    let fallback = client()
        .post(format!(
            "{base}/v2/me/other/blobs/uploads/?mount={layer}&from=library/nothing-here"
        ))
        .send()
        .unwrap();
    assert_eq!(fallback.status(), StatusCode::ACCEPTED);
    assert!(header(&fallback, "Location").contains("/v2/me/other/blobs/uploads/"));
}

#[test]
fn tags_and_catalog_paginate_with_link_headers() {
    let registry = registry();
    let base = registry.url();
    let first = client()
        .get(format!("{base}/v2/library/hello/tags/list?n=1"))
        .send()
        .unwrap();
    assert_eq!(
        header(&first, "Link"),
        "</v2/library/hello/tags/list?n=1&last=latest>; rel=\"next\""
    );
    let page: Value = first.json().unwrap();
    assert_eq!(page["tags"], serde_json::json!(["latest"]));
    let second: Value = client()
        .get(format!("{base}/v2/library/hello/tags/list?n=1&last=latest"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(second["tags"], serde_json::json!(["oci"]));

    let catalog: Value = client()
        .get(format!("{base}/v2/_catalog"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        catalog["repositories"],
        serde_json::json!(["library/hello", "library/layers", "library/multi"])
    );
}

#[test]
fn concurrent_pushes_of_the_same_blob_are_safe() {
    let registry = MockRegistry::start().unwrap();
    let base = registry.url();
    let data = vec![7u8; 256 * 1024];
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| push_blob(&client(), &base, "me/app", &data));
        }
    });
    let digest = Digest::of(&data);
    let served = client()
        .get(format!("{base}/v2/me/app/blobs/{digest}"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert_eq!(Digest::of(&served), digest);
}

fn token(base: &str, scope: &str, credentials: Option<(&str, &str)>) -> String {
    let mut request = client()
        .get(format!("{base}/token"))
        .query(&[("service", "mock-registry"), ("scope", scope)]);
    if let Some((user, password)) = credentials {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().unwrap();
    assert_eq!(body["token"], body["access_token"]);
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    body["token"].as_str().unwrap().to_string()
}

#[test]
fn the_token_flow_lets_anyone_pull_and_only_users_push() {
    let registry = registry();
    registry.set_auth(Auth::token("learner", "secret"));
    let base = registry.url();

    let ping = client().get(format!("{base}/v2/")).send().unwrap();
    assert_eq!(ping.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&ping, "WWW-Authenticate"),
        format!("Bearer realm=\"{base}/token\",service=\"mock-registry\"")
    );

    let manifest_url = format!("{base}/v2/library/hello/manifests/latest");
    let refused = client().get(&manifest_url).send().unwrap();
    assert!(
        header(&refused, "WWW-Authenticate").ends_with("scope=\"repository:library/hello:pull\"")
    );

    let anonymous = token(&base, "repository:library/hello:pull", None);
    let pulled = client()
        .get(&manifest_url)
        .bearer_auth(&anonymous)
        .send()
        .unwrap();
    assert_eq!(pulled.status(), StatusCode::OK);

    let upload_url = format!("{base}/v2/library/hello/blobs/uploads/");
    let anonymous_push = token(&base, "repository:library/hello:pull,push", None);
    let denied = client()
        .post(&upload_url)
        .bearer_auth(&anonymous_push)
        .send()
        .unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&denied, "WWW-Authenticate").contains("error=\"insufficient_scope\""));

    let user = token(
        &base,
        "repository:library/hello:pull,push",
        Some(("learner", "secret")),
    );
    let allowed = client()
        .post(&upload_url)
        .bearer_auth(&user)
        .send()
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::ACCEPTED);

    registry.expire_tokens();
    let expired = client()
        .get(&manifest_url)
        .bearer_auth(&user)
        .send()
        .unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn the_realm_refuses_wrong_credentials() {
    let registry = registry();
    registry.set_auth(Auth::token("learner", "secret"));
    let response = client()
        .get(format!("{}/token?scope=repository:a:pull", registry.url()))
        .basic_auth("learner", Some("guess"))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response), "UNAUTHORIZED");
}

#[test]
fn basic_auth_asks_for_credentials_on_every_request() {
    let registry = registry();
    registry.set_auth(Auth::basic("learner", "secret"));
    let url = format!("{}/v2/library/hello/tags/list", registry.url());
    let refused = client().get(&url).send().unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&refused, "WWW-Authenticate"),
        "Basic realm=\"mock-registry\""
    );
    let allowed = client()
        .get(&url)
        .basic_auth("learner", Some("secret"))
        .send()
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
}

#[test]
fn the_request_log_reads_like_the_protocol() {
    let registry = registry();
    registry.set_auth(Auth::token("learner", "secret"));
    let base = registry.url();
    client().get(format!("{base}/v2/")).send().unwrap();
    let token = token(&base, "repository:library/hello:pull", None);
    for path in ["/v2/", "/v2/library/hello/manifests/latest"] {
        client()
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .unwrap();
    }
    insta::assert_snapshot!(registry.take_request_lines().join("\n"), @r"
    GET /v2/ -> 401
    GET /token?service=mock-registry&scope=repository%3Alibrary%2Fhello%3Apull -> 200
    GET /v2/ (Bearer) -> 200
    GET /v2/library/hello/manifests/latest (Bearer) -> 200
    ");
    assert!(registry.take_request_lines().is_empty());
}

#[test]
fn status_faults_hit_once_then_the_registry_recovers() {
    let registry = registry();
    registry
        .inject(FaultRule::new(Fault::TooManyRequests { retry_after: 2 }).on(Target::Manifests));
    registry.inject(FaultRule::new(Fault::ServerError { status: 503 }).on(Target::Manifests));
    let url = format!("{}/v2/library/hello/manifests/latest", registry.url());
    let throttled = client().get(&url).send().unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&throttled, "Retry-After"), "2");
    let unavailable = client().get(&url).send().unwrap();
    assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
    let fine = client().get(&url).send().unwrap();
    assert_eq!(fine.status(), StatusCode::OK);
}

fn layer_url(registry: &MockRegistry) -> (String, mock_registry::Blob) {
    let layer = fixtures::hello(fixtures::Format::Docker).blobs[1].clone();
    let url = format!("{}/v2/library/hello/blobs/{}", registry.url(), layer.digest);
    (url, layer)
}

#[test]
fn a_cut_body_ends_early_and_wrong_bytes_fail_the_digest() {
    let registry = registry();
    let (url, layer) = layer_url(&registry);
    registry.inject(FaultRule::new(Fault::CutBody { after: 10 }));
    let cut = client().get(&url).send().unwrap();
    assert_eq!(cut.status(), StatusCode::OK);
    assert!(cut.bytes().is_err(), "a cut body must not read as complete");

    registry.inject(FaultRule::new(Fault::WrongBytes));
    let wrong = client().get(&url).send().unwrap().bytes().unwrap();
    assert_eq!(wrong.len(), layer.data.len());
    assert_ne!(Digest::of(&wrong), layer.digest);
}

#[test]
fn a_server_may_ignore_range() {
    let registry = registry();
    let (url, layer) = layer_url(&registry);
    registry.inject(FaultRule::new(Fault::IgnoreRange));
    let response = client()
        .get(&url)
        .header(RANGE, "bytes=10-")
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().unwrap(), layer.data);
}

#[test]
fn redirected_blobs_come_from_a_second_origin_that_sees_no_credentials() {
    let registry = registry();
    registry.set_auth(Auth::token("learner", "secret"));
    let (url, layer) = layer_url(&registry);
    let token = token(&registry.url(), "repository:library/hello:pull", None);
    registry.inject(FaultRule::new(Fault::RedirectBlobs));
    let redirect = client().get(&url).bearer_auth(&token).send().unwrap();
    assert_eq!(redirect.status(), StatusCode::TEMPORARY_REDIRECT);
    let location = header(&redirect, LOCATION.as_str());
    assert!(location.starts_with(&registry.cdn_url()), "{location}");
    // A well-behaved client follows without its Authorization header.
    let served = client().get(&location).send().unwrap().bytes().unwrap();
    assert_eq!(served, layer.data);
    let last = registry.requests().pop().unwrap();
    assert_eq!(last.origin, mock_registry::Origin::Cdn);
    assert_eq!(last.authorization, None);
    assert!(
        registry
            .requests()
            .iter()
            .all(|r| r.origin != mock_registry::Origin::Cdn || r.authorization.is_none())
    );
}
