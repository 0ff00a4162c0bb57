//! HTTPS, as against Docker Hub, but on this machine: the CNCF distribution
//! registry serving TLS with a certificate from a CA made for the test.
//! `dockerless` pushes and pulls through it once the CA is trusted
//! (`SSL_CERT_FILE`), and otherwise fails at once with what to do, as it
//! does for a registry that answers HTTPS in plain HTTP.

mod support;

use assert_cmd::Command;
use std::path::Path;
use support::{Distribution, Served, Tls};

fn dockerless(home: &Path) -> Command {
    let mut command = Command::cargo_bin("dockerless").unwrap();
    command
        .env("DOCKER_INTERNALS_HOME", home)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    command
}

/// What a pull of `reference` that must fail with the exit code for network
/// failures (6) said on stderr, with `host` (which changes every run) as
/// `HOST`. `ca` is the authority to trust, if any.
fn failed_pull(reference: &str, host: &str, ca: Option<&Path>) -> String {
    let home = tempfile::tempdir().unwrap();
    let mut command = dockerless(home.path());
    if let Some(ca) = ca {
        command.env("SSL_CERT_FILE", ca);
    }
    let output = command.args(["pull", reference]).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(6),
        "the exit code for network failures, pulling {reference}"
    );
    String::from_utf8_lossy(&output.stderr).replace(host, "HOST")
}

#[test]
fn push_and_pull_over_tls_once_the_ca_is_trusted() {
    let Some(tls) = Tls::make() else { return };
    let Some(registry) = Distribution::with_tls(&tls) else {
        return;
    };
    let word = workshop::random_word();
    let rootfs = tempfile::tempdir().unwrap();
    std::fs::write(rootfs.path().join("word"), &word).unwrap();
    let reference = format!("{}/me/tls:v1", registry.host);

    let pusher = tempfile::tempdir().unwrap();
    dockerless(pusher.path())
        .env("SSL_CERT_FILE", &tls.ca)
        .args(["push", "-q", &reference, "--from"])
        .arg(rootfs.path())
        .assert()
        .success();
    let puller = tempfile::tempdir().unwrap();
    dockerless(puller.path())
        .env("SSL_CERT_FILE", &tls.ca)
        .args(["pull", "-q", &reference])
        .assert()
        .success();
    let pulled = puller
        .path()
        .join(format!("{}/me/tls/v1/word", registry.host));
    assert_eq!(
        std::fs::read_to_string(&pulled).ok().as_deref(),
        Some(word.as_str()),
        "{} after a push and a pull over HTTPS",
        pulled.display()
    );
}

#[test]
fn an_untrusted_certificate_fails_at_once_and_says_how_to_trust_it() {
    let Some(tls) = Tls::make() else { return };
    let Some(registry) = Distribution::with_tls(&tls) else {
        return;
    };
    let said = failed_pull(
        &format!("{}/me/tls:v1", registry.host),
        &registry.host,
        None,
    );
    // Once, not after four attempts: retrying cannot make a CA trusted.
    assert_eq!(
        said,
        "dockerless: cannot talk TLS to https://HOST: invalid peer certificate: UnknownIssuer \
         (no authority this machine trusts signed its certificate: add yours to the system's \
         trust store (update-ca-certificates), or set SSL_CERT_FILE to a bundle holding the \
         system's authorities and yours (it replaces the system's list))\n"
    );
}

#[test]
fn a_certificate_for_another_name_is_refused_and_says_so() {
    let Some(tls) = Tls::make_for(Some("elsewhere.invalid")) else {
        return;
    };
    let Some(registry) = Distribution::with_tls(&tls) else {
        return;
    };
    let said = failed_pull(
        &format!("{}/me/tls:v1", registry.host),
        &registry.host,
        Some(&tls.ca),
    );
    assert!(
        said.starts_with("dockerless: cannot talk TLS to https://HOST: invalid peer certificate:")
            && said.ends_with("(use the name its certificate was made for)\n"),
        "expected the name mismatch and its fix, got {said:?}"
    );
}

#[test]
fn plain_http_where_https_was_expected_says_to_use_insecure() {
    let Some(tls) = Tls::make() else { return };
    let served = Served::start_at(&tls.ip, &[]);
    // The same registry, by this machine's name rather than a loopback
    // address: spoken to in HTTPS unless --insecure says otherwise.
    let host = served.host.replace(&tls.ip, &tls.name);
    let reference = format!("{host}/library/hello:latest");
    assert_eq!(
        failed_pull(&reference, &host, None),
        "dockerless: cannot talk TLS to https://HOST: received corrupt message of type \
         InvalidContentType (it answered in plain HTTP: for a registry that speaks only that, \
         use --insecure)\n"
    );
    let home = tempfile::tempdir().unwrap();
    dockerless(home.path())
        .args(["pull", "-q", "--insecure", &reference])
        .assert()
        .success();
}
