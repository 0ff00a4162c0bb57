//! Exit codes that say what kind of failure it was, so scripts can tell a
//! missing image from a refused password from a network outage.

use step_01_registry::Error as Registry;
use step_02_layers::error::Error as Store;
use step_07_export::Error as Export;

/// Anything not listed below.
pub const OTHER: u8 = 1;
/// The command line asks for something impossible (clap uses 2 for its own).
pub const USAGE: u8 = 2;
/// The image, tag, repository or binary does not exist.
pub const NOT_FOUND: u8 = 3;
/// The registry refused the credentials, or asked for some.
pub const REFUSED: u8 = 4;
/// Bytes did not match their digest, or a layer tried to leave the root.
pub const INTEGRITY: u8 = 5;
/// The registry could not be reached, or kept failing.
pub const NETWORK: u8 = 6;

/// This process's exit code for a program's: the same, within 0..=255.
pub fn of_program(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(OTHER)
}

/// The exit code for an error from any step.
pub fn of(error: &anyhow::Error) -> u8 {
    if let Some(code) = error
        .downcast_ref::<step_05_chroot::Error>()
        .and_then(step_05_chroot::Error::exit_code)
    {
        return code;
    }
    if let Some(code) = error
        .downcast_ref::<step_08_isolation::Error>()
        .and_then(step_08_isolation::Error::exit_code)
    {
        return code;
    }
    if let Some(code) = error
        .downcast_ref::<step_06_namespaces::Error>()
        .and_then(step_06_namespaces::Error::exit_code)
    {
        return code;
    }
    // `run` wraps step 06's errors in step 08's, and step 06 wraps step 05's.
    let container = error.downcast_ref::<step_06_namespaces::Error>().or(
        match error.downcast_ref::<step_08_isolation::Error>() {
            Some(step_08_isolation::Error::Container(e)) => Some(e),
            _ => None,
        },
    );
    let started = error
        .downcast_ref::<step_05_chroot::Error>()
        .or(match container {
            Some(step_06_namespaces::Error::Start(e)) => Some(e),
            _ => None,
        });
    if let Some(step_05_chroot::Error::NotStored { .. }) = started {
        return NOT_FOUND;
    }
    if let Some(error) = error.downcast_ref::<Export>() {
        match error {
            Export::UnknownFormat { .. }
            | Export::NotAStream { .. }
            | Export::OutputExists { .. } => {
                return USAGE;
            }
            Export::NotStored { .. } | Export::MissingBlob { .. } => return NOT_FOUND,
            _ => {}
        }
    }
    let store = error
        .downcast_ref::<Store>()
        .or_else(|| match error.downcast_ref::<step_03_push::Error>() {
            Some(step_03_push::Error::Store(e)) => Some(e.as_ref()),
            _ => None,
        })
        .or_else(|| match error.downcast_ref::<Export>() {
            Some(Export::Store(e)) => Some(e.as_ref()),
            _ => None,
        })
        .or_else(|| match container {
            Some(step_06_namespaces::Error::Pull(e)) => Some(e.as_ref()),
            _ => None,
        })
        .or_else(|| match error.downcast_ref::<step_04_create::Error>() {
            Some(step_04_create::Error::Image(e)) => match e.as_ref() {
                step_03_push::Error::Store(e) => Some(e.as_ref()),
                _ => None,
            },
            _ => None,
        });
    // Which layer failed does not change what kind of failure it was.
    let store = store.map(|error| match error {
        Store::Layer { source, .. } => source.as_ref(),
        other => other,
    });
    let registry = error
        .downcast_ref::<Registry>()
        .or(match store {
            Some(Store::Registry(e)) => Some(e),
            _ => None,
        })
        .or_else(|| match error.downcast_ref::<step_03_push::Error>() {
            Some(step_03_push::Error::Registry(e)) => Some(e.as_ref()),
            _ => None,
        });
    if let Some(error) = registry {
        return match error {
            Registry::NotFound { .. } | Registry::NoMatchingPlatform { .. } => NOT_FOUND,
            Registry::Unauthorized { .. } | Registry::Token { .. } => REFUSED,
            Registry::DigestMismatch { .. } | Registry::Manifest { .. } => INTEGRITY,
            Registry::Http { .. } | Registry::Retries { .. } => NETWORK,
            // A helper missing or failing is this machine's setup, not the registry's answer.
            Registry::CredentialHelper { .. } => OTHER,
            _ => OTHER,
        };
    }
    if let Some(error) = store {
        return match error {
            Store::NotStored { .. } => NOT_FOUND,
            Store::DigestMismatch { .. } | Store::Escape { .. } | Store::Hardlink { .. } => {
                INTEGRITY
            }
            Store::Download { .. } => NETWORK,
            // A store on a file system without locks: neither missing nor refused.
            Store::Lock { .. } => OTHER,
            _ => OTHER,
        };
    }
    match error.downcast_ref::<step_04_create::Error>() {
        Some(
            step_04_create::Error::BinaryNotFound { .. }
            | step_04_create::Error::LibraryNotFound { .. },
        ) => NOT_FOUND,
        _ => OTHER,
    }
}
