//! Exercise regions: the parts of a step's reference solution a learner
//! writes.
//!
//! A region is the tail of a function body, between a marker line and an
//! end line, in any `src/**/*.rs` file of a step:
//!
//! ```text
//! pub fn parse(s: &str) -> Result<Reference, Error> {
//!     // EXERCISE(parse-reference): Split a reference into registry, repository and tag.
//!     // Instructions for the learner: the `//` comment lines directly
//!     // after the marker, as many as needed.
//!     let reference = ...;          // the reference solution
//!     Ok(reference)
//!     // END EXERCISE
//! }
//! ```
//!
//! - The marker is `// EXERCISE(<id>): <summary>`. The id (lowercase
//!   letters, digits and `-`) is unique within the step; the summary is one
//!   line and ends up in the stub's `todo!()` message.
//! - The instructions are the `//` lines right after the marker. The
//!   solution starts at the first line that is not a `//` comment (a blank
//!   line counts as solution) and runs up to `// END EXERCISE`.
//! - [`stub`] replaces the solution with one line,
//!   `todo!("step NN, exercise <id>: <summary>")`, at the marker's
//!   indentation. It keeps the marker, the instructions and the end line, so
//!   the stubbed file still holds the regions and the reference can be put
//!   back region by region. `todo!()` has type `!`, so the stub compiles as
//!   the tail of any function.
//!
//! Regions do not nest, every marker has its end line, and ids do not
//! repeat; a [`RegionError`] names the file and line where that breaks.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::unused;

const MARKER: &str = "// EXERCISE";
const END: &str = "// END EXERCISE";
/// rustfmt's default `max_width`.
const RUSTFMT_WIDTH: usize = 100;
/// The comment after the stub's `let _ = ...;` line.
const USES_NOTE: &str = "// unused until you write this exercise";

/// One exercise region of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: String,
    pub summary: String,
    /// The marker's line, counting from 1.
    pub line: usize,
    /// The `// END EXERCISE` line, counting from 1.
    pub end_line: usize,
    /// The marker's indentation, which the stub line takes.
    indent: String,
    /// The marker's line ending, which the stub line takes.
    newline: &'static str,
    /// Byte range of the solution lines in the file's text.
    pub body: Range<usize>,
    /// The statement that uses what the solution alone used, so the stub
    /// leaves no variable unused: `let _ = (&text, &key);`.
    uses: Vec<String>,
}

impl Region {
    /// Whether `line` (counting from 1) lies in this region, marker and
    /// end line included.
    pub fn contains_line(&self, line: usize) -> bool {
        (self.line..=self.end_line).contains(&line)
    }

    /// The solution lines (or the stub line) of this region in `text`.
    pub fn body<'a>(&self, text: &'a str) -> &'a str {
        &text[self.body.clone()]
    }

    /// The lines [`stub`] puts in place of the solution: the `todo!()`,
    /// after a `let _ = (&a, &b);` when the function has parameters or
    /// `let`s only the solution used (see [`crate::unused`]).
    pub fn stub_line(&self, step: u32) -> String {
        let summary = self
            .summary
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('{', "{{")
            .replace('}', "}}");
        let uses = match unused::use_statement(&self.uses) {
            Some(uses) => format!("{}{uses} {USES_NOTE}{}", self.indent, self.newline),
            None => String::new(),
        };
        let message = format!("\"step {step:02}, exercise {}: {summary}\"", self.id);
        let (indent, newline) = (&self.indent, self.newline);
        // As rustfmt writes it, so that `cargo fmt` (or an editor's format on
        // save) leaves a fresh stub as it is: on one line when it fits in
        // rustfmt's 100 columns, else the message on a line of its own.
        if indent.len() + "todo!()".len() + message.len() <= RUSTFMT_WIDTH {
            format!("{uses}{indent}todo!({message}){newline}")
        } else {
            format!("{uses}{indent}todo!({newline}{indent}    {message}{newline}{indent}){newline}")
        }
    }

    /// Whether this region of `text` holds a stub rather than a solution:
    /// one `todo!("step ...")` (on one line or, as rustfmt breaks a long
    /// one, on three), after the stub's `let _ = ...;` if it has one.
    pub fn is_stubbed(&self, text: &str) -> bool {
        let compact: String = self.body(text).lines().map(str::trim).collect();
        let call = match compact.split_once(USES_NOTE) {
            Some((uses, call)) if uses.starts_with("let _ = ") => call,
            _ => &compact,
        };
        call.starts_with("todo!(\"step ")
            && (call.ends_with("\")") || call.ends_with("\",)"))
            && call.matches("todo!(").count() == 1
    }
}

