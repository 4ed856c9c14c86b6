//! The `unidir` binary against a hostile Buildkite stand-in (the server of the workspace's
//! hostile suite, `unidir_http::testing::hostile`): the token echoed back in error text, terminal
//! escapes in names, a server that never answers, unusable rate-limit headers, and a
//! cleartext URL to a non-loopback address.
//!
//! Every run asserts the exit code of the README's table, that the canary token is absent
//! from stdout and stderr, that the run ended within its bound, and that every request the
//! server saw was addressed to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use unidir_http::testing::hostile::{HostileServer, Reply, Request};

const CANARY: &str = "bkua_CANARY_hostile_cli_0e1d2c3b4a5968778695a4b3c2d1e0f9";
const ORG: &str = "acme-inc";
const TEAMS: &str = "/v2/organizations/acme-inc/teams";
const GRAPHQL: &str = "/v1";
/// Bound of an ordinary run (retries with real backoff included).
const BOUND: Duration = Duration::from_secs(60);

/// Variables that would change what the binary connects to.
const ENV: [&str; 4] = [
    "BUILDKITE_API_TOKEN",
    "BUILDKITE_ORGANIZATION",
    "UNIDIR_API_URL",
    "UNIDIR_GRAPHQL_URL",
];

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// A hostile server on its own runtime, for as long as the test runs the binary.
struct Upstream {
    server: HostileServer,
    _runtime: tokio::runtime::Runtime,
}

impl Upstream {
    fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let server = runtime.block_on(HostileServer::start(handler));
        Self {
            server,
            _runtime: runtime,
        }
    }

    /// `unidir --org acme-inc --api-url <server> --graphql-url <server>/v1 ARGS` with the
    /// canary token, killed (and the test failed) past `bound`.
    fn run(&self, args: &[&str], bound: Duration) -> Run {
        let url = self.server.url();
        let mut command = Command::new(env!("CARGO_BIN_EXE_unidir"));
        for var in ENV {
            command.env_remove(var);
        }
        command
            .env("BUILDKITE_API_TOKEN", CANARY)
            .args(["--org", ORG, "--api-url", &url])
            .args(["--graphql-url", &format!("{url}{GRAPHQL}")])
            .args(args);
        let run = run_bounded(command, bound);
        self.check(&run);
        run
    }

    /// The checks every run ends with.
    fn check(&self, run: &Run) {
        assert!(
            !run.stdout.contains(CANARY),
            "the token leaked to stdout:\n{}",
            run.stdout
        );
        assert!(
            !run.stderr.contains(CANARY),
            "the token leaked to stderr:\n{}",
            run.stderr
        );
        let host = self.server.host();
        for request in self.server.requests() {
            assert_eq!(request.host(), Some(host.as_str()), "{request:?}");
        }
    }
}

/// Runs `command`, killing it past `bound`.
fn run_bounded(mut command: Command, bound: Duration) -> Run {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run unidir");
    // Drain both pipes on their own threads so a chatty child never blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "unidir did not exit within {bound:?}; stderr so far:\n{}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().expect("stdout"),
        stderr: err.join().expect("stderr"),
        elapsed: started.elapsed(),
    }
}

fn uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn team(n: u64, name: &str) -> Value {
    json!({
        "id": uuid(n), "name": name, "slug": format!("team-{n}"), "description": null,
        "privacy": "visible", "default": false, "default_member_role": "member",
        "created_at": "2024-11-07T13:22:40.051Z",
    })
}

fn access_token() -> Reply {
    Reply::json(
        200,
        &json!({ "uuid": uuid(999), "scopes": ["read_user", "read_organizations", "read_teams", "graphql"] }),
    )
}

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
