//! Happy paths, header and response filtering, redirects, pinning, limits, retries, GraphQL
//! and the list envelope, against httpmock.

mod support;

use std::io::Write as _;
use std::time::{Duration, Instant};

use httpmock::{Method as M, MockServer};
use serde_json::{Value, json};
use unidir_core::{Cursor, ErrorKind};
use unidir_http::testing::RecordingObserver;
use unidir_proxy::{GraphqlRequest, Proxy, ProxyRequest, RetryPolicy, WaitReason};

use support::{CANARY, ORG, Recorder, RecordingSleeper, builder, fixture, proxy};

const BEARER: &str = concat!(
    "Bearer ",
    "bkua_CANARY_proxy_5f0c1e2d3b4a69788796a5b4c3d2e1f0"
);

#[test]
fn bearer_constant_matches_the_canary() {
    assert_eq!(BEARER, format!("Bearer {CANARY}"));
}

// ---------------------------------------------------------------------------------------
// Happy paths
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn get_passes_status_headers_body_and_rate_limit() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(M::GET)
                .path("/v2/organizations/acme-inc/pipelines/deploy/builds")
                .query_param("branch", "main")
                .query_param("state", "failed passed")
                .header("authorization", BEARER)
                .header("accept", "application/json");
            then.status(200)
                .header("content-type", "application/json; charset=utf-8")
                .header(
                    "link",
                    "<https://api.buildkite.com/v2/organizations/acme-inc/pipelines/deploy/builds?page=2>; rel=\"next\"",
                )
                .header("ratelimit-scope", "rest")
                .header("ratelimit-remaining", "180")
                .header("ratelimit-limit", "200")
                .header("ratelimit-reset", "42")
                .header("ratelimit-user-remaining", "40")
                .header("ratelimit-user-limit", "50")
                .header("ratelimit-user-reset", "42")
                .header("etag", "\"abc\"")
                .header("x-request-id", "req-1")
                .header("set-cookie", "_session=secret; HttpOnly")
                .header("www-authenticate", "Bearer realm=\"buildkite\"")
                .header("proxy-authenticate", "Basic")
                .header("access-control-allow-origin", "*")
                .header("connection", "x-internal")
                .header("x-internal", "hop")
                .body(r#"[{"number":1,"state":"failed"}]"#);
        })
        .await;
    let proxy = proxy(&server);
    let response = proxy
        .send(
            ProxyRequest::get("/v2/organizations/acme-inc/pipelines/deploy/builds")
                .with_query("branch", "main")
                .with_query("state", "failed passed"),
        )
        .await
        .expect("GET");
    mock.assert_calls_async(1).await;
    assert_eq!(response.status, 200);
    assert!(response.is_success());
    assert_eq!(response.attempts, 1);
    assert_eq!(
        response.json().expect("json"),
        json!([{"number": 1, "state": "failed"}])
    );
    assert_eq!(
        response.header("Content-Type"),
        Some("application/json; charset=utf-8")
    );
    assert!(response.header("link").is_some());
    assert_eq!(response.links().len(), 1);
    assert_eq!(response.header("ratelimit-remaining"), Some("180"));
    assert_eq!(response.header("ratelimit-user-reset"), Some("42"));
    assert_eq!(response.header("etag"), Some("\"abc\""));
    assert_eq!(response.header("x-request-id"), Some("req-1"));
    for dropped in [
        "set-cookie",
        "www-authenticate",
        "proxy-authenticate",
        "access-control-allow-origin",
        "connection",
        "x-internal",
        "content-length",
        "transfer-encoding",
    ] {
        assert_eq!(response.header(dropped), None, "{dropped} must be filtered");
    }
    assert_eq!(response.rate_limit.scope.as_deref(), Some("rest"));
    assert_eq!(response.rate_limit.org.remaining, Some(180));
    assert_eq!(response.rate_limit.user.limit, Some(50));
    assert_eq!(response.rate_limit.user.reset_secs, Some(42));
}

