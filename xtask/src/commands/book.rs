//! `book [serve] [--check]`: check the book's includes, then build or serve it.
//!
//! The book includes code from the crates with mdbook's
//! `{{#include path:anchor}}` and `{{#rustdoc_include path:anchor}}`, never
//! pasted copies. mdbook itself only warns about a missing anchor and then
//! includes nothing, so this command checks first that every included file
//! exists and holds its `ANCHOR: name` and `ANCHOR_END: name` lines, and
//! that every step's chapter exists.
//!
//! The book also shows the runner's output, which names exercise regions by
//! file and line (`EXERCISE(parse-reference) at steps/01-x/src/lib.rs:39`).
//! Those places move whenever code above them does, so each one is checked
//! against the marker's line, in the reference or, as right after `just
//! start`, in the stubbed file.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{Course, Verdict, files, regions};

/// What to do once the includes check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `mdbook build book`, into `book/book`.
    Build,
    /// `mdbook serve book`, for writing.
    Serve,
    /// Build into `target/book-check`, leaving `book/book` alone: CI's proof
    /// that the book builds.
    Check,
}

pub fn run(course: &Course, mode: Mode, out: &mut dyn Write) -> Result<Verdict> {
    let book = course.root().join("book");
    if !book.join("book.toml").is_file() {
        bail!(
            "there is no book yet: {} is missing",
            book.join("book.toml").display()
        );
    }
    let mut problems = check_includes(course.root(), &book.join("src"))?;
    problems.extend(check_exercise_places(course.root(), &book.join("src"))?);
    for step in course.steps()? {
        if !book.join("src").join(&step.chapter).is_file() {
            problems.push(format!(
                "{}: {}'s chapter {} does not exist",
                step.dir
                    .join("Cargo.toml")
                    .strip_prefix(course.root())
                    .unwrap_or(&step.dir)
                    .display(),
                step.label(),
                step.chapter_path()
            ));
        }
    }
    if !problems.is_empty() {
        for problem in &problems {
            writeln!(out, "{problem}")?;
        }
        writeln!(
            out,
            "book: {} problem(s); mdbook was not run.",
            problems.len()
        )?;
        return Ok(Verdict::Fail);
    }
    writeln!(
        out,
        "book: every include resolves, and every exercise place it shows is where the marker is."
    )?;
    out.flush()?;
    let mut mdbook = Command::new("mdbook");
    mdbook.current_dir(course.root());
    match mode {
        Mode::Build => mdbook.args(["build", "book"]),
        Mode::Serve => mdbook.args(["serve", "book"]),
        Mode::Check => mdbook
            .args(["build", "book", "--dest-dir"])
            .arg(course.root().join("target/book-check")),
    };
    let status = mdbook
        .status()
        .context("could not run mdbook (install it with `just setup`)")?;
    Ok(Verdict::from_ok(status.success()))
}

/// Every include in the Markdown files under `src` whose file or anchor is
/// missing, as `chapter:line: include: problem`, paths from `root`.
pub fn check_includes(root: &Path, src: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for chapter in files::with_extension(src, "md")? {
        let text = fs::read_to_string(&chapter)
            .with_context(|| format!("could not read {}", chapter.display()))?;
        let shown = chapter
            .strip_prefix(root)
            .unwrap_or(&chapter)
            .display()
            .to_string();
        for (index, line) in text.lines().enumerate() {
            for include in includes(line) {
                if let Err(problem) = resolve(root, chapter.parent().unwrap_or(src), include) {
                    problems.push(format!(
                        "{shown}:{}: {{{{#{include}}}}}: {problem}",
                        index + 1
                    ));
                }
            }
        }
    }
    Ok(problems)
}

