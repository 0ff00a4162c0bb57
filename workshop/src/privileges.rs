//! Can this machine run the checks that need privileges?
//!
//! Steps 05 and later create namespaces, chroot and mount. That works as
//! root, and for a normal user inside a user namespace where the kernel
//! allows unprivileged ones. Everything else has to skip those checks, and
//! say which knob is in the way.

use std::fs;

/// How the privileged checks can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privileges {
    /// The process runs as root (effective uid 0).
    Root,
    /// Not root, but the kernel lets unprivileged users create user
    /// namespaces, inside which the checks act as root.
    UserNamespace,
}

/// The kernel settings that decide whether privileged checks can run, as
/// read from `/proc`. `None` means the file is absent (the knob does not
/// exist on this kernel, which then allows what it would control).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Probe {
    effective_uid: Option<u32>,
    /// Debian's and older Ubuntu's switch, `/proc/sys/kernel/unprivileged_userns_clone`.
    unprivileged_userns_clone: Option<String>,
    /// The per-user limit, `/proc/sys/user/max_user_namespaces`; 0 forbids them.
    max_user_namespaces: Option<String>,
    /// Ubuntu 24.04's AppArmor switch,
    /// `/proc/sys/kernel/apparmor_restrict_unprivileged_userns`.
    apparmor_restrict_unprivileged_userns: Option<String>,
    /// What happened when a child process tried `unshare(CLONE_NEWUSER)`:
    /// the knobs above are not the whole story (a seccomp filter, an LSM or
    /// a container runtime can refuse what they allow). `None`: not tried.
    tried: Option<Result<(), String>>,
}

impl Probe {
    fn read() -> Self {
        let read = |path: &str| fs::read_to_string(path).ok().map(|s| s.trim().to_string());
        let effective_uid = read("/proc/self/status").as_deref().and_then(effective_uid);
        Probe {
            tried: (effective_uid != Some(0)).then(try_user_namespace),
            effective_uid,
            unprivileged_userns_clone: read("/proc/sys/kernel/unprivileged_userns_clone"),
            max_user_namespaces: read("/proc/sys/user/max_user_namespaces"),
            apparmor_restrict_unprivileged_userns: read(
                "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            ),
        }
    }

    fn decide(&self) -> Result<Privileges, String> {
        if self.effective_uid == Some(0) {
            return Ok(Privileges::Root);
        }
        if self.unprivileged_userns_clone.as_deref() == Some("0") {
            return Err("unprivileged user namespaces are disabled \
                 (/proc/sys/kernel/unprivileged_userns_clone is 0)"
                .to_string());
        }
        if self.max_user_namespaces.as_deref() == Some("0") {
            return Err(
                "user namespaces are disabled (/proc/sys/user/max_user_namespaces is 0)"
                    .to_string(),
            );
        }
        if self.apparmor_restrict_unprivileged_userns.as_deref() == Some("1") {
            return Err("AppArmor restricts unprivileged user namespaces \
                 (/proc/sys/kernel/apparmor_restrict_unprivileged_userns is 1)"
                .to_string());
        }
        if let Some(Err(why)) = &self.tried {
            return Err(why.clone());
        }
        Ok(Privileges::UserNamespace)
    }
}

/// Tries to make a user namespace, in a child process so this one (and its
/// other threads) stays as it is.
fn try_user_namespace() -> Result<(), String> {
    use nix::sched::{CloneFlags, unshare};
    use nix::sys::wait::{WaitStatus, waitpid};
    use nix::unistd::{ForkResult, fork};
    // SAFETY: the child makes one system call and exits.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let code = match unshare(CloneFlags::CLONE_NEWUSER) {
                Ok(()) => 0,
                Err(errno) => errno as i32,
            };
            // SAFETY: `_exit` runs nothing of the parent's.
            unsafe { nix::libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, 0)) => Ok(()),
            Ok(WaitStatus::Exited(_, code)) => Err(format!(
                "the kernel refused to make a user namespace: unshare(CLONE_NEWUSER) failed with {}",
                nix::errno::Errno::from_raw(code).desc()
            )),
            other => Err(format!(
                "the probe for user namespaces ended unexpectedly: {other:?}"
            )),
        },
        Err(errno) => Err(format!("cannot fork to probe user namespaces: {errno}")),
    }
}

/// The effective uid from the text of `/proc/self/status`, whose `Uid:` line
/// holds the real, effective, saved and filesystem uids.
fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// How privileged checks can run here, or why they cannot.
pub fn privileges() -> Result<Privileges, String> {
    Probe::read().decide()
}

/// Whether checks that need root can run here; when they cannot, the
/// calling test is marked skipped (see [`crate::skip`]) with the reason.
///
/// ```
/// if !workshop::require_root_or_userns() {
///     return;
/// }
/// // ... create namespaces, chroot, mount ...
/// ```
pub fn require_root_or_userns() -> bool {
    match privileges() {
        Ok(_) => true,
        Err(why) => {
            crate::skip(&format!("needs root or a user namespace: {why}"));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(uid: u32) -> Probe {
        Probe {
            effective_uid: Some(uid),
            ..Probe::default()
        }
    }

    #[test]
    fn root_can_always_run_privileged_checks() {
        let probe = Probe {
            max_user_namespaces: Some("0".into()),
            ..probe(0)
        };
        assert_eq!(probe.decide(), Ok(Privileges::Root));
    }

    #[test]
    fn a_user_can_when_no_knob_forbids_user_namespaces() {
        let probe = Probe {
            unprivileged_userns_clone: Some("1".into()),
            max_user_namespaces: Some("96364".into()),
            apparmor_restrict_unprivileged_userns: Some("0".into()),
            ..probe(1000)
        };
        assert_eq!(probe.decide(), Ok(Privileges::UserNamespace));
        assert_eq!(self::probe(1000).decide(), Ok(Privileges::UserNamespace));
    }

    #[test]
    fn each_knob_that_forbids_user_namespaces_is_named() {
        let cases = [
            (
                Probe {
                    unprivileged_userns_clone: Some("0".into()),
                    ..probe(1000)
                },
                "unprivileged_userns_clone",
            ),
            (
                Probe {
                    max_user_namespaces: Some("0".into()),
                    ..probe(1000)
                },
                "max_user_namespaces",
            ),
            (
                Probe {
                    apparmor_restrict_unprivileged_userns: Some("1".into()),
                    ..probe(1000)
                },
                "apparmor_restrict_unprivileged_userns",
            ),
        ];
        for (probe, knob) in cases {
            let why = probe.decide().unwrap_err();
            assert!(why.contains(knob), "{why}");
        }
    }

    #[test]
    fn a_refused_attempt_wins_over_knobs_that_allow() {
        let probe = Probe {
            tried: Some(Err("the kernel refused".into())),
            ..probe(1000)
        };
        assert_eq!(probe.decide(), Err("the kernel refused".to_string()));
        let probe = Probe {
            tried: Some(Ok(())),
            ..self::probe(1000)
        };
        assert_eq!(probe.decide(), Ok(Privileges::UserNamespace));
    }

    #[test]
    fn trying_a_user_namespace_gives_an_answer() {
        // Whatever this machine allows, the probe ends with a verdict
        // rather than a crash, and a refusal says what was refused.
        if let Err(why) = try_user_namespace() {
            assert!(why.contains("user namespace"), "{why}");
        }
    }

    #[test]
    fn the_effective_uid_is_the_second_number_of_the_uid_line() {
        let status = "Name:\tcat\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Name:\tcat\n"), None);
    }

    #[test]
    fn this_process_has_an_effective_uid() {
        assert!(Probe::read().effective_uid.is_some());
    }
}
