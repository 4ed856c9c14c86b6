//! The unified, provider-neutral objects.
//!
//! Field names follow SCIM 2.0 where SCIM has a name for the concept (`emails[].type`,
//! `is_primary`, `groups`, `roles`), written in snake_case. A field the provider does not
//! have stays `null`: unidir never invents a value (no first/last name split from a full
//! name, no `updated_at` copied from `created_at`).
//!
//! Every object carries `remote_data`, the provider's raw JSON for that object. It is only
//! filled when the caller asks for it ([`crate::ListQuery::include_remote_data`]) and is
//! omitted from the serialised form otherwise.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::open_enum::open_enum;

/// A timestamp in UTC, serialised as RFC 3339.
pub type Timestamp = DateTime<Utc>;

open_enum! {
    /// Lifecycle state of a user in the directory.
    pub enum UserStatus {
        /// Can sign in and use the organization.
        Active => "active",
        /// Deactivated or removed, but still known to the provider.
        Inactive => "inactive",
        /// Invited, has not accepted yet.
        Invited => "invited",
        /// Temporarily blocked by an administrator.
        Suspended => "suspended",
    }
}

open_enum! {
    /// What kind of collection of users a group is.
    pub enum GroupType {
        /// A team (Buildkite teams, GitHub teams, ...).
        Team => "team",
        /// An HR department.
        Department => "department",
        /// A plain directory group.
        Group => "group",
    }
}

open_enum! {
    /// Who can see a group.
    pub enum GroupPrivacy {
        /// Every organization member can see it.
        Visible => "visible",
        /// Only its members and administrators can see it.
        Secret => "secret",
    }
}

open_enum! {
    /// Where a role applies.
    pub enum RoleScope {
        /// The role applies to the whole organization.
        Organization => "organization",
        /// The role applies within one group.
        Group => "group",
    }
}

/// An organization (tenant, account, workspace) the credential can see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Organization {
    /// Provider-assigned, stable identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// URL-safe short name, when the provider has one.
    pub slug: Option<String>,
    /// Link to the organization in the provider's web UI.
    pub web_url: Option<String>,
    /// When the organization was created.
    pub created_at: Option<Timestamp>,
    /// The provider's raw JSON for this object (only when requested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_data: Option<Value>,
}

/// A short reference to an organization (used inside [`Me`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrganizationRef {
    /// Provider-assigned identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// URL-safe short name.
    pub slug: Option<String>,
}

/// A group of users: a team, department or directory group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Group {
    /// Provider-assigned, stable identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// URL-safe short name, when the provider has one.
    pub slug: Option<String>,
    /// Free-text description (`null` when the provider has none).
    pub description: Option<String>,
    /// What kind of group this is.
    pub group_type: GroupType,
    /// Who can see the group.
    pub privacy: Option<GroupPrivacy>,
    /// Whether new organization members join this group automatically.
    pub is_default: Option<bool>,
    /// The role (a [`Role::id`]) a member gets when added without one.
    pub default_role_id: Option<String>,
    /// `false` for a group whose memberships carry no role (see [`crate::GroupRoles`]);
    /// `null` when the adapter does not say per group, and
    /// [`crate::Capabilities::group_roles`] applies. Adapters set it on every group without
    /// roles, even where no group has roles: [`crate::provision::plan`] reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_roles: Option<bool>,
    /// The organization the group belongs to.
    pub organization_id: Option<String>,
    /// Id of the user who created the group.
    pub created_by: Option<String>,
    /// When the group was created.
    pub created_at: Option<Timestamp>,
    /// When the group last changed (`null` when the provider does not say).
    pub updated_at: Option<Timestamp>,
    /// Number of members, when the provider reports it without extra requests.
    pub member_count: Option<u64>,
    /// The provider's raw JSON for this object (only when requested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_data: Option<Value>,
}

/// One e-mail address of a user (SCIM `emails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Email {
    /// The address, in the provider's casing.
    pub email: String,
    /// SCIM type (`work`, `home`, `other`), when known.
    #[serde(rename = "type")]
    pub email_type: Option<String>,
    /// At most one address of a user is primary.
    pub is_primary: bool,
}

/// A role held by a user, at organization level or inside one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RoleAssignment {
    /// The [`Role::id`].
    pub id: String,
    /// The role's display name.
    pub name: String,
    /// Where the role applies.
    pub scope: RoleScope,
    /// For group-scoped roles: the group the role is held in.
    pub group_id: Option<String>,
}

/// A group a user belongs to, as seen from the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GroupAssignment {
    /// The [`Group::id`].
    pub id: String,
    /// The group's display name.
    pub name: Option<String>,
    /// The group's slug.
    pub slug: Option<String>,
    /// The user's role in the group (a [`Role::id`]).
    pub role_id: Option<String>,
    /// When the user joined the group.
    pub joined_at: Option<Timestamp>,
}

