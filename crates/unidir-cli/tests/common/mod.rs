//! Running the built `unidir` binary, alone (the built-in simulator) or against a simulator
//! started by the test.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::Value;
use unidir_buildkite_sim::{RunningSimulator, SimConfig, Simulator};

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
}

impl Run {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub(crate) fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// The binary with a clean environment.
pub(crate) fn unidir() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_unidir"));
    for var in ENV {
        command.env_remove(var);
    }
    command
}

pub(crate) fn finish(command: &mut Command) -> Run {
    let output = command.output().expect("run unidir");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `unidir ARGS` with no token: the built-in simulator.
pub(crate) fn embedded(args: &[&str]) -> Run {
    finish(unidir().args(args))
}

/// A simulator running in this test process, on its own runtime.
pub(crate) struct Sim {
    sim: Option<RunningSimulator>,
    runtime: tokio::runtime::Runtime,
}

impl Sim {
    pub(crate) fn start(config: SimConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let config = config
            .with_org_budget_per_minute(1_000_000)
            .with_user_budget_per_minute(1_000_000)
            .with_graphql_budget(100_000_000, 100_000_000);
        let sim = runtime
            .block_on(Simulator::start(config))
            .expect("simulator");
        Self {
            sim: Some(sim),
            runtime,
        }
    }

    pub(crate) fn sim(&self) -> &RunningSimulator {
        self.sim.as_ref().expect("running")
    }

    /// The binary pointed at this simulator with `token` (arguments still to add).
    pub(crate) fn command_with(&self, token: &str) -> Command {
        let sim = self.sim();
        let mut command = unidir();
        command
            .env("BUILDKITE_API_TOKEN", token)
            .args(["--org", sim.org_slug()])
            .args(["--api-url", sim.base_url().as_str()])
            .args(["--graphql-url", sim.graphql_url().as_str()]);
        command
    }

    /// `unidir ARGS` against this simulator with `token`.
    pub(crate) fn run_with(&self, token: &str, args: &[&str]) -> Run {
        finish(self.command_with(token).args(args))
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with(self.sim().default_token(), args)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.take() {
            self.runtime.block_on(sim.shutdown());
        }
    }
}

pub(crate) fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("unidir-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub(crate) fn array(value: &Value) -> &Vec<Value> {
    value.as_array().expect("a JSON array")
}