#[tokio::test]
async fn post_patch_put_delete_pass_through() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(M::POST)
                .path("/v2/organizations/acme-inc/pipelines/deploy/builds")
                .header("authorization", BEARER)
                .header("content-type", "application/json")
                .json_body(json!({"commit": "HEAD", "branch": "main"}));
            then.status(201)
                .header("content-type", "application/json")
                .body(r#"{"number":42}"#);
        })
        .await;
    let patch = server
        .mock_async(|when, then| {
            when.method(M::PATCH)
                .path("/v2/organizations/acme-inc/pipelines/deploy")
                .header("authorization", BEARER)
                .json_body(json!({"description": "new"}));
            then.status(200)
                .body(r#"{"slug":"deploy","description":"new"}"#);
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(M::PUT)
                .path("/v2/organizations/acme-inc/pipelines/deploy/builds/42/cancel")
                .header("authorization", BEARER);
            then.status(200)
                .body(r#"{"number":42,"state":"canceling"}"#);
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method(M::DELETE)
                .path("/v2/organizations/acme-inc/pipelines/old")
                .header("authorization", BEARER);
            then.status(204);
        })
        .await;
    let proxy = proxy(&server);

    let created = proxy
        .send(
            ProxyRequest::post("/v2/organizations/acme-inc/pipelines/deploy/builds")
                .with_json(&json!({"commit": "HEAD", "branch": "main"})),
        )
        .await
        .expect("POST");
    assert_eq!(created.status, 201);
    assert_eq!(created.json().expect("json")["number"], 42);

    let patched = proxy
        .send(
            ProxyRequest::patch("/v2/organizations/acme-inc/pipelines/deploy")
                .with_json(&json!({"description": "new"})),
        )
        .await
        .expect("PATCH");
    assert_eq!(patched.status, 200);

    let canceled = proxy
        .send(ProxyRequest::put(
            "/v2/organizations/acme-inc/pipelines/deploy/builds/42/cancel",
        ))
        .await
        .expect("PUT");
    assert_eq!(canceled.json().expect("json")["state"], "canceling");

    let deleted = proxy
        .send(ProxyRequest::delete(
            "/v2/organizations/acme-inc/pipelines/old",
        ))
        .await
        .expect("DELETE");
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    assert_eq!(deleted.json().expect("empty body"), Value::Null);

    for mock in [post, patch, put, delete] {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn non_2xx_answers_are_responses_not_errors() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines/missing");
            then.status(404)
                .header("content-type", "application/json")
                .body(r#"{"message":"No pipeline found"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines");
            then.status(422).body(r#"{"message":"Validation failed"}"#);
        })
        .await;
    let proxy = proxy(&server);
    let missing = proxy
        .send(ProxyRequest::get(
            "/v2/organizations/acme-inc/pipelines/missing",
        ))
        .await
        .expect("a 404 is a response");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json().expect("json")["message"],
        "No pipeline found"
    );
    let invalid = proxy
        .send(ProxyRequest::post("/v2/organizations/acme-inc/pipelines").with_body("{}"))
        .await
        .expect("a 422 is a response");
    assert_eq!(invalid.status, 422);
    assert_eq!(invalid.attempts, 1);
}

#[tokio::test]
async fn identity_paths_stay_reachable_when_pinned() {
    let server = MockServer::start_async().await;
    let user = server
        .mock_async(|when, then| {
            when.method(M::GET).path("/v2/user");
            then.status(200).body(r#"{"id":"u1"}"#);
        })
        .await;
    let proxy = proxy(&server);
    assert!(proxy.is_pinned());
    assert_eq!(proxy.organization(), Some(ORG));
    let response = proxy
        .send(ProxyRequest::get("/v2/user"))
        .await
        .expect("GET /v2/user");
    assert_eq!(response.status, 200);
    user.assert_calls_async(1).await;
}

// ---------------------------------------------------------------------------------------
// Request headers
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn caller_credentials_and_hop_by_hop_headers_never_arrive_upstream() {
    let server = MockServer::start_async().await;
    let recorder = Recorder::default();
    server
        .mock_async(|when, then| {
            when.any_request();
            then.respond_with(recorder.responder(200, "{}"));
        })
        .await;
    let proxy = proxy(&server);
    let response = proxy
        .send(
            ProxyRequest::post("/v2/organizations/acme-inc/pipelines")
                .with_header("Authorization", "Bearer bkua_attacker_supplied")
                .with_header("authorization", "Basic YXR0YWNrZXI6cHc=")
                .with_header("Proxy-Authorization", "Basic eDp5")
                .with_header("Cookie", "_session=stolen")
                .with_header("Host", "evil.example")
                .with_header("X-Forwarded-For", "10.0.0.1")
                .with_header("X-Forwarded-Host", "evil.example")
                .with_header("X-Forwarded-Proto", "http")
                .with_header("Forwarded", "for=10.0.0.1;host=evil.example")
                .with_header("X-Real-IP", "10.0.0.1")
                .with_header("Connection", "close, x-foo")
                .with_header("X-Foo", "named-in-connection")
                .with_header("Keep-Alive", "timeout=5")
                .with_header("Proxy-Connection", "keep-alive")
                .with_header("Transfer-Encoding", "chunked")
                .with_header("TE", "trailers")
                .with_header("Trailer", "X-Checksum")
                .with_header("Upgrade", "websocket")
                .with_header("Content-Length", "999")
                .with_header("Accept-Encoding", "identity")
                .with_header("User-Agent", "evil/1.0")
                .with_header("X-Api-Key", "abc")
                .with_header("Accept", "application/json")
                .with_header("If-None-Match", "\"v1\"")
                .with_header("Buildkite-Include-Query-Stats", "true")
                .with_json(&json!({"name": "x"})),
        )
        .await
        .expect("request with junk headers is sent with the junk dropped");
    assert_eq!(response.status, 200);
    let seen = recorder.seen();
    assert_eq!(seen.len(), 1);
    let seen = &seen[0];
    assert_eq!(
        seen.all("authorization"),
        vec![BEARER],
        "exactly one, injected Authorization"
    );
    assert_eq!(seen.all("host"), vec![server.address().to_string()]);
    for absent in [
        "proxy-authorization",
        "cookie",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "forwarded",
        "x-real-ip",
        "connection",
        "x-foo",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "x-api-key",
    ] {
        assert!(
            !seen.has(absent),
            "{absent} must not arrive upstream: {seen:?}"
        );
    }
    assert_eq!(
        seen.all("content-length"),
        vec![seen.body.len().to_string()],
        "recomputed from the body"
    );
    assert!(!seen.all("user-agent")[0].contains("evil"));
    assert!(!seen.all("accept-encoding").contains(&"identity"));
    assert_eq!(seen.all("accept"), vec!["application/json"]);
    assert_eq!(seen.all("if-none-match"), vec!["\"v1\""]);
    assert_eq!(seen.all("buildkite-include-query-stats"), vec!["true"]);
    assert_eq!(seen.all("content-type"), vec!["application/json"]);
    assert_eq!(seen.body, br#"{"name":"x"}"#);
    for name in [
        "authorization",
        "cookie",
        "host",
        "x-forwarded-for",
        "connection",
        "x-foo",
    ] {
        assert!(
            response.dropped_request_headers.iter().any(|d| d == name),
            "{name} reported as dropped"
        );
    }
    assert!(
        !response
            .dropped_request_headers
            .iter()
            .any(|d| d == "accept")
    );
}

#[tokio::test]
async fn a_header_named_in_connection_is_dropped_even_if_allowed() {
    let server = MockServer::start_async().await;
    let recorder = Recorder::default();
    server
        .mock_async(|when, then| {
            when.any_request();
            then.respond_with(recorder.responder(200, "{}"));
        })
        .await;
    let response = proxy(&server)
        .send(
            ProxyRequest::get("/v2/organizations/acme-inc")
                .with_header("Connection", "If-None-Match")
                .with_header("If-None-Match", "\"v1\"")
                .with_header("Accept", "text/plain"),
        )
        .await
        .expect("sent");
    let seen = &recorder.seen()[0];
    assert!(!seen.has("if-none-match"));
    assert_eq!(seen.all("accept"), vec!["text/plain"]);
    assert!(
        response
            .dropped_request_headers
            .contains(&"if-none-match".to_owned())
    );
}

// ---------------------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn cross_origin_redirect_is_returned_not_followed() {
    let upstream = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    let trap = elsewhere
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body("stolen");
        })
        .await;
    let target = elsewhere.url("/steal");
    upstream
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines/deploy/builds/1/jobs/j1/artifacts/a1/download");
            then.status(302).header("location", target.as_str());
        })
        .await;
    let response = proxy(&upstream)
        .send(ProxyRequest::get(
            "/v2/organizations/acme-inc/pipelines/deploy/builds/1/jobs/j1/artifacts/a1/download",
        ))
        .await
        .expect("a 302 is a response");
    assert_eq!(response.status, 302);
    assert_eq!(response.header("location"), Some(target.as_str()));
    assert_eq!(response.attempts, 1);
    trap.assert_calls_async(0).await;
}

