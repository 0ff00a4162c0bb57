//! Where a build failure is: the compiler's first error, and the exercise
//! region of the learner's code it points into.
//!
//! The runner never links a step crate, so a step that does not compile
//! cannot stop it: it reads what the compiler printed instead.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Course;
use crate::regions::{self, Region};
use crate::steps::Step;

/// The compiler's first error, as rustc printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The error's lines, from `error[E...]: ...` to the blank line after it.
    pub text: String,
    /// The file of its ` --> path:line:column` line, as printed (relative to
    /// the workspace root for workspace members).
    pub path: Option<PathBuf>,
    pub line: Option<usize>,
}

/// The first error in cargo's output, skipping cargo's own closing lines
/// (`error: could not compile ...`).
pub fn first_compile_error(output: &str) -> Option<CompileError> {
    let mut lines = output.lines().skip_while(|line| !is_compiler_error(line));
    let first = lines.next()?;
    let mut text = vec![first];
    text.extend(lines.take_while(|line| !line.trim().is_empty()));
    let location = text.iter().find_map(|line| {
        let rest = line.trim_start().strip_prefix("--> ")?;
        let mut parts = rest.rsplitn(3, ':');
        let _column = parts.next()?;
        let line = parts.next()?.parse::<usize>().ok()?;
        Some((PathBuf::from(parts.next()?), line))
    });
    Some(CompileError {
        text: text.join("\n"),
        path: location.as_ref().map(|(path, _)| path.clone()),
        line: location.map(|(_, line)| line),
    })
}

fn is_compiler_error(line: &str) -> bool {
    (line.starts_with("error[") || line.starts_with("error: "))
        && !line.starts_with("error: could not compile")
        && !line.starts_with("error: aborting")
        && !line.starts_with("error: test failed")
}

/// An exercise region of the learner's working files.
#[derive(Debug, Clone)]
pub struct Located {
    pub step: Step,
    /// The file, from the course's root (`steps/01-registry/src/lib.rs`).
    pub path: PathBuf,
    pub region: Region,
}

impl Located {
    /// `EXERCISE(parse-reference) at steps/01-registry/src/reference.rs:37`.
    pub fn describe(&self) -> String {
        format!(
            "EXERCISE({}) at {}:{}",
            self.region.id,
            self.path.display(),
            self.region.line
        )
    }
}

/// The exercise region of `steps` that holds `line` of `path` (relative to
/// the course's root, or absolute), read from the working files as they are
/// now: the learner's, not the saved reference.
pub fn region_at(course: &Course, steps: &[Step], path: &Path, line: usize) -> Option<Located> {
    let absolute = course.root().join(path);
    let step = steps.iter().find(|step| absolute.starts_with(&step.dir))?;
    let text = fs::read_to_string(&absolute).ok()?;
    let shown = absolute
        .strip_prefix(course.root())
        .unwrap_or(&absolute)
        .to_path_buf();
    let region = regions::parse(&shown, &text)
        .ok()?
        .into_iter()
        .find(|region| region.contains_line(line))?;
    Some(Located {
        step: step.clone(),
        path: shown,
        region,
    })
}

/// The step whose package cargo named in `error: could not compile `...``.
pub fn step_that_does_not_compile<'a>(steps: &'a [Step], output: &str) -> Option<&'a Step> {
    output.lines().find_map(|line| {
        let name = line
            .strip_prefix("error: could not compile `")?
            .split('`')
            .next()?;
        steps.iter().find(|step| step.package == name)
    })
}

/// The step and exercise of the first `todo!()` stub that panicked in
/// `output`: `not yet implemented: step 02, exercise flatten: ...`.
pub fn stub_reached(output: &str) -> Option<(u32, String)> {
    output.lines().find_map(|line| {
        let rest = line.split("not yet implemented: step ").nth(1)?;
        let (number, rest) = rest.split_once(", exercise ")?;
        let (id, _) = rest.split_once(':')?;
        Some((number.parse().ok()?, id.to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
   Compiling step-01-sample v0.1.0 (/tmp/course/steps/01-sample)
warning: unused variable: `line`
 --> steps/01-sample/src/lib.rs:6:19
  |
6 | pub fn parse_line(line: &str) -> Option<(String, String)> {
  |                   ^^^^

error[E0308]: mismatched types
 --> steps/01-sample/src/lib.rs:9:5
  |
6 | pub fn parse_line(line: &str) -> Option<(String, String)> {
  |                                  ------------------------ expected `Option<(String, String)>` because of return type
...
9 |     42
  |     ^^ expected `Option<(String, String)>`, found integer

error[E0425]: cannot find value `x` in this scope
 --> steps/01-sample/src/lib.rs:20:5

error: could not compile `step-01-sample` (lib) due to 2 previous errors
";

    #[test]
    fn the_first_error_is_cut_at_its_blank_line() {
        let error = first_compile_error(OUTPUT).unwrap();
        assert!(error.text.starts_with("error[E0308]: mismatched types\n"));
        assert!(error.text.ends_with("found integer"), "{}", error.text);
        assert_eq!(
            error.path.as_deref(),
            Some(Path::new("steps/01-sample/src/lib.rs"))
        );
        assert_eq!(error.line, Some(9));
        assert_eq!(first_compile_error("   Compiling x\n"), None);
    }

    #[test]
    fn a_stub_names_its_step_and_exercise() {
        assert_eq!(
            stub_reached(
                "thread 'main' panicked at steps/02-layers/src/x.rs:3:5:\n\
                 not yet implemented: step 02, exercise flatten-layers: Apply the layers.\n"
            ),
            Some((2, "flatten-layers".to_string()))
        );
        assert_eq!(stub_reached("not yet implemented"), None);
    }
}
