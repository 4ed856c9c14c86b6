//! The in-memory reference directory: filters, paging, cursors, errors, capabilities.

use futures::TryStreamExt;
use unidir_core::{
    Cursor, Directory, DirectoryExt, ErrorKind, GetOptions, ListQuery, MemoryDirectory, Operation,
    Resource, RoleScope, UserStatus, find_user_by_email, sample_directory,
};

#[tokio::test]
async fn filters_users() {
    let dir = sample_directory();
    let by_email: Vec<_> = dir
        .users(ListQuery::new().with_email("BEN@example.test"))
        .try_collect()
        .await
        .expect("users");
    assert_eq!(
        by_email.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["u-2"]
    );

    let invited: Vec<_> = dir
        .users(ListQuery::new().with_status(UserStatus::Invited))
        .try_collect()
        .await
        .expect("users");
    assert_eq!(
        invited.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["u-4"]
    );

    let in_platform: Vec<_> = dir
        .users(ListQuery::new().with_group_id("g-1"))
        .try_collect()
        .await
        .expect("users");
    assert_eq!(
        in_platform
            .iter()
            .map(|u| u.id.as_str())
            .collect::<Vec<_>>(),
        ["u-1", "u-2"]
    );

    let admins: Vec<_> = dir
        .users(ListQuery::new().with_role_id("org:admin"))
        .try_collect()
        .await
        .expect("users");
    assert_eq!(admins.len(), 1);
    let maintainers: Vec<_> = dir
        .users(ListQuery::new().with_role_id("group:maintainer"))
        .try_collect()
        .await
        .expect("users");
    assert_eq!(
        maintainers
            .iter()
            .map(|u| u.id.as_str())
            .collect::<Vec<_>>(),
        ["u-1"]
    );
}

#[tokio::test]
async fn user_groups_and_roles_come_from_memberships() {
    let dir = sample_directory();
    let ada = dir
        .get_user("u-1", &GetOptions::default())
        .await
        .expect("user");
    let groups: Vec<_> = ada
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.role_id.as_deref()))
        .collect();
    assert_eq!(
        groups,
        [
            ("g-1", Some("group:maintainer")),
            ("g-2", Some("group:member"))
        ]
    );
    let group_roles = ada
        .roles
        .iter()
        .filter(|r| r.scope == RoleScope::Group)
        .count();
    assert_eq!(group_roles, 2);
    let of_user: Vec<_> = dir
        .user_groups("u-1", ListQuery::new())
        .try_collect()
        .await
        .expect("groups");
    assert_eq!(of_user.len(), 2);
    let cy = dir
        .get_user("u-3", &GetOptions::default())
        .await
        .expect("user");
    assert!(cy.groups.is_empty(), "a user in no group has an empty list");
}

#[tokio::test]
async fn cursor_misuse_is_rejected() {
    let dir = sample_directory();
    let page = dir
        .list_users(&ListQuery::new().with_limit(1))
        .await
        .expect("users");
    let next = page.next_cursor.expect("next");
    // Reusing a users cursor for groups.
    let err = dir
        .list_groups(&ListQuery::new().with_cursor(next.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    assert_eq!(err.provider(), "memory");
    assert_eq!(err.operation(), "list_groups");
    // Changing filters mid-walk.
    let err = dir
        .list_users(
            &ListQuery::new()
                .with_status(UserStatus::Active)
                .with_cursor(next.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    // Another group's members.
    let members = dir
        .list_group_members("g-1", &ListQuery::new().with_limit(1))
        .await
        .expect("members");
    let err = dir
        .list_group_members(
            "g-2",
            &ListQuery::new().with_cursor(members.next_cursor.expect("next")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    // Garbage.
    let err = dir
        .list_users(&ListQuery::new().with_cursor(Cursor::new("garbage")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCursor);
}

#[tokio::test]
async fn prev_cursor_goes_back() {
    let dir = sample_directory();
    let first = dir
        .list_users(&ListQuery::new().with_limit(2))
        .await
        .expect("p1");
    let second = dir
        .list_users(
            &ListQuery::new()
                .with_limit(2)
                .with_cursor(first.next_cursor.clone().expect("next")),
        )
        .await
        .expect("p2");
    let back = dir
        .list_users(
            &ListQuery::new()
                .with_limit(2)
                .with_cursor(second.prev_cursor.clone().expect("prev")),
        )
        .await
        .expect("back");
    assert_eq!(back.result, first.result);
}

#[tokio::test]
async fn errors_are_typed() {
    let dir = sample_directory();
    let err = dir
        .get_user("nope", &GetOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = dir
        .list_group_members("nope", &ListQuery::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = dir
        .list_users(&ListQuery::new().with_limit(0))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = dir
        .list_groups(&ListQuery::new().with_email("x@example.test"))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unsupported,
        "an unsupported filter is never ignored"
    );
    let empty = MemoryDirectory::builder().build().expect("empty");
    assert_eq!(
        empty.me(&GetOptions::default()).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[tokio::test]
async fn builder_checks_references() {
    let bad = MemoryDirectory::builder()
        .membership(unidir_core::GroupMembership::new("g", "u"))
        .build();
    assert_eq!(bad.unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn capabilities_and_me() {
    let dir = sample_directory();
    let caps = dir.capabilities().await.expect("caps");
    assert!(caps.supports(Resource::Users, Operation::List));
    assert!(caps.supports(Resource::Me, Operation::Get));
    assert!(caps.supports(Resource::GroupMembers, Operation::Add));
    assert!(!caps.supports(Resource::Groups, Operation::Add));
    let me = dir.me(&GetOptions::default()).await.expect("me");
    assert_eq!(me.user.id, "u-1");
    assert_eq!(me.organizations.len(), 1);
    let found = find_user_by_email(&dir, "cy@example.test", false)
        .await
        .expect("lookup");
    assert_eq!(found.map(|u| u.id), Some("u-3".to_owned()));
    assert!(
        find_user_by_email(&dir, "none@example.test", false)
            .await
            .expect("lookup")
            .is_none()
    );
}
