//! Hand-written organizations ([`OrgSpec`]) as an alternative to the seeded generator.
//!
//! Tests that compare against recorded fixtures need the exact people, teams and UUIDs of
//! those fixtures; [`OrgSpec::acme`] is the `acme` organization of
//! `fixtures/buildkite/README.md`. Anything a spec leaves out (UUIDs, avatars, timestamps)
//! is still derived from the seed, so a spec-based simulator is deterministic too.

use serde::{Deserialize, Serialize};

use crate::model::{OrgRole, SsoMode, TeamPrivacy, TeamRole};

/// A complete organization: members in creation order, teams with their members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrgSpec {
    /// Organization UUID; generated from the seed when absent.
    #[serde(default)]
    pub uuid: Option<String>,
    /// Members in creation order (the REST list order). Must not be empty.
    pub members: Vec<MemberSpec>,
    /// Teams; no team is created implicitly (add an `Everyone` team yourself if wanted).
    #[serde(default)]
    pub teams: Vec<TeamSpec>,
}

/// One organization member (user account plus membership).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemberSpec {
    /// Display name.
    pub name: String,
    /// Primary e-mail; must be unique (case-insensitively) in the spec.
    pub email: String,
    /// Organization role.
    pub role: OrgRole,
    /// User UUID; generated when absent.
    #[serde(default)]
    pub uuid: Option<String>,
    /// Organization-membership UUID (GraphQL `OrganizationMember.uuid`); generated when absent.
    #[serde(default)]
    pub membership_uuid: Option<String>,
    /// SSO mode; `optional` for admins and `required` for members when absent.
    #[serde(default)]
    pub sso_mode: Option<SsoMode>,
}

impl MemberSpec {
    /// A member with generated identifiers.
    pub fn new(name: impl Into<String>, email: impl Into<String>, role: OrgRole) -> Self {
        Self {
            name: name.into(),
            email: email.into(),
            role,
            uuid: None,
            membership_uuid: None,
            sso_mode: None,
        }
    }

    /// Fixes the user UUID.
    pub fn with_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }

    /// Fixes the organization-membership UUID.
    pub fn with_membership_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.membership_uuid = Some(uuid.into());
        self
    }

    /// Sets the SSO mode.
    pub fn with_sso_mode(mut self, mode: SsoMode) -> Self {
        self.sso_mode = Some(mode);
        self
    }
}

/// One team and its members (in insertion order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TeamSpec {
    /// Display name.
    pub name: String,
    /// Slug; derived from the name when absent.
    #[serde(default)]
    pub slug: Option<String>,
    /// Team UUID; generated when absent.
    #[serde(default)]
    pub uuid: Option<String>,
    /// Visibility (default `visible`).
    #[serde(default = "visible")]
    pub privacy: TeamPrivacy,
    /// Whether new members join automatically (the REST `default` flag).
    #[serde(default)]
    pub default: bool,
    /// Free text; `null` when absent.
    #[serde(default)]
    pub description: Option<String>,
    /// The role a member added without one gets (default `member`).
    #[serde(default = "member")]
    pub default_member_role: TeamRole,
    /// Members by e-mail, in insertion order.
    #[serde(default)]
    pub members: Vec<TeamMemberSpec>,
}

fn visible() -> TeamPrivacy {
    TeamPrivacy::Visible
}

fn member() -> TeamRole {
    TeamRole::Member
}

impl TeamSpec {
    /// A visible, non-default team without members.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            slug: None,
            uuid: None,
            privacy: TeamPrivacy::Visible,
            default: false,
            description: None,
            default_member_role: TeamRole::Member,
            members: Vec::new(),
        }
    }

    /// Sets the role a member added without one gets.
    pub fn with_default_member_role(mut self, role: TeamRole) -> Self {
        self.default_member_role = role;
        self
    }

    /// Fixes the team UUID.
    pub fn with_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }

    /// Fixes the slug.
    pub fn with_slug(mut self, slug: impl Into<String>) -> Self {
        self.slug = Some(slug.into());
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Makes the team secret.
    pub fn secret(mut self) -> Self {
        self.privacy = TeamPrivacy::Secret;
        self
    }

    /// Marks the team as a default team (like `Everyone`).
    pub fn default_team(mut self) -> Self {
        self.default = true;
        self
    }

    /// Adds a member by e-mail.
    pub fn with_member(mut self, email: impl Into<String>, role: TeamRole) -> Self {
        self.members.push(TeamMemberSpec {
            email: email.into(),
            role,
        });
        self
    }
}

