//! Provisioning on the in-memory directory: every outcome, and plan/apply convergence.

use futures::TryStreamExt;
use unidir_core::provision::{
    ChangeKind, DesiredGroup, DesiredMember, DesiredState, apply, plan, resolve_group,
    resolve_group_role,
};
use unidir_core::{
    Directory, DirectoryExt, ErrorKind, GetOptions, GroupRoles, ListQuery, MemoryDirectory,
    Outcome, UserRef, sample_directory,
};

fn id(s: &str) -> UserRef {
    UserRef::Id(s.to_owned())
}

#[tokio::test]
async fn every_single_operation_outcome() {
    let dir = sample_directory();
    let add = dir
        .add_group_member("g-2", &id("u-3"), Some("group:member"))
        .await
        .expect("add");
    assert_eq!(add.outcome, Outcome::Created);
    let again = dir
        .add_group_member("g-2", &id("u-3"), Some("group:member"))
        .await
        .expect("add");
    assert_eq!(again.outcome, Outcome::Unchanged, "idempotent");
    let promote = dir
        .change_group_member_role(
            "g-2",
            &UserRef::Email("CY@example.test".into()),
            "group:maintainer",
        )
        .await
        .expect("change");
    assert_eq!(promote.outcome, Outcome::RoleChanged);
    assert_eq!(promote.previous_role_id.as_deref(), Some("group:member"));
    assert_eq!(promote.role_id.as_deref(), Some("group:maintainer"));
    let not_member = dir
        .change_group_member_role("g-2", &id("u-2"), "group:member")
        .await
        .expect("change");
    assert_eq!(not_member.outcome, Outcome::NotAMember);
    let removed = dir
        .remove_group_member("g-2", &id("u-3"))
        .await
        .expect("remove");
    assert_eq!(removed.outcome, Outcome::Removed);
    let absent = dir
        .remove_group_member("g-2", &id("u-3"))
        .await
        .expect("remove");
    assert_eq!(absent.outcome, Outcome::AlreadyAbsent);
    let stranger = dir
        .add_group_member(
            "g-1",
            &UserRef::Email("x@elsewhere.test".into()),
            Some("group:member"),
        )
        .await
        .expect("add");
    assert_eq!(stranger.outcome, Outcome::UserNotInOrganization);
    let no_group = dir
        .remove_group_member("g-404", &id("u-1"))
        .await
        .expect("remove");
    assert_eq!(no_group.outcome, Outcome::GroupNotFound);
    let bad_role = dir
        .add_group_member("g-1", &id("u-3"), Some("org:admin"))
        .await
        .expect_err("org role");
    assert_eq!(bad_role.kind(), ErrorKind::InvalidInput);
    insta::assert_json_snapshot!(
        "memory_outcomes",
        [
            add, again, promote, not_member, removed, absent, stranger, no_group
        ]
    );
}

#[tokio::test]
async fn resolvers() {
    let dir = sample_directory();
    assert_eq!(
        resolve_group(&dir, "security")
            .await
            .expect("slug")
            .map(|g| g.id),
        Some("g-2".into())
    );
    assert_eq!(
        resolve_group(&dir, "g-1").await.expect("id").map(|g| g.id),
        Some("g-1".into())
    );
    assert!(resolve_group(&dir, "nope").await.expect("none").is_none());
    assert_eq!(
        resolve_group_role(&dir, "maintainer").await.expect("short"),
        "group:maintainer"
    );
    assert_eq!(
        resolve_group_role(&dir, "group:member").await.expect("id"),
        "group:member"
    );
    assert_eq!(
        resolve_group_role(&dir, "admin")
            .await
            .expect_err("org role")
            .kind(),
        ErrorKind::InvalidInput
    );
}

fn desired() -> DesiredState {
    DesiredState::new(vec![
        DesiredGroup::new(
            "platform",
            vec![
                DesiredMember::new("u-1").with_role("maintainer"),
                DesiredMember::new("ben@example.test").with_role("maintainer"),
                DesiredMember::new("cy@example.test").with_role("member"),
            ],
        )
        .with_remove_unlisted(true),
        DesiredGroup::new(
            "g-2",
            vec![DesiredMember::new("nobody@example.test").with_role("member")],
        )
        .with_remove_unlisted(true),
        DesiredGroup::new("ghosts", vec![]).with_remove_unlisted(true),
    ])
}

