//! Serde of the unified model: round trips, the exact envelope, unknown enum values,
//! `remote_data` only on request.

use serde_json::{Value, json};
use unidir_core::{
    Directory, GetOptions, GroupPrivacy, ListQuery, Page, RoleScope, User, UserStatus,
    sample_directory,
};

#[tokio::test]
async fn user_round_trips_and_snapshot() {
    let dir = sample_directory();
    let user = dir
        .get_user("u-1", &GetOptions::default())
        .await
        .expect("user");
    let json = serde_json::to_value(&user).expect("serialise");
    let back: User = serde_json::from_value(json.clone()).expect("deserialise");
    assert_eq!(back, user);
    assert!(
        json.get("remote_data").is_none(),
        "omitted unless asked for"
    );
    insta::assert_json_snapshot!("memory_user_u1", json);
}

#[tokio::test]
async fn remote_data_only_when_asked() {
    let dir = sample_directory();
    let with = dir
        .get_user("u-1", &GetOptions::with_remote_data())
        .await
        .expect("user");
    assert_eq!(
        with.remote_data,
        Some(json!({ "id": "u-1", "email": "ada@example.test" }))
    );
    let page = dir
        .list_groups(&ListQuery::new().with_remote_data(true))
        .await
        .expect("groups");
    assert!(page.result.iter().all(|g| g.remote_data.is_some()));
    let page = dir.list_groups(&ListQuery::new()).await.expect("groups");
    assert!(page.result.iter().all(|g| g.remote_data.is_none()));
}

#[tokio::test]
async fn page_envelope_is_exact() {
    let dir = sample_directory();
    let page = dir
        .list_roles(&ListQuery::new().with_limit(3))
        .await
        .expect("roles");
    let json = serde_json::to_value(&page).expect("serialise");
    let keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        ["next_cursor", "prev_cursor", "result", "result_count"]
    );
    assert_eq!(json["result_count"], 3);
    assert!(json["next_cursor"].is_string());
    assert!(
        json["prev_cursor"].is_null(),
        "first page has no previous page"
    );

    let last = dir
        .list_roles(
            &ListQuery::new()
                .with_limit(3)
                .with_cursor(page.next_cursor.clone().expect("next")),
        )
        .await
        .expect("roles");
    let json = serde_json::to_value(&last).expect("serialise");
    assert!(
        json["next_cursor"].is_null(),
        "null, not absent, on the last page"
    );
    assert_eq!(json["result_count"], 1);
    insta::assert_json_snapshot!("memory_roles_last_page", json, {
        ".prev_cursor" => "[cursor]",
    });

    let back: Page<unidir_core::Role> =
        serde_json::from_value(serde_json::to_value(&page).expect("ser")).expect("de");
    assert_eq!(back, page);
}

#[test]
fn page_with_wrong_count_is_rejected() {
    let bad =
        json!({ "result": [1, 2], "next_cursor": null, "prev_cursor": null, "result_count": 3 });
    let err = serde_json::from_value::<Page<u32>>(bad).unwrap_err();
    assert!(err.to_string().contains("result_count is 3"), "{err}");
    let extra = json!({ "result": [], "next_cursor": null, "prev_cursor": null, "result_count": 0, "x": 1 });
    assert!(serde_json::from_value::<Page<u32>>(extra).is_err());
}

#[test]
fn unknown_enum_values_survive() {
    let status: UserStatus = serde_json::from_value(json!("pending_review")).expect("parse");
    assert_eq!(status, UserStatus::Other("pending_review".into()));
    assert_eq!(
        serde_json::to_value(&status).expect("ser"),
        json!("pending_review")
    );
    assert_eq!(
        serde_json::from_value::<UserStatus>(json!("invited")).expect("parse"),
        UserStatus::Invited
    );
    assert_eq!(
        serde_json::from_value::<GroupPrivacy>(json!("closed")).expect("parse"),
        GroupPrivacy::Other("closed".into())
    );
    assert_eq!(RoleScope::parse("workspace").as_str(), "workspace");
}

