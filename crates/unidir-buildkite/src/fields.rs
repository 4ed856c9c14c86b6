//! Field selection in GraphQL documents: optional user fields ([`UserField`]) cost another
//! nested connection per member, so the documents only ask for them when the read selects
//! them (`ListQuery::with_field`).
//!
//! A selectable field sits on a line of its own, marked with a trailing
//! `# with <field name>` comment, e.g.
//! `authorizations(first: 1) { edges { node { createdAt } } } # with last_sign_in_at`; for a
//! read that does not select it the line is removed, so the document sent (and priced) is
//! exactly the cheap one. `tests/graphql_schema.rs` checks that every document validates
//! against Buildkite's schema both with and without each marked line.
//!
//! `last_sign_in_at` is the member's latest SSO authorization, `sso.authorizations(first: 1)`.
//! The connection takes no `order` argument; Buildkite's own "last SSO sign-in" example asks
//! for `first: 1`, so it lists the newest first. The mapping still takes the latest
//! `createdAt` of whatever edges come back, so a server that lists more, or in another order
//! within the page, cannot make it older.

use std::borrow::Cow;

use unidir_core::{ListQuery, UserField};
use unidir_http::{Report, ReportKind};

use crate::directory::Buildkite;

/// The marker of a line that belongs to an optional field.
const MARK: &str = "# with ";

/// `base` without the lines of the optional fields `query` does not select (borrowed when
/// nothing is removed).
pub(crate) fn document<'a>(base: &'a str, query: &ListQuery) -> Cow<'a, str> {
    let unselected = |line: &str| {
        line.split_once(MARK).is_some_and(|(_, name)| {
            UserField::parse(name.trim()).is_none_or(|field| !query.wants(field))
        })
    };
    if !base.lines().any(unselected) {
        return Cow::Borrowed(base);
    }
    let mut out = String::with_capacity(base.len());
    for line in base.lines().filter(|line| !unselected(line)) {
        out.push_str(line);
        out.push('\n');
    }
    Cow::Owned(out)
}

impl Buildkite {
    /// Says so when the read selects a field only GraphQL has and this directory reads over
    /// REST (no `graphql` scope, or GraphQL disabled): the field stays `null` for every user.
    pub(crate) async fn note_unreadable_fields(&self, operation: &'static str, query: &ListQuery) {
        if query.fields.is_empty() || self.use_graphql(operation).await.unwrap_or(true) {
            return;
        }
        for field in &query.fields {
            self.api.report(Report::new(
                operation,
                ReportKind::FieldsUnknown,
                0,
                format!(
                    "{field} was asked for, but only Buildkite's GraphQL API has it and this read uses REST: it is null for every user"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBERS: &str = include_str!("graphql/members.graphql");

    #[test]
    fn the_sign_in_line_is_sent_only_when_selected() {
        let cheap = document(MEMBERS, &ListQuery::new());
        assert!(!cheap.contains("authorizations"), "{cheap}");
        assert!(cheap.contains("sso {"), "the SSO mode stays");
        let selected = document(
            MEMBERS,
            &ListQuery::new().with_field(UserField::LastSignInAt),
        );
        assert!(matches!(selected, Cow::Borrowed(_)), "nothing removed");
        assert!(selected.contains("authorizations(first: 1)"));
    }
}
