//! The hostile upstream suite: the Buildkite adapter against a Buildkite stand-in that lies,
//! stalls, floods, loops, redirects and echoes the token back.
//!
//! Every scenario asserts, besides its own expectation:
//! - no panic, and the documented error kind (or the correct result);
//! - bounded time (each scenario runs under [`BOUND`]; the client has a 500 ms attempt
//!   timeout, a 2 s operation deadline and a recording sleeper, so backoff never sleeps);
//! - zero requests off the configured origin: a second "elsewhere" listener, which hostile
//!   links and redirects point at (and which `evil.test` resolves to), sees no connection,
//!   and every request the hostile server saw carried its own `Host`;
//! - the canary token absent from every `Error` (`Display`, `Debug`, `ErrorBody`, sources),
//!   every result's `Debug`, and the logs (a TRACE subscriber writing to a buffer);
//! - error messages bounded and free of raw control or bidi characters.
//!
//! Several upstreams here really echo the token (REST `message`, GraphQL `errors[].message`,
//! a wrongly typed field, a header, an HTML page, a `Link`), so the canary checks can fail.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::TryStreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use unidir_buildkite::{GraphqlMode, RetryPolicy};
use unidir_core::{
    Cursor, Directory, DirectoryExt, Error, ErrorKind, GetOptions, Group, ListQuery, Walker,
};
use unidir_http::WaitReason;
use unidir_http::testing::hostile::{Reply, Request};

mod support;
use support::*;

// ---------------------------------------------------------------------------------------
// Buildkite-shaped answers (the REST ones and the harness are in `support`)
// ---------------------------------------------------------------------------------------

/// A GraphQL `OrganizationMember` node for user `n`, with `teams` as its team connection.
fn gql_member(n: u64, name: &str, teams: Value) -> Value {
    json!({
        "id": format!("T3JnTWVtYmVyLS0t{n}"), "uuid": uuid(1000 + n), "role": "MEMBER",
        "createdAt": "2021-06-01T09:12:44Z", "lastSeenAt": null,
        "sso": { "mode": "OPTIONAL" },
        "security": { "twoFactorEnabled": true, "passwordProtected": true },
        "user": {
            "id": format!("VXNlci0tLT{n}"), "uuid": uuid(n), "name": name,
            "email": format!("u{n}@acme.example"), "avatar": { "url": null },
            "bot": false, "machineUser": false,
        },
        "teams": teams,
    })
}

fn no_teams() -> Value {
    json!({ "count": 0, "pageInfo": { "hasNextPage": false, "endCursor": null }, "edges": [] })
}

fn team_edge(n: u64) -> Value {
    json!({ "node": { "role": "MEMBER", "createdAt": "2022-01-01T00:00:00Z",
        "team": { "uuid": uuid(n), "slug": format!("team-{n}"), "name": format!("Team {n}") } } })
}

/// An `UnidirMembers` answer.
fn gql_members(nodes: Vec<Value>, has_next: bool, end: Option<&str>) -> Reply {
    let edges: Vec<Value> = nodes
        .into_iter()
        .map(|node| json!({ "cursor": "x", "node": node }))
        .collect();
    Reply::json(
        200,
        &json!({ "data": { "organization": { "members": {
            "count": edges.len(),
            "pageInfo": { "hasNextPage": has_next, "hasPreviousPage": false,
                          "startCursor": null, "endCursor": end },
            "edges": edges,
        } } } }),
    )
}

/// A plain organization: REST teams/members (one page each) and GraphQL members.
fn plain_org(request: &Request) -> Reply {
    match request.path() {
        ACCESS_TOKEN => access_token(ALL_SCOPES),
        ORGANIZATION => organization(),
        TEAMS => page(vec![team(1)], request, None),
        MEMBERS => page(vec![member(1)], request, None),
        path if path == format!("{TEAMS}/{}/members", uuid(1)) => {
            page(vec![team_member(1)], request, None)
        }
        GRAPHQL => gql_members(vec![gql_member(1, "User 1", no_teams())], false, None),
        _ => unmatched(request),
    }
}

/// `plain_org`'s GraphQL endpoint replaced by `graphql`.
fn org_with_graphql(
    scopes: &'static [&'static str],
    graphql: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |request: &Request| match request.path() {
        ACCESS_TOKEN => access_token(scopes),
        GRAPHQL => graphql(request),
        _ => plain_org(request),
    }
}

/// Every request to the teams list gets `reply`; the rest is a plain organization.
fn teams_answer(
    reply: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |request: &Request| match request.path() {
        TEAMS => reply(request),
        _ => plain_org(request),
    }
}

// ---------------------------------------------------------------------------------------
// Rate-limit headers: extreme, negative, garbage, dates
// ---------------------------------------------------------------------------------------

