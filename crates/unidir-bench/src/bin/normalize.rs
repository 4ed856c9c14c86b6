//! `normalize`: how fast unidir turns Buildkite JSON into unified objects, per core.
//!
//! ```sh
//! cargo run --release -p unidir-bench --bin normalize -- --users 10000 --teams 1000
//! ```
//!
//! Measured end to end, as a caller sees it: every page of `list_users` against an unlimited
//! simulator, so the number covers HTTP, JSON decoding, mapping and cursor handling. The
//! simulator runs on its own thread and runtime; the walk runs on a single-threaded runtime
//! on the main thread, whose CPU time (`/proc/thread-self/schedstat`) is the denominator.
//! Each walk uses a fresh directory, as one command does. MB/s = response bytes the simulator
//! sent during the walk / that CPU time.
//!
//! Then normalization alone: the same GraphQL member pages, fetched raw beforehand, go through
//! the adapter's own decoding and mapping (`unidir_buildkite::normalize`), without HTTP. For
//! scale, the same pages are parsed into `serde_json::Value` alone.

#![allow(clippy::print_stdout)] // The report is the program's output.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures::TryStreamExt;
use serde_json::{Value, json};
use unidir_bench::measure::{median_min, secs, thread_cpu};
use unidir_buildkite::{Buildkite, GraphqlMode};
use unidir_buildkite_sim::{RunningSimulator, SimConfig, Simulator};
use unidir_core::{DirectoryExt, ListQuery};

/// The adapter's own members query, to fetch the same pages raw for the reference parse.
const MEMBERS_QUERY: &str = include_str!("../../../unidir-buildkite/src/graphql/members.graphql");

#[derive(Debug, Parser)]
#[command(
    name = "normalize",
    about = "Buildkite JSON to unified objects: MB/s per core"
)]
struct Args {
    /// Members of the simulated organization.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Teams of the simulated organization.
    #[arg(long, default_value_t = 1_000)]
    teams: usize,
    /// Measured walks per path (after one warm-up walk).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    reps: u32,
}

/// One measured walk.
#[derive(Debug, Clone, Copy)]
struct Sample {
    bytes: u64,
    cpu: Duration,
    wall: Duration,
    users: usize,
}

impl Sample {
    fn mb_per_s(&self) -> u64 {
        // Whole MB/s (10^6 bytes) is precise enough and keeps the samples orderable.
        (self.bytes as f64 / 1e6 / self.cpu.as_secs_f64().max(1e-9)).round() as u64
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("normalize: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Serves an unlimited simulator from a thread of its own until `stop` is dropped.
fn serve(
    config: SimConfig,
) -> Result<(Arc<RunningSimulator>, std::sync::mpsc::Sender<()>), String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ready_tx.send(Err(e.to_string()));
                return;
            }
        };
        let started = runtime.block_on(Simulator::start(config));
        match started {
            Ok(sim) => {
                let sim = Arc::new(sim);
                let _ = ready_tx.send(Ok(Arc::clone(&sim)));
                // Keep the runtime (and so the server) alive until told to stop.
                let _ = stop_rx.recv();
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e.to_string()));
            }
        }
    });
    let sim = ready_rx
        .recv()
        .map_err(|_| "the simulator thread ended".to_owned())??;
    Ok((sim, stop_tx))
}

fn run(args: &Args) -> Result<(), String> {
    let config = SimConfig::unlimited()
        .with_users(args.users)
        .with_teams(args.teams);
    let (sim, stop) = serve(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "# unidir normalize benchmark\n\n{} users, {} teams, unlimited simulator on another thread; the walk on one thread.\n",
        args.users, args.teams
    );
    println!(
        "| path | JSON received per walk | users | CPU per walk | wall per walk | MB/s per core, median (min) | µs CPU per user |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, mode) in [
        ("`list_users`, GraphQL", GraphqlMode::Auto),
        ("`list_users`, REST only", GraphqlMode::Disabled),
    ] {
        let samples = runtime.block_on(walks(&sim, mode, args.reps))?;
        report(label, &samples);
    }
    let pages = runtime.block_on(member_pages(&sim))?;
    let directory = Buildkite::builder()
        .with_token(sim.default_token())
        .with_organization(sim.org_slug())
        .build()
        .map_err(|e| e.to_string())?;
    report(
        "normalization alone: the same GraphQL pages, decoded and mapped to users (no HTTP)",
        &time_pages(&pages, args.reps, |page| {
            unidir_buildkite::normalize::users_from_members_body(&directory, page)
                .map(|users| std::hint::black_box(users).len())
                .map_err(|e| e.to_string())
        })?,
    );
    report(
        "reference: the same pages parsed into `serde_json::Value` only",
        &time_pages(&pages, args.reps, |page| {
            let value: Value = serde_json::from_slice(page).map_err(|e| e.to_string())?;
            let users = value["data"]["organization"]["members"]["edges"]
                .as_array()
                .map_or(0, Vec::len);
            std::hint::black_box(&value);
            Ok(users)
        })?,
    );
    drop(stop);
    Ok(())
}

