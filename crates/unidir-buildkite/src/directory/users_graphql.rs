//! Users over GraphQL: `UnidirMembers` pages (members with role, join date, 2FA, SSO mode and
//! their first teams) and `UnidirMemberTeams` for a member with more teams than the nested
//! page.

use std::collections::HashSet;

use serde_json::{Value, json};
use unidir_core::{
    CursorBinding, Error, ErrorKind, GroupAssignment, ListQuery, Page, Result, User, WalkBudget,
};

use unidir_http::paging::{self, RelayPosition, RelayWalk};

use super::paging::{MAX_PAGE, Position};
use super::users::retain_team_role;
use super::{Buildkite, tag};
use crate::api::{check_id, contract};
use crate::wire::{GqlMember, GqlTeamMembership, MemberTeams, OrgMembers, PageInfo, RestTeam};
use crate::{PROVIDER, map, roles};

pub(crate) const MEMBERS_QUERY: &str = include_str!("../graphql/members.graphql");
const MEMBER_TEAMS_QUERY: &str = include_str!("../graphql/member_teams.graphql");

/// Page sizes of one `UnidirMembers` request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NestedShape {
    /// Members per page (`None`: the query's limit).
    pub(crate) size: Option<u32>,
    /// Teams nested per member; a member with more gets `UnidirMemberTeams` pages.
    pub(crate) teams_first: u32,
}

impl Buildkite {
    /// All team memberships of a GraphQL member, following the nested connection past its
    /// first page. `raw`, the member's node when the caller keeps `remote_data`, gets the
    /// complete list.
    async fn member_teams(
        &self,
        operation: &'static str,
        member: &mut GqlMember,
        raw: Option<&mut Value>,
    ) -> Result<Vec<GroupAssignment>> {
        let Some(mut teams) = member.teams.take() else {
            return Ok(Vec::new());
        };
        let mut info = self.checked_page_info(
            operation,
            teams.page_info.take(),
            "a member's team list has no pageInfo",
        )?;
        if !info.has_next_page && raw.is_none() {
            // The usual case: one page, nothing to keep raw.
            let nodes = teams.nodes();
            self.walk_limits
                .start()
                .add_items(nodes.len())
                .map_err(tag(operation))?;
            return Ok(team_groups(operation, nodes));
        }
        let mut nodes: Vec<Option<GqlTeamMembership>> = teams.nodes().collect();
        // Later pages' edges, raw, for the node's `remote_data`.
        let mut raw_more: Vec<Value> = Vec::new();
        let membership = member.uuid.clone().unwrap_or_default();
        let mut walk = RelayWalk::new();
        // The nested list is a walk of its own, with the same bounds as any other.
        let mut budget: WalkBudget = self.walk_limits.start();
        budget.add_items(nodes.len()).map_err(tag(operation))?;
        while let Some(after) = walk
            .advance(
                "a member's team list",
                info.has_next_page,
                info.end_cursor.as_deref(),
            )
            .map_err(tag(operation))?
        {
            budget.before_page().map_err(tag(operation))?;
            // Rare (a member in more teams than the nested page): read raw, for both uses.
            let data: MemberTeams<Value> = self
                .api
                .graphql(
                    operation,
                    MEMBER_TEAMS_QUERY,
                    "UnidirMemberTeams",
                    json!({ "slug": format!("{}/{}", self.api.org, membership), "first": self.nested_page_size, "after": after }),
                )
                .await?;
            let mut conn = data
                .organization_member
                .and_then(|m| m.teams)
                .ok_or_else(|| contract(operation, "organizationMember.teams is missing"))?;
            let more: Vec<Value> = conn
                .edges
                .take()
                .unwrap_or_default()
                .into_iter()
                .map(|e| json!({ "node": e.node }))
                .collect();
            budget.add_items(more.len()).map_err(tag(operation))?;
            for edge in &more {
                match edge.get("node").filter(|n| !n.is_null()) {
                    Some(node) => {
                        nodes.push(Some(map::decode(operation, "team membership", node)?))
                    }
                    None => nodes.push(None),
                }
            }
            if raw.is_some() {
                raw_more.extend(more);
            }
            info = self.checked_page_info(
                operation,
                conn.page_info.take(),
                "a member's team list has no pageInfo",
            )?;
        }
        let groups = team_groups(operation, nodes.into_iter());
        if let Some(teams) = raw.and_then(|node| node.get_mut("teams")) {
            if let Some(Value::Array(edges)) = teams.get_mut("edges") {
                edges.extend(raw_more);
            }
            teams["pageInfo"] = json!({ "hasNextPage": false, "endCursor": info.end_cursor });
        }
        Ok(groups)
    }

