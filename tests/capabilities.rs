//! `capabilities()` of the Buildkite adapter agrees with the token and with what the adapter
//! really does: for several scope sets on the simulator, every operation it declares usable
//! works, and every one it declares blocked fails with `PermissionDenied` naming a scope it
//! listed as missing. The token's scopes are read once per directory.

use unidir_buildkite::{Buildkite, GraphqlMode, roles};
use unidir_buildkite_sim::{RunningSimulator, SimConfig, SimToken, Simulator};
use unidir_core::{
    Capabilities, Directory, ErrorKind, GetOptions, ListQuery, Operation, Resource, Result, UserRef,
};

/// Budgets far above what a test spends, so the client's own pacing never waits.
fn config() -> SimConfig {
    SimConfig::default()
        .with_users(12)
        .with_teams(4)
        .with_org_budget_per_minute(1_000_000)
        .with_user_budget_per_minute(1_000_000)
        .with_graphql_budget(100_000_000, 100_000_000)
}

fn directory(sim: &RunningSimulator, token: &str, mode: GraphqlMode) -> Buildkite {
    Buildkite::builder()
        .with_token(token)
        .with_organization(sim.org_slug())
        .with_rest_url(sim.base_url().as_str())
        .with_graphql_url(sim.graphql_url().as_str())
        .with_graphql(mode)
        .build()
        .expect("directory")
}

/// Ids the operations are run on: a team, and a member who is not on it.
struct World {
    org: String,
    team: String,
    user: String,
}

fn world(sim: &RunningSimulator) -> World {
    let snapshot = sim.snapshot();
    let team = snapshot
        .teams
        .iter()
        .find(|t| !t.default)
        .expect("a team")
        .uuid
        .clone();
    let user = snapshot
        .members
        .iter()
        .find(|m| {
            snapshot
                .teams_of(&m.user_uuid)
                .iter()
                .all(|tm| tm.team_uuid != team)
        })
        .expect("a member outside the team")
        .user_uuid
        .clone();
    World {
        org: sim.org_slug().to_owned(),
        team,
        user,
    }
}

/// Runs `operation` on `resource` once; only success or the error matters.
async fn run(bk: &Buildkite, resource: Resource, operation: Operation, w: &World) -> Result<()> {
    use Operation::{Add, ChangeRole, Get, List, Remove};
    let get = GetOptions::default();
    let page = ListQuery::new().with_limit(5);
    let user = UserRef::Id(w.user.clone());
    match (resource, operation) {
        (Resource::Me, Get) => bk.me(&get).await.map(drop),
        (Resource::Organizations, List) => bk.list_organizations(&page).await.map(drop),
        (Resource::Organizations, Get) => bk.get_organization(&w.org, &get).await.map(drop),
        (Resource::Users, List) => bk.list_users(&page).await.map(drop),
        (Resource::Users, Get) => bk.get_user(&w.user, &get).await.map(drop),
        (Resource::Groups, List) => bk.list_groups(&page).await.map(drop),
        (Resource::Groups, Get) => bk.get_group(&w.team, &get).await.map(drop),
        (Resource::Roles, List) => bk.list_roles(&page).await.map(drop),
        (Resource::Roles, Get) => bk.get_role(roles::ORG_ADMIN, &get).await.map(drop),
        (Resource::GroupMembers, List) => bk.list_group_members(&w.team, &page).await.map(drop),
        (Resource::GroupMembers, Add) => bk
            .add_group_member(&w.team, &user, Some(roles::TEAM_MEMBER))
            .await
            .map(drop),
        (Resource::GroupMembers, ChangeRole) => bk
            .change_group_member_role(&w.team, &user, roles::TEAM_MAINTAINER)
            .await
            .map(drop),
        (Resource::GroupMembers, Remove) => bk.remove_group_member(&w.team, &user).await.map(drop),
        (Resource::UserGroups, List) => bk.list_user_groups(&w.user, &page).await.map(drop),
        other => panic!("capabilities declare {other:?}, which this test cannot run"),
    }
}

