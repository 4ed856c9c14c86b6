//! The harness under a provider that knows nothing of Buildkite: routing, per-API counters,
//! budgets, faults answered in the provider's shapes, the admin endpoints and shutdown.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{Response, StatusCode};
use serde_json::{Value, json};
use unidir_sim_harness::server::{self, add_headers, json_response};
use unidir_sim_harness::{
    Budget, Context, Fault, LimitScope, Provider, RunningServer, ServeOptions, Usage,
};

/// Two APIs: `/items` (REST-like, one request per unit) and `/search` (3 points a query),
/// with `x-ratelimit-*` headers as another provider would send them.
#[derive(Debug)]
struct Toy {
    budget: Mutex<Budget>,
}

const SEARCH: usize = 1;

fn toy_headers(usage: &Usage) -> Vec<(&'static str, String)> {
    vec![
        ("x-ratelimit-limit", usage.limit.to_string()),
        ("x-ratelimit-remaining", usage.remaining().to_string()),
        ("x-ratelimit-reset", usage.reset_secs.to_string()),
    ]
}

impl Provider for Toy {
    const NAME: &'static str = "toy";
    const APIS: &'static [&'static str] = &["items", "search"];

    fn api(&self, path: &str) -> usize {
        usize::from(path.starts_with("/search"))
    }

    fn route(&self, ctx: &Context<'_>, parts: &Parts, _body: &Bytes) -> Response<Body> {
        match parts.uri.path() {
            "/items" => {
                let (_, user) = self
                    .budget
                    .lock()
                    .expect("not poisoned")
                    .add(0, 1, Instant::now());
                let mut resp = if user.exceeded() {
                    json_response(
                        StatusCode::TOO_MANY_REQUESTS,
                        &json!({ "message": "slow down" }),
                    )
                } else {
                    json_response(
                        StatusCode::OK,
                        &json!({ "items": [1, 2], "next": format!("{}/items?page=2", ctx.origin()) }),
                    )
                };
                add_headers(&mut resp, &toy_headers(&user));
                resp
            }
            "/search" => {
                ctx.charge(SEARCH, 3);
                json_response(StatusCode::OK, &json!({ "hits": [] }))
            }
            _ => self.error(StatusCode::NOT_FOUND, "no such thing"),
        }
    }

    fn rate_limited(&self, _parts: &Parts, reset_secs: u64, scope: LimitScope) -> Response<Body> {
        let mut resp = json_response(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({ "message": "injected", "scope": scope }),
        );
        add_headers(&mut resp, &toy_headers(&Usage::tripped(5, reset_secs)));
        resp
    }

    fn error(&self, status: StatusCode, message: &str) -> Response<Body> {
        json_response(status, &json!({ "error": message }))
    }

    fn state(&self) -> Result<Value, String> {
        Ok(json!({ "toy": true }))
    }
}

async fn start_toy() -> RunningServer<Toy> {
    let toy = Toy {
        // One request per user per window: the second `/items` is refused.
        budget: Mutex::new(Budget::new(10, 1, Duration::from_secs(60))),
    };
    server::start(toy, server::loopback(), ServeOptions::default())
        .await
        .expect("starts on loopback")
}

struct Answer {
    status: u16,
    content_type: Option<String>,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

async fn call(
    server: &RunningServer<Toy>,
    method: reqwest::Method,
    path: &str,
    body: Option<Vec<u8>>,
) -> Answer {
    let url = server.base_url().join(path).expect("valid path");
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(body) = body {
        req = req.body(body);
    }
    let resp = req.send().await.expect("answered");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = resp.text().await.expect("readable");
    Answer {
        status,
        content_type,
        headers,
        text,
    }
}

async fn get(server: &RunningServer<Toy>, path: &str) -> Answer {
    call(server, reqwest::Method::GET, path, None).await
}

#[tokio::test]
async fn routes_budgets_and_counts_per_api() {
    let server = start_toy().await;
    assert!(server.addr().ip().is_loopback());

    let first = get(&server, "/items").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.json()["next"],
        json!(format!("http://{}/items?page=2", server.addr()))
    );
    assert_eq!(first.header("x-ratelimit-remaining"), Some("0"));
    let second = get(&server, "/items").await;
    assert_eq!(second.status, 429, "the budget of one is used up");
    assert_eq!(second.header("x-ratelimit-reset"), Some("60"));
    for _ in 0..2 {
        assert_eq!(get(&server, "/search").await.status, 200);
    }
    let missing = get(&server, "/nowhere").await;
    assert_eq!(
        (missing.status, missing.json()),
        (404, json!({ "error": "no such thing" }))
    );

