//! The Buildkite adapter against the stateful simulator: large multi-page walks that return
//! every record exactly once (GraphQL and REST paths), and provisioning end to end
//! (every outcome, plan/apply convergence, dry-run).

use std::collections::{BTreeSet, HashSet};

use futures::TryStreamExt;
use unidir_buildkite::{Buildkite, GraphqlMode, roles};
use unidir_buildkite_sim::{RunningSimulator, SimConfig, SimToken, Simulator};
use unidir_core::provision::{ChangeKind, DesiredGroup, DesiredMember, DesiredState, apply, plan};
use unidir_core::{Directory, DirectoryExt, ErrorKind, ListQuery, Outcome, User, UserRef};

/// Budgets far above what a test spends, so the client's own pacing never waits.
fn config(users: usize, teams: usize) -> SimConfig {
    SimConfig::default()
        .with_users(users)
        .with_teams(teams)
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

/// `(team id, role id)` pairs of a user, as unidir reports them.
fn unified_groups(user: &User) -> BTreeSet<(String, String)> {
    user.groups
        .iter()
        .map(|g| (g.id.clone(), g.role_id.clone().unwrap_or_default()))
        .collect()
}

async fn assert_exact_walk(mode: GraphqlMode, users: usize, teams: usize, limit: u32) {
    let sim = Simulator::start(config(users, teams))
        .await
        .expect("simulator");
    let bk = directory(&sim, sim.default_token(), mode);
    let all: Vec<User> = bk
        .users(ListQuery::new().with_limit(limit))
        .try_collect()
        .await
        .expect("walk");
    let ids: HashSet<_> = all.iter().map(|u| u.id.clone()).collect();
    assert_eq!(all.len(), users, "{mode:?}: every member once");
    assert_eq!(ids.len(), users, "{mode:?}: no duplicates");
    let snapshot = sim.snapshot();
    for user in &all {
        let expected: BTreeSet<_> = snapshot
            .teams_of(&user.id)
            .iter()
            .map(|tm| (tm.team_uuid.clone(), format!("team:{}", tm.role.as_rest())))
            .collect();
        assert_eq!(
            unified_groups(user),
            expected,
            "{mode:?}: groups of {}",
            user.id
        );
        let member = snapshot.member(&user.id).expect("member exists");
        assert_eq!(user.primary_email(), Some(member.email.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_walk_of_1000_members_is_exact() {
    assert_exact_walk(GraphqlMode::Required, 1000, 60, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_walk_is_exact() {
    assert_exact_walk(GraphqlMode::Disabled, 250, 12, 40).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_members_walk_exactly_once() {
    let sim = Simulator::start(config(300, 130)).await.expect("simulator");
    let bk = directory(&sim, sim.default_token(), GraphqlMode::Auto);
    let groups: Vec<_> = bk
        .groups(ListQuery::new().with_limit(50))
        .try_collect()
        .await
        .expect("groups");
    let snapshot = sim.snapshot();
    assert_eq!(groups.len(), snapshot.teams.len());
    assert_eq!(
        groups
            .iter()
            .map(|g| g.id.clone())
            .collect::<HashSet<_>>()
            .len(),
        groups.len()
    );
    let everyone = &groups[0];
    let members: Vec<_> = bk
        .group_members(&everyone.id, ListQuery::new().with_limit(100))
        .try_collect()
        .await
        .expect("members");
    assert_eq!(members.len(), snapshot.members_of(&everyone.id).len());
}

fn id(user: &str) -> UserRef {
    UserRef::Id(user.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_outcomes_against_the_simulator() {
    let sim = Simulator::start(config(25, 6)).await.expect("simulator");
    let bk = directory(&sim, sim.default_token(), GraphqlMode::Auto);
    let snapshot = sim.snapshot();
    let loner = snapshot.members.last().expect("members").clone();
    assert!(
        snapshot.teams_of(&loner.user_uuid).is_empty(),
        "the last user is in no team"
    );
    let team = snapshot
        .teams
        .iter()
        .find(|t| !t.default)
        .expect("a team")
        .clone();

    let created = bk
        .add_group_member(
            &team.uuid,
            &UserRef::Email(loner.email.clone()),
            Some(roles::TEAM_MEMBER),
        )
        .await
        .expect("add");
    assert_eq!(created.outcome, Outcome::Created);
    assert_eq!(
        sim.snapshot()
            .team_role(&team.uuid, &loner.user_uuid)
            .map(|r| r.as_rest()),
        Some("member")
    );
    let same = bk
        .add_group_member(&team.uuid, &id(&loner.user_uuid), Some(roles::TEAM_MEMBER))
        .await
        .expect("again");
    assert_eq!(same.outcome, Outcome::Unchanged);
    let promoted = bk
        .change_group_member_role(&team.uuid, &id(&loner.user_uuid), roles::TEAM_MAINTAINER)
        .await
        .expect("promote");
    assert_eq!(promoted.outcome, Outcome::RoleChanged);
    assert_eq!(
        sim.snapshot()
            .team_role(&team.uuid, &loner.user_uuid)
            .map(|r| r.as_rest()),
        Some("maintainer")
    );
    let removed = bk
        .remove_group_member(&team.uuid, &id(&loner.user_uuid))
        .await
        .expect("remove");
    assert_eq!(removed.outcome, Outcome::Removed);
    assert_eq!(
        removed.previous_role_id.as_deref(),
        Some(roles::TEAM_MAINTAINER)
    );
    let absent = bk
        .remove_group_member(&team.uuid, &id(&loner.user_uuid))
        .await
        .expect("remove again");
    assert_eq!(absent.outcome, Outcome::AlreadyAbsent);
    let not_member = bk
        .change_group_member_role(&team.uuid, &id(&loner.user_uuid), roles::TEAM_MEMBER)
        .await
        .expect("change");
    assert_eq!(not_member.outcome, Outcome::NotAMember);
    let stranger = bk
        .add_group_member(
            &team.uuid,
            &UserRef::Email("stranger@elsewhere.example".into()),
            Some(roles::TEAM_MEMBER),
        )
        .await
        .expect("stranger");
    assert_eq!(stranger.outcome, Outcome::UserNotInOrganization);
    let unknown_user = bk
        .add_group_member(
            &team.uuid,
            &id("00000000-0000-4000-8000-000000000000"),
            Some(roles::TEAM_MEMBER),
        )
        .await
        .expect("unknown id");
    assert_eq!(unknown_user.outcome, Outcome::UserNotInOrganization);
    let no_team = bk
        .add_group_member(
            "00000000-0000-4000-8000-000000000000",
            &id(&loner.user_uuid),
            Some(roles::TEAM_MEMBER),
        )
        .await
        .expect("no team");
    assert_eq!(no_team.outcome, Outcome::GroupNotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_token_is_refused_before_writing() {
    let read_only = SimToken::new(
        "bkua_simulated_read_only",
        ["read_user", "read_organizations", "read_teams", "graphql"],
        0,
    );
    let sim = Simulator::start(config(10, 3).with_token(read_only))
        .await
        .expect("simulator");
    let bk = directory(&sim, "bkua_simulated_read_only", GraphqlMode::Auto);
    let team = sim.snapshot().teams[1].uuid.clone();
    let before = sim.request_count();
    let err = bk
        .remove_group_member(&team, &id(&sim.snapshot().members[0].user_uuid))
        .await
        .expect_err("no write_teams");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.missing_scope(), Some("write_teams"));
    assert_eq!(
        sim.request_count() - before,
        1,
        "only the scope check was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_apply_converge_on_the_simulator() {
    let sim = Simulator::start(config(25, 6)).await.expect("simulator");
    let bk = directory(&sim, sim.default_token(), GraphqlMode::Auto);
    let snapshot = sim.snapshot();
    let team = snapshot
        .teams
        .iter()
        .find(|t| !t.default && !snapshot.members_of(&t.uuid).is_empty())
        .expect("team")
        .clone();
    let current = snapshot.members_of(&team.uuid);
    let keep = &current[0];
    let outsider = snapshot
        .members
        .iter()
        .find(|m| snapshot.team_role(&team.uuid, &m.user_uuid).is_none())
        .expect("someone outside the team");
    let flipped = if keep.role.as_rest() == "maintainer" {
        "member"
    } else {
        "maintainer"
    };
    let desired = DesiredState::new(vec![
        DesiredGroup::new(
            team.slug.clone(),
            vec![
                DesiredMember::new(keep.user_uuid.clone()).with_role(flipped),
                DesiredMember::new(outsider.email.clone()).with_role("member"),
            ],
        )
        .with_remove_unlisted(true),
    ]);
    let dry = plan(&bk, &desired).await.expect("plan");
    assert_eq!(
        sim.snapshot().members_of(&team.uuid).len(),
        current.len(),
        "a dry run writes nothing"
    );
    let kinds: Vec<_> = dry.changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == ChangeKind::ChangeRole)
            .count(),
        1
    );
    assert_eq!(kinds.iter().filter(|k| **k == ChangeKind::Add).count(), 1);
    assert_eq!(
        kinds.iter().filter(|k| **k == ChangeKind::Remove).count(),
        current.len() - 1
    );

    let report = apply(&bk, &dry).await;
    assert!(report.is_complete(), "{report:#?}");
    let after = sim.snapshot();
    let members: BTreeSet<_> = after
        .members_of(&team.uuid)
        .iter()
        .map(|m| (m.user_uuid.clone(), m.role.as_rest()))
        .collect();
    assert_eq!(
        members,
        BTreeSet::from([
            (keep.user_uuid.clone(), flipped),
            (outsider.user_uuid.clone(), "member")
        ])
    );
    let again = plan(&bk, &desired).await.expect("plan");
    assert!(again.is_empty(), "second plan is empty: {again:#?}");
    let writes_before = sim.request_count();
    let noop = apply(&bk, &again).await;
    assert!(noop.applied.is_empty());
    assert_eq!(
        sim.request_count(),
        writes_before,
        "a no-op apply sends nothing"
    );
}

/// A server whose schema lacks `User.machineUser` (older than the docs' SDL): the adapter's
/// first GraphQL request is rejected, the field is dropped for the client's life, and the walk
/// completes with one extra request in total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_drops_an_optional_field_an_older_schema_lacks() {
    async fn walks(config: SimConfig) -> (Vec<User>, u64, Vec<User>, u64) {
        let sim = Simulator::start(config).await.expect("simulator");
        let bk = directory(&sim, sim.default_token(), GraphqlMode::Required);
        let first: Vec<User> = bk
            .users(ListQuery::new().with_limit(10))
            .try_collect()
            .await
            .expect("first walk");
        let after_first = sim.request_count();
        let second: Vec<User> = bk
            .users(ListQuery::new().with_limit(10))
            .try_collect()
            .await
            .expect("second walk");
        (
            first,
            after_first,
            second,
            sim.request_count() - after_first,
        )
    }
    let (full, full_first, _, full_second) = walks(config(30, 4)).await;
    let (older, older_first, again, older_second) =
        walks(config(30, 4).with_schema_without("User.machineUser")).await;
    assert_eq!(older.len(), 30);
    assert_eq!(again.len(), 30);
    assert_eq!(
        older_first,
        full_first + 1,
        "one rejected request, then the field is dropped"
    );
    assert_eq!(
        older_second, full_second,
        "dropped for the rest of the client's life"
    );
    // Without machineUser the bot flag comes from `bot` alone; everything else is the same.
    for (a, b) in full.iter().zip(&older) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.is_bot, b.is_bot);
        assert_eq!(unified_groups(a), unified_groups(b));
    }
}

/// A REST-only walk of every user reads the teams once, not once per page: members pages +
/// one teams walk + one walk of each team's members (O(members + teams + memberships)). A
/// second walk soon after reuses the index; a membership change forgets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_walk_reads_the_teams_once() {
    let (users, teams, limit) = (450usize, 12usize, 50usize);
    let sim = Simulator::start(config(users, teams))
        .await
        .expect("simulator");
    let bk = directory(&sim, sim.default_token(), GraphqlMode::Disabled);
    let snapshot = sim.snapshot();
    let member_pages = users.div_ceil(limit);
    // Each team's members are read 100 at a time; an empty team still costs one page.
    let team_member_pages: usize = snapshot
        .teams
        .iter()
        .map(|t| snapshot.members_of(&t.uuid).len().div_ceil(100).max(1))
        .sum();
    let index_cost = teams.div_ceil(100) + team_member_pages;
    let before = sim.request_count();
    let all: Vec<User> = bk
        .users(ListQuery::new().with_limit(limit as u32))
        .try_collect()
        .await
        .expect("walk");
    assert_eq!(all.len(), users);
    let first = sim.request_count() - before;
    // Plus the organization, read once per directory for `organization_id` (REST only).
    assert_eq!(
        first as usize,
        member_pages + index_cost + 1,
        "members pages plus the team index once"
    );

    let again: Vec<User> = bk
        .users(ListQuery::new().with_limit(limit as u32))
        .try_collect()
        .await
        .expect("second walk");
    assert_eq!(again.len(), users);
    assert_eq!(
        (sim.request_count() - before - first) as usize,
        member_pages,
        "the index is reused while it is in use"
    );

    // A membership change made through this directory forgets the index.
    let loner = &all[0];
    let team = &snapshot.teams[1];
    bk.add_group_member(
        &team.uuid,
        &UserRef::Id(loner.id.clone()),
        Some(roles::TEAM_MAINTAINER),
    )
    .await
    .expect("grant");
    let after_write = sim.request_count();
    let third: Vec<User> = bk
        .users(ListQuery::new().with_limit(limit as u32))
        .try_collect()
        .await
        .expect("third walk");
    let cost = (sim.request_count() - after_write) as usize;
    assert!(
        cost > member_pages,
        "a fresh index is read after a write: {cost}"
    );
    let granted = third.iter().find(|u| u.id == loner.id).expect("user");
    assert!(
        granted
            .groups
            .iter()
            .any(|g| g.id == team.uuid && g.role_id.as_deref() == Some(roles::TEAM_MAINTAINER)),
        "the change is visible"
    );
}

/// Memberships derived from the users (what `export` writes without re-reading) are the
/// groups' member lists exactly: same groups, users, roles and join times (to the second:
/// Buildkite's GraphQL `createdAt` has no milliseconds, REST's `created_at` has), on the
/// GraphQL and the REST path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memberships_from_users_match_the_groups_member_lists() {
    let sim = Simulator::start(config(300, 15)).await.expect("simulator");
    let key = |m: &unidir_core::GroupMembership| {
        (
            m.group_id.clone(),
            m.user_id.clone(),
            m.role_id.clone(),
            m.created_at.map(|t| t.timestamp()),
        )
    };
    let groups: Vec<_> = directory(&sim, sim.default_token(), GraphqlMode::Disabled)
        .groups(ListQuery::new())
        .try_collect()
        .await
        .expect("groups");
    for mode in [GraphqlMode::Required, GraphqlMode::Disabled] {
        let bk = directory(&sim, sim.default_token(), mode);
        let mut read = BTreeSet::new();
        for group in &groups {
            let members: Vec<_> = bk
                .group_members(&group.id, ListQuery::new())
                .try_collect()
                .await
                .expect("members");
            read.extend(members.iter().map(key));
        }
        let users: Vec<User> = bk
            .users(ListQuery::new())
            .try_collect()
            .await
            .expect("users");
        let derived: BTreeSet<_> = users
            .iter()
            .flat_map(User::group_memberships)
            .map(|m| key(&m))
            .collect();
        assert!(!read.is_empty());
        let missing: Vec<_> = read.difference(&derived).take(3).collect();
        let extra: Vec<_> = derived.difference(&read).take(3).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{mode:?}: missing {missing:?}, extra {extra:?}"
        );
    }
}

/// `add_group_member` without a role adds in the team's default role: maintainer in a team
/// whose `default_member_role` is maintainer, member elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_add_without_a_role_uses_the_team_default_role() {
    use unidir_buildkite_sim::{MemberSpec, OrgRole, OrgSpec, TeamRole, TeamSpec};
    const LEADS: &str = "6a1e2b3c-4d5e-4f60-8a7b-8c9d0e1f2a30";
    const PLAIN: &str = "6a1e2b3c-4d5e-4f60-8a7b-8c9d0e1f2a31";
    const ERIN: &str = "018f2b71-5d6e-4f70-9b8c-0d1e2f3a4b95";
    let spec = OrgSpec::new(
        vec![
            MemberSpec::new("Alice Admin", "alice@acme.example", OrgRole::Admin),
            MemberSpec::new("Erin Newhire", "erin@acme.example", OrgRole::Member).with_uuid(ERIN),
        ],
        vec![
            TeamSpec::new("Leads")
                .with_uuid(LEADS)
                .with_default_member_role(TeamRole::Maintainer),
            TeamSpec::new("Plain").with_uuid(PLAIN),
        ],
    );
    let sim = Simulator::start(config(0, 0).with_spec(spec))
        .await
        .expect("simulator");
    let bk = directory(&sim, sim.default_token(), GraphqlMode::Auto);

    for (team, role, rest) in [
        (LEADS, roles::TEAM_MAINTAINER, "maintainer"),
        (PLAIN, roles::TEAM_MEMBER, "member"),
    ] {
        let added = bk
            .add_group_member(team, &id(ERIN), None)
            .await
            .expect("add");
        assert_eq!(added.outcome, Outcome::Created, "{rest}");
        assert_eq!(added.role_id.as_deref(), Some(role));
        assert_eq!(
            sim.snapshot().team_role(team, ERIN).map(|r| r.as_rest()),
            Some(rest)
        );
        // Again without a role: already there in the default role.
        let again = bk
            .add_group_member(team, &id(ERIN), None)
            .await
            .expect("again");
        assert_eq!(again.outcome, Outcome::Unchanged, "{rest}");
    }
    // An explicit role still wins over the default.
    bk.remove_group_member(LEADS, &id(ERIN))
        .await
        .expect("remove");
    let explicit = bk
        .add_group_member(LEADS, &id(ERIN), Some(roles::TEAM_MEMBER))
        .await
        .expect("add as member");
    assert_eq!(explicit.role_id.as_deref(), Some(roles::TEAM_MEMBER));
    assert_eq!(
        sim.snapshot().team_role(LEADS, ERIN).map(|r| r.as_rest()),
        Some("member")
    );
}
