//! The hostile upstream harness shared by `hostile.rs` and `hostile_full_read.rs`: a
//! Buildkite stand-in on a raw socket, the place nothing may reach, and the checks every
//! scenario ends with (see `hostile.rs` for what they assert).

// Each test binary uses its own part of the harness.
#![allow(dead_code)]

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use unidir_buildkite::{Buildkite, BuildkiteBuilder, RetryPolicy};
use unidir_core::text::is_unsafe_char;
use unidir_core::{Error, ErrorKind, WalkLimits};
use unidir_http::testing::hostile::{HostileServer, Reply, Request};
use unidir_http::testing::{LogCapture, Outputs, RecordingObserver, RecordingSleeper};

/// The token every scenario uses; it must never show up anywhere.
pub(crate) const CANARY: &str = "bkua_CANARY_hostile_7f3e9a1c5b2d4e6f8a0b1c2d3e4f5a6b";
pub(crate) const ORG: &str = "acme-inc";
/// Upper bound of any one scenario (the slowest, the hangs, take about 2 s).
pub(crate) const BOUND: Duration = Duration::from_secs(20);
/// Walk bound used by every scenario.
pub(crate) const MAX_PAGES: u64 = 20;
/// Retries after the first attempt.
pub(crate) const RETRIES: u32 = 2;

pub(crate) const ORGANIZATION: &str = "/v2/organizations/acme-inc";
pub(crate) const TEAMS: &str = "/v2/organizations/acme-inc/teams";
pub(crate) const MEMBERS: &str = "/v2/organizations/acme-inc/members";
pub(crate) const ACCESS_TOKEN: &str = "/v2/access-token";
pub(crate) const GRAPHQL: &str = "/v1";

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

/// Short limits so every failure mode ends fast: 2 retries with millisecond backoff, a 2 s
/// deadline per call.
pub(crate) fn policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: RETRIES,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        total_budget: Duration::from_secs(1),
        max_rate_limit_wait: Duration::from_secs(65),
        operation_deadline: Duration::from_secs(2),
        jitter_seed: Some(7),
    }
}

/// One scenario: the hostile server, the place nothing may reach, and what was observed.
pub(crate) struct Scenario {
    pub(crate) server: HostileServer,
    pub(crate) elsewhere: HostileServer,
    pub(crate) sleeper: RecordingSleeper,
    pub(crate) observer: RecordingObserver,
    pub(crate) logs: LogCapture,
    pub(crate) outputs: Outputs,
}

impl Scenario {
    pub(crate) async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_with(|_| handler).await
    }

    /// `make` gets the elsewhere listener's port (for links and redirects pointing there).
    pub(crate) async fn start_with<H>(make: impl FnOnce(u16) -> H) -> Self
    where
        H: Fn(&Request) -> Reply + Send + Sync + 'static,
    {
        let logs = LogCapture::start();
        let elsewhere = HostileServer::elsewhere().await;
        let server = HostileServer::start(make(elsewhere.port())).await;
        Self {
            server,
            elsewhere,
            sleeper: RecordingSleeper::default(),
            observer: RecordingObserver::default(),
            logs,
            outputs: Outputs::default(),
        }
    }

    /// A client like the adapter's own, except that `evil.test` resolves to the elsewhere
    /// listener: following a hostile name would show up there, not off the machine.
    pub(crate) fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .connect_timeout(Duration::from_millis(500))
            .resolve("evil.test", self.elsewhere.addr())
            .build()
            .expect("client")
    }

    pub(crate) fn builder(&self) -> BuildkiteBuilder {
        Buildkite::builder()
            .with_token(CANARY)
            .with_organization(ORG)
            .with_rest_url(self.server.url())
            .with_graphql_url(format!("{}{GRAPHQL}", self.server.url()))
            .with_reqwest_client(self.client())
            .with_timeout(Duration::from_millis(500))
            .with_connect_timeout(Duration::from_millis(500))
            .with_retry_policy(policy())
            .with_sleeper(Arc::new(self.sleeper.clone()))
            .with_observer(Arc::new(self.observer.clone()))
            .with_nested_page_size(2)
            .with_walk_limits(WalkLimits::default().with_max_pages(MAX_PAGES))
    }

    pub(crate) fn directory(&self) -> Buildkite {
        self.builder().build().expect("directory")
    }

    /// Keeps everything a caller could print of `result`.
    pub(crate) fn see<T: Debug>(&mut self, result: &Result<T, Error>) {
        self.outputs.result(result);
    }

    /// `result` must be an error of `kind`, with a bounded, escaped message.
    pub(crate) fn fails<T: Debug>(&mut self, result: Result<T, Error>, kind: ErrorKind) -> Error {
        self.see(&result);
        let error = match result {
            Ok(value) => panic!("expected a {kind:?} error, got {value:?}"),
            Err(error) => error,
        };
        assert_eq!(error.kind(), kind, "{error}");
        let message = error.message();
        assert!(
            message.chars().count() < 700,
            "message not bounded: {} chars",
            message.chars().count()
        );
        assert!(
            !message.chars().any(is_unsafe_char),
            "raw control or bidi character in {message:?}"
        );
        error
    }

    /// `result` must be `Ok`.
    pub(crate) fn succeeds<T: Debug>(&mut self, result: Result<T, Error>) -> T {
        self.see(&result);
        result.unwrap_or_else(|e| panic!("expected success, got {e}"))
    }

    /// The checks every scenario ends with.
    pub(crate) fn finish(self) {
        assert_eq!(
            self.elsewhere.connections(),
            0,
            "a connection reached a host other than the configured origin"
        );
        let host = self.server.host();
        for request in self.server.requests() {
            assert_eq!(request.host(), Some(host.as_str()), "{request:?}");
            assert_eq!(
                request.header("authorization"),
                Some(format!("Bearer {CANARY}").as_str()),
                "{} {}",
                request.method,
                request.target
            );
        }
        self.assert_no_canary();
    }

    pub(crate) fn assert_no_canary(&self) {
        assert!(
            !self.outputs.is_empty(),
            "the scenario recorded no output to check"
        );
        self.outputs.assert_free_of(CANARY);
        self.logs.assert_free_of(CANARY);
    }
}

