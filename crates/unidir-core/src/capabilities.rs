//! What an adapter, with the credential it holds, can do.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// A kind of unified object (or relation) an adapter can serve.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Resource {
    /// [`crate::Organization`]s.
    Organizations,
    /// [`crate::User`]s.
    Users,
    /// [`crate::Group`]s.
    Groups,
    /// [`crate::Role`]s.
    Roles,
    /// The credential's own [`crate::Me`].
    Me,
    /// [`crate::GroupMembership`]s of one group.
    GroupMembers,
    /// The groups of one user.
    UserGroups,
}

impl Resource {
    /// Every resource.
    pub const ALL: [Resource; 7] = [
        Self::Organizations,
        Self::Users,
        Self::Groups,
        Self::Roles,
        Self::Me,
        Self::GroupMembers,
        Self::UserGroups,
    ];

    /// The snake_case name used on the wire and in cursors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Organizations => "organizations",
            Self::Users => "users",
            Self::Groups => "groups",
            Self::Roles => "roles",
            Self::Me => "me",
            Self::GroupMembers => "group_members",
            Self::UserGroups => "user_groups",
        }
    }
}

/// An operation on a resource.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// Paged listing.
    List,
    /// Read one object by id.
    Get,
    /// Add a member to a group.
    Add,
    /// Change a member's role in a group.
    ChangeRole,
    /// Remove a member from a group.
    Remove,
}

impl Operation {
    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Get => "get",
            Self::Add => "add",
            Self::ChangeRole => "change_role",
            Self::Remove => "remove",
        }
    }

    /// Whether it changes the directory (adds, changes or removes a membership).
    pub fn is_write(self) -> bool {
        matches!(self, Self::Add | Self::ChangeRole | Self::Remove)
    }
}

/// A filter of [`crate::Filters`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FilterField {
    /// [`crate::Filters::email`].
    Email,
    /// [`crate::Filters::group_id`].
    GroupId,
    /// [`crate::Filters::role_id`].
    RoleId,
    /// [`crate::Filters::status`].
    Status,
}

/// A credential scope (a provider permission such as Buildkite's `read_teams`) that an
/// operation uses, and whether the credential holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ScopeRequirement {
    /// The provider's name for the scope.
    pub scope: String,
    /// Whether the credential holds it.
    pub granted: bool,
    /// Set when the operation still works without the scope, degraded: how. Unset, the
    /// operation fails without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded_without: Option<String>,
}

impl ScopeRequirement {
    /// A scope the operation fails without.
    pub fn required(scope: impl Into<String>, granted: bool) -> Self {
        Self {
            scope: scope.into(),
            granted,
            degraded_without: None,
        }
    }

    /// A scope the operation works without, degraded as `effect` says.
    pub fn optional(scope: impl Into<String>, granted: bool, effect: impl Into<String>) -> Self {
        Self {
            scope: scope.into(),
            granted,
            degraded_without: Some(effect.into()),
        }
    }

    /// Whether its absence breaks the operation (required and not held).
    pub fn blocks(&self) -> bool {
        !self.granted && self.degraded_without.is_none()
    }
}

/// The scopes one operation uses, with this credential (an empty list: it needs none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct OperationScopes {
    /// The operation.
    pub operation: Operation,
    /// What it uses.
    pub scopes: Vec<ScopeRequirement>,
}

impl OperationScopes {
    /// The scopes `operation` uses.
    pub fn new(operation: Operation, scopes: Vec<ScopeRequirement>) -> Self {
        Self { operation, scopes }
    }

    /// Whether every scope it cannot do without is held.
    pub fn usable(&self) -> bool {
        !self.scopes.iter().any(ScopeRequirement::blocks)
    }
}

/// What one resource supports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ResourceSupport {
    /// The resource.
    pub resource: Resource,
    /// Operations the adapter implements for it ([`ResourceSupport::usable`] says whether
    /// the credential allows each one).
    pub operations: Vec<Operation>,
    /// Filters accepted by its list operation.
    pub filters: Vec<FilterField>,
    /// Whether the credential can use it now: `false` when a missing scope leaves none of
    /// its operations usable.
    pub available: bool,
    /// Scopes the credential lacks for at least one of its operations.
    pub missing_scopes: Vec<String>,
    /// How the adapter serves it (e.g. which provider API), for humans.
    pub via: Option<String>,
    /// The scopes each operation uses, judged against the credential. Empty when the adapter
    /// does not report scopes (then `available` and `missing_scopes` are all there is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_scopes: Vec<OperationScopes>,
}

