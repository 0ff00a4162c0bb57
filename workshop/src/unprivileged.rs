//! Running a check again as a normal user.
//!
//! CI runs as root, and most learners do not. A step that works for root
//! only through luck (a file root can read anyway, a capability only root
//! has) would pass in CI and fail on the learner's laptop. So a check can
//! ask to run a second time, in a fresh process of the same test binary,
//! as uid and gid 65534 (`nobody`) with no supplementary groups: what
//! `setpriv --reuid 65534 --regid 65534 --clear-groups` does.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// The uid and gid checks run as when they run as a normal user.
pub const NOBODY: u32 = 65534;

/// For a check that must also pass without root: call it first.
///
/// - As root, runs the test named `test` again in this test binary as
///   [`NOBODY`], fails the calling test with its output if it failed, marks
///   it skipped if it skipped, and returns `false`: the caller returns.
/// - As anyone else, returns `true`: the caller goes on with the check.
///
/// ```no_run
/// #[test]
/// fn chroot_works_without_root() {
///     if !workshop::as_normal_user("chroot_works_without_root") {
///         return;
///     }
///     // ... the check, now as a normal user ...
/// }
/// ```
pub fn as_normal_user(test: &str) -> bool {
    if !nix::unistd::geteuid().is_root() {
        return true;
    }
    let exe = std::env::current_exe().expect("a test binary knows its path");
    let mut command = Command::new(&exe);
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("HOME", std::env::temp_dir())
        .uid(NOBODY)
        .gid(NOBODY);
    // As root, `Command` also clears the supplementary groups when it sets
    // the uid (the `--clear-groups` of setpriv).
    let output = match command.output() {
        Ok(output) => output,
        // A checkout under a directory others cannot enter (such as /root)
        // keeps uid 65534 away from its own test binaries.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            crate::skip(&format!(
                "uid {NOBODY} cannot run {} (a directory above it lacks o+x); check out the course where any user can read it to run this check",
                exe.display()
            ));
            return false;
        }
        Err(e) => panic!("cannot run {} again as uid {NOBODY}: {e}", exe.display()),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        panic!("as uid {NOBODY} (a normal user), the check failed:\n{stdout}{stderr}",);
    }
    if !stdout.contains("1 passed") {
        panic!("as uid {NOBODY}, the test {test:?} did not run:\n{stdout}{stderr}");
    }
    for line in stdout.lines() {
        if let Some(reason) = line.strip_prefix(crate::SKIP_MARKER) {
            crate::skip(&format!("as uid {NOBODY}: {reason}"));
        }
    }
    false
}
