//! Shared helpers: the canary token, Buildkite-shaped rules, a recording mock responder (the
//! recording sleeper is the kit's, `unidir_http::testing`).

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

use httpmock::{HttpMockRequest, HttpMockResponse, MockServer};
pub use unidir_http::testing::RecordingSleeper;
use unidir_proxy::{IetfDraft, Proxy, ProxyBuilder, ProxyRules, RetryPolicy};

/// The token every test uses; it must never show up in any output, error or log.
pub const CANARY: &str = "bkua_CANARY_proxy_5f0c1e2d3b4a69788796a5b4c3d2e1f0";

/// The organization the test proxies are pinned to.
pub const ORG: &str = "acme-inc";

/// Rules shaped like Buildkite's REST API, which these tests and their fixtures were
/// written against. (The proxy cannot depend on the Buildkite crate, which depends on it;
/// `unidir_buildkite::proxy_rules()` has its own tests of its values.)
pub fn rules() -> ProxyRules {
    ProxyRules::new("buildkite")
        .with_default_rest_url("https://api.buildkite.com")
        .with_default_graphql_url("https://graphql.buildkite.com/v1")
        .with_path_prefix("/v2/")
        .with_organization_roots([
            "/v2/organizations",
            "/v2/packages/organizations",
            "/v2/analytics/organizations",
        ])
        .with_identity_paths(["/v2/user", "/v2/access-token", "/v2/meta"])
        .with_forwarded_headers(["buildkite-include-query-stats"])
        .with_path_words(["v2", "organizations", "pipelines", "builds", "members"])
        .with_rate_limit_scheme(Arc::new(
            IetfDraft::new()
                .with_user_budget("ratelimit-user-")
                .with_scope_header("ratelimit-scope"),
        ))
}

/// A builder aimed at `server`, with the canary token, pinned to [`ORG`], a seeded retry
/// policy and a sleeper that never sleeps.
pub fn builder(server: &MockServer, sleeper: &RecordingSleeper) -> ProxyBuilder {
    Proxy::builder(rules())
        .with_token(CANARY)
        .with_rest_url(server.base_url())
        .with_graphql_url(server.url("/graphql"))
        .with_organization(ORG)
        .with_retry_policy(RetryPolicy {
            jitter_seed: Some(7),
            ..RetryPolicy::default()
        })
        .with_sleeper(Arc::new(sleeper.clone()))
}

/// The default test proxy for `server`.
pub fn proxy(server: &MockServer) -> Proxy {
    builder(server, &RecordingSleeper::default())
        .build()
        .expect("valid test configuration")
}

/// One request as the mock server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    /// Every value of header `name` (case-insensitive).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        !self.all(name).is_empty()
    }
}

/// Records every request it answers.
#[derive(Debug, Default, Clone)]
pub struct Recorder(pub Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    pub fn seen(&self) -> Vec<Seen> {
        self.0.lock().expect("lock").clone()
    }

    /// A responder that records the request and answers `status` with `body`.
    pub fn responder(
        &self,
        status: u16,
        body: &'static str,
    ) -> impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static {
        let log = self.0.clone();
        move |req: &HttpMockRequest| {
            log.lock().expect("lock").push(Seen {
                method: req.method_str().to_owned(),
                uri: req.uri_str().to_owned(),
                headers: req.headers_vec().clone(),
                body: req.body().to_vec(),
            });
            HttpMockResponse::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(body)
                .build()
        }
    }
}

/// Reads `fixtures/buildkite/<scenario>/<file>`.
pub fn fixture(scenario: &str, file: &str) -> serde_json::Value {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/buildkite")
        .join(scenario)
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture JSON")
}