    /// Users through GraphQL (`UnidirMembers`).
    pub(super) async fn users_graphql(
        &self,
        query: &ListQuery,
        binding: &CursorBinding,
        after: Option<String>,
        before: Option<String>,
    ) -> Result<Page<User>> {
        let shape = NestedShape {
            size: None,
            teams_first: self.nested_page_size,
        };
        self.users_graphql_shaped(query, binding, after, before, shape)
            .await
    }

    /// [`Self::users_graphql`] with the page size and nested team page chosen by the caller
    /// (a full read on a budget that allows it asks for pages of 500).
    pub(crate) async fn users_graphql_shaped(
        &self,
        query: &ListQuery,
        binding: &CursorBinding,
        after: Option<String>,
        before: Option<String>,
        shape: NestedShape,
    ) -> Result<Page<User>> {
        const OP: &str = "list_users";
        // A primary e-mail names at most one member (Buildkite's own clients ask for one).
        let size = match (query.filters.email.as_ref(), shape.size) {
            (Some(_), _) => 1,
            (None, Some(size)) => size,
            (None, None) => query.page_size(MAX_PAGE, MAX_PAGE).map_err(tag(OP))?,
        };
        let role = match query.filters.role_id.as_deref() {
            Some(roles::ORG_ADMIN) => json!(["ADMIN"]),
            Some(roles::ORG_MEMBER) => json!(["MEMBER"]),
            _ => Value::Null,
        };
        let team = match &query.filters.group_id {
            Some(id) => json!(self.team_slug(OP, id).await?),
            None => Value::Null,
        };
        let backward = before.is_some();
        let variables = json!({
            "slug": self.api.org,
            "first": if backward { Value::Null } else { json!(size) },
            "after": after,
            "last": if backward { json!(size) } else { Value::Null },
            "before": before,
            "email": query.filters.email,
            "role": role,
            "team": team,
            "teamsFirst": shape.teams_first,
        });
        let keep = query.include_remote_data;
        // The caller's `limit` (or the size its cursor pinned) is never shrunk to fit
        // Buildkite's cap; the adapter's own sizes (the default page, the nested teams, a full
        // read's pages) are.
        let pinned = query
            .cursor
            .as_ref()
            .and_then(unidir_core::Cursor::page_size);
        let fixed = (query.limit.is_some() || pinned.is_some()) && shape.size.is_none();
        let (info, rows) = self
            .members_page_sized(
                OP,
                &crate::fields::document(MEMBERS_QUERY, query),
                "UnidirMembers",
                variables,
                keep,
                fixed,
            )
            .await?;
        let mut users = Vec::with_capacity(rows.len());
        for (mut member, mut raw) in rows {
            let groups = self.member_teams(OP, &mut member, raw.as_mut()).await?;
            users.push(map::graphql_user(member, groups, raw));
        }
        retain_team_role(&mut users, query);
        // Walking backward, the page's end is where the forward walk resumes.
        let next = if backward {
            info.end_cursor
        } else {
            paging::relay_next(
                "Buildkite",
                info.has_next_page,
                info.end_cursor,
                after.as_deref(),
            )
            .map_err(tag(OP))?
        };
        let prev = info.start_cursor.filter(|_| info.has_previous_page);
        let encode = |at: Option<RelayPosition>| {
            at.map(|at| binding.encode(&Position::Gql(at)))
                .transpose()
                .map_err(tag(OP))
        };
        Ok(Page::new(
            users,
            encode(next.map(RelayPosition::after))?,
            encode(prev.map(RelayPosition::before))?,
        ))
    }

