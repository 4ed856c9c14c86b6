//! The Buildkite [`Directory`].
//!
//! Requests per call (`n` = page size, at most 100; "walk" = every page of a list):
//!
//! | Operation | GraphQL available | REST only |
//! |---|---|---|
//! | `me` | `GET /v2/access-token` + `GET /v2/user` + walk `GET /v2/organizations` | same |
//! | `list_organizations` | 1 × `GET /v2/organizations` | same |
//! | `get_organization` | 1 × `GET /v2/organizations/{slug}` | same |
//! | `list_users` | 1 × `UnidirMembers` (members with role, join date, 2FA, SSO mode and their first teams), + 1 × `UnidirMemberTeams` per member with more teams than the nested page; + 1 × `GET /teams/{id}` with a `group_id` filter | 1 × `GET /members`, + once per walk: walk `GET /teams` + walk `GET /teams/{id}/members` for every team (team roles exist only there; the index is reused by the next pages, and dropped 5 min after its last use or after a membership change) |
//! | `list_users` with `email` | 1 × `UnidirMembers(email:)` | walk `GET /members`, matched locally |
//! | `get_user` | `GET /members/{id}` + `UnidirMembers(email:)` | `GET /members/{id}` + walk `GET /teams?user_id=` + 1 × `GET /teams/{t}/members/{id}` per team |
//! | `list_groups` / `get_group` | 1 × `GET /teams` / `GET /teams/{id}` | same |
//! | `list_group_members` | 1 × `GET /teams/{id}/members` | same |
//! | `list_user_groups` | 1 × `GET /teams?user_id=` | same |
//! | `list_roles` / `get_role` | none (the four roles are fixed) | same |
//! | `capabilities` | 1 × `GET /v2/access-token` | same |
//!
//! REST pages through `page`/`per_page` and the `Link` header; GraphQL through
//! `first`/`after` and `pageInfo`. Both become one opaque unified cursor that also records the
//! page size, so changing `limit` mid-walk cannot skip or repeat rows. A provider that claims
//! a next page without a cursor, or points back to a page already read, is a
//! `ContractViolation` error, never a short list.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use unidir_core::{
    Capabilities, Credential, CursorBinding, Directory, Error, ErrorKind, FilterField, GetOptions,
    Group, GroupAssignment, GroupMembership, ListQuery, Me, MembershipResult, Organization,
    OrganizationRef, Page, Resource, Result, Role, User, UserRef, UserStatus, WalkBudget,
    WalkLimits, bounded_pages, ensure_filters,
};

use crate::api::{Api, check_id, check_slug, contract, invalid};
use crate::config::{BuildkiteBuilder, GraphqlMode};
use crate::team_index::{TeamEntry, TeamIndex, TeamIndexBuilder};
use crate::wire::{
    GqlMember, GqlTeamMembership, PageInfo, RestAccessToken, RestMember, RestOrganization,
    RestTeam, RestTeamMember, RestUser,
};
use crate::{PROVIDER, map, roles};

const MEMBERS_QUERY: &str = include_str!("graphql/members.graphql");
const MEMBER_TEAMS_QUERY: &str = include_str!("graphql/member_teams.graphql");

/// Buildkite's REST `per_page` maximum; also the GraphQL page size cap unidir uses, to stay
/// far below the 50,000-point per-query complexity limit with nested teams.
const MAX_PAGE: u32 = 100;
/// Longest GraphQL connection cursor accepted back from a caller's unified cursor.
const MAX_GQL_CURSOR: usize = 512;

/// A GraphQL connection cursor unidir will carry: 1 to 512 printable ASCII characters. The
/// same rule checks cursors arriving from Buildkite and coming back inside unified cursors.
fn plain_gql_cursor(cursor: &str) -> bool {
    !cursor.is_empty()
        && cursor.len() <= MAX_GQL_CURSOR
        && cursor.bytes().all(|c| c.is_ascii_graphic())
}

/// Where a unified cursor resumes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "m")]
enum Position {
    /// REST page `p` of size `n`.
    #[serde(rename = "rest")]
    Rest { p: u32, n: u32 },
    /// GraphQL connection cursor: forward from `a` or backward from `b`.
    #[serde(rename = "gql")]
    Gql {
        a: Option<String>,
        b: Option<String>,
    },
    /// Offset into a fixed list.
    #[serde(rename = "off")]
    Offset { o: usize },
}

