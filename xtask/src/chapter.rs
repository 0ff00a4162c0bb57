//! A step's chapter, read for the book's order of the step's exercises and
//! for the sections that explain them.
//!
//! The book's order of a step's exercises is the order in which its chapter
//! (`book/src/<chapter>`) presents them. An exercise's place in the chapter
//! is, in this order of preference:
//!
//! 1. the first `{{#include path:anchor}}` of an anchor whose
//!    `// ANCHOR: anchor` ... `// ANCHOR_END: anchor` lines enclose the
//!    region: the chapter shows the exercise there;
//! 2. a heading that names the exercise: ``### Exercise `parse-reference` ``
//!    (anything may follow, such as `(core)`);
//! 3. nowhere: such exercises come after the others, in file order (files
//!    in path order, regions in line order).
//!
//! An exercise's book section is the heading at or above its place, as a
//! path from the repository root with mdbook's anchor for the heading:
//! `book/src/step-01-registry.md#exercise-parse-reference-core`.
//!
//! An exercise is on the core path unless its heading says `(deep dive)`:
//! ``### Exercise `break-out` (deep dive)``. `test --core` leaves the deep
//! dives for later.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::Course;
use crate::exercises::ExerciseFile;
use crate::regions::Region;
use crate::steps::Step;

/// A heading of a chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    /// Its line, counting from 1.
    pub line: usize,
    /// 1 for `#`, 2 for `##`, ...
    pub level: usize,
    pub title: String,
    /// The id mdbook gives it: `exercise-parse-reference`.
    pub anchor: String,
}

/// An `{{#include path:anchor}}` of a chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    pub line: usize,
    /// The included file, resolved against the chapter's directory.
    pub file: PathBuf,
    pub anchor: Option<String>,
}

/// What the runner reads of a chapter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chapter {
    /// `book/src/step-01-registry.md`.
    pub path: String,
    pub headings: Vec<Heading>,
    pub includes: Vec<Include>,
}

impl Chapter {
    /// The chapter of `step`; empty (no headings, no includes) if it does
    /// not exist yet.
    pub fn load(course: &Course, step: &Step) -> Chapter {
        let file = course.root().join("book/src").join(&step.chapter);
        let text = fs::read_to_string(&file).unwrap_or_default();
        Chapter::parse(
            &step.chapter_path(),
            file.parent().unwrap_or(course.root()),
            &text,
        )
    }

    /// Reads `text`, a chapter in `dir` shown as `path`.
    pub fn parse(path: &str, dir: &Path, text: &str) -> Chapter {
        let mut chapter = Chapter {
            path: path.to_string(),
            ..Chapter::default()
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut fence: Option<String> = None;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let trimmed = line.trim_start();
            if let Some(open) = &fence {
                if trimmed.starts_with(open.as_str()) {
                    fence = None;
                }
            } else if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                fence = Some(trimmed[..3].to_string());
            } else if let Some(heading) = heading(line) {
                let (title, custom) = heading;
                let id = custom.unwrap_or_else(|| normalize_id(&title));
                let count = seen.entry(id.clone()).or_insert(0);
                let anchor = if *count == 0 {
                    id.clone()
                } else {
                    format!("{id}-{count}")
                };
                *count += 1;
                chapter.headings.push(Heading {
                    line: number,
                    level: line.chars().take_while(|c| *c == '#').count(),
                    title,
                    anchor,
                });
                continue;
            }
            // mdbook expands includes inside code blocks too.
            for include in crate::commands::book::includes(line) {
                let argument = include.split_once(' ').map(|(_, a)| a.trim()).unwrap_or("");
                let (file, anchor) = match argument.split_once(':') {
                    Some((file, selector))
                        if !selector.chars().all(|c| c.is_ascii_digit() || c == ':') =>
                    {
                        (file, Some(selector.to_string()))
                    }
                    Some((file, _)) => (file, None),
                    None => (argument, None),
                };
                chapter.includes.push(Include {
                    line: number,
                    file: normalize(&dir.join(file)),
                    anchor,
                });
            }
        }
        chapter
    }

    /// The heading at or above `line`.
    pub fn heading_at(&self, line: usize) -> Option<&Heading> {
        self.headings.iter().rev().find(|h| h.line <= line)
    }

    /// The heading whose anchor is `anchor`.
    pub fn heading(&self, anchor: &str) -> Option<&Heading> {
        self.headings.iter().find(|h| h.anchor == anchor)
    }

    /// `book/src/chapter.md#anchor` for the heading at or above `line`, or
    /// the chapter alone.
    pub fn section_at(&self, line: usize) -> String {
        match self.heading_at(line) {
            Some(heading) if heading.level > 1 => format!("{}#{}", self.path, heading.anchor),
            _ => self.path.clone(),
        }
    }

    /// The line of a heading that names exercise `id`: ``Exercise `id` ``.
    fn exercise_heading(&self, id: &str) -> Option<usize> {
        self.heading_of_exercise(id).map(|h| h.line)
    }

    fn heading_of_exercise(&self, id: &str) -> Option<&Heading> {
        let wanted = format!("exercise `{id}`");
        self.headings
            .iter()
            .find(|h| h.title.to_lowercase().starts_with(&wanted))
    }

    /// Whether the heading of exercise `id` marks it as a deep dive.
    fn is_deep_dive(&self, id: &str) -> bool {
        self.heading_of_exercise(id)
            .is_some_and(|h| h.title.to_lowercase().contains("(deep dive)"))
    }
}