#[tokio::test]
async fn same_origin_redirect_is_returned_not_followed() {
    let server = MockServer::start_async().await;
    let target = server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines/renamed");
            then.status(200).body("{}");
        })
        .await;
    let location = server.url("/v2/organizations/acme-inc/pipelines/renamed");
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines/old");
            then.status(301).header("location", location.as_str());
        })
        .await;
    let response = proxy(&server)
        .send(ProxyRequest::get(
            "/v2/organizations/acme-inc/pipelines/old",
        ))
        .await
        .expect("a 301 is a response");
    assert_eq!(response.status, 301);
    target.assert_calls_async(0).await;
}

// ---------------------------------------------------------------------------------------
// Pinning and allow-list
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn pinning_keeps_requests_inside_the_organization() {
    let server = MockServer::start_async().await;
    let other = server
        .mock_async(|when, then| {
            when.path_prefix("/v2/organizations/other-org");
            then.status(200).body("[]");
        })
        .await;
    let ours = server
        .mock_async(|when, then| {
            when.path_prefix("/v2/organizations/acme-inc");
            then.status(200).body("[]");
        })
        .await;
    let sleeper = RecordingSleeper::default();
    let pinned = builder(&server, &sleeper).build().expect("pinned");
    let error = pinned
        .send(ProxyRequest::get("/v2/organizations/other-org/members"))
        .await
        .expect_err("another organization");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    other.assert_calls_async(0).await;
    pinned
        .send(ProxyRequest::get("/v2/organizations/acme-inc/members"))
        .await
        .expect("our organization");
    ours.assert_calls_async(1).await;

    let unpinned = builder(&server, &sleeper)
        .pin_to_organization(false)
        .build()
        .expect("unpinned");
    assert!(!unpinned.is_pinned());
    unpinned
        .send(ProxyRequest::get("/v2/organizations/other-org/members"))
        .await
        .expect("pinning off");
    other.assert_calls_async(1).await;
}

