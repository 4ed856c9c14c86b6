//! The expected world: a provider-neutral description of one organization's users, groups,
//! roles and memberships, which each implementation is seeded from and checked against.
//!
//! Nothing here is a provider id. Users are named by e-mail address, groups by name, roles by
//! a short key (`admin`, `maintainer`) and a scope; the suite finds the directory's ids by
//! those names. A role key matches a directory role of the same scope whose id is the key, or
//! ends in `:<key>` (`org:admin`, `team:maintainer`), or whose name is the key (ignoring
//! case): the rule [`unidir_core::provision::resolve_group_role`] uses.

use std::collections::HashSet;

use unidir_core::{GroupPrivacy, RoleScope};

/// The expected state of one organization. Build it with [`World::new`] and the `with_*`
/// methods, or start from [`World::small`].
///
/// Every user is an active member of the organization. The suite never changes the group
/// memberships of the credential's own user ([`World::me`]): providers such as Buildkite
/// refuse that.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct World {
    /// The organization.
    pub organization: WorldOrganization,
    /// Roles, organization- and group-scoped.
    pub roles: Vec<WorldRole>,
    /// Users, in creation order.
    pub users: Vec<WorldUser>,
    /// Groups with their members.
    pub groups: Vec<WorldGroup>,
    /// E-mail of the user the credential belongs to (`None`: the world does not say, and the
    /// `me` checks are skipped).
    pub me: Option<String>,
    /// An id no object of the directory has, shaped like the provider's ids (default: a
    /// UUID), for the not-found checks.
    pub absent_id: String,
}

/// The organization of a [`World`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorldOrganization {
    /// Display name.
    pub name: String,
    /// URL-safe short name.
    pub slug: String,
}

/// A role of a [`World`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorldRole {
    /// Short key, unique within its scope (`admin`, `member`, `maintainer`).
    pub key: String,
    /// Where the role applies.
    pub scope: RoleScope,
}

/// A user of a [`World`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorldUser {
    /// Display name.
    pub name: String,
    /// Primary e-mail, unique (ignoring case) in the world.
    pub email: String,
    /// Key of the user's organization-scoped role.
    pub org_role: String,
}

/// A group of a [`World`] and its members.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorldGroup {
    /// Display name, unique in the world.
    pub name: String,
    /// URL-safe short name.
    pub slug: String,
    /// Free text.
    pub description: Option<String>,
    /// Who can see the group.
    pub privacy: GroupPrivacy,
    /// Whether the group has roles (default `true`). Members of a group without roles hold
    /// none; the directory says so through [`unidir_core::Group::has_roles`] or
    /// [`unidir_core::Capabilities::group_roles`].
    pub has_roles: bool,
    /// Members, each with a group-scoped role where the group has roles.
    pub members: Vec<WorldMember>,
}

/// One membership of a [`WorldGroup`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorldMember {
    /// The member's e-mail (a [`WorldUser::email`]).
    pub email: String,
    /// Key of the member's group-scoped role (`None` in a group without roles).
    pub role: Option<String>,
}

/// A UUID no provider hands out (version 4, all zero bits otherwise).
pub const DEFAULT_ABSENT_ID: &str = "00000000-0000-4000-8000-000000000000";

impl World {
    /// An empty world of organization `name` (`slug`).
    pub fn new(name: impl Into<String>, slug: impl Into<String>) -> Self {
        Self {
            organization: WorldOrganization {
                name: name.into(),
                slug: slug.into(),
            },
            roles: Vec::new(),
            users: Vec::new(),
            groups: Vec::new(),
            me: None,
            absent_id: DEFAULT_ABSENT_ID.to_owned(),
        }
    }

    /// Adds a role.
    pub fn with_role(mut self, key: impl Into<String>, scope: RoleScope) -> Self {
        self.roles.push(WorldRole {
            key: key.into(),
            scope,
        });
        self
    }

    /// Adds a user with organization role `org_role` (a role key).
    pub fn with_user(
        mut self,
        name: impl Into<String>,
        email: impl Into<String>,
        org_role: impl Into<String>,
    ) -> Self {
        self.users.push(WorldUser {
            name: name.into(),
            email: email.into(),
            org_role: org_role.into(),
        });
        self
    }

    /// Adds a group.
    pub fn with_group(mut self, group: WorldGroup) -> Self {
        self.groups.push(group);
        self
    }

    /// Names the credential's own user by e-mail.
    pub fn with_me(mut self, email: impl Into<String>) -> Self {
        self.me = Some(email.into());
        self
    }

