//! A small, real OCI distribution registry for tests, demos and offline workshops.
//!
//! ```no_run
//! use mock_registry::MockRegistry;
//!
//! let registry = MockRegistry::with_fixtures()?;
//! println!("pull from {}/library/hello:latest", registry.host());
//! for line in registry.take_request_lines() {
//!     println!("{line}"); // GET /v2/ -> 200, ...
//! }
//! # Ok::<(), mock_registry::Error>(())
//! ```

mod api_error;
pub mod auth;
pub mod cli;
pub mod digest;
pub mod faults;
pub mod fixtures;
pub mod image;
pub mod log;
pub mod media_types;
pub mod names;
mod registry;
mod server;
mod store;

pub use auth::Auth;
pub use digest::Digest;
pub use faults::{Fault, FaultRule, Target};
pub use image::{Blob, Image, Manifest};
pub use log::{LoggedRequest, Origin};
pub use registry::{Builder, Error, MockRegistry};
pub use server::Settings;
