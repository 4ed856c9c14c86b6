//! GraphQL at `POST /v1`, answering the adapter's two operations by **operation name**.
//!
//! Documents are validated against Buildkite's schema first (`schema.rs`). The operation
//! (named by `operationName`, or the document's only one) runs when it is `UnidirMembers` or
//! `UnidirMemberTeams`; anything else gets a GraphQL error. The simulator builds every field
//! those operations can select (`crates/unidir-buildkite/src/graphql/*.graphql`), then keeps
//! exactly the fields the document asks for, under their aliases, so a query without an
//! optional field gets an answer without it. Arguments are read from the variables the
//! adapter's documents declare; literal arguments and `@skip`/`@include` are not evaluated.
//!
//! Connections use Relay paging over a list position: a cursor is the unpadded base64 of
//! the 1-based position (`"Mg"` = 2). Complexity is computed from the validated document by
//! Buildkite's rules (`complexity.rs`): "requested" from the page sizes before the query runs
//! (a query over the per-query cap is refused then), "actual" from the answer.

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::validation::Valid;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::complexity;
use crate::ids::{decode_cursor, encode_cursor, graphql_time};
use crate::model::OrgRole;
use crate::state::State;

/// Largest page a connection serves (`first`/`last`), as assumed in reference §6.3.
const MAX_PAGE: i64 = 500;

pub(crate) const UNSUPPORTED: &str = "The simulator does not support this query";

/// A parsed `{"query", "variables", "operationName"}` body.
#[derive(Debug, Default)]
pub(crate) struct GqlRequest {
    pub(crate) query: Option<String>,
    /// `operationName`, if given and not empty.
    pub(crate) operation: Option<String>,
    pub(crate) variables: Map<String, Value>,
}

/// Parses the POST body; the error is a message for a 400 answer.
pub(crate) fn parse_request(body: &[u8]) -> Result<GqlRequest, String> {
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) else {
        return Err("Problems parsing JSON".into());
    };
    let query = match map.remove("query") {
        Some(Value::String(q)) => Some(q),
        _ => None,
    };
    let variables = match map.remove("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(v)) => v,
        // The docs' curl example sends variables as a JSON string.
        Some(Value::String(s)) if s.trim().is_empty() => Map::new(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(v)) => v,
            Ok(Value::Null) => Map::new(),
            _ => return Err("variables must be a JSON object".into()),
        },
        Some(_) => return Err("variables must be a JSON object".into()),
    };
    let operation = match map.remove("operationName") {
        Some(Value::String(name)) if !name.is_empty() => Some(name),
        _ => None,
    };
    Ok(GqlRequest {
        query,
        operation,
        variables,
    })
}

/// The outcome of one operation: body plus (requested, actual) complexity.
#[derive(Debug)]
pub(crate) struct GqlOutcome {
    pub(crate) body: Value,
    pub(crate) requested: u64,
    pub(crate) actual: u64,
}

impl GqlOutcome {
    fn error(message: impl Into<String>) -> Self {
        Self {
            body: json!({ "data": null, "errors": [{ "message": message.into() }] }),
            requested: 0,
            actual: 0,
        }
    }
}

