//! The HTTP server: start/stop, the request pipeline and the `/__sim/` admin endpoints.
//!
//! Pipeline of an API request: count it → configured latency → take a matching fault →
//! REST (`/v2/...`) or GraphQL (`/v1`) under one lock → optional body truncation. All
//! state lives behind one `std::sync::Mutex`; handlers never await while holding it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

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
use unidir_sim_harness::faults::{Fault, FaultQueue};
use url::Url;

use crate::auth::{self, Caller};
use crate::config::SimConfig;
use crate::data;
use crate::error::{ApiError, SimError};
use crate::graphql;
use crate::ratelimit::{self, Headers, LimitScope, Limits, Usage};
use crate::rest::{self, RestRequest};
use crate::schema::GqlSchema;
use crate::snapshot::SimSnapshot;
use crate::state::State;

/// Largest accepted request body; Buildkite bodies here are tiny.
const MAX_BODY: usize = 1024 * 1024;
const JSON: &str = "application/json; charset=utf-8";

/// Starts simulators. See the crate documentation for an example.
#[derive(Debug, Clone, Copy)]
pub struct Simulator;

impl Simulator {
    /// Builds the organization and serves it on `127.0.0.1` at a free port, on the current
    /// tokio runtime.
    pub async fn start(config: SimConfig) -> Result<RunningSimulator, SimError> {
        Self::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Like [`Simulator::start`] on a chosen address (port 0 picks a free port). Absolute
    /// URLs use loopback when bound to an unspecified address such as `0.0.0.0`.
    pub async fn start_on(
        config: SimConfig,
        addr: SocketAddr,
    ) -> Result<RunningSimulator, SimError> {
        if config.time_scale == 0 {
            return Err(SimError::InvalidConfig(
                "time_scale must be at least 1".to_owned(),
            ));
        }
        let state = data::build(&config)?;
        let schema = GqlSchema::load(&config.schema_without)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let host = match local.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let origin = format!("http://{}", SocketAddr::new(host, local.port()));
        let base_url = Url::parse(&origin)
            .map_err(|e| SimError::InvalidConfig(format!("base URL {origin}: {e}")))?;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                limits: Limits::new(&config),
                state,
                faults: FaultQueue::default(),
            }),
            origin,
            latency: config.latency,
            max_query_complexity: config.max_query_complexity.map(u64::from),
            schema,
            requests: AtomicU64::new(0),
            counters: Counters::default(),
        });
        let app = Router::new()
            .fallback(entry)
            .with_state(Arc::clone(&shared));
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                // A dropped sender also means "stop".
                let _ = stop_rx.await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "buildkite simulator stopped with an error");
            }
        });
        tracing::debug!(%local, "buildkite simulator listening");
        Ok(RunningSimulator {
            shared,
            addr: local,
            base_url,
            org_slug: config.org_slug,
            default_token: config
                .tokens
                .first()
                .map(|t| t.token.clone())
                .unwrap_or_default(),
            stop: Some(stop_tx),
            task: Some(task),
        })
    }
}

/// A simulator serving in the background; stops on [`RunningSimulator::shutdown`] or drop.
pub struct RunningSimulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: Url,
    org_slug: String,
    default_token: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSimulator")
            .field("base_url", &self.base_url.as_str())
            .field("org_slug", &self.org_slug)
            .finish_non_exhaustive()
    }
}

impl RunningSimulator {
    /// REST root, e.g. `http://127.0.0.1:PORT/` (paths start with `/v2/`).
    pub fn base_url(&self) -> Url {
        self.base_url.clone()
    }

    /// GraphQL endpoint, `http://127.0.0.1:PORT/v1`.
    pub fn graphql_url(&self) -> Url {
        let mut url = self.base_url.clone();
        url.set_path("/v1");
        url
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The organization slug.
    pub fn org_slug(&self) -> &str {
        &self.org_slug
    }

    /// The first configured token ([`SimConfig::DEFAULT_TOKEN`] by default).
    pub fn default_token(&self) -> &str {
        &self.default_token
    }

    /// Queues a fault (see [`Fault`] for the matching rules).
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Faults still waiting, with their remaining `times`.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.shared.lock().faults.pending()
    }

    /// A copy of the current organization.
    pub fn snapshot(&self) -> SimSnapshot {
        self.shared.lock().state.snapshot()
    }

