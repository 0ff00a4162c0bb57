//! The runner's commands, run on the sample courses in `fixtures/`.
//!
//! Every test copies a course to a temporary directory and builds it with
//! the cargo that runs the tests (`env!("CARGO")`) into a target directory
//! of its own, so the nested builds never wait for the outer build's lock.

use std::fs;
use std::path::{Path, PathBuf};

use tempfile::TempDir;
use xtask::checks::RunOptions;
use xtask::commands::{check_exercises, exercise_table, hint, solution, start, test};
use xtask::{Course, Verdict};

/// A copy of a fixture course, removed when dropped.
struct Sample {
    _dir: TempDir,
    course: Course,
}

impl Sample {
    fn new(fixture: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("course");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(fixture),
            &root,
        );
        let course = Course::new(&root)
            .with_cargo(env!("CARGO"))
            .with_target_dir(dir.path().join("target"));
        Sample { _dir: dir, course }
    }

    /// A course whose `steps/` holds only a README.
    fn empty() -> Self {
        let sample = Sample::new("sample-course");
        fs::remove_dir_all(sample.course.root().join("steps/01-sample")).unwrap();
        sample
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.course.root().join(relative)
    }

    fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.path(relative)).unwrap()
    }

    fn start(&self, force: bool) -> (Verdict, String) {
        capture(|out| start::run(&self.course, "step-1", test::Path::Whole, force, out))
    }

    fn solution(&self, restore: bool) -> (Verdict, String) {
        capture(|out| solution::run(&self.course, "1", restore, out))
    }

    fn test(&self, step: Option<&str>) -> (Verdict, String) {
        self.test_exercise(step, None)
    }

    fn test_exercise(&self, step: Option<&str>, exercise: Option<&str>) -> (Verdict, String) {
        self.test_path(step, exercise, test::Path::Whole)
    }

    fn test_path(
        &self,
        step: Option<&str>,
        exercise: Option<&str>,
        path: test::Path,
    ) -> (Verdict, String) {
        capture(|out| {
            test::run(
                &self.course,
                step,
                exercise,
                path,
                RunOptions {
                    test_threads: Some(1),
                    idle_timeout: None,
                },
                out,
            )
        })
    }

    /// Makes the course's root a `dockerless` package, as in the real course:
    /// a tool whose `pull IMAGE` calls the step's `parse_line`.
    fn with_tool(&self) {
        let manifest = self.read("Cargo.toml");
        fs::write(
            self.path("Cargo.toml"),
            format!(
                "{manifest}\n[package]\nname = \"dockerless\"\nversion = \"0.1.0\"\n\
                 edition = \"2024\"\npublish = false\n\n[dependencies]\n\
                 step-01-sample = {{ path = \"steps/01-sample\" }}\n"
            ),
        )
        .unwrap();
        fs::create_dir_all(self.path("src")).unwrap();
        fs::write(
            self.path("src/main.rs"),
            "fn main() {\n    let image = std::env::args().nth(2).unwrap_or_default();\n    \
             println!(\"{:?}\", step_01_sample::parse_line(&image));\n}\n",
        )
        .unwrap();
    }

    fn demo(&self) -> (Verdict, String) {
        capture(|out| xtask::demo::demo(&self.course, out, None))
    }

    /// `check-exercises`, with its timings (`(5 runs in 13s)`) left out.
    fn check_exercises(&self) -> (Verdict, String) {
        untimed(capture(|out| check_exercises::run(&self.course, None, out)))
    }

    /// `exercise-table`, with its timings left out.
    fn exercise_table(&self) -> (Verdict, String) {
        untimed(capture(|out| exercise_table::run(&self.course, None, out)))
    }
}

