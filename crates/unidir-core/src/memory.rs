//! An in-memory [`Directory`]: the reference implementation of the trait.
//!
//! Embedders use it in their own tests; adapters compare their behaviour against it. It
//! pages with offset cursors (bound to the query like every cursor), applies every filter,
//! and derives each user's `groups` and group-scoped `roles` from the memberships, so the
//! two views never disagree.

use std::sync::RwLock;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::capabilities::{
    Capabilities, FilterField, GroupRoles, Operation, Resource, ResourceSupport,
};
use crate::cursor::CursorBinding;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    Group, GroupAssignment, GroupMembership, Me, Organization, Role, RoleAssignment, RoleScope,
    User,
};
use crate::page::{GetOptions, ListQuery, Page};
use crate::provision::{MembershipResult, Outcome, UserRef};
use crate::{Directory, capabilities::ensure_filters};

const PROVIDER: &str = "memory";
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

#[derive(Debug, Default, Clone)]
struct State {
    organizations: Vec<Organization>,
    users: Vec<User>,
    groups: Vec<Group>,
    roles: Vec<Role>,
    memberships: Vec<GroupMembership>,
    me: Option<MeSeed>,
}

#[derive(Debug, Clone)]
struct MeSeed {
    user_id: String,
    scopes: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct Offset {
    o: usize,
}

/// An in-memory directory; build it with [`MemoryDirectory::builder`].
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    state: RwLock<State>,
}

/// Builder for [`MemoryDirectory`].
#[derive(Debug, Default)]
pub struct MemoryDirectoryBuilder {
    state: State,
}

impl MemoryDirectoryBuilder {
    /// Adds an organization.
    pub fn organization(mut self, organization: Organization) -> Self {
        self.state.organizations.push(organization);
        self
    }

    /// Adds a user. Its `groups` and group-scoped `roles` are derived from memberships.
    pub fn user(mut self, user: User) -> Self {
        self.state.users.push(user);
        self
    }

    /// Adds a group. A group whose [`Group::has_roles`] is `Some(false)` has no roles: its
    /// memberships hold none, and the directory reports [`GroupRoles::PerGroup`].
    pub fn group(mut self, group: Group) -> Self {
        self.state.groups.push(group);
        self
    }

    /// Adds a role.
    pub fn role(mut self, role: Role) -> Self {
        self.state.roles.push(role);
        self
    }

    /// Adds a membership.
    pub fn membership(mut self, membership: GroupMembership) -> Self {
        self.state.memberships.push(membership);
        self
    }

