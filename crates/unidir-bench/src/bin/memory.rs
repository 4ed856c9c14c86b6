//! `memory`: peak resident memory of the release `unidir` binary reading whole organizations.
//!
//! ```sh
//! cargo build --release -p unidir-cli
//! cargo run --release -p unidir-bench --bin memory
//! ```
//!
//! The simulator (unlimited budgets) runs inside this process, so only `unidir`'s own memory
//! is measured: `unidir users --ndjson` (stdout discarded) and `unidir export --out DIR` run as
//! child processes pointed at it with `BUILDKITE_API_TOKEN`, `--api-url`, `--graphql-url` and
//! `--org`, with a token that has the `graphql` scope and one that has not (REST only). The
//! child's `VmHWM` (`/proc/<pid>/status`) is polled every 2 ms until it exits; the last value
//! read is its peak.

#![allow(clippy::print_stdout)] // The report is the program's output.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use unidir_bench::measure::{peak_rss_kib, secs};
use unidir_buildkite_sim::{RunningSimulator, SimConfig, SimToken, Simulator};

/// A token of the token's user without the `graphql` scope.
const REST_ONLY_TOKEN: &str = "bkua_bench_rest_only_token";

#[derive(Debug, Parser)]
#[command(
    name = "memory",
    about = "Peak RSS of `unidir users --ndjson` and `unidir export`"
)]
struct Args {
    /// The `unidir` binary (default: next to this one, i.e. target/release/unidir).
    #[arg(long)]
    unidir: Option<PathBuf>,
    /// Organization sizes as USERS:TEAMS, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000:100,10000:1000,50000:2000"
    )]
    sizes: Vec<String>,
}

fn main() -> std::process::ExitCode {
    unidir_bench::run_main("memory", run(Args::parse()))
}

fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let (u, t) = text
        .split_once(':')
        .ok_or_else(|| format!("size {text:?} is not USERS:TEAMS"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|e| format!("size {text:?}: {e}"))
    };
    Ok((parse(u)?, parse(t)?))
}

/// One measured command.
#[derive(Debug)]
struct Measured {
    peak_kib: u64,
    wall: Duration,
    ok: bool,
    stderr_tail: String,
}

async fn run(args: Args) -> Result<(), String> {
    let unidir = match args.unidir {
        Some(path) => path,
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("unidir"),
    };
    if !unidir.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p unidir-cli` or pass --unidir",
            unidir.display()
        ));
    }
    let sizes = args
        .sizes
        .iter()
        .map(|s| parse_size(s))
        .collect::<Result<Vec<_>, _>>()?;
    println!(
        "# unidir memory benchmark\n\nPeak RSS (VmHWM) of the `unidir` binary; the simulator (unlimited) runs in the benchmark's process.\n"
    );
    println!(
        "| users / teams | command | token | requests (REST + GraphQL) | peak RSS | wall | exit |"
    );
    println!("|---|---|---|---:|---:|---:|---|");
    let mut rows: Vec<(String, usize, u64)> = Vec::new();
    for (users, teams) in sizes {
        let config = SimConfig::unlimited()
            .with_users(users)
            .with_teams(teams)
            .with_token(SimToken::new(
                REST_ONLY_TOKEN,
                ["read_user", "read_organizations", "read_teams"],
                0,
            ));
        let sim = Simulator::start(config).await.map_err(|e| e.to_string())?;
        for (token_label, token) in [
            ("graphql", sim.default_token().to_owned()),
            ("REST only", REST_ONLY_TOKEN.to_owned()),
        ] {
            for command in ["users --ndjson", "export"] {
                let before = sim.stats();
                let measured = measure(&unidir, &sim, &token, command).await?;
                let after = sim.stats();
                let label = format!("`unidir {command}`");
                println!(
                    "| {users} / {teams} | {label} | {token_label} | {} + {} | {:.1} MiB | {} | {} |",
                    after.rest_requests - before.rest_requests,
                    after.graphql_requests - before.graphql_requests,
                    measured.peak_kib as f64 / 1024.0,
                    secs(measured.wall),
                    if measured.ok {
                        "0".to_owned()
                    } else {
                        format!("failed: {}", measured.stderr_tail.replace(['\n', '|'], " "))
                    }
                );
                eprintln!(
                    "  {users}/{teams} {command} ({token_label}): {:.1} MiB in {}",
                    measured.peak_kib as f64 / 1024.0,
                    secs(measured.wall)
                );
                rows.push((format!("{label}, {token_label}"), users, measured.peak_kib));
            }
        }
        sim.shutdown().await;
    }
    // Growth from the smallest to the largest organization, per command.
    println!("\n| command | peak at smallest | peak at largest | largest ÷ smallest |");
    println!("|---|---:|---:|---:|");
    let mut labels: Vec<&String> = rows.iter().map(|(l, _, _)| l).collect();
    labels.dedup();
    labels.sort();
    labels.dedup();
    for label in labels {
        let mine: Vec<&(String, usize, u64)> = rows.iter().filter(|r| &r.0 == label).collect();
        let (Some(small), Some(large)) = (
            mine.iter().min_by_key(|r| r.1),
            mine.iter().max_by_key(|r| r.1),
        ) else {
            continue;
        };
        println!(
            "| {label} | {:.1} MiB | {:.1} MiB | {:.2}× |",
            small.2 as f64 / 1024.0,
            large.2 as f64 / 1024.0,
            large.2 as f64 / small.2.max(1) as f64
        );
    }
    Ok(())
}

/// Runs `unidir COMMAND` against the simulator and polls its peak RSS until it exits.
async fn measure(
    unidir: &PathBuf,
    sim: &RunningSimulator,
    token: &str,
    command: &str,
) -> Result<Measured, String> {
    let out_dir = std::env::temp_dir().join(format!(
        "unidir-bench-export-{}-{}",
        std::process::id(),
        sim.addr().port()
    ));
    let mut cmd = Command::new(unidir);
    cmd.args(command.split_whitespace());
    if command == "export" {
        cmd.arg("--out").arg(&out_dir);
    }
    cmd.args(["--org", sim.org_slug()])
        .args(["--api-url", sim.base_url().as_str()])
        .args(["--graphql-url", sim.graphql_url().as_str()])
        .env("BUILDKITE_API_TOKEN", token)
        .env_remove("BUILDKITE_ORGANIZATION")
        .env_remove("UNIDIR_API_URL")
        .env_remove("UNIDIR_GRAPHQL_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", unidir.display()))?;
    // The simulator keeps serving on the runtime while this thread polls.
    let measured = tokio::task::spawn_blocking(move || {
        let pid = child.id();
        let mut stderr = child.stderr.take();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(err) = stderr.as_mut() {
                let _ = err.read_to_string(&mut text);
            }
            text
        });
        let mut peak = 0;
        let status = loop {
            if let Some(kib) = peak_rss_kib(pid) {
                peak = peak.max(kib);
            }
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(_) => break None,
            }
        };
        let wall = start.elapsed();
        let stderr = reader.join().unwrap_or_default();
        let tail: String = stderr.lines().rev().take(2).collect::<Vec<_>>().join(" / ");
        Measured {
            peak_kib: peak,
            wall,
            ok: status.is_some_and(|s| s.success()),
            stderr_tail: tail,
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&out_dir);
    Ok(measured)
}
