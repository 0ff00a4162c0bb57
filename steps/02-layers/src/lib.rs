//! Step 02: layers and flattening.

pub mod flatten;
pub mod decompress;
pub mod error;
pub mod tree;
pub mod cli;
pub mod download;
pub mod images;
pub mod progress;
pub mod pull;
pub mod store;