/// What a region's comments tell the learner: the instructions, and the
/// graduated hints `hint` gives.
///
/// The hints are the last comment lines after the marker: `// HINT: ...`
/// starts the small hint, `// HINT+: ...` the bigger one; each goes on over
/// the `//` lines after it, up to the next hint or the solution. `start`
/// keeps them with the instructions. A hint points the way; it never holds
/// the solution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guidance {
    pub instructions: Vec<String>,
    pub hint: Vec<String>,
    pub more: Vec<String>,
}

/// The instructions and hints of `region` in `text`.
pub fn guidance(text: &str, region: &Region) -> Guidance {
    let mut guidance = Guidance::default();
    #[derive(PartialEq)]
    enum Part {
        Instructions,
        Hint,
        More,
    }
    let mut part = Part::Instructions;
    for line in text.lines().skip(region.line) {
        let trimmed = line.trim();
        if trimmed == END || !trimmed.starts_with("//") {
            break;
        }
        let comment = trimmed.trim_start_matches('/');
        let comment = comment.strip_prefix(' ').unwrap_or(comment);
        let comment = if let Some(rest) = comment.strip_prefix("HINT+:") {
            part = Part::More;
            rest.trim()
        } else if let Some(rest) = comment.strip_prefix("HINT:") {
            part = Part::Hint;
            rest.trim()
        } else {
            comment.trim_end()
        };
        match part {
            Part::Instructions => guidance.instructions.push(comment.to_string()),
            Part::Hint => guidance.hint.push(comment.to_string()),
            Part::More => guidance.more.push(comment.to_string()),
        }
    }
    guidance
}

/// A malformed region: the file, the line, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

impl std::error::Error for RegionError {}

/// The open region while parsing.
struct Open {
    region: Region,
    /// Where the marker's line starts.
    marker_start: usize,
    /// Where the solution starts, once the instructions are over.
    body_start: Option<usize>,
}

/// The regions of `text`, the contents of the file at `path` (used in
/// errors only), in file order.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Region>, RegionError> {
    let error = |line: usize, message: String| RegionError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut regions: Vec<Region> = Vec::new();
    // Each region's whole span and its solution, as byte ranges.
    let mut spans = Vec::new();
    let mut open: Option<Open> = None;
    let mut offset = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed == END {
            let Some(Open {
                region,
                marker_start,
                body_start,
            }) = open.take()
            else {
                return Err(error(
                    number,
                    format!("`{END}` without an `{MARKER}(id): ...` line before it"),
                ));
            };
            let body = body_start.unwrap_or(start)..start;
            if body.is_empty() {
                return Err(error(
                    region.line,
                    format!(
                        "exercise `{}` has no solution between its instructions and `{END}`",
                        region.id
                    ),
                ));
            }
            let uses = unused::before_region(text, marker_start, &region.indent)
                .iter()
                .map(unused::Binding::expression)
                .collect();
            spans.push((marker_start..offset, body.clone()));
            regions.push(Region {
                body,
                end_line: number,
                uses,
                ..region
            });
        } else if is_marker(trimmed) {
            if let Some(open) = &open {
                return Err(error(
                    number,
                    format!(
                        "an exercise starts inside exercise `{}` (line {}): regions do not nest; end that one with `{END}` first",
                        open.region.id, open.region.line
                    ),
                ));
            }
            let (id, summary) = parse_marker(trimmed).map_err(|message| error(number, message))?;
            if let Some(first) = regions.iter().find(|r| r.id == id) {
                return Err(error(
                    number,
                    format!("exercise id `{id}` is already used at line {}", first.line),
                ));
            }
            open = Some(Open {
                region: Region {
                    id,
                    summary,
                    line: number,
                    end_line: 0,
                    indent: line[..line.len() - line.trim_start().len()].to_string(),
                    newline: if line.ends_with("\r\n") { "\r\n" } else { "\n" },
                    body: 0..0,
                    uses: Vec::new(),
                },
                marker_start: start,
                body_start: None,
            });
        } else if let Some(open) = &mut open
            && open.body_start.is_none()
            && !trimmed.starts_with("//")
        {
            open.body_start = Some(start);
        }
    }
    if let Some(open) = open {
        return Err(error(
            open.region.line,
            format!("exercise `{}` has no `{END}` line", open.region.id),
        ));
    }
    for (helper, callers) in unused::helpers_only_regions_use(text, &spans) {
        for index in callers {
            regions[index].uses.push(helper.clone());
        }
    }
    Ok(regions)
}

