//! Reading `cargo test` output.
//!
//! A step's checks are its libtest tests: the unit tests in `src/` and the
//! integration tests in `tests/`. The runner reads libtest's plain-text
//! output, which has been stable for years:
//!
//! ```text
//!      Running tests/registry.rs (target/debug/deps/registry-0123)
//! running 3 tests
//! test ping ... ok
//! test token ... FAILED
//! test pull ... ignored, needs the network
//! successes:
//! ---- ping stdout ----
//! workshop: skipped: needs root or a user namespace
//! failures:
//! ---- token stdout ----
//! thread 'token' panicked at tests/registry.rs:20:5:
//! ...
//! test result: FAILED. 1 passed; 1 failed; 1 ignored; ...
//! ```
//!
//! A check's outcome is the `test NAME ... RESULT` line, except that a test
//! that passed but printed the [`workshop::SKIP_MARKER`] line counts as
//! skipped with the rest of that line as its reason, and an ignored test
//! (`#[ignore = "reason"]`) is skipped with its reason too. Skipped is never
//! passed. This needs `--show-output`, which shows passing tests' output.
//!
//! An integration test's check is named `<file stem>::<test>`
//! (`registry::ping`); a unit test keeps its path in the crate
//! (`reference::tests::parse`).

use std::collections::HashMap;

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed(Panic),
    Skipped(String),
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
}

/// What a failed test printed, split into the parts a learner reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Panic {
    /// `tests/registry.rs:20:5`.
    pub location: Option<String>,
    /// The panic message (and anything the test printed), without the
    /// `read:` line and libtest's backtrace notes.
    pub message: String,
    /// The book section from the message's `read:` line.
    pub read: Option<String>,
    /// The snapshot file of a failed insta assertion.
    pub snapshot: Option<String>,
}

/// Everything one `cargo test` run said about a step's checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Test binaries that stopped before reporting all their tests (a
    /// crash, an abort, a signal), with how many tests went unreported.
    pub crashes: Vec<Crash>,
    /// The compiler's errors when the step did not build.
    pub build_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crash {
    /// The test target (`tests/registry.rs`).
    pub target: String,
    pub unreported: usize,
    /// Cargo's `process didn't exit successfully` line, if it printed one.
    pub reason: Option<String>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Passed))
    }

    /// Failed checks, counting the tests of crashed binaries.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
            + self.crashes.iter().map(|c| c.unreported).sum::<usize>()
    }

    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }

    pub fn total(&self) -> usize {
        self.passed() + self.failed() + self.skipped()
    }

    /// No check failed, nothing crashed, and it built.
    pub fn ok(&self) -> bool {
        self.build_error.is_none() && self.failed() == 0
    }

    /// The first failed check and its panic.
    pub fn first_failure(&self) -> Option<(&Check, &Panic)> {
        self.checks.iter().find_map(|check| match &check.outcome {
            Outcome::Failed(panic) => Some((check, panic)),
            _ => None,
        })
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.checks.iter().filter(|c| f(&c.outcome)).count()
    }
}

/// The test binary being read.
struct Binary {
    target: String,
    /// The prefix of its checks' names (`registry::`, or empty).
    prefix: String,
    expected: usize,
    seen: usize,
    finished: bool,
}

/// Records `binary` as crashed if it did not report all its tests.
fn finish(binary: Option<Binary>, reason: Option<String>, report: &mut Report) {
    if let Some(binary) = binary
        && !binary.finished
    {
        report.crashes.push(Crash {
            target: binary.target,
            unreported: binary.expected.saturating_sub(binary.seen).max(1),
            reason,
        });
    }
}

/// What a `test NAME ... RESULT` line said, before the output is known.
enum Reported {
    Ok,
    Failed,
    Ignored(String),
}

/// What libtest printed as a test's outcome, if that is one.
fn reported(result: &str) -> Option<Reported> {
    match result {
        "ok" => Some(Reported::Ok),
        "FAILED" => Some(Reported::Failed),
        "ignored" => Some(Reported::Ignored("ignored".to_string())),
        other => other
            .strip_prefix("ignored, ")
            .map(|reason| Reported::Ignored(reason.to_string())),
    }
}