/// `(title, custom id)` of a Markdown ATX heading line.
fn heading(line: &str) -> Option<(String, Option<String>)> {
    let hashes = line.chars().take_while(|c| *c == '#').count();
    if hashes == 0 || hashes > 6 {
        return None;
    }
    let rest = &line[hashes..];
    if !rest.starts_with(' ') {
        return None;
    }
    let mut title = rest.trim().trim_end_matches('#').trim().to_string();
    let mut custom = None;
    if let Some(open) = title.rfind("{#")
        && title.ends_with('}')
    {
        custom = Some(title[open + 2..title.len() - 1].to_string());
        title = title[..open].trim().to_string();
    }
    Some((title, custom))
}

/// The id mdbook gives a heading: its text without Markdown, lowercase,
/// spaces as `-`, only letters, digits, `-` and `_` kept.
pub fn normalize_id(title: &str) -> String {
    let mut text = String::new();
    let mut rest = title;
    // `[text](url)` shows as `text`.
    while let Some(open) = rest.find('[') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find("](").and_then(|close| {
            let end = after[close..].find(')')? + close;
            Some((close, end))
        }) {
            Some((close, end)) => {
                text.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            None => {
                text.push('[');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text.chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_ascii_lowercase())
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut result = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                result.pop();
            }
            Component::CurDir => {}
            other => result.push(other),
        }
    }
    result
}

/// One exercise of a step, placed in the book.
#[derive(Debug, Clone)]
pub struct Exercise {
    pub id: String,
    /// The file, inside the step (`src/reference.rs`).
    pub file: PathBuf,
    /// The region in the reference text.
    pub region: Region,
    /// Its line in the chapter, if the chapter presents it.
    pub chapter_line: Option<usize>,
    /// The book section that explains it.
    pub section: String,
    /// Marked `(deep dive)` in the chapter: off the core path.
    pub deep_dive: bool,
}

impl Exercise {
    /// `steps/01-registry/src/reference.rs:37`.
    pub fn location(&self, course: &Course, step: &Step) -> String {
        let dir = step.dir.strip_prefix(course.root()).unwrap_or(&step.dir);
        format!("{}:{}", dir.join(&self.file).display(), self.region.line)
    }
}

/// The exercises of `files` (a step's, from [`crate::exercises::load`]) in
/// the book's order.
pub fn book_order(step: &Step, files: &[ExerciseFile], chapter: &Chapter) -> Vec<Exercise> {
    let mut placed = Vec::new();
    for (file_index, file) in files.iter().enumerate() {
        let absolute = normalize(&step.dir.join(&file.path));
        let anchors = anchors(&file.reference);
        for region in &file.regions {
            let by_include = chapter
                .includes
                .iter()
                .filter(|include| include.file == absolute)
                .filter(|include| {
                    include.anchor.as_ref().is_some_and(|name| {
                        anchors.iter().any(|(anchor, start, end)| {
                            anchor == name && *start < region.line && region.end_line < *end
                        })
                    })
                })
                .map(|include| include.line)
                .min();
            let chapter_line = by_include.or_else(|| chapter.exercise_heading(&region.id));
            let section = match chapter_line {
                Some(line) => chapter.section_at(line),
                None => chapter.path.clone(),
            };
            placed.push((
                (chapter_line.unwrap_or(usize::MAX), file_index, region.line),
                Exercise {
                    id: region.id.clone(),
                    file: file.path.clone(),
                    region: region.clone(),
                    chapter_line,
                    section,
                    deep_dive: chapter.is_deep_dive(&region.id),
                },
            ));
        }
    }
    placed.sort_by_key(|(key, _)| *key);
    placed.into_iter().map(|(_, exercise)| exercise).collect()
}

