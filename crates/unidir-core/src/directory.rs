//! The provider-neutral trait every adapter implements, and its convenience extension.

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use futures::{FutureExt, SinkExt};

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

    /// User id `id` in the provider's canonical form, or [`ErrorKind::InvalidInput`] (saying
    /// what an id looks like) when it cannot be an id of this provider. Sends nothing: it
    /// lets [`crate::provision::plan`] refuse a name where an id belongs before any write.
    /// The default accepts any non-empty id as written.
    fn check_user_id(&self, id: &str) -> Result<String> {
        if id.is_empty() {
            Err(Error::invalid_input("a user id cannot be empty")
                .with_provider(self.provider())
                .with_operation("check_user_id"))
        } else {
            Ok(id.to_owned())
        }
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

/// Forwards every method, defaulted ones included, so a directory behind a pointer behaves
/// exactly as the directory: an `Arc<dyn Directory>` can be passed where `impl Directory`
/// is expected, and a wrapper (caching, metrics) generic over `D: Directory` can hold one.
macro_rules! forward_directory {
    ($($pointer:ident),+) => {$(
        #[async_trait]
        impl<T: Directory + ?Sized> Directory for $pointer<T> {
            fn provider(&self) -> &'static str {
                (**self).provider()
            }

            fn walk_limits(&self) -> WalkLimits {
                (**self).walk_limits()
            }

            async fn capabilities(&self) -> Result<Capabilities> {
                (**self).capabilities().await
            }

            async fn me(&self, options: &GetOptions) -> Result<Me> {
                (**self).me(options).await
            }

            async fn list_organizations(&self, query: &ListQuery) -> Result<Page<Organization>> {
                (**self).list_organizations(query).await
            }

            async fn get_organization(&self, id: &str, options: &GetOptions) -> Result<Organization> {
                (**self).get_organization(id, options).await
            }

            async fn list_users(&self, query: &ListQuery) -> Result<Page<User>> {
                (**self).list_users(query).await
            }

            fn read_users(&self, query: ListQuery) -> BoxStream<'_, Result<Vec<User>>> {
                (**self).read_users(query)
            }

            async fn get_user(&self, id: &str, options: &GetOptions) -> Result<User> {
                (**self).get_user(id, options).await
            }

            fn check_user_id(&self, id: &str) -> Result<String> {
                (**self).check_user_id(id)
            }

            async fn list_groups(&self, query: &ListQuery) -> Result<Page<Group>> {
                (**self).list_groups(query).await
            }

            async fn get_group(&self, id: &str, options: &GetOptions) -> Result<Group> {
                (**self).get_group(id, options).await
            }

            async fn list_roles(&self, query: &ListQuery) -> Result<Page<Role>> {
                (**self).list_roles(query).await
            }

            async fn get_role(&self, id: &str, options: &GetOptions) -> Result<Role> {
                (**self).get_role(id, options).await
            }

            async fn list_group_members(
                &self,
                group_id: &str,
                query: &ListQuery,
            ) -> Result<Page<GroupMembership>> {
                (**self).list_group_members(group_id, query).await
            }

            async fn list_user_groups(&self, user_id: &str, query: &ListQuery) -> Result<Page<Group>> {
                (**self).list_user_groups(user_id, query).await
            }

            async fn add_group_member(
                &self,
                group_id: &str,
                user: &UserRef,
                role_id: Option<&str>,
            ) -> Result<MembershipResult> {
                (**self).add_group_member(group_id, user, role_id).await
            }

            async fn change_group_member_role(
                &self,
                group_id: &str,
                user: &UserRef,
                role_id: &str,
            ) -> Result<MembershipResult> {
                (**self).change_group_member_role(group_id, user, role_id).await
            }

            async fn remove_group_member(
                &self,
                group_id: &str,
                user: &UserRef,
            ) -> Result<MembershipResult> {
                (**self).remove_group_member(group_id, user).await
            }
        }
    )+};
}

forward_directory!(Arc, Box);

