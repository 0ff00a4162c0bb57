//! The registry as a library: start it on `127.0.0.1:0` from a test, seed
//! images, switch auth and faults on, and read the request log.

use crate::auth::Auth;
use crate::digest::Digest;
use crate::faults::FaultRule;
use crate::image::{Image, Manifest};
use crate::log::LoggedRequest;
use crate::server::{self, App, Settings};
use crate::store::Store;
use axum::Router;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What can go wrong starting a registry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot listen on {addr}: {source} (is another registry already running there? pick another --addr)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot use {} as the registry's storage: {source}", path.display())]
    Store {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot store image {reference}: {source}")]
    Seed {
        reference: String,
        source: std::io::Error,
    },
    #[error("cannot start the registry's runtime: {0}")]
    Runtime(std::io::Error),
}

/// How to start a registry.
#[derive(Debug)]
pub struct Builder {
    addr: SocketAddr,
    directory: Option<PathBuf>,
    default_repository: Option<String>,
    auth: Auth,
    settings: Settings,
    fixtures: bool,
    echo_requests: bool,
}

impl Builder {
    /// Where to listen; `127.0.0.1:0` (any free port) unless set.
    pub fn addr(mut self, addr: SocketAddr) -> Builder {
        self.addr = addr;
        self
    }

    /// Keep the store in `dir`, an OCI image layout, instead of memory.
    pub fn directory(mut self, dir: &Path) -> Builder {
        self.directory = Some(dir.to_path_buf());
        self
    }

    /// The repository for layout entries named by a bare tag (as skopeo writes
    /// them); the directory's name unless set.
    pub fn default_repository(mut self, name: &str) -> Builder {
        self.default_repository = Some(name.to_string());
        self
    }

    pub fn auth(mut self, auth: Auth) -> Builder {
        self.auth = auth;
        self
    }

    pub fn settings(mut self, settings: Settings) -> Builder {
        self.settings = settings;
        self
    }

    /// Seed the fixture images (`library/hello`, `library/layers`, `library/multi`).
    pub fn fixtures(mut self, fixtures: bool) -> Builder {
        self.fixtures = fixtures;
        self
    }

    /// Print each request line to stderr as it is served (for `serve --verbose`).
    pub fn echo_requests(mut self, echo: bool) -> Builder {
        self.echo_requests = echo;
        self
    }

    pub fn start(self) -> Result<MockRegistry, Error> {
        let store = match &self.directory {
            None => Store::memory(),
            Some(dir) => {
                let default_repository = self
                    .default_repository
                    .clone()
                    .unwrap_or_else(|| repository_for(dir));
                Store::directory(dir, &default_repository).map_err(|source| Error::Store {
                    path: dir.clone(),
                    source,
                })?
            }
        };
        let mut app = App::new(store, self.auth, self.settings);
        app.echo_requests = self.echo_requests;
        let app = Arc::new(app);
        let bind = |addr: SocketAddr| {
            let listener =
                TcpListener::bind(addr).map_err(|source| Error::Bind { addr, source })?;
            listener
                .set_nonblocking(true)
                .map_err(|source| Error::Bind { addr, source })?;
            Ok::<_, Error>(listener)
        };
        let listener = bind(self.addr)?;
        let addr = listener.local_addr().map_err(Error::Runtime)?;
        let cdn_listener = bind(SocketAddr::new(addr.ip(), 0))?;
        let cdn_addr = cdn_listener.local_addr().map_err(Error::Runtime)?;
        app.cdn
            .set(format!("http://{cdn_addr}"))
            .expect("set once, here");

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mock-registry")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let registry_router = Router::new()
            .fallback(server::registry)
            .with_state(app.clone());
        let cdn_router = Router::new().fallback(server::cdn).with_state(app.clone());
        let (listener, cdn_listener) = runtime
            .block_on(async {
                Ok::<_, std::io::Error>((
                    tokio::net::TcpListener::from_std(listener)?,
                    tokio::net::TcpListener::from_std(cdn_listener)?,
                ))
            })
            .map_err(Error::Runtime)?;
        let thread = std::thread::Builder::new()
            .name("mock-registry".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        _ = axum::serve(listener, registry_router) => {}
                        _ = axum::serve(cdn_listener, cdn_router) => {}
                        _ = stopped => {}
                    }
                });
                // Open connections (a client that stopped mid-blob) must not keep us alive.
                runtime.shutdown_background();
            })
            .map_err(Error::Runtime)?;

        let registry = MockRegistry {
            app,
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        };
        if self.fixtures {
            for image in crate::fixtures::all() {
                registry.seed(&image)?;
            }
        }
        Ok(registry)
    }
}

