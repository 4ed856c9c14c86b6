//! Buildkite's default budgets, enforced: REST per organization and per user, GraphQL
//! complexity per organization and per user, the per-query cap, the time scale and the
//! unlimited configurations.

mod common;

use std::time::Duration;

use common::{
    MEMBER_TEAMS_QUERY, MEMBERS_QUERY, Resp, as_sent, get, gql, gql_document, member_edges,
    member_vars, send, start, with, without_optional,
};
use reqwest::Method;
use serde_json::{Value, json};
use unidir_buildkite_sim::{RunningSimulator, SimConfig, SimToken};

const WARNING: &str = "You have exceeded your API rate limit.";

/// A REST GET with another token.
async fn get_as(sim: &RunningSimulator, token: &str, path: &str) -> Resp {
    send(Method::GET, &common::url(sim, path), Some(token), None).await
}

/// Tokens `bkua_user_N` for members 1..=n, allowed to use REST and GraphQL.
fn with_user_tokens(config: SimConfig, n: usize) -> SimConfig {
    (1..=n).fold(config, |config, i| {
        config.with_token(SimToken::new(
            format!("bkua_user_{i}"),
            ["read_user", "read_organizations", "graphql"],
            i,
        ))
    })
}

fn assert_rest_429(resp: &Resp, scope: &str, limit: u64, current: u64) {
    assert_eq!(resp.status, 429, "{}", resp.text);
    let body = resp.json();
    let reset = body["reset"].as_u64().expect("reset");
    assert!((1..=60).contains(&reset), "{body}");
    assert_eq!(
        body,
        json!({
            "message": format!("You have exceeded your API rate limit. Please wait {reset} seconds before making more requests."),
            "scope": scope, "limit": limit, "current": current, "reset": reset,
        })
    );
    let prefix = if scope == "rest" {
        "ratelimit"
    } else {
        "ratelimit-user"
    };
    assert_eq!(
        resp.header(&format!("{prefix}-reset")),
        Some(&*reset.to_string())
    );
    assert_eq!(resp.header(&format!("{prefix}-remaining")), Some("0"));
    assert_eq!(resp.header(&format!("{prefix}-warning")), Some(WARNING));
}

#[tokio::test]
async fn rest_user_and_organization_budgets_are_buildkites_by_default() {
    let sim = start(with_user_tokens(SimConfig::default(), 4)).await;

    // The token's user: 50 a minute, the 51st refused (and counted, as Buildkite does).
    for i in 1..=50u64 {
        let ok = get(&sim, "/v2/user").await;
        assert_eq!(ok.status, 200);
        assert_eq!(ok.header_u64("ratelimit-user-remaining"), 50 - i);
        assert_eq!(ok.header_u64("ratelimit-remaining"), 200 - i);
        assert_eq!(ok.header("ratelimit-user-warning").is_some(), i == 50);
    }
    let refused = get(&sim, "/v2/user").await;
    assert_rest_429(&refused, "rest_user", 50, 51);
    assert_eq!(refused.header("ratelimit-warning"), None);
    assert_eq!(refused.header_u64("ratelimit-remaining"), 149);

    // GraphQL has its own budgets.
    let graphql = gql(
        &sim,
        "UnidirMembers",
        with(member_vars("acme-inc"), json!({ "first": 1 })),
    )
    .await;
    assert_eq!(graphql.status, 200);
    assert!(graphql.json()["errors"].is_null());

    // The organization's 200 is shared: 51 + 50 + 50 + 49 fill it, the next request trips it
    // whoever sends it.
    for (user, count) in [(1, 50), (2, 50), (3, 49)] {
        for _ in 0..count {
            let ok = get_as(&sim, &format!("bkua_user_{user}"), "/v2/user").await;
            assert_eq!(ok.status, 200, "user {user}: {}", ok.text);
        }
    }
    let refused = get_as(&sim, "bkua_user_3", "/v2/user").await;
    assert_rest_429(&refused, "rest", 200, 201);
    assert_eq!(refused.header_u64("ratelimit-user-remaining"), 0);
    assert_eq!(refused.header("ratelimit-user-warning"), Some(WARNING));
    let fresh_user = get_as(&sim, "bkua_user_4", "/v2/user").await;
    assert_rest_429(&fresh_user, "rest", 200, 202);
    assert_eq!(fresh_user.header_u64("ratelimit-user-remaining"), 49);
    assert_eq!(fresh_user.header("ratelimit-user-warning"), None);
}

