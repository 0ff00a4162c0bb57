//! `WWW-Authenticate` challenges, including the awkward ones real registries send.

use step_01_registry::challenge::{parse_challenges, quoted_value};

const READ: &str = "step-01-registry.md#challenges";
const QUOTED: &str = "step-01-registry.md#exercise-quoted-value-deep-dive";

/// What `quoted_value` makes of the quoted string that opens at byte `open`
/// of `text` (ASCII, so bytes are characters).
fn quoted(text: &str, open: usize) -> Result<(String, usize), String> {
    let chars: Vec<char> = text.chars().collect();
    quoted_value(text, &chars, open).map_err(|e| e.to_string())
}

#[test]
fn a_quoted_value_ends_at_its_closing_quote() {
    let text = r#"scope="repository:a/b:pull,push",service="r""#;
    workshop::check_eq!(
        quoted(text, 6),
        Ok((
            "repository:a/b:pull,push".to_string(),
            text.find(",service").unwrap()
        )),
        read = QUOTED,
        "(value, index after the closing quote) of the quote at 6 in {text}"
    );
    let text = r#"realm="", service="s""#;
    workshop::check_eq!(
        quoted(text, 6),
        Ok((String::new(), 8)),
        read = QUOTED,
        "an empty quoted value, in {text}"
    );
}

#[test]
fn a_backslash_escapes_the_next_character() {
    for (text, value) in [
        (r#""with \"escaped\" quotes""#, r#"with "escaped" quotes"#),
        (r#""a\\b\c""#, r#"a\bc"#),
    ] {
        workshop::check_eq!(
            quoted(text, 0),
            Ok((value.to_string(), text.len())),
            read = QUOTED,
            "(value, index after the closing quote) of {text}"
        );
    }
}

#[test]
fn a_quoted_value_without_its_closing_quote_is_an_error() {
    for text in [r#""never closed"#, r#""ends in an escaped quote\""#] {
        workshop::check_eq!(
            quoted(text, 0),
            Err(format!(
                "cannot understand the authentication challenge {text:?}: a quoted value is not closed"
            )),
            read = QUOTED,
            "the quoted value {text}"
        );
    }
}

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
