//! The Buildkite adapter's planned full read (`Directory::read_users`, what
//! `DirectoryExt::users` streams for an unfiltered query) against the simulator: it returns
//! exactly what the page walk returns, at both detail levels and with or without GraphQL, and
//! under Buildkite's default budgets (time-scaled) it spreads the work over both budgets
//! without a single 429.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use unidir_buildkite::{Buildkite, GraphqlMode};
use unidir_buildkite_sim::{RunningSimulator, SimConfig, SimStats, Simulator};
use unidir_core::{Detail, Directory, DirectoryExt, ListQuery, User, Walker};

fn directory(sim: &RunningSimulator, mode: GraphqlMode) -> Buildkite {
    Buildkite::builder()
        .with_token(sim.default_token())
        .with_organization(sim.org_slug())
        .with_rest_url(sim.base_url().as_str())
        .with_graphql_url(sim.graphql_url().as_str())
        .with_graphql(mode)
        .build()
        .expect("directory")
}

/// Every user through the page walk (`list_users` cursor by cursor), sorted by id.
async fn page_walk(bk: &Buildkite, detail: Detail) -> Vec<User> {
    let walker = Walker::new(bk.walk_limits());
    let query = ListQuery::new().with_limit(100).with_detail(detail);
    let mut users: Vec<User> = walker
        .items(query, |q| async move { bk.list_users(&q).await })
        .try_collect()
        .await
        .expect("page walk");
    users.sort_by(|a, b| a.id.cmp(&b.id));
    users
}

/// Every user through the planned full read, sorted by id.
async fn full_read(bk: &Buildkite, detail: Detail) -> Vec<User> {
    let mut users: Vec<User> = bk
        .users(ListQuery::new().with_detail(detail))
        .try_collect()
        .await
        .expect("full read");
    users.sort_by(|a, b| a.id.cmp(&b.id));
    users
}

fn roles(user: &User) -> BTreeSet<(String, Option<String>)> {
    user.roles
        .iter()
        .map(|r| (r.id.clone(), r.group_id.clone()))
        .collect()
}

/// Id, name, slug, role and join time (whole seconds) of a group membership.
type GroupKey = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// A user's groups, join times to the second: Buildkite's REST team members give whole
/// seconds where GraphQL gives milliseconds. (Their order follows the list they were read
/// from, which differs between REST and GraphQL.)
fn groups(user: &User) -> BTreeSet<GroupKey> {
    user.groups
        .iter()
        .map(|g| {
            (
                g.id.clone(),
                g.name.clone(),
                g.slug.clone(),
                g.role_id.clone(),
                g.joined_at.map(|t| t.timestamp()),
            )
        })
        .collect()
}

/// The essentials of two reads agree user by user; with `full`, every attribute does.
fn assert_same(label: &str, expected: &[User], got: &[User], full: bool) {
    assert_eq!(got.len(), expected.len(), "{label}: user count");
    for (e, g) in expected.iter().zip(got) {
        assert_eq!(g.id, e.id, "{label}: same users");
        assert_eq!(g.name, e.name, "{label}: name of {}", e.id);
        assert_eq!(g.emails, e.emails, "{label}: e-mails of {}", e.id);
        assert_eq!(g.status, e.status, "{label}: status of {}", e.id);
        assert_eq!(roles(g), roles(e), "{label}: roles of {}", e.id);
        assert_eq!(groups(g), groups(e), "{label}: groups of {}", e.id);
        assert_eq!(
            g.is_sso_required, e.is_sso_required,
            "{label}: SSO of {}",
            e.id
        );
        if full {
            assert_eq!(g.avatar_url, e.avatar_url, "{label}: avatar of {}", e.id);
            assert_eq!(g.is_bot, e.is_bot, "{label}: bot flag of {}", e.id);
            assert_eq!(
                g.is_2fa_enabled, e.is_2fa_enabled,
                "{label}: 2FA of {}",
                e.id
            );
            assert_eq!(g.created_at, e.created_at, "{label}: joined of {}", e.id);
            assert_eq!(
                g.last_active_at, e.last_active_at,
                "{label}: last seen of {}",
                e.id
            );
        }
    }
}