/// The Buildkite adapter. Build it with [`Buildkite::builder`].
#[derive(Debug)]
pub struct Buildkite {
    pub(crate) api: Api,
    mode: GraphqlMode,
    graphql_unavailable: AtomicBool,
    /// `GET /v2/access-token` failed once; GraphQL is then tried without asking again.
    scopes_unreadable: AtomicBool,
    nested_page_size: u32,
    /// The token's scopes, read once (`GET /v2/access-token`) for write pre-checks and to
    /// decide whether GraphQL is available.
    scopes: tokio::sync::OnceCell<Vec<String>>,
    pub(crate) walk_limits: WalkLimits,
    /// REST team memberships of every user, kept while a walk uses them.
    team_index: std::sync::Mutex<Option<Arc<TeamIndex>>>,
    team_index_build: tokio::sync::Mutex<()>,
    team_index_ttl: Duration,
}

/// Page sizes of one `UnidirMembers` request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NestedShape {
    /// Members per page (`None`: the query's limit).
    pub(crate) size: Option<u32>,
    /// Teams nested per member; a member with more gets `UnidirMemberTeams` pages.
    pub(crate) teams_first: u32,
}

/// The binding of the users list for `query`, and the GraphQL `after` position a page's
/// `next_cursor` carries (for a full read that walks `UnidirMembers` pages itself).
pub(crate) fn users_binding(query: &ListQuery) -> CursorBinding {
    binding(Resource::Users, query, &[])
}

pub(crate) fn graphql_after(
    binding: &CursorBinding,
    cursor: &unidir_core::Cursor,
) -> Result<Option<String>> {
    match binding
        .decode::<Position>(cursor)
        .map_err(tag("list_users"))?
    {
        Position::Gql { a, .. } => Ok(a),
        _ => Err(contract(
            "list_users",
            "a GraphQL page gave a cursor of another kind",
        )),
    }
}

fn tag(operation: &'static str) -> impl Fn(Error) -> Error {
    move |e| e.with_provider(PROVIDER).with_operation(operation)
}

fn binding(resource: Resource, query: &ListQuery, scope: &[&str]) -> CursorBinding {
    CursorBinding::new(PROVIDER, resource, &query.filters, scope)
}

impl Buildkite {
    /// Starts a builder.
    pub fn builder() -> BuildkiteBuilder {
        BuildkiteBuilder::default()
    }

    pub(crate) fn new(
        api: Api,
        mode: GraphqlMode,
        nested_page_size: u32,
        walk_limits: WalkLimits,
        team_index_ttl: Duration,
    ) -> Self {
        Self {
            api,
            mode,
            graphql_unavailable: AtomicBool::new(false),
            scopes_unreadable: AtomicBool::new(false),
            nested_page_size,
            scopes: tokio::sync::OnceCell::new(),
            walk_limits,
            team_index: std::sync::Mutex::new(None),
            team_index_build: tokio::sync::Mutex::new(()),
            team_index_ttl,
        }
    }

    /// The organization slug this directory reads.
    pub fn organization(&self) -> &str {
        &self.api.org
    }

    fn graphql_enabled(&self) -> bool {
        match self.mode {
            GraphqlMode::Disabled => false,
            GraphqlMode::Required => true,
            GraphqlMode::Auto => !self.graphql_unavailable.load(Ordering::Relaxed),
        }
    }

    /// Whether to use GraphQL for this call. In `Auto` mode the token's scopes decide (read
    /// once and cached): a token whose scope list lacks `graphql` uses REST from the start.
    /// When the scopes cannot be read for a reason GraphQL would not share (a permission or
    /// not-found answer), GraphQL is tried and [`Buildkite::falls_back`] is the second line.
    pub(crate) async fn use_graphql(&self, operation: &'static str) -> Result<bool> {
        if !self.graphql_enabled() {
            return Ok(false);
        }
        if self.mode != GraphqlMode::Auto {
            return Ok(true);
        }
        if self.scopes_unreadable.load(Ordering::Relaxed) {
            return Ok(true);
        }
        match self.token_scopes(operation).await {
            Ok(scopes) if scopes.iter().any(|s| s == "graphql") => Ok(true),
            Ok(_) => {
                tracing::info!("the token's scopes lack graphql; using REST");
                self.graphql_unavailable.store(true, Ordering::Relaxed);
                Ok(false)
            }
            // A rejected token fails every call the same way: say so now.
            Err(e) if e.kind() == ErrorKind::Unauthenticated => Err(e),
            Err(e) => {
                tracing::info!(error = %e, "could not read the token's scopes; trying GraphQL");
                self.scopes_unreadable.store(true, Ordering::Relaxed);
                Ok(true)
            }
        }
    }

