//! Determinism and scale of the generated organization.

mod common;

use std::collections::HashSet;
use std::time::Instant;

use common::{get, gql, member_edges, member_vars, start, with};
use serde_json::json;
use unidir_buildkite_sim::{OrgRole, SimConfig, TeamPrivacy};

#[tokio::test]
async fn same_seed_same_org_different_seed_different_org() {
    let a = start(SimConfig::default()).await;
    let b = start(SimConfig::default()).await;
    let c = start(SimConfig::default().with_seed(7)).await;
    assert_eq!(a.snapshot(), b.snapshot());
    assert_ne!(a.snapshot().members, c.snapshot().members);
    assert_ne!(a.snapshot().org.uuid, c.snapshot().org.uuid);

    // The served JSON is identical too (except absolute URLs, which embed the port).
    let (ua, ub) = (get(&a, "/v2/user").await, get(&b, "/v2/user").await);
    assert_eq!(ua.json(), ub.json());
    let ma = get(&a, "/v2/organizations/acme-inc/members?per_page=100").await;
    let mb = get(&b, "/v2/organizations/acme-inc/members?per_page=100").await;
    assert_eq!(ma.json(), mb.json());
}

#[tokio::test]
async fn generated_org_is_realistic() {
    let sim = start(SimConfig::default()).await;
    let snap = sim.snapshot();
    assert_eq!(snap.members.len(), 25);
    assert_eq!(snap.teams.len(), 6);
    assert_eq!(snap.members[0].role, OrgRole::Admin, "user 0 is an admin");
    let emails: HashSet<_> = snap.members.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(emails.len(), 25, "emails are unique");
    assert!(
        snap.members
            .iter()
            .all(|m| m.email.ends_with("@acme.example"))
    );
    assert!(snap.members.iter().all(|m| m.name.contains(' ')));
    let everyone = snap.team_by_slug("everyone").expect("Everyone team");
    assert!(everyone.default);
    assert!(snap.teams.iter().any(|t| t.privacy == TeamPrivacy::Secret));
    let last = snap.members.last().expect("members");
    assert!(
        snap.teams_of(&last.user_uuid).is_empty(),
        "last user has no team"
    );
    for m in &snap.members[..24] {
        assert!(snap.team_role(&everyone.uuid, &m.user_uuid).is_some());
        assert!(snap.teams_of(&m.user_uuid).len() <= 4);
    }
    // GraphQL ids are base64("<Type>---<uuid>").
    let user = get(&sim, "/v2/user").await.json();
    assert_eq!(user["id"], json!(snap.members[0].user_uuid));
    assert_eq!(user["graphql_id"], json!(snap.members[0].user_graphql_id));
}

#[tokio::test]
async fn ten_thousand_users_and_a_thousand_teams() {
    let started = Instant::now();
    let sim = start(SimConfig::default().with_users(10_000).with_teams(1_000)).await;
    let built = started.elapsed();
    let snap = sim.snapshot();
    assert_eq!(snap.members.len(), 10_000);
    assert_eq!(snap.teams.len(), 1_000);
    eprintln!("10k users / 1k teams generated and served in {built:?}");

    let last_page = get(
        &sim,
        "/v2/organizations/acme-inc/members?page=100&per_page=100",
    )
    .await;
    assert_eq!(last_page.status, 200);
    assert_eq!(last_page.json().as_array().map(Vec::len), Some(100));
    assert!(last_page.links().contains_key("first"));
    assert!(!last_page.links().contains_key("next"));

    let teams = get(
        &sim,
        "/v2/organizations/acme-inc/teams?page=10&per_page=100",
    )
    .await;
    assert_eq!(teams.json().as_array().map(Vec::len), Some(100));

    let target = &snap.members[9_999];
    let found = gql(
        &sim,
        "UnidirMembers",
        with(
            member_vars("acme-inc"),
            json!({ "first": 1, "email": target.email }),
        ),
    )
    .await
    .json();
    let edges = member_edges(&found);
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["user"]["uuid"], json!(target.user_uuid));

    let tail = gql(
        &sim,
        "UnidirMembers",
        with(member_vars("acme-inc"), json!({ "last": 3 })),
    )
    .await;
    let body = tail.json();
    assert_eq!(
        body["data"]["organization"]["members"]["count"],
        json!(10_000)
    );
    assert_eq!(member_edges(&body).len(), 3);
}
