//! The HTTP server: start/stop, the request pipeline and the `/__sim/` admin endpoints.
//!
//! Pipeline of an API request: count it → configured latency → take a matching fault →
//! the provider's [`Provider::route`] → optional body truncation. The provider keeps its own
//! state and locks; handlers are synchronous, so nothing awaits while holding a lock.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::budget::LimitScope;
use crate::faults::{self, Fault, FaultQueue};

/// Largest accepted request body; API request bodies are small.
const MAX_BODY: usize = 1024 * 1024;
/// The content type of JSON answers (and of truncated bodies).
pub const JSON: &str = "application/json; charset=utf-8";

/// What a provider's simulator plugs into the harness: its routes, the shape of its 429s and
/// error answers, and its state for `GET /__sim/state`.
pub trait Provider: Send + Sync + 'static {
    /// Names the simulator in logs (`"buildkite"` → "buildkite simulator listening").
    const NAME: &'static str;
    /// The provider's APIs (e.g. `["rest", "graphql"]`), counted separately in [`Stats`].
    const APIS: &'static [&'static str];

    /// The index in [`Provider::APIS`] of the API `path` belongs to.
    fn api(&self, path: &str) -> usize;

    /// Answers one API request, after latency and faults. Counted 429s are the ones this
    /// returns with status 429.
    fn route(&self, ctx: &Context<'_>, parts: &Parts, body: &Bytes) -> Response<Body>;

    /// The 429 for an injected [`Fault::RateLimited`], shaped like the provider's real one.
    fn rate_limited(&self, parts: &Parts, reset_secs: u64, scope: LimitScope) -> Response<Body>;

    /// The provider's usual error answer, for requests the harness refuses (a body over
    /// 1 MiB).
    fn error(&self, status: StatusCode, message: &str) -> Response<Body>;

    /// The HTML body of an injected [`Fault::ServerError`]; a proxy's page by default.
    fn error_page(&self, status: StatusCode) -> String {
        faults::error_page(
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error"),
        )
    }

    /// The current state as JSON, served by `GET /__sim/state`.
    fn state(&self) -> Result<Value, String>;
}

/// What [`Provider::route`] may use of the server.
#[derive(Debug)]
pub struct Context<'a> {
    origin: &'a str,
    counters: &'a Counters,
}

impl Context<'_> {
    /// `http://host:port` without a trailing slash: the prefix of every absolute URL the
    /// provider emits (`Link` headers, `url` fields).
    pub fn origin(&self) -> &str {
        self.origin
    }

    /// Records `points` charged to the API at `api` (e.g. GraphQL complexity), reported in
    /// [`ApiStats::points`].
    pub fn charge(&self, api: usize, points: u64) {
        if let Some(c) = self.counters.apis.get(api) {
            c.points.fetch_add(points, Ordering::Relaxed);
        }
    }
}

/// How to serve, besides the provider and the address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeOptions {
    /// Extra delay before every API answer.
    pub latency: Option<Duration>,
}

impl ServeOptions {
    /// Delays every API answer by `latency` (`None`: no delay).
    pub fn with_latency(mut self, latency: Option<Duration>) -> Self {
        self.latency = latency;
        self
    }
}

/// Why a server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listening socket could not be bound.
    #[error("cannot bind the simulator to {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bound address does not make a base URL.
    #[error("base URL {origin}: {source}")]
    BaseUrl {
        /// The origin that did not parse.
        origin: String,
        /// The parse error.
        #[source]
        source: url::ParseError,
    },
}

