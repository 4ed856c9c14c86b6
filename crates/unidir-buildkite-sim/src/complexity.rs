//! GraphQL query complexity by Buildkite's documented rules (reference §8.2).
//!
//! * A scalar or enum field costs 0; an object field costs 1 per returned item.
//! * A connection field costs 1, plus 1 for `edges` (and 1 for `nodes`), plus its page size
//!   times the cost of one item: the `node` (1) and every object inside it. Other fields of the
//!   connection (`pageInfo` 1, `count` 0) are counted once.
//! * **Requested** complexity takes the page size from `first`/`last` (the larger when both
//!   are given; 500, Buildkite's default page, when neither is), before the query runs.
//!   **Actual** complexity counts the items the answer holds.
//!
//! So `members(first: 500) { edges { node { teams(first: 50) { edges { node { team { name } } } } } } }`
//! under `organization` requests 3 + 500 × (1 + 1 + 1 + 50 × 2) = 51,503 points, and
//! `members(first: 500) { edges { node { teams { edges { node { id } } } } } }` (no page sizes)
//! 3 + 500 × 503 = 251,503 — the figure Buildkite's documented error shows.
//!
//! Fragments count with the fields they add, whatever their type condition, and fields selected
//! twice count twice: an upper bound for the documents the simulator runs.
//!
//! [`CostRule::EdgesCharged`] plays a stricter server than the documented rule: each edge object
//! costs 1 per item too (as `nodes` items do), so a connection's item costs one more.

use apollo_compiler::ExecutableDocument;
use apollo_compiler::ast::Value as GqlValue;
use apollo_compiler::executable::{Field, Operation, Selection, SelectionSet};
use serde_json::{Map, Value};

/// Page size of a connection without `first` or `last`.
pub(crate) const DEFAULT_PAGE: u64 = 500;

/// How the simulator prices a connection's items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CostRule {
    /// Buildkite's documented rule: an edge is free, its `node` and objects inside cost 1 each.
    #[default]
    Documented,
    /// Stricter than the documents: every edge object costs 1 per item as well.
    EdgesCharged,
}

/// When the simulator charges GraphQL points against the budgets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accounting {
    /// Buildkite's documented accounting: the actual complexity, after the query ran.
    #[default]
    ChargeActual,
    /// The requested complexity, charged before the query runs; a query requesting more than
    /// the budget left is refused with a 429.
    ChargeRequested,
}

/// The requested complexity of `operation` with these variables.
pub(crate) fn requested(
    document: &ExecutableDocument,
    operation: &Operation,
    variables: &Map<String, Value>,
    rule: CostRule,
) -> u64 {
    let cx = Requested {
        document,
        operation,
        variables,
        rule,
    };
    cx.set(&operation.selection_set)
}

/// The actual complexity of `data`, the answer to `selection`.
pub(crate) fn actual(
    document: &ExecutableDocument,
    selection: &SelectionSet,
    data: &Value,
    rule: CostRule,
) -> u64 {
    match data {
        Value::Object(fields) => actual_set(document, selection, fields, rule),
        _ => 0,
    }
}

/// The fields of `set`, with those of its fragments spliced in.
fn fields<'a>(document: &'a ExecutableDocument, set: &'a SelectionSet) -> Vec<&'a Field> {
    let mut out = Vec::new();
    collect_fields(document, set, &mut out, 0);
    out
}

fn collect_fields<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    out: &mut Vec<&'a Field>,
    depth: usize,
) {
    // Validation rejects fragment cycles; the bound only guards against surprises.
    if depth > 64 {
        return;
    }
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => out.push(field),
            Selection::InlineFragment(inline) => {
                collect_fields(document, &inline.selection_set, out, depth + 1);
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.fragment_name) {
                    collect_fields(document, &fragment.selection_set, out, depth + 1);
                }
            }
        }
    }
}

/// A scalar or enum (including `__typename`): no sub-selection.
fn is_leaf(field: &Field) -> bool {
    field.selection_set.selections.is_empty()
}

/// A Relay connection: a `…Connection` type paged by `first`/`last`.
fn is_connection(field: &Field) -> bool {
    field.selection_set.ty.as_str().ends_with("Connection")
        && (field.definition.argument_by_name("first").is_some()
            || field.definition.argument_by_name("last").is_some())
}

