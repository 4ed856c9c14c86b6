//! What an adapter, with the credential it holds, can do.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// A kind of unified object (or relation) an adapter can serve.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
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
    /// A provider list read through a passthrough proxy (raw provider objects).
    Passthrough,
}

impl Resource {
    /// Every resource.
    pub const ALL: [Resource; 8] = [
        Self::Organizations,
        Self::Users,
        Self::Groups,
        Self::Roles,
        Self::Me,
        Self::GroupMembers,
        Self::UserGroups,
        Self::Passthrough,
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
            Self::Passthrough => "passthrough",
        }
    }
}

/// An operation on a resource.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
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

/// A filter of [`crate::Filters`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
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

/// What one resource supports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceSupport {
    /// The resource.
    pub resource: Resource,
    /// Operations the adapter implements for it.
    pub operations: Vec<Operation>,
    /// Filters accepted by its list operation.
    pub filters: Vec<FilterField>,
    /// Whether the credential can use it now (`false` when a scope is missing).
    pub available: bool,
    /// Scopes the credential lacks for it.
    pub missing_scopes: Vec<String>,
    /// How the adapter serves it (e.g. which provider API), for humans.
    pub via: Option<String>,
}

/// The answer to "what can this adapter, with this credential, do?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Capabilities {
    /// Provider name.
    pub provider: String,
    /// Per-resource support.
    pub resources: Vec<ResourceSupport>,
    /// Degradations and caveats worth telling a person (e.g. "GraphQL unavailable").
    pub notes: Vec<String>,
}

impl Capabilities {
    /// The entry for `resource`, if the adapter serves it at all.
    pub fn resource(&self, resource: Resource) -> Option<&ResourceSupport> {
        self.resources.iter().find(|r| r.resource == resource)
    }

    /// Whether `operation` on `resource` is implemented and usable with this credential.
    pub fn supports(&self, resource: Resource, operation: Operation) -> bool {
        self.resource(resource)
            .is_some_and(|r| r.available && r.operations.contains(&operation))
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

    /// Marks the resource unusable for lack of `scopes` (no-op when `scopes` is empty).
    pub fn missing(mut self, scopes: Vec<String>) -> Self {
        if !scopes.is_empty() {
            self.available = false;
            self.missing_scopes = scopes;
        }
        self
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
