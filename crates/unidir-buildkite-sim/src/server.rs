//! Buildkite on the simulator harness: start/stop of [`Simulator`], and the provider that
//! routes REST (`/v2/...`) and GraphQL (`/v1`) under one lock.
//!
//! The server itself (binding, shutdown, latency, faults, counters and the `/__sim/` admin
//! endpoints) is [`unidir_sim_harness::server`]'s. All Buildkite state lives behind one
//! `std::sync::Mutex`; handlers never await while holding it.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::http::header::HeaderValue;
use axum::http::request::Parts;
use axum::http::{Response, StatusCode};
use serde_json::{Value, json};
use unidir_sim_harness::faults::Fault;
use unidir_sim_harness::server::{
    self as harness, Context, Provider, RunningServer, ServeOptions, StartError, add_headers,
    json_response,
};
use url::Url;

use crate::auth::{self, Caller};
use crate::complexity::{Accounting, CostRule};
use crate::config::SimConfig;
use crate::data;
use crate::error::{ApiError, SimError};
use crate::graphql;
use crate::ratelimit::{self, LimitScope, Limits, Usage};
use crate::rest::{self, RestRequest};
use crate::schema::GqlSchema;
use crate::snapshot::SimSnapshot;
use crate::state::State;

/// Indices into [`Buildkite::APIS`].
const REST: usize = 0;
const GRAPHQL: usize = 1;

/// Starts simulators. See the crate documentation for an example.
#[derive(Debug, Clone, Copy)]
pub struct Simulator;

impl Simulator {
    /// Builds the organization and serves it on `127.0.0.1` at a free port, on the current
    /// tokio runtime.
    pub async fn start(config: SimConfig) -> Result<RunningSimulator, SimError> {
        Self::start_on(config, harness::loopback()).await
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
        let provider = Buildkite {
            inner: Mutex::new(Inner {
                limits: Limits::new(&config),
                state,
            }),
            max_query_complexity: config.max_query_complexity.map(u64::from),
            cost_rule: config.cost_rule,
            accounting: config.accounting,
            schema,
        };
        let options = ServeOptions::default().with_latency(config.latency);
        let server =
            harness::start(provider, addr, options)
                .await
                .map_err(|error| match error {
                    StartError::Bind { addr, source } => SimError::Bind { addr, source },
                    other => SimError::InvalidConfig(other.to_string()),
                })?;
        Ok(RunningSimulator {
            server,
            org_slug: config.org_slug,
            default_token: config
                .tokens
                .first()
                .map(|t| t.token.clone())
                .unwrap_or_default(),
        })
    }
}

/// A simulator serving in the background; stops on [`RunningSimulator::shutdown`] or drop.
pub struct RunningSimulator {
    server: RunningServer<Buildkite>,
    org_slug: String,
    default_token: String,
}

impl std::fmt::Debug for RunningSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSimulator")
            .field("base_url", &self.server.base_url().as_str())
            .field("org_slug", &self.org_slug)
            .finish_non_exhaustive()
    }
}

impl RunningSimulator {
    /// REST root, e.g. `http://127.0.0.1:PORT/` (paths start with `/v2/`).
    pub fn base_url(&self) -> Url {
        self.server.base_url()
    }

    /// GraphQL endpoint, `http://127.0.0.1:PORT/v1`.
    pub fn graphql_url(&self) -> Url {
        let mut url = self.server.base_url();
        url.set_path("/v1");
        url
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
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
        self.server.inject(fault);
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        self.server.clear_faults();
    }

    /// Faults still waiting, with their remaining `times`.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.server.pending_faults()
    }

    /// A copy of the current organization.
    pub fn snapshot(&self) -> SimSnapshot {
        self.server.provider().lock().state.snapshot()
    }

    /// API requests received so far (REST and GraphQL, including faulted and refused ones;
    /// `/__sim/` admin calls are not counted).
    pub fn request_count(&self) -> u64 {
        self.server.request_count()
    }

    /// What was served so far, per API (read-only; for benchmarks and tests that count cost).
    pub fn stats(&self) -> SimStats {
        let stats = self.server.stats();
        let (rest, graphql) = (stats.api("rest"), stats.api("graphql"));
        SimStats {
            rest_requests: rest.requests,
            graphql_requests: graphql.requests,
            graphql_points: graphql.points,
            rest_rate_limited: rest.rate_limited,
            graphql_rate_limited: graphql.rate_limited,
            response_bytes: stats.response_bytes,
        }
    }

    /// Stops accepting connections and waits (up to 5 s) for the server task to end.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
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
    /// GraphQL complexity points charged, as the budgets count them (actual complexity, or
    /// requested with [`Accounting::ChargeRequested`]).
    pub graphql_points: u64,
    /// REST answers with status 429 (budget exceeded or injected).
    pub rest_rate_limited: u64,
    /// GraphQL answers with status 429.
    pub graphql_rate_limited: u64,
    /// Bytes of API response bodies sent (REST and GraphQL, before any compression).
    pub response_bytes: u64,
}

