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
use crate::wire::{GqlMember, GqlTeamMembership, PageInfo, RestTeam};
use crate::{PROVIDER, map, roles};

const MEMBERS_QUERY: &str = include_str!("../graphql/members.graphql");
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
    /// All team memberships of a GraphQL member node, following the nested connection past
    /// its first page. Returns them with the node rewritten to hold them all.
    async fn member_teams(
        &self,
        operation: &'static str,
        mut node: Value,
    ) -> Result<(Vec<GroupAssignment>, Value)> {
        let Some(teams) = node.get_mut("teams") else {
            return Ok((Vec::new(), node));
        };
        // Taken, not copied: the node gets the complete list back at the end.
        let mut edges: Vec<Value> = match teams.get_mut("edges").map(Value::take) {
            Some(Value::Array(edges)) => edges,
            _ => Vec::new(),
        };
        let teams = &*teams;
        let mut info: PageInfo =
            self.connection_page_info(operation, teams, "a member's team list has no pageInfo")?;
        let membership = node
            .get("uuid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut walk = RelayWalk::new();
        // The nested list is a walk of its own, with the same bounds as any other.
        let mut budget: WalkBudget = self.walk_limits.start();
        budget.add_items(edges.len()).map_err(tag(operation))?;
        while let Some(after) = walk
            .advance(
                "a member's team list",
                info.has_next_page,
                info.end_cursor.as_deref(),
            )
            .map_err(tag(operation))?
        {
            budget.before_page().map_err(tag(operation))?;
            let data = self
                .api
                .graphql(
                    operation,
                    MEMBER_TEAMS_QUERY,
                    "UnidirMemberTeams",
                    json!({ "slug": format!("{}/{}", self.api.org, membership), "first": self.nested_page_size, "after": after }),
                )
                .await?;
            let conn = data
                .pointer("/organizationMember/teams")
                .filter(|v| !v.is_null())
                .ok_or_else(|| contract(operation, "organizationMember.teams is missing"))?;
            let more = match conn.get("edges") {
                Some(Value::Array(more)) => more.clone(),
                _ => Vec::new(),
            };
            budget.add_items(more.len()).map_err(tag(operation))?;
            edges.extend(more);
            info =
                self.connection_page_info(operation, conn, "a member's team list has no pageInfo")?;
        }
        let mut groups: Vec<GroupAssignment> = Vec::new();
        let mut team_ids = HashSet::new();
        let mut duplicates = 0u64;
        for edge in &edges {
            let Some(raw) = edge.get("node").filter(|n| !n.is_null()) else {
                continue;
            };
            let team: GqlTeamMembership = map::decode(operation, "team membership", raw)?;
            if let Some(group) = map::team_assignment(&team) {
                if team_ids.insert(group.id.clone()) {
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
        if let Some(teams) = node.get_mut("teams") {
            teams["edges"] = Value::Array(edges);
            teams["pageInfo"] = json!({ "hasNextPage": false, "endCursor": info.end_cursor });
        }
        Ok((groups, node))
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
        let mut data = self
            .api
            .graphql(OP, MEMBERS_QUERY, "UnidirMembers", variables)
            .await?;
        let organization = data.get("organization").filter(|o| !o.is_null()).ok_or_else(|| {
            Error::new(ErrorKind::NotFound, "No organization found (the organization may not exist, or the token cannot see it)")
                .with_provider(PROVIDER)
                .with_operation(OP)
        })?;
        let members = organization
            .get("members")
            .filter(|m| !m.is_null())
            .ok_or_else(|| contract(OP, "organization.members is missing"))?;
        let info: PageInfo =
            self.connection_page_info(OP, members, "the members connection has no pageInfo")?;
        let edges = match data
            .pointer_mut("/organization/members/edges")
            .map(Value::take)
        {
            Some(Value::Array(edges)) => edges,
            _ => Vec::new(),
        };
        let mut users = Vec::with_capacity(edges.len());
        for mut edge in edges {
            let node = edge.get_mut("node").map(Value::take).unwrap_or(Value::Null);
            if node.is_null() {
                return Err(contract(OP, "a members edge has no node"));
            }
            let member: GqlMember = map::decode(OP, "organization member", &node)?;
            let (groups, raw) = self.member_teams(OP, node).await?;
            users.push(map::graphql_user(
                member,
                groups,
                &raw,
                query.include_remote_data,
            ));
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
