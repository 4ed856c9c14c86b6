//! The request loop against a real local HTTP server: deadlines, retries, caps, writes.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use httpmock::MockServer;
use unidir_core::ErrorKind;
use unidir_http::testing::RecordingSleeper;
use unidir_http::{
    HttpClient, HttpClientBuilder, HttpOptions, IetfDraft, OriginGuard, RateLimitScheme,
    RateLimitState, RetryPolicy, XRateLimit,
};

fn client(recorder: &RecordingSleeper, timeout: Duration, max_body: usize) -> HttpClient {
    builder(recorder, timeout, max_body)
        .build()
        .expect("client")
}

fn builder(recorder: &RecordingSleeper, timeout: Duration, max_body: usize) -> HttpClientBuilder {
    HttpClientBuilder::new("test")
        .with_timeout(timeout)
        .with_retry_policy(RetryPolicy {
            max_retries: 2,
            jitter_seed: Some(3),
            ..RetryPolicy::default()
        })
        .with_sleeper(Arc::new(recorder.clone()))
        .with_max_body_bytes(max_body)
}

#[tokio::test]
async fn slow_reads_time_out_and_are_retried_within_bounds() {
    let server = MockServer::start_async().await;
    let slow = server
        .mock_async(|when, then| {
            when.path("/slow");
            then.status(200)
                .delay(Duration::from_millis(800))
                .body("late");
        })
        .await;
    let rec = RecordingSleeper::default();
    let http = client(&rec, Duration::from_millis(150), 1024);
    let url = server.url("/slow");
    let err = http
        .execute("read", true, || http.reqwest().get(&url))
        .await
        .expect_err("times out");
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.message().contains("timed out"), "{err}");
    assert!(err.message().contains("3 attempt"), "{err}");
    assert_eq!(slow.calls_async().await, 3, "first try plus two retries");
    assert_eq!(rec.delays().len(), 2);
    assert!(!err.to_string().contains("/slow"), "no URL in the message");
}

#[tokio::test]
async fn writes_that_may_have_happened_are_not_replayed() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.path("/write");
            then.status(503);
        })
        .await;
    let rec = RecordingSleeper::default();
    let http = client(&rec, Duration::from_secs(5), 1024);
    let url = server.url("/write");
    let response = http
        .execute("write", false, || http.reqwest().post(&url))
        .await
        .expect("a response");
    assert_eq!(response.status, 503);
    assert_eq!(
        failing.calls_async().await,
        1,
        "a non-idempotent 5xx is returned, not retried"
    );
}

#[tokio::test]
async fn refused_connections_are_retried_then_reported() {
    // Bind and drop a listener to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let rec = RecordingSleeper::default();
    let http = client(&rec, Duration::from_secs(2), 1024);
    let url = format!("http://127.0.0.1:{port}/x");
    let err = http
        .execute("read", false, || http.reqwest().get(&url))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.message().contains("could not connect"), "{err}");
    assert_eq!(
        rec.delays().len(),
        2,
        "never-sent requests are retried even for writes"
    );
}

#[tokio::test]
async fn oversized_bodies_fail_cleanly() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/big");
            then.status(200).body("x".repeat(10_000));
        })
        .await;
    let rec = RecordingSleeper::default();
    let http = client(&rec, Duration::from_secs(5), 1_000);
    let url = server.url("/big");
    let err = http
        .execute("read", true, || http.reqwest().get(&url))
        .await
        .expect_err("too big");
    assert_eq!(err.kind(), ErrorKind::ContractViolation);
    assert!(err.message().contains("1000-byte limit"), "{err}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start_async().await;
    let other = MockServer::start_async().await;
    let target = other
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let location = other.url("/steal");
    server
        .mock_async(|when, then| {
            when.path("/r");
            then.status(302).header("location", location.as_str());
        })
        .await;
    let rec = RecordingSleeper::default();
    let http = client(&rec, Duration::from_secs(5), 1024);
    let url = server.url("/r");
    let response = http
        .execute("read", true, || {
            http.reqwest().get(&url).bearer_auth("secret")
        })
        .await
        .expect("response");
    assert_eq!(response.status, 302);
    assert_eq!(
        target.calls_async().await,
        0,
        "the other origin never sees a request"
    );
}

