//! Step 08's part of the `dockerless` command line: `run` with limits,
//! `--read-only` and capabilities.

use crate::cgroups::{Limits, parse_size};
use crate::error::{Error, Result};
use crate::isolation::{Isolation, Options};
use step_01_registry::cli::RegistryArgs;
use step_02_layers::cli::StoreArgs;
use step_06_namespaces::cli::Run;

/// Run a program from an image in a container: namespaces, pivot_root, /dev, limits, capabilities.
#[derive(clap::Args, Clone, Debug)]
#[group(id = "IsolationArgs")]
#[command(after_help = "Examples:\n  \
    dockerless run -it localhost:5000/library/busybox sh\n  \
    dockerless run --memory 64m --pids-limit 32 --cpus 0.5 localhost:5000/library/busybox sh -c 'echo hi'\n  \
    dockerless run --read-only --cap-drop ALL --cap-add NET_BIND_SERVICE localhost:5000/library/busybox grep Cap /proc/self/status\n\n\
    The container gets new uts, ipc, mount, pid, net and cgroup namespaces (and\n\
    a user namespace without root), the image as its root through pivot_root,\n\
    Docker's /dev, masked and read-only paths of /proc and /sys, a cgroup of its\n\
    own, and Docker's default capabilities. An image missing from the store is\n\
    pulled first. Exit code: the program's; 128+N if signal N killed it (137\n\
    also after an out-of-memory kill); 127/126 if it cannot be found/run; 125 if\n\
    the container could not start.")]
pub struct RunArgs {
    #[command(flatten)]
    pub run: step_06_namespaces::cli::RunArgs,
    /// Memory limit: 64m, 1g, ...
    #[arg(long, value_name = "SIZE", help_heading = "Limits")]
    pub memory: Option<String>,
    /// Memory plus swap (default: twice --memory; -1: unlimited swap)
    #[arg(
        long,
        value_name = "SIZE",
        requires = "memory",
        help_heading = "Limits"
    )]
    pub memory_swap: Option<String>,
    /// CPU time, in CPUs: 0.5 is half of one
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub cpus: Option<f64>,
    /// Relative CPU weight against other containers (default 1024)
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub cpu_shares: Option<u64>,
    /// How many processes and threads at once
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub pids_limit: Option<u64>,
    /// Print peak memory and CPU time when the container ends
    #[arg(long, help_heading = "Limits")]
    pub stats: bool,
    /// Mount the root filesystem read-only
    #[arg(long, help_heading = "Security")]
    pub read_only: bool,
    /// Add a capability to Docker's default set (ALL for every one)
    #[arg(long, value_name = "CAP", help_heading = "Security")]
    pub cap_add: Vec<String>,
    /// Drop a capability from Docker's default set (ALL for every one)
    #[arg(long, value_name = "CAP", help_heading = "Security")]
    pub cap_drop: Vec<String>,
}

impl RunArgs {
    /// The limits the options ask for.
    pub fn limits(&self) -> Result<Limits> {
        let option = |option: &'static str, value: &str, reason: &str| Error::Option {
            option,
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let memory_swap = match self.memory_swap.as_deref() {
            None => None,
            Some("-1") => Some(-1),
            Some(text) => Some(parse_size("--memory-swap", text)? as i64),
        };
        let limits = Limits {
            memory: self
                .memory
                .as_deref()
                .map(|text| parse_size("--memory", text))
                .transpose()?,
            memory_swap,
            cpus: self.cpus,
            cpu_shares: self.cpu_shares,
            pids: self.pids_limit,
        };
        if let (Some(memory), Some(total)) = (limits.memory, limits.memory_swap)
            && total >= 0
            && (total as u64) < memory
        {
            return Err(option(
                "--memory-swap",
                self.memory_swap.as_deref().unwrap_or_default(),
                "must be at least --memory (it counts memory and swap together)",
            ));
        }
        if let Some(cpus) = self.cpus
            && !(cpus > 0.0 && cpus.is_finite())
        {
            return Err(option(
                "--cpus",
                &cpus.to_string(),
                "must be more than 0, such as 0.5",
            ));
        }
        if self.pids_limit == Some(0) {
            return Err(option("--pids-limit", "0", "must be at least 1"));
        }
        Ok(limits)
    }
}

/// `dockerless run`: returns the container's exit code.
pub fn run_command(args: &RunArgs, registry: &RegistryArgs, store: &StoreArgs) -> Result<i32> {
    let options = Options {
        limits: args.limits()?,
        read_only: args.read_only,
        cap_add: args.cap_add.clone(),
        cap_drop: args.cap_drop.clone(),
        stats: args.stats,
    };
    let run = Run::prepare(&args.run, registry, store)?;
    let isolation = Isolation::new(&run.container, &run.rootfs, &options)?;
    let code = run.supervise(&isolation);
    let (stats, oom) = isolation.finish(*code.as_ref().unwrap_or(&1))?;
    let code = code?;
    if let Some(oom) = oom {
        eprintln!("dockerless: {oom}");
    }
    if let Some(why) = isolation.no_cgroup().filter(|_| args.stats) {
        eprintln!("dockerless: no statistics: {why}");
    }
    if let Some(stats) = stats.filter(|_| args.stats) {
        let memory = stats.peak_memory.map_or("unknown".to_string(), |b| {
            format!("{:.1} MiB", b as f64 / 1048576.0)
        });
        let cpu = stats.cpu_usec.map_or("unknown".to_string(), |us| {
            format!("{:.3} s", us as f64 / 1e6)
        });
        eprintln!("dockerless: peak memory {memory}, CPU time {cpu}");
    }
    Ok(code)
}
