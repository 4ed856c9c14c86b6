//! The provider-neutral trait every adapter implements, and its convenience extension.

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};

use crate::capabilities::Capabilities;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Group, GroupMembership, Me, Organization, Role, User};
use crate::page::{GetOptions, ListQuery, Page};
use crate::provision::{MembershipResult, UserRef};
use crate::stream::{WalkLimits, Walker, bounded_pages};

/// A user directory: organizations, users, groups, roles and group memberships of one
/// provider connection.
///
/// Object-safe, so embedders can hold one `Arc<dyn Directory>` per tenant connection.
/// The required surface is the five list operations plus [`Directory::capabilities`]; every
/// other method defaults to an [`ErrorKind::Unsupported`] error, and
/// [`Directory::capabilities`] says which ones an adapter overrides.
///
/// List operations return one [`Page`]; use [`DirectoryExt`] to stream all pages.
#[async_trait]
pub trait Directory: std::fmt::Debug + Send + Sync + 'static {
    /// Stable provider name (`buildkite`, `memory`, ...), also written into cursors.
    fn provider(&self) -> &'static str;

    /// Bounds of every walk over all pages of a list ([`DirectoryExt`] streams and the
    /// adapter's own internal walks). Adapters return what their builder configured.
    fn walk_limits(&self) -> WalkLimits {
        WalkLimits::default()
    }

    /// What this adapter, with its credential, supports.
    async fn capabilities(&self) -> Result<Capabilities>;

    /// The credential's own user, scopes and organizations.
    async fn me(&self, _options: &GetOptions) -> Result<Me> {
        Err(Error::unsupported(self.provider(), "me"))
    }

    /// One page of organizations.
    async fn list_organizations(&self, query: &ListQuery) -> Result<Page<Organization>>;

    /// One organization by id (or slug, where the provider addresses organizations by slug).
    async fn get_organization(&self, _id: &str, _options: &GetOptions) -> Result<Organization> {
        Err(Error::unsupported(self.provider(), "get_organization"))
    }

    /// One page of users.
    async fn list_users(&self, query: &ListQuery) -> Result<Page<User>>;

    /// Every user matching `query` in one pass, in batches: a full read, which
    /// [`DirectoryExt::users`] streams. The default walks [`Directory::list_users`] page by
    /// page within [`Directory::walk_limits`]. An adapter may override it with a plan that
    /// reads the same users with fewer requests or less waiting (the Buildkite adapter spreads
    /// the work over its independent REST and GraphQL budgets); it must yield what the page
    /// walk would, and stay within the walk limits. Batches carry no cursors: a caller that
    /// must resume after a failure walks `list_users` instead.
    fn read_users(&self, query: ListQuery) -> BoxStream<'_, Result<Vec<User>>> {
        bounded_pages(query, self.walk_limits(), move |q| async move {
            self.list_users(&q).await
        })
        .map_ok(|page| page.result)
        .boxed()
    }

    /// One user by id.
    async fn get_user(&self, _id: &str, _options: &GetOptions) -> Result<User> {
        Err(Error::unsupported(self.provider(), "get_user"))
    }

    /// One page of groups.
    async fn list_groups(&self, query: &ListQuery) -> Result<Page<Group>>;

    /// One group by id.
    async fn get_group(&self, _id: &str, _options: &GetOptions) -> Result<Group> {
        Err(Error::unsupported(self.provider(), "get_group"))
    }

    /// One page of roles.
    async fn list_roles(&self, query: &ListQuery) -> Result<Page<Role>>;

    /// One role by id.
    async fn get_role(&self, _id: &str, _options: &GetOptions) -> Result<Role> {
        Err(Error::unsupported(self.provider(), "get_role"))
    }

    /// One page of the memberships of group `group_id`.
    async fn list_group_members(
        &self,
        group_id: &str,
        query: &ListQuery,
    ) -> Result<Page<GroupMembership>>;

    /// One page of the groups user `user_id` belongs to.
    async fn list_user_groups(&self, _user_id: &str, _query: &ListQuery) -> Result<Page<Group>> {
        Err(Error::unsupported(self.provider(), "list_user_groups"))
    }

    /// Makes `user` a member of `group_id` holding `role_id`: adds the user (`created`),
    /// changes an existing member's role (`role_changed`), or does nothing (`unchanged`). A
    /// user outside the organization is `user_not_in_organization`; a missing group is
    /// `group_not_found`. Idempotent.
    ///
    /// `role_id` is a group-scoped [`Role::id`], or `None` for the group's default role: the
    /// role a member added without one gets ([`Group::default_role_id`]; an adapter documents
    /// its provider's default), or no role at all where the group has none
    /// ([`Capabilities::group_roles`], [`Group::has_roles`]). A role for a group without
    /// roles, or one that is no group role, is [`ErrorKind::InvalidInput`] and nothing is
    /// written.
    async fn add_group_member(
        &self,
        _group_id: &str,
        _user: &UserRef,
        _role_id: Option<&str>,
    ) -> Result<MembershipResult> {
        Err(Error::unsupported(self.provider(), "add_group_member"))
    }

    /// Changes an existing member's role (`role_changed` or `unchanged`); a user who is not
    /// a member is `not_a_member` and nothing is written. Idempotent. A group without roles
    /// has no role to change: [`ErrorKind::InvalidInput`].
    async fn change_group_member_role(
        &self,
        _group_id: &str,
        _user: &UserRef,
        _role_id: &str,
    ) -> Result<MembershipResult> {
        Err(Error::unsupported(
            self.provider(),
            "change_group_member_role",
        ))
    }

    /// Removes `user` from `group_id` (`removed`, or `already_absent`). Idempotent.
    async fn remove_group_member(
        &self,
        _group_id: &str,
        _user: &UserRef,
    ) -> Result<MembershipResult> {
        Err(Error::unsupported(self.provider(), "remove_group_member"))
    }
}