/// A team membership in a [`TeamSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TeamMemberSpec {
    /// The member's e-mail (matched case-insensitively against [`MemberSpec::email`]).
    pub email: String,
    /// Role in the team.
    pub role: TeamRole,
}

impl OrgSpec {
    /// An organization of `members` (in creation order; at least one) and `teams`, with a
    /// UUID from the seed.
    pub fn new(members: Vec<MemberSpec>, teams: Vec<TeamSpec>) -> Self {
        Self {
            uuid: None,
            members,
            teams,
        }
    }

    /// Sets the organization UUID.
    pub fn with_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.uuid = Some(uuid.into());
        self
    }

    /// The `acme` organization of the recorded fixtures (`fixtures/buildkite/README.md`):
    /// five members, four teams, with the fixtures' user, membership and team UUIDs.
    pub fn acme() -> Self {
        use OrgRole::{Admin, Member};
        use SsoMode::{Optional, Required};
        const ALICE: &str = "alice@acme.example";
        const BOB: &str = "bob@acme.example";
        const CAROL: &str = "carol@acme.example";
        const DAVE: &str = "dave@acme.example";
        let member = |name: &str, email: &str, role, uuid: &str, membership: &str, sso| {
            MemberSpec::new(name, email, role)
                .with_uuid(uuid)
                .with_membership_uuid(membership)
                .with_sso_mode(sso)
        };
        Self {
            uuid: Some("3f1c9a52-6d0e-4b7a-9c1e-2a7d5b8e4f01".into()),
            members: vec![
                member(
                    "Alice Admin",
                    ALICE,
                    Admin,
                    "018f2b6e-1c3d-4e5f-8a9b-0c1d2e3f4a51",
                    "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c06",
                    Optional,
                ),
                member(
                    "Bob Builder",
                    BOB,
                    Member,
                    "018f2b6e-7a8b-4c9d-9e0f-1a2b3c4d5e62",
                    "1f0e9d8c-7b6a-4f5e-9d3c-2b1a0f9e8d17",
                    Required,
                ),
                member(
                    "Carol Maintainer",
                    CAROL,
                    Member,
                    "018f2b6f-2b3c-4d5e-a6f7-8091a2b3c473",
                    "2c1b0a9f-8e7d-4c6b-9a5f-4e3d2c1b0a28",
                    Required,
                ),
                member(
                    "Dave Ops",
                    DAVE,
                    Admin,
                    "018f2b70-4c5d-4e6f-8a7b-9c0d1e2f3a84",
                    "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b39",
                    Optional,
                ),
                member(
                    "Erin Newhire",
                    "erin@acme.example",
                    Member,
                    "018f2b71-5d6e-4f70-9b8c-0d1e2f3a4b95",
                    "4e3d2c1b-0a9f-4e8d-9c7b-6a5f4e3d2c4a",
                    Required,
                ),
            ],
            teams: vec![
                TeamSpec::new("Everyone")
                    .with_uuid("7c3e8fa1-4d50-4b2c-9f7e-a01b2c3d4e95")
                    .with_description("All members of Acme Inc")
                    .default_team()
                    .with_member(ALICE, TeamRole::Member)
                    .with_member(BOB, TeamRole::Member)
                    .with_member(CAROL, TeamRole::Member),
                TeamSpec::new("Mobile").with_uuid("8d4f9ab2-5e61-4c3d-8a8f-b12c3d4e5fa6"),
                TeamSpec::new("Platform")
                    .with_uuid("5b2d7e90-3c4f-4a1b-8e6d-9f0a1b2c3d84")
                    .with_description("Platform engineering")
                    .with_member(ALICE, TeamRole::Maintainer)
                    .with_member(BOB, TeamRole::Member)
                    .with_member(CAROL, TeamRole::Maintainer),
                TeamSpec::new("Security")
                    .with_uuid("9e5a0bc3-6f72-4d4e-9b90-c23d4e5f6ab7")
                    .with_description("Security and compliance")
                    .secret()
                    .with_member(ALICE, TeamRole::Maintainer)
                    .with_member(DAVE, TeamRole::Member),
            ],
        }
    }
}
