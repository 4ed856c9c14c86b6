//! Schema drift: optional GraphQL fields that a live Buildkite server may not know yet.
//!
//! Buildkite's published schema runs ahead of some live servers (`User.machineUser` is in the
//! docs' SDL but not in every current copy). A query that selects an unknown field fails as a
//! whole, so such fields are marked in the `.graphql` documents with a trailing `# optional`
//! comment on the field's own line, e.g. `machineUser # optional`. When Buildkite rejects a
//! marked field with graphql-ruby's validation error (`"Field 'machineUser' doesn't exist on
//! type 'User'"`, `extensions.code` `"undefinedField"`), the client drops that field for the
//! rest of its life and asks again; the mapping code treats the field as absent.
//!
//! Only fields listed in [`OPTIONAL_FIELDS`] can be dropped: an unknown-field error for any
//! other field stays an error. A marked line holds exactly one field name, so removing it
//! leaves the selection set well-formed; `tests/graphql_schema.rs` checks that every document
//! minus each optional field still validates against Buildkite's schema.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

/// A field that queries may select only while the server knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OptionalField {
    /// The GraphQL type the field is selected on.
    pub(crate) type_name: &'static str,
    /// The field name, as written in the document.
    pub(crate) field: &'static str,
}

/// Every optional field the documents may mark. At most 64 (one bit each).
pub(crate) const OPTIONAL_FIELDS: &[OptionalField] = &[OptionalField {
    type_name: "User",
    field: "machineUser",
}];

const _: () = assert!(OPTIONAL_FIELDS.len() <= 64);

/// The optional fields this client has stopped asking for. Shared by every request of one
/// client; once dropped, a field stays dropped.
#[derive(Debug, Default)]
pub(crate) struct OptionalFields {
    /// Bit `i` set: `OPTIONAL_FIELDS[i]` is dropped.
    dropped: AtomicU64,
}

impl OptionalFields {
    /// Stops asking for `field`; `true` if it was asked for until now. Names outside
    /// [`OPTIONAL_FIELDS`] are ignored.
    pub(crate) fn drop_field(&self, field: &str) -> bool {
        let Some(i) = index_of(field) else {
            return false;
        };
        self.dropped.fetch_or(1 << i, Ordering::Relaxed) & (1 << i) == 0
    }

    /// The names of the dropped fields.
    pub(crate) fn dropped(&self) -> Vec<&'static str> {
        let bits = self.dropped.load(Ordering::Relaxed);
        OPTIONAL_FIELDS
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, f)| f.field)
            .collect()
    }

    /// `base` without the marked lines of dropped fields (borrowed when nothing is dropped).
    pub(crate) fn document<'a>(&self, base: &'a str) -> Cow<'a, str> {
        if self.dropped.load(Ordering::Relaxed) == 0 {
            return Cow::Borrowed(base);
        }
        without(base, &self.dropped())
    }

    /// Drops the optional fields `body` says the server does not know (see
    /// [`undefined_optional_fields`]); `true` when the caller should send
    /// [`OptionalFields::document`] again. Each `true` removes at least one marked field from
    /// the next document, so a caller that retries on `true` sends at most
    /// `OPTIONAL_FIELDS.len() + 1` requests.
    pub(crate) fn retry_without(&self, sent: &str, body: &Value) -> bool {
        let fields = undefined_optional_fields(sent, body);
        for field in &fields {
            if self.drop_field(field) {
                let type_name = OPTIONAL_FIELDS
                    .iter()
                    .find(|f| f.field == *field)
                    .map_or("", |f| f.type_name);
                tracing::warn!(
                    r#type = type_name,
                    field,
                    "Buildkite's GraphQL schema lacks this optional field; asking without it from now on"
                );
            }
        }
        !fields.is_empty()
    }
}

fn index_of(field: &str) -> Option<usize> {
    OPTIONAL_FIELDS.iter().position(|f| f.field == field)
}

/// The field name of a line marked `<field> # optional[...]`, if the line is one.
pub(crate) fn marked_field(line: &str) -> Option<&str> {
    let (code, comment) = line.split_once('#')?;
    let comment = comment.trim();
    let marked = comment == "optional"
        || comment.starts_with("optional:")
        || comment.starts_with("optional ");
    if !marked {
        return None;
    }
    let name = code.trim();
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')).then_some(name)
}

/// The optional fields a document marks, in document order.
pub(crate) fn marked_fields(document: &str) -> Vec<&str> {
    document.lines().filter_map(marked_field).collect()
}

/// `base` without the marked lines of `fields` (line endings of the other lines kept).
pub(crate) fn without<'a>(base: &'a str, fields: &[&str]) -> Cow<'a, str> {
    let drop = |line: &str| marked_field(line).is_some_and(|f| fields.contains(&f));
    if !base.lines().any(drop) {
        return Cow::Borrowed(base);
    }
    Cow::Owned(
        base.split_inclusive('\n')
            .filter(|line| !drop(line))
            .collect(),
    )
}

