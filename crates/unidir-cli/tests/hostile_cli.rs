//! The `unidir` binary against a hostile Buildkite stand-in (the server of the workspace's
//! hostile suite, `unidir_http::testing::hostile`): the token echoed back in error text, terminal
//! escapes in names, a server that never answers, unusable rate-limit headers, and a
//! cleartext URL to a non-loopback address.
//!
//! Every run asserts the exit code of the README's table, that the canary token is absent
//! from stdout and stderr, that the run ended within its bound, and that every request the
//! server saw was addressed to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod hostile_support;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use unidir_http::testing::hostile::Reply;

use hostile_support::*;

const NASTY: &str = "\u{1b}[31mRed\u{1b}[0m\r\nfake: line\u{202e}txt.exe\u{7}";

/// Whether `text` holds a character that can change what a terminal shows (ESC, CR, BEL,
/// bidi overrides); newlines between lines are fine.
fn has_raw_control(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// REST `message` echoing the token: never printed, and the exit code follows the status.
#[test]
fn token_echoed_in_rest_errors_is_never_printed() {
    let status = std::sync::Arc::new(std::sync::atomic::AtomicU16::new(401));
    let current = std::sync::Arc::clone(&status);
    let upstream = Upstream::start(move |_| {
        Reply::json(
            current.load(std::sync::atomic::Ordering::SeqCst),
            &json!({ "message": format!("No team found for {CANARY} (Authorization: Bearer {CANARY})") }),
        )
    });
    for (http, exit) in [(401, 3), (403, 4), (404, 5), (422, 2), (500, 7)] {
        status.store(http, std::sync::atomic::Ordering::SeqCst);
        for format in [None, Some("--json")] {
            let mut args = vec!["groups"];
            args.extend(format);
            let run = upstream.run(&args, BOUND);
            assert_eq!(run.code, exit, "HTTP {http} {format:?}: {run:?}");
            assert!(run.stdout.is_empty(), "{run:?}");
            if http == 403 {
                // The provider's text is shown (so the echo really reached the CLI), scrubbed.
                assert!(run.stderr.contains("[REDACTED]"), "{run:?}");
            }
        }
    }
}

/// GraphQL `errors[].message` echoing the token: exit 7, never printed.
#[test]
fn token_echoed_in_graphql_errors_is_never_printed() {
    let upstream = Upstream::start(|request| match request.path() {
        "/v2/access-token" => access_token(),
        GRAPHQL => Reply::json(
            200,
            &json!({ "errors": [{ "message": format!("Token {CANARY} may not query members") }] }),
        ),
        _ => Reply::json(599, &json!({ "message": "unexpected" })),
    });
    let run = upstream.run(&["users"], BOUND);
    assert_eq!(run.code, 7, "{run:?}");
    assert!(run.stderr.contains("[REDACTED]"), "{run:?}");
}

/// Terminal escapes and bidi overrides in names are escaped in tables and kept exact in
/// JSON.
#[test]
fn escapes_in_names_are_neutralised_in_tables_and_exact_in_json() {
    let upstream = Upstream::start(|request| match request.path() {
        TEAMS => Reply::json(200, &json!([team(1, NASTY)])),
        _ => Reply::json(599, &json!({ "message": "unexpected" })),
    });
    let run = upstream.run(&["groups", "--json"], BOUND);
    assert_eq!(run.code, 0, "{run:?}");
    let groups: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(groups[0]["name"], NASTY);
    let run = upstream.run(&["groups"], BOUND);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !has_raw_control(&run.stdout),
        "raw control or bidi characters reached the table: {:?}",
        run.stdout
    );
    assert!(run.stdout.contains("Red"), "{run:?}");
}

/// A 429 whose `Retry-After` is garbage: exit 6, and the message does not invent a wait.
#[test]
fn rate_limit_with_garbage_retry_after_exits_6_without_an_invented_wait() {
    let upstream = Upstream::start(|_| {
        Reply::json(429, &json!({ "message": "Slow down" })).header("Retry-After", "1e30")
    });
    let run = upstream.run(&["groups"], BOUND);
    assert_eq!(run.code, 6, "{run:?}");
    let stderr = run.stderr.to_ascii_lowercase();
    assert!(!stderr.contains("in a minute"), "{run:?}");
    assert!(!stderr.contains("retry after"), "{run:?}");
    assert!(stderr.contains("unusable"), "{run:?}");
}

