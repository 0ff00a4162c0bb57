//! `cargo xtask demo`: the course's main job, offline.
//!
//! It starts the bundled registry with the fixture images and Docker Hub's
//! token flow switched on, then does by hand, one HTTP request at a time,
//! what `docker pull` does: ping, get a token, read the manifest, the config
//! and a layer, and check every digest. It ends by showing the registry's
//! own log of those requests and where the course begins. With `--serve` the
//! registry then stays up for the learner's own experiments.

use crate::course::Course;
use crate::{Verdict, diagnose};
use anyhow::{Context, Result, bail};
use flate2::read::GzDecoder;
use mock_registry::media_types::MANIFESTS;
use mock_registry::{Auth, Digest, MockRegistry};
use reqwest::blocking::Client;
use serde_json::Value;
use std::io::Write;

/// The user the demo registry accepts for pushes (pulls are anonymous).
const USER: (&str, &str) = ("learner", "secret");
/// The image the walk-through pulls.
const REPOSITORY: &str = "library/hello";
const TAG: &str = "latest";

pub fn demo(
    course: &Course,
    out: &mut dyn Write,
    serve: Option<std::net::SocketAddr>,
) -> Result<Verdict> {
    let mut builder = MockRegistry::builder()
        .fixtures(true)
        .auth(Auth::token(USER.0, USER.1));
    if let Some(addr) = serve {
        builder = builder.addr(addr);
    }
    let registry = builder.start().context("starting the bundled registry")?;
    let base = registry.url();
    // reqwest's TLS comes without a default crypto provider (see the
    // workspace's Cargo.toml): install one, as the tool does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::new();

    writeln!(out, "The bundled registry is up at {base}, holding:")?;
    for reference in registry.references() {
        writeln!(out, "  {}/{reference}", registry.host())?;
    }
    writeln!(
        out,
        "\nA pull of {REPOSITORY}:{TAG}, one request at a time (book: step 01, \"The token dance\"):\n"
    )?;

    let ping = client.get(format!("{base}/v2/")).send()?;
    let challenge = header(&ping, "WWW-Authenticate")?;
    writeln!(
        out,
        "1. GET /v2/ -> {}: the registry wants a token",
        ping.status().as_u16()
    )?;
    writeln!(out, "   WWW-Authenticate: {challenge}")?;

    let scope = format!("repository:{REPOSITORY}:pull");
    let answer: Value = client
        .get(format!("{base}/token"))
        .query(&[("service", "mock-registry"), ("scope", scope.as_str())])
        .send()?
        .error_for_status()?
        .json()?;
    let token = answer["token"]
        .as_str()
        .context("the realm sent no token")?
        .to_string();
    writeln!(
        out,
        "2. GET /token?scope={scope} -> an anonymous pull token, valid {}s",
        answer["expires_in"]
    )?;

    let response = client
        .get(format!("{base}/v2/{REPOSITORY}/manifests/{TAG}"))
        .header("Accept", MANIFESTS.join(", "))
        .bearer_auth(&token)
        .send()?
        .error_for_status()?;
    let media_type = header(&response, "Content-Type")?;
    let claimed = header(&response, "Docker-Content-Digest")?;
    let manifest_bytes = response.bytes()?;
    let digest = Digest::of(&manifest_bytes);
    if digest.as_str() != claimed {
        bail!("the manifest's digest is {digest}, but the registry said {claimed}");
    }
    let manifest: Value = serde_json::from_slice(&manifest_bytes)?;
    writeln!(
        out,
        "3. GET /v2/{REPOSITORY}/manifests/{TAG} -> {media_type}"
    )?;
    writeln!(
        out,
        "   {} bytes, digest {digest} (checked)",
        manifest_bytes.len()
    )?;

    let config_digest = manifest["config"]["digest"]
        .as_str()
        .context("manifest has no config")?;
    let config: Value = serde_json::from_slice(&blob(&client, &base, &token, config_digest)?)?;
    writeln!(
        out,
        "4. GET the config blob {} (checked)",
        short(config_digest)
    )?;
    writeln!(
        out,
        "   platform {}/{}, command {}, env {}",
        config["os"].as_str().unwrap_or("?"),
        config["architecture"].as_str().unwrap_or("?"),
        config["config"]["Cmd"],
        config["config"]["Env"]
    )?;

    for layer in manifest["layers"].as_array().into_iter().flatten() {
        let layer_digest = layer["digest"].as_str().context("layer without digest")?;
        let bytes = blob(&client, &base, &token, layer_digest)?;
        writeln!(
            out,
            "5. GET the layer blob {} ({} bytes, checked); it is a gzipped tar:",
            short(layer_digest),
            bytes.len()
        )?;
        let mut archive = tar::Archive::new(GzDecoder::new(&bytes[..]));
        for entry in archive.entries()? {
            let entry = entry?;
            let path = entry.path()?.display().to_string();
            let header = entry.header();
            let link = entry
                .link_name()?
                .map(|target| format!(" -> {}", target.display()))
                .unwrap_or_default();
            writeln!(
                out,
                "   {:>4o} {:>5} {path}{link}",
                header.mode()? & 0o7777,
                header.size()?
            )?;
        }
    }

    writeln!(out, "\nThe registry's log of the same requests:")?;
    for line in registry.take_request_lines() {
        writeln!(out, "  {line}")?;
    }

    let command: Vec<String> = ["Entrypoint", "Cmd"]
        .iter()
        .flat_map(|key| {
            config["config"][key]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|value| value.as_str().map(str::to_string))
        .collect();
    pull_with_the_tool(course, &registry, &command, out)?;

    writeln!(out, "\nWhere the course begins:")?;
    let steps = course.steps()?;
    match steps.first() {
        Some(first) => {
            writeln!(
                out,
                "  step {:02}: {} ({})",
                first.number,
                first.title,
                first.chapter_path()
            )?;
            writeln!(
                out,
                "  just start step-{:02}   # turn its exercises into todo!()s",
                first.number
            )?;
            writeln!(
                out,
                "  just test step-{:02}    # run its checks",
                first.number
            )?;
        }
        None => {
            writeln!(
                out,
                "  read the book: just book serve (book/src/introduction.md),"
            )?;
            writeln!(
                out,
                "  then step 01, the registry client, which repeats the requests above in Rust."
            )?;
        }
    }

    if serve.is_some() {
        writeln!(out, "\nServing until Ctrl-C. Try:")?;
        writeln!(
            out,
            "  skopeo inspect --tls-verify=false docker://{}/{REPOSITORY}:{TAG}",
            registry.host()
        )?;
        writeln!(out, "  curl -si {base}/v2/")?;
        writeln!(out, "  (push as {}:{})", USER.0, USER.1)?;
        out.flush()?;
        mock_registry::cli::wait_for_signal().context("waiting for Ctrl-C")?;
    }
    Ok(Verdict::Pass)
}

/// The same pull as `dockerless pull` does it (step 02), into a throwaway
/// store, and the image's program started directly: isolating it is what
/// steps 05 and 06 add.
///
/// The tool runs as a program of its own (`cargo run --bin dockerless`),
/// never linked into the runner: while a learner's step does not compile, or
/// still stops at a `todo!()`, this part says which step to finish first and
/// the rest of the demo goes on.
fn pull_with_the_tool(
    course: &Course,
    registry: &MockRegistry,
    command: &[String],
    out: &mut dyn Write,
) -> Result<()> {
    let home = tempfile::tempdir()?;
    let reference = format!("{}/{REPOSITORY}:{TAG}", registry.host());
    writeln!(
        out,
        "\nThe same with the tool (dockerless pull {reference}):"
    )?;
    out.flush()?;
    let output = course
        .cargo()
        .args(["run", "--quiet", "--bin", "dockerless", "--", "pull"])
        .arg(&reference)
        .arg("--home")
        .arg(home.path())
        .env_remove("DOCKER_USERNAME")
        .env_remove("DOCKER_PASSWORD")
        .stdin(std::process::Stdio::null())
        .output()
        .context("could not run cargo run --bin dockerless")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        for line in tool_failure(course, &stderr)?.lines() {
            writeln!(out, "  {line}")?;
        }
        return Ok(());
    }
    for line in stdout.lines() {
        writeln!(out, "  {line}")?;
    }
    let Some(path) = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("into"))
        .map(|path| std::path::PathBuf::from(path.trim()))
    else {
        return Ok(());
    };
    writeln!(out, "  the root filesystem holds:")?;
    let mut names: Vec<String> = std::fs::read_dir(&path)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    names.sort();
    writeln!(out, "    /{}", names.join("  /"))?;
    if let Some(program) = command.first() {
        let program_path = path.join(program.trim_start_matches('/'));
        writeln!(
            out,
            "  its default command {command:?}, started directly (no isolation yet):"
        )?;
        match std::process::Command::new(&program_path)
            .args(&command[1..])
            .output()
        {
            Ok(output) => write!(out, "    {}", String::from_utf8_lossy(&output.stdout))?,
            Err(error) => writeln!(
                out,
                "    cannot run {} here: {error}",
                program_path.display()
            )?,
        }
    }
    Ok(())
}