/// Streams and lookups built on [`Directory`]. Implemented for every directory; do not
/// implement it yourself.
///
/// Each stream is bounded by [`Directory::walk_limits`] and yields every object once: an
/// object already emitted earlier in the walk (page-number paging over a changing set can
/// shift rows onto the next page) is dropped and counted. Use [`Walker`] directly to read
/// those counts ([`Walker::stats`]).
pub trait DirectoryExt: Directory {
    /// Every organization matching `query`, across all pages.
    fn organizations(&self, query: ListQuery) -> BoxStream<'_, Result<Organization>> {
        Walker::new(self.walk_limits()).items(query, move |q| async move {
            self.list_organizations(&q).await
        })
    }

    /// Every user matching `query`, across all pages ([`Directory::read_users`]).
    fn users(&self, query: ListQuery) -> BoxStream<'_, Result<User>> {
        Walker::new(self.walk_limits())
            .batches(self.read_users(query))
            .map_ok(|batch| futures::stream::iter(batch.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// Every group matching `query`, across all pages.
    fn groups(&self, query: ListQuery) -> BoxStream<'_, Result<Group>> {
        Walker::new(self.walk_limits())
            .items(query, move |q| async move { self.list_groups(&q).await })
    }

    /// Every role, across all pages.
    fn roles(&self, query: ListQuery) -> BoxStream<'_, Result<Role>> {
        Walker::new(self.walk_limits())
            .items(query, move |q| async move { self.list_roles(&q).await })
    }

    /// Every membership of `group_id`, across all pages.
    fn group_members<'a>(
        &'a self,
        group_id: &'a str,
        query: ListQuery,
    ) -> BoxStream<'a, Result<GroupMembership>> {
        Walker::new(self.walk_limits()).items(query, move |q| async move {
            self.list_group_members(group_id, &q).await
        })
    }

    /// Every group of `user_id`, across all pages.
    fn user_groups<'a>(
        &'a self,
        user_id: &'a str,
        query: ListQuery,
    ) -> BoxStream<'a, Result<Group>> {
        Walker::new(self.walk_limits()).items(query, move |q| async move {
            self.list_user_groups(user_id, &q).await
        })
    }
}

impl<D: Directory + ?Sized> DirectoryExt for D {}

/// Finds the user with e-mail `email` through the list filter; `Ok(None)` when nobody has it.
///
/// Fails with [`ErrorKind::Contract`](ErrorKind::ContractViolation) when the provider
/// returns more than one user for one address, rather than picking one at random.
pub async fn find_user_by_email<D: Directory + ?Sized>(
    directory: &D,
    email: &str,
    include_remote_data: bool,
) -> Result<Option<User>> {
    let query = ListQuery::new()
        .with_email(email)
        .with_remote_data(include_remote_data);
    let mut found: Vec<User> = directory.users(query).try_collect().await?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        n => Err(Error::new(
            ErrorKind::ContractViolation,
            format!("{n} users share the e-mail address being looked up"),
        )
        .with_provider(directory.provider())
        .with_operation("find_user_by_email")),
    }
}