/// `'static` streams from a shared directory: each is the [`DirectoryExt`] stream of the same
/// name (same walk limits, same deduplication), walked over the `Arc` it consumes, so a
/// function can return one and a spawned task can own one. Implemented for every `Arc<D>`,
/// `Arc<dyn Directory>` included; clone the `Arc` to keep using it.
///
/// ```
/// use std::sync::Arc;
///
/// use futures::stream::{BoxStream, TryStreamExt};
/// use unidir_core::{ArcDirectoryExt, Directory, ListQuery, Result, User, sample_directory};
///
/// fn everyone(directory: Arc<dyn Directory>) -> BoxStream<'static, Result<User>> {
///     directory.into_users(ListQuery::new())
/// }
///
/// # futures::executor::block_on(async {
/// let users: Vec<User> = everyone(Arc::new(sample_directory())).try_collect().await?;
/// assert_eq!(users.len(), 4);
/// # Ok::<(), unidir_core::Error>(())
/// # });
/// ```
pub trait ArcDirectoryExt {
    /// [`DirectoryExt::organizations`], owning the directory.
    fn into_organizations(self, query: ListQuery) -> BoxStream<'static, Result<Organization>>;

    /// [`DirectoryExt::users`] (the full read), owning the directory.
    fn into_users(self, query: ListQuery) -> BoxStream<'static, Result<User>>;

    /// [`DirectoryExt::groups`], owning the directory.
    fn into_groups(self, query: ListQuery) -> BoxStream<'static, Result<Group>>;

    /// [`DirectoryExt::roles`], owning the directory.
    fn into_roles(self, query: ListQuery) -> BoxStream<'static, Result<Role>>;

    /// [`DirectoryExt::group_members`], owning the directory.
    fn into_group_members(
        self,
        group_id: String,
        query: ListQuery,
    ) -> BoxStream<'static, Result<GroupMembership>>;

    /// [`DirectoryExt::user_groups`], owning the directory.
    fn into_user_groups(
        self,
        user_id: String,
        query: ListQuery,
    ) -> BoxStream<'static, Result<Group>>;
}

impl<D: Directory + ?Sized> ArcDirectoryExt for Arc<D> {
    fn into_organizations(self, query: ListQuery) -> BoxStream<'static, Result<Organization>> {
        owned(self, move |d| d.organizations(query))
    }

    fn into_users(self, query: ListQuery) -> BoxStream<'static, Result<User>> {
        owned(self, move |d| d.users(query))
    }

    fn into_groups(self, query: ListQuery) -> BoxStream<'static, Result<Group>> {
        owned(self, move |d| d.groups(query))
    }

    fn into_roles(self, query: ListQuery) -> BoxStream<'static, Result<Role>> {
        owned(self, move |d| d.roles(query))
    }

    fn into_group_members(
        self,
        group_id: String,
        query: ListQuery,
    ) -> BoxStream<'static, Result<GroupMembership>> {
        owned((self, group_id), move |(d, id)| d.group_members(id, query))
    }

    fn into_user_groups(
        self,
        user_id: String,
        query: ListQuery,
    ) -> BoxStream<'static, Result<Group>> {
        owned((self, user_id), move |(d, id)| d.user_groups(id, query))
    }
}

/// The stream `make` borrows from `state`, with `state` owned by the stream. An async block
/// may borrow from itself, so one owns `state`, walks the borrowing stream and hands each
/// item over a rendezvous channel; the result polls that block and the channel together
/// (no task, no runtime), and dropping it drops both.
fn owned<S, T, F>(state: S, make: F) -> BoxStream<'static, T>
where
    S: Send + 'static,
    T: Send + 'static,
    F: for<'a> FnOnce(&'a S) -> BoxStream<'a, T> + Send + 'static,
{
    let (mut sender, receiver) = futures::channel::mpsc::channel(0);
    let walk = async move {
        let mut items = make(&state);
        while let Some(item) = items.next().await {
            if sender.send(item).await.is_err() {
                break;
            }
        }
    };
    // The walk yields nothing itself: it only has to be polled until it ends.
    let driver = walk.into_stream().filter_map(|()| async { None });
    stream::select(receiver, driver).boxed()
}

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
