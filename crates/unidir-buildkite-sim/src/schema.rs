//! Buildkite's GraphQL schema and the validation of request documents against it.
//!
//! Buildkite (graphql-ruby) validates every document before running it and answers an invalid
//! one with HTTP 200 and only `errors`. The unknown-field error is the one clients must
//! recognise (schema drift), so it is reproduced in graphql-ruby's shape:
//!
//! ```json
//! {"message": "Field 'machineUser' doesn't exist on type 'User'",
//!  "locations": [{"line": 18, "column": 13}],
//!  "path": ["query UnidirMembers", "organization", "members", "edges", "node", "user", "machineUser"],
//!  "extensions": {"code": "undefinedField", "typeName": "User", "fieldName": "machineUser"}}
//! ```
//!
//! Other validation failures (syntax, arguments, variables, ...) carry apollo-compiler's
//! message and locations, without graphql-ruby's exact wording.

use std::fmt;
use std::sync::{Arc, OnceLock};

use apollo_compiler::ast::{self, OperationType};
use apollo_compiler::parser::SourceMap;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::{DiagnosticList, Valid};
use apollo_compiler::{ExecutableDocument, Node, Schema};
use serde_json::{Value, json};

use crate::error::SimError;

/// Buildkite's SDL (descriptions removed), as in the fixtures.
const SDL: &str = include_str!("../../../fixtures/buildkite/schema/buildkite-schema.graphql");

/// Most errors reported for one document (graphql-ruby also caps its list).
const MAX_ERRORS: usize = 20;

/// A validated schema, shared by every request of a simulator.
#[derive(Clone)]
pub(crate) struct GqlSchema(Arc<Valid<Schema>>);

impl fmt::Debug for GqlSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GqlSchema")
            .field("types", &self.0.types.len())
            .finish()
    }
}

/// The full schema, parsed and validated once per process.
fn full() -> Result<&'static Arc<Valid<Schema>>, SimError> {
    static FULL: OnceLock<Result<Arc<Valid<Schema>>, String>> = OnceLock::new();
    FULL.get_or_init(|| {
        Schema::parse_and_validate(SDL, "buildkite-schema.graphql")
            .map(Arc::new)
            .map_err(|e| format!("the embedded Buildkite schema does not validate: {e}"))
    })
    .as_ref()
    .map_err(|e| SimError::InvalidConfig(e.clone()))
}

impl GqlSchema {
    /// The schema without the `Type.field` coordinates in `without` (an older Buildkite);
    /// the shared full schema when `without` is empty.
    pub(crate) fn load(without: &[String]) -> Result<Self, SimError> {
        let full = full()?;
        if without.is_empty() {
            return Ok(Self(Arc::clone(full)));
        }
        let mut schema = Schema::clone(full);
        for coordinate in without {
            let invalid = || {
                SimError::InvalidConfig(format!(
                    "schema_without: {coordinate:?} is not a Type.field of Buildkite's schema"
                ))
            };
            let (type_name, field) = coordinate.split_once('.').ok_or_else(invalid)?;
            let removed = match schema.types.get_mut(type_name) {
                Some(ExtendedType::Object(object)) => {
                    object.make_mut().fields.shift_remove(field).is_some()
                }
                Some(ExtendedType::Interface(interface)) => {
                    interface.make_mut().fields.shift_remove(field).is_some()
                }
                _ => false,
            };
            if !removed {
                return Err(invalid());
            }
        }
        schema.validate().map(|s| Self(Arc::new(s))).map_err(|e| {
            SimError::InvalidConfig(format!("schema_without leaves an invalid schema: {e}"))
        })
    }

    #[cfg(test)]
    fn has_field(&self, type_name: &str, field: &str) -> bool {
        self.0.type_field(type_name, field).is_ok()
    }

    /// Validates a request document. The error is the `errors` array of Buildkite's answer.
    pub(crate) fn validate(
        &self,
        query: Option<&str>,
    ) -> Result<Valid<ExecutableDocument>, Vec<Value>> {
        let Some(query) = query.filter(|q| !q.trim().is_empty()) else {
            return Err(vec![json!({ "message": "No query string was present" })]);
        };
        let ast =
            ast::Document::parse(query, "query.graphql").map_err(|e| diagnostics(&e.errors))?;
        let undefined = undefined_fields(&self.0, &ast);
        if !undefined.is_empty() {
            return Err(undefined);
        }
        ast.to_executable_validate(&self.0)
            .map_err(|e| diagnostics(&e.errors))
    }
}

/// apollo-compiler diagnostics as GraphQL errors (message and locations).
fn diagnostics(list: &DiagnosticList) -> Vec<Value> {
    list.iter()
        .take(MAX_ERRORS)
        .map(|d| {
            let error = d.to_json();
            let locations: Vec<Value> = error
                .locations
                .iter()
                .map(|l| json!({ "line": l.line, "column": l.column }))
                .collect();
            let mut out = json!({ "message": error.message });
            if !locations.is_empty() {
                out["locations"] = Value::Array(locations);
            }
            out
        })
        .collect()
}

/// graphql-ruby's `undefinedField` errors for every selected field its type lacks.
fn undefined_fields(schema: &Schema, document: &ast::Document) -> Vec<Value> {
    let mut walk = Walk {
        schema,
        sources: &document.sources,
        path: Vec::new(),
        errors: Vec::new(),
    };
    for definition in &document.definitions {
        match definition {
            ast::Definition::OperationDefinition(op) => {
                let Some(root) = schema.root_operation(op.operation_type) else {
                    continue;
                };
                let kind = match op.operation_type {
                    OperationType::Query => "query",
                    OperationType::Mutation => "mutation",
                    OperationType::Subscription => "subscription",
                };
                walk.path.push(match &op.name {
                    Some(name) => format!("{kind} {name}"),
                    None => kind.to_owned(),
                });
                walk.selections(root.as_str(), &op.selection_set);
                walk.path.pop();
            }
            ast::Definition::FragmentDefinition(fragment) => {
                walk.path.push(format!("fragment {}", fragment.name));
                walk.selections(fragment.type_condition.as_str(), &fragment.selection_set);
                walk.path.pop();
            }
            _ => {}
        }
    }
    walk.errors
}

