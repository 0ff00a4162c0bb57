//! Step 08: real isolation.
//!
//! The Docker Internals write-up names the kernel features Docker stands
//! on (namespaces, cgroups, capabilities, pivot_root) and its scripts use
//! only the first. This step adds the rest to step 06's container, each
//! as one of step 06's [`Hooks`](step_06_namespaces::container::Hooks):
//!
//! - [`pivot`]: `pivot_root` instead of `chroot`, so the host's root is
//!   gone from the container's mount namespace and the step 05 breakout
//!   leads nowhere;
//! - [`devices`]: `/dev` as Docker makes it, and a read-only `/sys`;
//! - [`masks`]: the paths of `/proc` and `/sys` Docker hides or makes
//!   read-only;
//! - [`cgroups`]: limits on memory, CPU and processes, on both cgroup
//!   layouts (v2 and v1);
//! - [`capabilities`]: Docker's default set of root's privileges, and
//!   `no_new_privs`;
//! - [`isolation`]: all of it put together; [`cli`]: `dockerless run`'s
//!   new options.

pub mod capabilities;
pub mod cgroups;
pub mod cli;
pub mod devices;
pub mod error;
pub mod isolation;
pub mod masks;
pub mod pivot;

pub use error::{Error, Result};