    // Admin calls are not counted.
    let admin = get(&server, "/__sim/stats").await;
    assert_eq!(admin.json(), json!({ "requests": 5 }));
    let state = get(&server, "/__sim/state").await;
    assert_eq!((state.status, state.json()), (200, json!({ "toy": true })));
    let unknown = get(&server, "/__sim/nothing").await;
    assert_eq!(
        (unknown.status, unknown.json()),
        (404, json!({ "message": "Not Found" }))
    );

    let stats = server.stats();
    assert_eq!(stats.requests, 5);
    assert_eq!(server.request_count(), 5);
    let (items, search) = (stats.api("items"), stats.api("search"));
    assert_eq!(
        (items.requests, items.rate_limited, items.points),
        (3, 1, 0)
    );
    assert_eq!(
        (search.requests, search.rate_limited, search.points),
        (2, 0, 6)
    );
    assert_eq!(stats.api("absent").requests, 0);
    assert!(stats.response_bytes > 0);
    server.shutdown().await;
}

#[tokio::test]
async fn faults_are_answered_in_the_providers_shapes() {
    let server = start_toy().await;
    let queued = call(
        &server,
        reqwest::Method::POST,
        "/__sim/faults",
        Some(
            json!([
                { "kind": "server_error", "status": 503, "path_prefix": "/search" },
                { "kind": "rate_limited", "scope": "org", "reset_secs": 9 }
            ])
            .to_string()
            .into_bytes(),
        ),
    )
    .await;
    assert_eq!(
        (queued.status, queued.json()),
        (201, json!({ "queued": 2, "pending": 2 }))
    );
    assert_eq!(
        get(&server, "/__sim/faults")
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // `/items` skips the `/search` fault and takes the rate limit, shaped by the provider.
    let limited = get(&server, "/items").await;
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.json(),
        json!({ "message": "injected", "scope": "org" })
    );
    assert_eq!(limited.header("x-ratelimit-reset"), Some("9"));
    // The provider did not override the error page: the harness's proxy page.
    let page = get(&server, "/search").await;
    assert_eq!(page.status, 503);
    assert_eq!(page.content_type.as_deref(), Some("text/html"));
    assert!(
        page.text.contains("<h1>503 Service Unavailable</h1>"),
        "{}",
        page.text
    );
    assert!(server.pending_faults().is_empty());

    server.inject(Fault::truncated_body());
    let cut = get(&server, "/search").await;
    assert_eq!(cut.status, 200);
    assert_eq!(
        cut.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(cut.text, r#"{"hit"#, "5 of the 11 bytes of {{\"hits\":[]}}");

    let invalid = call(
        &server,
        reqwest::Method::POST,
        "/__sim/faults",
        Some(br#"{"kind":"explode"}"#.to_vec()),
    )
    .await;
    assert_eq!(invalid.status, 400);
    assert!(
        invalid.json()["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Invalid fault: ")),
        "{}",
        invalid.text
    );

    server.inject(Fault::server_error(500).with_times(3));
    assert_eq!(server.pending_faults().len(), 1);
    let cleared = call(&server, reqwest::Method::DELETE, "/__sim/faults", None).await;
    assert_eq!(cleared.status, 204);
    assert!(server.pending_faults().is_empty());
    assert_eq!(get(&server, "/search").await.status, 200);
    server.shutdown().await;
}

#[tokio::test]
async fn an_oversized_body_gets_the_providers_error() {
    let server = start_toy().await;
    let big = vec![b'x'; 1024 * 1024 + 1];
    let refused = call(&server, reqwest::Method::POST, "/search", Some(big)).await;
    assert_eq!(
        (refused.status, refused.json()),
        (413, json!({ "error": "Request body is too large" }))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_listening() {
    let server = start_toy().await;
    let addr = server.addr();
    assert_eq!(get(&server, "/search").await.status, 200);
    server.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens on {addr} after shutdown"
    );
}