    /// API requests received so far (REST and GraphQL, including faulted and refused ones;
    /// `/__sim/` admin calls are not counted).
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// What was served so far, per API (read-only; for benchmarks and tests that count cost).
    pub fn stats(&self) -> SimStats {
        let c = &self.shared.counters;
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        SimStats {
            rest_requests: get(&c.rest_requests),
            graphql_requests: get(&c.graphql_requests),
            graphql_points: get(&c.graphql_points),
            rest_rate_limited: get(&c.rest_rate_limited),
            graphql_rate_limited: get(&c.graphql_rate_limited),
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

impl Drop for RunningSimulator {
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

#[derive(Debug)]
struct Shared {
    inner: Mutex<Inner>,
    /// `http://host:port`, no trailing slash; the prefix of every absolute URL we emit.
    origin: String,
    latency: Option<Duration>,
    /// Per-query requested-complexity cap.
    max_query_complexity: Option<u64>,
    /// What GraphQL documents are validated against (possibly an older schema).
    schema: GqlSchema,
    requests: AtomicU64,
    counters: Counters,
}

/// Counters behind [`SimStats`].
#[derive(Debug, Default)]
struct Counters {
    rest_requests: AtomicU64,
    graphql_requests: AtomicU64,
    graphql_points: AtomicU64,
    rest_rate_limited: AtomicU64,
    graphql_rate_limited: AtomicU64,
    response_bytes: AtomicU64,
}

/// Cumulative counts of the API traffic a simulator served ([`RunningSimulator::stats`]);
/// subtract two readings to measure one piece of work. `/__sim/` admin calls are not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimStats {
    /// Requests other than GraphQL (REST under `/v2`, and unknown paths), refused and
    /// faulted ones included.
    pub rest_requests: u64,
    /// Requests to `/v1` (GraphQL), refused and faulted ones included.
    pub graphql_requests: u64,
    /// GraphQL complexity points charged (actual complexity, as the budgets count it).
    pub graphql_points: u64,
    /// REST answers with status 429 (budget exceeded or injected).
    pub rest_rate_limited: u64,
    /// GraphQL answers with status 429.
    pub graphql_rate_limited: u64,
    /// Bytes of API response bodies sent (REST and GraphQL, before any compression).
    pub response_bytes: u64,
}

#[derive(Debug)]
struct Inner {
    state: State,
    limits: Limits,
    faults: FaultQueue,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the data half-written in a way that
        // matters for a test double; keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// ---- responses -------------------------------------------------------------------------------

fn respond(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response<Body> {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        resp.headers_mut().insert(CONTENT_TYPE, value);
    }
    resp
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    respond(status, JSON, body.to_string())
}

fn rest_error(error: &ApiError) -> Response<Body> {
    json_response(error.status, &json!({ "message": error.message }))
}

fn graphql_error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, &json!({ "errors": [{ "message": message }] }))
}

fn add_headers(resp: &mut Response<Body>, headers: &Headers) {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
}

// ---- pipeline --------------------------------------------------------------------------------

async fn entry(AxumState(shared): AxumState<Arc<Shared>>, req: Request) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return rest_error(&ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body is too large",
            ));
        }
    };
    let path = parts.uri.path();
    if path == "/__sim" || path.starts_with("/__sim/") {
        return admin(&shared, &parts, &body);
    }
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let graphql = path == "/v1" || path.starts_with("/v1/");
    let counters = &shared.counters;
    let (kind, limited) = if graphql {
        (&counters.graphql_requests, &counters.graphql_rate_limited)
    } else {
        (&counters.rest_requests, &counters.rest_rate_limited)
    };
    kind.fetch_add(1, Ordering::Relaxed);
    let resp = serve(&shared, &parts, &body).await;
    if resp.status() == StatusCode::TOO_MANY_REQUESTS {
        limited.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(bytes) = axum::body::HttpBody::size_hint(resp.body()).exact() {
        counters.response_bytes.fetch_add(bytes, Ordering::Relaxed);
    }
    resp
}

/// Latency, faults and routing of one counted API request.
async fn serve(shared: &Shared, parts: &Parts, body: &Bytes) -> Response<Body> {
    let path = parts.uri.path();
    if let Some(latency) = shared.latency {
        tokio::time::sleep(latency).await;
    }
    let fault = shared.lock().faults.take(path);
    let mut truncate = false;
    match fault {
        None => {}
        Some(Fault::Slow { delay, .. }) => tokio::time::sleep(delay).await,
        Some(Fault::TruncatedBody { .. }) => truncate = true,
        Some(Fault::ServerError { status, .. }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let page = error_page(
                status.as_u16(),
                status.canonical_reason().unwrap_or("Error"),
            );
            return respond(status, "text/html", page);
        }
        Some(Fault::RateLimited {
            reset_secs, scope, ..
        }) => return rate_limited_fault(shared, parts, reset_secs, scope),
    }
    let resp = route(shared, parts, body);
    if truncate {
        truncate_body(resp).await
    } else {
        resp
    }
}

