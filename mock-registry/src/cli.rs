//! `mock-registry serve`: the registry as a program, for workshops, demos and
//! interop tests with skopeo and friends.

use crate::auth::{Auth, TokenAuth, Users};
use crate::registry::MockRegistry;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "mock-registry",
    version,
    about = "A small, real OCI distribution registry for offline workshops and tests",
    after_help = "Examples:\n  \
        mock-registry serve\n  \
        mock-registry serve --addr 127.0.0.1:5000 --dir /tmp/registry\n  \
        mock-registry serve --auth learner:secret\n  \
        skopeo inspect --tls-verify=false docker://127.0.0.1:5000/library/hello:latest"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the registry until Ctrl-C
    Serve(Serve),
}

#[derive(clap::Args)]
struct Serve {
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:5000")]
    addr: SocketAddr,
    /// Keep images in this directory (an OCI image layout) so they survive
    /// restarts; an existing layout, such as one `skopeo copy` wrote, is imported
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
    /// Repository for layout entries named by a bare tag (default: the directory's name)
    #[arg(long, value_name = "NAME", requires = "dir")]
    repo: Option<String>,
    /// Require credentials, with Docker Hub's token flow (a /token realm)
    #[arg(long, value_name = "USER:PASSWORD", value_parser = parse_credentials)]
    auth: Option<(String, String)>,
    /// With --auth: ask for HTTP Basic credentials on every request instead of tokens
    #[arg(long, requires = "auth")]
    basic: bool,
    /// With --auth: let anyone pull, as Docker Hub does for public images
    #[arg(long, requires = "auth", conflicts_with = "basic")]
    anonymous_pull: bool,
    /// With --auth: how long a token lives, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 300, requires = "auth")]
    token_ttl: u64,
    /// Start without the fixture images
    #[arg(long)]
    no_fixtures: bool,
    /// Print each request and its status as it happens
    #[arg(long, short)]
    verbose: bool,
}

fn parse_credentials(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => {
            Ok((user.to_string(), password.to_string()))
        }
        _ => Err("expected USER:PASSWORD, for example learner:secret".to_string()),
    }
}

/// Runs the command line; the binary's `main` is this.
pub fn main() -> ExitCode {
    let Command::Serve(serve) = Cli::parse().command;
    match run(serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mock-registry: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(serve: Serve) -> Result<(), crate::Error> {
    let auth = match &serve.auth {
        None => Auth::None,
        Some((user, password)) if serve.basic => Auth::Basic(Users::one(user, password)),
        Some((user, password)) => Auth::Token(TokenAuth {
            users: Users::one(user, password),
            anonymous_pull: serve.anonymous_pull,
            expires_in: Duration::from_secs(serve.token_ttl),
            identity_tokens: Default::default(),
        }),
    };
    let mut builder = MockRegistry::builder()
        .addr(serve.addr)
        .auth(auth.clone())
        .fixtures(!serve.no_fixtures)
        .echo_requests(serve.verbose);
    if let Some(dir) = &serve.dir {
        builder = builder.directory(dir);
    }
    if let Some(repo) = &serve.repo {
        builder = builder.default_repository(repo);
    }
    let registry = builder.start()?;
    // The steps that run containers want a shell: this machine's
    // busybox-static, when it has one (not byte-exact across machines).
    if !serve.no_fixtures {
        let busybox = crate::fixtures::busybox_image(
            std::path::Path::new(crate::fixtures::HOST_BUSYBOX),
            "library/busybox",
            "latest",
            crate::fixtures::default_config(),
        );
        if let Some(image) = busybox {
            registry.seed(&image)?;
        }
    }
    println!("mock-registry: serving {}", registry.url());
    match &serve.dir {
        Some(dir) => println!("  store: OCI image layout in {}", dir.display()),
        None => println!("  store: memory (gone when this stops; --dir PATH keeps it)"),
    }
    match &auth {
        Auth::None => println!("  auth:  none (anyone may pull and push)"),
        Auth::Basic(_) => println!("  auth:  HTTP Basic on every request"),
        Auth::Token(token) => println!(
            "  auth:  token flow, realm {}/token, anonymous pull {}",
            registry.url(),
            if token.anonymous_pull { "on" } else { "off" }
        ),
    }
    println!("  images:");
    for reference in registry.references() {
        println!("    {}/{reference}", registry.host());
    }
    println!("Press Ctrl-C to stop.");
    wait_for_signal().map_err(crate::Error::Runtime)?;
    Ok(())
}

/// Blocks until SIGINT or SIGTERM.
pub fn wait_for_signal() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = terminate.recv() => Ok(()),
        }
    })
}
