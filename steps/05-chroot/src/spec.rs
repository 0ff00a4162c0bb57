//! From an image's config and the command line to the exact process to
//! start: its argv, environment, working directory and user.
//!
//! These are the rules `docker run` follows, and `runc` receives their
//! result in its `config.json` (`process.args`, `process.env`,
//! `process.cwd`, `process.user`).

use crate::error::{Error, Result};
use step_01_registry::config::RunConfig;

/// The `PATH` a container gets when its image sets none: Docker's default.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the command line says on top of the image's config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The command after the image name; empty for the image's default.
    pub command: Vec<String>,
    /// `-e NAME=VALUE` (or `-e NAME`, this shell's value), in order.
    pub env: Vec<String>,
    /// `-w DIR`
    pub workdir: Option<String>,
    /// `-u USER[:GROUP]`
    pub user: Option<String>,
}

/// The process to start, before the user is looked up in the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// argv, with the program as `argv[0]` (not yet looked up in `PATH`).
    pub argv: Vec<String>,
    /// `NAME=VALUE` strings, in order, each name once.
    pub env: Vec<String>,
    /// An absolute path inside the image.
    pub workdir: String,
    /// `name`, `uid`, `name:group` or `uid:gid`; empty for root.
    pub user: String,
}

impl Spec {
    /// The process for `config` with the command line's `options`;
    /// `host_env` gives this shell's value for `-e NAME`.
    pub fn new(
        image: &str,
        config: &RunConfig,
        options: &Options,
        host_env: impl Fn(&str) -> Option<String>,
    ) -> Result<Spec> {
        let argv = command_line(config, &options.command);
        if argv.is_empty() {
            return Err(Error::NoCommand {
                image: image.to_string(),
            });
        }
        let env = environment(
            config.env.as_deref().unwrap_or_default(),
            &options.env,
            host_env,
        )?;
        let workdir = options
            .workdir
            .clone()
            .or_else(|| config.working_dir.clone())
            .filter(|dir| !dir.is_empty())
            .unwrap_or_else(|| "/".to_string());
        if !workdir.starts_with('/') {
            return Err(Error::Setup(format!(
                "the working directory {workdir:?} is not absolute; give a path such as /srv/app"
            )));
        }
        let user = options
            .user
            .clone()
            .or_else(|| config.user.clone())
            .unwrap_or_default();
        Ok(Spec {
            argv,
            env,
            workdir,
            user,
        })
    }

    /// The value of `name` in the environment.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.iter().find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then_some(value)
        })
    }

    /// Sets `name` to `value` unless the environment already has it.
    pub fn default_var(&mut self, name: &str, value: &str) {
        if self.var(name).is_none() {
            self.env.push(format!("{name}={value}"));
        }
    }
}

// ANCHOR: command_line
/// The argv: the image's Entrypoint, then the command line's command if
/// there is one, else the image's Cmd.
pub fn command_line(config: &RunConfig, command: &[String]) -> Vec<String> {
    // EXERCISE(command-line): Put the argv together as `docker run` does.
    // An image's Entrypoint always comes first. Its Cmd is the default
    // arguments: a command given on the command line replaces Cmd, never
    // the Entrypoint. Either can be missing (`None`).
    // HINT: First pick the arguments (the command if it is not empty, else Cmd), then
    // put them after the Entrypoint.
    // HINT+: Both fields are `Option<Vec<String>>` behind a borrow: clone, then
    // `unwrap_or_default()` makes a missing one an empty list. "No command" is
    // `command.is_empty()`. Start the argv from the Entrypoint in every case and
    // `extend` it with the arguments; with nothing at all, it is simply empty.
    let arguments = if command.is_empty() {
        config.cmd.clone().unwrap_or_default()
    } else {
        command.to_vec()
    };
    let mut argv = config.entrypoint.clone().unwrap_or_default();
    argv.extend(arguments);
    argv
    // END EXERCISE
}
// ANCHOR_END: command_line

// ANCHOR: environment
/// The environment: the image's `Env`, then each `-e` in order (a name set
/// again replaces the earlier value in place), and `PATH` if still unset.
pub fn environment(
    image: &[String],
    overrides: &[String],
    host_env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>> {
    // EXERCISE(environment): Merge the image's Env with the `-e` options.
    // - `NAME=VALUE` sets NAME; if NAME is already there, replace its value
    //   where it stands, so the order stays the image's.
    // - `NAME` alone takes this shell's value (`host_env(NAME)`), and is
    //   left out when the shell has none, as `docker run -e NAME` does.
    // - An empty name (`-e =value`) is an `Error::Env`.
    // - Last, add `PATH=DEFAULT_PATH` if nothing set PATH.
    // HINT: One closure that sets NAME to VALUE (in place if NAME is there, else at
    // the end) serves the image's entries and the `-e` options alike.
    // HINT+: `split_once('=')` gives the name; `None` is a bare `NAME`, whose value
    // is `host_env(NAME)` (no value: skip it). Find the entry to replace with
    // `iter_mut().find(...)` on a name that is equal, not a prefix: `LANG` must not
    // match `LANGUAGE=C`. Refuse an empty name first; look for `PATH` at the end.
    let mut env: Vec<String> = Vec::new();
    let set = |env: &mut Vec<String>, name: &str, value: &str| {
        let pair = format!("{name}={value}");
        match env.iter_mut().find(|p| p.split('=').next() == Some(name)) {
            Some(existing) => *existing = pair,
            None => env.push(pair),
        }
    };
    for pair in image {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        set(&mut env, name, value);
    }
    for option in overrides {
        let (name, value) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (option.as_str(), host_env(option)),
        };
        if name.is_empty() {
            return Err(Error::Env(option.clone()));
        }
        if let Some(value) = value {
            set(&mut env, name, &value);
        }
    }
    if !env.iter().any(|p| p.starts_with("PATH=")) {
        set(&mut env, "PATH", DEFAULT_PATH);
    }
    Ok(env)
    // END EXERCISE
}
// ANCHOR_END: environment
