//! Provisioning on the in-memory directory: every outcome, and plan/apply convergence.

use unidir_core::provision::{
    ChangeKind, DesiredGroup, DesiredMember, DesiredState, apply, plan, resolve_group,
    resolve_group_role,
};
use unidir_core::{Directory, ErrorKind, ListQuery, Outcome, UserRef, sample_directory};

fn id(s: &str) -> UserRef {
    UserRef::Id(s.to_owned())
}

#[tokio::test]
async fn every_single_operation_outcome() {
    let dir = sample_directory();
    let add = dir
        .add_group_member("g-2", &id("u-3"), "group:member")
        .await
        .expect("add");
    assert_eq!(add.outcome, Outcome::Created);
    let again = dir
        .add_group_member("g-2", &id("u-3"), "group:member")
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
            "group:member",
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
        .add_group_member("g-1", &id("u-3"), "org:admin")
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
    DesiredState {
        groups: vec![
            DesiredGroup {
                group: "platform".into(),
                members: vec![
                    DesiredMember {
                        user: "u-1".into(),
                        role: "maintainer".into(),
                    },
                    DesiredMember {
                        user: "ben@example.test".into(),
                        role: "maintainer".into(),
                    },
                    DesiredMember {
                        user: "cy@example.test".into(),
                        role: "member".into(),
                    },
                ],
                remove_unlisted: true,
            },
            DesiredGroup {
                group: "g-2".into(),
                members: vec![DesiredMember {
                    user: "nobody@example.test".into(),
                    role: "member".into(),
                }],
                remove_unlisted: true,
            },
            DesiredGroup {
                group: "ghosts".into(),
                members: vec![],
                remove_unlisted: true,
            },
        ],
    }
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
    let state = DesiredState {
        groups: vec![DesiredGroup {
            group: "g-1".into(),
            members: vec![
                DesiredMember {
                    user: "u-1".into(),
                    role: "member".into(),
                },
                DesiredMember {
                    user: "u-1".into(),
                    role: "maintainer".into(),
                },
            ],
            remove_unlisted: false,
        }],
    };
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
