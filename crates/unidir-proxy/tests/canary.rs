//! The token canary: one unique fake token drives every kind of call — success, rejection,
//! redirect, timeout, size cap, rate limit, GraphQL, list, and an upstream that echoes the
//! token back — and must never appear in `Debug` output, errors, responses, or the captured
//! tracing logs (all levels).

mod support;

use std::time::Duration;

use httpmock::MockServer;
use serde_json::json;
use unidir_http::testing::{LogCapture, Outputs};
use unidir_proxy::{GraphqlRequest, Proxy, ProxyRequest, RetryPolicy};

use support::{CANARY, RecordingSleeper, builder};

#[tokio::test]
async fn the_token_never_appears_in_any_output_error_or_log() {
    let logs = LogCapture::start();

    let server = MockServer::start_async().await;
    let elsewhere = MockServer::start_async().await;
    let location = elsewhere.url("/steal");
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/pipelines");
            then.status(200)
                .header("content-type", "application/json")
                .header("ratelimit-remaining", "10")
                .body("[]");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/echo");
            // A misbehaving upstream that reflects the credential back.
            then.respond_with(|req: &httpmock::HttpMockRequest| {
                let auth = req
                    .headers_vec()
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                httpmock::HttpMockResponse::builder()
                    .status(200)
                    .header("x-echo", auth.clone())
                    .header("set-cookie", format!("t={auth}"))
                    .body(format!("{{\"you_sent\":\"{auth}\"}}"))
                    .build()
            });
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/redirect");
            then.status(302).header("location", location.as_str());
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/big");
            then.status(200).body(vec![b'x'; 8192]);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/slow");
            then.status(200).delay(Duration::from_secs(3));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/members");
            then.status(200)
                .header(
                    "link",
                    "<https://api.buildkite.com/v2/organizations/acme-inc/members?page=2&per_page=1>; rel=\"next\"",
                )
                .body(r#"[{"id":"1"}]"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/limited");
            then.status(429)
                .header("ratelimit-remaining", "0")
                .header("ratelimit-reset", "900");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/graphql");
            then.status(200).body(r#"{"data":{"viewer":{"id":"x"}}}"#);
        })
        .await;

    let sleeper = RecordingSleeper::default();
    let builder = builder(&server, &sleeper)
        .with_max_response_bytes(4096)
        .with_timeout(Duration::from_millis(300))
        .with_retry_policy(RetryPolicy {
            max_retries: 1,
            jitter_seed: Some(1),
            ..RetryPolicy::default()
        });
    let mut out = Outputs::default();
    out.push(format!("{builder:?}"));
    let proxy: Proxy = builder.build().expect("proxy");
    out.push(format!("{proxy:?}"));

    // Success, with a query value that must not be logged either.
    let ok = proxy
        .send(
            ProxyRequest::get("/v2/organizations/acme-inc/pipelines")
                .with_query("branch", "QUERY_VALUE_NOT_LOGGED")
                .with_header("Authorization", "Bearer CALLER_SECRET_NOT_LOGGED"),
        )
        .await;
    out.result(&ok);
    // Upstream reflects the token: header dropped, body scrubbed.
    let echo = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/echo"))
        .await
        .expect("echo");
    assert_eq!(echo.header("x-echo"), None);
    assert!(echo.text().contains("[REDACTED]"), "{}", echo.text());
    out.push(echo.text());
    out.push(format!("{:?}", echo.headers));
    out.push(format!("{echo:?}"));
    // Rejections (one carries the canary as a caller-supplied query value).
    let request = ProxyRequest::get("/v2/organizations/acme-inc/pipelines")
        .with_query("access_token", CANARY)
        .with_header("Cookie", CANARY);
    out.push(format!("{request:?}"));
    out.result(&proxy.send(request).await);
    out.result(&proxy.send(ProxyRequest::get("//evil.example/x")).await);
    out.result(
        &proxy
            .send(ProxyRequest::get("/v2/organizations/other/x"))
            .await,
    );
    // Redirect, size cap, timeout.
    out.result(
        &proxy
            .send(ProxyRequest::get("/v2/organizations/acme-inc/redirect"))
            .await,
    );
    out.result(
        &proxy
            .send(ProxyRequest::get("/v2/organizations/acme-inc/big"))
            .await,
    );
    let slow = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/slow"))
        .await;
    assert!(slow.is_err());
    out.result(&slow);
    // List, GraphQL.
    let page = proxy
        .list(
            ProxyRequest::get("/v2/organizations/acme-inc/members"),
            None,
            Some(1),
        )
        .await;
    out.result(&page);
    if let Ok(page) = &page {
        out.push(serde_json::to_string(page).expect("envelope"));
    }
    let gql = GraphqlRequest::new("query { viewer { id } }")
        .with_variables(json!({"x": 1}))
        .with_header("Authorization", CANARY);
    out.push(format!("{gql:?}"));
    out.result(&proxy.graphql(gql).await);
    // Rate limit: a 429 response, then the cooldown error.
    out.result(
        &proxy
            .send(ProxyRequest::get("/v2/organizations/acme-inc/limited"))
            .await,
    );
    out.result(
        &proxy
            .send(ProxyRequest::get("/v2/organizations/acme-inc/pipelines"))
            .await,
    );

    let logs = logs.text();
    assert!(
        logs.contains("proxy request"),
        "the capture works and the proxy logs: {logs}"
    );
    assert!(logs.contains("/v2/organizations/*/pipelines"), "{logs}");
    assert!(logs.contains("rejected"), "{logs}");
    out.assert_free_of(CANARY);
    assert!(!logs.contains(CANARY), "the logs leak the token");
    for private in [
        "QUERY_VALUE_NOT_LOGGED",
        "CALLER_SECRET_NOT_LOGGED",
        "acme-inc",
        "evil.example",
    ] {
        assert!(!logs.contains(private), "the logs contain {private:?}");
    }
}

