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
//!
//! This file holds the adapter's state, the GraphQL/REST choice and the [`Directory`] impl,
//! which delegates to a file per concern: `paging` (cursors, REST pages and walks, GraphQL
//! `pageInfo`), `team_cache` (the REST team index between pages), `users` (the choice per
//! call and the shared filters), `users_graphql`, `users_rest`, `groups`, `organizations`
//! (with `me`) and `role_list`.

mod groups;
mod organization_id;
mod organizations;
mod paging;
mod role_list;
mod team_cache;
mod team_list;
mod users;
mod users_graphql;
mod users_rest;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use serde_json::Value;
use unidir_core::{
    Capabilities, CursorBinding, Detail, Directory, Error, ErrorKind, GetOptions, Group,
    GroupMembership, ListQuery, Me, MembershipResult, Organization, Page, Resource, Result, Role,
    User, UserField, UserRef, WalkLimits, bounded_pages,
};

use crate::api::Api;
use crate::config::{BuildkiteBuilder, GraphqlMode};
use crate::team_index::TeamIndex;
use crate::wire::RestAccessToken;
use crate::{PROVIDER, map};

pub(crate) use paging::{graphql_after, users_binding};
pub(crate) use users_graphql::{MEMBERS_QUERY, NestedShape, organization_not_found, team_groups};

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
    /// When a full read joins on disk, and where.
    pub(crate) spill: crate::spill::SpillConfig,
    /// The organization's id for `organization_id`, read once (`None`: unreadable).
    organization_id: tokio::sync::OnceCell<Option<String>>,
    /// The team list a caller just walked, for the next full read (`team_list`).
    team_list: std::sync::Mutex<team_list::TeamList>,
}

fn tag(operation: &'static str) -> impl Fn(Error) -> Error {
    move |e| e.with_provider(PROVIDER).with_operation(operation)
}

/// The binding of `query`'s list; its cursors carry the page size the query asks for
/// (every Buildkite list defaults to [`paging::MAX_PAGE`]), so a walk keeps it. A limit
/// that conflicts with the cursor's is refused where the size is chosen.
fn binding(resource: Resource, query: &ListQuery, scope: &[&str]) -> CursorBinding {
    CursorBinding::new(PROVIDER, resource, &query.filters, scope)
        .with_page_size(query.page_size(paging::MAX_PAGE, paging::MAX_PAGE).ok())
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
            spill: crate::spill::SpillConfig::default(),
            organization_id: tokio::sync::OnceCell::new(),
            team_list: team_list::new(),
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

    /// In `Auto` mode, a token without GraphQL access (a 403 from GraphQL, "not enabled", or
    /// a missing `graphql` scope) switches this directory to REST for good: page walks and
    /// full reads alike.
    pub(crate) fn falls_back(&self, error: &Error) -> bool {
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

    async fn access_token(&self, operation: &'static str) -> Result<(RestAccessToken, Value)> {
        let rest = self.api.get(operation, &["access-token"], &[]).await?;
        let token = map::decode(operation, "access token", &rest.body)?;
        Ok((token, rest.body))
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
        self.read_me(options).await
    }

    async fn list_organizations(&self, query: &ListQuery) -> Result<Page<Organization>> {
        self.organizations_page(query).await
    }

    /// `id` is the organization slug (Buildkite addresses organizations by slug).
    async fn get_organization(&self, id: &str, options: &GetOptions) -> Result<Organization> {
        self.organization_by_slug(id, options).await
    }

    async fn list_users(&self, query: &ListQuery) -> Result<Page<User>> {
        if query.cursor.is_none() {
            // Once per walk, on its first page.
            self.note_unreadable_fields("list_users", query).await;
        }
        let mut page = self.users_page(query).await?;
        self.stamp_users(&mut page.result).await;
        Ok(page)
    }

    fn read_users(&self, mut query: ListQuery) -> BoxStream<'_, Result<Vec<User>>> {
        // The last sign-in is in GraphQL's member pages, which a full read of the
        // essentials does not read: selecting it reads every attribute.
        if query.wants(UserField::LastSignInAt) {
            query.detail = Detail::Full;
        }
        let batches = if crate::full_read::plannable(&query) {
            let note = query.clone();
            let noted = futures::stream::once(async move {
                self.note_unreadable_fields("list_users", &note).await;
            })
            .filter_map(|()| async { None });
            noted.chain(self.full_read(query)).boxed()
        } else {
            bounded_pages(query, self.walk_limits, move |q| async move {
                self.list_users(&q).await
            })
            .map_ok(|page| page.result)
            .boxed()
        };
        batches
            .and_then(move |mut users| async move {
                self.stamp_users(&mut users).await;
                Ok(users)
            })
            .boxed()
    }

    async fn get_user(&self, id: &str, options: &GetOptions) -> Result<User> {
        let mut user = [self.user_by_id(id, options).await?];
        self.stamp_users(&mut user).await;
        let [user] = user;
        Ok(user)
    }

    fn check_user_id(&self, id: &str) -> Result<String> {
        crate::api::canonical_user_id("check_user_id", id)
    }

    async fn list_groups(&self, query: &ListQuery) -> Result<Page<Group>> {
        let mut page = self.teams_page(query).await?;
        self.saw_team_page(query, &page);
        self.stamp_groups(&mut page.result).await;
        Ok(page)
    }

    async fn get_group(&self, id: &str, options: &GetOptions) -> Result<Group> {
        let mut group = [self.team_by_id(id, options).await?];
        self.stamp_groups(&mut group).await;
        let [group] = group;
        Ok(group)
    }

    async fn list_roles(&self, query: &ListQuery) -> Result<Page<Role>> {
        role_list::roles_page(query)
    }

    async fn get_role(&self, id: &str, options: &GetOptions) -> Result<Role> {
        role_list::role_by_id(id, options)
    }

    async fn list_group_members(
        &self,
        group_id: &str,
        query: &ListQuery,
    ) -> Result<Page<GroupMembership>> {
        self.team_members_page(group_id, query).await
    }

    async fn list_user_groups(&self, user_id: &str, query: &ListQuery) -> Result<Page<Group>> {
        let mut page = self.user_teams_page(user_id, query).await?;
        self.stamp_groups(&mut page.result).await;
        Ok(page)
    }

    /// Teams always have roles: `None` is the team's `default_member_role`.
    async fn add_group_member(
        &self,
        group_id: &str,
        user: &UserRef,
        role_id: Option<&str>,
    ) -> Result<MembershipResult> {
        self.set_member_role("add_group_member", group_id, user, role_id, true)
            .await
    }

    async fn change_group_member_role(
        &self,
        group_id: &str,
        user: &UserRef,
        role_id: &str,
    ) -> Result<MembershipResult> {
        self.set_member_role(
            "change_group_member_role",
            group_id,
            user,
            Some(role_id),
            false,
        )
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
