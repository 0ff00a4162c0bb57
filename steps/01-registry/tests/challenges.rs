//! `WWW-Authenticate` challenges, including the awkward ones real registries send.

use step_01_registry::challenge::parse_challenges;

const READ: &str = "step-01-registry.md#challenges";

fn show(header: &str) -> String {
    match parse_challenges(header) {
        Ok(challenges) => challenges
            .iter()
            .map(|c| format!("{} {:?}", c.scheme, c.params))
            .collect::<Vec<_>>()
            .join(" | "),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn docker_hubs_challenge() {
    let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#;
    let challenges = parse_challenges(header).unwrap();
    workshop::check_eq!(challenges.len(), 1, read = READ);
    workshop::check_eq!(
        challenges[0].scheme,
        "bearer",
        read = READ,
        "schemes are compared lowercased"
    );
    workshop::check_eq!(
        challenges[0].param("realm"),
        Some("https://auth.docker.io/token"),
        read = READ
    );
    workshop::check_eq!(
        challenges[0].param("scope"),
        Some("repository:library/alpine:pull"),
        read = READ
    );
}

#[test]
fn a_quoted_comma_does_not_end_the_value() {
    let header = r#"Bearer realm="http://r/token",scope="repository:a/b:pull,push",service="r""#;
    let challenges = parse_challenges(header).unwrap();
    workshop::check_eq!(
        challenges[0].param("scope"),
        Some("repository:a/b:pull,push"),
        read = READ,
        "the scope holds a comma inside quotes"
    );
    workshop::check_eq!(challenges[0].param("service"), Some("r"), read = READ);
}

#[test]
fn the_awkward_cases() {
    let cases = [
        r#"Basic realm="Registry Realm""#,
        r#"basic realm=x"#,
        r#"Bearer realm="a", Basic realm="b""#,
        r#"Bearer realm="with \"escaped\" quotes",error="insufficient_scope""#,
        r#"Bearer  realm = "spaced" , service=s"#,
        r#"realm="no scheme""#,
        r#"Bearer realm="never closed"#,
        "",
    ];
    let table: Vec<String> = cases
        .iter()
        .map(|c| format!("{c:<70} => {}", show(c)))
        .collect();
    insta::assert_snapshot!(table.join("\n"));
}