/// Reads cargo's merged stdout and stderr from `cargo test ... -- --show-output`.
pub fn parse(output: &str) -> Report {
    let mut report = Report::default();
    let mut results: Vec<(String, Reported)> = Vec::new();
    let mut blocks: HashMap<String, String> = HashMap::new();
    let mut binary: Option<Binary> = None;
    let mut block: Option<(String, String)> = None;
    // A test whose name was printed but whose outcome was not, yet.
    let mut dangling: Option<String> = None;
    let mut last_exit_error: Option<String> = None;

    for line in output.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("Running ")
            && line.starts_with(' ')
        {
            if let Some((name, _)) = block.take() {
                blocks.entry(name).or_default();
            }
            finish(binary.take(), last_exit_error.take(), &mut report);
            let target = rest.split(" (").next().unwrap_or(rest).trim().to_string();
            binary = Some(Binary {
                prefix: prefix(&target),
                target,
                expected: 0,
                seen: 0,
                finished: false,
            });
            continue;
        }
        if trimmed.contains("process didn't exit successfully") {
            last_exit_error = Some(trimmed.trim_start_matches("error: ").to_string());
            continue;
        }
        let Some(current) = binary.as_mut() else {
            continue;
        };
        if let Some((name, text)) = &mut block {
            if line.starts_with("---- ")
                || line == "successes:"
                || line == "failures:"
                || line.starts_with("test result: ")
            {
                blocks.insert(name.clone(), std::mem::take(text));
                block = None;
            } else {
                text.push_str(line);
                text.push('\n');
                continue;
            }
        }
        if let Some(count) = line
            .strip_prefix("running ")
            .and_then(|rest| rest.split(' ').next())
        {
            current.expected = count.parse().unwrap_or(0);
        } else if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" stdout ----"))
        {
            block = Some((format!("{}{name}", current.prefix), String::new()));
        } else if line.starts_with("test result: ") {
            current.finished = true;
        } else if let Some((name, result)) = line
            .strip_prefix("test ")
            .and_then(|rest| rest.rsplit_once(" ... "))
            .or_else(|| {
                line.strip_prefix("test ")?
                    .strip_suffix(" ...")
                    .map(|n| (n, ""))
            })
        {
            let Some(result) = reported(result) else {
                // With one test thread libtest prints the name before the
                // test runs, and the outcome after it: output the test (or a
                // child it started) wrote may come between the two.
                dangling = Some(name.to_string());
                continue;
            };
            dangling = None;
            current.seen += 1;
            results.push((format!("{}{name}", current.prefix), result));
        } else if let Some(result) = dangling.as_ref().and_then(|_| reported(line.trim())) {
            let name = dangling.take().expect("checked above");
            current.seen += 1;
            results.push((format!("{}{name}", current.prefix), result));
        }
    }
    if let Some((name, text)) = block.take() {
        blocks.insert(name, text);
    }
    finish(binary.take(), last_exit_error.take(), &mut report);

    for (name, result) in results {
        let text = blocks.remove(&name).unwrap_or_default();
        let outcome = match result {
            Reported::Ok => match skip_reason(&text) {
                Some(reason) => Outcome::Skipped(reason),
                None => Outcome::Passed,
            },
            Reported::Failed => Outcome::Failed(parse_panic(&text)),
            Reported::Ignored(reason) => Outcome::Skipped(reason),
        };
        report.checks.push(Check { name, outcome });
    }
    // Parallel tests report in the order they finish; sort for a stable view.
    report.checks.sort_by(|a, b| a.name.cmp(&b.name));
    if report.checks.is_empty()
        && report.crashes.is_empty()
        && output.contains("error: could not compile")
    {
        report.build_error = Some(compiler_errors(output));
    }
    report
}

/// `registry::` for `tests/registry.rs` and `tests/registry/main.rs`; empty
/// for the library's unit tests.
fn prefix(target: &str) -> String {
    if target.starts_with("unittests src/lib.rs") {
        return String::new();
    }
    let path = target.strip_prefix("unittests ").unwrap_or(target);
    let path = path.strip_suffix("/main.rs").unwrap_or(path);
    let stem = path
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".rs");
    format!("{stem}::")
}

