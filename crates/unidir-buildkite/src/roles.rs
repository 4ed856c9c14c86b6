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

/// A known role's name, scope and description, without building the role.
fn known(id: &str) -> Option<(&'static str, RoleScope, &'static str)> {
    Some(match id {
        ORG_ADMIN => (
            "Organization admin",
            RoleScope::Organization,
            "Full control of the organization: members, teams, settings, billing and SSO",
        ),
        ORG_MEMBER => (
            "Organization member",
            RoleScope::Organization,
            "A member of the organization without administrative rights",
        ),
        TEAM_MAINTAINER => (
            "Team maintainer",
            RoleScope::Group,
            "Manages the team: adds and removes members, changes settings and pipeline access",
        ),
        TEAM_MEMBER => (
            "Team member",
            RoleScope::Group,
            "Uses the team's pipelines, suites and registries; no team management",
        ),
        _ => return None,
    })
}

/// The unified role with this id.
pub(crate) fn role(id: &str) -> Option<Role> {
    let (name, scope, description) = known(id)?;
    let (axis, role) = id.split_once(':')?;
    let axis = if axis == "org" { "organization" } else { axis };
    Some(
        Role::new(id, name, scope)
            .with_description(description.to_owned())
            .with_remote_data(json!({
                "axis": axis, "role": role, "graphql": role.to_ascii_uppercase()
            })),
    )
}

/// The role id `prefix:raw`, lowercase; the known ones without formatting (this runs once
/// per user and per membership).
fn role_id(prefix: &str, raw: &str, known: [&'static str; 2]) -> String {
    known
        .into_iter()
        .find(|id| id[prefix.len() + 1..].eq_ignore_ascii_case(raw))
        .map_or_else(
            || format!("{prefix}:{}", raw.to_ascii_lowercase()),
            str::to_owned,
        )
}

/// The role id of a Buildkite org role (`admin`/`ADMIN`); unknown values stay visible.
pub(crate) fn org_role_id(raw: &str) -> String {
    role_id("org", raw, [ORG_ADMIN, ORG_MEMBER])
}

/// The role id of a Buildkite team role (`maintainer`/`MAINTAINER`).
pub(crate) fn team_role_id(raw: &str) -> String {
    role_id("team", raw, [TEAM_MAINTAINER, TEAM_MEMBER])
}

/// A role assignment for `role_id`, optionally inside a team.
pub(crate) fn assignment(role_id: String, group_id: Option<String>) -> RoleAssignment {
    let name = known(&role_id).map_or_else(|| role_id.clone(), |(name, ..)| name.to_owned());
    let scope = if group_id.is_some() {
        RoleScope::Group
    } else {
        RoleScope::Organization
    };
    RoleAssignment::new(role_id, name, scope).with_group_id(group_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_ids_from_either_case_and_unknown_values_kept() {
        assert_eq!(org_role_id("ADMIN"), ORG_ADMIN);
        assert_eq!(org_role_id("member"), ORG_MEMBER);
        assert_eq!(team_role_id("MAINTAINER"), TEAM_MAINTAINER);
        assert_eq!(team_role_id("Member"), TEAM_MEMBER);
        assert_eq!(org_role_id("Billing_Manager"), "org:billing_manager");
        assert_eq!(team_role_id("admin"), "team:admin", "no cross-axis match");
    }

    #[test]
    fn assignments_name_known_roles_and_echo_unknown_ids() {
        let known = assignment(TEAM_MAINTAINER.to_owned(), Some("t-1".to_owned()));
        assert_eq!(known.name, "Team maintainer");
        assert_eq!(known.scope, RoleScope::Group);
        let unknown = assignment("org:owner".to_owned(), None);
        assert_eq!(unknown.name, "org:owner");
        assert_eq!(unknown.scope, RoleScope::Organization);
        let admin = role(ORG_ADMIN).expect("known");
        assert_eq!(
            admin.remote_data,
            Some(json!({ "axis": "organization", "role": "admin", "graphql": "ADMIN" }))
        );
    }
}
