//! Reading users: the GraphQL/REST choice for `list_users` and `get_user`, and the filters
//! both paths share.

use unidir_core::{
    Error, ErrorKind, GetOptions, ListQuery, Page, Resource, Result, User, UserStatus,
};

use super::paging::Position;
use super::{Buildkite, binding, tag};
use crate::api::{check_id, invalid};
use crate::wire::RestMember;
use crate::{map, roles};

impl Buildkite {
    /// `list_users`: REST or GraphQL by the cursor's kind, or by [`Buildkite::use_graphql`]
    /// on a first page.
    pub(super) async fn users_page(&self, query: &ListQuery) -> Result<Page<User>> {
        const OP: &str = "list_users";
        check_role_filter(
            OP,
            query,
            &[
                roles::ORG_ADMIN,
                roles::ORG_MEMBER,
                roles::TEAM_MAINTAINER,
                roles::TEAM_MEMBER,
            ],
        )?;
        let binding = binding(Resource::Users, query, &[]);
        if query
            .filters
            .status
            .as_ref()
            .is_some_and(|s| *s != UserStatus::Active)
        {
            // Every Buildkite organization member is active.
            return Ok(Page::complete(Vec::new()));
        }
        let position = match &query.cursor {
            Some(cursor) => Some(binding.decode::<Position>(cursor).map_err(tag(OP))?),
            None => None,
        };
        match position {
            Some(Position::Rest(_)) => self.users_rest(query, &binding).await,
            Some(Position::Gql(at)) => {
                let at = at.resume().map_err(tag(OP))?;
                self.users_graphql(query, &binding, at.a, at.b)
                    .await
                    .map_err(refused_cursor)
            }
            Some(Position::Offset(_)) => Err(tag(OP)(unidir_http::paging::not_a_page())),
            None if self.use_graphql(OP).await? => {
                match self.users_graphql(query, &binding, None, None).await {
                    Err(e) if self.falls_back(&e) => self.users_rest(query, &binding).await,
                    other => other,
                }
            }
            None => self.users_rest(query, &binding).await,
        }
    }

    /// `get_user`: the member row, then the GraphQL user found by its e-mail when GraphQL is
    /// in use, else the REST join.
    pub(super) async fn user_by_id(&self, id: &str, options: &GetOptions) -> Result<User> {
        const OP: &str = "get_user";
        check_id(OP, "user", id)?;
        let keep = options.include_remote_data;
        let rest = self
            .api
            .get(OP, &self.org_path(&["members", id]), &[])
            .await?;
        let member: RestMember = map::decode(OP, "member", &rest.body)?;
        if self.use_graphql(OP).await?
            && let Some(email) = member.email.clone()
        {
            let query = ListQuery::new()
                .with_email(email)
                .with_limit(1)
                .with_remote_data(keep);
            let binding = binding(Resource::Users, &query, &[]);
            match self.users_graphql(&query, &binding, None, None).await {
                Ok(page) => {
                    if let Some(user) = page.result.into_iter().find(|u| u.id == id) {
                        return Ok(user);
                    }
                    // The e-mail index disagreed with the member row: fall through to REST.
                }
                Err(e) if self.falls_back(&e) => {}
                Err(e) => return Err(e.with_operation(OP)),
            }
        }
        self.user_rest(id, member, keep.then_some(rest.body)).await
    }
}

/// Keeps users holding the team role of a `team:*` role filter (GraphQL and REST have no
/// server-side filter for it). A page may then hold fewer than `limit` users; the cursor
/// still continues the walk, so nobody is skipped.
pub(super) fn retain_team_role(users: &mut Vec<User>, query: &ListQuery) {
    if let Some(role) = query.filters.role_id.as_deref()
        && role.starts_with("team:")
    {
        users.retain(|u| u.groups.iter().any(|g| g.role_id.as_deref() == Some(role)));
    }
}

/// Buildkite refusing a GraphQL position that came inside the caller's unified cursor is the
/// caller's invalid cursor (forged, or from a walk Buildkite no longer honours), not an
/// upstream fault worth retrying.
fn refused_cursor(error: Error) -> Error {
    if error.kind() == ErrorKind::Upstream
        && error.message().to_ascii_lowercase().contains("cursor")
    {
        tag("list_users")(Error::invalid_cursor(
            "Buildkite refused the position this cursor carries (forged, or from an older walk)",
        ))
    } else {
        error
    }
}

pub(super) fn check_role_filter(
    operation: &'static str,
    query: &ListQuery,
    allowed: &[&str],
) -> Result<()> {
    match query.filters.role_id.as_deref() {
        Some(role) if !allowed.contains(&role) => Err(invalid(
            operation,
            format!(
                "unknown role id \"{}\"; expected one of {allowed:?}",
                unidir_core::text::bounded(role, 64)
            ),
        )),
        _ => Ok(()),
    }
}