#[tokio::test]
async fn exhausted_budget_pauses_later_requests() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/a");
            then.status(200)
                .header("RateLimit-Remaining", "0")
                .header("RateLimit-Reset", "5")
                .header("RateLimit-User-Remaining", "3")
                .header("RateLimit-User-Reset", "9");
        })
        .await;
    let rec = RecordingSleeper::default();
    let http = builder(&rec, Duration::from_secs(5), 1024)
        .with_rate_limit_scheme(Arc::new(
            IetfDraft::new().with_user_budget("RateLimit-User-"),
        ))
        .build()
        .expect("client");
    let url = server.url("/a");
    let first = http
        .execute("read", true, || http.reqwest().get(&url))
        .await
        .expect("ok");
    assert_eq!(first.rate_limit.org.remaining, Some(0));
    assert_eq!(first.rate_limit.user.reset_secs, Some(9));
    assert!(rec.delays().is_empty());
    http.execute("read", true, || http.reqwest().get(&url))
        .await
        .expect("ok");
    let waits = rec.delays();
    assert_eq!(
        waits.len(),
        1,
        "the second request waited for the org reset"
    );
    assert!(waits[0] > Duration::from_millis(4900) && waits[0] <= Duration::from_secs(5));
}

#[tokio::test]
async fn an_injected_client_still_gets_the_deadline() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/slow");
            then.status(200).delay(Duration::from_millis(800));
        })
        .await;
    let rec = RecordingSleeper::default();
    let http = HttpClientBuilder::new("test")
        .with_reqwest_client(reqwest::Client::new())
        .with_timeout(Duration::from_millis(150))
        .with_retry_policy(RetryPolicy::none())
        .with_sleeper(Arc::new(rec))
        .build()
        .expect("client");
    let url = server.url("/slow");
    let err = http
        .execute("read", true, || http.reqwest().get(&url))
        .await
        .expect_err("deadline applies");
    assert!(err.message().contains("timed out"), "{err}");
}

/// A scheme read on a fixed clock: the Unix time the test's server writes is "now + 42 s"
/// whatever the real time is.
#[derive(Debug)]
struct FixedClock<S>(S, SystemTime);

impl<S: RateLimitScheme> RateLimitScheme for FixedClock<S> {
    fn read_at(&self, headers: &http::HeaderMap, _now: SystemTime) -> RateLimitState {
        self.0.read_at(headers, self.1)
    }

    fn read(&self, headers: &http::HeaderMap) -> RateLimitState {
        self.0.read_at(headers, self.1)
    }
}

#[tokio::test]
async fn a_unix_time_reset_paces_later_requests() {
    let now = 1_000_000_000;
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/a");
            then.status(200)
                .header("x-ratelimit-limit", "5000")
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-used", "5000")
                .header("x-ratelimit-reset", (now + 42).to_string())
                .header("x-ratelimit-resource", "core");
        })
        .await;
    let rec = RecordingSleeper::default();
    let clock = SystemTime::UNIX_EPOCH + Duration::from_secs(now);
    let http = builder(&rec, Duration::from_secs(5), 1024)
        .with_rate_limit_scheme(Arc::new(FixedClock(XRateLimit::new(), clock)))
        .build()
        .expect("client");
    let url = server.url("/a");
    let first = http
        .execute("read", true, || http.reqwest().get(&url))
        .await
        .expect("ok");
    assert_eq!(first.rate_limit.org.reset_secs, Some(42));
    assert_eq!(first.rate_limit.scope.as_deref(), Some("core"));
    assert_eq!(http.known_remaining(), Some(0));
    assert!(rec.delays().is_empty());
    http.execute("read", true, || http.reqwest().get(&url))
        .await
        .expect("ok");
    let waits = rec.delays();
    assert_eq!(waits.len(), 1, "the second request waited for the reset");
    assert!(
        waits[0] > Duration::from_secs(41) && waits[0] <= Duration::from_secs(42),
        "{waits:?}"
    );
}

