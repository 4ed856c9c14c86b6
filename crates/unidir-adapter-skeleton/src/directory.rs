//! The toy [`Directory`].
//!
//! Requests per call (`n` = page size, at most 50):
//!
//! | Operation | Requests |
//! |---|---|
//! | `capabilities` | none (the toy's tokens have no scopes to read) |
//! | `me` | `GET /api/me` + `GET /api/org` |
//! | `list_organizations` | `GET /api/org` (one page of one) |
//! | `list_users` (filter: `email`) | 1 × `GET /api/users` |
//! | `get_user` / `get_group` | 1 × `GET /api/users/{id}` / `GET /api/groups/{id}` |
//! | `list_groups` / `list_roles` | 1 × `GET /api/groups` / `GET /api/roles` |
//! | `list_group_members` | 1 × `GET /api/groups/{id}/members` |
//!
//! Everything else (`get_organization`, `get_role`, `list_user_groups`, the membership
//! writes) keeps the trait's default: an `Unsupported` error, and `capabilities()` does not
//! declare it.

use async_trait::async_trait;
use serde_json::Value;
use unidir_core::{
    Capabilities, CursorBinding, Directory, Error, FilterField, GetOptions, Group, GroupMembership,
    ListQuery, Me, Operation, Organization, Page, Resource, ResourceSupport, Result, Role, User,
    WalkLimits, ensure_filters,
};

use crate::PROVIDER;
use crate::api::{Api, check_id, tag};
use crate::config::ToyBuilder;
use crate::paging::List;
use crate::wire::{ToyGroup, ToyMember, ToyOrg, ToyRole, ToyUser, decode};

/// A [`Directory`] over the toy API. Build one with [`Toy::builder`].
#[derive(Debug)]
pub struct Toy {
    api: Api,
    walk_limits: WalkLimits,
}

/// The raw JSON to keep as `remote_data`, when the caller asked for it.
fn raw(value: &Value, include: bool) -> Option<Value> {
    include.then(|| value.clone())
}

impl Toy {
    /// Starts a builder.
    pub fn builder() -> ToyBuilder {
        ToyBuilder::default()
    }

    pub(crate) fn new(api: Api, walk_limits: WalkLimits) -> Self {
        Self { api, walk_limits }
    }

    /// One page of `list`, each raw item mapped by `map` (which gets `remote_data` to keep).
    async fn page<T>(
        &self,
        list: List<'_>,
        query: &ListQuery,
        map: impl Fn(&'static str, &Value, Option<Value>) -> Result<T>,
    ) -> Result<Page<T>> {
        let op = list.operation;
        let page = list.fetch(&self.api, query, &self.walk_limits).await?;
        let items = page
            .items
            .iter()
            .map(|item| map(op, item, raw(item, query.include_remote_data)))
            .collect::<Result<_>>()?;
        Ok(Page::new(items, page.next, page.prev))
    }

    async fn org(&self, operation: &'static str) -> Result<(ToyOrg, Value)> {
        let value = self.api.get(operation, &["org"], &[]).await?;
        Ok((decode(operation, "organization", &value)?, value))
    }
}

fn user(op: &'static str, value: &Value, raw: Option<Value>) -> Result<User> {
    Ok(decode::<ToyUser>(op, "user", value)?.into_user(raw))
}

fn group(op: &'static str, value: &Value, raw: Option<Value>) -> Result<Group> {
    Ok(decode::<ToyGroup>(op, "group", value)?.into_group(raw))
}

#[async_trait]
impl Directory for Toy {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn walk_limits(&self) -> WalkLimits {
        self.walk_limits
    }

    /// Exactly what is implemented below; no I/O, so it is the same on every call.
    async fn capabilities(&self) -> Result<Capabilities> {
        use Operation::{Get, List};
        let via = "toy REST API";
        Ok(Capabilities::new(
            PROVIDER,
            vec![
                ResourceSupport::new(Resource::Organizations, &[List]).via(via),
                ResourceSupport::new(Resource::Me, &[Get]).via(via),
                ResourceSupport::new(Resource::Users, &[List, Get])
                    .with_filters(&[FilterField::Email])
                    .via(via),
                ResourceSupport::new(Resource::Groups, &[List, Get]).via(via),
                ResourceSupport::new(Resource::Roles, &[List]).via(via),
                ResourceSupport::new(Resource::GroupMembers, &[List]).via(via),
            ],
        ))
    }