/// `UnidirMembers` variables for a forward page.
fn page(first: u64, teams_first: u64) -> Value {
    with(
        member_vars("acme-inc"),
        json!({ "first": first, "teamsFirst": teams_first }),
    )
}

/// Team memberships shown in a members page.
fn nested_teams(body: &Value) -> u64 {
    member_edges(body)
        .iter()
        .map(|e| e["node"]["teams"]["edges"].as_array().map_or(0, Vec::len) as u64)
        .sum()
}

#[tokio::test]
async fn graphql_complexity_of_the_adapters_queries() {
    let sim = start(SimConfig::default().with_users(300).with_teams(60)).await;

    // members.graphql: organization, members, pageInfo, edges (4), then per member its node,
    // sso, security, user, avatar, teams, teams' pageInfo and edges (8), and per team
    // membership requested (teamsFirst) or returned its node and team (2). Scalars are free.
    let resp = gql(&sim, "UnidirMembers", page(100, 50)).await;
    assert_eq!(resp.status, 200);
    let body = resp.json();
    assert_eq!(member_edges(&body).len(), 100);
    let teams = nested_teams(&body);
    assert!(teams > 100, "the generated org has memberships: {teams}");
    assert_eq!(
        resp.header_u64("ratelimit-complexity-requested"),
        4 + 100 * (8 + 2 * 50)
    );
    let actual = 4 + 100 * 8 + 2 * teams;
    assert_eq!(resp.header_u64("ratelimit-complexity-actual"), actual);
    // The actual complexity is charged against both budgets, not the requested one.
    assert_eq!(resp.header_u64("ratelimit-user-remaining"), 5_000 - actual);
    assert_eq!(resp.header_u64("ratelimit-remaining"), 20_000 - actual);

    // Without the optional `machineUser` (a scalar) the cost is the same.
    let resp = gql_document(
        &sim,
        Some(sim.default_token()),
        &without_optional(&as_sent(MEMBERS_QUERY)),
        "UnidirMembers",
        page(100, 50),
    )
    .await;
    assert_eq!(resp.header_u64("ratelimit-complexity-requested"), 10_804);
    assert_eq!(resp.header_u64("ratelimit-complexity-actual"), actual);

    // member_teams.graphql: organizationMember, teams, pageInfo, edges + 2 per team.
    let busiest = member_edges(&body)
        .iter()
        .max_by_key(|e| e["node"]["teams"]["count"].as_u64())
        .map(|e| e["node"]["uuid"].as_str().expect("uuid").to_owned())
        .expect("a member");
    let resp = gql(
        &sim,
        "UnidirMemberTeams",
        json!({ "slug": format!("acme-inc/{busiest}"), "first": 50, "after": null }),
    )
    .await;
    let shown = resp.json()["data"]["organizationMember"]["teams"]["edges"]
        .as_array()
        .map_or(0, Vec::len) as u64;
    assert!(shown > 0);
    assert_eq!(
        resp.header_u64("ratelimit-complexity-requested"),
        4 + 2 * 50
    );
    assert_eq!(
        resp.header_u64("ratelimit-complexity-actual"),
        4 + 2 * shown
    );

    // An empty answer still costs 1; `Buildkite-Include-Query-Stats` adds the numbers to the body.
    let resp = reqwest::Client::new()
        .post(sim.graphql_url())
        .bearer_auth(sim.default_token())
        .header("Buildkite-Include-Query-Stats", "true")
        .json(&json!({
            "query": MEMBER_TEAMS_QUERY,
            "variables": { "slug": "acme-inc/nobody", "first": 10 },
        }))
        .send()
        .await
        .expect("answered");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body["stats"],
        json!({ "requestedComplexity": 24, "actualComplexity": 1 })
    );
}

