//! `unidir-buildkite-sim`: serve a simulated Buildkite organization until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use unidir_buildkite_sim::{OrgSpec, SimConfig, Simulator};

/// Local Buildkite REST v2 + GraphQL simulator (REST under /v2, GraphQL at POST /v1,
/// fault injection at POST /__sim/faults, state at GET /__sim/state).
///
/// Buildkite's default rate limits are enforced unless --unlimited is given: REST 200
/// requests/min per organization and 50 per user, GraphQL 20,000 complexity points per
/// 5 min per organization and 5,000 per user, 50,000 requested points per query.
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
    /// REST organization budget (requests per minute).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 200,
        conflicts_with = "unlimited"
    )]
    budget_per_minute: u32,
    /// REST per-user budget (requests per minute).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 50,
        conflicts_with = "unlimited"
    )]
    user_budget_per_minute: u32,
    /// GraphQL organization budget (complexity points per 5 minutes).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20_000,
        conflicts_with = "unlimited"
    )]
    graphql_points: u32,
    /// GraphQL per-user budget (complexity points per 5 minutes).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 5_000,
        conflicts_with = "unlimited"
    )]
    graphql_user_points: u32,
    /// Largest requested complexity of one GraphQL query.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 50_000,
        conflicts_with = "unlimited"
    )]
    max_query_complexity: u32,
    /// Make every rate-limit window N times shorter (budgets unchanged): budget-bound work
    /// runs N times faster, and its real-world duration is the measured time x N. Resets are
    /// reported in whole seconds, so N <= 60 keeps REST windows at 1 s or more.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    time_scale: u32,
    /// Enforce no rate limit and no per-query complexity cap (for functional tests).
    #[arg(long)]
    unlimited: bool,
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
    /// Count GraphQL complexity more strictly than Buildkite documents: each edge object
    /// costs 1 per item too.
    #[arg(long)]
    strict_cost: bool,
    /// Charge the requested GraphQL points before a query runs (not the actual ones after),
    /// refusing with a 429 a query that asks for more than is left.
    #[arg(long)]
    charge_before: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let base = if args.unlimited {
        SimConfig::unlimited()
    } else {
        SimConfig::default()
            .with_org_budget_per_minute(args.budget_per_minute)
            .with_user_budget_per_minute(args.user_budget_per_minute)
            .with_graphql_budget(args.graphql_points, args.graphql_user_points)
            .with_max_query_complexity(Some(args.max_query_complexity))
    };
    let mut config = base
        .with_time_scale(args.time_scale)
        .with_seed(args.seed)
        .with_users(args.users)
        .with_teams(args.teams)
        .with_org_slug(args.org)
        .with_org_name(args.org_name);
    if let Some(ms) = args.latency_ms {
        config = config.with_latency(Duration::from_millis(ms));
    }
    if args.acme {
        config = config.with_spec(OrgSpec::acme());
    }
    if args.strict_cost {
        config = config.with_cost_rule(unidir_buildkite_sim::CostRule::EdgesCharged);
    }
    if args.charge_before {
        config = config.with_accounting(unidir_buildkite_sim::Accounting::ChargeRequested);
    }
    for coordinate in args.schema_without {
        config = config.with_schema_without(coordinate);
    }
    let limits = describe_limits(&config);
    let sim = match Simulator::start_on(config, SocketAddr::new(args.host, args.port)).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("unidir-buildkite-sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    let snapshot = sim.snapshot();
    eprintln!(
        "Buildkite simulator: organization {} ({} members, {} teams)\n  REST     {}\n  GraphQL  {}\n  token    {}\n  limits   {limits}\nPress Ctrl-C to stop.",
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

/// The enforced budgets, for the start-up banner.
fn describe_limits(config: &SimConfig) -> String {
    if config.is_unlimited() {
        return "none (--unlimited)".to_owned();
    }
    let scale = config.time_scale;
    let (rest, graphql) = if scale == 1 {
        ("min".to_owned(), "5 min".to_owned())
    } else {
        (
            secs(60.0 / f64::from(scale)),
            secs(300.0 / f64::from(scale)),
        )
    };
    let cap = config
        .max_query_complexity
        .map_or_else(|| "no".to_owned(), |c| c.to_string());
    let scaled = if scale == 1 {
        String::new()
    } else {
        format!("; time scale {scale} (real-world duration = measured x {scale})")
    };
    format!(
        "REST {}/{rest} per organization, {}/{rest} per user; GraphQL {} points/{graphql} per organization, {}/{graphql} per user, {cap} points cap per query{scaled}",
        config.org_budget_per_minute,
        config.user_budget_per_minute,
        config.graphql_org_points,
        config.graphql_user_points,
    )
}

/// `1.5 s`, `0.2 s`, `5 s`.
fn secs(value: f64) -> String {
    let text = format!("{value:.3}");
    format!("{} s", text.trim_end_matches('0').trim_end_matches('.'))
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