/// Every place in the Markdown files under `src` that names an exercise
/// region by file and line (`EXERCISE(id) at path:line`, `exercise id
/// (path:line)`) where that line does not hold the region's marker, neither
/// in the file as it is nor with every region stubbed; as
/// `chapter:line: problem`, paths from `root`.
pub fn check_exercise_places(root: &Path, src: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for chapter in files::with_extension(src, "md")? {
        let text = fs::read_to_string(&chapter)
            .with_context(|| format!("could not read {}", chapter.display()))?;
        let shown = chapter.strip_prefix(root).unwrap_or(&chapter).display();
        // Prose wraps, so a place may start on one line and end on the
        // next: each paragraph is read as one line, each of its lines
        // remembered by where it starts.
        let mut starts: Vec<(usize, usize)> = Vec::new();
        let mut paragraph = String::new();
        let lines = text.lines().chain(std::iter::once(""));
        for (index, line) in lines.enumerate() {
            if !line.trim().is_empty() {
                starts.push((paragraph.len(), index + 1));
                paragraph.push_str(line.trim());
                paragraph.push(' ');
                continue;
            }
            for (offset, id, path, at) in exercise_places(&paragraph) {
                if let Err(problem) = marker_at(root, id, path, at) {
                    let line = starts
                        .iter()
                        .rev()
                        .find(|(start, _)| *start <= offset)
                        .map_or(index, |(_, line)| *line);
                    problems.push(format!("{shown}:{line}: {problem}"));
                }
            }
            starts.clear();
            paragraph.clear();
        }
    }
    Ok(problems)
}

/// The `(offset, id, path, line)` of each exercise place in `text`.
fn exercise_places(text: &str) -> Vec<(usize, &str, &str, usize)> {
    let mut found = Vec::new();
    for (before, between) in [("EXERCISE(", ") at "), ("exercise ", " (")] {
        let mut from = 0;
        while let Some(start) = text[from..].find(before) {
            let offset = from + start;
            from = offset + before.len();
            let Some((id, tail)) = text[from..].split_once(between) else {
                break;
            };
            let place = tail
                .split(|c: char| c.is_whitespace() || matches!(c, '`' | ',' | ';' | ')'))
                .next()
                .unwrap_or("");
            let Some((path, at)) = place.rsplit_once(':') else {
                continue;
            };
            // `:39.` at the end of a sentence.
            let at = at.trim_end_matches('.');
            let valid_id = !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if let (true, true, Ok(at)) = (valid_id, path.ends_with(".rs"), at.parse()) {
                found.push((offset, id, path, at));
            }
        }
    }
    found
}

/// Whether line `at` of `path` holds `EXERCISE(id)`, as the file is or
/// with every region stubbed; else what is wrong.
fn marker_at(root: &Path, id: &str, path: &str, at: usize) -> Result<(), String> {
    let text = fs::read_to_string(root.join(path)).map_err(|_| format!("{path} does not exist"))?;
    let found = regions::parse(Path::new(path), &text).map_err(|e| e.message)?;
    let Some(region) = found.iter().find(|r| r.id == id) else {
        return Err(format!("{path} has no exercise `{id}`"));
    };
    let step = path
        .strip_prefix("steps/")
        .and_then(|p| p.get(..2))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let stubbed = regions::stub(&text, &found, step);
    let stubbed_line = regions::parse(Path::new(path), &stubbed)
        .ok()
        .and_then(|r| r.into_iter().find(|r| r.id == id))
        .map(|r| r.line);
    if region.line == at || stubbed_line == Some(at) {
        return Ok(());
    }
    Err(format!(
        "{path}:{at} is named as exercise `{id}`, whose marker is at line {}{}",
        region.line,
        match stubbed_line {
            Some(line) if line != region.line => format!(" ({line} once stubbed)"),
            _ => String::new(),
        }
    ))
}

/// The `include path:anchor` texts of one line's `{{#include ...}}` and
/// `{{#rustdoc_include ...}}`, skipping escaped ones (`\{{#include ...}}`).
pub(crate) fn includes(line: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("{{#") {
        let escaped = rest[..start].ends_with('\\');
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else { break };
        let body = after[..end].trim();
        if !escaped && (body.starts_with("include ") || body.starts_with("rustdoc_include ")) {
            found.push(body);
        }
        rest = &after[end + 2..];
    }
    found
}

/// Checks one include, relative to the chapter's directory `dir`.
fn resolve(root: &Path, dir: &Path, include: &str) -> Result<(), String> {
    let argument = include.split_once(' ').map(|(_, a)| a.trim()).unwrap_or("");
    let (path, selector) = match argument.split_once(':') {
        Some((path, selector)) => (path, Some(selector)),
        None => (argument, None),
    };
    let file = dir.join(path);
    let shown = file.canonicalize().ok();
    let shown = shown
        .as_deref()
        .and_then(|p| p.strip_prefix(root.canonicalize().ok()?).ok())
        .unwrap_or(Path::new(path));
    let text =
        fs::read_to_string(&file).map_err(|_| format!("{} does not exist", shown.display()))?;
    // A line range (`10`, `10:20`, `:20`) needs no anchor.
    let Some(anchor) = selector.filter(|s| !s.chars().all(|c| c.is_ascii_digit() || c == ':'))
    else {
        return Ok(());
    };
    for marker in ["ANCHOR", "ANCHOR_END"] {
        if !has_marker(&text, marker, anchor) {
            return Err(format!("no `{marker}: {anchor}` in {}", shown.display()));
        }
    }
    Ok(())
}

