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

/// Parses every challenge in a `WWW-Authenticate` header value.
pub fn parse_challenges(header: &str) -> Result<Vec<Challenge>> {
    // EXERCISE(parse-challenge): Parse `Scheme k=v, k="v, with commas", Scheme2 ...` into challenges.
    // Read left to right with a small cursor over the characters:
    // - a token followed by `=` is a parameter of the current challenge;
    //   its value is a token, or a quoted string where `\"` is a quote and
    //   commas do not end the value;
    // - a token not followed by `=` starts a new challenge (its scheme,
    //   lowercased; parameter names are lowercased too);
    // - commas and spaces separate; anything else is an error naming the header.
    // HINT: Splitting on `,` breaks inside `scope="repository:a/b:pull,push"`. Walk a `Vec<char>`
    // with an index, and tell a scheme from a parameter name by what follows it: `=` or not.
    // HINT+: Each turn: skip `,`, spaces and tabs; read a token (none is an error); look past
    // spaces for `=`. A parameter goes into `challenges.last_mut()` (none yet is an error); its
    // value is quoted (to the next `"`; after a `\` take the next character as it is) or bare (to
    // `,` or a space). Otherwise push a new `Challenge`. Word the errors as the book's table does.
    let fail = |reason: &str| Error::Challenge {
        header: header.to_string(),
        reason: reason.to_string(),
    };
    let chars: Vec<char> = header.chars().collect();
    let mut i = 0;
    let mut challenges: Vec<Challenge> = Vec::new();
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c);
    while i < chars.len() {
        if chars[i] == ',' || chars[i] == ' ' || chars[i] == '\t' {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_token(chars[i]) {
            i += 1;
        }
        if start == i {
            return Err(fail(&format!("unexpected {:?} at position {i}", chars[i])));
        }
        let token: String = chars[start..i].iter().collect();
        let mut j = i;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        if j < chars.len() && chars[j] == '=' {
            let current = challenges
                .last_mut()
                .ok_or_else(|| fail("a parameter comes before any scheme"))?;
            i = j + 1;
            while i < chars.len() && chars[i] == ' ' {
                i += 1;
            }
            let mut value = String::new();
            if i < chars.len() && chars[i] == '"' {
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(fail("a quoted value is not closed")),
                        Some('"') => break,
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
                i += 1;
            } else {
                while i < chars.len() && chars[i] != ',' && chars[i] != ' ' {
                    value.push(chars[i]);
                    i += 1;
                }
            }
            current.params.insert(token.to_ascii_lowercase(), value);
        } else {
            challenges.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
        }
    }
    if challenges.is_empty() {
        return Err(fail("it names no scheme"));
    }
    Ok(challenges)
    // END EXERCISE
}