/// Whether a directory's group memberships carry a role.
///
/// Many directories have groups without roles (Okta and Google groups, LDAP groups): a
/// member simply is one. Such a group's memberships have no `role_id`,
/// [`Directory::add_group_member`](crate::Directory::add_group_member) takes no role for it,
/// and a desired state lists its members without one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GroupRoles {
    /// Every group has roles and every membership holds one (Buildkite and GitHub teams:
    /// maintainer or member). The default.
    #[default]
    Always,
    /// No group has roles: memberships hold none, and a role asked for is refused.
    Never,
    /// Some groups have roles and some do not; [`crate::Group::has_roles`] says which.
    PerGroup,
}

impl GroupRoles {
    /// Whether this is [`GroupRoles::Always`] (the default, left out of the JSON form).
    pub fn is_always(&self) -> bool {
        *self == Self::Always
    }

    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Never => "never",
            Self::PerGroup => "per_group",
        }
    }
}

/// The answer to "what can this adapter, with this credential, do?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Capabilities {
    /// Provider name.
    pub provider: String,
    /// Per-resource support.
    pub resources: Vec<ResourceSupport>,
    /// Degradations and caveats worth telling a person (e.g. "GraphQL unavailable").
    pub notes: Vec<String>,
    /// Whether group memberships carry a role (omitted when every group has roles).
    #[serde(default, skip_serializing_if = "GroupRoles::is_always")]
    pub group_roles: GroupRoles,
}

impl Capabilities {
    /// Provider `provider` serving `resources`, without notes, every group having roles.
    pub fn new(provider: impl Into<String>, resources: Vec<ResourceSupport>) -> Self {
        Self {
            provider: provider.into(),
            resources,
            notes: Vec::new(),
            group_roles: GroupRoles::Always,
        }
    }

    /// Sets the notes for a person.
    pub fn with_notes(mut self, notes: Vec<String>) -> Self {
        self.notes = notes;
        self
    }

    /// Says whether group memberships carry a role.
    pub fn with_group_roles(mut self, group_roles: GroupRoles) -> Self {
        self.group_roles = group_roles;
        self
    }

    /// The entry for `resource`, if the adapter serves it at all.
    pub fn resource(&self, resource: Resource) -> Option<&ResourceSupport> {
        self.resources.iter().find(|r| r.resource == resource)
    }

    /// Whether `operation` on `resource` is implemented and usable with this credential.
    pub fn supports(&self, resource: Resource, operation: Operation) -> bool {
        self.resource(resource).is_some_and(|r| r.usable(operation))
    }

    /// Whether memberships of `group` carry a role: what the group says
    /// ([`crate::Group::has_roles`]), else what [`Capabilities::group_roles`] says of every
    /// group (with [`GroupRoles::PerGroup`] and nothing said, assumed to have roles).
    pub fn group_has_roles(&self, group: &crate::Group) -> bool {
        group
            .has_roles
            .unwrap_or(self.group_roles != GroupRoles::Never)
    }
}

impl ResourceSupport {
    /// A resource with all operations available and no filters.
    pub fn new(resource: Resource, operations: &[Operation]) -> Self {
        Self {
            resource,
            operations: operations.to_vec(),
            filters: Vec::new(),
            available: true,
            missing_scopes: Vec::new(),
            via: None,
            required_scopes: Vec::new(),
        }
    }

    /// Adds the accepted filters.
    pub fn with_filters(mut self, filters: &[FilterField]) -> Self {
        self.filters = filters.to_vec();
        self
    }

    /// Says how the resource is served.
    pub fn via(mut self, via: impl Into<String>) -> Self {
        self.via = Some(via.into());
        self
    }

    /// Marks the resource unusable for lack of `scopes` (no-op when `scopes` is empty), for
    /// adapters that do not report scopes per operation.
    pub fn missing(mut self, scopes: Vec<String>) -> Self {
        if !scopes.is_empty() {
            self.available = false;
            self.missing_scopes = scopes;
        }
        self
    }