/// A person (or machine account) in the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    /// Provider-assigned, stable identifier.
    pub id: String,
    /// Login name, when the provider has one distinct from the e-mail.
    pub username: Option<String>,
    /// Full display name.
    pub name: Option<String>,
    /// Given name; `null` when the provider only has a full name.
    pub first_name: Option<String>,
    /// Family name; `null` when the provider only has a full name.
    pub last_name: Option<String>,
    /// E-mail addresses; at most one is primary.
    pub emails: Vec<Email>,
    /// Lifecycle state.
    pub status: UserStatus,
    /// Organization-level and group-level roles.
    pub roles: Vec<RoleAssignment>,
    /// Groups the user belongs to, with the role held in each.
    pub groups: Vec<GroupAssignment>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// Whether this is a bot or machine account.
    pub is_bot: Option<bool>,
    /// Whether two-factor authentication is enabled.
    pub is_2fa_enabled: Option<bool>,
    /// Whether the organization requires this user to sign in through SSO.
    pub is_sso_required: Option<bool>,
    /// The organization this record was read from.
    pub organization_id: Option<String>,
    /// When the user joined (the organization membership's creation time where the
    /// directory is an organization's member list).
    pub created_at: Option<Timestamp>,
    /// When the user last changed (`null` when the provider does not say).
    pub updated_at: Option<Timestamp>,
    /// Last sign-in (`null` when the provider does not say).
    pub last_sign_in_at: Option<Timestamp>,
    /// Last activity of any kind seen by the provider.
    pub last_active_at: Option<Timestamp>,
    /// The provider's raw JSON for this object (only when requested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_data: Option<Value>,
}

impl User {
    /// The user's group memberships as [`GroupMembership`]s (group, user, role, join time,
    /// name and primary e-mail), built from [`User::groups`] without asking the provider
    /// again. Complete exactly when the adapter fills `groups` completely (the Buildkite
    /// adapter does, on every path). `remote_data` is `None`: the provider's raw
    /// membership object is only in `list_group_members`.
    pub fn group_memberships(&self) -> impl Iterator<Item = GroupMembership> + '_ {
        self.groups.iter().map(|group| GroupMembership {
            group_id: group.id.clone(),
            user_id: self.id.clone(),
            role_id: group.role_id.clone(),
            user_name: self.name.clone(),
            user_email: self.primary_email().map(str::to_owned),
            created_at: group.joined_at,
            remote_data: None,
        })
    }

    /// The primary e-mail address, or the first one when none is marked primary.
    pub fn primary_email(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.is_primary)
            .or_else(|| self.emails.first())
            .map(|e| e.email.as_str())
    }

    /// Whether any of the user's addresses equals `email`, ignoring ASCII case.
    pub fn has_email(&self, email: &str) -> bool {
        self.emails
            .iter()
            .any(|e| e.email.eq_ignore_ascii_case(email))
    }
}

/// A role that can be held at organization level or inside a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Role {
    /// Stable identifier, unique across scopes (e.g. `org:admin`, `team:maintainer`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// What holding the role allows.
    pub description: Option<String>,
    /// Where the role applies.
    pub scope: RoleScope,
    /// The provider's raw JSON for this object (only when requested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_data: Option<Value>,
}

/// One user's membership in one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GroupMembership {
    /// The [`Group::id`].
    pub group_id: String,
    /// The [`User::id`].
    pub user_id: String,
    /// The member's role in the group (a [`Role::id`]).
    pub role_id: Option<String>,
    /// The member's display name, when the provider includes it.
    pub user_name: Option<String>,
    /// The member's primary e-mail, when the provider includes it.
    pub user_email: Option<String>,
    /// When the user was added to the group.
    pub created_at: Option<Timestamp>,
    /// The provider's raw JSON for this object (only when requested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_data: Option<Value>,
}

/// What the provider says about the credential itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Credential {
    /// The credential's identifier (never the secret itself).
    pub id: Option<String>,
    /// Human description given when the credential was created.
    pub description: Option<String>,
    /// When the credential was created.
    pub created_at: Option<Timestamp>,
    /// When the credential stops working (`null`: no expiry known).
    pub expires_at: Option<Timestamp>,
}

/// The credential's own user, with its scopes and the organizations it can reach.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Me {
    /// The user the credential belongs to.
    pub user: User,
    /// Scopes granted to the credential, in the provider's spelling.
    pub scopes: Vec<String>,
    /// Organizations the credential can read.
    pub organizations: Vec<OrganizationRef>,
    /// Facts about the credential.
    pub credential: Option<Credential>,
    /// The provider's raw JSON for this object (only when requested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_data: Option<Value>,
}
