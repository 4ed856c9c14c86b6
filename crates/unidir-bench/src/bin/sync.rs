//! `sync`: full reads of a simulated Buildkite organization under Buildkite's default budgets.
//!
//! ```sh
//! cargo run --release -p unidir-bench --bin sync -- --users 10000 --teams 1000 --time-scale 60 --runs 3
//! cargo run --release -p unidir-bench --bin sync -- --preset 1k --preset 10k
//! ```
//!
//! Per organization size it starts one simulator with the default budgets and the time scale,
//! then runs each scenario `--runs` times (interleaved, each after every budget window has
//! reset): `graphql` (unidir's users walk, GraphQL auto), `rest` (the same, GraphQL disabled),
//! `export` (organizations, roles, groups and users, memberships taken from the users, as
//! `unidir export` does) and `per-team` (the classic per-team REST pattern, the baseline).
//! Then it reads the same organization from an unlimited simulator and compares request counts
//! with the minimum. Output: Markdown on stdout, progress on stderr.

#![allow(clippy::print_stdout)] // The report is the program's output.

use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use futures::TryStreamExt;
use unidir_bench::baseline::PerTeamRest;
use unidir_bench::bounds::{self, Budgets, Data, Minimums, OrgShape, Plan};
use unidir_bench::keys::{Outcome, TeamKey, UserKey};
use unidir_bench::measure::{human, median_min, ratio, secs};
use unidir_buildkite::{Buildkite, GraphqlMode, RetryPolicy};
use unidir_buildkite_sim::{RunningSimulator, SimConfig, SimStats, Simulator};
use unidir_core::{Detail, DirectoryExt, Group, ListQuery, Organization, Role};

#[derive(Debug, Parser)]
#[command(
    name = "sync",
    about = "Full-directory reads under Buildkite's budgets, against the simulator"
)]
struct Args {
    /// Members of the simulated organization (with --teams; replaces the presets).
    #[arg(long, requires = "teams")]
    users: Option<usize>,
    /// Teams of the simulated organization, `Everyone` included.
    #[arg(long, requires = "users")]
    teams: Option<usize>,
    /// Organization sizes to run (repeatable): 1k = 1,000 users / 100 teams, 10k = 10,000 /
    /// 1,000, 50k = 50,000 / 2,000. Default: 1k and 10k.
    #[arg(long, value_enum)]
    preset: Vec<Preset>,
    /// Rate-limit windows this many times shorter (budgets unchanged); projected real-world
    /// time = wall time x N. At most 60 keeps the whole-second resets accurate to a few %.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=600))]
    time_scale: u32,
    /// Runs of each scenario (the tables give median and minimum).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    runs: u32,
    /// Scenarios to run, comma-separated. Default: all four.
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Vec<Scenario>,
    /// Give up a run after this many seconds of wall time (it is reported as timed out).
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,
    /// Skip the request counts against an unlimited simulator.
    #[arg(long, conflicts_with = "unlimited_only")]
    no_unlimited: bool,
    /// Only the request counts against an unlimited simulator.
    #[arg(long)]
    unlimited_only: bool,
    /// Seed of the generated organization.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Preset {
    #[value(name = "1k")]
    Small,
    #[value(name = "10k")]
    Medium,
    #[value(name = "50k")]
    Large,
}

impl Preset {
    fn size(self) -> (usize, usize) {
        match self {
            Preset::Small => (1_000, 100),
            Preset::Medium => (10_000, 1_000),
            Preset::Large => (50_000, 2_000),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// The classic per-team REST pattern (baseline).
    PerTeam,
    /// unidir: every page of users, GraphQL auto.
    Graphql,
    /// unidir: every user with `Detail::Essential` (what REST has), GraphQL auto.
    Essential,
    /// unidir: every page of users, GraphQL disabled.
    Rest,
    /// unidir: organizations, roles, groups, users (+ memberships from the users).
    Export,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Scenario::PerTeam => "per-team REST (baseline)",
            Scenario::Graphql => "unidir users, GraphQL",
            Scenario::Essential => "unidir users, essential",
            Scenario::Rest => "unidir users, REST only",
            Scenario::Export => "unidir full directory (export)",
        }
    }

