//! The HTTP side: one handler reads the route, applies faults and auth, and
//! hands the request to the endpoint's module.

mod blobs;
mod listing;
mod manifests;
mod query;
mod routes;
mod token;
mod uploads;

use crate::api_error::{ApiError, Code};
use crate::auth::{self, Access, Action, Auth, Tokens};
use crate::faults::{Fault, Faults, Target};
use crate::log::{LoggedRequest, Origin};
use crate::names;
use crate::store::Store;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use routes::Route;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

pub use uploads::Uploads;

/// How the registry phrases some answers; real registries differ here and
/// clients must cope with all of them.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Send upload `Location`s as absolute URLs instead of paths.
    pub absolute_locations: bool,
    /// Add a `?_state=...` query to upload `Location`s, as the CNCF registry does,
    /// so clients must append `digest=` with `&`.
    pub location_query: bool,
    /// Announce `OCI-Chunk-Min-Length` and refuse smaller PATCH chunks.
    pub chunk_min_length: Option<u64>,
}

/// Everything the handlers share.
pub struct App {
    pub store: Store,
    pub auth: RwLock<Auth>,
    pub tokens: Tokens,
    pub faults: Faults,
    pub log: Mutex<Vec<LoggedRequest>>,
    pub uploads: Uploads,
    pub settings: RwLock<Settings>,
    /// Base URL of the second origin that redirected blobs are served from.
    pub cdn: OnceLock<String>,
    /// Print each request line to stderr as it is served.
    pub echo_requests: bool,
}

impl App {
    pub fn new(store: Store, auth: Auth, settings: Settings) -> App {
        App {
            store,
            auth: RwLock::new(auth),
            tokens: Tokens::default(),
            faults: Faults::default(),
            log: Mutex::default(),
            uploads: Uploads::default(),
            settings: RwLock::new(settings),
            cdn: OnceLock::new(),
            echo_requests: false,
        }
    }

    fn settings(&self) -> Settings {
        self.settings.read().unwrap().clone()
    }
}

/// The request as the endpoint handlers see it.
pub struct Call<'a> {
    pub app: &'a App,
    pub method: Method,
    /// The request's path, for faults aimed at one blob or repository.
    pub path: String,
    pub headers: HeaderMap,
    pub query: Vec<(String, String)>,
    /// `http://host:port`, as the client addressed us (for absolute URLs and the realm).
    pub base_url: String,
}

impl Call<'_> {
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        query::get(&self.query, key)
    }

    /// Checks that this request may do `access`; the refusal is a 401 with a challenge.
    pub fn authorize(&self, access: &Access) -> Result<(), ApiError> {
        let auth = self.app.auth.read().unwrap().clone();
        let realm = format!("{}/token", self.base_url);
        auth::authorize(
            &auth,
            &self.app.tokens,
            self.header(header::AUTHORIZATION),
            access,
            &realm,
        )
        .map_err(|challenge| {
            ApiError::new(Code::Unauthorized, "authentication required")
                .header(header::WWW_AUTHENTICATE, challenge.0)
        })
    }
}

pub type Reply = Result<Response, ApiError>;

/// The registry's one handler.
pub async fn registry(State(app): State<Arc<App>>, request: Request) -> Response {
    serve(&app, Origin::Registry, request).await
}

/// The second origin's one handler.
pub async fn cdn(State(app): State<Arc<App>>, request: Request) -> Response {
    serve(&app, Origin::Cdn, request).await
}

