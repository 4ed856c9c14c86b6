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
//!
//! The objects are `#[non_exhaustive]`, so a field added later breaks no adapter: build them
//! with `new` (the required fields) and the `with_*` setters, e.g.
//! `Group::new("g-1", "Platform").with_slug("platform".to_owned())`. A setter of an optional
//! field takes the value or an `Option` of it.

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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// Last sign-in (`null` when the provider does not say). Filled only when the read
    /// selects it ([`crate::UserField::LastSignInAt`], it costs the provider more).
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
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
#[non_exhaustive]
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

/// `with_<field>` setters of optional fields: each takes the value or an `Option` of it.
macro_rules! optional_setters {
    ($ty:ident { $($field:ident => $setter:ident : $t:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets [`", stringify!($ty), "::", stringify!($field), "`].")]
                pub fn $setter(mut self, value: impl Into<Option<$t>>) -> Self {
                    self.$field = value.into();
                    self
                }
            )*
        }
    };
}

impl Organization {
    /// Organization `id` named `name`; every optional field unset.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            slug: None,
            web_url: None,
            created_at: None,
            remote_data: None,
        }
    }
}

optional_setters!(Organization {
    slug => with_slug: String,
    web_url => with_web_url: String,
    created_at => with_created_at: Timestamp,
    remote_data => with_remote_data: Value,
});

impl OrganizationRef {
    /// A reference to organization `id` named `name`, without slug.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            slug: None,
        }
    }
}

optional_setters!(OrganizationRef {
    slug => with_slug: String,
});

impl Group {
    /// Group `id` named `name`, of type [`GroupType::Group`]; every optional field unset.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            slug: None,
            description: None,
            group_type: GroupType::Group,
            privacy: None,
            is_default: None,
            default_role_id: None,
            has_roles: None,
            organization_id: None,
            created_by: None,
            created_at: None,
            updated_at: None,
            member_count: None,
            remote_data: None,
        }
    }

    /// Sets [`Group::group_type`].
    pub fn with_group_type(mut self, group_type: GroupType) -> Self {
        self.group_type = group_type;
        self
    }
}

optional_setters!(Group {
    slug => with_slug: String,
    description => with_description: String,
    privacy => with_privacy: GroupPrivacy,
    is_default => with_is_default: bool,
    default_role_id => with_default_role_id: String,
    has_roles => with_has_roles: bool,
    organization_id => with_organization_id: String,
    created_by => with_created_by: String,
    created_at => with_created_at: Timestamp,
    updated_at => with_updated_at: Timestamp,
    member_count => with_member_count: u64,
    remote_data => with_remote_data: Value,
});

impl Email {
    /// Address `email`, not primary, of no known type.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            email_type: None,
            is_primary: false,
        }
    }

    /// Sets [`Email::is_primary`].
    pub fn with_is_primary(mut self, is_primary: bool) -> Self {
        self.is_primary = is_primary;
        self
    }
}

optional_setters!(Email {
    email_type => with_email_type: String,
});

impl RoleAssignment {
    /// Role `id` named `name`, held at `scope` (set the group with
    /// [`RoleAssignment::with_group_id`] for a group role).
    pub fn new(id: impl Into<String>, name: impl Into<String>, scope: RoleScope) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            scope,
            group_id: None,
        }
    }
}

optional_setters!(RoleAssignment {
    group_id => with_group_id: String,
});

impl GroupAssignment {
    /// Membership in group `id`; every optional field unset.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: None,
            slug: None,
            role_id: None,
            joined_at: None,
        }
    }
}

optional_setters!(GroupAssignment {
    name => with_name: String,
    slug => with_slug: String,
    role_id => with_role_id: String,
    joined_at => with_joined_at: Timestamp,
});

impl User {
    /// User `id`, [`UserStatus::Active`], without e-mails, roles or groups; every optional
    /// field unset.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            username: None,
            name: None,
            first_name: None,
            last_name: None,
            emails: Vec::new(),
            status: UserStatus::Active,
            roles: Vec::new(),
            groups: Vec::new(),
            avatar_url: None,
            is_bot: None,
            is_2fa_enabled: None,
            is_sso_required: None,
            organization_id: None,
            created_at: None,
            updated_at: None,
            last_sign_in_at: None,
            last_active_at: None,
            remote_data: None,
        }
    }

    /// Sets [`User::status`].
    pub fn with_status(mut self, status: UserStatus) -> Self {
        self.status = status;
        self
    }

    /// Sets [`User::emails`].
    pub fn with_emails(mut self, emails: Vec<Email>) -> Self {
        self.emails = emails;
        self
    }

    /// Sets [`User::roles`].
    pub fn with_roles(mut self, roles: Vec<RoleAssignment>) -> Self {
        self.roles = roles;
        self
    }

    /// Sets [`User::groups`].
    pub fn with_groups(mut self, groups: Vec<GroupAssignment>) -> Self {
        self.groups = groups;
        self
    }
}

optional_setters!(User {
    username => with_username: String,
    name => with_name: String,
    first_name => with_first_name: String,
    last_name => with_last_name: String,
    avatar_url => with_avatar_url: String,
    is_bot => with_is_bot: bool,
    is_2fa_enabled => with_is_2fa_enabled: bool,
    is_sso_required => with_is_sso_required: bool,
    organization_id => with_organization_id: String,
    created_at => with_created_at: Timestamp,
    updated_at => with_updated_at: Timestamp,
    last_sign_in_at => with_last_sign_in_at: Timestamp,
    last_active_at => with_last_active_at: Timestamp,
    remote_data => with_remote_data: Value,
});

impl Role {
    /// Role `id` named `name`, held at `scope`, without description.
    pub fn new(id: impl Into<String>, name: impl Into<String>, scope: RoleScope) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            description: None,
            scope,
            remote_data: None,
        }
    }
}

optional_setters!(Role {
    description => with_description: String,
    remote_data => with_remote_data: Value,
});

impl GroupMembership {
    /// User `user_id` in group `group_id`, without role; every optional field unset.
    pub fn new(group_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self {
            group_id: group_id.into(),
            user_id: user_id.into(),
            role_id: None,
            user_name: None,
            user_email: None,
            created_at: None,
            remote_data: None,
        }
    }
}

optional_setters!(GroupMembership {
    role_id => with_role_id: String,
    user_name => with_user_name: String,
    user_email => with_user_email: String,
    created_at => with_created_at: Timestamp,
    remote_data => with_remote_data: Value,
});

impl Credential {
    /// A credential nothing is known about.
    pub fn new() -> Self {
        Self::default()
    }
}

optional_setters!(Credential {
    id => with_id: String,
    description => with_description: String,
    created_at => with_created_at: Timestamp,
    expires_at => with_expires_at: Timestamp,
});

impl Me {
    /// The credential of `user`, without scopes, organizations or credential facts.
    pub fn new(user: User) -> Self {
        Self {
            user,
            scopes: Vec::new(),
            organizations: Vec::new(),
            credential: None,
            remote_data: None,
        }
    }

    /// Sets [`Me::scopes`].
    pub fn with_scopes(mut self, scopes: Vec<String>) -> Self {
        self.scopes = scopes;
        self
    }

    /// Sets [`Me::organizations`].
    pub fn with_organizations(mut self, organizations: Vec<OrganizationRef>) -> Self {
        self.organizations = organizations;
        self
    }
}

optional_setters!(Me {
    credential => with_credential: Credential,
    remote_data => with_remote_data: Value,
});
