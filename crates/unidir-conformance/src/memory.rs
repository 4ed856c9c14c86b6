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
    let mut builder = MemoryDirectory::builder().organization(
        Organization::new(org_id.clone(), world.organization.name.clone())
            .with_slug(world.organization.slug.clone())
            .with_remote_data(json!({ "id": org_id })),
    );
    for role in &world.roles {
        let id = role_id(&role.key, &role.scope);
        builder = builder.role(
            Role::new(id.clone(), role.key.clone(), role.scope.clone())
                .with_remote_data(json!({ "id": id })),
        );
    }
    for (index, user) in world.users.iter().enumerate() {
        let id = format!("user-{}", index + 1);
        builder = builder.user(
            User::new(id.clone())
                .with_name(user.name.clone())
                .with_emails(vec![Email::new(user.email.clone()).with_is_primary(true)])
                .with_status(UserStatus::Active)
                .with_roles(vec![RoleAssignment::new(
                    role_id(&user.org_role, &RoleScope::Organization),
                    user.org_role.clone(),
                    RoleScope::Organization,
                )])
                .with_organization_id(org_id.clone())
                .with_remote_data(json!({ "id": id, "email": user.email })),
        );
    }
    for (index, group) in world.groups.iter().enumerate() {
        let id = format!("group-{}", index + 1);
        for member in &group.members {
            builder = builder.membership(
                GroupMembership::new(id.clone(), user_id(&member.email))
                    .with_role_id(
                        member
                            .role
                            .as_deref()
                            .map(|role| role_id(role, &RoleScope::Group)),
                    )
                    .with_remote_data(json!({ "group": id, "email": member.email })),
            );
        }
        builder = builder.group(
            Group::new(id.clone(), group.name.clone())
                .with_slug(group.slug.clone())
                .with_description(group.description.clone())
                .with_group_type(GroupType::Group)
                .with_privacy(group.privacy.clone())
                .with_is_default(false)
                // Said only of groups without roles; the others follow the capabilities.
                .with_has_roles((!group.has_roles).then_some(false))
                .with_organization_id(org_id.clone())
                .with_remote_data(json!({ "id": id, "name": group.name })),
        );
    }
    if let Some(me) = &world.me {
        builder = builder.me(user_id(me), &[]);
    }
    builder.build()
}