fn route(shared: &Shared, parts: &Parts, body: &Bytes) -> Response<Body> {
    let path = parts.uri.path();
    match path {
        "/v1" | "/v1/" if parts.method == "POST" => graphql_route(shared, parts, body),
        "/v1" | "/v1/" => graphql_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Use POST for GraphQL requests",
        ),
        "/" => json_response(
            StatusCode::OK,
            &json!({ "message": "🛠", "timestamp": chrono::Utc::now().timestamp() }),
        ),
        _ if path == "/v2" || path.starts_with("/v2/") => rest_route(shared, parts, body),
        _ => rest_error(&ApiError::not_found("Not Found")),
    }
}

fn rest_route(shared: &Shared, parts: &Parts, body: &Bytes) -> Response<Body> {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    // 401s carry no rate-limit headers: without a token there is no user to count.
    let Some(caller) = auth::authenticate(&inner.state, &parts.headers) else {
        return rest_error(&ApiError::new(
            StatusCode::UNAUTHORIZED,
            auth::REST_UNAUTHENTICATED,
        ));
    };
    let (org, user) = inner.limits.rest_hit(caller.user, Instant::now());
    let headers = ratelimit::rest_headers(&org, &user);
    let mut resp = if let Some(body) = ratelimit::rest_exceeded(&org, &user) {
        json_response(StatusCode::TOO_MANY_REQUESTS, &body)
    } else {
        let req = RestRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            body,
        };
        match rest::handle(&mut inner.state, caller, &req, &shared.origin) {
            Ok(reply) => {
                let mut resp = match &reply.body {
                    Some(body) => json_response(reply.status, body),
                    None => {
                        let mut r = Response::new(Body::empty());
                        *r.status_mut() = reply.status;
                        r
                    }
                };
                if let Some(link) = reply.link.and_then(|l| HeaderValue::from_str(&l).ok()) {
                    resp.headers_mut().insert("link", link);
                }
                resp
            }
            Err(error) => rest_error(&error),
        }
    };
    add_headers(&mut resp, &headers);
    add_headers(
        &mut resp,
        &vec![
            ("Access-Control-Allow-Origin", "*".to_owned()),
            ("Access-Control-Expose-Headers", "Link".to_owned()),
        ],
    );
    resp
}

fn graphql_route(shared: &Shared, parts: &Parts, body: &Bytes) -> Response<Body> {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let Some(caller) = auth::authenticate(&inner.state, &parts.headers) else {
        return graphql_error(StatusCode::UNAUTHORIZED, auth::GRAPHQL_UNAUTHENTICATED);
    };
    if !auth::has_scope(&inner.state, caller, "graphql") {
        return graphql_error(StatusCode::FORBIDDEN, &auth::missing_scope("graphql"));
    }
    let now = Instant::now();
    let (org, user) = inner.limits.graphql_peek(Some(caller.user), now);
    if let Some(message) = ratelimit::graphql_exhausted(&org, &user) {
        let mut resp = graphql_error(StatusCode::TOO_MANY_REQUESTS, &message);
        add_headers(&mut resp, &ratelimit::graphql_headers(&org, &user, None));
        return resp;
    }
    let request = match graphql::parse_request(body) {
        Ok(request) => request,
        Err(message) => {
            let mut resp = graphql_error(StatusCode::BAD_REQUEST, &message);
            add_headers(
                &mut resp,
                &ratelimit::graphql_headers(&org, &user, Some((0, 0))),
            );
            return resp;
        }
    };
    // Like Buildkite: an invalid document is answered 200 with `errors` only, and costs nothing.
    let document = match shared.schema.validate(request.query.as_deref()) {
        Ok(document) => document,
        Err(errors) => {
            let mut resp = json_response(StatusCode::OK, &json!({ "errors": errors }));
            add_headers(
                &mut resp,
                &ratelimit::graphql_headers(&org, &user, Some((0, 0))),
            );
            return resp;
        }
    };
    let mut outcome = graphql::execute(
        &inner.state,
        caller,
        &request,
        &document,
        shared.max_query_complexity,
    );
    // Buildkite charges the actual complexity against both budgets.
    let (org, user) = inner
        .limits
        .graphql_charge(caller.user, outcome.actual, now);
    shared
        .counters
        .graphql_points
        .fetch_add(outcome.actual, Ordering::Relaxed);
    if wants_query_stats(parts)
        && let Some(body) = outcome.body.as_object_mut()
    {
        body.insert(
            "stats".to_owned(),
            json!({
                "requestedComplexity": outcome.requested,
                "actualComplexity": outcome.actual,
            }),
        );
    }
    let mut resp = json_response(StatusCode::OK, &outcome.body);
    add_headers(
        &mut resp,
        &ratelimit::graphql_headers(&org, &user, Some((outcome.requested, outcome.actual))),
    );
    resp
}