#[tokio::test]
async fn allow_list_admits_only_listed_prefixes() {
    let server = MockServer::start_async().await;
    let catch_all = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body("[]");
        })
        .await;
    let proxy = builder(&server, &RecordingSleeper::default())
        .with_allowed_prefixes([
            "/v2/organizations/acme-inc/pipelines",
            "/v2/organizations/acme-inc/agents/",
        ])
        .build()
        .expect("allow-list");
    for path in [
        "/v2/organizations/acme-inc/pipelines",
        "/v2/organizations/acme-inc/pipelines/deploy/builds",
        "/v2/organizations/acme-inc/agents",
    ] {
        proxy.send(ProxyRequest::get(path)).await.expect(path);
    }
    assert_eq!(catch_all.calls_async().await, 3);
    for path in [
        "/v2/organizations/acme-inc/members",
        "/v2/organizations/acme-inc/pipelines-archive",
        "/v2/organizations/acme-inc",
        "/v2/user",
    ] {
        let error = proxy.send(ProxyRequest::get(path)).await.expect_err(path);
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{path}");
    }
    assert_eq!(catch_all.calls_async().await, 3);
}

// ---------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn oversized_response_is_an_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines/deploy/builds/1/jobs/j1/log");
            then.status(200).body(vec![b'x'; 64 * 1024]);
        })
        .await;
    let proxy = builder(&server, &RecordingSleeper::default())
        .with_max_response_bytes(4096)
        .build()
        .expect("proxy");
    let error = proxy
        .send(ProxyRequest::get(
            "/v2/organizations/acme-inc/pipelines/deploy/builds/1/jobs/j1/log",
        ))
        .await
        .expect_err("over the cap");
    assert_eq!(error.kind(), ErrorKind::ContractViolation);
    assert!(error.message().contains("4096-byte limit"), "{error}");
    assert_eq!(error.status(), Some(200));
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip")
}

#[tokio::test]
async fn gzip_bomb_is_stopped_after_decompression() {
    let bomb = gzip(&vec![0u8; 8 * 1024 * 1024]);
    assert!(bomb.len() < 64 * 1024, "the compressed body is small");
    let small = gzip(br#"{"ok":true}"#);
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/bomb");
            then.status(200)
                .header("content-encoding", "gzip")
                .body(bomb.clone());
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/small");
            then.status(200)
                .header("content-encoding", "gzip")
                .body(small.clone());
        })
        .await;
    let proxy = builder(&server, &RecordingSleeper::default())
        .with_max_response_bytes(256 * 1024)
        .build()
        .expect("proxy");
    let response = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/small"))
        .await
        .expect("small gzip body");
    assert_eq!(response.json().expect("decompressed"), json!({"ok": true}));
    assert_eq!(response.header("content-encoding"), None);
    let error = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/bomb"))
        .await
        .expect_err("expands past the cap");
    assert_eq!(error.kind(), ErrorKind::ContractViolation);
    assert!(error.message().contains("262144-byte limit"), "{error}");
}

#[tokio::test]
async fn slow_upstream_hits_the_timeout() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body("[]").delay(Duration::from_secs(3));
        })
        .await;
    let proxy = builder(&server, &RecordingSleeper::default())
        .with_timeout(Duration::from_millis(300))
        .with_retry_policy(RetryPolicy::none())
        .build()
        .expect("proxy");
    let started = Instant::now();
    let error = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/pipelines"))
        .await
        .expect_err("timeout");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(error.kind(), ErrorKind::Upstream);
    assert!(error.message().contains("timed out"), "{error}");
}