    /// Makes `me` answer with user `user_id` and these credential scopes.
    pub fn me(mut self, user_id: impl Into<String>, scopes: &[&str]) -> Self {
        self.state.me = Some(MeSeed {
            user_id: user_id.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }

    /// Checks references (memberships point at existing users, groups and roles) and builds.
    pub fn build(self) -> Result<MemoryDirectory> {
        let s = &self.state;
        for m in &s.memberships {
            if !s.users.iter().any(|u| u.id == m.user_id) {
                return Err(Error::invalid_input(format!(
                    "membership names unknown user {}",
                    m.user_id
                )));
            }
            if !s.groups.iter().any(|g| g.id == m.group_id) {
                return Err(Error::invalid_input(format!(
                    "membership names unknown group {}",
                    m.group_id
                )));
            }
            if let Some(role) = &m.role_id
                && !s.roles.iter().any(|r| &r.id == role)
            {
                return Err(Error::invalid_input(format!(
                    "membership names unknown role {role}"
                )));
            }
            if m.role_id.is_some()
                && s.groups
                    .iter()
                    .any(|g| g.id == m.group_id && g.has_roles == Some(false))
            {
                return Err(Error::invalid_input(format!(
                    "membership gives a role in group {}, which has no roles",
                    m.group_id
                )));
            }
        }
        if let Some(me) = &s.me
            && !s.users.iter().any(|u| u.id == me.user_id)
        {
            return Err(Error::invalid_input(format!(
                "me names unknown user {}",
                me.user_id
            )));
        }
        Ok(MemoryDirectory {
            state: RwLock::new(self.state),
        })
    }
}

impl MemoryDirectory {
    /// Starts an empty builder.
    pub fn builder() -> MemoryDirectoryBuilder {
        MemoryDirectoryBuilder::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-read; the data is plain
        // values that are never left half-written, so keep serving it.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn not_found(operation: &'static str, what: &str, id: &str) -> Error {
        // The id is the caller's: bounded and escaped like any untrusted text.
        let id = crate::text::display_safe(id);
        Error::new(ErrorKind::NotFound, format!("no {what} with id {id}"))
            .with_provider(PROVIDER)
            .with_operation(operation)
    }
}

impl State {
    /// A user as served: groups and group roles derived from memberships.
    fn view_user(&self, user: &User, include_remote: bool) -> User {
        let mut user = user.clone();
        user.groups.clear();
        user.roles.retain(|r| r.scope != RoleScope::Group);
        for m in self.memberships.iter().filter(|m| m.user_id == user.id) {
            let group = self.groups.iter().find(|g| g.id == m.group_id);
            user.groups.push(GroupAssignment {
                id: m.group_id.clone(),
                name: group.map(|g| g.name.clone()),
                slug: group.and_then(|g| g.slug.clone()),
                role_id: m.role_id.clone(),
                joined_at: m.created_at,
            });
            if let Some(role_id) = &m.role_id {
                let name = self
                    .roles
                    .iter()
                    .find(|r| &r.id == role_id)
                    .map_or_else(|| role_id.clone(), |r| r.name.clone());
                user.roles.push(RoleAssignment {
                    id: role_id.clone(),
                    name,
                    scope: RoleScope::Group,
                    group_id: Some(m.group_id.clone()),
                });
            }
        }
        if !include_remote {
            user.remote_data = None;
        }
        user
    }

    fn user_matches(&self, user: &User, query: &ListQuery) -> bool {
        let f = &query.filters;
        if let Some(email) = &f.email
            && !user.has_email(email)
        {
            return false;
        }
        if let Some(status) = &f.status
            && &user.status != status
        {
            return false;
        }
        if let Some(group) = &f.group_id
            && !self
                .memberships
                .iter()
                .any(|m| &m.group_id == group && m.user_id == user.id)
        {
            return false;
        }
        if let Some(role) = &f.role_id {
            let org_role = user
                .roles
                .iter()
                .any(|r| &r.id == role && r.scope != RoleScope::Group);
            let group_role = self
                .memberships
                .iter()
                .any(|m| m.user_id == user.id && m.role_id.as_ref() == Some(role));
            if !(org_role || group_role) {
                return false;
            }
        }
        true
    }
}

/// Where one membership change starts from.
enum Target {
    Ready {
        user_id: String,
        current: Option<usize>,
    },
    Stop(MembershipResult),
}

impl State {
    /// Resolves the user and group, and finds the current membership.
    fn target(&self, group_id: &str, user: &UserRef) -> Target {
        let stop = |outcome, user_id: Option<String>| {
            Target::Stop(MembershipResult {
                outcome,
                group_id: group_id.to_owned(),
                user_id,
                role_id: None,
                previous_role_id: None,
            })
        };
        if !self.groups.iter().any(|g| g.id == group_id) {
            return stop(Outcome::GroupNotFound, None);
        }
        let found = self.users.iter().find(|u| match user {
            UserRef::Id(id) => &u.id == id,
            UserRef::Email(email) => u.has_email(email),
        });
        let Some(found) = found else {
            return stop(Outcome::UserNotInOrganization, None);
        };
        let current = self
            .memberships
            .iter()
            .position(|m| m.group_id == group_id && m.user_id == found.id);
        Target::Ready {
            user_id: found.id.clone(),
            current,
        }
    }

    /// The role a write in `group_id` gives: `role_id` checked against the group, or for
    /// `None` the group's default role (no role in a group without roles). A missing group
    /// is left to [`State::target`] to report.
    fn role_for(
        &self,
        group_id: &str,
        role_id: Option<&str>,
        operation: &'static str,
    ) -> Result<Option<String>> {
        if let Some(role_id) = role_id {
            self.check_group_role(role_id, operation)?;
        }
        let Some(group) = self.groups.iter().find(|g| g.id == group_id) else {
            return Ok(role_id.map(str::to_owned));
        };
        let safe = crate::text::display_safe;
        match (group.has_roles == Some(false), role_id) {
            (true, None) => Ok(None),
            (true, Some(role)) => Err(tag(
                Error::invalid_input(format!(
                    "group {} has no roles; \"{}\" cannot be held in it",
                    safe(group_id),
                    safe(role)
                )),
                operation,
            )),
            (false, Some(role)) => Ok(Some(role.to_owned())),
            (false, None) => match &group.default_role_id {
                Some(default) => {
                    self.check_group_role(default, operation)?;
                    Ok(Some(default.clone()))
                }
                None => Err(tag(
                    Error::invalid_input(format!(
                        "group {} has no default role; name the role",
                        safe(group_id)
                    )),
                    operation,
                )),
            },
        }
    }

    fn check_group_role(&self, role_id: &str, operation: &'static str) -> Result<()> {
        if self
            .roles
            .iter()
            .any(|r| r.id == role_id && r.scope == RoleScope::Group)
        {
            Ok(())
        } else {
            Err(tag(
                Error::invalid_input(format!(
                    "\"{}\" is not a group role",
                    crate::text::display_safe(role_id)
                )),
                operation,
            ))
        }
    }

    fn set_role(
        &mut self,
        group_id: &str,
        user: &UserRef,
        role_id: Option<String>,
        add: bool,
    ) -> MembershipResult {
        let (user_id, current) = match self.target(group_id, user) {
            Target::Stop(result) => return result,
            Target::Ready { user_id, current } => (user_id, current),
        };
        let result = |outcome, previous: Option<String>, role: Option<String>| MembershipResult {
            outcome,
            group_id: group_id.to_owned(),
            user_id: Some(user_id.clone()),
            role_id: role,
            previous_role_id: previous,
        };
        match current {
            None if !add => result(Outcome::NotAMember, None, None),
            None => {
                self.memberships.push(GroupMembership {
                    group_id: group_id.to_owned(),
                    user_id: user_id.clone(),
                    role_id: role_id.clone(),
                    user_name: None,
                    user_email: None,
                    created_at: Some(chrono::Utc::now()),
                    remote_data: None,
                });
                result(Outcome::Created, None, role_id)
            }
            Some(i) => {
                let previous = self.memberships[i].role_id.clone();
                if previous == role_id {
                    result(Outcome::Unchanged, previous.clone(), previous)
                } else {
                    self.memberships[i].role_id = role_id.clone();
                    result(Outcome::RoleChanged, previous, role_id)
                }
            }
        }
    }
}

/// Clears `remote_data` unless the caller asked for it.
trait RemoteData {
    fn strip_remote(self, keep: bool) -> Self;
}

macro_rules! remote_data {
    ($($t:ty),+) => {$(
        impl RemoteData for $t {
            fn strip_remote(mut self, keep: bool) -> Self {
                if !keep {
                    self.remote_data = None;
                }
                self
            }
        }
    )+};
}
remote_data!(Organization, Group, Role, GroupMembership);

/// Cuts one page out of `items` with an offset cursor bound to `binding`.
fn page_of<T>(items: Vec<T>, query: &ListQuery, binding: &CursorBinding) -> Result<Page<T>> {
    let size = query.page_size(DEFAULT_PAGE, MAX_PAGE)?;
    // The cursors carry the page size, so the walk keeps it.
    let binding = &binding.clone().with_page_size(size);
    let size = size as usize;
    let start = match &query.cursor {
        None => 0,
        Some(c) => binding.decode::<Offset>(c)?.o,
    };
    if start > items.len() {
        return Err(Error::invalid_cursor(
            "cursor points past the end of the list",
        ));
    }
    let end = (start + size).min(items.len());
    let next = (end < items.len())
        .then(|| binding.encode(&Offset { o: end }))
        .transpose()?;
    let prev = (start > 0)
        .then(|| {
            binding.encode(&Offset {
                o: start.saturating_sub(size),
            })
        })
        .transpose()?;
    let result = items.into_iter().skip(start).take(end - start).collect();
    Ok(Page::new(result, next, prev))
}

fn tag(e: Error, operation: &'static str) -> Error {
    e.with_provider(PROVIDER).with_operation(operation)
}

#[async_trait]
impl Directory for MemoryDirectory {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn capabilities(&self) -> Result<Capabilities> {
        use Operation::{Get, List};
        let has_me = self.read().me.is_some();
        let mut resources = vec![
            ResourceSupport::new(Resource::Organizations, &[List, Get]),
            ResourceSupport::new(Resource::Users, &[List, Get]).with_filters(&[
                FilterField::Email,
                FilterField::GroupId,
                FilterField::RoleId,
                FilterField::Status,
            ]),
            ResourceSupport::new(Resource::Groups, &[List, Get]),
            ResourceSupport::new(Resource::Roles, &[List, Get]),
            ResourceSupport::new(
                Resource::GroupMembers,
                &[
                    List,
                    Operation::Add,
                    Operation::ChangeRole,
                    Operation::Remove,
                ],
            )
            .with_filters(&[FilterField::RoleId]),
            ResourceSupport::new(Resource::UserGroups, &[List]),
        ];
        if has_me {
            resources.push(ResourceSupport::new(Resource::Me, &[Get]));
        }
        let roleless = self
            .read()
            .groups
            .iter()
            .any(|g| g.has_roles == Some(false));
        let group_roles = if roleless {
            GroupRoles::PerGroup
        } else {
            GroupRoles::Always
        };
        Ok(Capabilities::new(PROVIDER, resources).with_group_roles(group_roles))
    }

    async fn me(&self, options: &GetOptions) -> Result<Me> {
        let state = self.read();
        let seed = state
            .me
            .clone()
            .ok_or_else(|| Error::unsupported(PROVIDER, "me"))?;
        let user = state
            .users
            .iter()
            .find(|u| u.id == seed.user_id)
            .map(|u| state.view_user(u, options.include_remote_data))
            .ok_or_else(|| Self::not_found("me", "user", &seed.user_id))?;
        let organizations = state
            .organizations
            .iter()
            .map(|o| crate::model::OrganizationRef {
                id: o.id.clone(),
                name: o.name.clone(),
                slug: o.slug.clone(),
            })
            .collect();
        Ok(Me {
            user,
            scopes: seed.scopes,
            organizations,
            credential: None,
            remote_data: None,
        })
    }

    async fn list_organizations(&self, query: &ListQuery) -> Result<Page<Organization>> {
        const OP: &str = "list_organizations";
        ensure_filters(PROVIDER, OP, &query.filters, &[])?;
        let binding = CursorBinding::new(PROVIDER, Resource::Organizations, &query.filters, &[]);
        let items = self
            .read()
            .organizations
            .iter()
            .map(|o| o.clone().strip_remote(query.include_remote_data))
            .collect();
        page_of(items, query, &binding).map_err(|e| tag(e, OP))
    }

    async fn get_organization(&self, id: &str, options: &GetOptions) -> Result<Organization> {
        self.read()
            .organizations
            .iter()
            .find(|o| o.id == id || o.slug.as_deref() == Some(id))
            .map(|o| o.clone().strip_remote(options.include_remote_data))
            .ok_or_else(|| Self::not_found("get_organization", "organization", id))
    }

    async fn list_users(&self, query: &ListQuery) -> Result<Page<User>> {
        const OP: &str = "list_users";
        let binding = CursorBinding::new(PROVIDER, Resource::Users, &query.filters, &[]);
        let state = self.read();
        let items = state
            .users
            .iter()
            .filter(|u| state.user_matches(u, query))
            .map(|u| state.view_user(u, query.include_remote_data))
            .collect();
        page_of(items, query, &binding).map_err(|e| tag(e, OP))
    }

    async fn get_user(&self, id: &str, options: &GetOptions) -> Result<User> {
        let state = self.read();
        state
            .users
            .iter()
            .find(|u| u.id == id)
            .map(|u| state.view_user(u, options.include_remote_data))
            .ok_or_else(|| Self::not_found("get_user", "user", id))
    }

    async fn list_groups(&self, query: &ListQuery) -> Result<Page<Group>> {
        const OP: &str = "list_groups";
        ensure_filters(PROVIDER, OP, &query.filters, &[])?;
        let binding = CursorBinding::new(PROVIDER, Resource::Groups, &query.filters, &[]);
        let items = self
            .read()
            .groups
            .iter()
            .map(|g| g.clone().strip_remote(query.include_remote_data))
            .collect();
        page_of(items, query, &binding).map_err(|e| tag(e, OP))
    }

    async fn get_group(&self, id: &str, options: &GetOptions) -> Result<Group> {
        self.read()
            .groups
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.clone().strip_remote(options.include_remote_data))
            .ok_or_else(|| Self::not_found("get_group", "group", id))
    }

    async fn list_roles(&self, query: &ListQuery) -> Result<Page<Role>> {
        const OP: &str = "list_roles";
        ensure_filters(PROVIDER, OP, &query.filters, &[])?;
        let binding = CursorBinding::new(PROVIDER, Resource::Roles, &query.filters, &[]);
        let items = self
            .read()
            .roles
            .iter()
            .map(|r| r.clone().strip_remote(query.include_remote_data))
            .collect();
        page_of(items, query, &binding).map_err(|e| tag(e, OP))
    }

    async fn get_role(&self, id: &str, options: &GetOptions) -> Result<Role> {
        self.read()
            .roles
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.clone().strip_remote(options.include_remote_data))
            .ok_or_else(|| Self::not_found("get_role", "role", id))
    }