/// Plain HTTP to an address that is not loopback (`0.0.0.0` reaches local listeners) is
/// refused before any connection: exit 2.
#[test]
fn cleartext_to_a_non_loopback_address_is_refused() {
    let upstream = Upstream::start(|_| Reply::json(200, &json!([])));
    let url = format!("http://0.0.0.0:{}", upstream.server.port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_unidir"));
    for var in ENV {
        command.env_remove(var);
    }
    command
        .env("BUILDKITE_API_TOKEN", CANARY)
        .args(["--org", ORG, "--api-url", &url])
        .args(["--graphql-url", &format!("{url}{GRAPHQL}"), "groups"]);
    let run = run_bounded(command, BOUND);
    upstream.check(&run);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("https"), "{run:?}");
    assert_eq!(
        upstream.server.connections(),
        0,
        "the listener saw a connection"
    );
}

/// A server that accepts and never answers: the binary exits with 7 within the documented
/// operation deadline (`--deadline`, 600 s by default), having said on stderr what it is
/// waiting for.
#[test]
fn silent_upstream_exits_within_the_deadline() {
    let upstream = Upstream::start(|_| Reply::hang());
    let run = upstream.run(&["groups", "--deadline", "4"], Duration::from_secs(60));
    assert_eq!(run.code, 7, "{run:?}");
    assert!(run.elapsed < Duration::from_secs(20), "{:?}", run.elapsed);
    let stderr = run.stderr.to_ascii_lowercase();
    assert!(
        stderr.contains("still waiting for the provider"),
        "nothing on stderr said what the CLI was waiting for: {run:?}"
    );
    assert!(stderr.contains("deadline of 4s"), "{run:?}");
}

/// Rows that shift onto the next page while the list is read are printed once, and stderr
/// says how many were dropped.
#[test]
fn duplicates_across_pages_are_printed_once_with_a_warning() {
    let upstream = Upstream::start(|request| match (request.path(), request.page()) {
        (TEAMS, 1) => Reply::json(200, &json!([team(1, "one"), team(2, "two")])).header(
            "Link",
            "<http://127.0.0.1/v2/organizations/acme-inc/teams?page=2&per_page=100>; rel=\"next\"",
        ),
        (TEAMS, 2) => Reply::json(200, &json!([team(2, "two"), team(3, "three")])),
        _ => Reply::json(599, &json!({ "message": "unexpected" })),
    });
    for format in ["--ndjson", "--json"] {
        let run = upstream.run(&["groups", format], BOUND);
        assert_eq!(run.code, 0, "{run:?}");
        let ids: Vec<String> = if format == "--json" {
            let all: Vec<Value> = serde_json::from_str(&run.stdout).expect("JSON");
            all.iter()
                .map(|g| g["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        } else {
            run.stdout
                .lines()
                .map(|l| {
                    serde_json::from_str::<Value>(l).expect("line")["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        };
        assert_eq!(ids, [uuid(1), uuid(2), uuid(3)], "{format}");
        assert!(
            run.stderr
                .contains("1 groups appeared on more than one page"),
            "{run:?}"
        );
    }
}

/// A rate-limit reset longer than two seconds is announced on stderr with its wait.
#[test]
fn a_rate_limit_wait_is_announced() {
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&calls);
    let upstream = Upstream::start(move |request| match request.path() {
        TEAMS if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 => {
            Reply::json(429, &json!({ "message": "Slow down" })).header("Retry-After", "3")
        }
        TEAMS => Reply::json(200, &json!([team(1, "one")])),
        _ => Reply::json(599, &json!({ "message": "unexpected" })),
    });
    let run = upstream.run(&["groups", "--ndjson"], BOUND);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("rate limit reached; waiting 3s"),
        "{run:?}"
    );
    assert_eq!(run.stdout.lines().count(), 1, "{run:?}");
}
