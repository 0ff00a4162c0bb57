//! Repository names and tags, checked against the distribution spec's grammar.
//!
//! A registry refuses a bad name before it stores anything, with an error that
//! says which part is wrong.

/// Longest repository name the spec allows (including slashes).
const MAX_NAME_LEN: usize = 255;

/// Why a repository name is refused; the message names the bad part.
pub fn check_repository(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("repository name is empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "repository name is {} characters long; the limit is {MAX_NAME_LEN}",
            name.len()
        ));
    }
    for component in name.split('/') {
        if !is_component(component) {
            return Err(format!(
                "repository name {name:?} has an invalid component {component:?}: \
                 use lowercase letters and digits, separated by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        let separator_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[separator_start..i];
        let valid = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !valid {
            return false;
        }
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`
pub fn check_tag(tag: &str) -> Result<(), String> {
    let mut bytes = tag.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if first_ok && rest_ok && tag.len() <= 128 {
        Ok(())
    } else {
        Err(format!(
            "invalid tag {tag:?}: a tag is 1 to 128 characters of letters, digits, '_', '.' \
             and '-', and does not start with '.' or '-'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_names_registries_accept() {
        for name in [
            "alpine",
            "library/alpine",
            "a/b/c",
            "my-app",
            "my--app",
            "my_app",
            "my__app",
            "my.app",
            "x0/y1",
        ] {
            assert_eq!(check_repository(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn refuses_the_rest_naming_the_bad_component() {
        for name in [
            "", "Alpine", "a//b", "/a", "a/", "a..b", "a___b", "-a", "a-", "a/b:c", "a b",
        ] {
            assert!(check_repository(name).is_err(), "{name:?} was accepted");
        }
        let error = check_repository("library/Alpine").unwrap_err();
        assert!(error.contains("\"Alpine\""), "{error}");
        assert!(check_repository(&"a".repeat(256)).is_err());
    }

    #[test]
    fn checks_tags() {
        for tag in ["latest", "3.20", "v1_2-rc.1", "_x", &"a".repeat(128)] {
            assert_eq!(check_tag(tag), Ok(()), "{tag}");
        }
        for tag in ["", ".x", "-x", "a:b", "a/b", &"a".repeat(129)] {
            assert!(check_tag(tag).is_err(), "{tag:?} was accepted");
        }
    }
}
