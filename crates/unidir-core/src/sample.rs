//! A small, fixed directory for examples, docs and tests.

use chrono::{TimeZone, Utc};
use serde_json::json;

use crate::memory::MemoryDirectory;
use crate::model::{
    Email, Group, GroupMembership, GroupPrivacy, GroupType, Organization, Role, RoleAssignment,
    RoleScope, Timestamp, User, UserStatus,
};

fn at(year: i32, month: u32, day: u32) -> Option<Timestamp> {
    Utc.with_ymd_and_hms(year, month, day, 9, 0, 0).single()
}

fn user(id: &str, name: &str, email: &str, org_role: &str, status: UserStatus) -> User {
    User {
        id: id.to_owned(),
        username: None,
        name: Some(name.to_owned()),
        first_name: None,
        last_name: None,
        emails: vec![Email {
            email: email.to_owned(),
            email_type: Some("work".to_owned()),
            is_primary: true,
        }],
        status,
        roles: vec![RoleAssignment {
            id: format!("org:{org_role}"),
            name: org_role.to_owned(),
            scope: RoleScope::Organization,
            group_id: None,
        }],
        groups: Vec::new(),
        avatar_url: None,
        is_bot: Some(false),
        is_2fa_enabled: None,
        is_sso_required: None,
        organization_id: Some("org-1".to_owned()),
        created_at: at(2024, 1, 15),
        updated_at: None,
        last_sign_in_at: None,
        last_active_at: None,
        remote_data: Some(json!({ "id": id, "email": email })),
    }
}

fn group(id: &str, name: &str, privacy: GroupPrivacy, is_default: bool) -> Group {
    Group {
        id: id.to_owned(),
        name: name.to_owned(),
        slug: Some(name.to_lowercase()),
        description: None,
        group_type: GroupType::Team,
        privacy: Some(privacy),
        is_default: Some(is_default),
        default_role_id: Some("group:member".to_owned()),
        has_roles: None,
        organization_id: Some("org-1".to_owned()),
        created_by: Some("u-1".to_owned()),
        created_at: at(2024, 2, 1),
        updated_at: None,
        member_count: None,
        remote_data: Some(json!({ "id": id, "name": name })),
    }
}

fn role(id: &str, name: &str, scope: RoleScope, description: &str) -> Role {
    Role {
        id: id.to_owned(),
        name: name.to_owned(),
        description: Some(description.to_owned()),
        scope,
        remote_data: None,
    }
}

fn member(group_id: &str, user_id: &str, role_id: &str) -> GroupMembership {
    GroupMembership {
        group_id: group_id.to_owned(),
        user_id: user_id.to_owned(),
        role_id: Some(role_id.to_owned()),
        user_name: None,
        user_email: None,
        created_at: at(2024, 3, 1),
        remote_data: None,
    }
}

/// "Example Org": four users (one invited), two groups, four roles.
pub fn sample_directory() -> MemoryDirectory {
    let built = MemoryDirectory::builder()
        .organization(Organization {
            id: "org-1".to_owned(),
            name: "Example Org".to_owned(),
            slug: Some("example-org".to_owned()),
            web_url: None,
            created_at: at(2023, 6, 1),
            remote_data: Some(json!({ "id": "org-1" })),
        })
        .role(role(
            "org:admin",
            "admin",
            RoleScope::Organization,
            "Manages the organization",
        ))
        .role(role(
            "org:member",
            "member",
            RoleScope::Organization,
            "Uses the organization",
        ))
        .role(role(
            "group:maintainer",
            "maintainer",
            RoleScope::Group,
            "Manages the group",
        ))
        .role(role(
            "group:member",
            "member",
            RoleScope::Group,
            "Belongs to the group",
        ))
        .user(user(
            "u-1",
            "Ada Admin",
            "ada@example.test",
            "admin",
            UserStatus::Active,
        ))
        .user(user(
            "u-2",
            "Ben Builder",
            "ben@example.test",
            "member",
            UserStatus::Active,
        ))
        .user(user(
            "u-3",
            "Cy Contractor",
            "cy@example.test",
            "member",
            UserStatus::Active,
        ))
        .user(user(
            "u-4",
            "Dee Invitee",
            "dee@example.test",
            "member",
            UserStatus::Invited,
        ))
        .group(group("g-1", "Platform", GroupPrivacy::Visible, false))
        .group(group("g-2", "Security", GroupPrivacy::Secret, false))
        .membership(member("g-1", "u-1", "group:maintainer"))
        .membership(member("g-1", "u-2", "group:member"))
        .membership(member("g-2", "u-1", "group:member"))
        .me("u-1", &["read", "write"])
        .build();
    // The fixed data above always satisfies the builder's reference checks.
    built.unwrap_or_default()
}