#[tokio::test]
async fn graphql_budgets_trip_with_buildkites_429() {
    let sim = start(with_user_tokens(
        SimConfig::default().with_users(300).with_teams(60),
        4,
    ))
    .await;
    // Pages are answered while anything is left; the one that crosses the line is still
    // answered (its actual cost is known only afterwards), the next is refused.
    let mut used = 0;
    let refused = loop {
        let resp = gql(&sim, "UnidirMembers", page(100, 50)).await;
        if resp.status == 429 {
            break resp;
        }
        assert_eq!(resp.status, 200);
        used += resp.header_u64("ratelimit-complexity-actual");
        assert_eq!(
            resp.header_u64("ratelimit-user-remaining"),
            5_000u64.saturating_sub(used)
        );
        assert!(used < 5_000 + 2_000, "never refused after {used} points");
    };
    assert!(used >= 5_000);
    let reset = refused.header_u64("ratelimit-user-reset");
    assert!((1..=300).contains(&reset));
    assert_eq!(
        refused.json(),
        json!({ "errors": [{ "message": format!("You have exceeded your per-user limit of 5000 complexity points. Please try again in {reset} seconds.") }] })
    );
    assert_eq!(refused.header("ratelimit-user-remaining"), Some("0"));
    assert_eq!(refused.header("ratelimit-complexity-requested"), None);
    // REST is unaffected.
    assert_eq!(get(&sim, "/v2/user").await.status, 200);

    // Other users fill the organization's 20,000.
    let mut org_refused = None;
    'users: for user in 1..=4 {
        let token = format!("bkua_user_{user}");
        for _ in 0..10 {
            let resp = gql_document(
                &sim,
                Some(&token),
                &as_sent(MEMBERS_QUERY),
                "UnidirMembers",
                page(100, 50),
            )
            .await;
            if resp.status != 429 {
                continue;
            }
            let message = resp.json()["errors"][0]["message"].clone();
            if message
                .as_str()
                .is_some_and(|m| m.starts_with("Your organization"))
            {
                org_refused = Some(resp);
                break 'users;
            }
            break;
        }
    }
    let refused = org_refused.expect("the organization budget trips");
    let reset = refused.header_u64("ratelimit-reset");
    assert_eq!(
        refused.json(),
        json!({ "errors": [{ "message": format!("Your organization has exceeded the limit of 20000 complexity points. Please try again in {reset} seconds.") }] })
    );
    assert_eq!(refused.header("ratelimit-remaining"), Some("0"));
}

#[tokio::test]
async fn the_per_query_cap_refuses_before_running() {
    let sim = start(SimConfig::default().with_users(100).with_teams(10)).await;
    // 4 + 58 × (8 + 2 × 427) = 50,000: exactly the cap, allowed.
    let at_cap = gql(&sim, "UnidirMembers", page(58, 427)).await;
    assert_eq!(at_cap.status, 200);
    assert_eq!(at_cap.header_u64("ratelimit-complexity-requested"), 50_000);
    assert_eq!(member_edges(&at_cap.json()).len(), 58);
    let remaining = at_cap.header_u64("ratelimit-user-remaining");

    let over = gql(&sim, "UnidirMembers", page(58, 428)).await;
    assert_eq!(over.status, 200);
    assert_eq!(
        over.json(),
        json!({ "data": null, "errors": [{ "message": "Query has complexity of 50116, which exceeds max complexity of 50000" }] })
    );
    assert_eq!(over.header_u64("ratelimit-complexity-requested"), 50_116);
    assert_eq!(over.header_u64("ratelimit-complexity-actual"), 0);
    assert_eq!(over.header_u64("ratelimit-user-remaining"), remaining);

    // Without `first`/`last` a connection counts as 500: 4 + 500 × (8 + 2 × 2) = 6,004.
    let unpaged = gql(&sim, "UnidirMembers", member_vars("acme-inc")).await;
    assert_eq!(unpaged.header_u64("ratelimit-complexity-requested"), 6_004);

    // The cap is configurable.
    let lower = start(SimConfig::default().with_max_query_complexity(Some(100))).await;
    let refused = gql(&lower, "UnidirMembers", page(10, 2)).await;
    assert_eq!(
        refused.json()["errors"][0]["message"],
        json!("Query has complexity of 124, which exceeds max complexity of 100")
    );
}

