//! Step 05: chroot.
//!
//! The Docker Internals write-up's first way to use an image's root
//! filesystem is `chroot`: change what `/` means for one process, then run
//! a program from the image. This step does that with the image's own
//! config, the way `docker run` reads it:
//!
//! - [`image`] finds a stored image and its config;
//! - [`spec`] turns Entrypoint, Cmd, Env and WorkingDir (and what the
//!   command line overrides) into the exact argv, environment and working
//!   directory of the process;
//! - [`root`] opens files *inside* the root filesystem without ever
//!   leaving it, so [`user`] can read the image's `/etc/passwd` and
//!   `/etc/group`, and [`lookup`] can search the image's `PATH`;
//! - [`child`] is what runs between `fork` and `exec`: enter the root,
//!   become the user, exec, and report a failure to the parent;
//! - [`chroot`] forks, waits, and turns the child's end into an exit code
//!   with [`exit`];
//! - [`escape`] shows why a chroot is not a jail;
//! - [`cli`] is `dockerless chroot`.

pub mod child;
pub mod chroot;
pub mod cli;
pub mod error;
pub mod escape;
pub mod exit;
pub mod ids;
pub mod image;
pub mod lookup;
pub mod root;
pub mod spec;
pub mod user;

pub use error::{Error, Result};
