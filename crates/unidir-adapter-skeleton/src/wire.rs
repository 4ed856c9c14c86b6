//! The toy API's JSON and its mapping to the unified model.
//!
//! Each object is decoded from the raw JSON value, so the same value can be kept as
//! `remote_data` when the caller asks for it. A field the toy does not have stays `None`:
//! nothing is invented.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use unidir_core::{
    Email, Group, GroupAssignment, GroupMembership, GroupPrivacy, GroupType, Organization,
    OrganizationRef, Result, Role, RoleAssignment, RoleScope, User, UserStatus,
};

use crate::api::contract;

/// Decodes one provider object; a shape it does not have is the provider's contract
/// violation (the message names the object, never its content).
pub(crate) fn decode<T: DeserializeOwned>(
    operation: &'static str,
    what: &str,
    value: &Value,
) -> Result<T> {
    T::deserialize(value).map_err(|_| {
        contract(
            operation,
            format!("the toy API sent a {what} of an unknown shape"),
        )
    })
}

/// Unified role ids are unique across scopes; the toy's role keys are unique per scope only.
pub(crate) fn org_role_id(key: &str) -> String {
    format!("org:{key}")
}

/// See [`org_role_id`].
pub(crate) fn group_role_id(key: &str) -> String {
    format!("group:{key}")
}

#[derive(Deserialize)]
pub(crate) struct ToyOrg {
    id: String,
    name: String,
    slug: Option<String>,
}

impl ToyOrg {
    pub(crate) fn into_organization(self, raw: Option<Value>) -> Organization {
        Organization::new(self.id, self.name)
            .with_slug(self.slug)
            .with_remote_data(raw)
    }

    pub(crate) fn into_ref(self) -> OrganizationRef {
        OrganizationRef::new(self.id, self.name).with_slug(self.slug)
    }
}

#[derive(Deserialize)]
struct ToyUserGroup {
    id: String,
    role: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ToyUser {
    id: String,
    name: Option<String>,
    email: Option<String>,
    state: Option<String>,
    role: Option<String>,
    #[serde(default)]
    groups: Vec<ToyUserGroup>,
}

/// The toy's `state` in unified terms; a state unidir does not know is kept verbatim.
fn status(state: Option<&str>) -> UserStatus {
    match state {
        Some("enabled") | None => UserStatus::Active,
        Some("disabled") => UserStatus::Inactive,
        Some("pending") => UserStatus::Invited,
        Some(other) => UserStatus::Other(other.to_owned()),
    }
}

impl ToyUser {
    pub(crate) fn into_user(self, raw: Option<Value>) -> User {
        let emails = self
            .email
            .map(|e| vec![Email::new(e).with_is_primary(true)])
            .unwrap_or_default();
        let roles = self
            .role
            .map(|key| {
                vec![RoleAssignment::new(
                    org_role_id(&key),
                    key,
                    RoleScope::Organization,
                )]
            })
            .unwrap_or_default();
        let groups = self
            .groups
            .into_iter()
            .map(|g| GroupAssignment::new(g.id).with_role_id(g.role.as_deref().map(group_role_id)))
            .collect();
        User::new(self.id)
            .with_name(self.name)
            .with_emails(emails)
            .with_status(status(self.state.as_deref()))
            .with_roles(roles)
            .with_groups(groups)
            .with_remote_data(raw)
    }
}

#[derive(Deserialize)]
pub(crate) struct ToyGroup {
    id: String,
    name: String,
    slug: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
}

impl ToyGroup {
    pub(crate) fn into_group(self, raw: Option<Value>) -> Group {
        let privacy = self.visibility.map(|v| match v.as_str() {
            "public" => GroupPrivacy::Visible,
            "private" => GroupPrivacy::Secret,
            _ => GroupPrivacy::Other(v),
        });
        Group::new(self.id, self.name)
            .with_group_type(GroupType::Team)
            .with_slug(self.slug)
            .with_description(self.description)
            .with_privacy(privacy)
            .with_remote_data(raw)
    }
}

#[derive(Deserialize)]
pub(crate) struct ToyMember {
    user_id: String,
    role: Option<String>,
    name: Option<String>,
    email: Option<String>,
}

impl ToyMember {
    pub(crate) fn into_membership(self, group_id: &str, raw: Option<Value>) -> GroupMembership {
        GroupMembership::new(group_id, self.user_id)
            .with_role_id(self.role.as_deref().map(group_role_id))
            .with_user_name(self.name)
            .with_user_email(self.email)
            .with_remote_data(raw)
    }
}

#[derive(Deserialize)]
pub(crate) struct ToyRole {
    key: String,
    scope: String,
    name: Option<String>,
}

impl ToyRole {
    pub(crate) fn into_role(self, raw: Option<Value>) -> Role {
        let (id, scope) = match self.scope.as_str() {
            "org" => (org_role_id(&self.key), RoleScope::Organization),
            "group" => (group_role_id(&self.key), RoleScope::Group),
            other => (
                format!("{other}:{}", self.key),
                RoleScope::Other(other.to_owned()),
            ),
        };
        Role::new(id, self.name.unwrap_or_else(|| self.key.clone()), scope).with_remote_data(raw)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_user_maps_its_roles_groups_and_state() {
        let raw = json!({
            "id": "u_1", "name": "Ada", "email": "ada@toy.example", "state": "frozen",
            "role": "admin", "groups": [{"id": "g_1", "role": "maintainer"}, {"id": "g_2"}]
        });
        let user = decode::<ToyUser>("get_user", "user", &raw)
            .expect("decodes")
            .into_user(None);
        assert_eq!(user.primary_email(), Some("ada@toy.example"));
        assert_eq!(user.status, UserStatus::Other("frozen".into()));
        assert_eq!(user.roles[0].id, "org:admin");
        let groups: Vec<_> = user
            .groups
            .iter()
            .map(|g| (g.id.as_str(), g.role_id.as_deref()))
            .collect();
        assert_eq!(groups, [("g_1", Some("group:maintainer")), ("g_2", None)]);
        assert!(user.remote_data.is_none() && user.first_name.is_none());
    }

    #[test]
    fn an_unknown_shape_is_a_contract_violation_without_its_content() {
        let e = decode::<ToyUser>("get_user", "user", &json!({ "id": 7, "name": "s3cret" }))
            .err()
            .expect("refused");
        assert_eq!(e.kind(), unidir_core::ErrorKind::ContractViolation);
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