/// What one item of a connection's `edges` or `nodes` list costs, given that list's cost
/// (`edges` items: their `node` and other object fields; `nodes` items: 1 each plus fields).
fn item_field(field: &Field) -> Option<ItemList> {
    match field.name.as_str() {
        "edges" if !is_leaf(field) => Some(ItemList::Edges),
        "nodes" if !is_leaf(field) => Some(ItemList::Nodes),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum ItemList {
    /// Each edge is free; its `node` costs 1 like any object field.
    Edges,
    /// Each node costs 1.
    Nodes,
}

impl ItemList {
    fn per_item(self, rule: CostRule) -> u64 {
        match (self, rule) {
            (ItemList::Edges, CostRule::Documented) => 0,
            (ItemList::Edges, CostRule::EdgesCharged) | (ItemList::Nodes, _) => 1,
        }
    }
}

struct Requested<'a> {
    document: &'a ExecutableDocument,
    operation: &'a Operation,
    variables: &'a Map<String, Value>,
    rule: CostRule,
}

impl Requested<'_> {
    fn set(&self, set: &SelectionSet) -> u64 {
        fields(self.document, set)
            .into_iter()
            .map(|f| self.field(f))
            .fold(0, u64::saturating_add)
    }

    fn field(&self, field: &Field) -> u64 {
        if is_leaf(field) {
            0
        } else if is_connection(field) {
            let page = self.page_size(field);
            fields(self.document, &field.selection_set)
                .into_iter()
                .map(|f| match item_field(f) {
                    Some(list) => page
                        .saturating_mul(
                            list.per_item(self.rule)
                                .saturating_add(self.set(&f.selection_set)),
                        )
                        .saturating_add(1),
                    None => self.field(f),
                })
                .fold(1, u64::saturating_add)
        } else {
            self.set(&field.selection_set).saturating_add(1)
        }
    }

    /// The larger of `first` and `last`, or [`DEFAULT_PAGE`] when neither has a value.
    fn page_size(&self, field: &Field) -> u64 {
        ["first", "last"]
            .iter()
            .filter_map(|name| field.specified_argument_by_name(name))
            .filter_map(|value| self.int(value))
            .max()
            .unwrap_or(DEFAULT_PAGE)
    }

    /// An `Int` argument: a literal, or a variable's value (or its declared default).
    fn int(&self, value: &GqlValue) -> Option<u64> {
        match value {
            GqlValue::Int(i) => i.try_to_i32().ok().map(|n| u64::try_from(n).unwrap_or(0)),
            GqlValue::Variable(name) => match self.variables.get(name.as_str()) {
                Some(Value::Null) => None,
                Some(v) => v.as_i64().map(|n| u64::try_from(n).unwrap_or(0)),
                None => self
                    .operation
                    .variables
                    .iter()
                    .find(|d| d.name == *name)
                    .and_then(|d| d.default_value.as_ref())
                    .and_then(|d| self.int(d)),
            },
            _ => None,
        }
    }
}

fn actual_set(
    document: &ExecutableDocument,
    set: &SelectionSet,
    fields_of: &Map<String, Value>,
    rule: CostRule,
) -> u64 {
    fields(document, set)
        .into_iter()
        .map(|f| actual_field(document, f, fields_of.get(f.response_key().as_str()), rule))
        .fold(0, u64::saturating_add)
}