    /// Which data the scenario returns, hence its lower bound.
    fn data(self) -> Option<Data> {
        match self {
            Scenario::Graphql | Scenario::Export => Some(Data::Full),
            Scenario::Essential => Some(Data::Core),
            Scenario::Rest | Scenario::PerTeam => None,
        }
    }
}

/// One measured run.
#[derive(Debug)]
struct Run {
    scenario: Scenario,
    index: u32,
    stats: SimStats,
    wall: Duration,
    /// `Err` when the read failed or timed out.
    outcome: Result<Outcome, String>,
}

fn main() -> std::process::ExitCode {
    unidir_bench::run_main("sync", run(Args::parse()))
}

async fn run(args: Args) -> Result<(), String> {
    let sizes: Vec<(usize, usize)> = match (args.users, args.teams) {
        (Some(u), Some(t)) => vec![(u, t)],
        _ if args.preset.is_empty() => vec![Preset::Small.size(), Preset::Medium.size()],
        _ => args.preset.iter().map(|p| p.size()).collect(),
    };
    let scenarios = if args.scenarios.is_empty() {
        vec![
            Scenario::PerTeam,
            Scenario::Graphql,
            Scenario::Essential,
            Scenario::Rest,
            Scenario::Export,
        ]
    } else {
        args.scenarios.clone()
    };
    println!("# unidir sync benchmark\n");
    println!(
        "Simulator with Buildkite's default budgets, time scale {} (projected = wall × {}), {} run(s) per scenario, seed {}.\n",
        args.time_scale, args.time_scale, args.runs, args.seed
    );
    for (users, teams) in sizes {
        let mut reference = None;
        if !args.unlimited_only {
            reference = budgeted(&args, &scenarios, users, teams).await?;
        }
        if !args.no_unlimited {
            unlimited(&args, users, teams, reference.as_ref()).await?;
        }
    }
    Ok(())
}

/// A directory on the simulator, allowed to wait out any budget window it meets.
fn directory(sim: &RunningSimulator, mode: GraphqlMode) -> Result<Buildkite, String> {
    // Waiting for a window is progress: allow a whole unscaled GraphQL window and more.
    let retry = RetryPolicy {
        max_rate_limit_wait: Duration::from_secs(310),
        operation_deadline: Duration::from_secs(3_600),
        ..RetryPolicy::default()
    };
    Buildkite::builder()
        .with_token(sim.default_token())
        .with_organization(sim.org_slug())
        .with_rest_url(sim.base_url().as_str())
        .with_graphql_url(sim.graphql_url().as_str())
        .with_graphql(mode)
        .with_retry_policy(retry)
        .build()
        .map_err(|e| e.to_string())
}

/// Every user, as keys.
async fn users(dir: &Buildkite, detail: Detail) -> Result<Outcome, String> {
    let keys: Vec<UserKey> = dir
        .users(ListQuery::new().with_detail(detail))
        .map_ok(|u| UserKey::of(&u))
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(Outcome::new(keys, None))
}

/// What `unidir export` reads: organizations, roles, groups, then users, whose groups are the
/// memberships.
async fn export(dir: &Buildkite) -> Result<Outcome, String> {
    let err = |e: unidir_core::Error| e.to_string();
    let _orgs: Vec<Organization> = dir
        .organizations(ListQuery::new())
        .try_collect()
        .await
        .map_err(err)?;
    let _roles: Vec<Role> = dir
        .roles(ListQuery::new())
        .try_collect()
        .await
        .map_err(err)?;
    let groups: Vec<Group> = dir
        .groups(ListQuery::new())
        .try_collect()
        .await
        .map_err(err)?;
    let mut memberships = 0usize;
    let keys: Vec<UserKey> = dir
        .users(ListQuery::new())
        .map_ok(|u| {
            memberships += u.group_memberships().count();
            UserKey::of(&u)
        })
        .try_collect()
        .await
        .map_err(err)?;
    let outcome = Outcome::new(keys, Some(groups.iter().map(TeamKey::of).collect()));
    if memberships != outcome.memberships() {
        return Err(format!(
            "{memberships} memberships derived, {} in the users",
            outcome.memberships()
        ));
    }
    Ok(outcome)
}