    async fn me(&self, options: &GetOptions) -> Result<Me> {
        let op = "me";
        let value = self.api.get(op, &["me"], &[]).await?;
        let user_value = value.get("user").unwrap_or(&Value::Null);
        let user = user(op, user_value, raw(user_value, options.include_remote_data))?;
        let scopes = value
            .get("scopes")
            .map(|s| decode::<Vec<String>>(op, "scope list", s))
            .transpose()?
            .unwrap_or_default();
        let (org, _) = self.org(op).await?;
        Ok(Me::new(user)
            .with_scopes(scopes)
            .with_organizations(vec![org.into_ref()])
            .with_remote_data(raw(&value, options.include_remote_data)))
    }

    /// The token reaches one organization: one page of one, and no cursor is ever issued.
    async fn list_organizations(&self, query: &ListQuery) -> Result<Page<Organization>> {
        let op = "list_organizations";
        ensure_filters(PROVIDER, op, &query.filters, &[])?;
        query.page_size(1, 1).map_err(tag(op))?;
        if let Some(cursor) = &query.cursor {
            // Decoding first gives the precise reason (garbage, another provider's, ...).
            CursorBinding::new(PROVIDER, Resource::Organizations, &query.filters, &[])
                .decode::<Value>(cursor)
                .map_err(tag(op))?;
            return Err(tag(op)(Error::invalid_cursor(
                "the organization list has a single page",
            )));
        }
        let (org, value) = self.org(op).await?;
        let raw = raw(&value, query.include_remote_data);
        Ok(Page::complete(vec![org.into_organization(raw)]))
    }

    async fn list_users(&self, query: &ListQuery) -> Result<Page<User>> {
        let op = "list_users";
        // An undeclared filter is refused, never ignored (an ignored filter would return
        // everyone as if they matched).
        ensure_filters(PROVIDER, op, &query.filters, &[FilterField::Email])?;
        let params = query
            .filters
            .email
            .iter()
            .map(|e| ("email", e.clone()))
            .collect();
        let list = List {
            operation: op,
            resource: Resource::Users,
            segments: &["users"],
            scope: &[],
            params,
        };
        self.page(list, query, user).await
    }

    async fn get_user(&self, id: &str, options: &GetOptions) -> Result<User> {
        let op = "get_user";
        check_id(op, "user", id)?;
        let value = self.api.get(op, &["users", id], &[]).await?;
        user(op, &value, raw(&value, options.include_remote_data))
    }

    async fn list_groups(&self, query: &ListQuery) -> Result<Page<Group>> {
        let op = "list_groups";
        ensure_filters(PROVIDER, op, &query.filters, &[])?;
        let list = List {
            operation: op,
            resource: Resource::Groups,
            segments: &["groups"],
            scope: &[],
            params: Vec::new(),
        };
        self.page(list, query, group).await
    }

    async fn get_group(&self, id: &str, options: &GetOptions) -> Result<Group> {
        let op = "get_group";
        check_id(op, "group", id)?;
        let value = self.api.get(op, &["groups", id], &[]).await?;
        group(op, &value, raw(&value, options.include_remote_data))
    }

    async fn list_roles(&self, query: &ListQuery) -> Result<Page<Role>> {
        let op = "list_roles";
        ensure_filters(PROVIDER, op, &query.filters, &[])?;
        let list = List {
            operation: op,
            resource: Resource::Roles,
            segments: &["roles"],
            scope: &[],
            params: Vec::new(),
        };
        self.page(list, query, |op, value, raw| {
            Ok(decode::<ToyRole>(op, "role", value)?.into_role(raw))
        })
        .await
    }

    async fn list_group_members(
        &self,
        group_id: &str,
        query: &ListQuery,
    ) -> Result<Page<GroupMembership>> {
        let op = "list_group_members";
        ensure_filters(PROVIDER, op, &query.filters, &[])?;
        check_id(op, "group", group_id)?;
        let list = List {
            operation: op,
            resource: Resource::GroupMembers,
            segments: &["groups", group_id, "members"],
            scope: &[group_id],
            params: Vec::new(),
        };
        self.page(list, query, |op, value, raw| {
            Ok(decode::<ToyMember>(op, "membership", value)?.into_membership(group_id, raw))
        })
        .await
    }
}
