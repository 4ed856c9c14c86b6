//! The hostile-upstream harness of the CLI's tests: a Buildkite stand-in on a raw socket
//! (`unidir_http::testing::hostile`) on its own runtime, and the binary run against it with
//! a canary token, bounded in time, with the checks every run ends with.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use unidir_http::testing::hostile::{HostileServer, Reply, Request};

pub(crate) const CANARY: &str = "bkua_CANARY_hostile_cli_0e1d2c3b4a5968778695a4b3c2d1e0f9";
pub(crate) const ORG: &str = "acme-inc";
pub(crate) const TEAMS: &str = "/v2/organizations/acme-inc/teams";
pub(crate) const GRAPHQL: &str = "/v1";
/// Bound of an ordinary run (retries with real backoff included).
pub(crate) const BOUND: Duration = Duration::from_secs(60);

/// Variables that would change what the binary connects to.
pub(crate) const ENV: [&str; 4] = [
    "BUILDKITE_API_TOKEN",
    "BUILDKITE_ORGANIZATION",
    "UNIDIR_API_URL",
    "UNIDIR_GRAPHQL_URL",
];

#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) elapsed: Duration,
}

/// A hostile server on its own runtime, for as long as the test runs the binary.
pub(crate) struct Upstream {
    pub(crate) server: HostileServer,
    _runtime: tokio::runtime::Runtime,
}

impl Upstream {
    pub(crate) fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
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
    pub(crate) fn run(&self, args: &[&str], bound: Duration) -> Run {
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
    pub(crate) fn check(&self, run: &Run) {
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
pub(crate) fn run_bounded(mut command: Command, bound: Duration) -> Run {
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

pub(crate) fn uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

pub(crate) fn team(n: u64, name: &str) -> Value {
    json!({
        "id": uuid(n), "name": name, "slug": format!("team-{n}"), "description": null,
        "privacy": "visible", "default": false, "default_member_role": "member",
        "created_at": "2024-11-07T13:22:40.051Z",
    })
}

pub(crate) fn access_token() -> Reply {
    Reply::json(
        200,
        &json!({ "uuid": uuid(999), "scopes": ["read_user", "read_organizations", "read_teams", "graphql"] }),
    )
}
