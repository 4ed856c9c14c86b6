//! Seeding the in-memory reference directory from a [`World`].

use serde_json::json;
use unidir_core::{
    Email, Group, GroupMembership, GroupType, MemoryDirectory, Organization, Result, Role,
    RoleAssignment, RoleScope, User, UserStatus,
};

use crate::world::World;

/// The id [`memory_directory`] gives a role: `org:<key>` or `group:<key>`.
fn role_id(key: &str, scope: &RoleScope) -> String {
    match scope {
        RoleScope::Organization => format!("org:{key}"),
        _ => format!("group:{key}"),
    }
}

/// A [`MemoryDirectory`] holding exactly `world`: ids are `org-<slug>`, `user-<n>`,
/// `group-<n>` (1-based, in world order) and `org:<key>`/`group:<key>` for roles; every
/// object carries a small `remote_data`, as a provider's raw JSON would be. A group without
/// roles has [`Group::has_roles`] `Some(false)`, and the directory then reports
/// [`unidir_core::GroupRoles::PerGroup`].
///
/// Fails with `InvalidInput` when the world does not [validate](World::validate).
pub fn memory_directory(world: &World) -> Result<MemoryDirectory> {
    world
        .validate()
        .map_err(|e| unidir_core::Error::invalid_input(format!("invalid world: {e}")))?;
    let org_id = format!("org-{}", world.organization.slug);
    let user_id = |email: &str| {
        let index = world
            .users
            .iter()
            .position(|u| u.email.eq_ignore_ascii_case(email))
            .unwrap_or_default();
        format!("user-{}", index + 1)
    };
    let mut builder = MemoryDirectory::builder().organization(Organization {
        id: org_id.clone(),
        name: world.organization.name.clone(),
        slug: Some(world.organization.slug.clone()),
        web_url: None,
        created_at: None,
        remote_data: Some(json!({ "id": org_id })),
    });
    for role in &world.roles {
        let id = role_id(&role.key, &role.scope);
        builder = builder.role(Role {
            name: role.key.clone(),
            description: None,
            scope: role.scope.clone(),
            remote_data: Some(json!({ "id": id })),
            id,
        });
    }
    for (index, user) in world.users.iter().enumerate() {
        let id = format!("user-{}", index + 1);
        builder = builder.user(User {
            username: None,
            name: Some(user.name.clone()),
            first_name: None,
            last_name: None,
            emails: vec![Email {
                email: user.email.clone(),
                email_type: None,
                is_primary: true,
            }],
            status: UserStatus::Active,
            roles: vec![RoleAssignment {
                id: role_id(&user.org_role, &RoleScope::Organization),
                name: user.org_role.clone(),
                scope: RoleScope::Organization,
                group_id: None,
            }],
            groups: Vec::new(),
            avatar_url: None,
            is_bot: None,
            is_2fa_enabled: None,
            is_sso_required: None,
            organization_id: Some(org_id.clone()),
            created_at: None,
            updated_at: None,
            last_sign_in_at: None,
            last_active_at: None,
            remote_data: Some(json!({ "id": id, "email": user.email })),
            id,
        });
    }
    for (index, group) in world.groups.iter().enumerate() {
        let id = format!("group-{}", index + 1);
        for member in &group.members {
            builder = builder.membership(GroupMembership {
                group_id: id.clone(),
                user_id: user_id(&member.email),
                role_id: member
                    .role
                    .as_deref()
                    .map(|role| role_id(role, &RoleScope::Group)),
                user_name: None,
                user_email: None,
                created_at: None,
                remote_data: Some(json!({ "group": id, "email": member.email })),
            });
        }
        builder = builder.group(Group {
            name: group.name.clone(),
            slug: Some(group.slug.clone()),
            description: group.description.clone(),
            group_type: GroupType::Group,
            privacy: Some(group.privacy.clone()),
            is_default: Some(false),
            default_role_id: None,
            // Said only of groups without roles; the others follow the capabilities.
            has_roles: (!group.has_roles).then_some(false),
            organization_id: Some(org_id.clone()),
            created_by: None,
            created_at: None,
            updated_at: None,
            member_count: None,
            remote_data: Some(json!({ "id": id, "name": group.name })),
            id,
        });
    }
    if let Some(me) = &world.me {
        builder = builder.me(user_id(me), &[]);
    }
    builder.build()
}