/// Whether a (trimmed) line is meant as a marker: `// EXERCISE` followed by
/// anything but more letters (so prose such as `// EXERCISES below` is not).
fn is_marker(trimmed: &str) -> bool {
    trimmed
        .strip_prefix(MARKER)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric()))
}

/// The id and summary of `// EXERCISE(id): summary`.
fn parse_marker(trimmed: &str) -> Result<(String, String), String> {
    let usage = format!("expected `{MARKER}(id): summary`, found `{trimmed}`");
    let rest = trimmed.strip_prefix(MARKER).unwrap_or(trimmed);
    let Some((id, summary)) = rest
        .strip_prefix('(')
        .and_then(|rest| rest.split_once("):"))
    else {
        return Err(usage);
    };
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "exercise id `{id}`: use lowercase letters, digits and `-`"
        ));
    }
    let summary = summary.trim();
    if summary.is_empty() {
        return Err(format!(
            "exercise `{id}` needs a one-line summary after the `:`"
        ));
    }
    Ok((id.to_string(), summary.to_string()))
}

/// `text` with the body of each of its `regions` replaced by `body(region)`.
pub fn replace_bodies(
    text: &str,
    regions: &[Region],
    mut body: impl FnMut(&Region) -> String,
) -> String {
    let mut result = String::with_capacity(text.len());
    let mut copied = 0;
    for region in regions {
        result.push_str(&text[copied..region.body.start]);
        result.push_str(&body(region));
        copied = region.body.end;
    }
    result.push_str(&text[copied..]);
    result
}

