//! Step 02: layers and flattening.

pub mod cli;
pub mod decompress;
pub mod download;
pub mod error;
pub mod fingerprint;
pub mod flatten;
pub mod images;
pub mod progress;
pub mod pull;
pub mod read_ahead;
pub mod store;
pub mod tree;
