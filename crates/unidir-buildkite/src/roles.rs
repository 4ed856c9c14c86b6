//! Buildkite's two independent role axes as unified roles.
//!
//! Organization role: `admin` or `member`. Team role: `maintainer` or `member`. The ids are
//! scoped (`org:`, `team:`) so a team member and an organization member never collapse into
//! one role, and a maintainer never collapses into a member.

use serde_json::json;
use unidir_core::{Role, RoleAssignment, RoleScope};

/// Organization administrator.
pub const ORG_ADMIN: &str = "org:admin";
/// Organization member.
pub const ORG_MEMBER: &str = "org:member";
/// Team maintainer.
pub const TEAM_MAINTAINER: &str = "team:maintainer";
/// Team member.
pub const TEAM_MEMBER: &str = "team:member";

/// The four roles, in a fixed order.
pub(crate) fn all() -> Vec<Role> {
    [ORG_ADMIN, ORG_MEMBER, TEAM_MAINTAINER, TEAM_MEMBER]
        .into_iter()
        .filter_map(role)
        .collect()
}

/// The unified role with this id.
pub(crate) fn role(id: &str) -> Option<Role> {
    let (name, scope, description, raw) = match id {
        ORG_ADMIN => (
            "Organization admin",
            RoleScope::Organization,
            "Full control of the organization: members, teams, settings, billing and SSO",
            json!({ "axis": "organization", "role": "admin", "graphql": "ADMIN" }),
        ),
        ORG_MEMBER => (
            "Organization member",
            RoleScope::Organization,
            "A member of the organization without administrative rights",
            json!({ "axis": "organization", "role": "member", "graphql": "MEMBER" }),
        ),
        TEAM_MAINTAINER => (
            "Team maintainer",
            RoleScope::Group,
            "Manages the team: adds and removes members, changes settings and pipeline access",
            json!({ "axis": "team", "role": "maintainer", "graphql": "MAINTAINER" }),
        ),
        TEAM_MEMBER => (
            "Team member",
            RoleScope::Group,
            "Uses the team's pipelines, suites and registries; no team management",
            json!({ "axis": "team", "role": "member", "graphql": "MEMBER" }),
        ),
        _ => return None,
    };
    Some(
        Role::new(id, name, scope)
            .with_description(description.to_owned())
            .with_remote_data(raw),
    )
}

/// The role id of a Buildkite org role (`admin`/`ADMIN`); unknown values stay visible.
pub(crate) fn org_role_id(raw: &str) -> String {
    format!("org:{}", raw.to_ascii_lowercase())
}

/// The role id of a Buildkite team role (`maintainer`/`MAINTAINER`).
pub(crate) fn team_role_id(raw: &str) -> String {
    format!("team:{}", raw.to_ascii_lowercase())
}

/// A role assignment for `role_id`, optionally inside a team.
pub(crate) fn assignment(role_id: String, group_id: Option<String>) -> RoleAssignment {
    let name = role(&role_id).map_or_else(|| role_id.clone(), |r| r.name);
    let scope = if group_id.is_some() {
        RoleScope::Group
    } else {
        RoleScope::Organization
    };
    RoleAssignment::new(role_id, name, scope).with_group_id(group_id)
}