/// The `ANCHOR: name` ... `ANCHOR_END: name` pairs of `text`, with their
/// lines.
fn anchors(text: &str) -> Vec<(String, usize, usize)> {
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut pairs = Vec::new();
    let name_after = |line: &str, marker: &str| {
        line.find(marker)
            .map(|at| &line[at + marker.len()..])
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
    };
    for (index, line) in text.lines().enumerate() {
        if let Some(name) = name_after(line, "ANCHOR_END:") {
            if let Some(at) = open.iter().position(|(n, _)| *n == name) {
                let (name, start) = open.remove(at);
                pairs.push((name, start, index + 1));
            }
        } else if let Some(name) = name_after(line, "ANCHOR:") {
            open.push((name, index + 1));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regions;

    const CHAPTER: &str = "\
# Step 01: Sample
## Lines
Some text.
### Exercise `parse-line` (core)
```rust
# not a heading
```
## Looking things up
{{#include ../../steps/01-sample/src/lib.rs:lookup}}
## Lines
";

    #[test]
    fn headings_get_mdbooks_anchors() {
        let chapter = Chapter::parse("book/src/c.md", Path::new("/course/book/src"), CHAPTER);
        let anchors: Vec<_> = chapter
            .headings
            .iter()
            .map(|h| (h.line, h.anchor.as_str()))
            .collect();
        assert_eq!(
            anchors,
            [
                (1, "step-01-sample"),
                (2, "lines"),
                (4, "exercise-parse-line-core"),
                (8, "looking-things-up"),
                (10, "lines-1"),
            ]
        );
        assert_eq!(
            chapter.section_at(6),
            "book/src/c.md#exercise-parse-line-core"
        );
        assert_eq!(chapter.section_at(1), "book/src/c.md");
        assert_eq!(
            chapter.includes,
            [Include {
                line: 9,
                file: PathBuf::from("/course/steps/01-sample/src/lib.rs"),
                anchor: Some("lookup".into()),
            }]
        );
        assert_eq!(normalize_id("The `Accept` header"), "the-accept-header");
        assert_eq!(
            normalize_id("See [Digests](#digests), now"),
            "see-digests-now"
        );
    }

    #[test]
    fn exercises_follow_includes_then_headings_then_files() {
        let lib = "\
pub fn parse_line() {
    // EXERCISE(parse-line): Parse.
    1
    // END EXERCISE
}
pub fn unmentioned() {
    // EXERCISE(unmentioned): Nobody talks about it.
    2
    // END EXERCISE
}
// ANCHOR: lookup
pub fn lookup() {
    // EXERCISE(lookup): Look up.
    3
    // END EXERCISE
}
// ANCHOR_END: lookup
";
        let step = Step {
            number: 1,
            package: "step-01-sample".into(),
            dir: PathBuf::from("/course/steps/01-sample"),
            title: "Sample".into(),
            chapter: "c.md".into(),
            needs_root: false,
        };
        let files = [ExerciseFile {
            path: PathBuf::from("src/lib.rs"),
            reference: lib.to_string(),
            regions: regions::parse(Path::new("src/lib.rs"), lib).unwrap(),
            saved: false,
        }];
        // The include comes first in this chapter.
        let chapter = Chapter::parse(
            "book/src/c.md",
            Path::new("/course/book/src"),
            &CHAPTER.replace(
                "## Lines\nSome",
                "## Intro\n{{#include ../../steps/01-sample/src/lib.rs:lookup}}\n## Lines\nSome",
            ),
        );
        let order: Vec<_> = book_order(&step, &files, &chapter)
            .into_iter()
            .map(|e| (e.id, e.section))
            .collect();
        assert_eq!(
            order,
            [
                ("lookup".to_string(), "book/src/c.md#intro".to_string()),
                (
                    "parse-line".to_string(),
                    "book/src/c.md#exercise-parse-line-core".to_string()
                ),
                ("unmentioned".to_string(), "book/src/c.md".to_string()),
            ]
        );
    }
}