/// Why the tool could not pull, and which step to finish first.
pub fn tool_failure(course: &Course, stderr: &str) -> Result<String> {
    let steps = course.steps()?;
    if let Some(step) = diagnose::step_that_does_not_compile(&steps, stderr) {
        let mut text = format!(
            "The tool does not build: {} does not compile yet. Finish {} first \
             (`just test {}` shows the first error); the rest of the demo goes on without the tool.",
            step.label(),
            step.label(),
            step.arg()
        );
        if let Some(error) = diagnose::first_compile_error(stderr) {
            let located = error
                .path
                .as_deref()
                .zip(error.line)
                .and_then(|(path, line)| diagnose::region_at(course, &steps, path, line));
            if let Some(located) = located {
                text.push_str(&format!("\nIts first error is in {}:", located.describe()));
            } else {
                text.push_str("\nIts first error:");
            }
            for line in error.text.lines() {
                text.push_str(&format!("\n  {line}"));
            }
        }
        return Ok(text);
    }
    if let Some((number, id)) = diagnose::stub_reached(stderr) {
        let step = steps.iter().find(|s| s.number == number);
        let arg = step.map_or_else(|| format!("step-{number}"), |s| s.arg());
        return Ok(format!(
            "The tool stopped at step {number:02}'s exercise `{id}`, still a todo!(). \
             Finish step {number:02} first (`just test {arg}`); the rest of the demo goes on without the tool."
        ));
    }
    let errors = crate::libtest::compiler_errors(stderr);
    let stderr = if errors.is_empty() { stderr } else { &errors };
    Ok(format!(
        "The tool failed:\n{}",
        stderr
            .lines()
            .map(|line| format!("  {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    ))
}

fn header(response: &reqwest::blocking::Response, name: &str) -> Result<String> {
    Ok(response
        .headers()
        .get(name)
        .with_context(|| format!("the registry's answer has no {name} header"))?
        .to_str()?
        .to_string())
}

/// Fetches a blob and checks that its bytes match the digest that names it.
fn blob(client: &Client, base: &str, token: &str, digest: &str) -> Result<bytes::Bytes> {
    let bytes = client
        .get(format!("{base}/v2/{REPOSITORY}/blobs/{digest}"))
        .bearer_auth(token)
        .send()?
        .error_for_status()?
        .bytes()?;
    let actual = Digest::of(&bytes);
    if actual.as_str() != digest {
        bail!("blob {digest} arrived with digest {actual}");
    }
    Ok(bytes)
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}
