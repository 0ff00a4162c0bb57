//! Faults on demand, so clients can be tested against a registry that misbehaves
//! the way real ones do.

use std::sync::Mutex;

/// Something to go wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `429 Too Many Requests` with `Retry-After: seconds`.
    TooManyRequests { retry_after: u64 },
    /// A 5xx answer such as 500 or 503.
    ServerError { status: u16 },
    /// A blob body that stops after this many bytes: the connection is cut.
    CutBody { after: u64 },
    /// A blob served with its last byte changed, so its digest does not match.
    WrongBytes,
    /// A blob served with this many more bytes than it has (and a
    /// `Content-Length` to match): a client must stop reading at the size
    /// the manifest gave.
    ExtraBytes { count: u64 },
    /// A blob GET answered `200` from byte zero even when a `Range` was asked for.
    IgnoreRange,
    /// A blob GET answered `307` to a second origin (like a CDN), which serves it.
    RedirectBlobs,
}

/// Which requests a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Any,
    Ping,
    Token,
    Manifests,
    /// Blob GET and HEAD.
    Blobs,
    Uploads,
}

/// A fault, the requests it hits and how many times.
#[derive(Clone, Debug)]
pub struct FaultRule {
    fault: Fault,
    target: Target,
    /// Only requests whose path contains this (a digest, a repository).
    path: Option<String>,
    /// `None`: every time.
    remaining: Option<u32>,
}

impl FaultRule {
    /// A fault that hits the next matching request once. Blob faults
    /// (`CutBody`, `WrongBytes`, `IgnoreRange`, `RedirectBlobs`) only hit blob GETs.
    pub fn new(fault: Fault) -> FaultRule {
        let target = match fault {
            Fault::CutBody { .. }
            | Fault::WrongBytes
            | Fault::IgnoreRange
            | Fault::RedirectBlobs => Target::Blobs,
            _ => Target::Any,
        };
        FaultRule {
            fault,
            target,
            path: None,
            remaining: Some(1),
        }
    }

    /// Only hit requests whose path contains `fragment`, such as one blob's digest.
    pub fn on_path(mut self, fragment: &str) -> FaultRule {
        self.path = Some(fragment.to_string());
        self
    }

    pub fn on(mut self, target: Target) -> FaultRule {
        self.target = target;
        self
    }

    pub fn times(mut self, times: u32) -> FaultRule {
        self.remaining = Some(times);
        self
    }

    pub fn always(mut self) -> FaultRule {
        self.remaining = None;
        self
    }
}

/// The faults waiting to happen.
#[derive(Default)]
pub struct Faults(Mutex<Vec<FaultRule>>);

impl Faults {
    pub fn add(&self, rule: FaultRule) {
        self.0.lock().unwrap().push(rule);
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    /// Takes the first fault that applies to a request of this kind, among
    /// those `accept` says it can carry out there.
    pub fn take(
        &self,
        target: Target,
        path: &str,
        accept: impl Fn(&Fault) -> bool,
    ) -> Option<Fault> {
        let mut rules = self.0.lock().unwrap();
        let index = rules.iter().position(|rule| {
            (rule.target == target || rule.target == Target::Any)
                && rule.path.as_ref().is_none_or(|p| path.contains(p.as_str()))
                && accept(&rule.fault)
        })?;
        let fault = rules[index].fault.clone();
        match &mut rules[index].remaining {
            Some(1) => {
                rules.remove(index);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault)
    }
}
