//! Step 04: creating an image from the host's binaries.
//!
//! The Docker Internals write-up builds its first image by hand: copy `bash`
//! and `ls` into an empty directory, ask `ldd` which shared libraries they
//! need, copy those too, and make `lib64` point where the dynamic loader is
//! expected. This
//! step does the same without running anything: [`elf`] reads what a
//! binary needs from its headers, [`resolve`] finds the libraries the way
//! the dynamic loader would, [`copy`] places files in the new root with the
//! host's symbolic links, and [`rootfs`] puts it together into a root
//! filesystem and a default command; [`create`] makes that an image in the
//! store, and [`cli`] is `dockerless create`.

pub mod cli;
pub mod copy;
pub mod create;
pub mod elf;
pub mod error;
pub mod resolve;
pub mod rootfs;

pub use error::{Error, Result};
pub use rootfs::{BinarySpec, Built, build};