/// The default repository for a layout directory: its name, if that is a valid name.
fn repository_for(dir: &Path) -> String {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if crate::names::check_repository(&name).is_ok() {
        name
    } else {
        "imported".to_string()
    }
}

/// A running registry. It stops when dropped.
pub struct MockRegistry {
    app: Arc<App>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockRegistry {
    pub fn builder() -> Builder {
        Builder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            directory: None,
            default_repository: None,
            auth: Auth::None,
            settings: Settings::default(),
            fixtures: false,
            echo_requests: false,
        }
    }

    /// An empty registry in memory on a free loopback port, with no auth.
    pub fn start() -> Result<MockRegistry, Error> {
        MockRegistry::builder().start()
    }

    /// Like [`MockRegistry::start`], seeded with the fixture images.
    pub fn with_fixtures() -> Result<MockRegistry, Error> {
        MockRegistry::builder().fixtures(true).start()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`, the registry part of an image reference.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL of the second origin that `Fault::RedirectBlobs` sends clients to.
    pub fn cdn_url(&self) -> String {
        self.app.cdn.get().cloned().unwrap_or_default()
    }

    pub fn seed(&self, image: &Image) -> Result<(), Error> {
        self.app.store.seed(image).map_err(|source| Error::Seed {
            reference: image.reference(),
            source,
        })
    }

    /// Every `repository:tag` stored, in order.
    pub fn references(&self) -> Vec<String> {
        let store = &self.app.store;
        store
            .catalog()
            .into_iter()
            .flat_map(|repository| {
                let tags = store.tags(&repository).unwrap_or_default();
                tags.into_iter()
                    .map(move |tag| format!("{repository}:{tag}"))
            })
            .collect()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.app.log.lock().unwrap().clone()
    }

    /// The requests so far as `GET /v2/ -> 401` lines, and a fresh log.
    pub fn take_request_lines(&self) -> Vec<String> {
        std::mem::take(&mut *self.app.log.lock().unwrap())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    pub fn set_auth(&self, auth: Auth) {
        *self.app.auth.write().unwrap() = auth;
    }

    pub fn set_settings(&self, settings: Settings) {
        *self.app.settings.write().unwrap() = settings;
    }

    /// Makes every token handed out so far expire, as if time had passed.
    pub fn expire_tokens(&self) {
        self.app.tokens.expire_all();
    }

    pub fn inject(&self, rule: FaultRule) {
        self.app.faults.add(rule);
    }

    pub fn clear_faults(&self) {
        self.app.faults.clear();
    }

    pub fn has_blob(&self, repository: &str, digest: &Digest) -> bool {
        self.app.store.has_blob(repository, digest)
    }

    pub fn tags(&self, repository: &str) -> Option<Vec<String>> {
        self.app.store.tags(repository)
    }

    pub fn manifest(&self, repository: &str, reference: &str) -> Option<Manifest> {
        self.app.store.manifest(repository, reference)
    }

    /// Upload sessions started and neither finished nor cancelled.
    pub fn open_uploads(&self) -> usize {
        self.app.uploads.open_sessions()
    }
}

impl Drop for MockRegistry {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
