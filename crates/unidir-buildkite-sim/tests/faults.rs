//! Injected faults, enforced budgets, the admin endpoints and shutdown.

mod common;

use std::time::{Duration, Instant};

use common::{get, gql, member_vars, send, start, url};
use reqwest::Method;
use serde_json::{Value, json};
use unidir_buildkite_sim::{Fault, LimitScope, SimConfig, SimSnapshot};

const MEMBERS: &str = "/v2/organizations/acme-inc/members?page=1&per_page=2";

#[tokio::test]
async fn rate_limited_then_ok() {
    let sim = start(SimConfig::default()).await;
    sim.inject(Fault::rate_limited(7, LimitScope::User));
    let limited = get(&sim, MEMBERS).await;
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.json(),
        json!({
            "message": "You have exceeded your API rate limit. Please wait 7 seconds before making more requests.",
            "scope": "rest_user", "limit": 50, "current": 51, "reset": 7
        })
    );
    assert_eq!(limited.header("ratelimit-user-remaining"), Some("0"));
    assert_eq!(limited.header("ratelimit-user-reset"), Some("7"));
    assert_eq!(
        limited.header("ratelimit-user-warning"),
        Some("You have exceeded your API rate limit.")
    );
    assert_eq!(limited.header("ratelimit-warning"), None);
    assert!(limited.header("ratelimit-remaining").is_some());

    let ok = get(&sim, MEMBERS).await;
    assert_eq!(ok.status, 200);
    assert!(sim.pending_faults().is_empty());

    sim.inject(Fault::rate_limited(3600, LimitScope::Org).with_path_prefix("/v1"));
    assert_eq!(
        get(&sim, MEMBERS).await.status,
        200,
        "prefix /v1 spares REST"
    );
    let gql_limited = gql(&sim, "UnidirMembers", member_vars("acme-inc")).await;
    assert_eq!(gql_limited.status, 429);
    assert_eq!(
        gql_limited.json(),
        json!({ "errors": [{ "message": "Your organization has exceeded the limit of 20000 complexity points. Please try again in 3600 seconds." }] })
    );
    assert_eq!(gql_limited.header("ratelimit-remaining"), Some("0"));
    assert_eq!(gql_limited.header("ratelimit-reset"), Some("3600"));
    assert_eq!(gql_limited.header("ratelimit-complexity-actual"), None);
}

#[tokio::test]
async fn server_errors_and_truncated_bodies() {
    let sim = start(SimConfig::default()).await;
    sim.inject(Fault::server_error(502).with_times(2));
    sim.inject(Fault::truncated_body());
    for _ in 0..2 {
        let resp = get(&sim, MEMBERS).await;
        assert_eq!(resp.status, 502);
        assert_eq!(resp.header("content-type"), Some("text/html"));
        assert!(resp.text.contains("502 Bad Gateway"));
    }
    let cut = get(&sim, MEMBERS).await;
    assert_eq!(cut.status, 200);
    assert_eq!(
        cut.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert!(cut.header("link").is_some(), "headers are kept");
    assert!(
        serde_json::from_str::<Value>(&cut.text).is_err(),
        "body is cut: {}",
        cut.text
    );
    assert!(cut.text.starts_with("[{"));
    let whole = get(&sim, MEMBERS).await;
    assert_eq!(whole.json().as_array().map(Vec::len), Some(2));

    sim.inject(Fault::server_error(500));
    let rails = get(&sim, "/v2/user").await;
    assert_eq!(rails.status, 500);
    assert!(rails.text.contains("We're sorry, but something went wrong"));
}

#[tokio::test]
async fn slow_fault_delays_one_answer() {
    let sim = start(SimConfig::default()).await;
    sim.inject(Fault::slow(Duration::from_millis(300)));
    let started = Instant::now();
    assert_eq!(get(&sim, "/v2/user").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn enforced_budgets_answer_429_with_headers() {
    let sim = start(SimConfig::default().with_user_budget_per_minute(3)).await;
    for remaining in ["2", "1", "0"] {
        let resp = get(&sim, "/v2/user").await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("ratelimit-user-remaining"), Some(remaining));
        assert_eq!(resp.header("ratelimit-user-limit"), Some("3"));
    }
    let refused = get(&sim, "/v2/user").await;
    assert_eq!(refused.status, 429);
    let body = refused.json();
    assert_eq!(body["scope"], json!("rest_user"));
    assert_eq!(
        (body["limit"].clone(), body["current"].clone()),
        (json!(3), json!(4))
    );
    let reset = refused.header_u64("ratelimit-user-reset");
    assert!((1..=60).contains(&reset));
    assert_eq!(body["reset"], json!(reset));
    assert_eq!(
        refused.header("ratelimit-user-warning"),
        Some("You have exceeded your API rate limit.")
    );

    let org = start(SimConfig::default().with_org_budget_per_minute(1)).await;
    assert_eq!(get(&org, "/v2/user").await.status, 200);
    let refused = get(&org, "/v2/user").await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.json()["scope"], json!("rest"));
    assert_eq!(
        refused.header("ratelimit-warning"),
        Some("You have exceeded your API rate limit.")
    );
    assert_eq!(refused.header("ratelimit-remaining"), Some("0"));
}

#[tokio::test]
async fn admin_endpoints_and_request_count() {
    let sim = start(SimConfig::default()).await;
    let faults_url = url(&sim, "/__sim/faults");
    let queued = send(
        Method::POST,
        &faults_url,
        None,
        Some(&json!([
            { "kind": "server_error", "status": 503, "path_prefix": "/v2/user" },
            { "kind": "rate_limited", "reset_secs": 2, "scope": "org", "times": 2 }
        ])),
    )
    .await;
    assert_eq!(
        (queued.status, queued.json()),
        (201, json!({ "queued": 2, "pending": 2 }))
    );
    let pending = send(Method::GET, &faults_url, None, None).await.json();
    assert_eq!(
        pending[1],
        json!({ "kind": "rate_limited", "reset_secs": 2, "scope": "org", "times": 2, "path_prefix": null })
    );

    assert_eq!(get(&sim, "/v2/user").await.status, 503);
    assert_eq!(get(&sim, "/v2/user").await.status, 429);
    let cleared = send(Method::DELETE, &faults_url, None, None).await;
    assert_eq!(cleared.status, 204);
    assert_eq!(get(&sim, "/v2/user").await.status, 200);

    let bad = send(
        Method::POST,
        &faults_url,
        None,
        Some(&json!({ "kind": "meteor" })),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Invalid fault"))
    );

    let state = send(Method::GET, &url(&sim, "/__sim/state"), None, None).await;
    let served: SimSnapshot = serde_json::from_str(&state.text).expect("snapshot JSON");
    assert_eq!(served, sim.snapshot());
    assert_eq!(sim.request_count(), 3, "admin calls are not counted");
    let stats = send(Method::GET, &url(&sim, "/__sim/stats"), None, None)
        .await
        .json();
    assert_eq!(stats, json!({ "requests": 3 }));
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sim = start(SimConfig::default()).await;
    let user_url = url(&sim, "/v2/user");
    assert_eq!(get(&sim, "/v2/user").await.status, 200);
    sim.shutdown().await;
    let after = reqwest::Client::new().get(&user_url).send().await;
    assert!(after.is_err(), "nothing listens after shutdown");
}