async fn scenario(sim: &RunningSimulator, scenario: Scenario) -> Result<Outcome, String> {
    match scenario {
        Scenario::PerTeam => {
            PerTeamRest::new(sim.base_url(), sim.org_slug(), sim.default_token())
                .run()
                .await
        }
        Scenario::Graphql => users(&directory(sim, GraphqlMode::Auto)?, Detail::Full).await,
        Scenario::Essential => users(&directory(sim, GraphqlMode::Auto)?, Detail::Essential).await,
        Scenario::Rest => users(&directory(sim, GraphqlMode::Disabled)?, Detail::Full).await,
        Scenario::Export => export(&directory(sim, GraphqlMode::Auto)?).await,
    }
}

fn delta(after: SimStats, before: SimStats) -> SimStats {
    let mut d = SimStats::default();
    d.rest_requests = after.rest_requests - before.rest_requests;
    d.graphql_requests = after.graphql_requests - before.graphql_requests;
    d.graphql_points = after.graphql_points - before.graphql_points;
    d.rest_rate_limited = after.rest_rate_limited - before.rest_rate_limited;
    d.graphql_rate_limited = after.graphql_rate_limited - before.graphql_rate_limited;
    d.response_bytes = after.response_bytes - before.response_bytes;
    d
}

async fn measure(
    sim: &RunningSimulator,
    which: Scenario,
    index: u32,
    timeout: Option<Duration>,
) -> Run {
    let before = sim.stats();
    let start = Instant::now();
    let outcome = match timeout {
        Some(limit) => tokio::time::timeout(limit, scenario(sim, which))
            .await
            .unwrap_or_else(|_| Err(format!("timed out after {}", secs(limit)))),
        None => scenario(sim, which).await,
    };
    let wall = start.elapsed();
    Run {
        scenario: which,
        index,
        stats: delta(sim.stats(), before),
        wall,
        outcome,
    }
}

fn limited(stats: &SimStats) -> u64 {
    stats.rest_rate_limited + stats.graphql_rate_limited
}

