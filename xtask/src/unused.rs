//! Which variables a stub would leave unused.
//!
//! A stub replaces the tail of a function body with `todo!()`, so the
//! function's parameters, and the `let`s before the region, that only the
//! solution used become unused: rustc warns about each one, and a learner
//! who has just run `start` sees a screen of warnings about code they have
//! not written yet. The stub names them once instead, `let _ = (&a, &b);`,
//! which uses them without moving or changing anything.
//!
//! This reads the source as text, not as a syntax tree, and is deliberately
//! careful: a binding is listed only when its name appears nowhere between
//! its declaration and the region (so it was not used, and cannot have been
//! moved, before the region). Anything it cannot read (a parameter with a
//! struct pattern, `self`) is left out, and at worst leaves a warning.

/// A binding the stub should use: its name, and whether it is `mut` (then
/// the stub takes `&mut`, which also keeps `unused_mut` quiet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub name: String,
    pub mutable: bool,
}

impl Binding {
    /// `&name`, or `&mut name`.
    pub fn expression(&self) -> String {
        if self.mutable {
            format!("&mut {}", self.name)
        } else {
            format!("&{}", self.name)
        }
    }
}

/// `let _ = (&a, &mut b, helper);` for `uses` (`&a`, `&mut b`, `helper`),
/// or `None` when nothing needs using.
pub fn use_statement(uses: &[String]) -> Option<String> {
    match uses {
        [] => None,
        [one] => Some(format!("let _ = {one};")),
        many => Some(format!("let _ = ({});", many.join(", "))),
    }
}

/// The file's own helper functions and constants that only solutions use,
/// each with the regions (indices into `regions`, given as `(whole region,
/// solution)` byte ranges) whose solution uses it: with those stubbed, rustc
/// would call the item never used, so the stub names it (`let _ = helper;`).
///
/// Only top-level items that are private, `pub(crate)` or `pub(super)`
/// qualify, and of functions only those that are not generic (no `<...>`,
/// no `impl Trait` parameter): naming a generic function without its types
/// does not compile. An item named in code outside the regions is left
/// alone; comments, and the unit tests after `#[cfg(test)]` (which a
/// library build leaves out, so rustc does not count them as uses), do not
/// count.
pub fn helpers_only_regions_use(
    text: &str,
    regions: &[(std::ops::Range<usize>, std::ops::Range<usize>)],
) -> Vec<(String, Vec<usize>)> {
    let tests_at = text
        .find("\n#[cfg(test)]\nmod ")
        .map_or(text.len(), |at| at + 1);
    let mut found = Vec::new();
    let mut offset = 0;
    for line in text[..tests_at].split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let visibility = ["", "pub(crate) ", "pub(super) "];
        let Some((rest, is_fn)) = visibility.iter().find_map(|v| {
            let rest = line.strip_prefix(v)?;
            rest.strip_prefix("fn ")
                .map(|rest| (rest, true))
                .or_else(|| rest.strip_prefix("const ").map(|rest| (rest, false)))
        }) else {
            continue;
        };
        let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        let follows = if is_fn { '(' } else { ':' };
        // `const _: () = ...;` names nothing that could be used.
        if name.is_empty() || name.starts_with('_') || !rest[name.len()..].starts_with(follows) {
            continue;
        }
        // `impl Trait` in a parameter makes it generic; returned, it does not.
        if is_fn {
            let fn_at = start + line.find("fn ").unwrap_or(0);
            match parameters(&text[fn_at..]) {
                Some((params, _)) if !params.contains("impl ") => {}
                _ => continue,
            }
        }
        let mut callers = Vec::new();
        let mut outside = false;
        let mut from = 0;
        while let Some(found_at) = word_at(&text[from..tests_at], &name) {
            let at = from + found_at;
            from = at + name.len();
            // Its definition, and comments (an `// ANCHOR: name` line, a
            // doc comment), do not use it.
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            if (start..offset).contains(&at) || text[line_start..].trim_start().starts_with("//") {
                continue;
            }
            match regions.iter().position(|(whole, _)| whole.contains(&at)) {
                Some(index) if regions[index].1.contains(&at) => {
                    if !callers.contains(&index) {
                        callers.push(index);
                    }
                }
                Some(_) => {}
                None => outside = true,
            }
        }
        if !outside && !callers.is_empty() {
            found.push((name, callers));
        }
    }
    found
}

