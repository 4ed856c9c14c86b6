//! What every suite starts from: the directory, its declared capabilities, the world, and
//! the world's names resolved to the directory's ids; plus the shared probes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use futures::TryStreamExt;
use unidir_core::{
    Capabilities, Directory, DirectoryExt, Error, ErrorKind, FilterField, Group, ListQuery,
    Operation, Organization, Page, Resource, Role, RoleScope, User,
};

use crate::world::{World, WorldGroup};

/// Fails the enclosing check with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}
pub(crate) use ensure;

/// The most pages a check walks before calling the list endless.
pub(crate) const MAX_CHECK_PAGES: usize = 1_000;

/// The directory and the world, resolved.
pub(crate) struct Ctx<'a> {
    pub(crate) dir: &'a dyn Directory,
    pub(crate) world: &'a World,
    pub(crate) caps: Capabilities,
    org: Result<Option<Organization>, String>,
    users: Result<BTreeMap<String, User>, String>,
    groups: Result<BTreeMap<String, Group>, String>,
    roles: Result<Vec<Role>, String>,
}

/// Walks a whole list through the stream helpers (deduplicating), as a caller would.
async fn everything<T>(
    declared: bool,
    what: &str,
    walk: impl Future<Output = unidir_core::Result<Vec<T>>>,
) -> Result<Vec<T>, String> {
    if !declared {
        return Err(format!("{what} are not listable (undeclared)"));
    }
    walk.await.map_err(|e| format!("listing {what}: {e}"))
}

impl<'a> Ctx<'a> {
    /// Reads the capabilities and lists users, groups, roles and organizations to find the
    /// world's objects. Fails only when the world is invalid or `capabilities()` fails;
    /// a list that fails makes the checks that need its ids fail with that error.
    pub(crate) async fn prepare(dir: &'a dyn Directory, world: &'a World) -> Result<Self, String> {
        world
            .validate()
            .map_err(|e| format!("invalid world: {e}"))?;
        let caps = dir
            .capabilities()
            .await
            .map_err(|e| format!("capabilities(): {e}"))?;
        let list = |r| caps.supports(r, Operation::List);
        let users = everything(
            list(Resource::Users),
            "users",
            dir.users(ListQuery::new()).try_collect(),
        )
        .await
        .map(|all: Vec<User>| {
            all.into_iter()
                .filter_map(|u| Some((u.primary_email()?.to_ascii_lowercase(), u)))
                .collect()
        });
        let groups = everything(
            list(Resource::Groups),
            "groups",
            dir.groups(ListQuery::new()).try_collect(),
        )
        .await
        .map(|all: Vec<Group>| all.into_iter().map(|g| (g.name.clone(), g)).collect());
        let roles = everything(
            list(Resource::Roles),
            "roles",
            dir.roles(ListQuery::new()).try_collect(),
        )
        .await;
        let org = everything(
            list(Resource::Organizations),
            "organizations",
            dir.organizations(ListQuery::new()).try_collect(),
        )
        .await
        .map(|all: Vec<Organization>| {
            all.into_iter().find(|o| {
                o.slug.as_deref() == Some(world.organization.slug.as_str())
                    || o.name == world.organization.name
            })
        });
        Ok(Self {
            dir,
            world,
            caps,
            org,
            users,
            groups,
            roles,
        })
    }

    /// `Some(reason)` when one of `needs` is not declared (or not available).
    pub(crate) fn undeclared(&self, needs: &[(Resource, Operation)]) -> Option<String> {
        let missing: Vec<String> = needs
            .iter()
            .filter(|(r, o)| !self.caps.supports(*r, *o))
            .map(|(r, o)| format!("{}.{}", r.as_str(), op_name(*o)))
            .collect();
        (!missing.is_empty()).then(|| format!("undeclared: {}", missing.join(", ")))
    }

    /// Whether the list of `resource` declares `filter`.
    pub(crate) fn declares_filter(&self, resource: Resource, filter: FilterField) -> bool {
        self.caps
            .resource(resource)
            .is_some_and(|r| r.filters.contains(&filter))
    }

    /// `Some(reason)` when the list of `resource` does not declare `filter`.
    pub(crate) fn undeclared_filter(
        &self,
        resource: Resource,
        filter: FilterField,
    ) -> Option<String> {
        (!self.declares_filter(resource, filter))
            .then(|| format!("undeclared: {} filter {filter:?}", resource.as_str()))
    }

    /// The world's organization as the directory lists it.
    pub(crate) fn org(&self) -> Result<&Organization, String> {
        match &self.org {
            Ok(Some(org)) => Ok(org),
            Ok(None) => Err(format!(
                "organization {} ({}) is not among the listed organizations",
                self.world.organization.name, self.world.organization.slug
            )),
            Err(e) => Err(e.clone()),
        }
    }