#[tokio::test]
async fn oversized_request_body_is_refused() {
    let server = MockServer::start_async().await;
    let catch_all = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let proxy = builder(&server, &RecordingSleeper::default())
        .with_max_request_bytes(100)
        .build()
        .expect("proxy");
    let error = proxy
        .send(ProxyRequest::post("/v2/organizations/acme-inc/pipelines").with_body(vec![b'a'; 101]))
        .await
        .expect_err("too big");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.message().contains("request size limit"));
    catch_all.assert_calls_async(0).await;
}

// ---------------------------------------------------------------------------------------
// Retries and rate limits
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn get_is_retried_after_429_and_5xx() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines");
            then.status(429)
                .header("ratelimit-remaining", "0")
                .header("ratelimit-reset", "3")
                .body(r#"{"message":"You have exceeded your API rate limit."}"#)
                .up_to_n_times(1);
        })
        .await;
    let failing = server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines");
            then.status(503).up_to_n_times(1);
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines");
            then.status(200).body("[]");
        })
        .await;
    let sleeper = RecordingSleeper::default();
    let proxy = builder(&server, &sleeper).build().expect("proxy");
    let response = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/pipelines"))
        .await
        .expect("retried to success");
    assert_eq!(response.status, 200);
    assert_eq!(response.attempts, 3);
    limited.assert_calls_async(1).await;
    failing.assert_calls_async(1).await;
    ok.assert_calls_async(1).await;
    let waited = sleeper.delays()[0];
    assert!(
        waited > Duration::from_secs(2) && waited <= Duration::from_secs(3),
        "waited for RateLimit-Reset: {:?}",
        sleeper.delays()
    );
}

#[tokio::test]
async fn writes_are_not_retried_after_5xx() {
    let server = MockServer::start_async().await;
    let post = server
        .mock_async(|when, then| {
            when.method(M::POST);
            then.status(503).body(r#"{"message":"unavailable"}"#);
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(M::PUT);
            then.status(502);
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method(M::DELETE);
            then.status(500);
        })
        .await;
    let sleeper = RecordingSleeper::default();
    let proxy = builder(&server, &sleeper).build().expect("proxy");
    let response = proxy
        .send(
            ProxyRequest::post("/v2/organizations/acme-inc/pipelines/deploy/builds")
                .with_json(&json!({"commit": "HEAD"})),
        )
        .await
        .expect("a 503 is a response");
    assert_eq!(response.status, 503);
    assert_eq!(response.attempts, 1);
    let response = proxy
        .send(ProxyRequest::put(
            "/v2/organizations/acme-inc/pipelines/deploy/builds/1/rebuild",
        ))
        .await
        .expect("a 502 is a response");
    assert_eq!(response.attempts, 1);
    let response = proxy
        .send(ProxyRequest::delete(
            "/v2/organizations/acme-inc/pipelines/old",
        ))
        .await
        .expect("a 500 is a response");
    assert_eq!(response.attempts, 1);
    post.assert_calls_async(1).await;
    put.assert_calls_async(1).await;
    delete.assert_calls_async(1).await;
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn a_post_is_retried_after_429_because_it_was_not_processed() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(M::POST);
            then.status(429)
                .header("ratelimit-user-remaining", "0")
                .header("ratelimit-user-reset", "2")
                .up_to_n_times(1);
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.method(M::POST);
            then.status(201).body("{}");
        })
        .await;
    let response = proxy(&server)
        .send(ProxyRequest::post("/v2/organizations/acme-inc/pipelines").with_body("{}"))
        .await
        .expect("retried");
    assert_eq!(response.status, 201);
    assert_eq!(response.attempts, 2);
    limited.assert_calls_async(1).await;
    ok.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_long_rate_limit_wait_is_reported_not_sat_out() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(429)
                .header("ratelimit-remaining", "0")
                .header("ratelimit-reset", "600");
        })
        .await;
    let sleeper = RecordingSleeper::default();
    let proxy = builder(&server, &sleeper).build().expect("proxy");
    let response = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/pipelines"))
        .await
        .expect("the 429 comes back as a response");
    assert_eq!(response.status, 429);
    assert_eq!(response.rate_limit.org.reset_secs, Some(600));
    // The next request does not even go out: the shared cooldown is longer than the cap.
    let error = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/pipelines"))
        .await
        .expect_err("cooldown");
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert!(error.retry_after().is_some());
    limited.assert_calls_async(1).await;
}