/// `(5 runs in 13s)` as `(5 runs in ...)`.
fn untimed((verdict, output): (Verdict, String)) -> (Verdict, String) {
    let output = output
        .lines()
        .map(|line| match line.find(" runs in ") {
            Some(at) if line.ends_with(')') => format!("{} runs in ...)", &line[..at]),
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    (verdict, output + "\n")
}

fn capture(
    run: impl FnOnce(&mut dyn std::io::Write) -> anyhow::Result<Verdict>,
) -> (Verdict, String) {
    let mut out = Vec::new();
    let verdict = run(&mut out).unwrap();
    (verdict, String::from_utf8(out).unwrap())
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

const LIB: &str = "steps/01-sample/src/lib.rs";
const WORDS: &str = "steps/01-sample/src/words.rs";

#[test]
fn the_fixture_keeps_the_workshop_skip_marker_exactly() {
    let tests = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sample-course/steps/01-sample/tests/sample.rs"),
    )
    .unwrap();
    assert!(tests.contains(&format!(
        "const SKIP_MARKER: &str = {:?};",
        workshop::SKIP_MARKER
    )));
}

#[test]
fn start_stubs_every_region_and_saves_the_reference() {
    let sample = Sample::new("sample-course");
    let reference = sample.read(LIB);
    let (verdict, output) = sample.start(false);
    assert_eq!(verdict, Verdict::Pass);
    insta::assert_snapshot!("start_output", output);
    insta::assert_snapshot!("stubbed_lib_rs", sample.read(LIB));
    insta::assert_snapshot!("stubbed_words_rs", sample.read(WORDS));
    assert_eq!(
        fs::read_to_string(sample.path(".workshop/reference/step-01-sample/src/lib.rs")).unwrap(),
        reference
    );
}

#[test]
fn the_stubs_compile_without_warnings() {
    let sample = Sample::new("sample-course");
    assert_eq!(sample.start(false).0, Verdict::Pass);
    let build = sample
        .course
        .cargo()
        .args([
            "build",
            "--all-targets",
            "--color",
            "never",
            "-p",
            "step-01-sample",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(build.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn start_is_idempotent() {
    let sample = Sample::new("sample-course");
    assert_eq!(sample.start(false).0, Verdict::Pass);
    let stubbed = sample.read(LIB);
    let (verdict, output) = sample.start(false);
    assert_eq!(verdict, Verdict::Pass);
    assert!(
        output.contains("  ready    src/lib.rs: parse-line, lookup (already started)"),
        "{output}"
    );
    assert_eq!(sample.read(LIB), stubbed);
}

#[test]
fn start_keeps_the_learners_changes_unless_forced() {
    let sample = Sample::new("sample-course");
    assert_eq!(sample.start(false).0, Verdict::Pass);
    let stubbed = sample.read(WORDS);
    let mine = stubbed.replace("    todo!(", "    let _mine = 1;\n    todo!(");
    fs::write(sample.path(WORDS), &mine).unwrap();

    let (verdict, output) = sample.start(false);
    assert_eq!(verdict, Verdict::Fail);
    assert!(
        output.contains("keep     src/words.rs: it holds changes of yours"),
        "{output}"
    );
    assert!(output.contains("just start step-1 --force"), "{output}");
    assert_eq!(sample.read(WORDS), mine);

    let (verdict, _) = sample.start(true);
    assert_eq!(verdict, Verdict::Pass);
    assert_eq!(sample.read(WORDS), stubbed);
}

#[test]
fn solution_restore_puts_the_reference_back_byte_for_byte() {
    let sample = Sample::new("sample-course");
    let (lib, words) = (sample.read(LIB), sample.read(WORDS));
    assert_eq!(sample.start(false).0, Verdict::Pass);
    // The learner also changed code outside the regions; that stays.
    let outside = sample
        .read(LIB)
        .replace("/// The value of", "/// My note.\n/// The value of");
    fs::write(sample.path(LIB), &outside).unwrap();
    let stubbed_words = sample.read(WORDS);

    let (verdict, output) = sample.solution(true);
    assert_eq!(verdict, Verdict::Pass);
    // What the learner had is kept, not lost.
    assert!(
        output.contains("yours is kept in .workshop/yours/"),
        "{output}"
    );
    let kept = sample.path(".workshop/yours/step-01-sample/src/words.rs");
    assert_eq!(fs::read_to_string(kept).unwrap(), stubbed_words);
    assert!(
        output.contains("restored  src/words.rs: reverse-words"),
        "{output}"
    );
    assert_eq!(sample.read(WORDS), words);
    assert_eq!(
        sample.read(LIB),
        lib.replace("/// The value of", "/// My note.\n/// The value of")
    );

    // Restoring again changes nothing.
    let (verdict, output) = sample.solution(true);
    assert_eq!(verdict, Verdict::Pass);
    assert!(output.contains("same      src/words.rs"), "{output}");
    // Starting again keeps the note outside the regions unless forced; then
    // it stubs again, and restoring puts the reference back again.
    let (verdict, output) = sample.start(false);
    assert_eq!(verdict, Verdict::Fail);
    assert!(
        output.contains("keep     src/lib.rs: it holds changes of yours"),
        "{output}"
    );
    assert_eq!(sample.read(WORDS), words);
    assert_eq!(sample.start(true).0, Verdict::Pass);
    assert_ne!(sample.read(WORDS), words);
    assert_eq!(sample.solution(true).0, Verdict::Pass);
    assert_eq!(sample.read(WORDS), words);
}

#[test]
fn solution_shows_a_diff_per_region() {
    let sample = Sample::new("sample-course");
    let (verdict, output) = sample.solution(false);
    assert_eq!(verdict, Verdict::Pass);
    assert!(output.contains("has not been started"), "{output}");
    assert_eq!(sample.start(false).0, Verdict::Pass);
    let (verdict, output) = sample.solution(false);
    assert_eq!(verdict, Verdict::Pass);
    insta::assert_snapshot!("solution_diff", output);
}

#[test]
fn test_reports_each_check_on_the_reference() {
    let sample = Sample::new("sample-course");
    let (verdict, output) = sample.test(Some("step-01"));
    assert_eq!(verdict, Verdict::Pass);
    insta::assert_snapshot!("test_reference", output);
    let progress = sample.read(".workshop/progress.json");
    assert!(
        progress.contains("\"step-01-sample\": {\n    \"passed\": 5,"),
        "{progress}"
    );
}

#[test]
fn test_shows_the_first_failure_on_the_stubs() {
    let sample = Sample::new("sample-course");
    assert_eq!(sample.start(false).0, Verdict::Pass);
    let (verdict, output) = sample.test(Some("1"));
    assert_eq!(verdict, Verdict::Fail);
    insta::assert_snapshot!("test_stubs", output);
}

#[test]
fn test_shows_expected_got_and_the_book_section_of_a_wrong_answer() {
    let sample = Sample::new("sample-course");
    let wrong = sample.read(LIB).replace(
        "Some((key.trim().to_string(), value.trim().to_string()))",
        "Some((key.to_string(), value.to_string()))",
    );
    fs::write(sample.path(LIB), wrong).unwrap();
    let (verdict, output) = sample.test(Some("step-1"));
    assert_eq!(verdict, Verdict::Fail);
    insta::assert_snapshot!("test_wrong_answer", output);
}

/// A type error in an exercise region: the error in `parse-line`.
fn break_parse_line(sample: &Sample) {
    let broken = sample.read(LIB).replace(
        "Some((key.trim().to_string(), value.trim().to_string()))",
        "Some((key.trim(), 42))",
    );
    fs::write(sample.path(LIB), broken).unwrap();
}

#[test]
fn a_step_that_does_not_build_is_reported_with_its_first_error_and_its_region() {
    let sample = Sample::new("sample-course");
    break_parse_line(&sample);
    let (verdict, output) = sample.test(Some("step-1"));
    assert_eq!(verdict, Verdict::Fail);
    // Cargo's output first, then the first error again, with its region.
    assert!(
        output.starts_with("step 01: A sample step\nstep 01 does not build:\n\n"),
        "{output}"
    );
    let (cargo, tail) = output
        .split_once("\nFirst error, in EXERCISE(parse-line) at steps/01-sample/src/lib.rs:8:\n")
        .unwrap_or_else(|| panic!("no first error with its region in:\n{output}"));
    assert!(
        cargo.contains("error: could not compile `step-01-sample`"),
        "{cargo}"
    );
    assert!(
        tail.starts_with(
            "  error[E0308]: mismatched types\n    --> steps/01-sample/src/lib.rs:11:11\n"
        ),
        "{tail}"
    );
}

#[test]
fn the_demo_says_which_step_to_finish_first() {
    let sample = Sample::new("sample-course");
    sample.with_tool();
    break_parse_line(&sample);
    let (verdict, output) = sample.demo();
    assert_eq!(verdict, Verdict::Pass);
    assert!(
        output.contains(
            "  The tool does not build: step 01 does not compile yet. Finish step 01 first \
             (`just test step-1` shows the first error); the rest of the demo goes on without the tool.\n  \
             Its first error is in EXERCISE(parse-line) at steps/01-sample/src/lib.rs:8:\n    \
             error[E0308]: mismatched types\n"
        ),
        "{output}"
    );
    assert!(
        output.contains("Where the course begins:\n  step 01: A sample step"),
        "{output}"
    );

    // Once it builds but still stops at a todo!(), the demo says so too.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sample-course");
    fs::copy(fixture.join(LIB), sample.path(LIB)).unwrap();
    assert_eq!(sample.start(false).0, Verdict::Pass);
    let (verdict, output) = sample.demo();
    assert_eq!(verdict, Verdict::Pass);
    assert!(
        output.contains(
            "  The tool stopped at step 01's exercise `parse-line`, still a todo!(). \
             Finish step 01 first (`just test step-1`); the rest of the demo goes on without the tool.\n"
        ),
        "{output}"
    );
}

#[test]
fn test_with_an_exercise_runs_only_its_checks() {
    let sample = Sample::new("sample-course");
    assert_eq!(sample.start(false).0, Verdict::Pass);
    // The first run learns which check belongs to which exercise.
    assert_eq!(sample.test(Some("1")).0, Verdict::Fail);
    let (verdict, output) = sample.test_exercise(Some("1"), Some("parse-line"));
    assert_eq!(verdict, Verdict::Fail);
    insta::assert_snapshot!("test_one_exercise", output);
    let error = test::run(
        &sample.course,
        Some("1"),
        Some("parse-lines"),
        test::Path::Whole,
        RunOptions::default(),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "step 01 has no exercise `parse-lines`; its exercises are reverse-words, parse-line, lookup"
    );
}

#[test]
fn test_core_leaves_an_unwritten_deep_dive_for_later() {
    let sample = Sample::new("sample-course");
    // `lookup` is the chapter's deep dive; the core exercises are written.
    let lookup_stub = sample.read(LIB).replace(
        "    text.lines()
        .filter_map(parse_line)
        .find(|(k, _)| k == key)
        .map(|(_, value)| value)",
        "    let _ = (&text, &key);
    todo!(\"step 01, exercise lookup: Find the value of a key.\")",
    );
    fs::write(sample.path(LIB), lookup_stub).unwrap();
    let (verdict, output) = untimed(sample.test_path(Some("1"), None, test::Path::Core));
    assert_eq!(verdict, Verdict::Pass, "{output}");
    insta::assert_snapshot!("test_core_path", output);
    let (verdict, output) = sample.test(Some("1"));
    assert_eq!(
        verdict,
        Verdict::Fail,
        "the whole step is not done: {output}"
    );
    assert!(
        output.contains("FAIL  sample::looks_up_a_key"),
        "without --core the deep dive's check fails: {output}"
    );
}

#[test]
fn start_core_leaves_the_deep_dives_written() {
    let sample = Sample::new("sample-course");
    let reference = sample.read(LIB);
    let (verdict, output) =
        capture(|out| start::run(&sample.course, "1", test::Path::Core, false, out));
    assert_eq!(verdict, Verdict::Pass, "{output}");
    insta::assert_snapshot!("start_core", output);
    let started = sample.read(LIB);
    assert!(
        started.contains("todo!(\"step 01, exercise parse-line"),
        "the core exercise parse-line is stubbed: {started}"
    );
    let lookup = |text: &str| text[text.find("EXERCISE(lookup)").unwrap()..].to_string();
    assert_eq!(
        lookup(&started),
        lookup(&reference),
        "the deep dive lookup keeps its solution"
    );
}

#[test]
fn test_core_without_a_step_is_refused() {
    let sample = Sample::new("sample-course");
    let error = test::run(
        &sample.course,
        None,
        None,
        test::Path::Core,
        RunOptions::default(),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "--core goes with a step: `just test step-1 --core`"
    );
}

#[test]
fn hint_gives_the_first_unfinished_exercise_its_hints_one_at_a_time() {
    let sample = Sample::new("sample-course");
    let hint = |more: bool| capture(|out| hint::run(&sample.course, "step-1", more, out));
    let (verdict, output) = hint(false);
    assert_eq!(verdict, Verdict::Pass);
    assert!(
        output.contains("Every exercise of step 01 is written"),
        "{output}"
    );

    assert_eq!(sample.start(false).0, Verdict::Pass);
    // The learner's first run maps the checks to their exercises.
    assert_eq!(sample.test(Some("1")).0, Verdict::Fail);
    let (verdict, small) = hint(false);
    assert_eq!(verdict, Verdict::Pass);
    let (verdict, bigger) = hint(true);
    assert_eq!(verdict, Verdict::Pass);
    insta::assert_snapshot!("hint_small", small);
    insta::assert_snapshot!("hint_more", bigger);

    // With reverse-words written, the next one, which has no hints, gets its
    // instructions and its book section.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sample-course");
    fs::copy(fixture.join(WORDS), sample.path(WORDS)).unwrap();
    assert_eq!(sample.test(Some("1")).0, Verdict::Fail);
    let (verdict, next) = hint(false);
    assert_eq!(verdict, Verdict::Pass);
    insta::assert_snapshot!("hint_instructions", next);

    // An exercise whose checks failed in the last run is unfinished too.
    let wrong = sample.read(WORDS).replace("words.reverse();", "");
    fs::write(sample.path(WORDS), wrong).unwrap();
    assert_eq!(sample.test(Some("1")).0, Verdict::Fail);
    let (verdict, failing) = hint(false);
    assert_eq!(verdict, Verdict::Pass);
    assert!(
        failing.contains("The first unfinished exercise is reverse-words (sample::reverses_words failed in your last `just test step-1`):"),
        "{failing}"
    );
}

#[test]
fn a_check_that_hangs_is_stopped_and_named() {
    let sample = Sample::new("sample-course");
    fs::write(
        sample.path("steps/01-sample/tests/hang.rs"),
        "#[test]\nfn never_returns() {\n    loop {\n        std::thread::sleep(std::time::Duration::from_secs(1));\n    }\n}\n",
    )
    .unwrap();
    let (verdict, output) = capture(|out| {
        test::run(
            &sample.course,
            Some("1"),
            None,
            test::Path::Whole,
            RunOptions {
                test_threads: Some(1),
                idle_timeout: Some(std::time::Duration::from_secs(2)),
            },
            out,
        )
    });
    assert_eq!(verdict, Verdict::Fail);
    assert!(
        output.contains(
            "  FAIL  tests/hang.rs: stopped before 1 more check(s) could report: stopped after 2s without a word: a check hung"
        ),
        "{output}"
    );
}

#[test]
fn test_without_a_step_shows_the_overview() {
    let sample = Sample::new("sample-course");
    let (verdict, output) = sample.test(None);
    assert_eq!(verdict, Verdict::Pass);
    insta::assert_snapshot!("test_overview", output);
}

#[test]
fn check_exercises_passes_an_honest_course() {
    let sample = Sample::new("sample-course");
    let (verdict, output) = sample.check_exercises();
    insta::assert_snapshot!("check_exercises_sample", output);
    assert_eq!(verdict, Verdict::Pass);
    // The working tree is untouched.
    assert!(!sample.read(LIB).contains("todo!("));
}

#[test]
fn exercise_table_counts_after_each_exercise_in_the_books_order() {
    let sample = Sample::new("sample-course");
    let (verdict, output) = sample.exercise_table();
    insta::assert_snapshot!("exercise_table_sample", output);
    assert_eq!(verdict, Verdict::Pass);
    assert!(!sample.read(LIB).contains("todo!("));

    let bad = Sample::new("bad-course");
    let (verdict, output) = bad.exercise_table();
    insta::assert_snapshot!("exercise_table_bad", output);
    assert_eq!(verdict, Verdict::Fail);
}

#[test]
fn check_exercises_names_a_check_that_passes_on_the_stubs() {
    let sample = Sample::new("bad-course");
    let (verdict, output) = sample.check_exercises();
    insta::assert_snapshot!("check_exercises_bad", output);
    assert_eq!(verdict, Verdict::Fail);
}

#[test]
fn check_exercises_names_a_warning_the_stubs_leave() {
    let sample = Sample::new("sample-course");
    // An import at the top that only the solution uses: unused once stubbed.
    let words = sample
        .read(WORDS)
        .replacen("/// ", "use std::str::SplitWhitespace;\n\n/// ", 1)
        .replace(
            "let mut words: Vec<&str> = text.split_whitespace().collect();",
            "let words: SplitWhitespace = text.split_whitespace();\n    \
             let mut words: Vec<&str> = words.collect();",
        );
    fs::write(sample.path(WORDS), words).unwrap();
    let (verdict, output) = sample.check_exercises();
    assert!(
        output.contains(
            "  FAIL  the workspace builds with step 01 stubbed, but with warnings about the steps' code:\n          \
             steps/01-sample/src/words.rs:1: unused import: `std::str::SplitWhitespace`\n"
        ),
        "{output}"
    );
    assert_eq!(verdict, Verdict::Fail);
}

#[test]
fn malformed_regions_are_errors_naming_file_and_line() {
    let sample = Sample::new("sample-course");
    let broken = sample.read(WORDS).replace("    // END EXERCISE\n", "");
    fs::write(sample.path(WORDS), broken).unwrap();
    let error = start::run(
        &sample.course,
        "step-1",
        test::Path::Whole,
        false,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(
        error.to_string().ends_with(
            "steps/01-sample/src/words.rs:3: exercise `reverse-words` has no `// END EXERCISE` line"
        ),
        "{error}"
    );

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sample-course");
    fs::copy(fixture.join(WORDS), sample.path(WORDS)).unwrap();
    fs::write(
        sample.path(LIB),
        sample
            .read(LIB)
            .replace("EXERCISE(lookup)", "EXERCISE(reverse-words)"),
    )
    .unwrap();
    let error = start::run(
        &sample.course,
        "step-1",
        test::Path::Whole,
        false,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "steps/01-sample/src/words.rs:3: exercise id `reverse-words` is already used at steps/01-sample/src/lib.rs:18"
    );
}

#[test]
fn with_no_steps_every_command_says_so() {
    let sample = Sample::empty();
    let (verdict, output) = sample.test(None);
    assert_eq!(
        (verdict, output.as_str()),
        (
            Verdict::Pass,
            "No steps yet: steps/ holds no step crates, so there is nothing to test.\n"
        )
    );
    let (verdict, output) = sample.check_exercises();
    assert_eq!(
        (verdict, output.as_str()),
        (
            Verdict::Pass,
            "No steps yet: there are no exercises to check.\n"
        )
    );
    let error = start::run(
        &sample.course,
        "step-1",
        test::Path::Whole,
        false,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "there is no step 01: the course has no steps yet"
    );
}
