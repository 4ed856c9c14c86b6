//! The Buildkite adapter against recorded-shape fixtures: every unified resource, multi-page
//! walks that return each record exactly once, and every error scenario's typed error.
//! Outputs are snapshotted and validated against `schemas/`.

mod support;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use futures::TryStreamExt;
use serde::Serialize;
use serde_json::Value;
use support::{CANARY, FixtureServer};
use unidir_buildkite::{GraphqlMode, RetryPolicy, roles};
use unidir_core::{
    Directory, DirectoryExt, Error, ErrorKind, GetOptions, ListQuery, Operation, Resource, User,
};

const ALICE: &str = "018f2b6e-1c3d-4e5f-8a9b-0c1d2e3f4a51";
const BOB: &str = "018f2b6e-7a8b-4c9d-9e0f-1a2b3c4d5e62";
const PLATFORM: &str = "5b2d7e90-3c4f-4a1b-8e6d-9f0a1b2c3d84";
const SECURITY: &str = "9e5a0bc3-6f72-4d4e-9b90-c23d4e5f6ab7";
const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";

fn assert_schema(name: &str, value: &impl Serialize) {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../schemas/{name}.schema.json"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("schema file"))
        .expect("schema json");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let instance = serde_json::to_value(value).expect("serialise");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
}

/// Snapshots a value with cursors redacted (they are opaque; their behaviour is tested apart).
macro_rules! snap {
    ($name:expr, $value:expr) => {
        insta::assert_json_snapshot!($name, $value, {
            ".next_cursor" => insta::dynamic_redaction(|v, _| if v.as_str().is_some() { "[cursor]".into() } else { v }),
            ".prev_cursor" => insta::dynamic_redaction(|v, _| if v.as_str().is_some() { "[cursor]".into() } else { v }),
        })
    };
}

fn assert_no_canary(text: &str) {
    assert!(!text.contains(CANARY), "the token leaked: {text}");
}

fn error_of<T: std::fmt::Debug>(result: Result<T, Error>) -> Error {
    let err = result.expect_err("expected an error");
    assert_no_canary(&err.to_string());
    assert_no_canary(&format!("{err:?}"));
    err
}

#[tokio::test]
async fn me_and_organizations() {
    let fx = FixtureServer::mount(&["acme"]);
    let (bk, _) = fx.directory("acme-inc");
    let me = bk.me(&GetOptions::default()).await.expect("me");
    assert_eq!(me.user.id, ALICE);
    assert!(me.scopes.contains(&"graphql".to_owned()));
    assert_eq!(me.organizations.len(), 1);
    assert_schema("me", &me);
    snap!("acme_me", &me);

    let orgs = bk
        .list_organizations(&ListQuery::new())
        .await
        .expect("orgs");
    assert_eq!(orgs.result_count(), 1);
    assert!(orgs.next_cursor.is_none());
    assert_schema("organization_page", &orgs);
    let org = bk
        .get_organization("acme-inc", &GetOptions::with_remote_data())
        .await
        .expect("org");
    assert_eq!(org.id, "3f1c9a52-6d0e-4b7a-9c1e-2a7d5b8e4f01");
    let raw_id = org
        .remote_data
        .as_ref()
        .and_then(|r| r["graphql_id"].as_str())
        .unwrap_or_default();
    assert!(
        raw_id.starts_with("T3JnYW5pemF0aW9u"),
        "remote_data keeps the raw GraphQL id: {raw_id}"
    );
    assert_schema("organization", &org);
    snap!("acme_organization", &org);
}

