//! A small, real OCI distribution registry for tests, demos and offline workshops.

pub mod digest;
pub mod fixtures;
pub mod image;
pub mod media_types;

pub use digest::Digest;
pub use image::{Blob, Image, Manifest};
