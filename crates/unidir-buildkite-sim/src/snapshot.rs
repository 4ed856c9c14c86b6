//! Read-only copies of the simulator's state, for assertions in tests.

use serde::{Deserialize, Serialize};

use crate::model::{OrgRole, SsoMode, TeamPrivacy, TeamRole};

/// The whole organization at one instant (also served as JSON by `GET /__sim/state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimSnapshot {
    /// The organization.
    pub org: OrgSnapshot,
    /// Current members in creation order (the REST list order).
    pub members: Vec<MemberSnapshot>,
    /// Teams ordered by name (the REST list order).
    pub teams: Vec<TeamSnapshot>,
    /// Team memberships, team by team (in `teams` order), each team in insertion order.
    pub team_members: Vec<TeamMemberSnapshot>,
}

/// The organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSnapshot {
    /// Organization UUID.
    pub uuid: String,
    /// GraphQL id.
    pub graphql_id: String,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
}

/// One organization member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSnapshot {
    /// User UUID (REST member `id`).
    pub user_uuid: String,
    /// GraphQL `User.id`.
    pub user_graphql_id: String,
    /// GraphQL `OrganizationMember.uuid`.
    pub membership_uuid: String,
    /// GraphQL `OrganizationMember.id`.
    pub membership_graphql_id: String,
    /// Name.
    pub name: String,
    /// Primary e-mail.
    pub email: String,
    /// Organization role.
    pub role: OrgRole,
    /// SSO mode.
    pub sso_mode: SsoMode,
}

/// One team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSnapshot {
    /// Team UUID.
    pub uuid: String,
    /// GraphQL id.
    pub graphql_id: String,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Visibility.
    pub privacy: TeamPrivacy,
    /// Default team flag.
    pub default: bool,
    /// Role given to members added without one.
    pub default_member_role: TeamRole,
}

/// One team membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamMemberSnapshot {
    /// GraphQL `TeamMember.uuid`.
    pub uuid: String,
    /// GraphQL `TeamMember.id`.
    pub graphql_id: String,
    /// Team UUID.
    pub team_uuid: String,
    /// Team slug.
    pub team_slug: String,
    /// User UUID.
    pub user_uuid: String,
    /// Role in the team.
    pub role: TeamRole,
}

impl SimSnapshot {
    /// The member with this user UUID.
    pub fn member(&self, user_uuid: &str) -> Option<&MemberSnapshot> {
        self.members.iter().find(|m| m.user_uuid == user_uuid)
    }

    /// The member with this e-mail (case-insensitive).
    pub fn member_by_email(&self, email: &str) -> Option<&MemberSnapshot> {
        self.members
            .iter()
            .find(|m| m.email.eq_ignore_ascii_case(email))
    }

    /// The team with this UUID.
    pub fn team(&self, uuid: &str) -> Option<&TeamSnapshot> {
        self.teams.iter().find(|t| t.uuid == uuid)
    }

    /// The team with this slug.
    pub fn team_by_slug(&self, slug: &str) -> Option<&TeamSnapshot> {
        self.teams.iter().find(|t| t.slug == slug)
    }

    /// Memberships of one user.
    pub fn teams_of(&self, user_uuid: &str) -> Vec<&TeamMemberSnapshot> {
        self.team_members
            .iter()
            .filter(|tm| tm.user_uuid == user_uuid)
            .collect()
    }

    /// Memberships of one team.
    pub fn members_of(&self, team_uuid: &str) -> Vec<&TeamMemberSnapshot> {
        self.team_members
            .iter()
            .filter(|tm| tm.team_uuid == team_uuid)
            .collect()
    }

    /// The user's role in the team, if a member.
    pub fn team_role(&self, team_uuid: &str, user_uuid: &str) -> Option<TeamRole> {
        self.team_members
            .iter()
            .find(|tm| tm.team_uuid == team_uuid && tm.user_uuid == user_uuid)
            .map(|tm| tm.role)
    }
}
