//! `cargo xtask`: the workshop runner. See the library's documentation.

use std::io;
use std::process::ExitCode;

use clap::Parser;
use xtask::cli::Cli;
use xtask::{Course, Verdict};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let course = Course::locate();
    match cli.command.run(&course, &mut io::stdout()) {
        Ok(Verdict::Pass) => ExitCode::SUCCESS,
        Ok(Verdict::Fail) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