#[tokio::test]
async fn plan_is_a_dry_run_and_apply_converges() {
    let dir = sample_directory();
    let before = dir
        .list_group_members("g-1", &ListQuery::new())
        .await
        .expect("members");
    let first = plan(&dir, &desired()).await.expect("plan");
    let kinds: Vec<_> = first
        .changes
        .iter()
        .map(|c| (c.kind, c.group_id.as_str(), c.user_id.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ChangeKind::ChangeRole, "g-1", "u-2"),
            (ChangeKind::Add, "g-1", "u-3"),
            (ChangeKind::Remove, "g-2", "u-1"),
        ]
    );
    let problems: Vec<_> = first.problems.iter().map(|p| p.outcome).collect();
    assert_eq!(
        problems,
        [Outcome::UserNotInOrganization, Outcome::GroupNotFound]
    );
    let after_plan = dir
        .list_group_members("g-1", &ListQuery::new())
        .await
        .expect("members");
    assert_eq!(before, after_plan, "planning writes nothing");
    insta::assert_json_snapshot!("memory_plan", first);

    let report = apply(&dir, &first).await;
    assert_eq!(report.succeeded(), 3);
    assert_eq!(report.failed(), 0);
    assert!(
        !report.is_complete(),
        "the unresolved entries are still reported"
    );
    let outcomes: Vec<_> = report
        .applied
        .iter()
        .filter_map(|a| a.result.as_ref().map(|r| r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [Outcome::RoleChanged, Outcome::Created, Outcome::Removed]
    );

    let second = plan(&dir, &desired()).await.expect("plan");
    assert!(second.changes.is_empty(), "converged: {:?}", second.changes);
    let noop = apply(&dir, &second).await;
    assert!(noop.applied.is_empty());
}

#[tokio::test]
async fn partial_failure_is_reported_and_rerun_converges() {
    let dir = sample_directory();
    let mut p = plan(&dir, &desired()).await.expect("plan");
    // Sabotage one change: its group vanished between plan and apply.
    p.changes[1].group_id = "g-404".into();
    let report = apply(&dir, &p).await;
    assert_eq!(report.succeeded(), 2);
    assert_eq!(report.failed(), 1);
    assert_eq!(
        report.applied[1].result.as_ref().map(|r| r.outcome),
        Some(Outcome::GroupNotFound)
    );
    let rerun = plan(&dir, &desired()).await.expect("plan");
    assert_eq!(rerun.changes.len(), 1, "only the failed change is left");
    apply(&dir, &rerun).await;
    assert!(
        plan(&dir, &desired())
            .await
            .expect("plan")
            .changes
            .is_empty()
    );
}

#[tokio::test]
async fn conflicting_roles_for_one_user_are_rejected() {
    let dir = sample_directory();
    let state = DesiredState::new(vec![
        DesiredGroup::new(
            "g-1",
            vec![
                DesiredMember::new("u-1").with_role("member"),
                DesiredMember::new("u-1").with_role("maintainer"),
            ],
        )
        .with_remove_unlisted(false),
    ]);
    assert_eq!(
        plan(&dir, &state).await.expect_err("conflict").kind(),
        ErrorKind::InvalidInput
    );
}

fn parse(text: &str) -> Result<DesiredState, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