/// 1 per object returned (each item of a list), nothing for null or a scalar.
fn actual_field(
    document: &ExecutableDocument,
    field: &Field,
    value: Option<&Value>,
    rule: CostRule,
) -> u64 {
    if is_leaf(field) {
        return 0;
    }
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| actual_field(document, field, Some(item), rule))
            .fold(0, u64::saturating_add),
        Some(Value::Object(object)) if is_connection(field) => {
            fields(document, &field.selection_set)
                .into_iter()
                .map(|f| {
                    let value = object.get(f.response_key().as_str());
                    match (item_field(f), value) {
                        (Some(list), Some(Value::Array(items))) => items
                            .iter()
                            .map(|item| match item {
                                Value::Object(item) => list.per_item(rule).saturating_add(
                                    actual_set(document, &f.selection_set, item, rule),
                                ),
                                _ => 0,
                            })
                            .fold(1, u64::saturating_add),
                        (Some(_), _) => 0,
                        (None, value) => actual_field(document, f, value, rule),
                    }
                })
                .fold(1, u64::saturating_add)
        }
        Some(Value::Object(object)) => {
            actual_set(document, &field.selection_set, object, rule).saturating_add(1)
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::validation::Valid;
    use serde_json::json;

    fn document(query: &str) -> Valid<ExecutableDocument> {
        crate::schema::GqlSchema::load(&[])
            .expect("schema")
            .validate(Some(query))
            .expect("valid")
    }

    fn requested_of(query: &str, variables: Value) -> u64 {
        let doc = document(query);
        let op = doc.operations.get(None).expect("one operation");
        requested(
            &doc,
            op,
            variables.as_object().expect("object"),
            CostRule::Documented,
        )
    }

    #[test]
    fn requested_follows_the_documented_examples() {
        // Reference §8.2: 500 members with 50 teams each ≈ 500 × 103.
        let q = "{ organization(slug: \"a\") { members(first: 500) { edges { node {
            teams(first: 50) { edges { node { team { name } } } } } } } } }";
        assert_eq!(requested_of(q, json!({})), 3 + 500 * 103);
        // Without page sizes both connections default to 500: Buildkite's 251503 error.
        let q = "{ organization(slug: \"a\") { members { edges { node {
            teams { edges { node { id } } } } } } } }";
        assert_eq!(requested_of(q, json!({})), 251_503);
        // Scalars and enums are free; each object field costs 1 per member.
        let q = "query Q($n: Int = 7) { organization(slug: \"a\") { members(first: $n) { count
            pageInfo { hasNextPage } edges { cursor node { role sso { mode } user { name avatar { url } } } } } } }";
        assert_eq!(requested_of(q, json!({})), 4 + 7 * 4);
        assert_eq!(requested_of(q, json!({ "n": 2 })), 4 + 2 * 4);
        assert_eq!(requested_of(q, json!({ "n": null })), 4 + 500 * 4);
        // `first` and `last` both given: the larger counts; fragments add their fields.
        let q = "{ organization(slug: \"a\") { members(first: 3, last: 9) { edges { node { ...M } } } } }
            fragment M on OrganizationMember { user { name } ... on OrganizationMember { sso { mode } } }";
        assert_eq!(requested_of(q, json!({})), 3 + 9 * 3);
    }

    #[test]
    fn the_stricter_rule_charges_each_edge() {
        let q = "{ organization(slug: \"a\") { members(first: 500) { edges { node {
            teams(first: 50) { edges { node { team { name } } } } } } } } }";
        let doc = document(q);
        let op = doc.operations.get(None).expect("one operation");
        let strict = requested(&doc, op, &Map::new(), CostRule::EdgesCharged);
        assert_eq!(strict, 3 + 500 * (1 + 1 + 1 + 1 + 50 * 3));
    }

    #[test]
    fn actual_counts_what_was_returned() {
        let q = "{ organization(slug: \"a\") { members(first: 100) { count pageInfo { hasNextPage }
            edges { node { user { name } teams(first: 50) { edges { node { team { name } } } } } } } } }";
        let doc = document(q);
        let op = doc.operations.get(None).expect("one operation");
        let data = json!({ "organization": { "members": {
            "count": 2,
            "pageInfo": { "hasNextPage": false },
            "edges": [
                { "node": { "user": { "name": "A" }, "teams": { "edges": [
                    { "node": { "team": { "name": "T" } } },
                    { "node": { "team": { "name": "U" } } },
                ] } } },
                { "node": { "user": null, "teams": { "edges": [] } } },
            ],
        } } });
        // organization, members, pageInfo, edges; A: node, user, teams, edges, 2 × (node, team);
        // B: node, teams, edges (its user is null).
        assert_eq!(
            actual(&doc, &op.selection_set, &data, CostRule::Documented),
            4 + (4 + 4) + 3
        );
        // Stricter: each of the 2 member edges and 2 team edges costs 1 more.
        assert_eq!(
            actual(&doc, &op.selection_set, &data, CostRule::EdgesCharged),
            4 + (4 + 4) + 3 + 4
        );
        assert_eq!(
            actual(
                &doc,
                &op.selection_set,
                &json!({ "organization": null }),
                CostRule::Documented
            ),
            0
        );
    }
}