    async fn list_group_members(
        &self,
        group_id: &str,
        query: &ListQuery,
    ) -> Result<Page<GroupMembership>> {
        const OP: &str = "list_group_members";
        ensure_filters(PROVIDER, OP, &query.filters, &[FilterField::RoleId])?;
        let binding = CursorBinding::new(
            PROVIDER,
            Resource::GroupMembers,
            &query.filters,
            &[group_id],
        );
        let state = self.read();
        if !state.groups.iter().any(|g| g.id == group_id) {
            return Err(Self::not_found(OP, "group", group_id));
        }
        let items = state
            .memberships
            .iter()
            .filter(|m| m.group_id == group_id)
            .filter(|m| {
                query
                    .filters
                    .role_id
                    .as_ref()
                    .is_none_or(|r| m.role_id.as_ref() == Some(r))
            })
            .map(|m| m.clone().strip_remote(query.include_remote_data))
            .collect();
        page_of(items, query, &binding).map_err(|e| tag(e, OP))
    }

    async fn list_user_groups(&self, user_id: &str, query: &ListQuery) -> Result<Page<Group>> {
        const OP: &str = "list_user_groups";
        ensure_filters(PROVIDER, OP, &query.filters, &[])?;
        let binding =
            CursorBinding::new(PROVIDER, Resource::UserGroups, &query.filters, &[user_id]);
        let state = self.read();
        if !state.users.iter().any(|u| u.id == user_id) {
            return Err(Self::not_found(OP, "user", user_id));
        }
        let items = state
            .groups
            .iter()
            .filter(|g| {
                state
                    .memberships
                    .iter()
                    .any(|m| m.user_id == user_id && m.group_id == g.id)
            })
            .map(|g| g.clone().strip_remote(query.include_remote_data))
            .collect();
        page_of(items, query, &binding).map_err(|e| tag(e, OP))
    }

