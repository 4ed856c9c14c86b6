//! `--deadline` bounds the whole command, not each request: against a server that answers
//! every request, but each only after a while, a command of many requests ends at its
//! deadline with exit 7 and a message naming it (it used to restart the deadline for every
//! request and run for the sum of them).
//!
//! Not a timed test: it asserts the exit code and the message; real time is spent only
//! because the upstream is slow on purpose (a few seconds).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use unidir_http::testing::hostile::{HostileServer, Reply, Request};

const TOKEN: &str = "bkua_deadline_test_0123456789abcdef0123456789abcdef";
const TEAMS: &str = "/v2/organizations/acme-inc/teams";
/// Pages of teams, each answered after [`DELAY`]: the whole list takes far longer than the
/// deadline, every request far less.
const PAGES: u64 = 12;
const DELAY: Duration = Duration::from_millis(700);

fn team(n: u64) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{n:012x}"), "name": format!("Team {n}"),
        "slug": format!("team-{n}"), "description": null, "privacy": "visible",
        "default": false, "created_at": "2024-11-07T13:22:40.051Z",
    })
}

fn slow(request: &Request) -> Reply {
    // Blocks this server's own runtime thread, not the binary under test.
    std::thread::sleep(DELAY);
    let page = request.page();
    if request.path() == "/v2/access-token" {
        return Reply::json(
            200,
            &json!({ "uuid": "t", "scopes": ["read_organizations", "read_teams"] }),
        );
    }
    if request.path() != TEAMS {
        return Reply::json(599, &json!({ "message": "unexpected" }));
    }
    let reply = Reply::json(200, &json!([team(page)]));
    if page < PAGES {
        reply.header(
            "Link",
            &format!(
                "<http://127.0.0.1{TEAMS}?page={}&per_page=100>; rel=\"next\"",
                page + 1
            ),
        )
    } else {
        reply
    }
}

#[test]
fn the_deadline_bounds_the_whole_command_not_each_request() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime.block_on(HostileServer::start(slow));
    let url = server.url();
    let mut command = Command::new(env!("CARGO_BIN_EXE_unidir"));
    for var in [
        "BUILDKITE_API_TOKEN",
        "BUILDKITE_ORGANIZATION",
        "UNIDIR_API_URL",
        "UNIDIR_GRAPHQL_URL",
        "UNIDIR_DEADLINE",
    ] {
        command.env_remove(var);
    }
    command
        .env("BUILDKITE_API_TOKEN", TOKEN)
        .args(["--org", "acme-inc", "--api-url", &url])
        .args(["--graphql-url", &format!("{url}/v1")])
        .args(["groups", "--deadline", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().expect("run unidir");
    let mut stderr = child.stderr.take().expect("stderr");
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    // A generous safety net only (the sum of the requests is ≈ 9 s); never asserted on.
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("unidir did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = err.join().expect("stderr");
    assert_eq!(status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("deadline of 3s"), "{stderr}");
    assert!(
        stderr.contains("whole command"),
        "the message says the deadline is the command's: {stderr}"
    );
    // It stopped early: the server never saw the last page asked for.
    let asked = server
        .requests()
        .iter()
        .map(Request::page)
        .max()
        .unwrap_or(0);
    assert!(asked < PAGES, "every page was read: {asked}");
}
