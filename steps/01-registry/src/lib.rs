//! Step 01: talking to a registry.
//!
//! `docker pull alpine` starts with a conversation: which registry and
//! repository does `alpine` mean ([`reference`])? Is that a registry, and what
//! credentials does it want ([`client`], [`challenge`], [`token`])? What does
//! the image consist of ([`manifest`]), which entry of a multi-platform image
//! fits this machine ([`platform`]), and how is it meant to run ([`config`])?
//! [`inspect`] puts it together; [`cli`] is the `dockerless inspect` command.

pub mod challenge;
pub mod cli;
pub mod client;
pub mod config;
pub mod credentials;
pub mod digest;
pub mod error;
pub mod inspect;
pub mod manifest;
pub mod platform;
pub mod reference;
pub mod token;
pub mod workers;

pub use client::{Client, ClientOptions, RetryPolicy};
pub use error::{Error, Result};
pub use reference::Reference;