#[tokio::test]
async fn long_waits_are_reported_to_the_observer() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines");
            then.status(429)
                .header("ratelimit-remaining", "0")
                .header("ratelimit-reset", "5")
                .up_to_n_times(1);
        })
        .await;
    let ok = server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines");
            then.status(200).body("[]");
        })
        .await;
    let notices = std::sync::Arc::new(RecordingObserver::default());
    let sleeper = RecordingSleeper::default();
    let proxy = builder(&server, &sleeper)
        .with_observer(notices.clone())
        .build()
        .expect("proxy");
    let response = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/pipelines"))
        .await
        .expect("retried after the reset");
    assert_eq!(response.status, 200);
    limited.assert_calls_async(1).await;
    ok.assert_calls_async(1).await;
    let seen = notices.notices();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (operation, reason, duration) = (&seen[0].operation, seen[0].reason, seen[0].duration);
    assert_eq!(operation, "proxy");
    assert_eq!(reason, WaitReason::RateLimit);
    assert!(
        duration > Duration::from_secs(4) && duration <= Duration::from_secs(5),
        "{duration:?}"
    );
}

// ---------------------------------------------------------------------------------------
// GraphQL
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn graphql_query_passes_through() {
    let server = MockServer::start_async().await;
    let query = "query Viewer { viewer { user { name } } }";
    let mock = server
        .mock_async(|when, then| {
            when.method(M::POST)
                .path("/graphql")
                .header("authorization", BEARER)
                .header("content-type", "application/json")
                .header("buildkite-include-query-stats", "true")
                .json_body(json!({
                    "query": query,
                    "variables": {"org": "acme-inc"},
                    "operationName": "Viewer"
                }));
            then.status(200)
                .header("content-type", "application/json")
                .header("ratelimit-complexity-actual", "3")
                .body(r#"{"data":{"viewer":{"user":{"name":"Alice"}}}}"#);
        })
        .await;
    let response = proxy(&server)
        .graphql(
            GraphqlRequest::new(query)
                .with_variables(json!({"org": "acme-inc"}))
                .with_operation_name("Viewer")
                .with_header("Buildkite-Include-Query-Stats", "true")
                .with_header("Content-Type", "text/plain")
                .with_header("Authorization", "Bearer attacker"),
        )
        .await
        .expect("GraphQL");
    mock.assert_calls_async(1).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json().expect("json")["data"]["viewer"]["user"]["name"],
        "Alice"
    );
    assert_eq!(response.header("ratelimit-complexity-actual"), Some("3"));
    assert!(
        response
            .dropped_request_headers
            .contains(&"authorization".to_owned())
    );
}

#[tokio::test]
async fn graphql_errors_come_back_as_responses() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/graphql");
            then.status(200)
                .body(r#"{"data":null,"errors":[{"message":"Field 'nope' doesn't exist"}]}"#);
        })
        .await;
    let response = proxy(&server)
        .graphql(GraphqlRequest::new("{ nope }"))
        .await
        .expect("errors are data");
    assert_eq!(
        response.json().expect("json")["errors"][0]["message"],
        "Field 'nope' doesn't exist"
    );
}

#[tokio::test]
async fn graphql_query_is_retried_but_mutation_is_not() {
    let server = MockServer::start_async().await;
    let query_fail = server
        .mock_async(|when, then| {
            when.path("/graphql").body_includes("viewer");
            then.status(503).up_to_n_times(1);
        })
        .await;
    let query_ok = server
        .mock_async(|when, then| {
            when.path("/graphql").body_includes("viewer");
            then.status(200).body(r#"{"data":{"viewer":{"id":"x"}}}"#);
        })
        .await;
    let mutation = server
        .mock_async(|when, then| {
            when.path("/graphql").body_includes("teamCreate");
            then.status(503);
        })
        .await;
    let proxy = proxy(&server);
    let response = proxy
        .graphql(GraphqlRequest::new("query { viewer { id } }"))
        .await
        .expect("query");
    assert_eq!(response.status, 200);
    assert_eq!(response.attempts, 2);
    query_fail.assert_calls_async(1).await;
    query_ok.assert_calls_async(1).await;

    let response = proxy
        .graphql(
            GraphqlRequest::new(
                "mutation Create($org: ID!) { teamCreate(input: {organizationID: $org, name: \"x\"}) { clientMutationId } }",
            )
            .with_variables(json!({"org": "T3Jn"})),
        )
        .await
        .expect("a 503 is a response");
    assert_eq!(response.status, 503);
    assert_eq!(response.attempts, 1);
    mutation.assert_calls_async(1).await;
}

// ---------------------------------------------------------------------------------------
// The list envelope
// ---------------------------------------------------------------------------------------

/// Mounts fixtures 10..12 (three pages of members, `per_page=2`).
async fn mount_member_pages(server: &MockServer) {
    for (file, page) in [
        ("10-get-members-page1.json", None),
        ("11-get-members-page2.json", Some("2")),
        ("12-get-members-page3.json", Some("3")),
    ] {
        let fixture = fixture("acme", file);
        let response = fixture["response"].clone();
        server
            .mock_async(|when, then| {
                let when = when
                    .method(M::GET)
                    .path("/v2/organizations/acme-inc/members")
                    .header("authorization", BEARER)
                    .query_param("per_page", "2");
                match page {
                    None => when.query_param_missing("page"),
                    Some(p) => when.query_param("page", p),
                };
                let mut then = then.status(200);
                for (name, value) in response["headers"].as_object().expect("headers") {
                    then = then.header(name, value.as_str().expect("header value"));
                }
                then.body(response["body"].to_string());
            })
            .await;
    }
}

fn decoded(cursor: &Cursor) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.as_str())
        .expect("cursor is base64url");
    String::from_utf8(bytes).expect("cursor is UTF-8 JSON")
}