/// An upstream that echoes the token in every place provider text can come from: REST error
/// `message`s (each status the list mapping reads), GraphQL `errors[].message`, a wrongly
/// typed field, response headers, an HTML error page. Run for the plain canary and for a
/// token whose percent-encoded form differs from the raw one.
#[tokio::test]
async fn a_token_echoed_by_the_upstream_never_reaches_errors_responses_or_logs() {
    for token in [CANARY, "bkua_CANARY+pct/form=2d4f"] {
        echoed_token_scenarios(token).await;
    }
}

async fn echoed_token_scenarios(token: &'static str) {
    let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let forms: Vec<String> = if encoded == token {
        vec![token.to_owned()]
    } else {
        vec![token.to_owned(), encoded.clone()]
    };
    let logs = LogCapture::start();

    let server = MockServer::start_async().await;
    let echo = format!("token {token}, as Bearer {token}, encoded {encoded}");
    for status in [400u16, 401, 403, 404, 422, 429, 500] {
        let body = json!({ "message": format!("Your access token doesn't work: {echo}") });
        // Only the 429 reports an exhausted budget (it would hold up the other requests).
        let reset = if status == 429 { "900" } else { "60" };
        let remaining = if status == 429 { "0" } else { "100" };
        server
            .mock_async(|when, then| {
                when.path(format!("/v2/organizations/acme-inc/status{status}"));
                then.status(status)
                    .header("content-type", "application/json")
                    .header("x-request-echo", format!("Bearer {token}"))
                    .header("x-encoded-echo", encoded.as_str())
                    .header("ratelimit-remaining", remaining)
                    .header("ratelimit-reset", reset)
                    .body(body.to_string());
            })
            .await;
    }
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/html");
            then.status(403)
                .header("content-type", "text/html")
                .body(format!("<html><body>Denied for {echo}</body></html>"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/wrong-type");
            then.status(200)
                .header("content-type", "application/json")
                .body(json!({ "items": token }).to_string());
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/v2/organizations/acme-inc/ok");
            then.status(200)
                .header("content-type", "application/json")
                .header("x-token", token)
                .header("x-encoded", encoded.as_str())
                .header(
                    "link",
                    format!(
                        "<https://api.buildkite.com/v2/organizations/acme-inc/ok?page=2&t={token}>; rel=\"next\""
                    ),
                )
                .body(json!([{ "id": "1", "note": echo.as_str() }]).to_string());
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/graphql");
            then.status(200)
                .header("content-type", "application/json")
                .header("x-token", token)
                .body(
                    json!({
                        "data": null,
                        "errors": [
                            { "message": format!("Field 'x' rejected for {echo}"),
                              "extensions": { "value": token } }
                        ]
                    })
                    .to_string(),
                );
        })
        .await;

    let sleeper = RecordingSleeper::default();
    let proxy = builder(&server, &sleeper)
        .with_token(token)
        .with_retry_policy(RetryPolicy {
            max_retries: 0,
            jitter_seed: Some(1),
            ..RetryPolicy::default()
        })
        .build()
        .expect("proxy");
    let mut out = Outputs::default();
    let mut responses = Vec::new();

    // Non-2xx list answers become typed errors built from the REST `message`.
    let mut kinds = Vec::new();
    // The 429 comes last: it leaves a cooldown behind.
    for (path, status) in [
        ("status400", 400),
        ("status401", 401),
        ("status403", 403),
        ("status404", 404),
        ("status422", 422),
        ("status500", 500),
        ("html", 403),
        ("wrong-type", 200),
        ("status429", 429),
    ] {
        let result = proxy
            .list(
                ProxyRequest::get(format!("/v2/organizations/acme-inc/{path}")),
                None,
                None,
            )
            .await;
        let error = result.as_ref().expect_err(path);
        // The status proves the answer was read, so the text below came from upstream.
        assert_eq!(error.status(), Some(status), "{path}: {error}");
        kinds.push(error.kind());
        out.result(&result);
    }
    assert!(
        kinds.contains(&unidir_core::ErrorKind::PermissionDenied),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&unidir_core::ErrorKind::ContractViolation),
        "{kinds:?}"
    );

    // A fresh proxy (no cooldown) for the pass-through calls.
    let proxy = builder(&server, &sleeper)
        .with_token(token)
        .build()
        .expect("proxy");
    let sent = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/status403"))
        .await
        .expect("a 403 is a response");
    assert_eq!(sent.status, 403);
    assert!(sent.text().contains("[REDACTED]"), "{}", sent.text());
    assert_eq!(sent.header("x-request-echo"), None);
    assert_eq!(sent.header("x-encoded-echo"), None);
    responses.push(sent);
    let ok = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/ok"))
        .await
        .expect("ok");
    assert_eq!(ok.header("x-token"), None);
    assert_eq!(
        ok.header("link"),
        None,
        "a Link carrying the token is dropped"
    );
    assert!(ok.json().is_ok(), "the scrubbed body is still JSON");
    responses.push(ok);
    let page = proxy
        .list(
            ProxyRequest::get("/v2/organizations/acme-inc/ok"),
            None,
            None,
        )
        .await;
    if let Ok(page) = &page {
        out.push(serde_json::to_string(page).expect("envelope"));
    }
    out.result(&page);
    let gql = proxy
        .graphql(GraphqlRequest::new("query { viewer { id } }"))
        .await
        .expect("GraphQL errors are a response");
    assert_eq!(gql.header("x-token"), None);
    let parsed = gql.json().expect("the scrubbed body is still JSON");
    assert!(
        parsed["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("[REDACTED]")),
        "{parsed}"
    );
    responses.push(gql);
    for response in &responses {
        out.push(format!("{response:?}"));
        out.push(response.text());
        out.push(format!("{:?}", response.headers));
    }

    let logs = logs.text();
    assert!(logs.contains("proxy response"), "the capture works: {logs}");
    assert!(
        logs.contains("contained the token"),
        "the scrub is logged (without the token): {logs}"
    );
    for form in &forms {
        out.assert_free_of(form);
        assert!(!logs.contains(form.as_str()), "the logs leak the token");
    }
}
