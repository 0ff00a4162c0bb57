//! One module per command of `cargo xtask`.

pub mod bench;
pub mod book;
pub mod check_exercises;
pub mod ci;
pub mod doctor;
pub mod exercise_table;
pub mod hint;
pub mod setup;
pub mod solution;
pub mod start;
pub mod test;