    /// In `Auto` mode, a token without GraphQL access switches this directory to REST.
    fn falls_back(&self, error: &Error) -> bool {
        let no_graphql =
            error.kind() == ErrorKind::PermissionDenied && error.missing_scope() == Some("graphql");
        if no_graphql && self.mode == GraphqlMode::Auto {
            tracing::info!("token has no GraphQL access; using REST from now on");
            self.graphql_unavailable.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// The token's scopes, fetched once.
    pub(crate) async fn token_scopes(&self, operation: &'static str) -> Result<&[String]> {
        self.scopes
            .get_or_try_init(|| async {
                let (token, _) = self.access_token(operation).await?;
                Ok::<_, Error>(token.scopes)
            })
            .await
            .map(Vec::as_slice)
    }

    /// `organizations/<org>/<rest...>`.
    pub(crate) fn org_path<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut segments = vec!["organizations", self.api.org.as_str()];
        segments.extend_from_slice(rest);
        segments
    }

    /// One REST page: returns its items and the unified next/prev cursors.
    async fn rest_page(
        &self,
        operation: &'static str,
        segments: &[&str],
        extra: &[(&str, String)],
        query: &ListQuery,
        binding: &CursorBinding,
    ) -> Result<Page<Value>> {
        let (page, size) = match &query.cursor {
            None => (
                1,
                query
                    .page_size(MAX_PAGE, MAX_PAGE)
                    .map_err(tag(operation))?,
            ),
            Some(cursor) => match binding.decode::<Position>(cursor).map_err(tag(operation))? {
                Position::Rest { p, n }
                    if self.page_in_bounds(p) && (1..=MAX_PAGE).contains(&n) =>
                {
                    (p, n)
                }
                _ => {
                    return Err(tag(operation)(Error::invalid_cursor(
                        "cursor is not a page of this list",
                    )));
                }
            },
        };
        let (items, next) = self
            .fetch_page(operation, segments, extra, page, size)
            .await?;
        let next = next
            .map(|n| binding.encode(&Position::Rest { p: n, n: size }))
            .transpose()
            .map_err(tag(operation))?;
        let prev = if page > 1 {
            Some(
                binding
                    .encode(&Position::Rest {
                        p: page - 1,
                        n: size,
                    })
                    .map_err(tag(operation))?,
            )
        } else {
            None
        };
        Ok(Page::new(items, next, prev))
    }

    /// One REST page: its items and the next page number from the `Link` header. An empty
    /// page ends the list (past the last page Buildkite answers `[]`); a next page that does
    /// not come after this one is a `ContractViolation`, never a loop.
    pub(crate) async fn fetch_page(
        &self,
        operation: &'static str,
        segments: &[&str],
        extra: &[(&str, String)],
        page: u32,
        size: u32,
    ) -> Result<(Vec<Value>, Option<u32>)> {
        let mut params = vec![("page", page.to_string()), ("per_page", size.to_string())];
        params.extend(extra.iter().cloned());
        let rest = self.api.get(operation, segments, &params).await?;
        let next_link = rest.page_of("next", operation)?;
        let items = map::into_array(operation, rest.body)?;
        let next = match next_link {
            _ if items.is_empty() => None,
            // Page-number paging moves one page at a time: a next link that goes back loops,
            // one that jumps ahead skips rows silently.
            Some(n) if n != page.saturating_add(1) => {
                return Err(contract(
                    operation,
                    format!("the Link header's next page ({n}) is not the page after page {page}"),
                ));
            }
            Some(n) if !self.page_in_bounds(n) => {
                return Err(contract(
                    operation,
                    format!(
                        "the list goes on past {} pages (WalkLimits::max_pages); stopping",
                        self.walk_limits.max_pages
                    ),
                ));
            }
            next => next,
        };
        Ok((items, next))
    }

    /// A GraphQL `pageInfo`, with its cursors checked as they arrive: a provider cursor is
    /// carried inside the unified cursor, so one that is empty, longer than 512 characters,
    /// not printable ASCII, or holding the token is the provider's contract violation here
    /// rather than the caller's invalid cursor on the next call.
    pub(crate) fn page_info(&self, operation: &'static str, value: &Value) -> Result<PageInfo> {
        let info: PageInfo = map::decode(operation, "pageInfo", value)?;
        for cursor in [&info.end_cursor, &info.start_cursor].into_iter().flatten() {
            if !plain_gql_cursor(cursor) || self.api.holds_token(cursor) {
                return Err(contract(
                    operation,
                    "Buildkite returned a page cursor that is empty, too long, not printable \
                     ASCII or holds the token",
                ));
            }
        }
        Ok(info)
    }

    /// Whether a page number is within the walk bound (so a cursor or a `Link` header
    /// cannot make us ask for page 4294967295).
    fn page_in_bounds(&self, page: u32) -> bool {
        page >= 1 && u64::from(page) <= self.walk_limits.max_pages
    }

    /// Every item of a REST list, page after page (100 per page), within the walk limits.
    /// An item whose `key` field was already seen (rows shifting between pages) is dropped
    /// and counted in a warning.
    pub(crate) async fn rest_walk(
        &self,
        operation: &'static str,
        segments: &[&str],
        extra: &[(&str, String)],
        key: &str,
    ) -> Result<Vec<Value>> {
        let mut all = Vec::new();
        self.rest_walk_each(operation, segments, extra, key, |item| {
            all.push(item);
            Ok(())
        })
        .await?;
        Ok(all)
    }

    /// [`Self::rest_walk`] handing each item to `each` as its page arrives, so a long list
    /// (the members of an `Everyone` team) is never held whole; seen keys are kept as 16-byte
    /// digests.
    pub(crate) async fn rest_walk_each(
        &self,
        operation: &'static str,
        segments: &[&str],
        extra: &[(&str, String)],
        key: &str,
        mut each: impl FnMut(Value) -> Result<()>,
    ) -> Result<()> {
        let mut budget = self.walk_limits.start();
        let mut seen: HashSet<u128> = HashSet::new();
        let mut duplicates = 0u64;
        let mut page = 1u32;
        loop {
            budget.before_page().map_err(tag(operation))?;
            let (items, next) = self
                .fetch_page(operation, segments, extra, page, MAX_PAGE)
                .await?;
            budget.add_items(items.len()).map_err(tag(operation))?;
            for item in items {
                let fresh = match item.get(key).and_then(Value::as_str) {
                    Some(id) => seen.insert(crate::team_index::digest(id)),
                    None => true,
                };
                if fresh {
                    each(item)?;
                } else {
                    duplicates += 1;
                }
            }
            match next {
                Some(n) => page = n,
                None => {
                    if duplicates > 0 {
                        tracing::warn!(
                            operation,
                            duplicates,
                            "dropped items repeated across pages"
                        );
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Team memberships of every user: `user id → groups`, by walking teams and their members
    /// (one walk of the teams plus one of each team's members).
    async fn build_team_index(&self, operation: &'static str) -> Result<TeamIndex> {
        let teams = self
            .rest_walk(operation, &self.org_path(&["teams"]), &[], "id")
            .await?;
        let mut index = TeamIndexBuilder::default();
        for raw in &teams {
            let team: RestTeam = map::decode(operation, "team", raw)?;
            let path = self.org_path(&["teams", &team.id, "members"]);
            let position = index.team(TeamEntry {
                id: team.id.clone(),
                name: team.name,
                slug: team.slug,
            });
            self.rest_walk_each(operation, &path, &[], "user_id", |raw| {
                let m: RestTeamMember = map::decode(operation, "team member", &raw)?;
                index.add(
                    position,
                    &m.user_id,
                    m.role.map(|r| roles::team_role_id(&r)),
                    map::time(m.created_at.as_deref()),
                );
                Ok(())
            })
            .await?;
        }
        Ok(index.finish())
    }

    /// The team index, built once and reused while it is in use: a REST walk of every user
    /// page by page (a stream, or a caller passing cursors back) pays for the teams walk once,
    /// not once per page. It is dropped after [`BuildkiteBuilder::with_team_index_ttl`] without
    /// use (5 minutes by default) and after any membership change made through this
    /// directory.
    async fn team_index(&self, operation: &'static str) -> Result<Arc<TeamIndex>> {
        // One builder at a time: concurrent pages wait for the same index.
        let _building = self.team_index_build.lock().await;
        if let Some(index) = self.cached_team_index() {
            return Ok(index);
        }
        let index = Arc::new(self.build_team_index(operation).await?);
        *self.team_index.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&index));
        Ok(index)
    }

    fn cached_team_index(&self) -> Option<Arc<TeamIndex>> {
        let mut slot = self.team_index.lock().unwrap_or_else(|e| e.into_inner());
        let index = slot.as_ref()?;
        let mut last_used = index.last_used.lock().unwrap_or_else(|e| e.into_inner());
        if last_used.elapsed() > self.team_index_ttl {
            drop(last_used);
            *slot = None;
            return None;
        }
        *last_used = Instant::now();
        drop(last_used);
        Some(Arc::clone(index))
    }

    /// Keeps an index a full read built, for the page walks that follow.
    pub(crate) fn remember_team_index(&self, index: Arc<TeamIndex>) {
        *self.team_index.lock().unwrap_or_else(|e| e.into_inner()) = Some(index);
    }

    /// Forgets the team index (after a membership change).
    pub(crate) fn forget_team_index(&self) {
        *self.team_index.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

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
        let mut info: PageInfo = match teams.get("pageInfo") {
            Some(v) if !v.is_null() => self.page_info(operation, v)?,
            _ => return Err(contract(operation, "a member's team list has no pageInfo")),
        };
        let membership = node
            .get("uuid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut seen = HashSet::new();
        // The nested list is a walk of its own, with the same bounds as any other.
        let mut budget: WalkBudget = self.walk_limits.start();
        budget.add_items(edges.len()).map_err(tag(operation))?;
        while info.has_next_page {
            budget.before_page().map_err(tag(operation))?;
            let after = info.end_cursor.clone().ok_or_else(|| {
                contract(
                    operation,
                    "a member's team list has a next page but no endCursor",
                )
            })?;
            if !seen.insert(after.clone()) {
                return Err(contract(
                    operation,
                    "a member's team list repeated its endCursor",
                ));
            }
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
            info = match conn.get("pageInfo") {
                Some(v) if !v.is_null() => self.page_info(operation, v)?,
                _ => return Err(contract(operation, "a member's team list has no pageInfo")),
            };
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
    async fn users_graphql(
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
        let info: PageInfo = match members.get("pageInfo") {
            Some(v) if !v.is_null() => self.page_info(OP, v)?,
            _ => return Err(contract(OP, "the members connection has no pageInfo")),
        };
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
        let next = if info.has_next_page || backward {
            match info.end_cursor {
                Some(end) if Some(&end) == after.as_ref() => {
                    return Err(contract(
                        OP,
                        "Buildkite returned the same endCursor it was given; stopping instead of looping",
                    ));
                }
                Some(end) => Some(
                    binding
                        .encode(&Position::Gql {
                            a: Some(end),
                            b: None,
                        })
                        .map_err(tag(OP))?,
                ),
                None if backward => None,
                None => {
                    return Err(contract(
                        OP,
                        "Buildkite says there is a next page but gives no endCursor",
                    ));
                }
            }
        } else {
            None
        };
        let prev = match (info.has_previous_page, info.start_cursor) {
            (true, Some(start)) => Some(
                binding
                    .encode(&Position::Gql {
                        a: None,
                        b: Some(start),
                    })
                    .map_err(tag(OP))?,
            ),
            _ => None,
        };
        Ok(Page::new(users, next, prev))
    }

    /// Users through REST: member rows joined with a walk of every team's members.
    async fn users_rest(&self, query: &ListQuery, binding: &CursorBinding) -> Result<Page<User>> {
        const OP: &str = "list_users";
        let members_path = self.org_path(&["members"]);
        let page = if query.filters.email.is_some() {
            // REST has no e-mail filter: read every member and match here (one complete page).
            let all = self.rest_walk(OP, &members_path, &[], "id").await?;
            Page::complete(all)
        } else {
            self.rest_page(OP, &members_path, &[], query, binding)
                .await?
        };
        let index = self.team_index(OP).await?;
        if let Some(group) = &query.filters.group_id {
            check_id(OP, "group", group)?;
            if !index.has_team(group) {
                // Distinguish "empty team" from "no such team".
                self.api
                    .get(OP, &self.org_path(&["teams", group]), &[])
                    .await?;
            }
        }
        let mut users = Vec::new();
        for raw in &page.result {
            let member: RestMember = map::decode(OP, "member", raw)?;
            if let Some(email) = &query.filters.email
                && !member
                    .email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            {
                continue;
            }
            let groups = index.groups_of(&member.id);
            if let Some(group) = &query.filters.group_id
                && !groups.iter().any(|g| &g.id == group)
            {
                continue;
            }
            users.push(map::rest_user(
                member,
                raw,
                query.include_remote_data,
                groups,
            ));
        }
        if let Some(role) = query.filters.role_id.as_deref()
            && role.starts_with("org:")
        {
            users.retain(|u| u.roles.iter().any(|r| r.id == role && r.group_id.is_none()));
        }
        retain_team_role(&mut users, query);
        Ok(Page::new(users, page.next_cursor, page.prev_cursor))
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

    async fn access_token(&self, operation: &'static str) -> Result<(RestAccessToken, Value)> {
        let rest = self.api.get(operation, &["access-token"], &[]).await?;
        let token = map::decode(operation, "access token", &rest.body)?;
        Ok((token, rest.body))
    }

    async fn user_rest(
        &self,
        id: &str,
        member: RestMember,
        raw: &Value,
        keep: bool,
    ) -> Result<User> {
        const OP: &str = "get_user";
        let teams = self
            .rest_walk(
                OP,
                &self.org_path(&["teams"]),
                &[("user_id", id.to_owned())],
                "id",
            )
            .await?;
        let mut groups = Vec::new();
        for raw_team in &teams {
            let team: RestTeam = map::decode(OP, "team", raw_team)?;
            let rest = self
                .api
                .get(OP, &self.org_path(&["teams", &team.id, "members", id]), &[])
                .await?;
            let m: RestTeamMember = map::decode(OP, "team member", &rest.body)?;
            groups.push(
                GroupAssignment::new(team.id)
                    .with_name(team.name)
                    .with_slug(team.slug)
                    .with_role_id(m.role.map(|r| roles::team_role_id(&r)))
                    .with_joined_at(map::time(m.created_at.as_deref())),
            );
        }
        Ok(map::rest_user(member, raw, keep, groups))
    }
}

/// Decodes every raw item of a REST page as `W` and maps it, keeping the cursors.
fn map_page<W: serde::de::DeserializeOwned, T>(
    operation: &'static str,
    what: &str,
    page: Page<Value>,
    mut convert: impl FnMut(W, &Value) -> T,
) -> Result<Page<T>> {
    let mut out = Vec::with_capacity(page.result.len());
    for raw in &page.result {
        out.push(convert(map::decode(operation, what, raw)?, raw));
    }
    Ok(Page::new(out, page.next_cursor, page.prev_cursor))
}

/// Keeps users holding the team role of a `team:*` role filter (GraphQL and REST have no
/// server-side filter for it). A page may then hold fewer than `limit` users; the cursor
/// still continues the walk, so nobody is skipped.
fn retain_team_role(users: &mut Vec<User>, query: &ListQuery) {
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

fn check_role_filter(operation: &'static str, query: &ListQuery, allowed: &[&str]) -> Result<()> {
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

#[async_trait]
impl Directory for Buildkite {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn walk_limits(&self) -> WalkLimits {
        self.walk_limits
    }

    /// Reads the token's scopes (`GET /v2/access-token`) and reports what works with them.
    async fn capabilities(&self) -> Result<Capabilities> {
        // The scopes are read once per directory (cached with the GraphQL choice and the
        // write pre-checks); the table lives in `crate::capabilities`.
        let scopes = self.token_scopes("capabilities").await?;
        let graphql = self.graphql_enabled();
        Ok(crate::capabilities::report(scopes, self.mode, graphql))
    }

    async fn me(&self, options: &GetOptions) -> Result<Me> {
        const OP: &str = "me";
        let keep = options.include_remote_data;
        let (token, token_raw) = self.access_token(OP).await?;
        let user_rest = self.api.get(OP, &["user"], &[]).await?;
        let user: RestUser = map::decode(OP, "user", &user_rest.body)?;
        let orgs = self.rest_walk(OP, &["organizations"], &[], "id").await?;
        let mut organizations = Vec::new();
        for raw in &orgs {
            let org: RestOrganization = map::decode(OP, "organization", raw)?;
            organizations.push(OrganizationRef::new(org.id, org.name).with_slug(org.slug));
        }
        let unified_user = User::new(user.id)
            .with_name(user.name)
            .with_emails(
                user.email
                    .map(|email| unidir_core::Email::new(email).with_is_primary(true))
                    .into_iter()
                    .collect(),
            )
            .with_status(UserStatus::Active)
            .with_avatar_url(user.avatar_url)
            .with_created_at(map::time(user.created_at.as_deref()))
            .with_remote_data(keep.then(|| user_rest.body.clone()));
        Ok(Me::new(unified_user)
            .with_scopes(token.scopes)
            .with_organizations(organizations)
            .with_credential(
                Credential::new()
                    .with_id(token.uuid)
                    .with_description(token.description)
                    .with_created_at(map::time(token.created_at.as_deref()))
                    .with_expires_at(map::time(token.expires_at.as_deref())),
            )
            .with_remote_data(
                keep.then(|| json!({ "access_token": token_raw, "user": user_rest.body })),
            ))
    }

    async fn list_organizations(&self, query: &ListQuery) -> Result<Page<Organization>> {
        const OP: &str = "list_organizations";
        ensure_filters(PROVIDER, OP, &query.filters, &[])?;
        let binding = binding(Resource::Organizations, query, &[]);
        let page = self
            .rest_page(OP, &["organizations"], &[], query, &binding)
            .await?;
        let keep = query.include_remote_data;
        map_page(OP, "organization", page, |org, raw| {
            map::organization(org, raw, keep)
        })
    }

    /// `id` is the organization slug (Buildkite addresses organizations by slug).
    async fn get_organization(&self, id: &str, options: &GetOptions) -> Result<Organization> {
        const OP: &str = "get_organization";
        check_slug(id).map_err(tag(OP))?;
        let rest = self.api.get(OP, &["organizations", id], &[]).await?;
        Ok(map::organization(
            map::decode(OP, "organization", &rest.body)?,
            &rest.body,
            options.include_remote_data,
        ))
    }

    async fn list_users(&self, query: &ListQuery) -> Result<Page<User>> {
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
            Some(Position::Rest { .. }) => self.users_rest(query, &binding).await,
            Some(Position::Gql { a, b }) => {
                let plain = |t: &Option<String>| t.as_deref().is_none_or(plain_gql_cursor);
                if a.is_some() == b.is_some() || !plain(&a) || !plain(&b) {
                    return Err(tag(OP)(Error::invalid_cursor(
                        "cursor is not a page of this list",
                    )));
                }
                self.users_graphql(query, &binding, a, b)
                    .await
                    .map_err(refused_cursor)
            }
            Some(Position::Offset { .. }) => Err(tag(OP)(Error::invalid_cursor(
                "cursor is not a page of this list",
            ))),
            None if self.use_graphql(OP).await? => {
                match self.users_graphql(query, &binding, None, None).await {
                    Err(e) if self.falls_back(&e) => self.users_rest(query, &binding).await,
                    other => other,
                }
            }
            None => self.users_rest(query, &binding).await,
        }
    }

    fn read_users(&self, query: ListQuery) -> BoxStream<'_, Result<Vec<User>>> {
        if crate::full_read::plannable(&query) {
            return self.full_read(query);
        }
        bounded_pages(query, self.walk_limits, move |q| async move {
            self.list_users(&q).await
        })
        .map_ok(|page| page.result)
        .boxed()
    }

    async fn get_user(&self, id: &str, options: &GetOptions) -> Result<User> {
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
        self.user_rest(id, member, &rest.body, keep).await
    }

    async fn list_groups(&self, query: &ListQuery) -> Result<Page<Group>> {
        const OP: &str = "list_groups";
        ensure_filters(PROVIDER, OP, &query.filters, &[])?;
        let binding = binding(Resource::Groups, query, &[]);
        let page = self
            .rest_page(OP, &self.org_path(&["teams"]), &[], query, &binding)
            .await?;
        let keep = query.include_remote_data;
        map_page(OP, "team", page, |team, raw| map::group(team, raw, keep))
    }

    async fn get_group(&self, id: &str, options: &GetOptions) -> Result<Group> {
        const OP: &str = "get_group";
        check_id(OP, "group", id)?;
        let rest = self
            .api
            .get(OP, &self.org_path(&["teams", id]), &[])
            .await?;
        Ok(map::group(
            map::decode(OP, "team", &rest.body)?,
            &rest.body,
            options.include_remote_data,
        ))
    }

    async fn list_roles(&self, query: &ListQuery) -> Result<Page<Role>> {
        const OP: &str = "list_roles";
        ensure_filters(PROVIDER, OP, &query.filters, &[])?;
        let binding = binding(Resource::Roles, query, &[]);
        let all = roles::all();
        let size = query.page_size(MAX_PAGE, MAX_PAGE).map_err(tag(OP))? as usize;
        let start = match &query.cursor {
            None => 0,
            Some(c) => match binding.decode::<Position>(c).map_err(tag(OP))? {
                Position::Offset { o } if o <= all.len() => o,
                _ => {
                    return Err(tag(OP)(Error::invalid_cursor(
                        "cursor is not a page of this list",
                    )));
                }
            },
        };
        let end = (start + size).min(all.len());
        let next = (end < all.len())
            .then(|| binding.encode(&Position::Offset { o: end }))
            .transpose()
            .map_err(tag(OP))?;
        let prev = (start > 0)
            .then(|| {
                binding.encode(&Position::Offset {
                    o: start.saturating_sub(size),
                })
            })
            .transpose()
            .map_err(tag(OP))?;
        let keep = query.include_remote_data;
        let items = all[start..end]
            .iter()
            .cloned()
            .map(|mut r| {
                if !keep {
                    r.remote_data = None;
                }
                r
            })
            .collect();
        Ok(Page::new(items, next, prev))
    }

    async fn get_role(&self, id: &str, options: &GetOptions) -> Result<Role> {
        let mut role = roles::role(id).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "no Buildkite role \"{}\"",
                    unidir_core::text::bounded(id, 64)
                ),
            )
            .with_provider(PROVIDER)
            .with_operation("get_role")
        })?;
        if !options.include_remote_data {
            role.remote_data = None;
        }
        Ok(role)
    }

    async fn list_group_members(
        &self,
        group_id: &str,
        query: &ListQuery,
    ) -> Result<Page<GroupMembership>> {
        const OP: &str = "list_group_members";
        ensure_filters(PROVIDER, OP, &query.filters, &[FilterField::RoleId])?;
        check_role_filter(OP, query, &[roles::TEAM_MAINTAINER, roles::TEAM_MEMBER])?;
        check_id(OP, "group", group_id)?;
        let binding = binding(Resource::GroupMembers, query, &[group_id]);
        let page = self
            .rest_page(
                OP,
                &self.org_path(&["teams", group_id, "members"]),
                &[],
                query,
                &binding,
            )
            .await?;
        let keep = query.include_remote_data;
        let mut page = map_page(OP, "team member", page, |m, raw| {
            map::membership(group_id, m, raw, keep)
        })?;
        if let Some(role) = &query.filters.role_id {
            page.result.retain(|m| m.role_id.as_ref() == Some(role));
        }
        Ok(page)
    }

    async fn list_user_groups(&self, user_id: &str, query: &ListQuery) -> Result<Page<Group>> {
        const OP: &str = "list_user_groups";
        ensure_filters(PROVIDER, OP, &query.filters, &[])?;
        check_id(OP, "user", user_id)?;
        let binding = binding(Resource::UserGroups, query, &[user_id]);
        let page = self
            .rest_page(
                OP,
                &self.org_path(&["teams"]),
                &[("user_id", user_id.to_owned())],
                query,
                &binding,
            )
            .await?;
        let keep = query.include_remote_data;
        map_page(OP, "team", page, |team, raw| map::group(team, raw, keep))
    }

    /// Teams always have roles: `None` is `team:member`, the default role of a new member.
    async fn add_group_member(
        &self,
        group_id: &str,
        user: &UserRef,
        role_id: Option<&str>,
    ) -> Result<MembershipResult> {
        let role_id = role_id.unwrap_or(roles::TEAM_MEMBER);
        self.set_member_role("add_group_member", group_id, user, role_id, true)
            .await
    }

    async fn change_group_member_role(
        &self,
        group_id: &str,
        user: &UserRef,
        role_id: &str,
    ) -> Result<MembershipResult> {
        self.set_member_role("change_group_member_role", group_id, user, role_id, false)
            .await
    }

    async fn remove_group_member(
        &self,
        group_id: &str,
        user: &UserRef,
    ) -> Result<MembershipResult> {
        self.remove_member(group_id, user).await
    }
}