/// The budgeted runs of one organization size; returns the baseline's result.
async fn budgeted(
    args: &Args,
    scenarios: &[Scenario],
    users: usize,
    teams: usize,
) -> Result<Option<Outcome>, String> {
    let scale = args.time_scale;
    let config = SimConfig::default()
        .with_seed(args.seed)
        .with_users(users)
        .with_teams(teams)
        .with_time_scale(scale);
    let sim = Simulator::start(config).await.map_err(|e| e.to_string())?;
    let snapshot = sim.snapshot();
    let shape = OrgShape::of(&snapshot);
    drop(snapshot);
    let budgets = Budgets::buildkite();
    // After this long without requests every window has reset.
    let settle =
        budgets.graphql_window.max(budgets.rest_window) / scale + Duration::from_millis(200);

    println!(
        "## {} users, {} teams ({} team memberships), default budgets, time scale {scale}\n",
        shape.users,
        shape.teams,
        shape.memberships()
    );
    let rest_only = bounds::rest_only(&budgets, &shape);
    let core = bounds::lower_bound(&budgets, &shape, Data::Core);
    let full = bounds::lower_bound(&budgets, &shape, Data::Full);
    println!("Lower bounds (one token: REST 50 requests / 60 s, GraphQL 5,000 points / 300 s):\n");
    println!("| data | plan | REST requests | GraphQL points | lower bound (real world) |");
    println!("|---|---|---:|---:|---:|");
    let bound_row = |data: &str, plan: &str, p: &Plan| {
        println!(
            "| {data} | {plan} | {} | {} | {} |",
            p.rest_requests,
            p.graphql_points,
            human(p.time)
        );
    };
    bound_row("users + roles + memberships", "REST only", &rest_only);
    bound_row("users + roles + memberships", "best split", &core);
    bound_row("+ 2FA, avatar, bot, timestamps", "best split", &full);
    println!();

    let mut runs: Vec<Run> = Vec::new();
    for index in 1..=args.runs {
        for &which in scenarios {
            tokio::time::sleep(settle).await;
            let run = measure(&sim, which, index, args.timeout.map(Duration::from_secs)).await;
            eprintln!(
                "  {users}/{teams} {} run {index}: {} wall, {} REST + {} GraphQL requests, {} points, {} 429s{}",
                which.label(),
                secs(run.wall),
                run.stats.rest_requests,
                run.stats.graphql_requests,
                run.stats.graphql_points,
                limited(&run.stats),
                run.outcome
                    .as_ref()
                    .err()
                    .map(|e| format!(", FAILED: {e}"))
                    .unwrap_or_default()
            );
            runs.push(run);
        }
    }
    sim.shutdown().await;

    let reference = runs
        .iter()
        .find(|r| r.scenario == Scenario::PerTeam)
        .and_then(|r| r.outcome.as_ref().ok())
        .cloned();
    if let Some(reference) = &reference {
        let sane = reference.users.len() as u64 == shape.users
            && reference.memberships() as u64 == shape.memberships();
        println!(
            "Baseline result: {} users, {} memberships ({} the simulator's state).\n",
            reference.users.len(),
            reference.memberships(),
            if sane { "matches" } else { "DOES NOT match" }
        );
    }
    let verdict = |run: &Run| -> String {
        match (&run.outcome, &reference) {
            (Err(e), _) => format!("failed: {}", one_line(e)),
            (Ok(_), None) => "no baseline".to_owned(),
            (Ok(o), Some(r)) => match o.difference(r) {
                None => "identical".to_owned(),
                Some(d) => format!("DIFFERS: {d}"),
            },
        }
    };

    println!("Every run:\n");
    println!(
        "| scenario | run | REST requests | GraphQL requests | GraphQL points | 429s | wall | projected | result vs baseline |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for run in &runs {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run.scenario.label(),
            run.index,
            run.stats.rest_requests,
            run.stats.graphql_requests,
            run.stats.graphql_points,
            limited(&run.stats),
            secs(run.wall),
            human(run.wall * scale),
            verdict(run)
        );
    }
    println!();

    let baseline_median = median_of(&runs, Scenario::PerTeam).map(|(m, _)| m * scale);
    println!("Median (min) of {} run(s):\n", args.runs);
    println!(
        "| scenario | REST req | GraphQL req | GraphQL points | 429s | wall | projected | lower bound | projected ÷ bound | baseline ÷ this | results |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for &which in scenarios {
        let mine: Vec<&Run> = runs.iter().filter(|r| r.scenario == which).collect();
        let Some((wall, wall_min)) = median_of(&runs, which) else {
            continue;
        };
        let pick = |f: fn(&SimStats) -> u64| {
            let values: Vec<u64> = mine.iter().map(|r| f(&r.stats)).collect();
            median_min(&values).map_or_else(String::new, |(m, n)| {
                if m == n {
                    m.to_string()
                } else {
                    format!("{m} ({n})")
                }
            })
        };
        let bound = match which.data() {
            Some(Data::Full) => full.time,
            Some(Data::Core) => core.time,
            None => rest_only.time,
        };
        let projected = wall * scale;
        let verdicts: Vec<String> = mine.iter().map(|r| verdict(r)).collect();
        let all_same = verdicts.iter().all(|v| v == &verdicts[0]);
        println!(
            "| {} | {} | {} | {} | {} | {} ({}) | {} ({}) | {} | {} | {} | {} |",
            which.label(),
            pick(|s| s.rest_requests),
            pick(|s| s.graphql_requests),
            pick(|s| s.graphql_points),
            pick(limited),
            secs(wall),
            secs(wall_min),
            human(projected),
            human(wall_min * scale),
            human(bound),
            ratio(projected.as_secs_f64(), bound.as_secs_f64()),
            baseline_median.map_or_else(
                || "—".to_owned(),
                |b| ratio(b.as_secs_f64(), projected.as_secs_f64())
            ),
            if all_same {
                verdicts[0].clone()
            } else {
                verdicts.join("; ")
            }
        );
    }
    println!(
        "\nLower bound: REST only for the REST scenarios; users with the GraphQL-only fields (best split) for `graphql` and `export`; the baseline's data (best split) for `essential`. \
         The best split for the baseline's data (no GraphQL-only fields) is {} ({} faster than REST only).\n",
        human(core.time),
        ratio(rest_only.time.as_secs_f64(), core.time.as_secs_f64())
    );
    Ok(reference)
}

