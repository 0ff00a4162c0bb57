//! Step 06's part of the `dockerless` command line: `run` and `ns`.

use crate::container::{Chroot, Container, Hooks, Options};
use crate::error::{Error, Result};
use crate::ns;
use crate::supervisor::Supervisor;
use crate::terminal::Terminal;
use std::io::Write;
use step_01_registry::Reference;
use step_01_registry::cli::RegistryArgs;
use step_02_layers::cli::StoreArgs;
use step_02_layers::progress::{Bars, Progress, Silent};
use step_02_layers::pull::{PullOptions, pull_resolved};
use step_02_layers::store::Store;
use step_05_chroot::child::Stdio;
use step_05_chroot::cli::{ImageCommand, ProcessArgs};
use step_05_chroot::image::Image;

/// Run a program from an image in its own namespaces: a container.
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = "Examples:\n  \
    dockerless run localhost:5000/library/busybox hostname\n  \
    dockerless run -it localhost:5000/library/busybox sh\n  \
    dockerless run --hostname web -e PORT=80 --init localhost:5000/library/busybox ps\n\n\
    The container gets new uts, ipc, mount, pid, net and cgroup namespaces\n\
    (and a user namespace without root): its program is PID 1 and sees its\n\
    own hostname, processes, /proc and an lo that is up. An image missing\n\
    from the store is pulled first. Exit code: the program's; 128+N if signal\n\
    N killed it; 127/126 if it cannot be found/run; 125 if the container could\n\
    not start.")]
pub struct RunArgs {
    #[command(flatten)]
    pub process: ProcessArgs,
    /// The container's hostname (default: the first 12 digits of its id)
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Run a tiny init as PID 1 that forwards signals and reaps zombies
    #[arg(long)]
    pub init: bool,
    /// Keep standard input open (without it, the container reads nothing)
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give the container a terminal of its own (with -i: an interactive shell)
    #[arg(short = 't', long)]
    pub tty: bool,
    #[command(flatten)]
    pub target: ImageCommand,
}

/// `dockerless run`: returns the container's exit code.
pub fn run_command(args: &RunArgs, registry: &RegistryArgs, store: &StoreArgs) -> Result<i32> {
    let run = Run::prepare(args, registry, store)?;
    run.supervise(&Chroot)
}

/// A `run` ready to start: the container, its streams, its terminal.
pub struct Run {
    pub container: Container,
    /// The image's root filesystem on the host.
    pub rootfs: std::path::PathBuf,
    stdio: Stdio,
    terminal: Option<(Terminal, std::os::fd::OwnedFd)>,
}

impl Run {
    /// Everything `run` does before starting the container: pull the image
    /// if the store lacks it, prepare the container, open its terminal.
    pub fn prepare(args: &RunArgs, registry: &RegistryArgs, store: &StoreArgs) -> Result<Run> {
        let reference = Reference::parse(&args.target.image)?;
        let store = store.open()?;
        if !Image::is_stored(&store, &reference) {
            pull_first(&reference, registry, &store)?;
        }
        let image = Image::load(&store, &reference).map_err(Error::Start)?;
        let options = Options {
            hostname: args.hostname.clone(),
            init: args.init,
        };
        let container = Container::prepare(
            &image,
            &args.process.options(&args.target.command),
            &options,
            |name| std::env::var(name).ok(),
        )?;
        let terminal = match args.tty {
            true => Some(Terminal::open()?),
            false => None,
        };
        let stdio = Stdio {
            stdin: match args.interactive {
                true => None,
                false => Some(dev_null()?),
            },
            ..Stdio::default()
        };
        Ok(Run {
            container,
            rootfs: image.rootfs,
            stdio,
            terminal,
        })
    }

    /// Starts the container with `hooks` and supervises it to its end;
    /// returns its exit code.
    pub fn supervise(mut self, hooks: &dyn Hooks) -> Result<i32> {
        let supervisor = Supervisor::new()?;
        let secondary = self.terminal.as_ref().map(|(_, secondary)| secondary);
        let pid = self.container.spawn_with(&self.stdio, secondary, hooks)?;
        let mut terminal = self.terminal.take().map(|(terminal, _secondary)| terminal);
        if let Some(terminal) = terminal.as_mut() {
            terminal.raw()?;
        }
        supervisor.supervise(pid, terminal.as_mut())
    }
}

/// Pulls `reference` as `docker run` does for an image it lacks, telling
/// so on stderr.
fn pull_first(reference: &Reference, registry: &RegistryArgs, store: &Store) -> Result<()> {
    eprintln!("Unable to find image '{reference}' in the store; pulling it");
    let client = registry.client(reference)?;
    let resolved = step_01_registry::inspect::resolve(&client, reference, None)?;
    let bars = Bars::for_layers(&resolved.image.layers);
    let progress: &dyn Progress = match &bars {
        Some(bars) => bars,
        None => &Silent,
    };
    let pulled = pull_resolved(&client, store, resolved, &PullOptions::default(), progress)?;
    eprintln!("Pulled {reference} ({})", pulled.resolved.manifest.digest);
    Ok(())
}

fn dev_null() -> Result<std::os::fd::OwnedFd> {
    let file = std::fs::File::open("/dev/null").map_err(|source| Error::Io {
        path: "/dev/null".into(),
        source,
    })?;
    Ok(file.into())
}

/// List namespaces, like lsns: every process's, or one process's.
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = "Examples:\n  \
    dockerless ns          every namespace on this machine, with its processes\n  \
    dockerless ns 4242     the namespaces of process 4242, and which differ from yours\n\n\
    The numbers are the namespaces' inodes, the same `lsns` prints:\n  \
    lsns -p 4242")]
pub struct NsArgs {
    /// A process id (default: every process)
    pub pid: Option<u32>,
}

/// `dockerless ns`.
pub fn ns_command(args: &NsArgs, out: &mut dyn Write) -> Result<()> {
    let mine = ns::of_process("self")?;
    let processes = ns::processes()?;
    let table = match args.pid {
        Some(pid) => ns::process_table(&pid.to_string(), &processes, &mine)?,
        None => ns::all_table(&ns::group(&processes, &mine)),
    };
    write!(out, "{table}").ok();
    Ok(())
}