/// The groups the simulator holds for every user, `(team, role)` pairs.
fn assert_matches_state(label: &str, sim: &RunningSimulator, users: &[User]) {
    let snapshot = sim.snapshot();
    assert_eq!(users.len(), snapshot.members.len(), "{label}: every member");
    for user in users {
        let expected: BTreeSet<_> = snapshot
            .teams_of(&user.id)
            .iter()
            .map(|tm| (tm.team_uuid.clone(), format!("team:{}", tm.role.as_rest())))
            .collect();
        let got: BTreeSet<_> = user
            .groups
            .iter()
            .map(|g| (g.id.clone(), g.role_id.clone().unwrap_or_default()))
            .collect();
        assert_eq!(got, expected, "{label}: groups of {}", user.id);
    }
}

fn unlimited(users: usize, teams: usize) -> SimConfig {
    SimConfig::unlimited().with_users(users).with_teams(teams)
}

/// REST without limits and a GraphQL budget too small for the members with nested teams
/// (10 points a member), so the read is planned over both APIs; windows 60× shorter, so a read
/// after the page walk waits at most 5 s for a fresh GraphQL window.
fn planned(users: usize, teams: usize) -> SimConfig {
    let points = u32::try_from(10 * users).expect("small");
    unlimited(users, teams)
        .with_graphql_budget(points, points)
        .with_time_scale(60)
}

fn delta(after: SimStats, before: SimStats) -> (u64, u64, u64) {
    (
        after.rest_requests - before.rest_requests,
        after.graphql_requests - before.graphql_requests,
        after.graphql_points - before.graphql_points,
    )
}

/// Both detail levels over GraphQL: identical to the GraphQL page walk (every attribute for
/// `Full`), and the `Everyone` team (all 700 users, more than a GraphQL team page) read whole
/// through REST. `Essential` takes teams over GraphQL too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_read_matches_the_graphql_page_walk() {
    let sim = Simulator::start(planned(700, 40)).await.expect("sim");
    let walked = page_walk(&directory(&sim, GraphqlMode::Auto), Detail::Full).await;
    assert_matches_state("page walk", &sim, &walked);

    for detail in [Detail::Full, Detail::Essential] {
        let bk = directory(&sim, GraphqlMode::Auto);
        let before = sim.stats();
        let read = full_read(&bk, detail).await;
        let (rest, graphql, points) = delta(sim.stats(), before);
        assert_same(
            &format!("{detail:?}"),
            &walked,
            &read,
            detail == Detail::Full,
        );
        assert!(rest > 0, "{detail:?}: REST reads the team members");
        assert!(
            graphql > 0 && points > 0,
            "{detail:?}: and GraphQL works too"
        );
        if detail == Detail::Full {
            // Two pages of 500 members, no nested teams: 4 points a member and a little.
            assert!(points < 700 * 5 + 40 * 250, "{detail:?}: {points} points");
        }
    }
}

/// Without GraphQL both detail levels are the REST page walk's users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_read_without_graphql_matches_the_rest_page_walk() {
    let sim = Simulator::start(unlimited(350, 25)).await.expect("sim");
    let bk = directory(&sim, GraphqlMode::Disabled);
    let walked = page_walk(&bk, Detail::Full).await;
    assert_matches_state("page walk", &sim, &walked);
    for detail in [Detail::Full, Detail::Essential] {
        let bk = directory(&sim, GraphqlMode::Disabled);
        let before = sim.stats();
        let read = full_read(&bk, detail).await;
        let (_, graphql, _) = delta(sim.stats(), before);
        assert_same(&format!("REST {detail:?}"), &walked, &read, true);
        assert_eq!(graphql, 0, "REST only");
    }
}