async fn serve(app: &App, origin: Origin, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let route = Route::parse(parts.uri.path());
    let reply = match origin {
        Origin::Registry => handle(app, &parts, route, body).await,
        Origin::Cdn => match route {
            Route::Cdn { digest } => blobs::cdn(app, &parts, &digest).await,
            _ => Err(
                ApiError::new(Code::Unsupported, "the second origin serves blobs only")
                    .status(StatusCode::NOT_FOUND),
            ),
        },
    };
    let mut response = reply.unwrap_or_else(IntoResponse::into_response);
    response.headers_mut().insert(
        "Docker-Distribution-API-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    record(app, origin, &parts, response.status());
    response
}

fn record(app: &App, origin: Origin, parts: &Parts, status: StatusCode) {
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let entry = LoggedRequest {
        origin,
        method: parts.method.to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_string(), |p| p.to_string()),
        status: status.as_u16(),
        authorization: header(header::AUTHORIZATION)
            .and_then(|h| h.split_whitespace().next())
            .map(str::to_string),
        range: header(header::RANGE).map(str::to_string),
    };
    if app.echo_requests {
        eprintln!("{entry}");
    }
    app.log.lock().unwrap().push(entry);
}

fn target(route: &Route) -> Target {
    match route {
        Route::Ping => Target::Ping,
        Route::Token => Target::Token,
        Route::Manifest { .. } => Target::Manifests,
        Route::Blob { .. } | Route::Cdn { .. } => Target::Blobs,
        Route::StartUpload { .. } | Route::Upload { .. } => Target::Uploads,
        Route::Catalog | Route::Tags { .. } | Route::Unknown => Target::Any,
    }
}

/// A status fault (429, 5xx) that hits this request, if one is waiting.
fn status_fault(app: &App, route: &Route, path: &str) -> Option<ApiError> {
    let fault = app.faults.take(target(route), path, |f| {
        matches!(f, Fault::TooManyRequests { .. } | Fault::ServerError { .. })
    })?;
    Some(match fault {
        Fault::TooManyRequests { retry_after } => {
            ApiError::new(Code::TooManyRequests, "too many requests: slow down")
                .header(header::RETRY_AFTER, retry_after.to_string())
        }
        Fault::ServerError { status } => ApiError::new(Code::Unavailable, "injected server error")
            .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)),
        _ => unreachable!("only status faults are taken here"),
    })
}

async fn handle(app: &App, parts: &Parts, route: Route, body: Body) -> Reply {
    if let Some(error) = status_fault(app, &route, parts.uri.path()) {
        return Err(error);
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let call = Call {
        app,
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        headers: parts.headers.clone(),
        query: query::params(parts.uri.query()),
        base_url: format!("http://{host}"),
    };
    let action = match call.method {
        Method::GET | Method::HEAD => Action::Pull,
        _ => Action::Push,
    };
    let repository = |name: &str| -> Result<Access, ApiError> {
        names::check_repository(name).map_err(|e| ApiError::new(Code::NameInvalid, e))?;
        Ok(Access::repository(name, action))
    };
    match route {
        Route::Token => token::issue(&call, body).await,
        Route::Ping => {
            call.authorize(&Access {
                resource: String::new(),
                action,
            })?;
            listing::ping(&call)
        }
        Route::Catalog => {
            call.authorize(&Access {
                resource: "registry:catalog".into(),
                action,
            })?;
            listing::catalog(&call)
        }
        Route::Tags { name } => {
            call.authorize(&repository(&name)?)?;
            listing::tags(&call, &name)
        }
        Route::Manifest { name, reference } => {
            call.authorize(&repository(&name)?)?;
            manifests::handle(&call, &name, &reference, body).await
        }
        Route::Blob { name, digest } => {
            call.authorize(&repository(&name)?)?;
            blobs::handle(&call, &name, &digest).await
        }
        Route::StartUpload { name } => {
            call.authorize(&repository(&name)?)?;
            uploads::start(&call, &name, body).await
        }
        Route::Upload { name, id } => {
            call.authorize(&repository(&name)?)?;
            uploads::handle(&call, &name, &id, body).await
        }
        Route::Cdn { .. } | Route::Unknown => Err(ApiError::new(
            Code::Unsupported,
            format!("no such endpoint: {} {}", parts.method, parts.uri.path()),
        )
        .status(StatusCode::NOT_FOUND)),
    }
}

/// Checks a method against those an endpoint supports.
pub fn method_not_allowed(method: &Method) -> ApiError {
    ApiError::new(
        Code::Unsupported,
        format!("method {method} is not supported on this endpoint"),
    )
}