/// Median and minimum wall time of the successful runs of a scenario.
fn median_of(runs: &[Run], which: Scenario) -> Option<(Duration, Duration)> {
    let walls: Vec<Duration> = runs
        .iter()
        .filter(|r| r.scenario == which && r.outcome.is_ok())
        .map(|r| r.wall)
        .collect();
    median_min(&walls)
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '|'], " ")
}

/// Request counts on an unlimited simulator against the minimum.
async fn unlimited(
    args: &Args,
    users_n: usize,
    teams_n: usize,
    reference: Option<&Outcome>,
) -> Result<(), String> {
    let config = SimConfig::unlimited()
        .with_seed(args.seed)
        .with_users(users_n)
        .with_teams(teams_n);
    let sim = Simulator::start(config).await.map_err(|e| e.to_string())?;
    let shape = OrgShape::of(&sim.snapshot());
    let min = Minimums::of(&shape);
    println!(
        "## Unlimited simulator, {} users, {} teams: requests against the minimum\n",
        shape.users, shape.teams
    );
    println!(
        "| read | REST requests | GraphQL requests | total | minimum | total ÷ minimum | wall | result |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    let reads: [(&str, Scenario, u64); 4] = [
        ("users, GraphQL", Scenario::Graphql, min.users_graphql),
        ("users, REST only", Scenario::Rest, min.users_rest),
        ("export, GraphQL", Scenario::Export, min.export_graphql),
        ("export, REST only", Scenario::Export, min.export_rest),
    ];
    let mut reference = reference.cloned();
    for (label, which, minimum) in reads {
        let before = sim.stats();
        let start = Instant::now();
        let outcome = if label == "export, REST only" {
            export(&directory(&sim, GraphqlMode::Disabled)?).await
        } else {
            scenario(&sim, which).await
        };
        let wall = start.elapsed();
        let stats = delta(sim.stats(), before);
        let total = stats.rest_requests + stats.graphql_requests;
        if reference.is_none() {
            // Without a budgeted baseline, the baseline reads the unlimited organization.
            reference = PerTeamRest::new(sim.base_url(), sim.org_slug(), sim.default_token())
                .run()
                .await
                .ok();
        }
        let result = match (&outcome, &reference) {
            (Err(e), _) => format!("failed: {}", one_line(e)),
            (Ok(_), None) => "no baseline".to_owned(),
            (Ok(o), Some(r)) => o
                .difference(r)
                .map_or_else(|| "identical".to_owned(), |d| format!("DIFFERS: {d}")),
        };
        eprintln!("  unlimited {users_n}/{teams_n} {label}: {total} requests, {result}");
        println!(
            "| {label} | {} | {} | {total} | {minimum} | {} | {} | {result} |",
            stats.rest_requests,
            stats.graphql_requests,
            ratio(total as f64, minimum as f64),
            secs(wall),
        );
    }
    sim.shutdown().await;
    println!(
        "\nMinimum: GraphQL `users` = ⌈U/500⌉ member pages with teams nested ({} with unified pages of 100); \
         REST `users` = ⌈U/100⌉ member pages + ⌈T/100⌉ team pages + every team's member pages (max(1, ⌈m/100⌉) each); \
         `export` adds 1 organizations request (and, with GraphQL, the ⌈T/100⌉ REST team pages). \
         unidir's totals include its `GET /v2/access-token` (scopes) request.\n",
        min.users_graphql_100
    );
    Ok(())
}