/// `Buildkite-Include-Query-Stats: true` asks for `stats` in the answer body.
fn wants_query_stats(parts: &Parts) -> bool {
    parts
        .headers
        .get("buildkite-include-query-stats")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// Buildkite's HTML error pages: Rails' own for a 500, a proxy's for the rest.
fn error_page(status: u16, reason: &str) -> String {
    if status == 500 {
        "<!DOCTYPE html>\n<html>\n<head><title>We're sorry, but something went wrong (500)</title></head>\n<body>\n<h1>We're sorry, but something went wrong.</h1>\n</body>\n</html>\n".to_owned()
    } else {
        unidir_sim_harness::faults::error_page(status, reason)
    }
}

/// A 429 shaped like the real one for the request's API (REST or GraphQL).
fn rate_limited_fault(
    shared: &Shared,
    parts: &Parts,
    reset_secs: u64,
    scope: LimitScope,
) -> Response<Body> {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let user = auth::authenticate(&inner.state, &parts.headers).map(|c: Caller| c.user);
    let now = Instant::now();
    let graphql = parts.uri.path().starts_with("/v1");
    let (mut org, mut usr) = if graphql {
        inner.limits.graphql_peek(user, now)
    } else {
        inner.limits.rest_peek(user, now)
    };
    let tripped = match scope {
        LimitScope::Org => {
            org = Usage::tripped(org.limit, reset_secs);
            org
        }
        LimitScope::User => {
            usr = Usage::tripped(usr.limit, reset_secs);
            usr
        }
    };
    if graphql {
        let message = ratelimit::graphql_limit_message(scope, &tripped);
        let mut resp = graphql_error(StatusCode::TOO_MANY_REQUESTS, &message);
        add_headers(&mut resp, &ratelimit::graphql_headers(&org, &usr, None));
        resp
    } else {
        let body = ratelimit::rest_exceeded(&org, &usr).unwrap_or(Value::Null);
        let mut resp = json_response(StatusCode::TOO_MANY_REQUESTS, &body);
        add_headers(&mut resp, &ratelimit::rest_headers(&org, &usr));
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

/// `GET /__sim/state`, `GET|POST|DELETE /__sim/faults`, `GET /__sim/stats`. No auth: the
/// simulator only listens on loopback by default.
fn admin(shared: &Shared, parts: &Parts, body: &Bytes) -> Response<Body> {
    let path = parts.uri.path().trim_end_matches('/');
    match (parts.method.as_str(), path) {
        ("GET", "/__sim/state") => match serde_json::to_value(shared.lock().state.snapshot()) {
            Ok(v) => json_response(StatusCode::OK, &v),
            Err(e) => rest_error(&ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                e.to_string(),
            )),
        },
        ("GET", "/__sim/stats") => json_response(
            StatusCode::OK,
            &json!({ "requests": shared.requests.load(Ordering::Relaxed) }),
        ),
        ("GET", "/__sim/faults") => {
            let pending = shared.lock().faults.pending();
            match serde_json::to_value(pending) {
                Ok(v) => json_response(StatusCode::OK, &v),
                Err(e) => rest_error(&ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    e.to_string(),
                )),
            }
        }
        ("DELETE", "/__sim/faults") => {
            shared.lock().faults.clear();
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
                    let mut inner = shared.lock();
                    let queued = faults.len();
                    for fault in faults {
                        inner.faults.push(fault);
                    }
                    json_response(
                        StatusCode::CREATED,
                        &json!({ "queued": queued, "pending": inner.faults.pending().len() }),
                    )
                }
                Err(e) => rest_error(&ApiError::bad_request(format!("Invalid fault: {e}"))),
            }
        }
        _ => rest_error(&ApiError::not_found("Not Found")),
    }
}
