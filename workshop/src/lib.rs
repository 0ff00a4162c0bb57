//! Test support for the course's steps.
//!
//! Every step crate takes this crate as a dev-dependency
//! (`workshop.workspace = true` under `[dev-dependencies]`). It gives the
//! step's checks five things:
//!
//! - [`skip`]: a check that cannot run on this machine says why and is
//!   counted as *skipped* by the workshop runner (`just test`), never as
//!   passed.
//! - [`check_eq!`], [`check!`] and [`fail`]: assertions whose failure tells
//!   the learner what was expected, what came back, and which book section
//!   explains it.
//! - [`require_root_or_userns`]: whether checks that need privileges
//!   (namespaces, chroot, mounts) can run here, skipping the check if not.
//! - [`random_word`]: a fresh word per run, so a check that echoes it cannot
//!   be passed by a hard-coded answer.
//! - [`as_normal_user`]: run a check again as uid 65534, so what passes for
//!   root in CI also passes for a learner without root.

mod check;
mod privileges;
mod random;
mod unprivileged;

pub use check::{Failure, book_section, fail};
pub use privileges::{Privileges, privileges, require_root_or_userns};
pub use random::random_word;
pub use unprivileged::{NOBODY, as_normal_user};

/// The start of the line [`skip`] prints.
///
/// The workshop runner runs tests with `--show-output` and looks for this
/// prefix in the captured output of every passing test; the rest of the line
/// is the reason it shows. It is a plain line on stdout (and not, say, a
/// panic) because libtest has no "skipped at run time" outcome: a test that
/// returns early passes, so the runner needs a mark to tell the two apart.
pub const SKIP_MARKER: &str = "workshop: skipped: ";

/// Marks the calling test as skipped, for `reason`, and returns.
///
/// Return from the test right after calling it:
///
/// ```
/// # fn can_mount() -> bool { false }
/// # fn check_mounts() {}
/// if !can_mount() {
///     workshop::skip("needs root or a user namespace");
///     return;
/// }
/// check_mounts();
/// ```
///
/// The reason should say what the machine lacks, so a learner knows what
/// to change to run the check (`needs root or a user namespace`,
/// `needs skopeo: apt-get install skopeo`).
pub fn skip(reason: &str) {
    // One line, whatever the reason holds: the runner reads line by line.
    println!("{SKIP_MARKER}{}", reason.replace('\n', " "));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_marker_is_one_line_with_a_trailing_space() {
        assert!(SKIP_MARKER.ends_with(": "));
        assert!(!SKIP_MARKER.contains('\n'));
    }
}