/// Runs `future` within [`BOUND`].
pub(crate) async fn bounded<F: Future>(future: F) -> F::Output {
    let started = Instant::now();
    let output = tokio::time::timeout(BOUND, future)
        .await
        .expect("the scenario must finish within its bound");
    assert!(started.elapsed() < BOUND);
    output
}

// ---------------------------------------------------------------------------------------
// Buildkite-shaped answers
// ---------------------------------------------------------------------------------------

pub(crate) fn uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

pub(crate) fn team(n: u64) -> Value {
    json!({
        "id": uuid(n), "name": format!("Team {n}"), "slug": format!("team-{n}"),
        "description": null, "privacy": "visible", "default": false,
        "default_member_role": "member", "created_at": "2024-11-07T13:22:40.051Z",
    })
}

/// The organization (`GET /v2/organizations/acme-inc`): its id fills `organization_id`.
pub(crate) fn organization() -> Reply {
    Reply::json(
        200,
        &json!({
            "id": uuid(777), "name": "Acme Inc", "slug": ORG,
            "web_url": "https://buildkite.com/acme-inc", "created_at": "2021-06-01T09:12:44.120Z",
        }),
    )
}

pub(crate) fn member(n: u64) -> Value {
    json!({
        "id": uuid(n), "name": format!("User {n}"), "email": format!("u{n}@acme.example"),
        "role": "member", "sso_mode": "optional",
    })
}

pub(crate) fn team_member(n: u64) -> Value {
    json!({
        "role": "member", "created_at": "2024-05-03T11:00:02.001Z",
        "user_id": uuid(n), "user_name": format!("User {n}"),
    })
}

pub(crate) fn access_token(scopes: &[&str]) -> Reply {
    Reply::json(
        200,
        &json!({
            "uuid": uuid(999), "scopes": scopes, "description": "hostile",
            "created_at": "2026-08-01 10:15:00 UTC", "expires_at": null,
        }),
    )
}

pub(crate) const ALL_SCOPES: &[&str] = &[
    "read_user",
    "read_organizations",
    "read_teams",
    "write_teams",
    "graphql",
];
pub(crate) const REST_SCOPES: &[&str] = &["read_user", "read_organizations", "read_teams"];

/// A REST list page, with a `Link` to page `next` as Buildkite writes it.
pub(crate) fn page(items: Vec<Value>, request: &Request, next: Option<u64>) -> Reply {
    let reply = Reply::json(200, &Value::Array(items));
    match next {
        Some(n) => reply.header(
            "Link",
            &format!(
                "<https://api.buildkite.com{}?page={n}&per_page=100>; rel=\"next\"",
                request.path()
            ),
        ),
        None => reply,
    }
}

pub(crate) fn unmatched(request: &Request) -> Reply {
    Reply::json(
        599,
        &json!({ "message": format!("UNMATCHED {} {}", request.method, request.path()) }),
    )
}