/// Under Buildkite's default budgets (windows 60× shorter), a full read at either detail
/// level waits for its budgets instead of running into them: no 429 at all, and still every
/// user with every membership. `Essential` uses both budgets, so it needs fewer REST requests
/// than reading every team over REST would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_read_under_default_budgets_gets_no_429() {
    let (users, teams) = (900, 150);
    let sim = Simulator::start(
        SimConfig::default()
            .with_users(users)
            .with_teams(teams)
            .with_time_scale(60),
    )
    .await
    .expect("sim");
    let snapshot = sim.snapshot();
    let team_pages: u64 = snapshot
        .teams
        .iter()
        .map(|t| {
            (snapshot.members_of(&t.uuid).len() as u64)
                .div_ceil(100)
                .max(1)
        })
        .sum();
    let rest_only = 1 + (teams as u64).div_ceil(100) + team_pages + (users as u64).div_ceil(100);
    for detail in [Detail::Essential, Detail::Full] {
        let bk = directory(&sim, GraphqlMode::Auto);
        let before = sim.stats();
        let read = full_read(&bk, detail).await;
        let after = sim.stats();
        assert_eq!(
            after.rest_rate_limited, before.rest_rate_limited,
            "{detail:?}: no REST 429"
        );
        assert_eq!(
            after.graphql_rate_limited, before.graphql_rate_limited,
            "{detail:?}: no GraphQL 429"
        );
        assert_matches_state(&format!("{detail:?}"), &sim, &read);
        let (rest, _, points) = delta(after, before);
        if detail == Detail::Essential {
            assert!(
                rest < rest_only && points > 0,
                "{detail:?}: GraphQL took teams off REST ({rest} REST requests, {points} points; REST alone {rest_only})"
            );
        }
    }
}

/// A team GraphQL finds larger than one page goes to REST and is never taken by GraphQL
/// again, however long REST takes to get to it: each team costs GraphQL at most one request.
/// (Budgets that never make it wait, so nothing but the plan limits the requests.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_handed_back_to_rest_is_not_taken_again() {
    let (users, teams) = (400, 6);
    let sim = Simulator::start(planned(users, teams)).await.expect("sim");
    for detail in [Detail::Full, Detail::Essential] {
        let bk = directory(&sim, GraphqlMode::Auto);
        let before = sim.stats();
        let read = tokio::time::timeout(std::time::Duration::from_secs(60), full_read(&bk, detail))
            .await
            .expect("the read ends");
        let (_, graphql, _) = delta(sim.stats(), before);
        assert_matches_state(&format!("{detail:?}"), &sim, &read);
        // The budget probe, one members page (Full) or one team-sizes page (Essential), then
        // at most a request per team.
        assert!(
            graphql <= 2 + teams as u64,
            "{detail:?}: {graphql} GraphQL requests for {teams} teams"
        );
    }
}

/// When the GraphQL budget left covers every member with nested teams (as with budgets that
/// never run out), the full read is the nested `UnidirMembers` walk in pages of 500: the
/// scopes, the budget probe and ⌈members / 500⌉ pages, nothing over REST. Same users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_that_covers_nested_teams_gets_the_fewest_requests() {
    let users = 1_200;
    let sim = Simulator::start(unlimited(users, 30)).await.expect("sim");
    let walked = page_walk(&directory(&sim, GraphqlMode::Auto), Detail::Full).await;
    for detail in [Detail::Full, Detail::Essential] {
        let bk = directory(&sim, GraphqlMode::Auto);
        let before = sim.stats();
        let read = full_read(&bk, detail).await;
        let (rest, graphql, _) = delta(sim.stats(), before);
        assert_same(&format!("nested {detail:?}"), &walked, &read, true);
        assert_eq!(rest, 1, "{detail:?}: only the token's scopes over REST");
        assert_eq!(
            graphql,
            1 + (users as u64).div_ceil(500),
            "{detail:?}: the probe and pages of 500"
        );
    }
}