fn skip_reason(output: &str) -> Option<String> {
    output
        .lines()
        .find_map(|line| line.strip_prefix(workshop::SKIP_MARKER))
        .map(|reason| reason.trim().to_string())
}

/// Splits a failed test's output into location, message and book section.
pub fn parse_panic(output: &str) -> Panic {
    let mut panic = Panic::default();
    let mut lines = Vec::new();
    let mut source_location = None;
    for line in output.lines() {
        if line.starts_with("note: run with `RUST_BACKTRACE=1`") {
            continue;
        }
        if line == "stack backtrace:" {
            break;
        }
        // `thread 'name' panicked at ...`, or with the thread id since Rust
        // 1.92: `thread 'name' (1234) panicked at ...`.
        if line.starts_with("thread '")
            && let Some((_, at)) = line.split_once(" panicked at ")
        {
            panic.location = Some(at.trim_end_matches(':').to_string());
            continue;
        }
        if let Some(read) = line.strip_prefix("read:") {
            panic.read = Some(read.trim().to_string());
            continue;
        }
        // insta's summary: the snapshot file, and the assertion's line (the
        // panic itself is in insta's code). Its footer tells the learner to
        // accept the new output with `cargo insta`, which the course never
        // does: the snapshot is the answer key.
        if let Some(file) = line.strip_prefix("Snapshot file: ") {
            panic.snapshot = Some(file.trim().to_string());
        }
        if panic.snapshot.is_some()
            && let Some(source) = line.strip_prefix("Source: ")
        {
            source_location = Some(source.trim().to_string());
        }
        if line.contains("cargo insta") || line.starts_with("Stopped on the first failure") {
            continue;
        }
        lines.push(line);
    }
    if panic.snapshot.is_some() && source_location.is_some() {
        panic.location = source_location;
    }
    panic.message = lines.join("\n").trim().to_string();
    panic
}