#[tokio::test]
async fn list_walks_three_link_pages_with_opaque_cursors() {
    let server = MockServer::start_async().await;
    mount_member_pages(&server).await;
    let proxy = proxy(&server);
    let members = || ProxyRequest::get("/v2/organizations/acme-inc/members");

    let page1 = proxy.list(members(), None, Some(2)).await.expect("page 1");
    assert_eq!(page1.result_count(), 2);
    assert_eq!(page1.result[0]["name"], "Alice Admin");
    assert!(page1.prev_cursor.is_none());
    let next = page1.next_cursor.clone().expect("page 1 has a next cursor");
    let state = decoded(&next);
    assert!(!state.contains("http"), "cursor holds no URL: {state}");
    assert!(
        !state.contains("buildkite.com"),
        "cursor holds no host: {state}"
    );

    let page2 = proxy
        .list(members(), Some(&next), None)
        .await
        .expect("page 2");
    assert_eq!(page2.result[0]["name"], "Carol Maintainer");
    assert!(page2.prev_cursor.is_some());
    let page3 = proxy
        .list(members(), page2.next_cursor.as_ref(), None)
        .await
        .expect("page 3");
    assert_eq!(page3.result_count(), 1);
    assert_eq!(page3.result[0]["name"], "Erin Newhire");
    assert!(page3.next_cursor.is_none(), "last page");

    let back = proxy
        .list(members(), page3.prev_cursor.as_ref(), None)
        .await
        .expect("back to page 2");
    assert_eq!(back.result, page2.result);

    let envelope = serde_json::to_value(&page3).expect("envelope");
    assert_eq!(envelope["result_count"], 1);
    assert_eq!(envelope["next_cursor"], Value::Null);
}

#[tokio::test]
async fn list_cursor_is_bound_to_its_path_and_query() {
    let server = MockServer::start_async().await;
    mount_member_pages(&server).await;
    let catch_all = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(599).body("unexpected");
        })
        .await;
    let proxy = proxy(&server);
    let page1 = proxy
        .list(
            ProxyRequest::get("/v2/organizations/acme-inc/members"),
            None,
            Some(2),
        )
        .await
        .expect("page 1");
    let next = page1.next_cursor.expect("next");
    for request in [
        ProxyRequest::get("/v2/organizations/acme-inc/teams"),
        ProxyRequest::get("/v2/organizations/acme-inc/members").with_query("role", "admin"),
    ] {
        let error = proxy
            .list(request, Some(&next), None)
            .await
            .expect_err("cursor of another list");
        assert_eq!(error.kind(), ErrorKind::InvalidCursor);
    }
    let mut tampered = next.as_str().to_owned();
    tampered.replace_range(10..11, if &tampered[10..11] == "A" { "B" } else { "A" });
    let error = proxy
        .list(
            ProxyRequest::get("/v2/organizations/acme-inc/members"),
            Some(&Cursor::new(tampered)),
            None,
        )
        .await
        .expect_err("tampered cursor");
    assert_eq!(error.kind(), ErrorKind::InvalidCursor);
    catch_all.assert_calls_async(0).await;
}