    /// Sets the id used for not-found checks.
    pub fn with_absent_id(mut self, id: impl Into<String>) -> Self {
        self.absent_id = id.into();
        self
    }

    /// The default world, small enough for fast runs and shaped to exercise every check:
    /// five users (one admin, who is `me`), four roles (`admin`/`member` for the
    /// organization, `maintainer`/`member` for groups), a group of three, a secret group of
    /// two, an empty group, and a user in no group.
    pub fn small() -> Self {
        const ADA: &str = "ada@conformance.example";
        const BEN: &str = "ben@conformance.example";
        const CY: &str = "cy@conformance.example";
        const DEE: &str = "dee@conformance.example";
        Self::new("Conformance Org", "conformance-org")
            .with_role("admin", RoleScope::Organization)
            .with_role("member", RoleScope::Organization)
            .with_role("maintainer", RoleScope::Group)
            .with_role("member", RoleScope::Group)
            .with_user("Ada Admin", ADA, "admin")
            .with_user("Ben Builder", BEN, "member")
            .with_user("Cy Coder", CY, "member")
            .with_user("Dee Defender", DEE, "member")
            .with_user("Eve Loner", "eve@conformance.example", "member")
            .with_group(
                WorldGroup::new("Platform", "platform")
                    .with_description("Platform engineering")
                    .with_member(ADA, "maintainer")
                    .with_member(BEN, "member")
                    .with_member(CY, "member"),
            )
            .with_group(
                WorldGroup::new("Security", "security")
                    .secret()
                    .with_member(ADA, "member")
                    .with_member(DEE, "maintainer"),
            )
            .with_group(WorldGroup::new("Mobile", "mobile"))
            .with_me(ADA)
    }

    /// [`World::small`] plus `Guild`, a group without roles holding Ben and Cy: for
    /// directories where some groups have no roles (memberships without a role).
    pub fn mixed() -> Self {
        Self::small().with_group(
            WorldGroup::new("Guild", "guild")
                .with_description("Open to all; no roles")
                .without_roles()
                .with_member_without_role("ben@conformance.example")
                .with_member_without_role("cy@conformance.example"),
        )
    }

    /// Checks that every reference resolves: role keys are unique per scope, e-mails and
    /// group names are unique, users' and members' roles exist with the right scope, members
    /// and `me` are users; members of a group without roles hold none.
    pub fn validate(&self) -> Result<(), String> {
        let mut roles = HashSet::new();
        for r in &self.roles {
            if !roles.insert((r.scope.as_str(), r.key.as_str())) {
                return Err(format!("role {} is defined twice", r.key));
            }
        }
        let has_role = |key: &str, scope: RoleScope| {
            self.roles.iter().any(|r| r.key == key && r.scope == scope)
        };
        let mut emails = HashSet::new();
        for u in &self.users {
            if !emails.insert(u.email.to_ascii_lowercase()) {
                return Err(format!("e-mail {} is used twice", u.email));
            }
            if !has_role(&u.org_role, RoleScope::Organization) {
                return Err(format!(
                    "user {} holds {}, which is not an organization role",
                    u.email, u.org_role
                ));
            }
        }
        let mut names = HashSet::new();
        for g in &self.groups {
            if !names.insert(g.name.as_str()) {
                return Err(format!("group name {} is used twice", g.name));
            }
            let mut seen = HashSet::new();
            for m in &g.members {
                if !emails.contains(&m.email.to_ascii_lowercase()) {
                    return Err(format!(
                        "group {} lists {}, who is no user",
                        g.name, m.email
                    ));
                }
                if !seen.insert(m.email.to_ascii_lowercase()) {
                    return Err(format!("group {} lists {} twice", g.name, m.email));
                }
                match (&m.role, g.has_roles) {
                    (Some(role), true) if !has_role(role, RoleScope::Group) => {
                        return Err(format!(
                            "group {} gives {} role {role}, which is not a group role",
                            g.name, m.email
                        ));
                    }
                    (None, true) => {
                        return Err(format!("group {} gives {} no role", g.name, m.email));
                    }
                    (Some(role), false) => {
                        return Err(format!(
                            "group {} has no roles but gives {} role {role}",
                            g.name, m.email
                        ));
                    }
                    _ => {}
                }
            }
        }
        if let Some(me) = &self.me
            && !emails.contains(&me.to_ascii_lowercase())
        {
            return Err(format!("me names {me}, who is no user"));
        }
        Ok(())
    }

