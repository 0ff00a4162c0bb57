//! Teaching assertions: a failed check names what was expected, what came
//! back, and the book section that explains it.
//!
//! The message has a fixed shape that the workshop runner understands:
//!
//! ```text
//! one-word names live under library/
//! expected: "library/alpine"
//! got:      "alpine"
//! read:     book/src/step-01-registry.md#docker-hub-names
//! ```
//!
//! The first line (what the check is about) is optional. The runner shows
//! the whole message under the failing check's name and takes the book
//! section from the `read:` line.

use std::fmt;

/// Asserts that `got == expected`; on failure, panics with a teaching message.
///
/// `read` names the book section to read, as a path under `book/src`
/// (`"step-01-registry.md#references"`). An optional format string after it
/// says what the check is about.
///
/// ```
/// let tag = "3.20";
/// workshop::check_eq!(tag, "3.20", read = "step-01-registry.md#references");
/// workshop::check_eq!(
///     tag.len(),
///     4,
///     read = "step-01-registry.md#references",
///     "the length of tag {tag:?}"
/// );
/// ```
///
/// Values are shown with `{:#?}`, so structures print one field a line.
#[macro_export]
macro_rules! check_eq {
    ($got:expr, $expected:expr, read = $read:expr $(,)?) => {
        match (&$got, &$expected) {
            (got, expected) => {
                if !(*got == *expected) {
                    $crate::Failure::new(
                        ::std::format!("{:#?}", expected),
                        ::std::format!("{:#?}", got),
                        $read,
                    )
                    .panic()
                }
            }
        }
    };
    ($got:expr, $expected:expr, read = $read:expr, $($what:tt)+) => {
        match (&$got, &$expected) {
            (got, expected) => {
                if !(*got == *expected) {
                    $crate::Failure::new(
                        ::std::format!("{:#?}", expected),
                        ::std::format!("{:#?}", got),
                        $read,
                    )
                    .about(::std::format!($($what)+))
                    .panic()
                }
            }
        }
    };
}

/// Asserts that `condition` holds; on failure, panics with a teaching
/// message built from a description of what was `expected` and the value
/// that was `got` instead (shown with `{:#?}`).
///
/// ```
/// let entries = vec!["bin", "etc"];
/// workshop::check!(
///     entries.contains(&"etc"),
///     expected = "an etc directory in the root filesystem",
///     got = entries,
///     read = "step-02-layers.md#flattening",
/// );
/// ```
#[macro_export]
macro_rules! check {
    ($condition:expr, expected = $expected:expr, got = $got:expr, read = $read:expr $(,)?) => {
        if !$condition {
            $crate::Failure::new($expected, ::std::format!("{:#?}", $got), $read).panic()
        }
    };
}

/// A failed check, ready to be reported with [`Failure::panic`].
///
/// The macros build one for you; use it directly when the comparison does
/// not fit them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    about: Option<String>,
    expected: String,
    got: String,
    read: String,
}

impl Failure {
    /// A failure that expected `expected`, got `got`, and sends the learner
    /// to `read` (a path under `book/src`, with an optional `#section`).
    pub fn new(expected: impl fmt::Display, got: impl fmt::Display, read: &str) -> Self {
        Failure {
            about: None,
            expected: expected.to_string(),
            got: got.to_string(),
            read: book_section(read),
        }
    }

    /// Adds a first line saying what the check is about.
    pub fn about(mut self, about: impl fmt::Display) -> Self {
        self.about = Some(about.to_string());
        self
    }

    /// Fails the calling test with this message.
    #[track_caller]
    pub fn panic(self) -> ! {
        panic!("{self}")
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(about) = &self.about {
            writeln!(f, "{about}")?;
        }
        writeln!(f, "expected: {}", indent_continuation(&self.expected))?;
        writeln!(f, "got:      {}", indent_continuation(&self.got))?;
        write!(f, "read:     {}", self.read)
    }
}

