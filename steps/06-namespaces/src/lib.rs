//! Step 06: namespaces.
//!
//! A container is a process that holds its own namespaces: the Docker
//! Internals write-up runs one with `unshare --uts --mount --pid --net
//! --ipc --fork --mount-proc --root ROOTFS`. This step does the same from
//! Rust, piece by piece:
//!
//! - [`namespaces`]: which namespaces to make, and what each one hides;
//! - [`mounts`]: private propagation, the root filesystem bound onto
//!   itself, a fresh `/proc`;
//! - [`network`]: bringing `lo` up in the new network namespace;
//! - [`container`]: `clone` the child into the new namespaces (PID 1 of
//!   its PID namespace), set it up, exec the image's program;
//! - [`supervisor`]: the parent, outside: forwards signals to PID 1 and
//!   exits as it does;
//! - [`init`]: `--init`, a tiny PID 1 that reaps orphans;
//! - [`terminal`]: `-it`, the container's own pseudo-terminal;
//! - [`ns`]: reading `/proc/PID/ns` like `lsns`;
//! - [`cli`]: `dockerless run` and `dockerless ns`.

pub mod cli;
pub mod container;
pub mod error;
pub mod init;
pub mod mounts;
pub mod namespaces;
pub mod network;
pub mod ns;
pub mod supervisor;
pub mod terminal;

pub use error::{Error, Result};