#[tokio::test]
async fn list_reads_page_numbers_but_never_follows_link_urls() {
    let server = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    let trap = elsewhere
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body("[]");
        })
        .await;
    let hostile_link = format!(
        "<{}?page=2&per_page=1>; rel=\"next\"",
        elsewhere.url("/v2/organizations/acme-inc/members")
    );
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/members")
                .query_param_missing("page");
            then.status(200)
                .header("link", hostile_link.as_str())
                .body(r#"[{"id":"1"}]"#);
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/members")
                .query_param("page", "2");
            then.status(200).body(r#"[{"id":"2"}]"#);
        })
        .await;
    let proxy = proxy(&server);
    let request = || ProxyRequest::get("/v2/organizations/acme-inc/members");
    let page1 = proxy.list(request(), None, Some(1)).await.expect("page 1");
    let page2 = proxy
        .list(request(), page1.next_cursor.as_ref(), None)
        .await
        .expect("page 2 from the configured origin");
    assert_eq!(page2.result[0]["id"], "2");
    second.assert_calls_async(1).await;
    trap.assert_calls_async(0).await;
}

#[tokio::test]
async fn list_fails_when_next_does_not_move_forward() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/members");
            then.status(200)
                .header(
                    "link",
                    "<https://api.buildkite.com/v2/organizations/acme-inc/members?page=1&per_page=2>; rel=\"next\"",
                )
                .body(r#"[{"id":"1"}]"#);
        })
        .await;
    let error = proxy(&server)
        .list(
            ProxyRequest::get("/v2/organizations/acme-inc/members"),
            None,
            Some(2),
        )
        .await
        .expect_err("next page 1 after page 1");
    assert_eq!(error.kind(), ErrorKind::ContractViolation);
    assert_eq!(error.operation(), "proxy_list");
}

#[tokio::test]
async fn list_follows_token_pagination_and_items_envelopes() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/audit-events")
                .query_param_missing("after")
                .query_param("per_page", "2");
            then.status(200)
                .header(
                    "link",
                    "<https://api.buildkite.com/v2/organizations/acme-inc/audit-events?after=Y3Vyc29yMg&per_page=2>; rel=\"next\"",
                )
                .body(r#"{"items":[{"id":"e1"},{"id":"e2"}],"links":{}}"#);
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/audit-events")
                .query_param("after", "Y3Vyc29yMg")
                .query_param("per_page", "2");
            then.status(200)
                .body(r#"{"items":[{"id":"e3"}],"links":{}}"#);
        })
        .await;
    let proxy = proxy(&server);
    let request = || ProxyRequest::get("/v2/organizations/acme-inc/audit-events");
    let page1 = proxy.list(request(), None, Some(2)).await.expect("page 1");
    assert_eq!(page1.result_count(), 2);
    let page2 = proxy
        .list(request(), page1.next_cursor.as_ref(), None)
        .await
        .expect("page 2");
    assert_eq!(page2.result[0]["id"], "e3");
    assert!(page2.next_cursor.is_none());
    second.assert_calls_async(1).await;
}

#[tokio::test]
async fn list_maps_non_2xx_to_typed_errors() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/missing");
            then.status(404).body(r#"{"message":"Not Found"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/forbidden");
            then.status(403)
                .body(r#"{"message":"Your access token doesn't have the read_pipelines scope"}"#);
        })
        .await;
    let proxy = proxy(&server);
    let error = proxy
        .list(
            ProxyRequest::get("/v2/organizations/acme-inc/missing"),
            None,
            None,
        )
        .await
        .expect_err("404");
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(error.status(), Some(404));
    let error = proxy
        .list(
            ProxyRequest::get("/v2/organizations/acme-inc/forbidden"),
            None,
            None,
        )
        .await
        .expect_err("403");
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert!(error.message().contains("read_pipelines"));
}

#[tokio::test]
async fn proxies_share_nothing_but_clones_share_the_cooldown() {
    // A clone is the same connection: it must honour the same rate-limit cooldown.
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(429)
                .header("ratelimit-remaining", "0")
                .header("ratelimit-reset", "600");
        })
        .await;
    let proxy: Proxy = proxy(&server);
    let clone = proxy.clone();
    proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/pipelines"))
        .await
        .expect("429 response");
    let error = clone
        .send(ProxyRequest::get("/v2/organizations/acme-inc/pipelines"))
        .await
        .expect_err("clone is cooling down too");
    assert_eq!(error.kind(), ErrorKind::RateLimited);
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_is_kept() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.path("/buildkite/v2/user");
            then.status(200).body("{}");
        })
        .await;
    let proxy = builder(&server, &RecordingSleeper::default())
        .with_rest_url(server.url("/buildkite/"))
        .build()
        .expect("proxy");
    let response = proxy
        .send(ProxyRequest::get("/v2/user"))
        .await
        .expect("prefixed base");
    assert_eq!(response.status, 200);
    mock.assert_calls_async(1).await;
}