/// Runs an authorised request (the caller has the `graphql` scope) whose document has been
/// validated against the schema, unless its requested complexity is over `cap`.
pub(crate) fn execute(
    state: &State,
    caller: Caller,
    req: &GqlRequest,
    document: &Valid<ExecutableDocument>,
    cap: Option<u64>,
    rule: complexity::CostRule,
) -> GqlOutcome {
    let operation = match document.operations.get(req.operation.as_deref()) {
        Ok(operation) => operation,
        Err(_) => {
            let message = match &req.operation {
                Some(name) => format!("No operation named \"{name}\""),
                None => "An operation name is required".to_owned(),
            };
            return GqlOutcome::error(message);
        }
    };
    // Variables are checked before complexity, as graphql-ruby does.
    for definition in &operation.variables {
        let given = req.variables.get(definition.name.as_str());
        if definition.ty.is_non_null()
            && definition.default_value.is_none()
            && given.is_none_or(Value::is_null)
        {
            return GqlOutcome::error(invalid(
                definition.name.as_str(),
                &definition.ty.to_string(),
            ));
        }
    }
    let requested = complexity::requested(document, operation, &req.variables, rule);
    if let Some(cap) = cap.filter(|&cap| requested > cap) {
        return GqlOutcome {
            requested,
            ..GqlOutcome::error(format!(
                "Query has complexity of {requested}, which exceeds max complexity of {cap}"
            ))
        };
    }
    let vars = Vars(&req.variables);
    let result = match operation.name.as_ref().map(|n| n.as_str()) {
        Some("UnidirMembers") => members(state, caller, &vars),
        Some("UnidirMemberTeams") => member_teams(state, caller, &vars),
        Some("UnidirMembersLite") => members(state, caller, &vars),
        Some("UnidirTeamMembers") => team_members(state, caller, &vars),
        Some("UnidirTeamSizes") => team_sizes(state, caller, &vars),
        Some("UnidirOrgSize") => org_size(state, caller, &vars),
        _ => Err(UNSUPPORTED.to_owned()),
    };
    let mut body = match result {
        Ok(body) => body,
        Err(message) => {
            return GqlOutcome {
                requested,
                ..GqlOutcome::error(message)
            };
        }
    };
    let mut actual = 0;
    if let Some(data) = body.get("data").filter(|d| d.is_object()) {
        match project(document, data, &operation.selection_set) {
            Ok(data) => {
                // A query that ran costs at least 1, even when it found nothing.
                actual = complexity::actual(document, &operation.selection_set, &data, rule).max(1);
                body["data"] = data;
            }
            Err(field) => {
                return GqlOutcome::error(format!("{UNSUPPORTED} (it selects {field})"));
            }
        }
    }
    GqlOutcome {
        body,
        requested,
        actual,
    }
}

// ---- selection -------------------------------------------------------------------------------

/// `value` with exactly the fields `selection` asks for, under their response keys. A field
/// the simulator does not build is an error naming it (`Type.field`).
fn project(
    document: &ExecutableDocument,
    value: &Value,
    selection: &SelectionSet,
) -> Result<Value, String> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|item| project(document, item, selection))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(fields) => {
            let mut out = Map::new();
            collect(document, fields, selection, &mut out)?;
            Ok(Value::Object(out))
        }
        leaf => Ok(leaf.clone()),
    }
}

fn collect(
    document: &ExecutableDocument,
    fields: &Map<String, Value>,
    selection: &SelectionSet,
    out: &mut Map<String, Value>,
) -> Result<(), String> {
    for item in &selection.selections {
        match item {
            Selection::Field(field) => {
                let value = if field.name == "__typename" {
                    Value::String(selection.ty.to_string())
                } else {
                    let raw = fields
                        .get(field.name.as_str())
                        .ok_or_else(|| format!("{}.{}", selection.ty, field.name))?;
                    if field.selection_set.selections.is_empty() {
                        raw.clone()
                    } else {
                        project(document, raw, &field.selection_set)?
                    }
                };
                merge(out, field.response_key().as_str(), value);
            }
            // The simulator's objects have concrete types: a fragment on another type does
            // not apply.
            Selection::InlineFragment(inline) => {
                if inline
                    .type_condition
                    .as_ref()
                    .is_none_or(|t| *t == selection.ty)
                {
                    collect(document, fields, &inline.selection_set, out)?;
                }
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.fragment_name)
                    && fragment.type_condition() == &selection.ty
                {
                    collect(document, fields, &fragment.selection_set, out)?;
                }
            }
        }
    }
    Ok(())
}

/// Inserts `value` at `key`, merging objects selected more than once (as GraphQL does).
fn merge(out: &mut Map<String, Value>, key: &str, value: Value) {
    match (out.get_mut(key), value) {
        (Some(Value::Object(existing)), Value::Object(more)) => {
            for (k, v) in more {
                merge(existing, &k, v);
            }
        }
        (_, value) => {
            out.insert(key.to_owned(), value);
        }
    }
}

// ---- variables -------------------------------------------------------------------------------