    /// Every listed user, by lowercase primary e-mail.
    pub(crate) fn users(&self) -> Result<&BTreeMap<String, User>, String> {
        self.users.as_ref().map_err(Clone::clone)
    }

    /// Every listed group, by name.
    pub(crate) fn groups(&self) -> Result<&BTreeMap<String, Group>, String> {
        self.groups.as_ref().map_err(Clone::clone)
    }

    /// Every listed role.
    pub(crate) fn roles(&self) -> Result<&[Role], String> {
        self.roles.as_deref().map_err(Clone::clone)
    }

    /// The listed user with e-mail `email`.
    pub(crate) fn user(&self, email: &str) -> Result<&User, String> {
        self.users()?
            .get(&email.to_ascii_lowercase())
            .ok_or_else(|| format!("world user {email} is not among the listed users"))
    }

    /// The directory id of the world user with e-mail `email`.
    pub(crate) fn user_id(&self, email: &str) -> Result<String, String> {
        Ok(self.user(email)?.id.clone())
    }

    /// The listed group named `name`.
    pub(crate) fn group(&self, name: &str) -> Result<&Group, String> {
        self.groups()?
            .get(name)
            .ok_or_else(|| format!("world group {name} is not among the listed groups"))
    }

    /// The directory id of the role `key` of `scope` (id `key`, id ending in `:key`, or name
    /// `key` ignoring case).
    pub(crate) fn role_id(&self, key: &str, scope: &RoleScope) -> Result<String, String> {
        let roles = self.roles()?;
        let matching = |r: &&Role| {
            &r.scope == scope
                && (r.id == key
                    || r.id.rsplit(':').next() == Some(key)
                    || r.name.eq_ignore_ascii_case(key))
        };
        roles
            .iter()
            .find(matching)
            .map(|r| r.id.clone())
            .ok_or_else(|| format!("world role {key} ({scope}) is not among the listed roles"))
    }

    /// The directory id of group role `key`, or `""` for no role (as
    /// [`Ctx::live_members`] shows a membership without one).
    fn member_role_id(&self, key: Option<&str>) -> Result<String, String> {
        key.map_or_else(
            || Ok(String::new()),
            |key| self.role_id(key, &RoleScope::Group),
        )
    }

    /// `(user id, role id)` of every member of `group`, as the world says (`""`: no role).
    pub(crate) fn expected_members(
        &self,
        group: &WorldGroup,
    ) -> Result<BTreeSet<(String, String)>, String> {
        group
            .members
            .iter()
            .map(|m| {
                Ok((
                    self.user_id(&m.email)?,
                    self.member_role_id(m.role.as_deref())?,
                ))
            })
            .collect()
    }

    /// `(group id, role id)` of every group of `email`, as the world says (`""`: no role).
    pub(crate) fn expected_groups_of(
        &self,
        email: &str,
    ) -> Result<BTreeSet<(String, String)>, String> {
        self.world
            .groups_of(email)
            .map(|(g, role)| Ok((self.group(&g.name)?.id.clone(), self.member_role_id(role)?)))
            .collect()
    }

    /// `(user id, role id)` of every member of `group_id`, read now (`""`: no role).
    pub(crate) async fn live_members(
        &self,
        group_id: &str,
    ) -> Result<BTreeSet<(String, String)>, String> {
        let all: Vec<_> = self
            .dir
            .group_members(group_id, ListQuery::new())
            .try_collect()
            .await
            .map_err(|e| format!("listing the members of {group_id}: {e}"))?;
        Ok(all
            .into_iter()
            .map(|m| (m.user_id, m.role_id.unwrap_or_default()))
            .collect())
    }

    /// Fails unless `group`'s live members are what the world says.
    pub(crate) async fn members_as_world(
        &self,
        group: &WorldGroup,
        when: &str,
    ) -> Result<(), String> {
        let id = self.group(&group.name)?.id.clone();
        let live = self.live_members(&id).await?;
        let expected = self.expected_members(group)?;
        ensure!(
            live == expected,
            "{when}: members of {} are {live:?}, the world says {expected:?}",
            group.name
        );
        Ok(())
    }

    /// Unwraps a call that must succeed.
    pub(crate) fn ok<T>(&self, result: unidir_core::Result<T>, what: &str) -> Result<T, String> {
        result.map_err(|e| format!("{what}: expected success, got {:?} error: {e}", e.kind()))
    }

    /// Fails unless `result` is an error of one of `kinds` that names this provider and an
    /// operation.
    pub(crate) fn refused<T: Debug>(
        &self,
        result: unidir_core::Result<T>,
        kinds: &[ErrorKind],
        what: &str,
    ) -> Result<Error, String> {
        let error = match result {
            Ok(value) => {
                let mut shown = format!("{value:?}");
                shown.truncate(200);
                return Err(format!(
                    "{what}: expected a {kinds:?} error, got Ok({shown})"
                ));
            }
            Err(e) => e,
        };
        ensure!(
            kinds.contains(&error.kind()),
            "{what}: expected a {kinds:?} error, got {:?}: {error}",
            error.kind()
        );
        ensure!(
            error.provider() == self.dir.provider(),
            "{what}: the error names provider {:?}, not {:?}",
            error.provider(),
            self.dir.provider()
        );
        ensure!(
            !error.operation().is_empty() && error.operation() != "unknown",
            "{what}: the error names no operation: {error}"
        );
        Ok(error)
    }
}

