//! Step 06's container with this step's isolation, at each of its hooks.

#![allow(clippy::result_large_err)]

use crate::capabilities::{self, Set};
use crate::cgroups::{Cgroup, Layout, Limits, Stats};
use crate::error::{Error, Result};
use crate::{devices, masks, pivot};
use nix::unistd::Pid;
use std::ffi::CStr;
use std::path::Path;
use std::sync::Mutex;
use step_05_chroot::child::{Failure, Lossy};
use step_06_namespaces::container::{Container, Hooks};

/// What `run` asks for on top of step 06.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub limits: Limits,
    /// `--read-only`: the root filesystem cannot be written.
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--stats`: count the CPU time too.
    pub stats: bool,
}

/// The isolation of one container.
#[derive(Debug)]
pub struct Isolation {
    rootless: bool,
    read_only: bool,
    limits: Limits,
    stats: bool,
    capabilities: Set,
    all: Set,
    cgroup: Mutex<Option<Cgroup>>,
    /// Why there is no cgroup, when there is none.
    no_cgroup: Mutex<Option<String>>,
}

impl Isolation {
    /// The isolation for `container`, whose root filesystem is `rootfs`.
    pub fn new(container: &Container, rootfs: &Path, options: &Options) -> Result<Isolation> {
        for dir in ["dev", "sys"] {
            mount_point(rootfs, dir)?;
        }
        let all = capabilities::all();
        let isolation = Isolation {
            rootless: container.rootless(),
            read_only: options.read_only,
            limits: options.limits.clone(),
            stats: options.stats,
            capabilities: capabilities::resolve(&options.cap_add, &options.cap_drop, all)?,
            all,
            cgroup: Mutex::new(None),
            no_cgroup: Mutex::new(None),
        };
        // The cgroup is made before the container starts, so a limit that
        // cannot be applied stops `run` before anything runs.
        isolation.make_cgroup(crate::cgroups::this_machine().as_ref(), &container.id)?;
        Ok(isolation)
    }

    /// The capabilities the container's root gets.
    pub fn capabilities(&self) -> Set {
        self.capabilities
    }

    /// The container's cgroup directories (none without a cgroup).
    pub fn cgroup_dirs(&self) -> Vec<std::path::PathBuf> {
        self.cgroup
            .lock()
            .unwrap()
            .as_ref()
            .map_or_else(Vec::new, |c| c.dirs().to_vec())
    }

    /// After the container ended with `code`: what it used (and a word
    /// about an OOM kill), with its cgroup removed.
    pub fn finish(&self, code: i32) -> Result<(Option<Stats>, Option<String>)> {
        let Some(cgroup) = self.cgroup.lock().unwrap().take() else {
            return Ok((None, None));
        };
        let stats = cgroup.stats();
        cgroup.remove()?;
        let oom = (code == 137 && stats.oom_kills.unwrap_or(0) > 0).then(|| {
            let limit = self.limits.memory.map_or(String::new(), |m| format!(" of {} MiB", m >> 20));
            format!("the container ran out of memory (its limit{limit}): the kernel's OOM killer ended it")
        });
        Ok((Some(stats), oom))
    }

    /// Why the container runs without a cgroup, if it does.
    pub fn no_cgroup(&self) -> Option<String> {
        self.no_cgroup.lock().unwrap().clone()
    }

    fn make_cgroup(&self, layout: Option<&Layout>, id: &str) -> Result<()> {
        let Some(layout) = layout else {
            return self.without_cgroup("this machine has no cgroup file system mounted".into());
        };
        match Cgroup::create(layout, id, &self.limits, self.stats) {
            Ok(cgroup) => {
                *self.cgroup.lock().unwrap() = Some(cgroup);
                Ok(())
            }
            Err(error) if self.rootless => self.without_cgroup(format!(
                "a normal user cannot create cgroups here ({error})"
            )),
            Err(error) => Err(error),
        }
    }

    /// Goes on without a cgroup when no limit was asked for; refuses when
    /// one was, saying why and what would help.
    fn without_cgroup(&self, reason: String) -> Result<()> {
        if self.limits.any() {
            return Err(Error::Limits {
                limits: self.limits.names(),
                reason,
                fix: "run as root: dockerless makes its cgroups under the cgroup \
                      tree's dockerless/ directory, which only root can write; leave \
                      the limits out to run without them"
                    .to_string(),
            });
        }
        *self.no_cgroup.lock().unwrap() = Some(reason);
        Ok(())
    }
}

impl Hooks for Isolation {
    fn created(&self, pid: Pid) -> step_06_namespaces::Result<()> {
        match self.cgroup.lock().unwrap().as_ref() {
            Some(cgroup) => {
                cgroup
                    .add(pid.as_raw())
                    .map_err(|error| step_06_namespaces::Error::Namespaces {
                        reason: format!("cannot put the container in its cgroup: {error}"),
                        fix: "check that the cgroup file system is writable".to_string(),
                    })
            }
            None => Ok(()),
        }
    }

    fn enter_root(&self, rootfs: &CStr, workdir: &CStr) -> Result<(), Failure> {
        nix::unistd::chdir(rootfs)
            .map_err(|e| Failure::setup(e, format_args!("cannot enter {}", Lossy(rootfs))))?;
        devices::mount_dev_and_sys(self.rootless)?;
        masks::apply()?;
        if self.read_only {
            masks::remount_read_only(c".").map_err(|e| {
                Failure::setup(e, format_args!("cannot make the root filesystem read-only"))
            })?;
        }
        pivot::enter(rootfs, workdir)
    }

    fn before_user(&self) -> Result<(), Failure> {
        capabilities::limit_bounding(self.capabilities, self.all)
    }

    fn before_exec(&self) -> Result<(), Failure> {
        capabilities::apply(self.capabilities)
    }
}

/// Makes sure `rootfs/name` is a directory to mount on (not a link that
/// would send the mount elsewhere), creating it if the image lacks it.
fn mount_point(rootfs: &Path, name: &str) -> Result<()> {
    let path = rootfs.join(name);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(step_05_chroot::Error::Setup(format!(
            "{} is not a directory; refusing to mount /{name} there",
            path.display()
        ))
        .into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(&path).map_err(crate::error::io_error(&path))
        }
        Err(source) => Err(Error::Io { path, source }),
    }
}