/// `127.0.0.1` at a free port: where simulators listen unless told otherwise.
pub fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// Serves `provider` at `addr` (port 0 picks a free port) on the current tokio runtime.
/// Absolute URLs use loopback when bound to an unspecified address such as `0.0.0.0`.
pub async fn start<P: Provider>(
    provider: P,
    addr: SocketAddr,
    options: ServeOptions,
) -> Result<RunningServer<P>, StartError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;
    let host = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let origin = format!("http://{}", SocketAddr::new(host, local.port()));
    let base_url = Url::parse(&origin).map_err(|source| StartError::BaseUrl {
        origin: origin.clone(),
        source,
    })?;
    let shared = Arc::new(Shared {
        provider,
        faults: Mutex::new(FaultQueue::default()),
        origin,
        latency: options.latency,
        counters: Counters {
            requests: AtomicU64::new(0),
            apis: P::APIS.iter().map(|_| ApiCounters::default()).collect(),
            response_bytes: AtomicU64::new(0),
        },
    });
    let app = Router::new()
        .fallback(entry::<P>)
        .with_state(Arc::clone(&shared));
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            // A dropped sender also means "stop".
            let _ = stop_rx.await;
        });
        if let Err(error) = serve.await {
            tracing::warn!(%error, "{} simulator stopped with an error", P::NAME);
        }
    });
    tracing::debug!(%local, "{} simulator listening", P::NAME);
    Ok(RunningServer {
        shared,
        addr: local,
        base_url,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

/// A server running in the background; stops on [`RunningServer::shutdown`] or drop.
pub struct RunningServer<P: Provider> {
    shared: Arc<Shared<P>>,
    addr: SocketAddr,
    base_url: Url,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl<P: Provider> std::fmt::Debug for RunningServer<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("provider", &P::NAME)
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl<P: Provider> RunningServer<P> {
    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> Url {
        self.base_url.clone()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The provider serving the requests (its state, for snapshots).
    pub fn provider(&self) -> &P {
        &self.shared.provider
    }

    /// Queues a fault (see [`Fault`] for the matching rules).
    pub fn inject(&self, fault: Fault) {
        self.shared.faults().push(fault);
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Faults still waiting, with their remaining `times`.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.shared.faults().pending()
    }

    /// API requests received so far (every API, including faulted and refused ones;
    /// `/__sim/` admin calls are not counted).
    pub fn request_count(&self) -> u64 {
        self.shared.counters.requests.load(Ordering::Relaxed)
    }

    /// What was served so far, per API.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        Stats {
            requests: get(&c.requests),
            apis: P::APIS
                .iter()
                .zip(&c.apis)
                .map(|(name, api)| ApiStats {
                    name,
                    requests: get(&api.requests),
                    rate_limited: get(&api.rate_limited),
                    points: get(&api.points),
                })
                .collect(),
            response_bytes: get(&c.response_bytes),
        }
    }

    /// Stops accepting connections and waits (up to 5 s) for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl<P: Provider> Drop for RunningServer<P> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Without an executor to wait on here, stop the task outright.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Cumulative counts of the API traffic a server answered ([`RunningServer::stats`]);
/// subtract two readings to measure one piece of work. `/__sim/` admin calls are not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Requests to every API, refused and faulted ones included.
    pub requests: u64,
    /// Per API, in the order of [`Provider::APIS`].
    pub apis: Vec<ApiStats>,
    /// Bytes of API response bodies sent (before any compression).
    pub response_bytes: u64,
}

impl Stats {
    /// The counts of the API named `name` (zero if there is none).
    pub fn api(&self, name: &str) -> ApiStats {
        self.apis
            .iter()
            .find(|a| a.name == name)
            .copied()
            .unwrap_or(ApiStats {
                name: "",
                requests: 0,
                rate_limited: 0,
                points: 0,
            })
    }
}

/// One API's counts in [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiStats {
    /// The name from [`Provider::APIS`].
    pub name: &'static str,
    /// Requests, refused and faulted ones included.
    pub requests: u64,
    /// Answers with status 429 (budget exceeded or injected).
    pub rate_limited: u64,
    /// Points the provider charged ([`Context::charge`]).
    pub points: u64,
}

struct Shared<P> {
    provider: P,
    faults: Mutex<FaultQueue>,
    /// `http://host:port`, no trailing slash.
    origin: String,
    latency: Option<Duration>,
    counters: Counters,
}

impl<P> Shared<P> {
    fn faults(&self) -> MutexGuard<'_, FaultQueue> {
        // A panic while holding the lock cannot leave the queue half-written in a way that
        // matters for a test double; keep serving.
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counters behind [`Stats`].
#[derive(Debug)]
struct Counters {
    requests: AtomicU64,
    apis: Vec<ApiCounters>,
    response_bytes: AtomicU64,
}

#[derive(Debug, Default)]
struct ApiCounters {
    requests: AtomicU64,
    rate_limited: AtomicU64,
    points: AtomicU64,
}

// ---- responses -------------------------------------------------------------------------------

/// An answer with `status`, `content_type` and `body`.
pub fn respond(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response<Body> {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(CONTENT_TYPE, value);
    }
    resp
}

/// A JSON answer.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    respond(status, JSON, body.to_string())
}

/// Sets each header (name, value) on `resp`; invalid names or values are skipped.
pub fn add_headers(resp: &mut Response<Body>, headers: &[(&str, String)]) {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
}

/// The harness's own error answers (admin endpoints): `{"message": ...}`.
fn admin_error(status: StatusCode, message: impl std::fmt::Display) -> Response<Body> {
    json_response(status, &json!({ "message": message.to_string() }))
}

// ---- pipeline --------------------------------------------------------------------------------

async fn entry<P: Provider>(
    AxumState(shared): AxumState<Arc<Shared<P>>>,
    req: Request,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return shared
                .provider
                .error(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large");
        }
    };
    let path = parts.uri.path();
    if path == "/__sim" || path.starts_with("/__sim/") {
        return admin(&shared, &parts, &body);
    }
    let counters = &shared.counters;
    counters.requests.fetch_add(1, Ordering::Relaxed);
    let api = counters.apis.get(shared.provider.api(path));
    if let Some(api) = api {
        api.requests.fetch_add(1, Ordering::Relaxed);
    }
    let resp = serve(&shared, &parts, &body).await;
    if resp.status() == StatusCode::TOO_MANY_REQUESTS
        && let Some(api) = api
    {
        api.rate_limited.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(bytes) = axum::body::HttpBody::size_hint(resp.body()).exact() {
        counters.response_bytes.fetch_add(bytes, Ordering::Relaxed);
    }
    resp
}

/// Latency, faults and routing of one counted API request.
async fn serve<P: Provider>(shared: &Shared<P>, parts: &Parts, body: &Bytes) -> Response<Body> {
    let path = parts.uri.path();
    if let Some(latency) = shared.latency {
        tokio::time::sleep(latency).await;
    }
    let fault = shared.faults().take(path);
    let mut truncate = false;
    match fault {
        None => {}
        Some(Fault::Slow { delay, .. }) => tokio::time::sleep(delay).await,
        Some(Fault::TruncatedBody { .. }) => truncate = true,
        Some(Fault::ServerError { status, .. }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let page = shared.provider.error_page(status);
            return respond(status, "text/html", page);
        }
        Some(Fault::RateLimited {
            reset_secs, scope, ..
        }) => return shared.provider.rate_limited(parts, reset_secs, scope),
    }
    let ctx = Context {
        origin: &shared.origin,
        counters: &shared.counters,
    };
    let resp = shared.provider.route(&ctx, parts, body);
    if truncate {
        truncate_body(resp).await
    } else {
        resp
    }
}

/// Keeps status and headers, declares JSON, and cuts the body in half.
async fn truncate_body(resp: Response<Body>) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    if let Ok(value) = HeaderValue::from_str(JSON) {
        parts.headers.insert(CONTENT_TYPE, value);
    }
    Response::from_parts(parts, Body::from(cut))
}