/// The bindings of the function around a region, whose marker starts at
/// byte `marker` of `text` with indentation `indent`, that the code before
/// the region does not use.
pub fn before_region(text: &str, marker: usize, indent: &str) -> Vec<Binding> {
    let before = &text[..marker];
    let Some(fn_at) = enclosing_fn(before, indent.len()) else {
        return Vec::new();
    };
    let signature = &before[fn_at..];
    let Some((params, after_params)) = parameters(signature) else {
        return Vec::new();
    };
    let Some(open) = find_top_level(&signature[after_params..], b'{') else {
        return Vec::new();
    };
    let body = &signature[after_params + open + 1..];
    let mut found = Vec::new();
    for param in split_top_level(params, b',') {
        let pattern = match find_pattern_end(param) {
            Some(end) => &param[..end],
            None => continue,
        };
        for binding in pattern_bindings(pattern) {
            if !contains_word(body, &binding.name) {
                found.push(binding);
            }
        }
    }
    // `let`s at the region's own level, in the body before it.
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        offset += line.len();
        let text_indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if text_indent != indent.len() || !trimmed.starts_with("let ") {
            continue;
        }
        let rest = &trimmed[4..];
        let end = find_pattern_end(rest)
            .or_else(|| find_top_level(rest, b'='))
            .unwrap_or(rest.len());
        // Uses count after the statement: `let text = match read(p) { Ok(text)
        // => text, ... };` does not use the `text` it declares.
        let statement = offset - line.len();
        let after_statement =
            find_top_level(&body[statement..], b';').map_or(body.len(), |at| statement + at + 1);
        for binding in pattern_bindings(&rest[..end]) {
            let after = &body[after_statement..];
            found.retain(|b: &Binding| b.name != binding.name);
            if !contains_word(after, &binding.name) {
                found.push(binding);
            }
        }
    }
    found
}

/// The byte offset of the `fn` keyword of the innermost function item that
/// starts on a line indented less than the marker.
fn enclosing_fn(before: &str, marker_indent: usize) -> Option<usize> {
    let mut starts = Vec::new();
    let mut offset = 0;
    for line in before.split_inclusive('\n') {
        starts.push((offset, line));
        offset += line.len();
    }
    starts.into_iter().rev().find_map(|(start, line)| {
        let indent = line.len() - line.trim_start().len();
        if indent >= marker_indent || line.trim().is_empty() {
            return None;
        }
        word_at(line, "fn").map(|at| start + at)
    })
}

/// The text between the parameter list's parentheses, and the offset just
/// after its `)`.
fn parameters(signature: &str) -> Option<(&str, usize)> {
    let bytes = signature.as_bytes();
    let mut angle = 0i32;
    let mut i = 2;
    let open = loop {
        match bytes.get(i)? {
            b'<' => angle += 1,
            b'>' if i > 0 && bytes[i - 1] != b'-' => angle -= 1,
            b'(' if angle == 0 => break i,
            _ => {}
        }
        i += 1;
    };
    let mut depth = 0i32;
    for (j, byte) in bytes.iter().enumerate().skip(open) {
        match byte {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&signature[open + 1..j], j + 1));
                }
            }
            _ => {}
        }
    }
    None
}