    /// One page of an organization's `members` connection (`UnidirMembers`,
    /// `UnidirMembersLite`): its checked `pageInfo` and members, each with its raw node when
    /// the caller keeps `remote_data`. Decoded straight into typed members otherwise.
    pub(crate) async fn members_page(
        &self,
        operation: &'static str,
        document: &str,
        operation_name: &str,
        variables: Value,
        keep: bool,
    ) -> Result<(PageInfo, Vec<(GqlMember, Option<Value>)>)> {
        self.members_page_sized(operation, document, operation_name, variables, keep, false)
            .await
    }

    /// [`Self::members_page`]; `fixed`: the page size is the caller's (never shrunk).
    pub(crate) async fn members_page_sized(
        &self,
        operation: &'static str,
        document: &str,
        operation_name: &str,
        variables: Value,
        keep: bool,
        fixed: bool,
    ) -> Result<(PageInfo, Vec<(GqlMember, Option<Value>)>)> {
        if keep {
            let data: OrgMembers<Value> = self
                .api
                .graphql_sized(operation, document, operation_name, variables, fixed)
                .await?;
            let (info, nodes) = self.members_of(operation, data)?;
            let rows = nodes
                .into_iter()
                .map(|node| map::with_raw(operation, "organization member", node))
                .collect::<Result<_>>()?;
            Ok((info, rows))
        } else {
            let data: OrgMembers<GqlMember> = self
                .api
                .graphql_sized(operation, document, operation_name, variables, fixed)
                .await?;
            let (info, members) = self.members_of(operation, data)?;
            Ok((info, members.into_iter().map(|m| (m, None)).collect()))
        }
    }

    /// A members page's checked `pageInfo` and nodes.
    pub(crate) fn members_of<N>(
        &self,
        operation: &'static str,
        data: OrgMembers<N>,
    ) -> Result<(PageInfo, Vec<N>)> {
        let organization = data
            .organization
            .ok_or_else(|| organization_not_found(operation))?;
        self.learn_organization_id(organization.uuid.as_deref());
        let mut members = organization
            .members
            .ok_or_else(|| contract(operation, "organization.members is missing"))?;
        let info = self.checked_page_info(
            operation,
            members.page_info.take(),
            "the members connection has no pageInfo",
        )?;
        let nodes = members
            .nodes()
            .map(|node| node.ok_or_else(|| contract(operation, "a members edge has no node")))
            .collect::<Result<Vec<N>>>()?;
        Ok((info, nodes))
    }

    async fn team_slug(&self, operation: &'static str, id: &str) -> Result<String> {
        check_id(operation, "group", id)?;
        let rest = self
            .api
            .get(operation, &self.org_path(&["teams", id]), &[])
            .await?;
        let team: RestTeam = map::decode(operation, "team", &rest.body)?;
        team.slug
            .ok_or_else(|| contract(operation, "the team has no slug"))
    }
}

/// A member's team memberships as groups, each team once (a team listed twice is counted in
/// a warning).
pub(crate) fn team_groups(
    operation: &'static str,
    nodes: impl ExactSizeIterator<Item = Option<GqlTeamMembership>>,
) -> Vec<GroupAssignment> {
    let mut groups: Vec<GroupAssignment> = Vec::with_capacity(nodes.len());
    // A short list (the usual case: one nested page) is searched rather than hashed.
    let short = nodes.len() <= 32;
    let mut team_ids = HashSet::new();
    let mut duplicates = 0u64;
    for team in nodes.flatten() {
        if let Some(group) = map::team_assignment(team) {
            let fresh = if short {
                !groups.iter().any(|g| g.id == group.id)
            } else {
                team_ids.insert(crate::team_index::digest(&group.id))
            };
            if fresh {
                groups.push(group);
            } else {
                duplicates += 1;
            }
        }
    }
    if duplicates > 0 {
        tracing::warn!(
            operation,
            duplicates,
            "dropped team memberships listed twice"
        );
    }
    groups
}

/// GraphQL answered `organization: null`: the slug names no organization the token sees.
pub(crate) fn organization_not_found(operation: &'static str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        "No organization found (the organization may not exist, or the token cannot see it)",
    )
    .with_provider(PROVIDER)
    .with_operation(operation)
}
