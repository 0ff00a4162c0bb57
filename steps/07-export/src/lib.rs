//! Step 07: an image's other lives.
//!
//! A pulled image is a directory of files; nothing about it needs a
//! container runtime. This step writes it out for other tools: [`rootfs`]
//! makes the root filesystem one tar (what `docker export` writes and `wsl
//! --import` reads), [`gzip`] compresses it on every core, [`wsl`] adds
//! what a `.wsl` distribution needs, [`layout`] writes the image as an OCI
//! layout or a `docker save` archive from the blobs as served, [`export`]
//! puts it together without ever leaving half a file, and [`cli`] is
//! `dockerless export`.

pub mod cli;
pub mod error;
pub mod export;
pub mod format;
pub mod gzip;
pub mod image;
pub mod layout;
pub mod rootfs;
pub mod wsl;

pub use error::{Error, Result};
pub use export::{ExportOptions, Exported, Output, export};
pub use format::Format;