    /// The user with e-mail `email` (ignoring case).
    pub fn user(&self, email: &str) -> Option<&WorldUser> {
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    /// Whether `email` is the credential's own user.
    pub fn is_me(&self, email: &str) -> bool {
        self.me
            .as_deref()
            .is_some_and(|me| me.eq_ignore_ascii_case(email))
    }

    /// Roles of `scope`.
    pub fn roles_of(&self, scope: RoleScope) -> impl Iterator<Item = &WorldRole> {
        self.roles.iter().filter(move |r| r.scope == scope)
    }

    /// The groups `email` belongs to, with the role held in each (`None` in a group without
    /// roles).
    pub fn groups_of<'a>(
        &'a self,
        email: &'a str,
    ) -> impl Iterator<Item = (&'a WorldGroup, Option<&'a str>)> + 'a {
        self.groups.iter().filter_map(move |g| {
            g.members
                .iter()
                .find(|m| m.email.eq_ignore_ascii_case(email))
                .map(|m| (g, m.role.as_deref()))
        })
    }
}

impl Default for World {
    fn default() -> Self {
        Self::small()
    }
}

impl WorldGroup {
    /// A visible group without description or members.
    pub fn new(name: impl Into<String>, slug: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            slug: slug.into(),
            description: None,
            privacy: GroupPrivacy::Visible,
            has_roles: true,
            members: Vec::new(),
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Makes the group secret.
    pub fn secret(mut self) -> Self {
        self.privacy = GroupPrivacy::Secret;
        self
    }

    /// Makes it a group without roles (add its members with
    /// [`WorldGroup::with_member_without_role`]).
    pub fn without_roles(mut self) -> Self {
        self.has_roles = false;
        self
    }

    /// Adds a member with group role `role` (a role key).
    pub fn with_member(mut self, email: impl Into<String>, role: impl Into<String>) -> Self {
        self.members.push(WorldMember {
            email: email.into(),
            role: Some(role.into()),
        });
        self
    }

    /// Adds a member holding no role, in a group without roles.
    pub fn with_member_without_role(mut self, email: impl Into<String>) -> Self {
        self.members.push(WorldMember {
            email: email.into(),
            role: None,
        });
        self
    }

    /// Whether `email` is a member.
    pub fn is_member(&self, email: &str) -> bool {
        self.members
            .iter()
            .any(|m| m.email.eq_ignore_ascii_case(email))
    }

    /// The role key of member `email`, if a member holding a role.
    pub fn role_of(&self, email: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.email.eq_ignore_ascii_case(email))
            .and_then(|m| m.role.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_small_world_is_valid_and_has_what_the_checks_need() {
        let world = World::small();
        assert_eq!(world.validate(), Ok(()));
        assert!(world.groups.iter().any(|g| g.members.is_empty()));
        assert!(
            world
                .users
                .iter()
                .any(|u| world.groups_of(&u.email).count() == 0)
        );
        assert_eq!(world.roles_of(RoleScope::Group).count(), 2);
    }

    #[test]
    fn validation_names_the_broken_reference() {
        let bad = World::small().with_group(
            WorldGroup::new("Ghosts", "ghosts").with_member("nobody@x.example", "member"),
        );
        assert!(
            bad.validate()
                .expect_err("invalid")
                .contains("nobody@x.example")
        );
        let bad = World::small().with_user("Zed", "zed@x.example", "maintainer");
        assert!(
            bad.validate()
                .expect_err("invalid")
                .contains("not an organization role")
        );
        let bad = World::small().with_me("nobody@x.example");
        assert!(bad.validate().is_err());
        let bad = World::small().with_user("Ada Again", "ADA@conformance.example", "member");
        assert!(bad.validate().expect_err("invalid").contains("used twice"));
    }

    #[test]
    fn a_group_without_roles_holds_members_without_one() {
        let world = World::mixed();
        assert_eq!(world.validate(), Ok(()));
        let guild = world.groups.last().expect("guild");
        assert!(!guild.has_roles);
        assert!(guild.is_member("BEN@conformance.example"));
        assert_eq!(guild.role_of("ben@conformance.example"), None);
        assert!(
            world
                .groups_of("cy@conformance.example")
                .any(|(g, role)| g.name == "Guild" && role.is_none())
        );
        let bad = World::small().with_group(
            WorldGroup::new("Ops", "ops")
                .without_roles()
                .with_member("eve@conformance.example", "member"),
        );
        assert!(
            bad.validate()
                .expect_err("invalid")
                .contains("has no roles")
        );
        let bad = World::small().with_group(
            WorldGroup::new("Ops", "ops").with_member_without_role("eve@conformance.example"),
        );
        assert!(bad.validate().expect_err("invalid").contains("no role"));
    }
}
