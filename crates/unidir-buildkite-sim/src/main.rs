//! `unidir-buildkite-sim`: serve a simulated Buildkite organization until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use unidir_buildkite_sim::{OrgSpec, SimConfig, Simulator};

/// Local Buildkite REST v2 + GraphQL simulator (REST under /v2, GraphQL at POST /v1,
/// fault injection at POST /__sim/faults, state at GET /__sim/state).
#[derive(Debug, Parser)]
#[command(name = "unidir-buildkite-sim", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Number of generated members.
    #[arg(long, default_value_t = 25)]
    users: usize,
    /// Number of generated teams, including "Everyone".
    #[arg(long, default_value_t = 6)]
    teams: usize,
    /// Seed of the generated organization.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Organization slug.
    #[arg(long, default_value = "acme-inc")]
    org: String,
    /// Organization name.
    #[arg(long, default_value = "Acme Inc")]
    org_name: String,
    /// Enforce this REST organization budget (requests per minute).
    #[arg(long)]
    budget_per_minute: Option<u32>,
    /// Enforce this REST per-user budget (requests per minute).
    #[arg(long)]
    user_budget_per_minute: Option<u32>,
    /// Delay every API answer by this many milliseconds.
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Serve the recorded fixtures' five-member `acme` organization instead of generating one.
    #[arg(long)]
    acme: bool,
    /// Leave TYPE.FIELD out of the GraphQL schema (an older Buildkite), e.g. User.machineUser.
    /// Repeatable.
    #[arg(long, value_name = "TYPE.FIELD")]
    schema_without: Vec<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = SimConfig::default()
        .with_seed(args.seed)
        .with_users(args.users)
        .with_teams(args.teams)
        .with_org_slug(args.org)
        .with_org_name(args.org_name);
    if let Some(budget) = args.budget_per_minute {
        config = config.with_org_budget_per_minute(budget);
    }
    if let Some(budget) = args.user_budget_per_minute {
        config = config.with_user_budget_per_minute(budget);
    }
    if let Some(ms) = args.latency_ms {
        config = config.with_latency(Duration::from_millis(ms));
    }
    if args.acme {
        config = config.with_spec(OrgSpec::acme());
    }
    for coordinate in args.schema_without {
        config = config.with_schema_without(coordinate);
    }
    let sim = match Simulator::start_on(config, SocketAddr::new(args.host, args.port)).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("unidir-buildkite-sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    let snapshot = sim.snapshot();
    eprintln!(
        "Buildkite simulator: organization {} ({} members, {} teams)\n  REST     {}\n  GraphQL  {}\n  token    {}\nPress Ctrl-C to stop.",
        sim.org_slug(),
        snapshot.members.len(),
        snapshot.teams.len(),
        sim.base_url(),
        sim.graphql_url(),
        sim.default_token(),
    );
    stop_signal().await;
    sim.shutdown().await;
    ExitCode::SUCCESS
}

/// Ctrl-C, or SIGTERM on Unix (so process supervisors and test harnesses can stop it too).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("unidir-buildkite-sim: cannot wait for Ctrl-C: {error}");
    }
}