#[tokio::test]
async fn time_scale_shortens_windows_not_budgets() {
    let real = start(SimConfig::default()).await;
    let first = get(&real, "/v2/user").await;
    assert!(first.header_u64("ratelimit-user-reset") > 50);
    let graphql = gql(
        &real,
        "UnidirMembers",
        with(member_vars("acme-inc"), json!({ "first": 1 })),
    )
    .await;
    assert!(graphql.header_u64("ratelimit-user-reset") > 250);

    // × 60: REST windows of 1 s, GraphQL windows of 5 s, the same budgets.
    let sim = start(SimConfig::default().with_time_scale(60)).await;
    let resp = get(&sim, "/v2/user").await;
    assert_eq!(resp.header("ratelimit-user-limit"), Some("50"));
    assert_eq!(resp.header("ratelimit-limit"), Some("200"));
    assert_eq!(resp.header_u64("ratelimit-user-reset"), 1);
    let graphql = gql(
        &sim,
        "UnidirMembers",
        with(member_vars("acme-inc"), json!({ "first": 1 })),
    )
    .await;
    assert_eq!(graphql.header("ratelimit-user-limit"), Some("5000"));
    assert!((1..=5).contains(&graphql.header_u64("ratelimit-user-reset")));

    // A tripped budget says "1 second" and is back after waiting it.
    let small = start(
        SimConfig::default()
            .with_time_scale(60)
            .with_user_budget_per_minute(2),
    )
    .await;
    let mut refused = None;
    for _ in 0..30 {
        let resp = get(&small, "/v2/user").await;
        if resp.status == 429 {
            refused = Some(resp);
            break;
        }
    }
    let refused = refused.expect("three requests within one second trip a budget of 2");
    assert_eq!(refused.json()["reset"], json!(1));
    assert_eq!(refused.header_u64("ratelimit-user-reset"), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = get(&small, "/v2/user").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header_u64("ratelimit-user-remaining"), 1);

    let zero =
        unidir_buildkite_sim::Simulator::start(SimConfig::default().with_time_scale(0)).await;
    assert!(zero.is_err());
}

#[tokio::test]
async fn unlimited_enforces_nothing_and_generous_keeps_the_cap() {
    let sim = start(SimConfig::unlimited()).await;
    for _ in 0..260 {
        let resp = get(&sim, "/v2/user").await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("ratelimit-warning"), None);
    }
    let last = get(&sim, "/v2/user").await;
    assert_eq!(last.header("ratelimit-user-limit"), Some("4294967295"));
    assert_eq!(
        last.header_u64("ratelimit-user-remaining"),
        4_294_967_295 - 261
    );
    // 104,004 requested points: over Buildkite's cap, run anyway.
    let big = gql(&sim, "UnidirMembers", page(500, 100)).await;
    assert_eq!(big.status, 200);
    assert_eq!(big.header_u64("ratelimit-complexity-requested"), 104_004);
    assert_eq!(
        big.json()["data"]["organization"]["members"]["count"],
        json!(25)
    );
    for _ in 0..30 {
        assert_eq!(gql(&sim, "UnidirMembers", page(500, 100)).await.status, 200);
    }

    let generous = start(SimConfig::generous()).await;
    let big = gql(&generous, "UnidirMembers", page(500, 100)).await;
    assert_eq!(
        big.json()["errors"][0]["message"],
        json!("Query has complexity of 104004, which exceeds max complexity of 50000")
    );
    let ok = gql(&generous, "UnidirMembers", page(100, 100)).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("ratelimit-user-limit"), Some("4294967295"));
}

