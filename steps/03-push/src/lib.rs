//! Step 03: uploading an image.
//!
//! `docker push` in four parts: a layer from a directory, deterministic so
//! the same tree is the same blob ([`layer`]); the config and manifest that
//! describe it ([`image`]); the blob upload protocol ([`upload`]); and the
//! order that keeps a registry consistent, manifest last ([`push`]).

pub mod cache;
pub mod cli;
pub mod error;
pub mod image;
pub mod layer;
pub mod push;
pub mod upload;

pub use error::{Error, Result};