// ---- admin -----------------------------------------------------------------------------------

/// `GET /__sim/state`, `GET|POST|DELETE /__sim/faults`, `GET /__sim/stats`. No auth: a
/// simulator only listens on loopback by default.
fn admin<P: Provider>(shared: &Shared<P>, parts: &Parts, body: &Bytes) -> Response<Body> {
    let path = parts.uri.path().trim_end_matches('/');
    match (parts.method.as_str(), path) {
        ("GET", "/__sim/state") => match shared.provider.state() {
            Ok(v) => json_response(StatusCode::OK, &v),
            Err(e) => admin_error(StatusCode::INTERNAL_SERVER_ERROR, e),
        },
        ("GET", "/__sim/stats") => json_response(
            StatusCode::OK,
            &json!({ "requests": shared.counters.requests.load(Ordering::Relaxed) }),
        ),
        ("GET", "/__sim/faults") => {
            let pending = shared.faults().pending();
            match serde_json::to_value(pending) {
                Ok(v) => json_response(StatusCode::OK, &v),
                Err(e) => admin_error(StatusCode::INTERNAL_SERVER_ERROR, e),
            }
        }
        ("DELETE", "/__sim/faults") => {
            shared.faults().clear();
            respond(StatusCode::NO_CONTENT, JSON, Body::empty())
        }
        ("POST", "/__sim/faults") => {
            // One fault object or an array of them.
            let faults = match serde_json::from_slice::<Value>(body) {
                Ok(Value::Array(items)) => items
                    .into_iter()
                    .map(serde_json::from_value::<Fault>)
                    .collect::<Result<Vec<_>, _>>(),
                Ok(item) => serde_json::from_value::<Fault>(item).map(|f| vec![f]),
                Err(e) => Err(e),
            };
            match faults {
                Ok(faults) => {
                    let mut queue = shared.faults();
                    let queued = faults.len();
                    for fault in faults {
                        queue.push(fault);
                    }
                    json_response(
                        StatusCode::CREATED,
                        &json!({ "queued": queued, "pending": queue.pending().len() }),
                    )
                }
                Err(e) => admin_error(StatusCode::BAD_REQUEST, format!("Invalid fault: {e}")),
            }
        }
        _ => admin_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}