/// The `unidir-buildkite-sim` binary, stopped (by its own process id) when dropped.
struct Standalone {
    child: std::process::Child,
    base: String,
    limits: String,
}

impl Standalone {
    fn start(args: &[&str]) -> Self {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_unidir-buildkite-sim"))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the simulator binary starts");
        let stderr = child.stderr.take().expect("stderr");
        let (mut base, mut limits) = (String::new(), String::new());
        for line in BufReader::new(stderr).lines() {
            let line = line.expect("banner");
            if let Some(url) = line.trim().strip_prefix("REST") {
                base = url.trim().trim_end_matches('/').to_owned();
            } else if let Some(text) = line.trim().strip_prefix("limits") {
                limits = text.trim().to_owned();
            } else if line.starts_with("Press Ctrl-C") {
                break;
            }
        }
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Self {
            child,
            base,
            limits,
        }
    }

    async fn get(&self, path: &str) -> Resp {
        send(
            Method::GET,
            &format!("{}{path}", self.base),
            Some(SimConfig::DEFAULT_TOKEN),
            None,
        )
        .await
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_standalone_simulator_enforces_buildkites_budgets_unless_unlimited() {
    let sim = Standalone::start(&[]);
    assert!(
        sim.limits.starts_with("REST 200/min per organization, 50/min per user; GraphQL 20000 points/5 min per organization, 5000/5 min per user, 50000 points cap per query"),
        "{}",
        sim.limits
    );
    for _ in 0..50 {
        assert_eq!(sim.get("/v2/user").await.status, 200);
    }
    assert_rest_429(&sim.get("/v2/user").await, "rest_user", 50, 51);

    let scaled = Standalone::start(&["--time-scale", "60", "--user-budget-per-minute", "7"]);
    assert!(
        scaled
            .limits
            .starts_with("REST 200/1 s per organization, 7/1 s per user; GraphQL 20000 points/5 s"),
        "{}",
        scaled.limits
    );
    assert!(
        scaled
            .limits
            .ends_with("time scale 60 (real-world duration = measured x 60)")
    );
    let resp = scaled.get("/v2/user").await;
    assert_eq!(resp.header("ratelimit-user-limit"), Some("7"));
    assert_eq!(resp.header_u64("ratelimit-user-reset"), 1);

    let unlimited = Standalone::start(&["--unlimited"]);
    assert_eq!(unlimited.limits, "none (--unlimited)");
    for _ in 0..60 {
        assert_eq!(unlimited.get("/v2/user").await.status, 200);
    }
}

#[tokio::test]
async fn stats_count_requests_points_refusals_and_bytes_per_api() {
    let sim = start(SimConfig::default().with_user_budget_per_minute(2)).await;
    assert_eq!(sim.stats(), unidir_buildkite_sim::SimStats::default());
    let mut bytes = 0;
    for _ in 0..3 {
        bytes += get(&sim, "/v2/user").await.text.len() as u64;
    }
    let graphql = gql(
        &sim,
        "UnidirMembers",
        with(member_vars("acme-inc"), json!({ "first": 3 })),
    )
    .await;
    assert_eq!(graphql.status, 200);
    bytes += graphql.text.len() as u64;
    let admin = send(Method::GET, &common::url(&sim, "/__sim/stats"), None, None).await;
    assert_eq!(admin.status, 200);

    let stats = sim.stats();
    assert_eq!(
        (stats.rest_requests, stats.rest_rate_limited),
        (3, 1),
        "the third REST call is over the budget of 2"
    );
    assert_eq!((stats.graphql_requests, stats.graphql_rate_limited), (1, 0));
    assert_eq!(
        stats.graphql_points,
        graphql.header_u64("ratelimit-complexity-actual")
    );
    assert!(stats.graphql_points > 0);
    assert_eq!(stats.response_bytes, bytes, "admin answers are not counted");
}