/// Defect 1: `Retry-After: 1e30` on a 429 panicked. Now: unusable, no wait invented.
#[tokio::test]
async fn retry_after_1e30_on_429_is_unusable_and_no_wait_is_invented() {
    let mut s = Scenario::start(teams_answer(|_| {
        Reply::json(429, &json!({ "message": "Slow down" })).header("Retry-After", "1e30")
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), None, "{error}");
    assert!(error.message().contains("unusable"), "{error}");
    assert!(!error.to_string().contains("retry after"), "{error}");
    assert_eq!(error.status(), Some(429));
    // Retried with the ordinary backoff (never a 1e30 s or an invented 60 s wait).
    assert_eq!(s.server.hits(TEAMS), RETRIES as usize + 1);
    assert!(
        s.sleeper.longest() < Duration::from_secs(1),
        "{:?}",
        s.sleeper.delays()
    );
    s.finish();
}

/// Defect 1 on a success: `Retry-After: 1e30` on a 200 panicked before the body was read.
#[tokio::test]
async fn retry_after_1e30_on_200_is_ignored() {
    let mut s = Scenario::start(teams_answer(|request| {
        page(vec![team(1)], request, None).header("Retry-After", "1e30")
    }))
    .await;
    let bk = s.directory();
    for _ in 0..2 {
        let result = bounded(bk.list_groups(&ListQuery::new())).await;
        let groups = s.succeeds(result);
        assert_eq!(groups.result.len(), 1);
    }
    assert_eq!(s.server.hits(TEAMS), 2);
    assert!(s.sleeper.delays().is_empty(), "{:?}", s.sleeper.delays());
    s.finish();
}

/// Negative, NaN, absurd and non-decimal budgets on a 200: the call succeeds and no later
/// call waits.
#[tokio::test]
async fn garbage_negative_nan_and_huge_ratelimit_headers_on_200_are_unknown() {
    let mut s = Scenario::start(teams_answer(|request| {
        page(vec![team(1)], request, None)
            .header("RateLimit-Remaining", "-1")
            .header("RateLimit-Limit", "NaN")
            .header("RateLimit-Reset", "1e400")
            .header("RateLimit-User-Remaining", "0")
            .header("RateLimit-User-Reset", "99999999999999999999")
            .header("RateLimit-User-Limit", "0x10")
            .header("Retry-After", "-inf")
    }))
    .await;
    let bk = s.directory();
    for _ in 0..3 {
        let result = bounded(bk.list_groups(&ListQuery::new())).await;
        s.succeeds(result);
    }
    assert_eq!(s.server.hits(TEAMS), 3);
    assert!(s.sleeper.delays().is_empty(), "{:?}", s.sleeper.delays());
    assert!(
        s.observer.notices().is_empty(),
        "{:?}",
        s.observer.notices()
    );
    s.finish();
}

/// Garbage on a 429: `RateLimited` without a wait, saying the headers were unusable.
#[tokio::test]
async fn garbage_ratelimit_headers_on_429_are_reported_unusable() {
    let mut s = Scenario::start(teams_answer(|_| {
        Reply::json(429, &json!({ "message": "Too many requests" }))
            .header("RateLimit-Remaining", "0")
            .header("RateLimit-Reset", "-30")
            .header("RateLimit-User-Reset", "NaN")
            .header("Retry-After", "soon-ish")
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), None, "{error}");
    assert!(error.message().contains("unusable"), "{error}");
    assert!(s.sleeper.longest() < Duration::from_secs(1));
    s.finish();
}

/// A reset of a whole day on a 200 is advice, not an order (issue 16, A3): the next call is
/// neither parked for the hour nor refused; it is sent, and the provider's answer decides.
#[tokio::test]
async fn huge_valid_reset_on_a_200_is_neither_sat_out_nor_refused() {
    let mut s = Scenario::start(teams_answer(|request| {
        page(vec![team(1)], request, None)
            .header("RateLimit-Remaining", "0")
            .header("RateLimit-Reset", "86400")
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    s.succeeds(result);
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    s.succeeds(result);
    assert_eq!(s.server.hits(TEAMS), 2, "the second call is sent");
    assert!(s.sleeper.delays().is_empty(), "{:?}", s.sleeper.delays());
    s.finish();
}

/// `Retry-After` as an HTTP date: waited out (on the recording sleeper), the wait reported
/// to the observer, and the retry succeeds.
#[tokio::test]
async fn http_date_retry_after_is_waited_out_and_reported() {
    let calls = Arc::new(AtomicU16::new(0));
    let seen = Arc::clone(&calls);
    let mut s = Scenario::start(teams_answer(move |request| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
            Reply::json(429, &json!({ "message": "Slow down" })).header("Retry-After", &at)
        } else {
            page(vec![team(1)], request, None)
        }
    }))
    .await;
    let bk = s
        .builder()
        .with_retry_policy(RetryPolicy {
            operation_deadline: Duration::from_secs(120),
            ..policy()
        })
        .build()
        .expect("directory");
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    s.succeeds(result);
    assert_eq!(s.server.hits(TEAMS), 2);
    let waited = s.sleeper.longest();
    assert!(
        (Duration::from_secs(25)..=Duration::from_secs(31)).contains(&waited),
        "{:?}",
        s.sleeper.delays()
    );
    let notices = s.observer.notices();
    assert!(
        notices.iter().any(|n| n.reason == WaitReason::RateLimit
            && n.duration >= Duration::from_secs(25)
            && n.text.contains("rate limit")),
        "{notices:?}"
    );
    s.finish();
}

/// An HTTP date three days ahead is past the one-day bound: unusable, not a wait.
#[tokio::test]
async fn far_future_http_date_is_unusable() {
    let mut s = Scenario::start(teams_answer(|_| {
        let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3 * 86_400));
        Reply::json(429, &json!({ "message": "Slow down" })).header("Retry-After", &at)
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), None, "{error}");
    assert!(error.message().contains("unusable"), "{error}");
    s.finish();
}

/// A bare 429 (and one whose text names an absurd number of seconds): no invented wait.
#[tokio::test]
async fn bare_429_invents_no_wait() {
    let messages = Arc::new(AtomicU16::new(0));
    let which = Arc::clone(&messages);
    let mut s = Scenario::start(teams_answer(move |_| {
        let text = match which.load(Ordering::SeqCst) {
            0 => "Slow down",
            _ => "You have exceeded your API rate limit. Please wait 99999999999999 seconds",
        };
        Reply::json(429, &json!({ "message": text }))
    }))
    .await;
    let bk = s.directory();
    for round in 0..2 {
        messages.store(round, Ordering::SeqCst);
        let result = bounded(bk.list_groups(&ListQuery::new())).await;
        let error = s.fails(result, ErrorKind::RateLimited);
        assert_eq!(error.retry_after(), None, "{error}");
        assert!(error.message().contains("did not say when"), "{error}");
        assert!(!error.to_string().contains("retry after"), "{error}");
    }
    s.finish();
}

/// The token echoed in rate-limit headers (and a custom header) never reaches the error.
#[tokio::test]
async fn token_echoed_in_response_headers_stays_out() {
    let mut s = Scenario::start(teams_answer(|_| {
        Reply::json(429, &json!({ "message": "Slow down" }))
            .header("Retry-After", CANARY)
            .header("RateLimit-Reset", &format!("Bearer {CANARY}"))
            .header("RateLimit-Scope", CANARY)
            .header("X-Echo", &format!("Bearer {CANARY}"))
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::RateLimited);
    assert_eq!(error.retry_after(), None);
    assert!(error.message().contains("unusable"), "{error}");
    s.finish();
}

// ---------------------------------------------------------------------------------------
// The token echoed back in provider text
// ---------------------------------------------------------------------------------------

/// REST `message` carrying the token, raw and as `Bearer …`, on 401/403/404/422/500.
#[tokio::test]
async fn token_echoed_in_rest_messages_is_scrubbed() {
    let status = Arc::new(AtomicU16::new(401));
    let current = Arc::clone(&status);
    let mut s = Scenario::start(teams_answer(move |_| {
        let message = format!(
            "Authentication required for token {CANARY} (header was Authorization: Bearer {CANARY})"
        );
        Reply::json(
            current.load(Ordering::SeqCst),
            &json!({ "message": message }),
        )
    }))
    .await;
    let bk = s.directory();
    for (code, kind) in [
        (401, ErrorKind::Unauthenticated),
        (403, ErrorKind::PermissionDenied),
        (404, ErrorKind::NotFound),
        (422, ErrorKind::InvalidInput),
        (500, ErrorKind::Upstream),
    ] {
        status.store(code, Ordering::SeqCst);
        let result = bounded(bk.list_groups(&ListQuery::new())).await;
        let error = s.fails(result, kind);
        assert_eq!(error.status(), Some(code), "{error}");
        if code < 500 {
            // The provider's text is kept (so the echo really reached the error) but scrubbed.
            assert!(error.message().contains("[REDACTED]"), "{code}: {error}");
            assert!(
                error.message().contains("Authentication required"),
                "{error}"
            );
        }
    }
    s.finish();
}

/// GraphQL `errors[].message` carrying the token: on a 200 and on a 401.
#[tokio::test]
async fn token_echoed_in_graphql_errors_is_scrubbed() {
    let status = Arc::new(AtomicU16::new(200));
    let current = Arc::clone(&status);
    let mut s = Scenario::start(org_with_graphql(ALL_SCOPES, move |_| {
        Reply::json(
            current.load(Ordering::SeqCst),
            &json!({ "errors": [
                { "message": format!("Token {CANARY} may not run UnidirMembers (Bearer {CANARY})") },
                { "message": CANARY },
            ] }),
        )
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::Upstream);
    assert!(error.message().contains("[REDACTED]"), "{error}");
    assert!(error.message().contains("may not run"), "{error}");
    status.store(401, Ordering::SeqCst);
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::Unauthenticated);
    assert!(error.message().contains("[REDACTED]"), "{error}");
    s.finish();
}

/// A wrongly typed REST field whose value is the token: the error names the field and the
/// expected type, never the value.
#[tokio::test]
async fn wrongly_typed_rest_field_carrying_the_token_is_named_not_quoted() {
    let mut s = Scenario::start(teams_answer(|request| {
        let mut bad = team(1);
        bad["default"] = json!(CANARY);
        page(vec![bad], request, None)
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert!(error.message().contains("`default`"), "{error}");
    assert!(error.message().contains("expected a boolean"), "{error}");
    s.finish();
}

/// The same in a GraphQL member node (`user.bot` holding the token).
#[tokio::test]
async fn wrongly_typed_graphql_field_carrying_the_token_is_named_not_quoted() {
    let mut s = Scenario::start(org_with_graphql(ALL_SCOPES, |_| {
        let mut node = gql_member(1, "User 1", no_teams());
        node["user"]["bot"] = json!(CANARY);
        gql_members(vec![node], false, None)
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert!(error.message().contains("user.bot"), "{error}");
    assert!(error.message().contains("expected a boolean"), "{error}");
    s.finish();
}

/// A 5 MB value in a wrongly typed field, and a 5 MB REST `message` with the token at its
/// end: errors stay short and the token stays out.
#[tokio::test]
async fn five_megabyte_values_keep_errors_short() {
    let huge = "x".repeat(5 * 1024 * 1024);
    let which = Arc::new(AtomicU16::new(0));
    let current = Arc::clone(&which);
    let mut s = Scenario::start(teams_answer(move |request| {
        if current.load(Ordering::SeqCst) == 0 {
            let mut bad = team(1);
            bad["privacy"] = json!({ "value": format!("{huge}{CANARY}") });
            page(vec![bad], request, None)
        } else {
            Reply::json(
                422,
                &json!({ "message": format!("\u{1b}[2J{huge}{CANARY}") }),
            )
        }
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert!(error.to_string().len() < 600, "{}", error.to_string().len());
    assert!(error.message().contains("`privacy`"), "{error}");
    which.store(1, Ordering::SeqCst);
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::InvalidInput);
    assert!(
        format!("{error:?}").len() < 1_000,
        "{}",
        format!("{error:?}").len()
    );
    assert!(error.message().starts_with("\\u{1b}[2J"), "{error}");
    s.finish();
}

/// A `Link` whose page number is the token: refused without quoting it.
#[tokio::test]
async fn token_in_a_link_header_is_not_quoted() {
    let mut s = Scenario::start(teams_answer(|request| {
        page(vec![team(1)], request, None).header(
            "Link",
            &format!(
                "<https://api.buildkite.com{TEAMS}?page={CANARY}&token={CANARY}>; rel=\"next\""
            ),
        )
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert!(error.message().contains("no valid page number"), "{error}");
    s.finish();
}

// ---------------------------------------------------------------------------------------
// Malformed bodies
// ---------------------------------------------------------------------------------------

/// Invalid JSON, truncated JSON (with a correct length) and an empty body on a 200.
#[tokio::test]
async fn invalid_and_truncated_json_are_contract_violations() {
    let bodies: Arc<Mutex<Vec<&'static str>>> = Arc::new(Mutex::new(vec![
        "{not json",
        "[{\"id\":\"00000000-0000-4000-8000-000000000001\",\"name\":\"Pla",
        "",
    ]));
    let current = Arc::clone(&bodies);
    let mut s = Scenario::start(teams_answer(move |_| {
        let body = current.lock().expect("lock")[0];
        Reply::raw_json(200, body)
    }))
    .await;
    let bk = s.directory();
    for _ in 0..3 {
        let result = bounded(bk.list_groups(&ListQuery::new())).await;
        let error = s.fails(result, ErrorKind::ContractViolation);
        assert!(
            error.message().contains("not valid JSON") || error.message().contains("list"),
            "{error}"
        );
        bodies.lock().expect("lock").remove(0);
    }
    assert_eq!(s.server.hits(TEAMS), 3, "a malformed 200 is not retried");
    s.finish();
}

/// An HTML page on a 200 (echoing the token, as a login page might), REST and GraphQL.
#[tokio::test]
async fn html_200_is_a_contract_violation() {
    let html = format!(
        "<!DOCTYPE html><html><body><h1>Sign in</h1><!-- Bearer {CANARY} --></body></html>"
    );
    let graphql_html = html.clone();
    let mut s = Scenario::start(move |request: &Request| match request.path() {
        ACCESS_TOKEN => access_token(ALL_SCOPES),
        GRAPHQL => Reply::html(200, &graphql_html),
        TEAMS => Reply::html(200, &html),
        _ => plain_org(request),
    })
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert!(error.message().contains("not valid JSON"), "{error}");
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert!(error.message().contains("not valid JSON"), "{error}");
    s.finish();
}

/// JSON of the wrong shape: an object, `null` or a number where a list is expected.
#[tokio::test]
async fn wrong_json_shapes_are_contract_violations() {
    let bodies: Arc<Mutex<Vec<&'static str>>> = Arc::new(Mutex::new(vec![
        "{\"teams\":[]}",
        "null",
        "42",
        "[1, \"two\", null]",
    ]));
    let current = Arc::clone(&bodies);
    let mut s = Scenario::start(teams_answer(move |_| {
        Reply::raw_json(200, current.lock().expect("lock")[0])
    }))
    .await;
    let bk = s.directory();
    for _ in 0..4 {
        let result = bounded(bk.list_groups(&ListQuery::new())).await;
        s.fails(result, ErrorKind::ContractViolation);
        bodies.lock().expect("lock").remove(0);
    }
    s.finish();
}

/// GraphQL of the wrong shape: `members` a list, `data` null without errors, a node null.
#[tokio::test]
async fn wrong_graphql_shapes_are_contract_violations() {
    let bodies = Arc::new(Mutex::new(vec![
        json!({ "data": { "organization": { "members": [] } } }),
        json!({ "data": null }),
        json!({ "data": { "organization": { "members": {
            "pageInfo": { "hasNextPage": false }, "edges": [ { "node": null } ] } } } }),
        json!({ "data": { "organization": { "members": {
            "pageInfo": { "hasNextPage": "yes" }, "edges": [] } } } }),
    ]));
    let current = Arc::clone(&bodies);
    let mut s = Scenario::start(org_with_graphql(ALL_SCOPES, move |_| {
        Reply::json(200, &current.lock().expect("lock")[0])
    }))
    .await;
    let bk = s.directory();
    for _ in 0..4 {
        let result = bounded(bk.list_users(&ListQuery::new())).await;
        s.fails(result, ErrorKind::ContractViolation);
        bodies.lock().expect("lock").remove(0);
    }
    s.finish();
}

// ---------------------------------------------------------------------------------------
// Huge and endless bodies, hangs
// ---------------------------------------------------------------------------------------

const CAP: usize = 256 * 1024;

/// A body over the cap, declared (`Content-Length`) or not (chunked).
#[tokio::test]
async fn huge_bodies_are_refused_at_the_cap() {
    let chunked = Arc::new(AtomicU16::new(0));
    let current = Arc::clone(&chunked);
    let mut s = Scenario::start(teams_answer(move |_| {
        let body = format!("[{}]", vec![team(1).to_string(); 2_000].join(","));
        let reply = Reply::raw_json(200, body);
        if current.load(Ordering::SeqCst) == 0 {
            reply
        } else {
            reply.chunked()
        }
    }))
    .await;
    let bk = s
        .builder()
        .with_max_body_bytes(CAP)
        .build()
        .expect("directory");
    for mode in 0..2 {
        chunked.store(mode, Ordering::SeqCst);
        let result = bounded(bk.list_groups(&ListQuery::new())).await;
        let error = s.fails(result, ErrorKind::ContractViolation);
        assert!(
            error.message().contains(&format!("{CAP}-byte limit")),
            "{error}"
        );
    }
    assert_eq!(s.server.hits(TEAMS), 2, "an oversized body is not retried");
    s.finish();
}

/// A chunked body that never ends: refused at the cap; the client stops reading, so the
/// server could only push about the cap plus what socket buffers hold.
#[tokio::test]
async fn endless_chunked_body_is_cut_at_the_cap() {
    let mut s = Scenario::start(teams_answer(|_| Reply::endless())).await;
    let bk = s
        .builder()
        .with_max_body_bytes(CAP)
        .build()
        .expect("directory");
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert!(error.message().contains("byte limit"), "{error}");
    // The server's endless write ends only when the client hangs up.
    bounded(async {
        while s.server.finished() < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let sent = s.server.bytes_sent();
    assert!(sent < 64 * 1024 * 1024, "{sent} bytes sent");
    s.finish();
}

/// A server that accepts and never answers: the operation deadline ends the call with an
/// `Upstream` error naming it.
#[tokio::test]
async fn silent_server_ends_at_the_operation_deadline() {
    let mut s = Scenario::start(teams_answer(|_| Reply::hang())).await;
    let bk = s
        .builder()
        .with_retry_policy(RetryPolicy {
            max_retries: 50,
            ..policy()
        })
        .build()
        .expect("directory");
    let started = Instant::now();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::Upstream);
    assert!(
        error.message().contains("operation deadline of 2s"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        s.server.hits(TEAMS) >= 2,
        "attempts are retried until the deadline"
    );
    s.finish();
}

/// Headers, then part of the body, then nothing (a stall) or a close: `Upstream` in bounded
/// time.
#[tokio::test]
async fn hang_or_close_mid_body_is_an_upstream_failure() {
    let close = Arc::new(AtomicU16::new(0));
    let current = Arc::clone(&close);
    let mut s = Scenario::start(teams_answer(move |_| {
        let body = Value::Array(vec![team(1), team(2)]).to_string();
        let reply = Reply::raw_json(200, body);
        if current.load(Ordering::SeqCst) == 0 {
            reply.hang_after(20)
        } else {
            reply.close_after(20)
        }
    }))
    .await;
    let bk = s.directory();
    for mode in 0..2 {
        close.store(mode, Ordering::SeqCst);
        let started = Instant::now();
        let result = bounded(bk.list_groups(&ListQuery::new())).await;
        let error = s.fails(result, ErrorKind::Upstream);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        if mode == 1 {
            assert!(
                error.message().contains("cut short") || error.message().contains("failed"),
                "{error}"
            );
        }
    }
    s.finish();
}

// ---------------------------------------------------------------------------------------
// Link headers: loops, jumps, huge pages, other hosts, redirects
// ---------------------------------------------------------------------------------------

/// `next` pointing at the same page, jumping ahead, at page 4294967295, or past u32: all
/// refused on the first page, before any further request.
#[tokio::test]
async fn link_loops_jumps_and_huge_pages_are_refused() {
    let links = Arc::new(Mutex::new(vec![
        ("1", "is not the page after page 1"),
        ("5", "is not the page after page 1"),
        ("4294967295", "is not the page after page 1"),
        ("99999999999999999999", "no valid page number"),
        ("0", "no valid page number"),
        ("-1", "no valid page number"),
    ]));
    let current = Arc::clone(&links);
    let mut s = Scenario::start(teams_answer(move |request| {
        let next = current.lock().expect("lock")[0].0;
        page(vec![team(1)], request, None).header(
            "Link",
            &format!("<https://api.buildkite.com{TEAMS}?page={next}&per_page=100>; rel=\"next\""),
        )
    }))
    .await;
    let bk = s.directory();
    for round in 0..6 {
        let expected = links.lock().expect("lock")[0].1;
        let result = bounded(bk.groups(ListQuery::new()).try_collect::<Vec<Group>>()).await;
        let error = s.fails(result, ErrorKind::ContractViolation);
        assert!(error.message().contains(expected), "{error}");
        assert_eq!(
            s.server.hits(TEAMS),
            round + 1,
            "only the first page is read"
        );
        links.lock().expect("lock").remove(0);
    }
    assert!(s.server.requests().iter().all(|r| r.page() == 1));
    s.finish();
}

/// A `Link` to another host (one that would reach the elsewhere listener, and an https
/// one): the adapter reads only the page number and rebuilds the URL from its base.
#[tokio::test]
async fn off_host_links_are_never_followed() {
    let mut s = Scenario::start_with(|port| {
        move |request: &Request| match (request.path(), request.page()) {
            (TEAMS, 1) => page(vec![team(1)], request, None).header(
                "Link",
                &format!("<http://evil.test:{port}{TEAMS}?page=2&per_page=100>; rel=\"next\""),
            ),
            (TEAMS, 2) => page(vec![team(2)], request, None).header(
                "Link",
                &format!("<https://evil.test{TEAMS}?page=3&per_page=100>; rel=\"next\""),
            ),
            (TEAMS, 3) => page(vec![team(3)], request, None).header(
                "Link",
                &format!("<//evil.test:{port}{TEAMS}?page=4>; rel=\"next\""),
            ),
            (TEAMS, _) => page(vec![], request, None),
            _ => plain_org(request),
        }
    })
    .await;
    let bk = s.directory();
    let result = bounded(bk.groups(ListQuery::new()).try_collect::<Vec<Group>>()).await;
    let groups = s.succeeds(result);
    assert_eq!(groups.len(), 3);
    let pages: Vec<u64> = s
        .server
        .requests()
        .iter()
        .filter(|r| r.path() == TEAMS)
        .map(Request::page)
        .collect();
    assert_eq!(pages, [1, 2, 3, 4]);
    s.finish();
}

/// A redirect to another host is not followed (the token would go with it).
#[tokio::test]
async fn redirects_are_not_followed() {
    let mut s = Scenario::start_with(|port| {
        move |request: &Request| match request.path() {
            TEAMS => Reply::json(302, &json!({}))
                .header("Location", &format!("http://evil.test:{port}{TEAMS}")),
            _ => plain_org(request),
        }
    })
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::Upstream);
    assert!(error.message().contains("redirect"), "{error}");
    s.finish();
}

// ---------------------------------------------------------------------------------------
// Endless pages, flat and nested
// ---------------------------------------------------------------------------------------

/// Page n of the teams list holds team n and links to page n + 1, forever.
fn endless_teams(request: &Request) -> Reply {
    let n = request.page();
    page(vec![team(n)], request, Some(n + 1))
}

fn assert_walk_bound(error: &Error) {
    assert!(error.message().contains(&MAX_PAGES.to_string()), "{error}");
    assert!(error.message().contains("max_pages"), "{error}");
}

/// `groups`: a fresh next link on every page stops at the page bound.
#[tokio::test]
async fn endless_groups_walk_stops_at_max_pages() {
    let mut s = Scenario::start(teams_answer(endless_teams)).await;
    let bk = s.directory();
    let result = bounded(bk.groups(ListQuery::new()).try_collect::<Vec<Group>>()).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert_walk_bound(&error);
    assert!(
        s.server.hits(TEAMS) <= MAX_PAGES as usize + 1,
        "{}",
        s.server.hits(TEAMS)
    );
    s.finish();
}

/// `users` over REST: the internal walk of every team (for team roles) is bounded too.
#[tokio::test]
async fn endless_rest_users_walk_stops_at_max_pages() {
    let mut s = Scenario::start(move |request: &Request| match request.path() {
        ACCESS_TOKEN => access_token(REST_SCOPES),
        TEAMS => endless_teams(request),
        path if path.starts_with(TEAMS) => page(vec![], request, None),
        _ => plain_org(request),
    })
    .await;
    let bk = s.directory();
    let result = bounded(bk.users(ListQuery::new()).try_collect::<Vec<_>>()).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert_walk_bound(&error);
    assert!(s.server.hits(TEAMS) <= MAX_PAGES as usize + 1);
    assert_eq!(s.server.graphql_requests(), 0);
    s.finish();
}

/// `members` of one group: endless member pages stop at the page bound.
#[tokio::test]
async fn endless_group_members_walk_stops_at_max_pages() {
    let path = format!("{TEAMS}/{}/members", uuid(1));
    let members_path = path.clone();
    let mut s = Scenario::start(move |request: &Request| {
        if request.path() == members_path {
            let n = request.page();
            page(vec![team_member(n)], request, Some(n + 1))
        } else {
            plain_org(request)
        }
    })
    .await;
    let bk = s.directory();
    let group = uuid(1);
    let result = bounded(
        bk.group_members(&group, ListQuery::new())
            .try_collect::<Vec<_>>(),
    )
    .await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert_walk_bound(&error);
    assert!(s.server.hits(&path) <= MAX_PAGES as usize + 1);
    s.finish();
}

/// GraphQL members with a fresh `endCursor` on every page: the stream stops at the bound.
#[tokio::test]
async fn endless_graphql_pages_stop_at_max_pages() {
    let mut s = Scenario::start(org_with_graphql(ALL_SCOPES, |request| {
        let n: u64 = request
            .variable("after")
            .and_then(|a| a.as_str().and_then(|a| a.strip_prefix('c')?.parse().ok()))
            .unwrap_or(0);
        let end = format!("c{}", n + 1);
        gql_members(
            vec![gql_member(n + 1, "User", no_teams())],
            true,
            Some(&end),
        )
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.users(ListQuery::new()).try_collect::<Vec<_>>()).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert_walk_bound(&error);
    assert!(s.server.graphql_requests() <= MAX_PAGES as usize + 1);
    s.finish();
}

/// One member whose nested team list never ends, inside a single GraphQL page.
#[tokio::test]
async fn endless_nested_team_list_is_bounded() {
    let mut s = Scenario::start(org_with_graphql(ALL_SCOPES, |request| {
        match request.operation().as_deref() {
            Some("UnidirMemberTeams") => {
                let n: u64 = request
                    .variable("after")
                    .and_then(|a| a.as_str().and_then(|a| a.strip_prefix('t')?.parse().ok()))
                    .unwrap_or(0);
                Reply::json(
                    200,
                    &json!({ "data": { "organizationMember": { "teams": {
                        "count": 1_000_000,
                        "pageInfo": { "hasNextPage": true, "endCursor": format!("t{}", n + 1) },
                        "edges": [team_edge(n + 10)],
                    } } } }),
                )
            }
            _ => {
                let teams = json!({ "count": 1_000_000,
                    "pageInfo": { "hasNextPage": true, "endCursor": "t1" },
                    "edges": [team_edge(1)] });
                gql_members(vec![gql_member(1, "User 1", teams)], false, None)
            }
        }
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert_walk_bound(&error);
    assert!(s.server.graphql_requests() <= MAX_PAGES as usize + 2);
    s.finish();
}

/// A nested team list that repeats its `endCursor`: refused at the repeat.
#[tokio::test]
async fn nested_team_list_repeating_its_cursor_is_refused() {
    let mut s = Scenario::start(org_with_graphql(ALL_SCOPES, |request| {
        match request.operation().as_deref() {
            Some("UnidirMemberTeams") => Reply::json(
                200,
                &json!({ "data": { "organizationMember": { "teams": {
                    "pageInfo": { "hasNextPage": true, "endCursor": "t1" },
                    "edges": [team_edge(2)],
                } } } }),
            ),
            _ => {
                let teams = json!({ "pageInfo": { "hasNextPage": true, "endCursor": "t1" },
                    "edges": [team_edge(1)] });
                gql_members(vec![gql_member(1, "User 1", teams)], false, None)
            }
        }
    }))
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    let error = s.fails(result, ErrorKind::ContractViolation);
    assert!(
        error.message().contains("repeated its endCursor"),
        "{error}"
    );
    assert_eq!(s.server.graphql_requests(), 2);
    s.finish();
}

// ---------------------------------------------------------------------------------------
// Duplicates across pages
// ---------------------------------------------------------------------------------------

/// Page 1 holds teams 1 and 2, page 2 holds 2 (shifted) and 3.
fn shifting_teams(request: &Request) -> Reply {
    match request.page() {
        1 => page(vec![team(1), team(2)], request, Some(2)),
        2 => page(vec![team(2), team(3)], request, None),
        _ => page(vec![], request, None),
    }
}

/// Streams emit each group once; `Walker` counts the dropped duplicate.
#[tokio::test]
async fn duplicate_ids_across_pages_are_emitted_once_and_counted() {
    let mut s = Scenario::start(teams_answer(shifting_teams)).await;
    let bk = s.directory();
    let walker = Walker::new(bk.walk_limits());
    let stats = walker.stats();
    let directory = &bk;
    let stream = walker.items(ListQuery::new().with_limit(2), move |q| async move {
        directory.list_groups(&q).await
    });
    let result = bounded(stream.try_collect::<Vec<Group>>()).await;
    let groups = s.succeeds(result);
    let ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, [uuid(1), uuid(2), uuid(3)]);
    assert_eq!(stats.duplicates(), 1);
    assert_eq!(stats.items(), 3);
    assert_eq!(stats.pages(), 2);
    // The DirectoryExt stream does the same.
    let result = bounded(
        bk.groups(ListQuery::new().with_limit(2))
            .try_collect::<Vec<Group>>(),
    )
    .await;
    assert_eq!(s.succeeds(result).len(), 3);
    s.finish();
}

/// The adapter's own walks (the team index behind REST users) drop repeats too, and say so
/// (a `Repeats` report, also logged).
#[tokio::test]
async fn duplicates_inside_internal_walks_are_dropped_and_logged() {
    let team_members = format!("{TEAMS}/{}/members", uuid(2));
    let mut s = Scenario::start(move |request: &Request| match request.path() {
        ACCESS_TOKEN => access_token(REST_SCOPES),
        TEAMS => shifting_teams(request),
        MEMBERS => page(vec![member(1)], request, None),
        path if path == team_members => page(vec![team_member(1)], request, None),
        path if path.starts_with(TEAMS) => page(vec![], request, None),
        _ => unmatched(request),
    })
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    let users = s.succeeds(result);
    assert_eq!(users.result.len(), 1);
    let groups: Vec<&str> = users.result[0]
        .groups
        .iter()
        .map(|g| g.id.as_str())
        .collect();
    assert_eq!(
        groups,
        [uuid(2)],
        "team 2 appears on two pages but is one membership"
    );
    let logs = s.logs.text();
    assert!(logs.contains("came again on a later page"), "{logs}");
    let reports = s.observer.reports();
    assert!(
        reports
            .iter()
            .any(|r| r.kind == unidir_http::ReportKind::Repeats && r.count == 1),
        "reported, not only logged: {reports:?}"
    );
    s.finish();
}

/// GraphQL pages that repeat a member: emitted once.
#[tokio::test]
async fn duplicate_members_across_graphql_pages_are_emitted_once() {
    let mut s = Scenario::start(org_with_graphql(ALL_SCOPES, |request| {
        match request
            .variable("after")
            .and_then(|a| a.as_str().map(str::to_owned))
        {
            None => gql_members(
                vec![
                    gql_member(1, "A", no_teams()),
                    gql_member(2, "B", no_teams()),
                ],
                true,
                Some("p1"),
            ),
            Some(_) => gql_members(
                vec![
                    gql_member(2, "B", no_teams()),
                    gql_member(3, "C", no_teams()),
                ],
                false,
                Some("p2"),
            ),
        }
    }))
    .await;
    let bk = s.directory();
    let walker = Walker::new(bk.walk_limits());
    let stats = walker.stats();
    let directory = &bk;
    let stream = walker.items(ListQuery::new().with_limit(2), move |q| async move {
        directory.list_users(&q).await
    });
    let result = bounded(stream.try_collect::<Vec<_>>()).await;
    let users = s.succeeds(result);
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, [uuid(1), uuid(2), uuid(3)]);
    assert_eq!(stats.duplicates(), 1);
    s.finish();
}

// ---------------------------------------------------------------------------------------
// Control characters, ANSI and bidi
// ---------------------------------------------------------------------------------------

const NASTY: &str = "\u{1b}[31mRed\u{1b}[0m\r\nfake: line\u{202e}txt.exe\u{2066}\u{7}";

/// Names keep their exact text in the unified objects (and their JSON); provider text in
/// errors is escaped.
#[tokio::test]
async fn control_ansi_and_bidi_are_exact_in_data_and_escaped_in_errors() {
    let mut s = Scenario::start(move |request: &Request| match request.path() {
        ACCESS_TOKEN => access_token(ALL_SCOPES),
        TEAMS => {
            let mut nasty = team(1);
            nasty["name"] = json!(NASTY);
            nasty["description"] = json!(NASTY);
            page(vec![nasty], request, None)
        }
        GRAPHQL => gql_members(vec![gql_member(1, NASTY, no_teams())], false, None),
        path if path == format!("{TEAMS}/{}", uuid(9)) => {
            Reply::json(404, &json!({ "message": format!("No team {NASTY} found") }))
        }
        _ => plain_org(request),
    })
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    let groups = s.succeeds(result);
    assert_eq!(groups.result[0].name, NASTY);
    let json = serde_json::to_value(&groups.result[0]).expect("json");
    assert_eq!(json["name"], NASTY);
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    let users = s.succeeds(result);
    assert_eq!(users.result[0].name.as_deref(), Some(NASTY));
    let result = bounded(bk.get_group(&uuid(9), &GetOptions::default())).await;
    let error = s.fails(result, ErrorKind::NotFound);
    assert!(error.message().contains("\\u{1b}[31mRed"), "{error}");
    assert!(error.message().contains("\\u{202e}"), "{error}");
    s.finish();
}

// ---------------------------------------------------------------------------------------
// Cleartext
// ---------------------------------------------------------------------------------------

/// `http://evil.test:PORT`, where `evil.test` resolves to the hostile server, is refused at
/// build (REST and GraphQL URL alike) with no connection; explicitly allowed, the same URL
/// reaches the server (so the resolver override works and the zero is meaningful).
#[tokio::test]
async fn cleartext_to_a_name_is_refused_before_any_connection() {
    let mut s = Scenario::start(plain_org).await;
    let port = s.server.port();
    let addr = s.server.addr();
    let client = move || {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve("evil.test", addr)
            .build()
            .expect("client")
    };
    let evil = format!("http://evil.test:{port}");
    for (rest, graphql) in [
        (evil.clone(), format!("{}{GRAPHQL}", s.server.url())),
        (s.server.url(), format!("{evil}{GRAPHQL}")),
    ] {
        let result = s
            .builder()
            .with_reqwest_client(client())
            .with_rest_url(rest)
            .with_graphql_url(graphql)
            .build();
        let error = s.fails(result, ErrorKind::InvalidInput);
        assert!(error.message().contains("https"), "{error}");
        assert_eq!(error.operation(), "build");
    }
    assert_eq!(s.server.connections(), 0, "the listener saw a connection");

    // Control: opted in, the same name reaches the listener.
    let bk = s
        .builder()
        .with_reqwest_client(client())
        .with_rest_url(evil.clone())
        .allow_plain_http(true)
        .build()
        .expect("plain http allowed explicitly");
    let result = bounded(bk.list_groups(&ListQuery::new())).await;
    s.succeeds(result);
    // The team page, then the organization (read once, for `organization_id`).
    let requests = s.server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].path(), ORGANIZATION);
    assert_eq!(
        requests[0].host(),
        Some(format!("evil.test:{port}").as_str())
    );
    assert_eq!(s.elsewhere.connections(), 0);
    // `finish` checks the Host of every request against the loopback origin; this one was
    // configured as evil.test on purpose.
    s.assert_no_canary();
}

// ---------------------------------------------------------------------------------------
// Choosing GraphQL
// ---------------------------------------------------------------------------------------

/// "GraphQL access is not enabled" as a 200 error: REST serves the call, and later calls
/// do not try GraphQL again.
#[tokio::test]
async fn graphql_not_enabled_200_error_falls_back_to_rest() {
    let mut s = Scenario::start(org_with_graphql(ALL_SCOPES, |_| {
        Reply::json(
            200,
            &json!({ "errors": [{ "message": "GraphQL access is not enabled for this API access token" }] }),
        )
    }))
    .await;
    let bk = s.directory();
    for _ in 0..2 {
        let result = bounded(bk.list_users(&ListQuery::new())).await;
        let users = s.succeeds(result);
        assert_eq!(users.result.len(), 1);
        assert_eq!(users.result[0].groups.len(), 1, "team roles come from REST");
    }
    assert_eq!(s.server.graphql_requests(), 1);
    assert_eq!(s.server.hits(MEMBERS), 2);
    s.finish();
}

/// A token whose scopes lack `graphql`: REST only, not one GraphQL request (list, e-mail
/// lookup, get, capabilities).
#[tokio::test]
async fn scopes_without_graphql_mean_rest_only() {
    let member_path = format!("{MEMBERS}/{}", uuid(1));
    let membership_path = format!("{TEAMS}/{}/members/{}", uuid(1), uuid(1));
    let mut s = Scenario::start(move |request: &Request| match request.path() {
        ACCESS_TOKEN => access_token(REST_SCOPES),
        GRAPHQL => Reply::json(500, &json!({ "message": "GraphQL must not be called" })),
        path if path == member_path => Reply::json(200, &member(1)),
        path if path == membership_path => Reply::json(200, &team_member(1)),
        _ => plain_org(request),
    })
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    assert_eq!(s.succeeds(result).result.len(), 1);
    let result = bounded(bk.list_users(&ListQuery::new().with_email("u1@acme.example"))).await;
    assert_eq!(s.succeeds(result).result.len(), 1);
    let result = bounded(bk.get_user(&uuid(1), &GetOptions::default())).await;
    let user = s.succeeds(result);
    assert_eq!(user.groups.len(), 1);
    let result = bounded(bk.capabilities()).await;
    let capabilities = s.succeeds(result);
    assert!(
        capabilities
            .notes
            .iter()
            .any(|n| n.contains("GraphQL is not available")),
        "{:?}",
        capabilities.notes
    );
    assert_eq!(s.server.graphql_requests(), 0);
    assert_eq!(s.server.hits(GRAPHQL), 0);
    s.finish();
}

/// The scope list unreadable (403): GraphQL is tried, its 403 "doesn't have the graphql
/// scope" is the second line, and REST serves the call.
#[tokio::test]
async fn graphql_403_is_the_second_line() {
    let mut s = Scenario::start(move |request: &Request| match request.path() {
        ACCESS_TOKEN => Reply::json(403, &json!({ "message": "Forbidden" })),
        GRAPHQL => Reply::json(
            403,
            &json!({ "errors": [{ "message": "Your access token doesn't have the graphql scope" }] }),
        ),
        _ => plain_org(request),
    })
    .await;
    let bk = s.directory();
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    assert_eq!(s.succeeds(result).result.len(), 1);
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    s.succeeds(result);
    assert_eq!(s.server.graphql_requests(), 1);
    assert_eq!(s.server.hits(ACCESS_TOKEN), 1);
    s.finish();
}

/// `GraphqlMode::Disabled` is honoured although the scopes include `graphql`.
#[tokio::test]
async fn graphql_disabled_is_honoured() {
    let mut s = Scenario::start(plain_org).await;
    let bk = s
        .builder()
        .with_graphql(GraphqlMode::Disabled)
        .build()
        .expect("directory");
    let result = bounded(bk.list_users(&ListQuery::new())).await;
    s.succeeds(result);
    assert_eq!(s.server.graphql_requests(), 0);
    s.finish();
}

// ---------------------------------------------------------------------------------------
// Forged cursors
// ---------------------------------------------------------------------------------------

/// `cursor` re-encoded with `edit` applied to its JSON and the checksum recomputed the way
/// anyone can (it is not a signature).
fn forge(cursor: &Cursor, edit: impl FnOnce(&mut Value)) -> Cursor {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_str()).expect("base64url");
    let mut wire: Value = serde_json::from_slice(&bytes).expect("cursor JSON");
    edit(&mut wire);
    // The cursor's checksum material: `l` (the walk's page size) only when it carries one.
    let material = match wire.get("l") {
        Some(l) => json!([wire["v"], wire["p"], wire["r"], wire["q"], wire["s"], l]),
        None => json!([wire["v"], wire["p"], wire["r"], wire["q"], wire["s"]]),
    };
    let digest = Sha256::digest(material.to_string().as_bytes());
    wire["c"] = json!(
        digest[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    Cursor::new(URL_SAFE_NO_PAD.encode(wire.to_string()))
}

/// Forged cursors with a recomputed checksum: a huge page, ESC in the provider name, another
/// provider, a 2,900-character or escape-laden state. Each is `InvalidCursor`, quotes
/// nothing it decoded, and sends no request. A forged cursor that is merely another valid
/// page is accepted (so the forgery itself is sound and the refusals are about content).
#[tokio::test]
async fn forged_cursors_are_refused_without_echo_or_requests() {
    let mut s = Scenario::start(teams_answer(|request| {
        let n = request.page();
        page(vec![team(n)], request, (n < 3).then_some(n + 1))
    }))
    .await;
    let bk = s.directory();
    let first = bounded(bk.list_groups(&ListQuery::new().with_limit(1))).await;
    let first = s.succeeds(first);
    let genuine = first.next_cursor.expect("a next page");
    let long = "A".repeat(2_900);
    let forgeries: Vec<(&str, Cursor)> = vec![
        (
            "page 4294967295",
            forge(&genuine, |w| {
                w["s"] = json!({ "m": "rest", "p": 4_294_967_295u64, "n": 1 })
            }),
        ),
        (
            "page size 4294967295",
            forge(&genuine, |w| {
                w["s"] = json!({ "m": "rest", "p": 2, "n": 4_294_967_295u64 })
            }),
        ),
        (
            "ESC in the provider",
            forge(&genuine, |w| w["p"] = json!("build\u{1b}[2Jkite")),
        ),
        (
            "another provider",
            forge(&genuine, |w| w["p"] = json!("gitlab")),
        ),
        (
            "2,900 characters",
            forge(&genuine, |w| {
                w["s"] = json!({ "m": "gql", "a": long, "b": null })
            }),
        ),
        (
            "escapes in the state",
            forge(
                &genuine,
                |w| w["s"] = json!({ "m": "gql", "a": "\u{1b}]52;c;\u{7}\r\n\u{202e}", "b": null }),
            ),
        ),
        (
            "a GraphQL position on a REST list",
            forge(&genuine, |w| {
                w["s"] = json!({ "m": "gql", "a": "Mg", "b": null })
            }),
        ),
    ];
    let before = s.server.requests().len();
    for (what, cursor) in &forgeries {
        let result =
            bounded(bk.list_groups(&ListQuery::new().with_limit(1).with_cursor(cursor.clone())))
                .await;
        let error = s.fails(result, ErrorKind::InvalidCursor);
        let text = format!("{error} {error:?}");
        for decoded in ["4294967295", "gitlab", "AAAAAAAAAA", "[2J", "52;c", "Mg"] {
            assert!(!text.contains(decoded), "{what}: {text}");
        }
        assert!(text.len() < 700, "{what}: {}", text.len());
    }
    assert_eq!(
        s.server.requests().len(),
        before,
        "a forged cursor sent a request"
    );
    // Control: the same forgery of a legitimate page works.
    let page3 = forge(&genuine, |w| {
        w["s"] = json!({ "m": "rest", "p": 3, "n": 1 })
    });
    let result = bounded(bk.list_groups(&ListQuery::new().with_limit(1).with_cursor(page3))).await;
    let groups = s.succeeds(result);
    assert_eq!(groups.result[0].id, uuid(3));
    s.finish();
}

/// A provider `endCursor` that cannot round-trip through a unidir cursor (escape sequences,
/// or 5,000 characters): the walk fails as the provider's contract violation, not as the
/// caller's invalid cursor, and nothing of it is echoed.
#[tokio::test]
async fn unusable_provider_end_cursors_are_contract_violations() {
    let ends = Arc::new(Mutex::new(vec![
        "\u{1b}[2Jcursor".to_owned(),
        "C".repeat(5_000),
    ]));
    let current = Arc::clone(&ends);
    let mut s = Scenario::start(org_with_graphql(ALL_SCOPES, move |request| {
        match request.variable("after") {
            Some(Value::String(_)) => {
                gql_members(vec![gql_member(2, "B", no_teams())], false, None)
            }
            _ => {
                let end = current.lock().expect("lock")[0].clone();
                gql_members(vec![gql_member(1, "A", no_teams())], true, Some(&end))
            }
        }
    }))
    .await;
    let bk = s.directory();
    for _ in 0..2 {
        let result = bounded(bk.users(ListQuery::new()).try_collect::<Vec<_>>()).await;
        let error = s.fails(result, ErrorKind::ContractViolation);
        assert!(!error.to_string().contains("CCCCCCCCCC"), "{error}");
        ends.lock().expect("lock").remove(0);
    }
    s.finish();
}