struct Vars<'a>(&'a Map<String, Value>);

fn invalid(name: &str, ty: &str) -> String {
    format!("Variable ${name} of type {ty} was provided invalid value")
}

impl Vars<'_> {
    /// `null` and absent both mean "not given".
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    fn string(&self, name: &str, ty: &str) -> Result<Option<&str>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid(name, ty)),
        }
    }

    fn required_string(&self, name: &str, ty: &str) -> Result<&str, String> {
        self.string(name, ty)?.ok_or_else(|| invalid(name, ty))
    }

    fn int(&self, name: &str, ty: &str) -> Result<Option<i64>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .filter(|n| i32::try_from(*n).is_ok())
                .map(Some)
                .ok_or_else(|| invalid(name, ty)),
        }
    }

    /// A page size: an `Int` within `0..=MAX_PAGE`.
    fn page_size(&self, name: &str, ty: &str) -> Result<Option<usize>, String> {
        match self.int(name, ty)? {
            None => Ok(None),
            Some(n) if (0..=MAX_PAGE).contains(&n) => Ok(usize::try_from(n).ok()),
            Some(_) => Err(format!(
                "Argument '{name}' must be between 0 and {MAX_PAGE}"
            )),
        }
    }

    fn cursor(&self, name: &str) -> Result<Option<usize>, String> {
        match self.string(name, "String")? {
            None => Ok(None),
            Some(c) => decode_cursor(c)
                .map(Some)
                .ok_or_else(|| format!("Invalid cursor for ${name}: {c:?}")),
        }
    }
}

// ---- Relay windows ---------------------------------------------------------------------------

/// The `[start, end)` slice of `total` items selected by Relay arguments (positions are
/// 1-based in cursors, 0-based here).
fn window(
    total: usize,
    first: Option<usize>,
    after: Option<usize>,
    last: Option<usize>,
    before: Option<usize>,
) -> (usize, usize) {
    let start = after.unwrap_or(0).min(total);
    let mut end = before
        .map_or(total, |b| b.saturating_sub(1))
        .min(total)
        .max(start);
    if let Some(first) = first {
        end = end.min(start.saturating_add(first));
    }
    let start = match last {
        Some(last) => start.max(end.saturating_sub(last)),
        None => start,
    };
    (start, end)
}

fn cursor_or_null(position: usize, non_empty: bool) -> Value {
    if non_empty {
        encode_cursor(position).into()
    } else {
        Value::Null
    }
}

// ---- UnidirMembers ---------------------------------------------------------------------------

fn members(state: &State, caller: Caller, vars: &Vars<'_>) -> Result<Value, String> {
    let slug = vars.required_string("slug", "ID!")?;
    let first = vars.page_size("first", "Int")?;
    let last = vars.page_size("last", "Int")?;
    let after = vars.cursor("after")?;
    let before = vars.cursor("before")?;
    let email = vars.string("email", "String")?;
    let team = vars.string("team", "TeamSelector")?;
    // `UnidirMembers` declares `teamsFirst: Int!`; `UnidirMembersLite` selects no teams.
    let teams_first = vars.page_size("teamsFirst", "Int!")?;
    let roles = match vars.get("role") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| v.as_str().and_then(OrgRole::from_graphql))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("role", "[OrganizationMemberRole!]"))?,
        ),
        // A single enum value is coerced to a one-element list, as GraphQL does.
        Some(Value::String(s)) => {
            Some(vec![OrgRole::from_graphql(s).ok_or_else(|| {
                invalid("role", "[OrganizationMemberRole!]")
            })?])
        }
        Some(_) => return Err(invalid("role", "[OrganizationMemberRole!]")),
    };

    if slug != state.org.slug || !state.is_member(caller.user) {
        return Ok(json!({ "data": { "organization": null } }));
    }

    // TeamSelector: a team slug, optionally negated with a leading '!'.
    let team_filter = team.map(|sel| {
        let (negate, slug) = match sel.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, sel),
        };
        (negate, state.team_by_slug(slug))
    });
    let matching: Vec<usize> = match email {
        // The e-mail filter is an exact (case-insensitive) index lookup, not a scan.
        Some(email) => state.member_by_email(email).into_iter().collect(),
        None => state.members_by_name().to_vec(),
    };
    let matching: Vec<usize> = matching
        .into_iter()
        .filter(|&u| {
            roles.as_ref().is_none_or(|roles| {
                state
                    .membership_of(u)
                    .is_some_and(|m| roles.contains(&m.role))
            })
        })
        .filter(|&u| match team_filter {
            None => true,
            Some((negate, team)) => {
                let in_team = team.is_some_and(|t| state.pair(t, u).is_some());
                in_team != negate
            }
        })
        .collect();

    let total = matching.len();
    let (start, end) = window(total, first, after, last, before);
    let edges: Vec<Value> = (start..end)
        .map(|i| {
            let node = member_node(state, caller, matching[i], teams_first);
            json!({ "cursor": encode_cursor(i + 1), "node": node })
        })
        .collect();
    Ok(json!({
            "data": {
                "organization": {
                    "uuid": state.org.uuid,
                    "members": {
                        "count": total,
                        "pageInfo": {
                            "hasNextPage": end < total,
                            "hasPreviousPage": start > 0,
                            "startCursor": cursor_or_null(start + 1, end > start),
                            "endCursor": cursor_or_null(end, end > start),
                        },
                        "edges": edges,
                    }
                }
            }
    }))
}