#[test]
fn a_misspelt_key_is_refused_with_the_nearest_valid_key() {
    let typo = parse(r#"{"groups":[{"group":"g-1","members":[],"remove_unlsted":false}]}"#)
        .expect_err("typo");
    assert!(
        typo.contains("unknown key `remove_unlsted`; did you mean `remove_unlisted`?"),
        "{typo}"
    );
    let top = parse(r#"{"grups":[]}"#).expect_err("typo");
    assert!(
        top.contains("unknown key `grups`; did you mean `groups`?"),
        "{top}"
    );
    let member = parse(r#"{"groups":[{"group":"g-1","members":[{"user":"u-1","rol":"member"}]}]}"#)
        .expect_err("typo");
    assert!(member.contains("did you mean `role`?"), "{member}");
    // Nothing close: the valid keys are listed instead of a guess.
    let far = parse(r#"{"groups":[{"group":"g-1","members":[],"purge_everyone":true}]}"#)
        .expect_err("unknown");
    assert!(
        far.contains(
            "unknown key `purge_everyone`; expected `group`, `members`, `remove_unlisted`"
        ),
        "{far}"
    );
    // The key is shown escaped: it comes from a file.
    let escaped = parse("{\"gr\\u001b[31mups\":[]}").expect_err("unknown");
    assert!(escaped.contains("`gr\\u{1b}[31mups`"), "{escaped}");
    assert!(!escaped.contains('\u{1b}'), "{escaped:?}");
    let twice = parse(r#"{"groups":[],"groups":[]}"#).expect_err("duplicate");
    assert!(twice.contains("duplicate field `groups`"), "{twice}");
    let missing = parse(r#"{"groups":[{"members":[]}]}"#).expect_err("missing");
    assert!(missing.contains("missing field `group`"), "{missing}");
}

#[tokio::test]
async fn removing_unlisted_members_is_opt_in() {
    let state = parse(r#"{"groups":[{"group":"g-2","members":[]}]}"#).expect("valid");
    assert!(!state.groups[0].remove_unlisted, "default false");
    let dir = sample_directory();
    let members = dir
        .list_group_members("g-2", &ListQuery::new())
        .await
        .expect("members");
    assert!(!members.result.is_empty(), "the group has members to lose");
    let keep = plan(&dir, &state).await.expect("plan");
    assert!(keep.changes.is_empty(), "{:?}", keep.changes);

    let opted = parse(r#"{"groups":[{"group":"g-2","members":[],"remove_unlisted":true}]}"#)
        .expect("valid");
    let purge = plan(&dir, &opted).await.expect("plan");
    assert_eq!(purge.changes.len(), members.result.len());
    assert!(purge.changes.iter().all(|c| c.kind == ChangeKind::Remove));
    assert_eq!(
        purge.removals_and_downgrades().count(),
        members.result.len()
    );
    // The round trip keeps the flag.
    let text = serde_json::to_string(&opted).expect("json");
    assert_eq!(parse(&text).expect("valid"), opted);
}

#[tokio::test]
async fn removals_and_downgrades_are_told_apart_from_additions_and_promotions() {
    let dir = sample_directory();
    let first = plan(&dir, &desired()).await.expect("plan");
    // u-2 in g-1: member -> maintainer (a promotion); u-3 added; u-1 removed from g-2.
    let away: Vec<_> = first
        .removals_and_downgrades()
        .map(|c| (c.kind, c.user_id.as_str()))
        .collect();
    assert_eq!(away, [(ChangeKind::Remove, "u-1")]);
    let mut downgrade = first.changes[0].clone();
    assert_eq!(downgrade.kind, ChangeKind::ChangeRole);
    assert!(!downgrade.takes_access_away());
    std::mem::swap(&mut downgrade.role_id, &mut downgrade.previous_role_id);
    assert!(downgrade.takes_access_away(), "maintainer -> member");
    downgrade.role_id = Some("custom:auditor".into());
    assert!(downgrade.takes_access_away(), "an unknown role change asks");
}

/// The sample directory plus `g-3` "Guild", a group without roles that Ben belongs to.
async fn with_guild() -> MemoryDirectory {
    let sample = sample_directory();
    let all = ListQuery::new().with_remote_data(true);
    let mut builder = MemoryDirectory::builder();
    for org in sample
        .organizations(all.clone())
        .try_collect::<Vec<_>>()
        .await
        .expect("orgs")
    {
        builder = builder.organization(org);
    }
    for role in sample
        .roles(all.clone())
        .try_collect::<Vec<_>>()
        .await
        .expect("roles")
    {
        builder = builder.role(role);
    }
    for user in sample
        .users(all.clone())
        .try_collect::<Vec<_>>()
        .await
        .expect("users")
    {
        builder = builder.user(user);
    }
    let mut ben_in_guild = None;
    for group in sample
        .groups(all.clone())
        .try_collect::<Vec<_>>()
        .await
        .expect("groups")
    {
        for membership in sample
            .group_members(&group.id, all.clone())
            .try_collect::<Vec<_>>()
            .await
            .expect("members")
        {
            if membership.user_id == "u-2" {
                let mut guild = membership.clone();
                guild.group_id = "g-3".into();
                guild.role_id = None;
                ben_in_guild = Some(guild);
            }
            builder = builder.membership(membership);
        }
        builder = builder.group(group);
    }
    let mut guild = sample
        .get_group("g-1", &GetOptions::default())
        .await
        .expect("g-1");
    guild.id = "g-3".into();
    guild.name = "Guild".into();
    guild.slug = Some("guild".into());
    guild.default_role_id = None;
    guild.has_roles = Some(false);
    builder
        .group(guild)
        .membership(ben_in_guild.expect("Ben is in a group"))
        .me("u-1", &[])
        .build()
        .expect("valid")
}

#[tokio::test]
async fn a_group_without_roles_takes_members_without_one() {
    let dir = with_guild().await;
    let caps = dir.capabilities().await.expect("caps");
    assert_eq!(caps.group_roles, GroupRoles::PerGroup);
    let guild = dir
        .get_group("g-3", &GetOptions::default())
        .await
        .expect("g-3");
    let platform = dir
        .get_group("g-1", &GetOptions::default())
        .await
        .expect("g-1");
    assert!(!caps.group_has_roles(&guild));
    assert!(caps.group_has_roles(&platform));

    let added = dir
        .add_group_member("g-3", &id("u-3"), None)
        .await
        .expect("add");
    assert_eq!(
        (
            added.outcome,
            added.role_id.as_deref(),
            added.previous_role_id.as_deref()
        ),
        (Outcome::Created, None, None)
    );
    let again = dir
        .add_group_member("g-3", &id("u-3"), None)
        .await
        .expect("add");
    assert_eq!((again.outcome, again.role_id), (Outcome::Unchanged, None));
    let with_role = dir
        .add_group_member("g-3", &id("u-1"), Some("group:member"))
        .await
        .expect_err("no roles here");
    assert_eq!(with_role.kind(), ErrorKind::InvalidInput);
    assert!(
        with_role.to_string().contains("has no roles"),
        "{with_role}"
    );
    let change = dir
        .change_group_member_role("g-3", &id("u-3"), "group:maintainer")
        .await
        .expect_err("no roles to change");
    assert_eq!(change.kind(), ErrorKind::InvalidInput);

    let members = dir
        .list_group_members("g-3", &ListQuery::new())
        .await
        .expect("members");
    let listed: Vec<_> = members
        .result
        .iter()
        .map(|m| (m.user_id.as_str(), m.role_id.as_deref()))
        .collect();
    assert_eq!(listed, [("u-2", None), ("u-3", None)], "u-1 was not added");
    let cy = dir
        .get_user("u-3", &GetOptions::default())
        .await
        .expect("cy");
    assert!(
        cy.groups
            .iter()
            .any(|g| g.id == "g-3" && g.role_id.is_none())
    );
    assert!(
        !cy.roles
            .iter()
            .any(|r| r.group_id.as_deref() == Some("g-3")),
        "no group role is derived from a roleless membership: {:?}",
        cy.roles
    );

    let removed = dir
        .remove_group_member("g-3", &id("u-3"))
        .await
        .expect("remove");
    assert_eq!(
        (removed.outcome, removed.previous_role_id),
        (Outcome::Removed, None)
    );
}

#[tokio::test]
async fn without_a_role_a_member_gets_the_group_default() {
    let dir = sample_directory();
    let added = dir
        .add_group_member("g-2", &id("u-3"), None)
        .await
        .expect("add");
    assert_eq!(
        (added.outcome, added.role_id.as_deref()),
        (Outcome::Created, Some("group:member"))
    );
    // Ada maintains g-1; `None` asks for the default role, so she is moved to it.
    let ada = dir
        .add_group_member("g-1", &id("u-1"), None)
        .await
        .expect("add");
    assert_eq!(
        (
            ada.outcome,
            ada.role_id.as_deref(),
            ada.previous_role_id.as_deref()
        ),
        (
            Outcome::RoleChanged,
            Some("group:member"),
            Some("group:maintainer")
        )
    );

    // A group with roles but no default role needs one named.
    let mut no_default = dir
        .get_group("g-1", &GetOptions::default())
        .await
        .expect("g-1");
    assert!(no_default.default_role_id.take().is_some());
    let built = MemoryDirectory::builder()
        .group(no_default)
        .build()
        .expect("valid");
    let err = built
        .add_group_member("g-1", &id("u-1"), None)
        .await
        .expect_err("no default role");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("no default role"), "{err}");
}

#[tokio::test]
async fn plan_and_apply_converge_on_a_group_without_roles() {
    let dir = with_guild().await;
    let desired = parse(
        r#"{"groups":[{"group":"guild","members":[{"user":"u-1"},{"user":"cy@example.test"}],"remove_unlisted":true}]}"#,
    )
    .expect("valid");
    let planned = plan(&dir, &desired).await.expect("plan");
    let changes: Vec<_> = planned
        .changes
        .iter()
        .map(|c| (c.kind, c.user_id.as_str(), c.role_id.as_deref()))
        .collect();
    assert_eq!(
        changes,
        [
            (ChangeKind::Add, "u-1", None),
            (ChangeKind::Add, "u-3", None),
            (ChangeKind::Remove, "u-2", None),
        ]
    );
    assert!(planned.problems.is_empty(), "{:?}", planned.problems);
    let report = apply(&dir, &planned).await;
    assert!(report.is_complete(), "{report:?}");
    assert!(
        plan(&dir, &desired).await.expect("plan").is_empty(),
        "converged"
    );

    let with_role =
        parse(r#"{"groups":[{"group":"guild","members":[{"user":"u-1","role":"member"}]}]}"#)
            .expect("valid");
    let err = plan(&dir, &with_role).await.expect_err("no roles in guild");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("has no roles"), "{err}");
}

#[tokio::test]
async fn a_member_listed_without_a_role_keeps_theirs() {
    let dir = sample_directory();
    // Ada maintains g-1; Cy is not in it.
    let desired = DesiredState::new(vec![DesiredGroup::new(
        "platform",
        vec![DesiredMember::new("u-1"), DesiredMember::new("u-3")],
    )]);
    let planned = plan(&dir, &desired).await.expect("plan");
    let changes: Vec<_> = planned
        .changes
        .iter()
        .map(|c| (c.kind, c.user_id.as_str(), c.role_id.as_deref()))
        .collect();
    assert_eq!(
        changes,
        [(ChangeKind::Add, "u-3", Some("group:member"))],
        "added with the group's default role; Ada keeps hers"
    );
    assert!(apply(&dir, &planned).await.is_complete());
    assert!(plan(&dir, &desired).await.expect("plan").is_empty());
    let ada = dir
        .get_user("u-1", &GetOptions::default())
        .await
        .expect("ada");
    assert!(
        ada.groups
            .iter()
            .any(|g| g.id == "g-1" && g.role_id.as_deref() == Some("group:maintainer"))
    );
}

#[test]
fn a_member_may_leave_the_role_out() {
    let state = parse(
        r#"{"groups":[{"group":"g","members":[{"user":"u-1"},{"user":"u-2","role":null},{"user":"u-3","role":"member"}]}]}"#,
    )
    .expect("valid");
    let roles: Vec<_> = state.groups[0]
        .members
        .iter()
        .map(|m| m.role.as_deref())
        .collect();
    assert_eq!(roles, [None, None, Some("member")]);
    let text = serde_json::to_string(&state.groups[0].members[0]).expect("json");
    assert_eq!(text, r#"{"user":"u-1"}"#, "no role key when none is asked");
    assert_eq!(
        parse(&serde_json::to_string(&state).expect("json")),
        Ok(state)
    );
}

/// The user problems of planning `users` into g-2 (additive), as (user, outcome).
async fn user_problems(users: &[&str]) -> Vec<(String, Outcome)> {
    let dir = sample_directory();
    let members = users.iter().map(|u| DesiredMember::new(*u)).collect();
    let state = DesiredState::new(vec![DesiredGroup::new("g-2", members)]);
    let plan = plan(&dir, &state).await.expect("plan");
    plan.problems
        .into_iter()
        .map(|p| (p.user.unwrap_or_default(), p.outcome))
        .collect()
}

#[tokio::test]
async fn every_user_reference_is_checked_by_lookup_and_by_walk_alike() {
    let few = ["u-2", "u-404", "", "CY@example.test", "nobody@example.test"];
    let want = vec![
        ("u-404".to_owned(), Outcome::UserNotInOrganization),
        (String::new(), Outcome::InvalidUser),
        (
            "nobody@example.test".to_owned(),
            Outcome::UserNotInOrganization,
        ),
    ];
    assert!(few.len() <= unidir_core::provision::LOOKUP_LIMIT);
    assert_eq!(user_problems(&few).await, want, "one lookup each");
    // Past the lookup limit, one walk over the members resolves them all.
    let padding: Vec<String> = (0..unidir_core::provision::LOOKUP_LIMIT)
        .map(|i| format!("ghost-{i}@example.test"))
        .collect();
    let mut many: Vec<&str> = few.to_vec();
    many.extend(padding.iter().map(String::as_str));
    let mut walked = user_problems(&many).await;
    walked.retain(|(u, _)| !u.starts_with("ghost-"));
    assert_eq!(walked, want, "one walk");
}

#[tokio::test]
async fn a_group_listed_twice_is_refused_by_name_or_by_two_names() {
    let dir = sample_directory();
    for second in ["platform", "g-1"] {
        let state = DesiredState::new(vec![
            DesiredGroup::new("platform", vec![DesiredMember::new("u-1")]),
            DesiredGroup::new(second, vec![DesiredMember::new("u-1")]).with_remove_unlisted(true),
        ]);
        let err = plan(&dir, &state).await.expect_err("listed twice");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{second}: {err}");
        assert!(err.message().contains("listed twice"), "{err}");
    }
}