/// Fails the calling test: expected `expected`, got `got`, read `read`.
///
/// ```should_panic
/// let exit_code = 1;
/// if exit_code != 0 {
///     workshop::fail("exit code 0", exit_code, "step-05-chroot.md#exit-codes");
/// }
/// ```
#[track_caller]
pub fn fail(expected: impl fmt::Display, got: impl fmt::Display, read: &str) -> ! {
    Failure::new(expected, got, read).panic()
}

/// The book section a `read` argument names, as a path from the repository
/// root: `step-02-layers.md#whiteouts` becomes
/// `book/src/step-02-layers.md#whiteouts`; a path that already starts with
/// `book/` is kept.
pub fn book_section(read: &str) -> String {
    if read.starts_with("book/") {
        read.to_string()
    } else {
        format!("book/src/{}", read.trim_start_matches('/'))
    }
}

/// Lines after the first are indented to line up under the first, which
/// follows a ten-character label such as `expected: `.
fn indent_continuation(value: &str) -> String {
    value.replace('\n', "\n          ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic;

    fn panic_message(f: impl FnOnce() + panic::UnwindSafe) -> String {
        let payload = panic::catch_unwind(f).expect_err("the check should fail");
        match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => payload.downcast_ref::<&str>().unwrap().to_string(),
        }
    }

    #[test]
    fn check_eq_passes_silently_on_equal_values() {
        crate::check_eq!(2 + 2, 4, read = "step-01-registry.md");
        crate::check_eq!(
            "a".to_string(),
            "a",
            read = "step-01-registry.md",
            "the letter"
        );
    }

    #[test]
    fn check_eq_reports_expected_got_and_read() {
        let message = panic_message(|| {
            crate::check_eq!(
                "alpine",
                "library/alpine",
                read = "step-01-registry.md#names"
            )
        });
        assert_eq!(
            message,
            "expected: \"library/alpine\"\n\
             got:      \"alpine\"\n\
             read:     book/src/step-01-registry.md#names"
        );
    }

    #[test]
    fn check_eq_puts_what_the_check_is_about_first() {
        let name = "alpine";
        let message = panic_message(|| {
            crate::check_eq!(1, 2, read = "step-01-registry.md", "layers of {name}")
        });
        assert!(
            message.starts_with("layers of alpine\nexpected: 2\n"),
            "{message}"
        );
    }

    #[test]
    fn multi_line_values_line_up_under_their_label() {
        #[derive(Debug, PartialEq)]
        struct Point {
            x: i32,
        }
        let message = panic_message(|| {
            crate::check_eq!(Point { x: 1 }, Point { x: 2 }, read = "step-01-registry.md")
        });
        assert_eq!(
            message,
            "expected: Point {\n              x: 2,\n          }\n\
             got:      Point {\n              x: 1,\n          }\n\
             read:     book/src/step-01-registry.md"
        );
    }

    #[test]
    fn check_describes_the_expectation_and_shows_the_value() {
        let entries = vec!["bin"];
        let message = panic_message(|| {
            crate::check!(
                entries.contains(&"etc"),
                expected = "an etc directory",
                got = entries,
                read = "step-02-layers.md#flattening",
            )
        });
        assert_eq!(
            message,
            "expected: an etc directory\n\
             got:      [\n              \"bin\",\n          ]\n\
             read:     book/src/step-02-layers.md#flattening"
        );
    }

    #[test]
    fn fail_uses_display_for_free_form_messages() {
        let message = panic_message(|| fail("exit code 0", 1, "step-05-chroot.md#exit-codes"));
        assert_eq!(
            message,
            "expected: exit code 0\ngot:      1\nread:     book/src/step-05-chroot.md#exit-codes"
        );
    }

    #[test]
    fn book_sections_are_paths_from_the_repository_root() {
        assert_eq!(
            book_section("step-02-layers.md#whiteouts"),
            "book/src/step-02-layers.md#whiteouts"
        );
        assert_eq!(
            book_section("/step-02-layers.md"),
            "book/src/step-02-layers.md"
        );
        assert_eq!(book_section("book/src/intro.md"), "book/src/intro.md");
    }
}