/// The capabilities agree with the token's scopes and with every operation's real result.
async fn assert_agrees(scopes: &[&str], mode: GraphqlMode) -> Capabilities {
    let sim = Simulator::start(config().with_token(SimToken::new(
        "bkua_scoped",
        scopes.iter().copied(),
        0,
    )))
    .await
    .expect("simulator");
    let bk = directory(&sim, "bkua_scoped", mode);
    let caps = bk.capabilities().await.expect("capabilities");
    let w = world(&sim);
    for support in &caps.resources {
        for &operation in &support.operations {
            let needs = support.scopes_of(operation).unwrap_or_else(|| {
                panic!(
                    "{scopes:?}: no scopes for {:?} {operation:?}",
                    support.resource
                )
            });
            for need in &needs.scopes {
                assert_eq!(
                    need.granted,
                    scopes.contains(&need.scope.as_str()),
                    "{scopes:?}: {} on {:?} {operation:?}",
                    need.scope,
                    support.resource
                );
            }
            let blocking: Vec<&str> = needs
                .scopes
                .iter()
                .filter(|s| s.blocks())
                .map(|s| s.scope.as_str())
                .collect();
            let result = run(&bk, support.resource, operation, &w).await;
            let what = format!("{scopes:?} {mode:?}: {:?} {operation:?}", support.resource);
            if caps.supports(support.resource, operation) {
                assert!(blocking.is_empty(), "{what}");
                if let Err(e) = result {
                    panic!("{what} is declared usable but failed: {e}");
                }
            } else {
                let e = result.expect_err(&format!("{what} is declared blocked but worked"));
                assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{what}: {e}");
                let named = e.missing_scope().unwrap_or_default();
                assert!(
                    blocking.contains(&named),
                    "{what}: failed for {named}, capabilities listed {blocking:?}"
                );
            }
        }
    }
    sim.shutdown().await;
    caps
}

const FULL: &[&str] = &[
    "read_user",
    "read_organizations",
    "read_teams",
    "write_teams",
    "graphql",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_token_can_do_everything_declared() {
    for mode in [GraphqlMode::Auto, GraphqlMode::Disabled] {
        let caps = assert_agrees(FULL, mode).await;
        assert!(
            caps.resources
                .iter()
                .all(|r| r.operations.iter().all(|op| r.usable(*op))),
            "{mode:?}: {caps:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_is_refused_writes_only() {
    let caps = assert_agrees(
        &["read_user", "read_organizations", "read_teams", "graphql"],
        GraphqlMode::Auto,
    )
    .await;
    assert!(caps.supports(Resource::GroupMembers, Operation::List));
    assert!(!caps.supports(Resource::GroupMembers, Operation::Add));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_graphql_users_come_from_rest() {
    let caps = assert_agrees(
        &[
            "read_user",
            "read_organizations",
            "read_teams",
            "write_teams",
        ],
        GraphqlMode::Auto,
    )
    .await;
    assert!(caps.supports(Resource::Users, Operation::List));
    assert!(caps.notes[0].contains("GraphQL is not available"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limited_tokens_fail_where_declared() {
    for scopes in [
        &["graphql"][..],
        &["read_organizations", "graphql"],
        &["read_user", "read_organizations"],
        &["read_teams", "write_teams"],
        &["read_organizations", "read_teams", "write_teams"],
        &[],
    ] {
        assert_agrees(scopes, GraphqlMode::Auto).await;
    }
    // GraphQL required: without the scope users cannot be listed at all.
    let caps = assert_agrees(&["read_organizations", "read_teams"], GraphqlMode::Required).await;
    assert!(!caps.supports(Resource::Users, Operation::List));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_read_once_for_every_capabilities_call() {
    let sim = Simulator::start(config()).await.expect("simulator");
    let bk = directory(&sim, sim.default_token(), GraphqlMode::Auto);
    let before = sim.request_count();
    let first = bk.capabilities().await.expect("capabilities");
    assert_eq!(sim.request_count() - before, 1, "GET /v2/access-token");
    let second = bk.capabilities().await.expect("capabilities");
    assert_eq!(second, first);
    // The GraphQL choice shares the cached scopes: listing users reads no token.
    bk.list_users(&ListQuery::new().with_limit(1))
        .await
        .expect("users");
    let after_list = sim.request_count();
    let _ = bk.capabilities().await.expect("capabilities");
    assert_eq!(
        sim.request_count(),
        after_list,
        "no request on the third call"
    );
    assert_eq!(sim.stats().graphql_requests, 1, "users over GraphQL, once");
    sim.shutdown().await;
}