fn summary(users: &[User]) -> Vec<String> {
    users
        .iter()
        .map(|u| {
            let groups: Vec<String> = u
                .groups
                .iter()
                .map(|g| {
                    format!(
                        "{}={}",
                        g.slug.as_deref().unwrap_or("?"),
                        g.role_id.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            let org_role = u
                .roles
                .iter()
                .find(|r| r.group_id.is_none())
                .map(|r| r.id.clone())
                .unwrap_or_default();
            format!(
                "{} {} [{}]",
                u.name.as_deref().unwrap_or("?"),
                org_role,
                groups.join(",")
            )
        })
        .collect()
}

#[tokio::test]
async fn users_over_graphql_walk_every_page_once() {
    let fx = FixtureServer::mount(&["acme"]);
    let (bk, _) = fx.directory("acme-inc");
    let mut pages = Vec::new();
    let mut query = ListQuery::new().with_limit(2);
    loop {
        let page = bk.list_users(&query).await.expect("page");
        assert_schema("user_page", &page);
        let next = page.next_cursor.clone();
        pages.push(page);
        match next {
            Some(c) => query = ListQuery::new().with_limit(2).with_cursor(c),
            None => break,
        }
    }
    assert_eq!(
        pages.iter().map(|p| p.result_count()).collect::<Vec<_>>(),
        [2, 2, 1]
    );
    assert!(
        pages[1].prev_cursor.is_some(),
        "GraphQL pages after the first can go back"
    );
    let users: Vec<User> = pages.into_iter().flat_map(|p| p.result).collect();
    let ids: HashSet<_> = users.iter().map(|u| u.id.clone()).collect();
    assert_eq!(ids.len(), 5, "each member exactly once");
    assert_eq!(
        summary(&users),
        [
            "Alice Admin org:admin [everyone=team:member,platform=team:maintainer,security=team:maintainer]",
            "Bob Builder org:member [everyone=team:member,platform=team:member]",
            "Carol Maintainer org:member [everyone=team:member,platform=team:maintainer]",
            "Dave Ops org:admin [security=team:member]",
            "Erin Newhire org:member []",
        ]
    );
    assert_eq!(
        fx.calls("acme/23-graphql-member-teams-alice.json"),
        1,
        "Alice's third team needs one follow-up"
    );
    snap!("acme_users_graphql", &users);

    // The stream helper agrees.
    let streamed: Vec<User> = bk
        .users(ListQuery::new().with_limit(2))
        .try_collect()
        .await
        .expect("stream");
    assert_eq!(streamed, users);
}

/// Objects are decoded straight from the response bytes unless `remote_data` is asked for;
/// then from the raw JSON, which is kept. Both routes give the same unified users, and the
/// kept node of a member whose teams took a follow-up page holds every team.
#[tokio::test]
async fn remote_data_route_gives_the_same_users_and_every_team() {
    let fx = FixtureServer::mount(&["acme"]);
    let (bk, _) = fx.directory("acme-inc");
    let typed: Vec<User> = bk
        .users(ListQuery::new().with_limit(2))
        .try_collect()
        .await
        .expect("typed");
    let raw: Vec<User> = bk
        .users(ListQuery::new().with_limit(2).with_remote_data(true))
        .try_collect()
        .await
        .expect("raw");
    assert!(typed.iter().all(|u| u.remote_data.is_none()));
    let without: Vec<User> = raw
        .iter()
        .cloned()
        .map(|mut u| {
            u.remote_data = None;
            u
        })
        .collect();
    assert_eq!(without, typed, "both routes map the same");
    let alice = raw.iter().find(|u| u.id == ALICE).expect("alice");
    let node = alice.remote_data.as_ref().expect("kept");
    let edges = node["teams"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 3, "the follow-up page's team is in the node");
    assert_eq!(edges.len(), alice.groups.len());
    assert_eq!(node["teams"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(node["user"]["uuid"], ALICE);
}

#[tokio::test]
async fn users_over_rest_when_graphql_is_not_allowed() {
    let fx = FixtureServer::mount(&["no_graphql", "acme"]);
    let (bk, _) = fx.directory("acme-inc");
    let caps = bk.capabilities().await.expect("capabilities");
    assert!(
        caps.notes
            .iter()
            .any(|n| n.contains("GraphQL is not available"))
    );
    assert!(caps.supports(Resource::Users, Operation::List));
    // Writes are implemented but this token lacks write_teams.
    assert!(caps.supports(Resource::GroupMembers, Operation::List));
    assert!(!caps.supports(Resource::GroupMembers, Operation::Add));
    snap!("no_graphql_capabilities", &caps);

    let users: Vec<User> = bk
        .users(ListQuery::new().with_limit(2).with_remote_data(true))
        .try_collect()
        .await
        .expect("users");
    assert_eq!(users.len(), 5);
    assert_eq!(
        summary(&users),
        [
            "Alice Admin org:admin [everyone=team:member,platform=team:maintainer,security=team:maintainer]",
            "Bob Builder org:member [everyone=team:member,platform=team:member]",
            "Carol Maintainer org:member [everyone=team:member,platform=team:maintainer]",
            "Dave Ops org:admin [security=team:member]",
            "Erin Newhire org:member []",
        ],
        "REST and GraphQL give the same roles and groups"
    );
    assert!(users.iter().all(|u| {
        u.remote_data
            .as_ref()
            .is_some_and(|r| r["id"] == u.id.as_str())
    }));
    assert_eq!(
        fx.calls("no_graphql/02-post-graphql-forbidden.json"),
        0,
        "the token's scope list lacks graphql, so GraphQL is never tried"
    );
    assert_eq!(
        fx.calls("no_graphql/01-get-access-token.json"),
        1,
        "the scopes are read once"
    );
    snap!("no_graphql_users_rest", &users);
}

#[tokio::test]
async fn user_lookup_by_email_and_id() {
    let fx = FixtureServer::mount(&["acme"]);
    let (bk, _) = fx.directory("acme-inc");
    let found = unidir_core::find_user_by_email(&bk, "bob@acme.example", false)
        .await
        .expect("lookup");
    assert_eq!(found.as_ref().map(|u| u.id.as_str()), Some(BOB));
    let missing = unidir_core::find_user_by_email(&bk, "nobody@acme.example", false)
        .await
        .expect("lookup");
    assert!(missing.is_none());

    let bob = bk.get_user(BOB, &GetOptions::default()).await.expect("get");
    assert_eq!(Some(&bob), found.as_ref());
    assert_schema("user", &bob);
    snap!("acme_user_bob", &bob);
}

#[tokio::test]
async fn groups_members_and_roles() {
    let fx = FixtureServer::mount(&["acme"]);
    let (bk, _) = fx.directory("acme-inc");
    let first = bk
        .list_groups(&ListQuery::new().with_limit(2))
        .await
        .expect("p1");
    assert_schema("group_page", &first);
    let groups: Vec<_> = bk
        .groups(ListQuery::new().with_limit(2))
        .try_collect()
        .await
        .expect("groups");
    assert_eq!(
        groups
            .iter()
            .map(|g| g.slug.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["everyone", "mobile", "platform", "security"]
    );
    let security = groups
        .iter()
        .find(|g| g.id == SECURITY)
        .expect("secret team is listed");
    assert_eq!(
        security.privacy.as_ref().map(|p| p.as_str()),
        Some("secret")
    );
    assert_eq!(groups[0].is_default, Some(true));
    snap!("acme_groups", &groups);

    let platform = bk
        .get_group(PLATFORM, &GetOptions::default())
        .await
        .expect("group");
    assert_eq!(platform.name, "Platform");
    assert_schema("group", &platform);

    let members: Vec<_> = bk
        .group_members(PLATFORM, ListQuery::new().with_limit(2))
        .try_collect()
        .await
        .expect("members");
    let roles_seen: Vec<_> = members
        .iter()
        .map(|m| {
            (
                m.user_name.clone().unwrap_or_default(),
                m.role_id.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        roles_seen,
        [
            ("Alice Admin".to_owned(), roles::TEAM_MAINTAINER.to_owned()),
            ("Bob Builder".to_owned(), roles::TEAM_MEMBER.to_owned()),
            (
                "Carol Maintainer".to_owned(),
                roles::TEAM_MAINTAINER.to_owned()
            ),
        ],
        "maintainer never collapses into member"
    );
    for m in &members {
        assert_schema("group_membership", m);
    }
    snap!("acme_platform_members", &members);

    let maintainers = bk
        .list_group_members(
            PLATFORM,
            &ListQuery::new()
                .with_limit(2)
                .with_role_id(roles::TEAM_MAINTAINER),
        )
        .await
        .expect("filtered");
    assert!(
        maintainers
            .result
            .iter()
            .all(|m| m.role_id.as_deref() == Some(roles::TEAM_MAINTAINER))
    );

    let bobs: Vec<_> = bk
        .user_groups(BOB, ListQuery::new().with_limit(2))
        .try_collect()
        .await
        .expect("teams of bob");
    assert_eq!(
        bobs.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["Everyone", "Platform"]
    );

    let all_roles: Vec<_> = bk
        .roles(ListQuery::new().with_limit(3))
        .try_collect()
        .await
        .expect("roles");
    assert_eq!(all_roles.len(), 4);
    assert_schema(
        "role_page",
        &bk.list_roles(&ListQuery::new()).await.expect("roles"),
    );
    snap!("buildkite_roles", &all_roles);
    assert_eq!(
        bk.get_role("nope", &GetOptions::default())
            .await
            .expect_err("no role")
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn cursors_are_bound_to_their_query() {
    let fx = FixtureServer::mount(&["acme"]);
    let (bk, _) = fx.directory("acme-inc");
    let groups = bk
        .list_groups(&ListQuery::new().with_limit(2))
        .await
        .expect("groups");
    let cursor = groups.next_cursor.expect("next");
    let err = error_of(
        bk.list_users(&ListQuery::new().with_cursor(cursor.clone()))
            .await,
    );
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    let err = error_of(
        bk.list_group_members(PLATFORM, &ListQuery::new().with_cursor(cursor))
            .await,
    );
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
}

#[tokio::test]
async fn bad_input_never_reaches_buildkite() {
    let fx = FixtureServer::mount(&["acme"]);
    let (bk, _) = fx.directory("acme-inc");
    for id in ["../../user", "a/b", "x?y=1", "", "%2e%2e"] {
        let err = error_of(bk.get_group(id, &GetOptions::default()).await);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{id:?}");
        let err = error_of(bk.get_user(id, &GetOptions::default()).await);
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{id:?}");
    }
    let err = error_of(
        bk.list_groups(&ListQuery::new().with_email("a@acme.example"))
            .await,
    );
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let err = error_of(bk.list_users(&ListQuery::new().with_role_id("owner")).await);
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = error_of(bk.list_users(&ListQuery::new().with_limit(0)).await);
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn unauthenticated() {
    let fx = FixtureServer::mount(&["unauthenticated"]);
    let (bk, _) = fx.directory("acme-inc");
    let err = error_of(bk.list_users(&ListQuery::new()).await);
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let err2 = error_of(bk.list_groups(&ListQuery::new()).await);
    assert_eq!(err2.kind(), ErrorKind::Unauthenticated);
    snap!("unauthenticated_errors", &[err.to_body(), err2.to_body()]);
}

#[tokio::test]
async fn missing_scope_is_named() {
    let fx = FixtureServer::mount(&["missing_scope", "acme"]);
    let (bk, _) = fx.directory("acme-inc");
    let err = error_of(bk.list_groups(&ListQuery::new()).await);
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.missing_scope(), Some("read_teams"));
    let me_err = error_of(bk.me(&GetOptions::default()).await);
    assert_eq!(me_err.missing_scope(), Some("read_user"));
    let caps = bk.capabilities().await.expect("capabilities");
    let groups = caps.resource(Resource::Groups).expect("groups");
    assert!(!groups.available);
    assert_eq!(groups.missing_scopes, ["read_teams"]);
    snap!("missing_scope_errors", &[err.to_body(), me_err.to_body()]);
}

#[tokio::test]
async fn not_found() {
    let fx = FixtureServer::mount(&["not_found"]);
    let (bk, _) = fx.directory("acme-inc");
    let team = error_of(bk.get_group(UNKNOWN, &GetOptions::default()).await);
    assert_eq!(team.kind(), ErrorKind::NotFound);
    let member = error_of(bk.get_user(UNKNOWN, &GetOptions::default()).await);
    assert_eq!(member.kind(), ErrorKind::NotFound);
    let (nope, _) = fx.directory("nope-inc");
    let org = error_of(nope.list_groups(&ListQuery::new()).await);
    assert_eq!(org.kind(), ErrorKind::NotFound);
    assert!(org.message().contains("No organization found"));
    snap!(
        "not_found_errors",
        &[team.to_body(), member.to_body(), org.to_body()]
    );
}

#[tokio::test]
async fn rate_limit_waits_for_the_reset_then_succeeds() {
    let fx = FixtureServer::mount(&["rate_limited", "acme"]);
    let (bk, sleeper) = fx.directory("acme-inc");
    let bk = rest_only(&fx, &bk);
    let page =
        bk.0.list_users(&ListQuery::new().with_limit(2))
            .await
            .expect("after the 429");
    assert_eq!(page.result_count(), 2);
    assert_eq!(fx.calls("rate_limited/01-get-members-page1-429.json"), 1);
    let delays = bk.1.delays();
    assert_eq!(delays.len(), 1, "one wait: {delays:?}");
    assert!(
        delays[0] > Duration::from_millis(2900) && delays[0] <= Duration::from_secs(3),
        "waited the reported reset, no more: {delays:?}"
    );
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn rate_limit_past_the_cap_is_an_error_with_retry_after() {
    let fx = FixtureServer::mount(&["rate_limited", "acme"]);
    let (bk, sleeper) = fx.directory("acme-inc");
    let err = error_of(bk.list_groups(&ListQuery::new().with_limit(2)).await);
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(sleeper.delays().is_empty(), "never sits out an hour");
    assert_eq!(fx.calls("rate_limited/02-get-teams-page1-429-long.json"), 1);
    // The shared cooldown makes the next call fail fast without another request.
    let again = error_of(bk.list_groups(&ListQuery::new().with_limit(2)).await);
    assert_eq!(again.kind(), ErrorKind::RateLimited);
    assert_eq!(fx.calls("rate_limited/02-get-teams-page1-429-long.json"), 1);
    snap!("rate_limited_error", &err.to_body());
}

/// A REST-only directory on the same fixtures (for scenarios written against REST members).
fn rest_only(
    fx: &FixtureServer,
    _: &unidir_buildkite::Buildkite,
) -> (unidir_buildkite::Buildkite, support::RecordingSleeper) {
    let sleeper = support::RecordingSleeper::default();
    let bk = unidir_buildkite::Buildkite::builder()
        .with_token(CANARY)
        .with_organization("acme-inc")
        .with_rest_url(fx.rest_url())
        .with_graphql_url(fx.graphql_url())
        .with_graphql(GraphqlMode::Disabled)
        .with_retry_policy(RetryPolicy {
            jitter_seed: Some(1),
            ..RetryPolicy::default()
        })
        .with_sleeper(std::sync::Arc::new(sleeper.clone()))
        .build()
        .expect("directory");
    (bk, sleeper)
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_reported() {
    let fx = FixtureServer::mount(&["server_error", "acme"]);
    let (base, _) = fx.directory("acme-inc");
    let (bk, sleeper) = rest_only(&fx, &base);
    let page = bk
        .list_users(&ListQuery::new().with_limit(2))
        .await
        .expect("after the 500");
    assert_eq!(page.result_count(), 2);
    assert_eq!(sleeper.delays().len(), 1, "one backoff before the retry");

    let err = error_of(bk.list_groups(&ListQuery::new().with_limit(2)).await);
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert_eq!(err.status(), Some(502));
    assert_eq!(
        fx.calls("server_error/02-get-teams-page1-502.json"),
        4,
        "first try plus three retries"
    );
    assert!(!err.message().contains("<html"), "no raw body in errors");
    snap!("server_error", &err.to_body());
}

#[tokio::test]
async fn malformed_bodies_are_contract_violations() {
    let fx = FixtureServer::mount(&["malformed", "acme"]);
    let (graphql, _) = fx.directory("acme-inc");
    let err = error_of(graphql.list_users(&ListQuery::new().with_limit(2)).await);
    assert_eq!(err.kind(), ErrorKind::ContractViolation);
    let (rest, _) = rest_only(&fx, &graphql);
    let err2 = error_of(rest.list_users(&ListQuery::new().with_limit(2)).await);
    assert_eq!(err2.kind(), ErrorKind::ContractViolation);
    snap!("malformed_errors", &[err.to_body(), err2.to_body()]);
}

#[tokio::test]
async fn graphql_errors_in_a_200_are_typed() {
    let fx = FixtureServer::mount(&["graphql_errors"]);
    let (bk, _) = fx.directory("acme-inc");
    let err = error_of(bk.list_users(&ListQuery::new().with_limit(2)).await);
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("exceeds max complexity"));
    let budget = error_of(unidir_core::find_user_by_email(&bk, "bob@acme.example", false).await);
    assert_eq!(budget.kind(), ErrorKind::RateLimited);
    assert_eq!(budget.retry_after(), Some(Duration::from_secs(187)));
    snap!("graphql_errors", &[err.to_body(), budget.to_body()]);
}

#[tokio::test]
async fn looping_and_missing_cursors_fail_instead_of_truncating() {
    let fx = FixtureServer::mount(&["looping_cursor"]);
    let (bk, _) = fx.directory("acme-inc");
    let result: Result<Vec<User>, _> = bk.users(ListQuery::new().with_limit(2)).try_collect().await;
    let err = error_of(result);
    assert_eq!(err.kind(), ErrorKind::ContractViolation);
    let teams: Result<Vec<_>, _> = bk
        .groups(ListQuery::new().with_limit(2))
        .try_collect()
        .await;
    assert_eq!(error_of(teams).kind(), ErrorKind::ContractViolation);

    let fx = FixtureServer::mount(&["missing_cursor"]);
    let (bk, _) = fx.directory("acme-inc");
    let err2 = error_of(bk.list_users(&ListQuery::new().with_limit(2)).await);
    assert_eq!(err2.kind(), ErrorKind::ContractViolation);
    snap!("cursor_contract_errors", &[err.to_body(), err2.to_body()]);
}

#[test]
fn the_token_never_shows_in_debug() {
    let fx = FixtureServer::mount(&["acme"]);
    let (bk, _) = fx.directory("acme-inc");
    assert_no_canary(&format!("{bk:?}"));
    let builder = unidir_buildkite::Buildkite::builder().with_token(CANARY);
    assert_no_canary(&format!("{builder:?}"));
    let err = unidir_buildkite::Buildkite::builder()
        .with_token(format!("{CANARY} x"))
        .with_organization("a")
        .build()
        .expect_err("bad token");
    assert_no_canary(&err.to_string());
}

#[test]
fn snapshots_hold_no_token() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        assert_no_canary(&text);
        assert!(!text.contains("bkua_"), "{}", entry.path().display());
    }
}

/// The upstream echoes the token in every kind of text that can reach an error: GraphQL
/// `errors[].message`, a REST `message`, and the value of a wrongly typed field. The echo
/// really reaches the adapter (the scrub marker or the field name shows it), and the token
/// never leaves it.
#[tokio::test]
async fn token_echoed_by_the_upstream_never_reaches_an_error() {
    let fx = FixtureServer::mount(&["token_echo"]);
    let (bk, _) = fx.directory("acme-inc");

    let err = error_of(bk.list_users(&ListQuery::new().with_limit(2)).await);
    assert_eq!(err.kind(), ErrorKind::Upstream);
    assert!(err.message().contains("[REDACTED]"), "{err}");
    assert_eq!(fx.calls("token_echo/02-graphql-members-echo.json"), 1);

    let err = error_of(bk.list_groups(&ListQuery::new()).await);
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.missing_scope(), Some("read_teams"));
    assert!(err.message().contains("[REDACTED]"), "{err}");

    let err = error_of(bk.list_group_members(PLATFORM, &ListQuery::new()).await);
    assert_eq!(err.kind(), ErrorKind::ContractViolation);
    assert!(err.message().contains("field `user_id`"), "{err}");
    assert_no_canary(&serde_json::to_string(&err.to_body()).expect("body"));
}