#[test]
fn absent_optional_fields_deserialise_as_null_not_error() {
    // A minimal user as a different producer might write it (no remote_data key).
    let minimal: Value = json!({
        "id": "x", "username": null, "name": null, "first_name": null, "last_name": null,
        "emails": [], "status": "active", "roles": [], "groups": [], "avatar_url": null,
        "is_bot": null, "is_2fa_enabled": null, "is_sso_required": null, "organization_id": null,
        "created_at": null, "updated_at": null, "last_sign_in_at": null, "last_active_at": null
    });
    let user: User = serde_json::from_value(minimal).expect("parse");
    assert_eq!(user.remote_data, None);
    assert_eq!(user.primary_email(), None);
}

/// The objects are `#[non_exhaustive]`: another crate builds them with `new` and `with_*`,
/// and gets exactly what the same JSON deserialises to.
#[tokio::test]
async fn constructors_build_what_the_wire_form_reads() {
    use unidir_core::{
        Email, Group, GroupAssignment, GroupMembership, GroupType, Me, Organization,
        OrganizationRef, Role, RoleAssignment,
    };
    let sample = sample_directory();
    let ada = sample
        .get_user("u-1", &GetOptions::with_remote_data())
        .await
        .expect("user");
    let built = User::new("u-1")
        .with_name("Ada Admin".to_owned())
        .with_emails(vec![
            Email::new("ada@example.test")
                .with_email_type("work".to_owned())
                .with_is_primary(true),
        ])
        .with_status(UserStatus::Active)
        .with_roles(vec![
            RoleAssignment::new("org:admin", "admin", RoleScope::Organization),
            RoleAssignment::new("group:maintainer", "maintainer", RoleScope::Group)
                .with_group_id("g-1".to_owned()),
            RoleAssignment::new("group:member", "member", RoleScope::Group)
                .with_group_id("g-2".to_owned()),
        ])
        .with_groups(vec![
            GroupAssignment::new("g-1")
                .with_name("Platform".to_owned())
                .with_slug("platform".to_owned())
                .with_role_id("group:maintainer".to_owned())
                .with_joined_at(ada.groups[0].joined_at),
            GroupAssignment::new("g-2")
                .with_name("Security".to_owned())
                .with_slug("security".to_owned())
                .with_role_id("group:member".to_owned())
                .with_joined_at(ada.groups[1].joined_at),
        ])
        .with_is_bot(false)
        .with_organization_id("org-1".to_owned())
        .with_created_at(ada.created_at)
        .with_remote_data(json!({ "id": "u-1", "email": "ada@example.test" }));
    assert_eq!(built, ada);

    let group = Group::new("g-3", "Guild")
        .with_group_type(GroupType::Team)
        .with_has_roles(false)
        .with_member_count(2);
    assert_eq!(
        serde_json::to_value(&group).expect("json"),
        json!({
            "id": "g-3", "name": "Guild", "slug": null, "description": null,
            "group_type": "team", "privacy": null, "is_default": null,
            "default_role_id": null, "has_roles": false, "organization_id": null,
            "created_by": null, "created_at": null, "updated_at": null, "member_count": 2
        })
    );
    // Unset is what the wire form's missing keys read as.
    assert_eq!(
        serde_json::from_value::<Organization>(json!({"id": "o", "name": "O"})).expect("org"),
        Organization::new("o", "O")
    );
    assert_eq!(
        serde_json::from_value::<Role>(json!({"id": "r", "name": "R", "scope": "group"}))
            .expect("role"),
        Role::new("r", "R", RoleScope::Group)
    );
    assert_eq!(
        serde_json::from_value::<GroupMembership>(json!({"group_id": "g", "user_id": "u"}))
            .expect("membership"),
        GroupMembership::new("g", "u")
    );
    let me = Me::new(User::new("u")).with_organizations(vec![
        OrganizationRef::new("o", "O").with_slug(Some("o".to_owned())),
    ]);
    assert_eq!(me.organizations[0].slug.as_deref(), Some("o"));
    assert!(me.credential.is_none() && me.scopes.is_empty());
}