/// One `OrganizationMember` node.
fn member_node(state: &State, caller: Caller, user: usize, teams_first: Option<usize>) -> Value {
    let u = &state.users[user];
    let Some(m) = &u.membership else {
        return Value::Null;
    };
    let teams = match teams_first {
        Some(first) => teams_connection(state, caller, user, Some(first), None),
        None => Value::Null,
    };
    json!({
        "id": m.graphql_id,
        "uuid": m.uuid,
        "role": m.role.as_graphql(),
        "createdAt": graphql_time(m.created_at),
        "lastSeenAt": m.last_seen_at.map(graphql_time),
        // `authorizations(first: 1)`: the latest sign-in only (literal arguments are not
        // evaluated; the adapter asks for exactly one).
        "sso": {
            "mode": m.sso_mode.as_graphql(),
            "authorizations": sso_authorizations(m.last_sso_sign_in_at),
        },
        "security": {
            "twoFactorEnabled": m.two_factor,
            "passwordProtected": m.password_protected,
        },
        "user": {
            "id": u.graphql_id,
            "uuid": u.uuid,
            "name": u.name,
            "email": u.email,
            "avatar": { "url": u.avatar_url },
            "bot": false,
            "machineUser": false,
        },
        "teams": teams,
    })
}

/// `OrganizationMemberSSO.authorizations`: the member's latest authorization, if any.
fn sso_authorizations(last: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    let edges: Vec<Value> = last
        .map(|at| json!({ "node": { "createdAt": graphql_time(at), "state": "VERIFIED" } }))
        .into_iter()
        .collect();
    json!({ "count": edges.len(), "edges": edges })
}

/// `OrganizationMember.teams(first:, after:)` with the fields both operations select, in
/// membership order (oldest first). Secret teams the caller cannot see are left out.
fn teams_connection(
    state: &State,
    caller: Caller,
    user: usize,
    first: Option<usize>,
    after: Option<usize>,
) -> Value {
    let visible: Vec<usize> = state
        .user_membership_ids(user)
        .iter()
        .copied()
        .filter(|&id| {
            state
                .membership(id)
                .is_some_and(|tm| state.can_see_team(caller.user, tm.team))
        })
        .collect();
    let total = visible.len();
    let (start, end) = window(total, first, after, None, None);
    let edges: Vec<Value> = visible[start..end]
        .iter()
        .filter_map(|&id| state.membership(id))
        .map(|tm| {
            let team = &state.teams[tm.team];
            json!({
                "node": {
                    "role": tm.role.as_graphql(),
                    "createdAt": graphql_time(tm.created_at),
                    "team": { "uuid": team.uuid, "slug": team.slug, "name": team.name },
                }
            })
        })
        .collect();
    json!({
        "count": total,
        "pageInfo": {
            "hasNextPage": end < total,
            "endCursor": cursor_or_null(end, end > start),
        },
        "edges": edges,
    })
}