    async fn add_group_member(
        &self,
        group_id: &str,
        user: &UserRef,
        role_id: Option<&str>,
    ) -> Result<MembershipResult> {
        let mut state = self.write();
        let role = state.role_for(group_id, role_id, "add_group_member")?;
        Ok(state.set_role(group_id, user, role, true))
    }

    async fn change_group_member_role(
        &self,
        group_id: &str,
        user: &UserRef,
        role_id: &str,
    ) -> Result<MembershipResult> {
        let mut state = self.write();
        let role = state.role_for(group_id, Some(role_id), "change_group_member_role")?;
        Ok(state.set_role(group_id, user, role, false))
    }

    async fn remove_group_member(
        &self,
        group_id: &str,
        user: &UserRef,
    ) -> Result<MembershipResult> {
        let mut state = self.write();
        let (user_id, current) = match state.target(group_id, user) {
            Target::Stop(result) => return Ok(result),
            Target::Ready { user_id, current } => (user_id, current),
        };
        let (outcome, previous) = match current {
            Some(i) => (Outcome::Removed, state.memberships.remove(i).role_id),
            None => (Outcome::AlreadyAbsent, None),
        };
        Ok(MembershipResult {
            outcome,
            group_id: group_id.to_owned(),
            user_id: Some(user_id),
            role_id: None,
            previous_role_id: previous,
        })
    }
}
