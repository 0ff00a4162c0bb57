//! Exit codes that say what kind of failure it was, so scripts can tell a
//! missing image from a refused password from a network outage.
//!
//! Every step's error knows its kind ([`Kind`]); this module only finds
//! which step's error it holds and turns the kind into a number.

use step_01_registry::error::Kind;

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
    match kind(error) {
        Kind::Usage => USAGE,
        Kind::NotFound => NOT_FOUND,
        Kind::Refused => REFUSED,
        Kind::Integrity => INTEGRITY,
        Kind::Network => NETWORK,
        kind @ (Kind::Runtime | Kind::NotExecutable | Kind::CommandNotFound) => {
            kind.start_code().unwrap_or(OTHER)
        }
        Kind::Other => OTHER,
    }
}

/// The kind of the step error `error` holds; `Other` for anything else.
fn kind(error: &anyhow::Error) -> Kind {
    let steps: [fn(&anyhow::Error) -> Option<Kind>; 8] = [
        |e| e.downcast_ref().map(step_08_isolation::Error::kind),
        |e| e.downcast_ref().map(step_07_export::Error::kind),
        |e| e.downcast_ref().map(step_06_namespaces::Error::kind),
        |e| e.downcast_ref().map(step_05_chroot::Error::kind),
        |e| e.downcast_ref().map(step_04_create::Error::kind),
        |e| e.downcast_ref().map(step_03_push::Error::kind),
        |e| e.downcast_ref().map(step_02_layers::error::Error::kind),
        |e| e.downcast_ref().map(step_01_registry::Error::kind),
    ];
    steps
        .iter()
        .find_map(|kind_of| kind_of(error))
        .unwrap_or(Kind::Other)
}
