//! JSON Schemas of the unified models, generated from the Rust types.
//!
//! `schemas/*.schema.json` at the repository root are these, written to disk; a test fails
//! when the files and the code drift apart (`UNIDIR_BLESS=1` rewrites them).

use schemars::{JsonSchema, generate::SchemaSettings};
use serde_json::Value;

use crate::provision::DesiredState;
use crate::{
    Capabilities, ErrorBody, Group, GroupMembership, ListQuery, Me, Organization, Page, Role, User,
};

fn schema_of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

/// Every published schema as `(file stem, schema)`, in a fixed order.
pub fn all_schemas() -> Vec<(&'static str, Value)> {
    vec![
        ("organization", schema_of::<Organization>()),
        ("group", schema_of::<Group>()),
        ("user", schema_of::<User>()),
        ("role", schema_of::<Role>()),
        ("group_membership", schema_of::<GroupMembership>()),
        ("me", schema_of::<Me>()),
        ("capabilities", schema_of::<Capabilities>()),
        ("error", schema_of::<ErrorBody>()),
        ("list_query", schema_of::<ListQuery>()),
        ("organization_page", schema_of::<Page<Organization>>()),
        ("group_page", schema_of::<Page<Group>>()),
        ("user_page", schema_of::<Page<User>>()),
        ("role_page", schema_of::<Page<Role>>()),
        (
            "group_membership_page",
            schema_of::<Page<GroupMembership>>(),
        ),
        ("desired_state", schema_of::<DesiredState>()),
    ]
}