/// The compiler's errors from a failed build: everything from the first
/// error on, less cargo's chatter.
pub fn compiler_errors(output: &str) -> String {
    output
        .lines()
        .skip_while(|line| !line.starts_with("error"))
        .filter(|line| !line.starts_with("warning: build failed, waiting for other jobs"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
   Compiling step-01-sample v0.1.0 (/tmp/course/steps/01-sample)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.50s
     Running unittests src/lib.rs (target/debug/deps/step_01_sample-0123)

running 1 test
test words::tests::splits ... ok

successes:

successes:
    words::tests::splits

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/sample.rs (target/debug/deps/sample-4567)

running 4 tests
test ignored_one ... ignored, needs a registry
test parses ... FAILED
test reverses ... ok
test privileged ... ok

successes:

---- privileged stdout ----
workshop: skipped: needs root or a user namespace

---- reverses stdout ----
hello

successes:
    privileged
    reverses

failures:

---- parses stdout ----
thread 'parses' (4242) panicked at tests/sample.rs:10:5:
the key
expected: \"a\"
got:      \"b\"
read:     book/src/step-01-sample.md#lines
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    parses

test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

error: test failed, to rerun pass `--test sample`
";

    #[test]
    fn outcomes_come_from_result_lines_and_skip_markers() {
        let report = parse(OUTPUT);
        let outcomes: Vec<_> = report
            .checks
            .iter()
            .map(|c| {
                let outcome = match &c.outcome {
                    Outcome::Passed => "passed".to_string(),
                    Outcome::Failed(_) => "failed".to_string(),
                    Outcome::Skipped(reason) => format!("skipped: {reason}"),
                };
                (c.name.as_str(), outcome)
            })
            .collect();
        assert_eq!(
            outcomes,
            [
                (
                    "sample::ignored_one",
                    "skipped: needs a registry".to_string()
                ),
                ("sample::parses", "failed".to_string()),
                (
                    "sample::privileged",
                    "skipped: needs root or a user namespace".to_string()
                ),
                ("sample::reverses", "passed".to_string()),
                ("words::tests::splits", "passed".to_string()),
            ]
        );
        assert_eq!(
            (
                report.passed(),
                report.failed(),
                report.skipped(),
                report.total()
            ),
            (2, 1, 2, 5)
        );
        assert!(!report.ok());
    }

    #[test]
    fn output_between_a_name_and_its_outcome_is_tolerated() {
        let output = "\
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.50s
     Running tests/run.rs (target/debug/deps/run-89ab)

running 2 tests
test runs_a_child ... hello from the child
ok
test prints_nothing ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
";
        let report = parse(output);
        let names: Vec<(&str, bool)> = report
            .checks
            .iter()
            .map(|c| (c.name.as_str(), matches!(c.outcome, Outcome::Passed)))
            .collect();
        assert_eq!(
            names,
            [("run::prints_nothing", true), ("run::runs_a_child", true)]
        );
    }

    #[test]
    fn a_failure_is_split_into_location_message_and_book_section() {
        let report = parse(OUTPUT);
        let (check, panic) = report.first_failure().unwrap();
        assert_eq!(check.name, "sample::parses");
        assert_eq!(
            panic,
            &Panic {
                location: Some("tests/sample.rs:10:5".into()),
                message: "the key\nexpected: \"a\"\ngot:      \"b\"".into(),
                read: Some("book/src/step-01-sample.md#lines".into()),
                snapshot: None,
            }
        );
    }

    #[test]
    fn an_insta_failure_keeps_the_snapshot_file_and_drops_the_advice_to_accept() {
        let output = "\
Snapshot Summary
Snapshot file: steps/01-sample/tests/snapshots/sample__lines.snap
Snapshot: lines
Source: steps/01-sample/tests/sample.rs:40
-old snapshot
+new results
    1       │-a
          1 │+b
To update snapshots run `cargo insta review` or set `INSTA_UPDATE=always`
Stopped on the first failure. Run `cargo insta test` to run all snapshots.
thread 'lines' (77) panicked at /home/me/.cargo/registry/src/insta-1.49.0/src/runtime.rs:734:13:
snapshot assertion for 'lines' failed in line 40
";
        let panic = parse_panic(output);
        assert_eq!(
            panic.snapshot.as_deref(),
            Some("steps/01-sample/tests/snapshots/sample__lines.snap")
        );
        assert_eq!(
            panic.location.as_deref(),
            Some("steps/01-sample/tests/sample.rs:40")
        );
        assert!(!panic.message.contains("cargo insta"), "{}", panic.message);
        assert!(!panic.message.contains("Stopped"), "{}", panic.message);
        assert!(
            panic
                .message
                .ends_with("snapshot assertion for 'lines' failed in line 40")
        );
    }

    #[test]
    fn a_binary_that_dies_counts_its_unreported_tests_as_failed() {
        let output = "\
Finished `test` profile [unoptimized + debuginfo] target(s) in 0.50s
     Running tests/crash.rs (target/debug/deps/crash-89ab)

running 3 tests
test first ... ok
error: test failed, to rerun pass `--test crash`

Caused by:
  process didn't exit successfully: `/t/crash-89ab --show-output` (signal: 6, SIGABRT: process abort signal)
";
        let report = parse(output);
        assert_eq!(report.crashes.len(), 1);
        assert_eq!(report.crashes[0].target, "tests/crash.rs");
        assert_eq!(report.crashes[0].unreported, 2);
        assert_eq!((report.passed(), report.failed()), (1, 2));
    }

    #[test]
    fn a_build_failure_keeps_the_compiler_errors() {
        let output = "\
   Compiling step-01-sample v0.1.0 (/tmp/course/steps/01-sample)
error[E0308]: mismatched types
 --> steps/01-sample/src/lib.rs:3:5
warning: build failed, waiting for other jobs to finish...
error: could not compile `step-01-sample` (lib) due to 1 previous error
";
        let report = parse(output);
        assert_eq!(
            report.build_error.as_deref(),
            Some(
                "error[E0308]: mismatched types\n --> steps/01-sample/src/lib.rs:3:5\n\
                 error: could not compile `step-01-sample` (lib) due to 1 previous error"
            )
        );
        assert!(!report.ok());
    }
}