/// The optional fields to drop when `body` (a GraphQL answer, or its `errors` array) holds
/// only unknown-field validation errors for optional fields that `sent` (the document of that
/// request) selected. Empty for anything else, so required fields, other errors and errors
/// naming a field the request did not select stay errors.
pub(crate) fn undefined_optional_fields(sent: &str, body: &Value) -> Vec<&'static str> {
    let errors = match body {
        Value::Array(errors) => errors,
        _ => match body.get("errors") {
            Some(Value::Array(errors)) => errors,
            _ => return Vec::new(),
        },
    };
    let selected = marked_fields(sent);
    let mut fields: Vec<&'static str> = Vec::new();
    for error in errors {
        let Some(field) = undefined_field(error)
            .filter(|f| selected.contains(&f.field))
            .map(|f| f.field)
        else {
            return Vec::new();
        };
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    fields
}

/// The optional field an error says is undefined, read from graphql-ruby's
/// `extensions {code: "undefinedField", typeName, fieldName}` or, without extensions, from its
/// message `Field 'F' doesn't exist on type 'T'` (a `(Did you mean …?)` suffix is allowed).
fn undefined_field(error: &Value) -> Option<OptionalField> {
    let extensions = error.get("extensions").filter(|e| !e.is_null());
    let code = extensions
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str);
    let message = error.get("message").and_then(Value::as_str);
    let (type_name, field) = match code {
        Some("undefinedField") => {
            let ext = extensions?;
            match (
                ext.get("typeName").and_then(Value::as_str),
                ext.get("fieldName").and_then(Value::as_str),
            ) {
                (Some(t), Some(f)) => (t, f),
                _ => parse_message(message?)?,
            }
        }
        Some(_) => return None,
        None => parse_message(message?)?,
    };
    OPTIONAL_FIELDS
        .iter()
        .find(|f| f.type_name == type_name && f.field == field)
        .copied()
}

/// `(type, field)` from `Field 'F' doesn't exist on type 'T'[ suffix]`.
fn parse_message(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("Field '")?;
    let (field, rest) = rest.split_once("' doesn't exist on type '")?;
    let (type_name, _) = rest.split_once('\'')?;
    Some((type_name, field))
}

#[cfg(test)]
mod tests {
    // No `crate::` paths here: `tests/graphql_schema.rs` compiles this file as its own module.
    use serde_json::json;

    use super::*;

    const MEMBERS: &str = include_str!("graphql/members.graphql");
    const MEMBER_TEAMS: &str = include_str!("graphql/member_teams.graphql");

    fn ruby_error(field: &str, type_name: &str) -> Value {
        json!({
            "message": format!("Field '{field}' doesn't exist on type '{type_name}'"),
            "locations": [{ "line": 19, "column": 13 }],
            "path": ["query UnidirMembers", "organization", "members", "edges", "node", "user", field],
            "extensions": { "code": "undefinedField", "typeName": type_name, "fieldName": field },
        })
    }

    #[test]
    fn documents_mark_exactly_the_registered_fields() {
        assert_eq!(marked_fields(MEMBERS), vec!["machineUser"]);
        assert!(marked_fields(MEMBER_TEAMS).is_empty());
        for field in OPTIONAL_FIELDS {
            assert!(
                marked_fields(MEMBERS).contains(&field.field),
                "{} is registered but no document marks it",
                field.field
            );
        }
    }

    #[test]
    fn marker_lines() {
        assert_eq!(
            marked_field("    machineUser # optional"),
            Some("machineUser")
        );
        assert_eq!(
            marked_field("x #optional: newer than some schema copies"),
            Some("x")
        );
        assert_eq!(marked_field("machineUser"), None);
        assert_eq!(marked_field("machineUser # required"), None);
        assert_eq!(marked_field("bot machineUser # optional"), None);
        assert_eq!(marked_field("avatar { url } # optional"), None);
        assert_eq!(marked_field("1x # optional"), None);
        assert_eq!(marked_field("# optional"), None);
    }

    #[test]
    fn nothing_dropped_borrows_the_document() {
        let fields = OptionalFields::default();
        assert!(matches!(fields.document(MEMBERS), Cow::Borrowed(d) if d == MEMBERS));
        assert!(fields.dropped().is_empty());
    }

    #[test]
    fn dropping_removes_only_the_marked_line_for_good() {
        let fields = OptionalFields::default();
        assert!(fields.drop_field("machineUser"));
        assert!(!fields.drop_field("machineUser"), "second drop is a no-op");
        assert!(fields.dropped().contains(&"machineUser"));
        let doc = fields.document(MEMBERS);
        assert!(!doc.contains("machineUser"), "{doc}");
        assert_eq!(doc.lines().count() + 1, MEMBERS.lines().count());
        assert!(doc.contains(" bot\n"), "{doc}");
        // Other documents are untouched and still borrowed.
        assert!(matches!(fields.document(MEMBER_TEAMS), Cow::Borrowed(_)));
        // Only registered names can be dropped.
        assert!(!fields.drop_field("email"));
        assert_eq!(fields.dropped(), vec!["machineUser"]);
    }

