//! The request loop against a real local HTTP server: deadlines, retries, caps, writes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use httpmock::MockServer;
use unidir_core::ErrorKind;
use unidir_http::{HttpClient, HttpClientBuilder, RetryPolicy, Sleeper};

#[derive(Debug, Default, Clone)]
struct Recorder(Arc<Mutex<Vec<Duration>>>);

#[async_trait::async_trait]
impl Sleeper for Recorder {
    async fn sleep(&self, d: Duration) {
        self.0.lock().expect("lock").push(d);
    }
}

fn client(recorder: &Recorder, timeout: Duration, max_body: usize) -> HttpClient {
    HttpClientBuilder::new("test")
        .with_timeout(timeout)
        .with_retry_policy(RetryPolicy {
            max_retries: 2,
            jitter_seed: Some(3),
            ..RetryPolicy::default()
        })
        .with_sleeper(Arc::new(recorder.clone()))
        .with_max_body_bytes(max_body)
        .build()
        .expect("client")
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
    let rec = Recorder::default();
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
    assert_eq!(rec.0.lock().expect("lock").len(), 2);
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
    let rec = Recorder::default();
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
    let rec = Recorder::default();
    let http = client(&rec, Duration::from_secs(2), 1024);
    let url = format!("http://127.0.0.1:{port}/x");
    let err = http
        .execute("read", false, || http.reqwest().get(&url))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.message().contains("could not connect"), "{err}");
    assert_eq!(
        rec.0.lock().expect("lock").len(),
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
    let rec = Recorder::default();
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
    let rec = Recorder::default();
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
    let rec = Recorder::default();
    let http = client(&rec, Duration::from_secs(5), 1024);
    let url = server.url("/a");
    let first = http
        .execute("read", true, || http.reqwest().get(&url))
        .await
        .expect("ok");
    assert_eq!(first.rate_limit.org.remaining, Some(0));
    assert_eq!(first.rate_limit.user.reset_secs, Some(9));
    assert!(rec.0.lock().expect("lock").is_empty());
    http.execute("read", true, || http.reqwest().get(&url))
        .await
        .expect("ok");
    let waits = rec.0.lock().expect("lock").clone();
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
    let rec = Recorder::default();
    let http = HttpClientBuilder::new("test")
        .with_client(reqwest::Client::new())
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