fn report(label: &str, samples: &[Sample]) {
    let rates: Vec<u64> = samples.iter().map(Sample::mb_per_s).collect();
    let cpus: Vec<Duration> = samples.iter().map(|s| s.cpu).collect();
    let walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    let (Some((rate, rate_min)), Some((cpu, _)), Some((wall, _)), Some(first)) = (
        median_min(&rates),
        median_min(&cpus),
        median_min(&walls),
        samples.first(),
    ) else {
        return;
    };
    let per_user = if first.users > 0 {
        format!("{:.1}", cpu.as_secs_f64() * 1e6 / first.users as f64)
    } else {
        "—".to_owned()
    };
    println!(
        "| {label} | {:.1} MB | {} | {} | {} | {rate} ({rate_min}) | {per_user} |",
        first.bytes as f64 / 1e6,
        first.users,
        secs(cpu),
        secs(wall),
    );
}

/// A warm-up walk, then `reps` measured ones.
async fn walks(
    sim: &RunningSimulator,
    mode: GraphqlMode,
    reps: u32,
) -> Result<Vec<Sample>, String> {
    let mut samples = Vec::new();
    for rep in 0..=reps {
        // A fresh directory each time: a cold walk as a command runs it (the REST path
        // reads its team index again).
        let dir = Buildkite::builder()
            .with_token(sim.default_token())
            .with_organization(sim.org_slug())
            .with_rest_url(sim.base_url().as_str())
            .with_graphql_url(sim.graphql_url().as_str())
            .with_graphql(mode)
            .build()
            .map_err(|e| e.to_string())?;
        let before = sim.stats().response_bytes;
        let cpu = thread_cpu().ok_or("no /proc/thread-self/schedstat")?;
        let start = Instant::now();
        let mut users = 0usize;
        let mut stream = dir.users(ListQuery::new());
        while let Some(user) = stream.try_next().await.map_err(|e| e.to_string())? {
            users += 1;
            std::hint::black_box(&user);
        }
        drop(stream);
        let sample = Sample {
            cpu: thread_cpu().ok_or("no /proc/thread-self/schedstat")? - cpu,
            wall: start.elapsed(),
            bytes: sim.stats().response_bytes - before,
            users,
        };
        if rep > 0 {
            samples.push(sample);
        }
    }
    Ok(samples)
}

/// The GraphQL member pages, fetched raw with the adapter's own query.
async fn member_pages(sim: &RunningSimulator) -> Result<Vec<Vec<u8>>, String> {
    let client = reqwest::Client::new();
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = json!({
            "query": MEMBERS_QUERY,
            "operationName": "UnidirMembers",
            "variables": {
                "slug": sim.org_slug(), "first": 100, "after": after, "last": null,
                "before": null, "email": null, "role": null, "team": null, "teamsFirst": 50
            }
        });
        let bytes = client
            .post(sim.graphql_url())
            .bearer_auth(sim.default_token())
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        let page: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        let info = &page["data"]["organization"]["members"]["pageInfo"];
        let next = match (info["hasNextPage"].as_bool(), info["endCursor"].as_str()) {
            (Some(true), Some(cursor)) => Some(cursor.to_owned()),
            _ => None,
        };
        pages.push(bytes.to_vec());
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    Ok(pages)
}

/// `reps` timed passes of `each` over every page; `each` returns the users it found.
fn time_pages(
    pages: &[Vec<u8>],
    reps: u32,
    mut each: impl FnMut(&[u8]) -> Result<usize, String>,
) -> Result<Vec<Sample>, String> {
    let bytes: u64 = pages.iter().map(|p| p.len() as u64).sum();
    let mut samples = Vec::new();
    for _ in 0..reps {
        let cpu = thread_cpu().ok_or("no /proc/thread-self/schedstat")?;
        let start = Instant::now();
        let mut users = 0usize;
        for page in pages {
            users += each(page)?;
        }
        samples.push(Sample {
            cpu: thread_cpu().ok_or("no /proc/thread-self/schedstat")? - cpu,
            wall: start.elapsed(),
            bytes,
            users,
        });
    }
    Ok(samples)
}