/// The snake_case name of an operation.
pub(crate) fn op_name(op: Operation) -> &'static str {
    op.as_str()
}

/// One list operation of the trait, with its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum List {
    Organizations,
    Users,
    Groups,
    Roles,
    GroupMembers(String),
    UserGroups(String),
}

/// What the checks need of a listed item.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// Its id (for memberships, the user's id).
    pub(crate) key: String,
    /// Whether it carries `remote_data`.
    pub(crate) remote: bool,
}

fn items<T>(page: Page<T>, key: impl Fn(&T) -> (String, bool)) -> Page<Item> {
    page.map(|t| {
        let (key, remote) = key(&t);
        Item { key, remote }
    })
}

impl List {
    pub(crate) fn resource(&self) -> Resource {
        match self {
            Self::Organizations => Resource::Organizations,
            Self::Users => Resource::Users,
            Self::Groups => Resource::Groups,
            Self::Roles => Resource::Roles,
            Self::GroupMembers(_) => Resource::GroupMembers,
            Self::UserGroups(_) => Resource::UserGroups,
        }
    }

    /// The id the list is scoped to (group or user), if any.
    pub(crate) fn scope(&self) -> Vec<&str> {
        match self {
            Self::GroupMembers(id) | Self::UserGroups(id) => vec![id.as_str()],
            _ => Vec::new(),
        }
    }

    /// The same list scoped to another id.
    pub(crate) fn rescoped(&self, id: &str) -> Self {
        match self {
            Self::GroupMembers(_) => Self::GroupMembers(id.to_owned()),
            Self::UserGroups(_) => Self::UserGroups(id.to_owned()),
            other => other.clone(),
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        self.resource().as_str()
    }

    /// One page.
    pub(crate) async fn page(
        &self,
        dir: &dyn Directory,
        query: &ListQuery,
    ) -> unidir_core::Result<Page<Item>> {
        Ok(match self {
            Self::Organizations => items(dir.list_organizations(query).await?, |o| {
                (o.id.clone(), o.remote_data.is_some())
            }),
            Self::Users => items(dir.list_users(query).await?, |u| {
                (u.id.clone(), u.remote_data.is_some())
            }),
            Self::Groups => items(dir.list_groups(query).await?, |g| {
                (g.id.clone(), g.remote_data.is_some())
            }),
            Self::Roles => items(dir.list_roles(query).await?, |r| {
                (r.id.clone(), r.remote_data.is_some())
            }),
            Self::GroupMembers(group) => items(dir.list_group_members(group, query).await?, |m| {
                (m.user_id.clone(), m.remote_data.is_some())
            }),
            Self::UserGroups(user) => items(dir.list_user_groups(user, query).await?, |g| {
                (g.id.clone(), g.remote_data.is_some())
            }),
        })
    }

    /// Every page of the list for `query`, following `next_cursor` by hand (no
    /// deduplication), checking that no page holds more than the limit and that the walk
    /// ends.
    pub(crate) async fn walk(
        &self,
        dir: &dyn Directory,
        query: ListQuery,
    ) -> Result<Vec<Page<Item>>, String> {
        let mut pages = Vec::new();
        let mut query = query;
        loop {
            let page = self
                .page(dir, &query)
                .await
                .map_err(|e| format!("{} page {}: {e}", self.name(), pages.len() + 1))?;
            if let Some(limit) = query.limit {
                ensure!(
                    page.result_count() <= limit as usize,
                    "{} page {} holds {} items for limit {limit}",
                    self.name(),
                    pages.len() + 1,
                    page.result_count()
                );
            }
            let next = page.next_cursor.clone();
            pages.push(page);
            match next {
                None => return Ok(pages),
                Some(cursor) => {
                    ensure!(
                        pages.len() < MAX_CHECK_PAGES,
                        "{} did not end within {MAX_CHECK_PAGES} pages",
                        self.name()
                    );
                    query.cursor = Some(cursor);
                }
            }
        }
    }
}

/// The keys of every item of a walk, in order.
pub(crate) fn keys(pages: &[Page<Item>]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p.result.iter().map(|i| i.key.clone()))
        .collect()
}

/// Fails when a key occurs twice.
pub(crate) fn once_each(what: &str, keys: &[String]) -> Result<BTreeSet<String>, String> {
    let mut set = BTreeSet::new();
    for key in keys {
        ensure!(set.insert(key.clone()), "{what}: {key} was returned twice");
    }
    Ok(set)
}