#[tokio::test]
async fn the_default_scheme_does_not_read_x_ratelimit_headers() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/a");
            then.status(200)
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", "1000000042");
        })
        .await;
    let rec = RecordingSleeper::default();
    let http = client(&rec, Duration::from_secs(5), 1024);
    let url = server.url("/a");
    for _ in 0..2 {
        let response = http
            .execute("read", true, || http.reqwest().get(&url))
            .await
            .expect("ok");
        assert!(!response.rate_limit.is_known());
    }
    assert!(rec.delays().is_empty(), "nothing to wait for");
}

#[tokio::test]
async fn shared_options_build_a_hardened_client_with_their_user_agent() {
    let server = MockServer::start_async().await;
    let other = MockServer::start_async().await;
    let stolen = other
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let location = other.url("/steal");
    let agent = server
        .mock_async(|when, then| {
            when.path("/r").header("user-agent", "example-adapter/1.0");
            then.status(302).header("location", location.as_str());
        })
        .await;
    // The caller's builder asks for redirects; the URL policy applied on top refuses them.
    for options in [
        HttpOptions::new(),
        HttpOptions::new().with_reqwest_client_builder(
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(5)),
        ),
    ] {
        let options = options
            .with_user_agent("example-adapter/1.0")
            .with_sleeper(Arc::new(RecordingSleeper::default()));
        let base = options
            .check_base_url(&server.base_url(), "REST URL")
            .expect("loopback");
        let http = options
            .client_builder("test", OriginGuard::new([&base]))
            .expect("valid")
            .build()
            .expect("client");
        let url = server.url("/r");
        let response = http
            .execute("read", true, || http.reqwest().get(&url))
            .await
            .expect("response");
        assert_eq!(response.status, 302);
        // A URL off the configured origin is refused before anything is sent.
        let steal = other.url("/steal");
        let error = http
            .execute("read", true, || http.reqwest().get(&steal))
            .await
            .expect_err("off origin");
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
    }
    agent.assert_calls_async(2).await;
    assert_eq!(
        stolen.calls_async().await,
        0,
        "nothing reached the other origin"
    );
}

/// Budget headers on an answered request are advice: an hour of "0 left" is neither waited
/// for (past the cap) nor an error, for the next request or a reservation; the provider
/// answers, and decides. A 429 is an order: its long cooldown refuses what follows.
#[tokio::test]
async fn budget_headers_on_an_answer_are_advice_a_429_is_an_order() {
    let server = MockServer::start_async().await;
    let advised = server
        .mock_async(|when, then| {
            when.path("/a");
            then.status(200)
                .header("RateLimit-Remaining", "0")
                .header("RateLimit-Reset", "3600");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/b");
            then.status(429).header("Retry-After", "3600");
        })
        .await;
    let rec = RecordingSleeper::default();
    let http = client(&rec, Duration::from_secs(5), 1024);
    let a = server.url("/a");
    for _ in 0..3 {
        let response = http
            .execute("read", true, || http.reqwest().get(&a))
            .await
            .expect("an answered request's headers never refuse the next one");
        assert_eq!(response.status, 200);
    }
    http.reserve("read", 10)
        .await
        .expect("a shortfall past the cap is not refused");
    assert_eq!(advised.calls_async().await, 3);
    assert!(rec.delays().is_empty(), "{:?}", rec.delays());
    let b = server.url("/b");
    let response = http
        .execute("read", true, || http.reqwest().get(&b))
        .await
        .expect("the 429 is returned");
    assert_eq!(response.status, 429);
    let refused = http
        .execute("read", true, || http.reqwest().get(&a))
        .await
        .expect_err("a 429's hour-long cooldown is an order");
    assert_eq!(refused.kind(), ErrorKind::RateLimited);
    assert_eq!(advised.calls_async().await, 3);
}
