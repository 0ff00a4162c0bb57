//! `WWW-Authenticate` challenges: how a registry says which credentials it wants.
//!
//! `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"`
//! names a token service (the realm) and what to ask it for. Values may be
//! quoted, quoted values may hold commas (`scope="repository:a/b:pull,push"`)
//! and escaped quotes, and one header may carry several challenges.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

// ANCHOR: challenge
/// One challenge: a scheme (`bearer`, `basic`, lowercased) and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}
// ANCHOR_END: challenge

/// The error for a `header` that cannot be read, saying why.
fn invalid(header: &str, reason: &str) -> Error {
    Error::Challenge {
        header: header.to_string(),
        reason: reason.to_string(),
    }
}

// ANCHOR: quoted_value
/// Reads the quoted string that opens at `chars[open]`, a `"` of `header`:
/// its value, unescaped, and the index just after its closing quote.
pub fn quoted_value(header: &str, chars: &[char], open: usize) -> Result<(String, usize)> {
    // EXERCISE(quoted-value): Read a quoted string: its value, and where it ends.
    // Start after the opening quote at `chars[open]` and collect characters
    // up to the closing `"`. A `\` escapes the character after it: that one
    // goes into the value as it is, even a `"` or a `\`, and the `\` does not.
    // Return the value and the index just after the closing quote. When the
    // characters end before a closing quote, the error is
    // `invalid(header, "a quoted value is not closed")`.
    // See book/src/step-01-registry.md#exercise-quoted-value-deep-dive.
    // HINT: Walk an index from `open + 1` with `chars.get(i)`: it gives `None` past the end,
    // which is exactly the unclosed case.
    // HINT+: A `loop` around a `match` on `chars.get(i)`, one arm per case: nothing (the
    // error), `Some('"')` (the end: return), `Some('\\')` with a character after it, and any
    // other character. The value grows with `String::push`.
    let mut value = String::new();
    let mut i = open + 1;
    loop {
        match chars.get(i) {
            None => return Err(invalid(header, "a quoted value is not closed")),
            Some('"') => return Ok((value, i + 1)),
            Some('\\') if i + 1 < chars.len() => {
                value.push(chars[i + 1]);
                i += 2;
            }
            Some(&c) => {
                value.push(c);
                i += 1;
            }
        }
    }
    // END EXERCISE
}
// ANCHOR_END: quoted_value

// ANCHOR: parse_challenge
/// Parses every challenge in a `WWW-Authenticate` header value.
pub fn parse_challenges(header: &str) -> Result<Vec<Challenge>> {
    // EXERCISE(parse-challenge): Parse `Scheme k=v, k="v, with commas", Scheme2 ...` into challenges.
    // Read left to right with a small cursor over the characters:
    // - a token followed by `=` (spaces may come between) is a parameter of
    //   the current challenge; after the `=` and any spaces, its value is a
    //   quoted string (`quoted_value` reads it) or everything up to the next
    //   comma or space;
    // - a token not followed by `=` starts a new challenge (its scheme,
    //   lowercased; parameter names are lowercased too);
    // - commas, spaces and tabs separate.
    // Errors are `invalid(header, reason)`, with the reasons "a parameter
    // comes before any scheme", "it names no scheme" (nothing but
    // separators), and `unexpected '=' at position 0` for a character where
    // a token should start. See book/src/step-01-registry.md#exercise-parse-challenge-deep-dive.
    // HINT: Splitting on `,` breaks inside `scope="repository:a/b:pull,push"`. Walk a `Vec<char>`
    // with an index, and tell a scheme from a parameter name by what follows it: `=` or not.
    // HINT+: Each turn: skip `,`, spaces and tabs; read a token (none is an error); look past
    // spaces for `=`. A parameter goes into `challenges.last_mut()` (none yet is an error); after
    // the `=` and any spaces, a `"` hands over to `quoted_value`, which says where to go on.
    // Otherwise push a new `Challenge`.
    let chars: Vec<char> = header.chars().collect();
    // The first index from `i` on whose character is not `such`.
    let past = |mut i: usize, such: &dyn Fn(char) -> bool| {
        while i < chars.len() && such(chars[i]) {
            i += 1;
        }
        i
    };
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c);
    let mut challenges: Vec<Challenge> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if matches!(chars[i], ',' | ' ' | '\t') {
            i += 1;
            continue;
        }
        let start = i;
        i = past(i, &is_token);
        if start == i {
            return Err(invalid(
                header,
                &format!("unexpected {:?} at position {i}", chars[i]),
            ));
        }
        let token: String = chars[start..i].iter().collect();
        let equals = past(i, &|c| c == ' ');
        if chars.get(equals) != Some(&'=') {
            challenges.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
            continue;
        }
        let current = challenges
            .last_mut()
            .ok_or_else(|| invalid(header, "a parameter comes before any scheme"))?;
        i = past(equals + 1, &|c| c == ' ');
        let value = if chars.get(i) == Some(&'"') {
            let (value, end) = quoted_value(header, &chars, i)?;
            i = end;
            value
        } else {
            let start = i;
            i = past(i, &|c| c != ',' && c != ' ');
            chars[start..i].iter().collect()
        };
        current.params.insert(token.to_ascii_lowercase(), value);
    }
    if challenges.is_empty() {
        return Err(invalid(header, "it names no scheme"));
    }
    Ok(challenges)
    // END EXERCISE
}
// ANCHOR_END: parse_challenge