/// Buildkite's side of the harness: the organization, its budgets and the GraphQL schema.
#[derive(Debug)]
struct Buildkite {
    inner: Mutex<Inner>,
    /// Per-query requested-complexity cap.
    max_query_complexity: Option<u64>,
    /// How complexity is counted.
    cost_rule: CostRule,
    /// When points are charged.
    accounting: Accounting,
    /// What GraphQL documents are validated against (possibly an older schema).
    schema: GqlSchema,
}

#[derive(Debug)]
struct Inner {
    state: State,
    limits: Limits,
}

impl Buildkite {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the data half-written in a way that
        // matters for a test double; keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Provider for Buildkite {
    const NAME: &'static str = "buildkite";
    const APIS: &'static [&'static str] = &["rest", "graphql"];

    /// GraphQL is `/v1`; everything else (REST under `/v2`, unknown paths) counts as REST.
    fn api(&self, path: &str) -> usize {
        if path == "/v1" || path.starts_with("/v1/") {
            GRAPHQL
        } else {
            REST
        }
    }

    fn route(&self, ctx: &Context<'_>, parts: &Parts, body: &Bytes) -> Response<Body> {
        route(self, ctx, parts, body)
    }

    fn rate_limited(&self, parts: &Parts, reset_secs: u64, scope: LimitScope) -> Response<Body> {
        rate_limited_fault(self, parts, reset_secs, scope)
    }

    fn error(&self, status: StatusCode, message: &str) -> Response<Body> {
        rest_error(&ApiError::new(status, message))
    }

    fn error_page(&self, status: StatusCode) -> String {
        error_page(
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error"),
        )
    }

    fn state(&self) -> Result<Value, String> {
        serde_json::to_value(self.lock().state.snapshot()).map_err(|e| e.to_string())
    }
}

// ---- responses -------------------------------------------------------------------------------

fn rest_error(error: &ApiError) -> Response<Body> {
    json_response(error.status, &json!({ "message": error.message }))
}

fn graphql_error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, &json!({ "errors": [{ "message": message }] }))
}

// ---- routes ----------------------------------------------------------------------------------

fn route(bk: &Buildkite, ctx: &Context<'_>, parts: &Parts, body: &Bytes) -> Response<Body> {
    let path = parts.uri.path();
    match path {
        "/v1" | "/v1/" if parts.method == "POST" => graphql_route(bk, ctx, parts, body),
        "/v1" | "/v1/" => graphql_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Use POST for GraphQL requests",
        ),
        "/" => json_response(
            StatusCode::OK,
            &json!({ "message": "🛠", "timestamp": chrono::Utc::now().timestamp() }),
        ),
        _ if path == "/v2" || path.starts_with("/v2/") => rest_route(bk, ctx, parts, body),
        _ => rest_error(&ApiError::not_found("Not Found")),
    }
}

fn rest_route(bk: &Buildkite, ctx: &Context<'_>, parts: &Parts, body: &Bytes) -> Response<Body> {
    let mut guard = bk.lock();
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
        match rest::handle(&mut inner.state, caller, &req, ctx.origin()) {
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
        &[
            ("Access-Control-Allow-Origin", "*".to_owned()),
            ("Access-Control-Expose-Headers", "Link".to_owned()),
        ],
    );
    resp
}

fn graphql_route(bk: &Buildkite, ctx: &Context<'_>, parts: &Parts, body: &Bytes) -> Response<Body> {
    let mut guard = bk.lock();
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
    let document = match bk.schema.validate(request.query.as_deref()) {
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
        bk.max_query_complexity,
        bk.cost_rule,
    );
    // Buildkite charges the actual complexity against both budgets; a stricter server charges
    // what a query that runs requested, before it runs, and refuses one that asks for more
    // than is left.
    let charge = match bk.accounting {
        Accounting::ChargeActual => outcome.actual,
        Accounting::ChargeRequested if outcome.actual == 0 => 0,
        Accounting::ChargeRequested => {
            let short = [(LimitScope::Org, &org), (LimitScope::User, &user)]
                .into_iter()
                .find(|(_, usage)| usage.remaining() < outcome.requested);
            if let Some((scope, usage)) = short {
                let message = ratelimit::graphql_limit_message(scope, usage);
                let mut resp = graphql_error(StatusCode::TOO_MANY_REQUESTS, &message);
                add_headers(&mut resp, &ratelimit::graphql_headers(&org, &user, None));
                return resp;
            }
            outcome.requested
        }
    };
    let (org, user) = inner.limits.graphql_charge(caller.user, charge, now);
    ctx.charge(GRAPHQL, charge);
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

/// A 429 shaped like the real one for the request's API (REST or GraphQL).
fn rate_limited_fault(
    bk: &Buildkite,
    parts: &Parts,
    reset_secs: u64,
    scope: LimitScope,
) -> Response<Body> {
    let mut guard = bk.lock();
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

/// Buildkite's HTML error pages: Rails' own for a 500, a proxy's for the rest.
fn error_page(status: u16, reason: &str) -> String {
    if status == 500 {
        "<!DOCTYPE html>\n<html>\n<head><title>We're sorry, but something went wrong (500)</title></head>\n<body>\n<h1>We're sorry, but something went wrong.</h1>\n</body>\n</html>\n".to_owned()
    } else {
        unidir_sim_harness::faults::error_page(status, reason)
    }
}