/// The first `wanted` byte of `text` outside brackets (`<>` too, but not the
/// `>` of `->`).
fn find_top_level(text: &str, wanted: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    for (i, byte) in bytes.iter().enumerate() {
        if *byte == wanted && depth == 0 {
            return Some(i);
        }
        match byte {
            b'(' | b'[' | b'{' | b'<' => depth += 1,
            b'>' if i > 0 && bytes[i - 1] == b'-' => {}
            b')' | b']' | b'}' | b'>' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn split_top_level(text: &str, separator: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(at) = find_top_level(rest, separator) {
        parts.push(&rest[..at]);
        rest = &rest[at + 1..];
    }
    if !rest.trim().is_empty() {
        parts.push(rest);
    }
    parts
}

/// Where a pattern's type annotation starts: its first top-level `:` that
/// is not half of `::`.
fn find_pattern_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    for (i, byte) in bytes.iter().enumerate() {
        match byte {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b':' if depth == 0 => {
                let double = bytes.get(i + 1) == Some(&b':') || (i > 0 && bytes[i - 1] == b':');
                if !double {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The variables a (parameter or `let`) pattern binds, when it is simple
/// enough to read: identifiers, `mut`, `ref`, `&`, tuples and slices.
fn pattern_bindings(pattern: &str) -> Vec<Binding> {
    if pattern.contains('{') || pattern.contains("::") || contains_word(pattern, "self") {
        return Vec::new();
    }
    let mut bindings = Vec::new();
    let mut mutable = false;
    for word in pattern
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
    {
        match word {
            "mut" => mutable = true,
            "ref" => {}
            _ if word.starts_with('_') || word.starts_with(|c: char| c.is_uppercase()) => {
                mutable = false;
            }
            _ if word.starts_with(|c: char| c.is_ascii_digit()) => mutable = false,
            _ => {
                bindings.push(Binding {
                    name: word.to_string(),
                    mutable,
                });
                mutable = false;
            }
        }
    }
    bindings
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The offset of `word` in `line` as a whole word.
fn word_at(line: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = line[from..].find(word) {
        let at = from + found;
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        if !before.is_some_and(is_ident) && !after.is_some_and(is_ident) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

fn contains_word(text: &str, word: &str) -> bool {
    word_at(text, word).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        let marker = text.find("// EXERCISE").unwrap();
        let indent = &text[text[..marker].rfind('\n').map_or(0, |i| i + 1)..marker];
        before_region(text, marker, indent)
            .iter()
            .map(Binding::expression)
            .collect()
    }

    #[test]
    fn unused_parameters_and_lets_are_named() {
        let text = "\
impl Thing {
    pub fn lookup<'a, T: Into<String>>(
        &self,
        text: &'a str,
        mut key: T,
        (left, _right): (u8, u8),
        callback: impl Fn(u8) -> u8,
    ) -> Option<String>
    where
        T: Clone,
    {
        let used = text.len();
        println!(\"{used}\");
        let read = match used {
            0 => 1,
            read => read,
        };
        let (a, mut b) = (1, 2);
        let kept = 3;
        kept.to_string();
        // EXERCISE(lookup): Look it up.
        todo!()
        // END EXERCISE
    }
}
";
        assert_eq!(
            names(text),
            ["&mut key", "&left", "&callback", "&read", "&a", "&mut b"]
        );
    }

    #[test]
    fn a_function_without_parameters_needs_nothing() {
        assert_eq!(
            names("fn f() -> i32 {\n    // EXERCISE(f): F.\n    1\n    // END EXERCISE\n}\n"),
            Vec::<String>::new()
        );
        assert_eq!(use_statement(&[]), None);
        assert_eq!(
            use_statement(&["&a".to_string()]).as_deref(),
            Some("let _ = &a;")
        );
    }

    #[test]
    fn helpers_and_constants_only_solutions_use_are_found() {
        let text = "\
const LIMIT: usize = 3;
const SHOWN: usize = 4;
fn check(x: &str) -> bool {
    valid(x)
}
fn valid(x: &str) -> bool {
    !x.is_empty()
}
fn generic<T>(x: T) -> T {
    x
}
fn shown(x: u8) -> u8 {
    x
}
// ANCHOR: anchored
fn anchored() -> impl Fn() {
    || ()
}
// ANCHOR_END: anchored
fn takes_impl(x: impl Fn()) {
    x()
}
pub fn parse(x: &str) -> bool {
    // EXERCISE(parse): Parse. Use `check`.
    anchored()();
    takes_impl(|| ());
    check(x) && generic(true) && shown(1) == 1 && x.len() < LIMIT + SHOWN
    // END EXERCISE
}
/// See `shown`.
pub fn other() -> usize {
    SHOWN
}
#[cfg(test)]
mod tests {
    fn check_alone() {
        assert!(super::check(\"x\"));
    }
}
";
        let marker = text.find("    // EXERCISE").unwrap();
        let body = text.find("    anchored()").unwrap();
        let end = text.find("    // END").unwrap();
        let found = helpers_only_regions_use(text, &[(marker..end, body..end)]);
        assert_eq!(
            found,
            [
                ("LIMIT".to_string(), vec![0]),
                ("check".to_string(), vec![0]),
                ("shown".to_string(), vec![0]),
                ("anchored".to_string(), vec![0])
            ]
        );
    }
}