// ---- UnidirMemberTeams -------------------------------------------------------------------------

fn member_teams(state: &State, caller: Caller, vars: &Vars<'_>) -> Result<Value, String> {
    let slug = vars.required_string("slug", "ID!")?;
    let first = vars
        .page_size("first", "Int!")?
        .ok_or_else(|| invalid("first", "Int!"))?;
    let after = vars.cursor("after")?;
    // Slug form: "<org slug>/<organization-membership uuid>".
    let user = slug
        .split_once('/')
        .filter(|(org, _)| *org == state.org.slug && state.is_member(caller.user))
        .and_then(|(_, uuid)| state.member_by_membership_uuid(uuid));
    let Some(user) = user else {
        return Ok(json!({
            "data": { "organizationMember": null },
            "errors": [{ "message": "No organization member found" }],
        }));
    };
    let teams = teams_connection(state, caller, user, Some(first), after);
    Ok(json!({ "data": { "organizationMember": { "teams": teams } } }))
}

// ---- UnidirOrgSize ---------------------------------------------------------------------------

/// `organization { members(first: 1) { count } }`.
fn org_size(state: &State, caller: Caller, vars: &Vars<'_>) -> Result<Value, String> {
    let slug = vars.required_string("slug", "ID!")?;
    if slug != state.org.slug || !state.is_member(caller.user) {
        return Ok(json!({ "data": { "organization": null } }));
    }
    let count = state.members_by_name().len();
    Ok(
        json!({ "data": { "organization": { "uuid": state.org.uuid, "members": { "count": count } } } }),
    )
}

// ---- UnidirTeamSizes -------------------------------------------------------------------------

/// `organization { teams(first:, after:, order: NAME) }` with each team's member count; secret
/// teams the caller cannot see are left out, as REST leaves them out.
fn team_sizes(state: &State, caller: Caller, vars: &Vars<'_>) -> Result<Value, String> {
    let slug = vars.required_string("slug", "ID!")?;
    let first = vars
        .page_size("first", "Int!")?
        .ok_or_else(|| invalid("first", "Int!"))?;
    let after = vars.cursor("after")?;
    if slug != state.org.slug || !state.is_member(caller.user) {
        return Ok(json!({ "data": { "organization": null } }));
    }
    let visible: Vec<usize> = state
        .teams_by_name()
        .iter()
        .copied()
        .filter(|&team| state.can_see_team(caller.user, team))
        .collect();
    let total = visible.len();
    let (start, end) = window(total, Some(first), after, None, None);
    let edges: Vec<Value> = visible[start..end]
        .iter()
        .map(|&team| {
            let t = &state.teams[team];
            json!({
                "node": {
                    "uuid": t.uuid,
                    "slug": t.slug,
                    "name": t.name,
                    "members": { "count": state.team_membership_ids(team).len() },
                }
            })
        })
        .collect();
    Ok(json!({
        "data": {
            "organization": {
                "teams": {
                    "pageInfo": {
                        "hasNextPage": end < total,
                        "endCursor": cursor_or_null(end, end > start),
                    },
                    "edges": edges,
                }
            }
        }
    }))
}

// ---- UnidirTeamMembers -------------------------------------------------------------------------

