//! Image references, normalised as Docker does.

use step_01_registry::Reference;

const READ: &str = "step-01-registry.md#image-references";

fn parsed(text: &str) -> String {
    match Reference::parse(text) {
        Ok(r) => format!(
            "{text:<45} registry={} repository={} tag={} digest={}",
            r.registry,
            r.repository,
            r.tag.as_deref().unwrap_or("-"),
            r.digest.as_ref().map_or("-", |d| &d.as_str()[..15]),
        ),
        Err(e) => format!("{text:<45} error: {e}"),
    }
}

#[test]
fn references_normalise_like_docker() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let inputs = [
        "alpine".to_string(),
        "alpine:3.20".into(),
        "library/alpine".into(),
        "docker.io/alpine".into(),
        "index.docker.io/library/alpine:edge".into(),
        format!("me/app@{digest}"),
        format!("me/app:v1@{digest}"),
        "localhost:5000/a/b:t".into(),
        "localhost/app".into(),
        "registry.example.com/a/b/c".into(),
        "127.0.0.1:5000/x".into(),
        "[::1]:5000/x:y".into(),
    ];
    let table: Vec<String> = inputs.iter().map(|i| parsed(i)).collect();
    insta::assert_snapshot!(table.join("\n"));
}

#[test]
fn invalid_references_name_the_bad_part() {
    let inputs = [
        "",
        "Alpine",
        "alpine:",
        "alpine:-x",
        "me//app",
        "me/app@sha256:123",
        "me/app@md5:abc",
        "my_-app",
        "app-",
    ];
    let table: Vec<String> = inputs.iter().map(|i| parsed(i)).collect();
    insta::assert_snapshot!(table.join("\n"));
}

#[test]
fn a_repository_name_over_255_characters_is_refused() {
    // `library/` counts: a one-word Docker Hub name of 247 characters is
    // 255 in all, one more is too long.
    let longest = "a".repeat(247);
    workshop::check_eq!(
        Reference::parse(&longest).map(|r| r.repository.len()).ok(),
        Some(255),
        read = READ,
        "the length of a repository of 255 characters, which is allowed"
    );
    let refused = Reference::parse(&format!("{longest}a")).map(|r| r.to_string());
    workshop::check!(
        matches!(&refused, Err(e) if e.to_string().contains("255")),
        expected = "an error saying the repository is longer than 255 characters",
        got = refused,
        read = READ,
    );
}

#[test]
fn one_word_names_on_docker_hub_live_under_library() {
    let r = Reference::parse("nginx").unwrap();
    workshop::check_eq!(r.repository, "library/nginx", read = READ);
    workshop::check_eq!(
        r.api_host(),
        "registry-1.docker.io",
        read = READ,
        "Docker Hub's API host"
    );
    workshop::check_eq!(r.to_string(), "docker.io/library/nginx:latest", read = READ);
}

#[test]
fn a_port_is_not_a_tag() {
    let r = Reference::parse("localhost:5000/app").unwrap();
    workshop::check_eq!(r.registry, "localhost:5000", read = READ);
    workshop::check_eq!(
        r.repository,
        "app",
        read = READ,
        "no library/ outside Docker Hub"
    );
    workshop::check_eq!(r.reference(), "latest", read = READ);
    workshop::check!(
        r.is_loopback(),
        expected = "localhost to be spoken to over plain HTTP",
        got = r,
        read = READ
    );
}

#[test]
fn a_digest_is_what_gets_asked_for() {
    let digest = format!("sha256:{}", "0".repeat(64));
    let r = Reference::parse(&format!("alpine:3.20@{digest}")).unwrap();
    workshop::check_eq!(
        r.reference(),
        digest.as_str(),
        read = READ,
        "a pinned digest wins over the tag"
    );
}