/// Whether `text` has a `MARKER: anchor` line, as mdbook matches it.
fn has_marker(text: &str, marker: &str, anchor: &str) -> bool {
    let needle = format!("{marker}:");
    text.lines().any(|line| {
        line.find(&needle)
            .map(|at| &line[at + needle.len()..])
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|name| name == anchor)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_are_found_and_escaped_ones_skipped() {
        let line = r"see {{#include ../a.rs:x}} and \{{#include b.rs}} and {{#rustdoc_include c.rs:1:5}} {{#title T}}";
        assert_eq!(
            includes(line),
            ["include ../a.rs:x", "rustdoc_include c.rs:1:5"]
        );
    }

    /// A course in a temporary directory with these files (paths from its
    /// root), and its `book/src`.
    fn course_with(files: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
        let root = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = root.path().join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let src = root.path().join("book/src");
        (root, src)
    }

    #[test]
    fn exercise_places_shown_in_the_book_must_be_where_the_markers_are() {
        let (root, src) = course_with(&[
            (
                "steps/01-x/src/lib.rs",
                "pub fn one() -> u8 {\n    \
                 // EXERCISE(one): The first.\n    \
                 let a = 1;\n    \
                 let b = 2;\n    \
                 a + b\n    \
                 // END EXERCISE\n\
             }\n\
             pub fn two() -> u8 {\n    \
                 // EXERCISE(two): The second.\n    \
                 2\n    \
                 // END EXERCISE\n\
             }\n",
            ),
            (
                "book/src/chapter.md",
                "  exercise one (steps/01-x/src/lib.rs:2)\n\
             Exercise: EXERCISE(two) at steps/01-x/src/lib.rs:9\n\
             Exercise: EXERCISE(two) at steps/01-x/src/lib.rs:7, once stubbed\n\
             \n\
             `EXERCISE(two) at steps/01-x/src/lib.rs:3`\n\
             \n\
             exercise one (steps/01-x/src/gone.rs:2)\n\
             \n\
             an exercise in steps (not a place), and EXERCISE(id) in prose,\n\
             where a wrapped EXERCISE(one) at\n\
             steps/01-x/src/lib.rs:1. is still read\n",
            ),
        ]);
        assert_eq!(
            check_exercise_places(root.path(), &src).unwrap(),
            [
                "book/src/chapter.md:5: steps/01-x/src/lib.rs:3 is named as exercise `two`, whose marker is at line 9 (7 once stubbed)",
                "book/src/chapter.md:7: steps/01-x/src/gone.rs does not exist",
                "book/src/chapter.md:10: steps/01-x/src/lib.rs:1 is named as exercise `one`, whose marker is at line 2",
            ]
        );
    }

    #[test]
    fn missing_files_and_anchors_are_named_with_chapter_and_line() {
        let (root, src) = course_with(&[
            (
                "code/lib.rs",
                "// ANCHOR: parse\nfn parse() {}\n// ANCHOR_END: parse\n// ANCHOR: half\n",
            ),
            (
                "book/src/chapter.md",
                "# Chapter\n\
             {{#include ../../code/lib.rs:parse}}\n\
             {{#include ../../code/lib.rs:2:3}}\n\
             {{#rustdoc_include ../../code/lib.rs:half}}\n\
             {{#include ../../code/gone.rs:parse}}\n\
             {{#include ../../code/lib.rs:parser}}\n",
            ),
        ]);
        assert_eq!(
            check_includes(root.path(), &src).unwrap(),
            [
                "book/src/chapter.md:4: {{#rustdoc_include ../../code/lib.rs:half}}: no `ANCHOR_END: half` in code/lib.rs",
                "book/src/chapter.md:5: {{#include ../../code/gone.rs:parse}}: ../../code/gone.rs does not exist",
                "book/src/chapter.md:6: {{#include ../../code/lib.rs:parser}}: no `ANCHOR: parser` in code/lib.rs",
            ]
        );
    }
}