/// `team(slug: "<org>/<team>") { members(first:, after:) }`, oldest membership first. A team
/// the caller cannot see is `null` with an error, as for a slug that does not exist.
fn team_members(state: &State, caller: Caller, vars: &Vars<'_>) -> Result<Value, String> {
    let slug = vars.required_string("slug", "ID!")?;
    let first = vars
        .page_size("first", "Int!")?
        .ok_or_else(|| invalid("first", "Int!"))?;
    let after = vars.cursor("after")?;
    let team = slug
        .split_once('/')
        .filter(|(org, _)| *org == state.org.slug && state.is_member(caller.user))
        .and_then(|(_, team)| state.team_by_slug(team))
        .filter(|&team| state.can_see_team(caller.user, team));
    let Some(team) = team else {
        return Ok(json!({
            "data": { "team": null },
            "errors": [{ "message": "No team found" }],
        }));
    };
    let ids = state.team_membership_ids(team);
    let total = ids.len();
    let (start, end) = window(total, Some(first), after, None, None);
    let edges: Vec<Value> = ids[start..end]
        .iter()
        .filter_map(|&id| state.membership(id))
        .map(|tm| {
            let u = &state.users[tm.user];
            json!({
                "node": {
                    "role": tm.role.as_graphql(),
                    "createdAt": graphql_time(tm.created_at),
                    "user": { "id": u.graphql_id, "uuid": u.uuid, "name": u.name },
                }
            })
        })
        .collect();
    Ok(json!({
        "data": {
            "team": {
                "members": {
                    "count": total,
                    "pageInfo": {
                        "hasNextPage": end < total,
                        "endCursor": cursor_or_null(end, end > start),
                    },
                    "edges": edges,
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_windows() {
        assert_eq!(window(5, Some(2), None, None, None), (0, 2));
        assert_eq!(window(5, Some(2), Some(2), None, None), (2, 4));
        assert_eq!(window(5, Some(2), Some(4), None, None), (4, 5));
        assert_eq!(window(5, Some(2), Some(9), None, None), (5, 5));
        assert_eq!(window(5, None, None, Some(2), None), (3, 5));
        assert_eq!(window(5, None, None, Some(2), Some(4)), (1, 3));
        assert_eq!(window(5, None, None, Some(2), Some(2)), (0, 1));
        assert_eq!(window(5, None, None, Some(2), Some(1)), (0, 0));
    }

    fn document(query: &str) -> Valid<ExecutableDocument> {
        crate::schema::GqlSchema::load(&[])
            .expect("schema")
            .validate(Some(query))
            .expect("valid")
    }

    fn selection(doc: &Valid<ExecutableDocument>) -> &SelectionSet {
        &doc.operations
            .get(None)
            .expect("one operation")
            .selection_set
    }

    #[test]
    fn projection_keeps_exactly_the_selected_fields() {
        let full = json!({ "viewer": {
            "id": "V1",
            "user": { "id": "U1", "name": "Ann", "email": "a@acme.example", "bot": false, "machineUser": false },
        } });
        let doc = document(
            "{ viewer { user { name who: email ...on User { bot } ...F } } } fragment F on User { __typename name }",
        );
        assert_eq!(
            project(&doc, &full, selection(&doc)).expect("projects"),
            json!({ "viewer": { "user": { "name": "Ann", "who": "a@acme.example", "bot": false, "__typename": "User" } } })
        );
        // A field selected twice with different sub-selections is merged.
        let doc = document("{ viewer { user { name } } viewer { id user { bot } } }");
        assert_eq!(
            project(&doc, &full, selection(&doc)).expect("projects"),
            json!({ "viewer": { "user": { "name": "Ann", "bot": false }, "id": "V1" } })
        );
        // Lists and nulls pass through the selection.
        let list = json!({ "viewer": { "user": [{ "name": "A", "bot": true }, null] } });
        let doc = document("{ viewer { user { name } } }");
        assert_eq!(
            project(&doc, &list, selection(&doc)).expect("projects"),
            json!({ "viewer": { "user": [{ "name": "A" }, null] } })
        );
        // A valid field the simulator does not build is named.
        let doc = document("{ viewer { user { hasPassword } } }");
        assert_eq!(
            project(&doc, &full, selection(&doc)),
            Err("User.hasPassword".to_owned())
        );
    }

    #[test]
    fn variables_as_string_and_null() {
        let req = parse_request(
            br#"{"query":"query UnidirMemberTeams { x }","variables":"{\"first\": 2}"}"#,
        )
        .expect("parses");
        assert_eq!(req.query.as_deref(), Some("query UnidirMemberTeams { x }"));
        assert_eq!(req.operation, None);
        assert_eq!(req.variables.get("first"), Some(&json!(2)));
        assert!(parse_request(b"[1]").is_err());
        assert!(parse_request(br#"{"variables": 3}"#).is_err());
    }
}
