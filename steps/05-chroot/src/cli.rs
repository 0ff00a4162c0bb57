//! Step 05's part of the `dockerless` command line: `chroot`, and the
//! options every command that starts a process from an image shares.

use crate::child::Stdio;
use crate::chroot;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::spec::Options;
use nix::sys::signal::{SigHandler, Signal, signal};
use step_01_registry::Reference;
use step_02_layers::cli::StoreArgs;

/// How to run the image's program: `-e`, `-w`, `-u`, as `docker run` has them.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ProcessArgs {
    /// Set an environment variable (NAME=VALUE), or pass this shell's (NAME)
    #[arg(short = 'e', long = "env", value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,
    /// The working directory inside the image (default: its WorkingDir, else /)
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// The user inside the image: name, uid, name:group or uid:gid (default: its User, else root)
    #[arg(short = 'u', long = "user", value_name = "USER[:GROUP]")]
    pub user: Option<String>,
}

impl ProcessArgs {
    /// These options with `command`.
    pub fn options(&self, command: &[String]) -> Options {
        Options {
            command: command.to_vec(),
            env: self.env.clone(),
            workdir: self.workdir.clone(),
            user: self.user.clone(),
        }
    }
}

/// Run a program from an image in a plain chroot: the image's files, the host's everything else.
#[derive(clap::Args, Clone, Debug)]
#[command(after_help = "Examples:\n  \
    dockerless chroot localhost:5000/library/busybox\n  \
    dockerless chroot localhost:5000/library/busybox cat /etc/passwd > passwd\n  \
    dockerless chroot -u learner -w /tmp -e GREETING=hi localhost:5000/library/busybox env\n\n\
    The image must be in the store (dockerless pull). Only the file system\n\
    changes: processes, hostname and network are the host's (see `dockerless run`).\n\
    Exit code: the program's; 128+N if signal N killed it; 127 if it is not in\n\
    the image, 126 if it cannot be executed, 125 if the chroot failed.")]
pub struct ChrootArgs {
    #[command(flatten)]
    pub process: ProcessArgs,
    #[command(flatten)]
    pub target: ImageCommand,
}

/// The image and the command to run in it, last on the command line of
/// `chroot` and `run`.
#[derive(clap::Args, Clone, Debug)]
pub struct ImageCommand {
    /// The image: alpine, localhost:5000/me/app:v1
    pub image: String,
    /// The command and its arguments (default: the image's Entrypoint and Cmd)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

/// `dockerless chroot`: returns the program's exit code.
pub fn chroot_command(args: &ChrootArgs, store: &StoreArgs) -> Result<i32> {
    let reference = Reference::parse(&args.target.image)?;
    let store = store.open()?;
    let image = Image::load(&store, &reference)?;
    let options = args.process.options(&args.target.command);
    let prepared = chroot::prepare(&image, &options, |name| std::env::var(name).ok())?;
    let child = chroot::spawn(&prepared, &Stdio::default())?;
    // Ctrl-C reaches the whole foreground process group: the program
    // decides what it means, and this process reports how it ended (as
    // `system(3)` does).
    for ignored in [Signal::SIGINT, Signal::SIGQUIT] {
        // SAFETY: SIG_IGN installs no handler.
        unsafe { signal(ignored, SigHandler::SigIgn) }.map_err(|source| Error::System {
            call: "signal",
            source,
        })?;
    }
    chroot::wait(child)
}