struct Walk<'a> {
    schema: &'a Schema,
    sources: &'a SourceMap,
    path: Vec<String>,
    errors: Vec<Value>,
}

impl Walk<'_> {
    fn selections(&mut self, parent: &str, selections: &[ast::Selection]) {
        // Unions and unknown types are apollo-compiler's to report.
        if !matches!(
            self.schema.types.get(parent),
            Some(ExtendedType::Object(_) | ExtendedType::Interface(_))
        ) {
            return;
        }
        for selection in selections {
            if self.errors.len() >= MAX_ERRORS {
                return;
            }
            match selection {
                ast::Selection::Field(field) => self.field(parent, field),
                ast::Selection::InlineFragment(inline) => {
                    let ty = inline
                        .type_condition
                        .as_ref()
                        .map_or(parent, |t| t.as_str());
                    self.path.push(match &inline.type_condition {
                        Some(t) => format!("... on {t}"),
                        None => "...".to_owned(),
                    });
                    self.selections(ty, &inline.selection_set);
                    self.path.pop();
                }
                // Named fragments are walked as definitions of their own.
                ast::Selection::FragmentSpread(_) => {}
            }
        }
    }

    fn field(&mut self, parent: &str, field: &Node<ast::Field>) {
        let key = field.alias.as_ref().unwrap_or(&field.name).to_string();
        self.path.push(key);
        match self.schema.type_field(parent, &field.name) {
            Ok(definition) => {
                let ty = definition.ty.inner_named_type().as_str().to_owned();
                self.selections(&ty, &field.selection_set);
            }
            Err(_) => {
                let mut error = json!({
                    "message": format!("Field '{}' doesn't exist on type '{parent}'", field.name),
                    "path": self.path,
                    "extensions": {
                        "code": "undefinedField",
                        "typeName": parent,
                        "fieldName": field.name.as_str(),
                    },
                });
                if let Some(start) = field
                    .line_column_range(self.sources)
                    .map(|range| range.start)
                {
                    error["locations"] = json!([{ "line": start.line, "column": start.column }]);
                }
                self.errors.push(error);
            }
        }
        self.path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_schema_loads_and_fields_can_be_removed() {
        let full = GqlSchema::load(&[]).expect("full schema");
        assert!(full.has_field("User", "machineUser"));
        let older = GqlSchema::load(&["User.machineUser".to_owned()]).expect("older schema");
        assert!(!older.has_field("User", "machineUser"));
        assert!(older.has_field("User", "bot"));
        // The shared full schema is untouched.
        assert!(
            GqlSchema::load(&[])
                .expect("full")
                .has_field("User", "machineUser")
        );
        for bad in ["User", "User.nope", "Nope.id", "DateTime.x", ""] {
            assert!(
                matches!(
                    GqlSchema::load(&[bad.to_owned()]),
                    Err(SimError::InvalidConfig(_))
                ),
                "{bad}"
            );
        }
        // Removing a field an interface requires leaves an invalid schema.
        assert!(GqlSchema::load(&["User.id".to_owned()]).is_err());
    }

    #[test]
    fn unknown_fields_get_graphql_rubys_error() {
        let schema = GqlSchema::load(&[]).expect("schema");
        let query = "query Q {\n  viewer {\n    user { name nickname }\n    me: nope\n  }\n}";
        let errors = schema.validate(Some(query)).expect_err("invalid");
        assert_eq!(
            errors,
            vec![
                json!({
                    "message": "Field 'nickname' doesn't exist on type 'User'",
                    "locations": [{ "line": 3, "column": 17 }],
                    "path": ["query Q", "viewer", "user", "nickname"],
                    "extensions": { "code": "undefinedField", "typeName": "User", "fieldName": "nickname" },
                }),
                json!({
                    "message": "Field 'nope' doesn't exist on type 'Viewer'",
                    "locations": [{ "line": 4, "column": 5 }],
                    "path": ["query Q", "viewer", "me"],
                    "extensions": { "code": "undefinedField", "typeName": "Viewer", "fieldName": "nope" },
                }),
            ]
        );
        // Inside fragments, too.
        let fragment = "{ viewer { ...V } } fragment V on Viewer { ... on Viewer { zap } }";
        let errors = schema.validate(Some(fragment)).expect_err("invalid");
        assert_eq!(
            errors[0]["path"],
            json!(["fragment V", "... on Viewer", "zap"])
        );
    }

    #[test]
    fn other_invalid_documents_get_messages_with_locations() {
        let schema = GqlSchema::load(&[]).expect("schema");
        for query in [
            "{ viewer { id }",
            "{ viewer(x: 1) { id } }",
            "query Q($a: Int) { viewer { id } }",
            "{ viewer }",
            "mutation { nope }",
        ] {
            let errors = schema.validate(Some(query)).expect_err(query);
            assert!(!errors.is_empty(), "{query}");
            for error in &errors {
                assert!(
                    error["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{query}: {error}"
                );
            }
        }
        assert_eq!(
            schema.validate(None).expect_err("no query"),
            vec![json!({ "message": "No query string was present" })]
        );
        assert!(schema.validate(Some("  ")).is_err());
        assert!(
            schema
                .validate(Some("{ viewer { user { name } } }"))
                .is_ok()
        );
    }
}
