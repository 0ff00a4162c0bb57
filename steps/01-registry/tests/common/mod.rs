//! What the step-01 checks share: a client that records its requests and
//! retries without waiting.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;
use step_01_registry::client::{Exchange, Observer};
use step_01_registry::credentials::Credentials;
use step_01_registry::{Client, ClientOptions, Reference, RetryPolicy};

/// Retries at once: checks never wait.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    }
}

/// The client's own `-v` log, with the registry's address replaced by `REGISTRY`.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    pub fn observer(&self, host: &str) -> Observer {
        let lines = self.0.clone();
        let host = host.to_string();
        Arc::new(move |exchange: &Exchange| {
            lines
                .lock()
                .unwrap()
                .push(exchange.to_string().replace(&host, "REGISTRY"));
        })
    }

    pub fn take(&self) -> String {
        std::mem::take(&mut *self.0.lock().unwrap()).join("\n")
    }
}

/// A client for `reference` with optional credentials, recording its requests.
pub fn client(reference: &Reference, credentials: Option<Credentials>) -> (Client, Recorder) {
    let recorder = Recorder::default();
    let client = Client::new(
        reference,
        ClientOptions {
            credentials,
            retry: quick_retries(),
            observer: Some(recorder.observer(&reference.registry)),
            ..ClientOptions::default()
        },
    )
    .expect("a client can be built");
    (client, recorder)
}

/// `127.0.0.1:PORT/<name>` parsed.
pub fn reference(host: &str, name: &str) -> Reference {
    Reference::parse(&format!("{host}/{name}")).expect("a valid reference")
}