    /// Records the scopes `operations` use with this credential, and derives `available`
    /// (some operation usable) and `missing_scopes` (required, not held, in first-seen
    /// order) from every operation recorded so far.
    pub fn with_scopes(mut self, operations: &[Operation], scopes: &[ScopeRequirement]) -> Self {
        for operation in operations {
            self.required_scopes.retain(|o| o.operation != *operation);
            self.required_scopes.push(OperationScopes {
                operation: *operation,
                scopes: scopes.to_vec(),
            });
        }
        self.missing_scopes.clear();
        for scope in self.required_scopes.iter().flat_map(|o| &o.scopes) {
            if scope.blocks() && !self.missing_scopes.contains(&scope.scope) {
                self.missing_scopes.push(scope.scope.clone());
            }
        }
        self.available = self
            .operations
            .iter()
            .any(|op| self.scopes_of(*op).is_none_or(OperationScopes::usable));
        self
    }

    /// The scopes `operation` uses, when the adapter reported them.
    pub fn scopes_of(&self, operation: Operation) -> Option<&OperationScopes> {
        self.required_scopes
            .iter()
            .find(|o| o.operation == operation)
    }

    /// Whether `operation` is implemented and the credential allows it.
    pub fn usable(&self, operation: Operation) -> bool {
        self.available
            && self.operations.contains(&operation)
            && self
                .scopes_of(operation)
                .is_none_or(OperationScopes::usable)
    }
}

/// Fails with [`ErrorKind::Unsupported`] when `query` uses a filter outside `allowed`.
///
/// Adapters call this first in every list operation so an unsupported filter is an error,
/// never silently ignored (which would return an unfiltered list as if it were filtered).
pub fn ensure_filters(
    provider: &'static str,
    operation: &'static str,
    filters: &crate::Filters,
    allowed: &[FilterField],
) -> Result<()> {
    for field in filters.used() {
        if !allowed.contains(&field) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("the {field:?} filter is not supported by {operation}"),
            )
            .with_provider(provider)
            .with_operation(operation));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Operation::{Add, Get, List, Remove};

    fn members(write: bool, read: bool) -> ResourceSupport {
        ResourceSupport::new(Resource::GroupMembers, &[List, Add, Remove])
            .with_scopes(&[List], &[ScopeRequirement::required("read", read)])
            .with_scopes(
                &[Add, Remove],
                &[
                    ScopeRequirement::required("write", write),
                    ScopeRequirement::required("read", read),
                ],
            )
    }

    #[test]
    fn a_missing_write_scope_leaves_reads_usable() {
        let r = members(false, true);
        assert!(r.available);
        assert!(r.usable(List));
        assert!(!r.usable(Add) && !r.usable(Remove));
        assert!(!r.usable(Get), "not implemented");
        assert_eq!(r.missing_scopes, ["write"]);
    }

    #[test]
    fn a_scope_every_operation_needs_makes_the_resource_unavailable() {
        let r = members(true, false);
        assert!(!r.available);
        assert!(!r.usable(List) && !r.usable(Add));
        assert_eq!(r.missing_scopes, ["read"]);
        let r = members(false, false);
        assert_eq!(
            r.missing_scopes,
            ["read", "write"],
            "first seen order, once"
        );
    }

    #[test]
    fn an_optional_scope_degrades_without_blocking() {
        let r = ResourceSupport::new(Resource::Users, &[List]).with_scopes(
            &[List],
            &[
                ScopeRequirement::required("a", true),
                ScopeRequirement::optional("b", false, "slower"),
            ],
        );
        assert!(r.usable(List));
        assert!(r.missing_scopes.is_empty());
        let caps = Capabilities::new("p", vec![r]);
        assert!(caps.supports(Resource::Users, List));
        assert!(!caps.supports(Resource::Groups, List));
    }

    #[test]
    fn operation_names_match_the_wire() {
        for op in [List, Get, Add, Operation::ChangeRole, Remove] {
            assert_eq!(serde_json::to_value(op).expect("json"), op.as_str());
            assert_eq!(op.is_write(), !matches!(op, List | Get));
        }
    }

    #[test]
    fn without_scope_reports_availability_alone_decides() {
        let r = ResourceSupport::new(Resource::Groups, &[List]).missing(vec!["x".into()]);
        assert!(!r.usable(List));
        let json =
            serde_json::to_value(ResourceSupport::new(Resource::Groups, &[List])).expect("json");
        assert!(
            json.get("required_scopes").is_none(),
            "omitted when not reported, as before"
        );
        let back: ResourceSupport = serde_json::from_value(json).expect("old shape reads");
        assert!(back.required_scopes.is_empty() && back.usable(List));
    }
}
