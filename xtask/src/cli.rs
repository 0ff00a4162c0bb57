//! The command line: one clap subcommand per command.
//!
//! To add a command, add a variant to [`Command`] (its doc comment is its
//! help) and an arm to [`Command::run`]; the justfile then gets a recipe.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

use crate::checks::RunOptions;
use crate::commands::{
    bench, book, check_exercises, ci, doctor, exercise_table, hint, setup, solution, start, test,
};
use crate::{Course, Verdict};

/// The workshop runner of Docker Internals in Rust.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a step's checks in the book's order (`test step-1`), one exercise's
    /// (`test step-1 parse-reference`), or every step's with a progress overview
    Test {
        /// The step: step-1, step-01, 01 or 1; every step when left out
        step: Option<String>,
        /// Only the checks of this exercise of the step
        exercise: Option<String>,
        /// The core path only: checks stopped by a deep dive's stub are left for later
        #[arg(long)]
        core: bool,
        /// How many tests run at once (libtest's default: one per core)
        #[arg(long)]
        test_threads: Option<usize>,
    },
    /// A hint for the first unfinished exercise of a step; `--more` for a bigger one
    Hint {
        step: String,
        /// The bigger hint
        #[arg(long)]
        more: bool,
    },
    /// Turn a step's reference solution into exercises (`todo!()`s with instructions)
    Start {
        step: String,
        /// The core path only: the deep dives stay written
        #[arg(long)]
        core: bool,
        /// Overwrite files that hold your changes
        #[arg(long)]
        force: bool,
    },
    /// Show your code against the reference solution, region by region
    Solution {
        step: String,
        /// Put the reference solution back
        #[arg(long)]
        restore: bool,
    },
    /// Prove every exercise honest: reference passes, stubs build, stubs fail every check,
    /// each exercise stubbed alone fails a check
    CheckExercises {
        /// The course to check (default: this repository)
        #[arg(long)]
        root: Option<PathBuf>,
        /// Check only this step (step-1, 01, 1)
        #[arg(long)]
        step: Option<String>,
    },
    /// The checks passing after each exercise in the book's order, which must rise every time
    ExerciseTable {
        /// Only this step (step-1, 01, 1)
        step: Option<String>,
    },
    /// Check the toolchain, kernel features and peer tools, with a fix for each gap
    Doctor,
    /// Install what the test suite needs and is missing (apt packages as root, cargo tools)
    Setup,
    /// Check the book's code includes, then build it (or serve it)
    Book {
        /// `serve` to preview while writing
        action: Option<BookAction>,
        /// Build into target/book-check instead of book/book (what CI runs)
        #[arg(long, conflicts_with = "action")]
        check: bool,
    },
    /// Run the benchmarks: cargo bench -p benches
    Bench,
    /// The whole suite: setup, fmt, clippy, tests, check-exercises, book
    Ci,
    /// The main job, offline: start the bundled registry, pull an image from it by
    /// hand and with the tool, and show where the course begins
    Demo {
        /// Keep the registry running afterwards on this address (for example 127.0.0.1:5000)
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:5000")]
        serve: Option<std::net::SocketAddr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BookAction {
    Serve,
}

impl Command {
    /// Runs the command on `course`, reporting to `out`.
    pub fn run(self, course: &Course, out: &mut dyn Write) -> Result<Verdict> {
        match self {
            Command::Test {
                step,
                exercise,
                core,
                test_threads,
            } => test::run(
                course,
                step.as_deref(),
                exercise.as_deref(),
                test::Path::of(core),
                RunOptions {
                    test_threads,
                    idle_timeout: None,
                },
                out,
            ),
            Command::Hint { step, more } => hint::run(course, &step, more, out),
            Command::Start { step, core, force } => {
                start::run(course, &step, test::Path::of(core), force, out)
            }
            Command::Solution { step, restore } => solution::run(course, &step, restore, out),
            Command::CheckExercises { root, step } => match root {
                Some(root) => check_exercises::run(&course.at(root), step.as_deref(), out),
                None => check_exercises::run(course, step.as_deref(), out),
            },
            Command::ExerciseTable { step } => exercise_table::run(course, step.as_deref(), out),
            Command::Doctor => doctor::run(course, out),
            Command::Setup => setup::run(course, out),
            Command::Book { action, check } => {
                let mode = match (action, check) {
                    (Some(BookAction::Serve), _) => book::Mode::Serve,
                    (None, true) => book::Mode::Check,
                    (None, false) => book::Mode::Build,
                };
                book::run(course, mode, out)
            }
            Command::Bench => bench::run(course),
            Command::Ci => ci::run(course, out),
            Command::Demo { serve } => crate::demo::demo(course, out, serve),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn steps_and_flags_parse() {
        let cli = Cli::parse_from(["xtask", "start", "step-1", "--force"]);
        assert!(
            matches!(cli.command, Command::Start { step, force: true, core: false } if step == "step-1")
        );
        let cli = Cli::parse_from(["xtask", "book", "--check"]);
        assert!(matches!(
            cli.command,
            Command::Book {
                action: None,
                check: true
            }
        ));
        let cli = Cli::parse_from(["xtask", "test"]);
        assert!(matches!(
            cli.command,
            Command::Test {
                step: None,
                exercise: None,
                core: false,
                test_threads: None
            }
        ));
    }
}