    #[test]
    fn without_keeps_crlf_and_other_marked_lines() {
        let doc = "query Q {\r\n  a\r\n  b # optional\r\n  c # optional\r\n}\r\n";
        assert_eq!(
            without(doc, &["b"]),
            "query Q {\r\n  a\r\n  c # optional\r\n}\r\n"
        );
        assert!(matches!(without(doc, &["zz"]), Cow::Borrowed(_)));
    }

    #[test]
    fn recognises_graphql_ruby_unknown_field_errors() {
        let body = json!({ "errors": [ruby_error("machineUser", "User")] });
        assert_eq!(
            undefined_optional_fields(MEMBERS, &body),
            vec!["machineUser"]
        );
        // The bare errors array works too.
        assert_eq!(
            undefined_optional_fields(MEMBERS, &body["errors"]),
            vec!["machineUser"]
        );
        // Message only (older graphql-ruby, no extensions), with a suggestion suffix.
        let bare = json!({ "errors": [{
            "message": "Field 'machineUser' doesn't exist on type 'User' (Did you mean `name`?)"
        }] });
        assert_eq!(
            undefined_optional_fields(MEMBERS, &bare),
            vec!["machineUser"]
        );
        // Extensions without the names fall back to the message.
        let partial = json!({ "errors": [{
            "message": "Field 'machineUser' doesn't exist on type 'User'",
            "extensions": { "code": "undefinedField" }
        }] });
        assert_eq!(
            undefined_optional_fields(MEMBERS, &partial),
            vec!["machineUser"]
        );
        // graphql-ruby reports each occurrence; the field is named once.
        let twice = json!({ "errors": [ruby_error("machineUser", "User"), ruby_error("machineUser", "User")] });
        assert_eq!(
            undefined_optional_fields(MEMBERS, &twice),
            vec!["machineUser"]
        );
    }

    #[test]
    fn other_errors_stay_errors() {
        let fields = OptionalFields::default();
        let cases = [
            // A required field.
            json!({ "errors": [ruby_error("email", "User")] }),
            // The right field name on another type.
            json!({ "errors": [ruby_error("machineUser", "Team")] }),
            // Another error code, even with the same message.
            json!({ "errors": [{
                "message": "Field 'machineUser' doesn't exist on type 'User'",
                "extensions": { "code": "argumentLiteralsIncompatible" }
            }] }),
            // An optional field mixed with another error.
            json!({ "errors": [
                ruby_error("machineUser", "User"),
                { "message": "Query has complexity of 251503, which exceeds max complexity of 50000" }
            ] }),
            json!({ "errors": [] }),
            json!({ "errors": "Field 'machineUser' doesn't exist on type 'User'" }),
            json!({ "data": { "organization": null } }),
            json!({ "errors": [{ "message": "Field 'machineUser' exists on type 'User'" }] }),
            json!({ "errors": [{ "message": 7 }] }),
            json!(null),
        ];
        for body in cases {
            assert!(
                undefined_optional_fields(MEMBERS, &body).is_empty(),
                "{body}"
            );
            assert!(!fields.retry_without(MEMBERS, &body), "{body}");
        }
        assert!(fields.dropped().is_empty());
    }

    #[test]
    fn a_field_the_request_did_not_select_is_not_retried() {
        let fields = OptionalFields::default();
        let body = json!({ "errors": [ruby_error("machineUser", "User")] });
        assert!(undefined_optional_fields(MEMBER_TEAMS, &body).is_empty());
        assert!(!fields.retry_without(MEMBER_TEAMS, &body));
        assert!(!fields.dropped().contains(&"machineUser"));
    }

    #[test]
    fn retry_loop_terminates() {
        // A server that rejects machineUser however it is asked: the second document lacks the
        // field, so the same error no longer triggers a retry.
        let fields = OptionalFields::default();
        let body = json!({ "errors": [ruby_error("machineUser", "User")] });
        let mut sent = 0;
        loop {
            sent += 1;
            let doc = fields.document(MEMBERS);
            if !fields.retry_without(&doc, &body) {
                break;
            }
        }
        assert_eq!(sent, 2);
        assert!(fields.dropped().contains(&"machineUser"));
    }

    #[test]
    fn dropping_is_shared_across_threads() {
        let fields = std::sync::Arc::new(OptionalFields::default());
        let body = json!({ "errors": [ruby_error("machineUser", "User")] });
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let fields = std::sync::Arc::clone(&fields);
                let body = body.clone();
                std::thread::spawn(move || fields.retry_without(MEMBERS, &body))
            })
            .collect();
        for handle in handles {
            // Every request that sent the field retries, whoever dropped it first.
            assert!(handle.join().expect("thread"));
        }
        assert_eq!(fields.dropped(), vec!["machineUser"]);
    }
}