/// `text` with every region's solution replaced by its stub line.
pub fn stub(text: &str, regions: &[Region], step: u32) -> String {
    replace_bodies(text, regions, |region| region.stub_line(step))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
pub fn add(a: i32, b: i32) -> i32 {
    // EXERCISE(add): Add two numbers.
    // Use the + operator.
    a + b
    // END EXERCISE
}
";

    fn parse(text: &str) -> Result<Vec<Region>, RegionError> {
        super::parse(Path::new("src/lib.rs"), text)
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn a_region_is_the_solution_after_the_instructions() {
        let regions = parse(SOURCE).unwrap();
        assert_eq!(regions.len(), 1);
        assert_eq!(regions[0].id, "add");
        assert_eq!(regions[0].summary, "Add two numbers.");
        assert_eq!(regions[0].line, 2);
        assert_eq!(regions[0].body(SOURCE), "    a + b\n");
    }

    #[test]
    fn the_stub_keeps_markers_and_instructions() {
        let regions = parse(SOURCE).unwrap();
        let stubbed = stub(SOURCE, &regions, 3);
        assert_eq!(
            stubbed,
            "\
pub fn add(a: i32, b: i32) -> i32 {
    // EXERCISE(add): Add two numbers.
    // Use the + operator.
    let _ = (&a, &b); // unused until you write this exercise
    todo!(\"step 03, exercise add: Add two numbers.\")
    // END EXERCISE
}
"
        );
        let again = parse(&stubbed).unwrap();
        assert!(again[0].is_stubbed(&stubbed));
        assert!(!regions[0].is_stubbed(SOURCE));
        assert_eq!(
            replace_bodies(&stubbed, &again, |_| regions[0].body(SOURCE).to_string()),
            SOURCE
        );
    }

    #[test]
    fn summaries_are_escaped_for_the_todo_string() {
        let text = "fn f() {\n// EXERCISE(f): Say \"hi\" {name} \\ bye.\n()\n// END EXERCISE\n}\n";
        let regions = parse(text).unwrap();
        assert_eq!(
            regions[0].stub_line(1),
            "todo!(\"step 01, exercise f: Say \\\"hi\\\" {{name}} \\\\ bye.\")\n"
        );
    }

    #[test]
    fn a_long_stub_is_broken_as_rustfmt_breaks_it() {
        let summary = "Parse and normalise an image reference as Docker does, with every rule.";
        let text = format!(
            "impl R {{\n    fn parse() -> u8 {{\n        // EXERCISE(parse-reference): {summary}\n        1\n        // END EXERCISE\n    }}\n}}\n"
        );
        let regions = parse(&text).unwrap();
        let stubbed = stub(&text, &regions, 1);
        assert!(
            stubbed.contains(&format!(
                "        todo!(\n            \"step 01, exercise parse-reference: {summary}\"\n        )\n"
            )),
            "{stubbed}"
        );
        assert!(parse(&stubbed).unwrap()[0].is_stubbed(&stubbed));
        // Written on one line after all, it is still a stub; with code, not.
        let one_line = stubbed
            .replace("todo!(\n            \"", "todo!(\"")
            .replace("\"\n        )", "\")");
        assert!(parse(&one_line).unwrap()[0].is_stubbed(&one_line));
        let mine = stubbed.replace("        todo!(", "        let x = 1;\n        todo!(");
        assert!(!parse(&mine).unwrap()[0].is_stubbed(&mine));
    }

    #[test]
    fn crlf_files_keep_their_line_endings() {
        let text = SOURCE.replace('\n', "\r\n");
        let regions = parse(&text).unwrap();
        assert!(
            stub(&text, &regions, 1)
                .contains("todo!(\"step 01, exercise add: Add two numbers.\")\r\n")
        );
    }

    #[test]
    fn a_missing_end_is_reported_at_the_marker() {
        assert_eq!(
            error("fn f() {\n    // EXERCISE(f): Do it.\n    1\n}\n"),
            "src/lib.rs:2: exercise `f` has no `// END EXERCISE` line"
        );
    }

    #[test]
    fn nested_regions_are_reported_where_the_inner_one_starts() {
        let text =
            "// EXERCISE(a): A.\nx\n// EXERCISE(b): B.\ny\n// END EXERCISE\n// END EXERCISE\n";
        assert_eq!(
            error(text),
            "src/lib.rs:3: an exercise starts inside exercise `a` (line 1): regions do not nest; end that one with `// END EXERCISE` first"
        );
    }

    #[test]
    fn duplicate_ids_are_reported_at_the_second_one() {
        let text = "// EXERCISE(a): A.\nx\n// END EXERCISE\n// EXERCISE(a): A again.\ny\n// END EXERCISE\n";
        assert_eq!(
            error(text),
            "src/lib.rs:4: exercise id `a` is already used at line 1"
        );
    }

    #[test]
    fn stray_ends_and_malformed_markers_are_reported() {
        assert_eq!(
            error("x\n  // END EXERCISE\n"),
            "src/lib.rs:2: `// END EXERCISE` without an `// EXERCISE(id): ...` line before it"
        );
        assert_eq!(
            error("// EXERCISE: no id\n"),
            "src/lib.rs:1: expected `// EXERCISE(id): summary`, found `// EXERCISE: no id`"
        );
        assert_eq!(
            error("// EXERCISE(Big): B.\n"),
            "src/lib.rs:1: exercise id `Big`: use lowercase letters, digits and `-`"
        );
        assert_eq!(
            error("// EXERCISE(a):\n"),
            "src/lib.rs:1: exercise `a` needs a one-line summary after the `:`"
        );
        assert_eq!(
            error("// EXERCISE(a): A.\n// only instructions\n// END EXERCISE\n"),
            "src/lib.rs:1: exercise `a` has no solution between its instructions and `// END EXERCISE`"
        );
    }

    #[test]
    fn hints_follow_the_instructions() {
        let text = "\
fn f() -> i32 {
    // EXERCISE(f): Return a number.
    // Any number will do,
    // as long as it is the right one.
    // HINT: Think of the answer
    //   to everything.
    // HINT+: It is six times seven.
    42
    // END EXERCISE
}
";
        let regions = parse(text).unwrap();
        let expected = Guidance {
            instructions: vec![
                "Any number will do,".into(),
                "as long as it is the right one.".into(),
            ],
            hint: vec!["Think of the answer".into(), "  to everything.".into()],
            more: vec!["It is six times seven.".into()],
        };
        assert_eq!(guidance(text, &regions[0]), expected);
        // The stub keeps them.
        let stubbed = stub(text, &regions, 1);
        assert_eq!(guidance(&stubbed, &parse(&stubbed).unwrap()[0]), expected);
        assert_eq!(
            guidance(SOURCE, &parse(SOURCE).unwrap()[0]).hint,
            Vec::<String>::new()
        );
    }

    #[test]
    fn prose_mentioning_exercises_is_not_a_marker() {
        assert_eq!(parse("// EXERCISES are below.\n").unwrap(), []);
    }
}
