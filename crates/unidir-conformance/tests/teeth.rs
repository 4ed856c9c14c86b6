//! The suite fails adapters that break the contract: each wrapper below is the memory
//! directory with one rule broken, and the check that guards that rule must fail.

use unidir_conformance::{Status, World, memory_directory, run_all};
use unidir_core::{
    Capabilities, Directory, ErrorKind, GetOptions, Group, GroupMembership, GroupRoles, ListQuery,
    Me, MembershipResult, MemoryDirectory, Operation, Organization, Outcome, Page, Resource,
    ResourceSupport, Result, Role, User, UserRef, async_trait,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// An invalid cursor silently restarts the user list.
    RestartsOnBadCursor,
    /// The group list drops filters it does not support instead of refusing them.
    IgnoresUndeclaredFilter,
    /// The role list ignores the page size.
    OverfullRolePages,
    /// Adding members works but is not declared.
    HidesAdd,
    /// Re-adding a member with the same role claims to create it.
    AlwaysCreated,
    /// Declares `me` without implementing it.
    ClaimsMe,
    /// One user is missing from the user list.
    DropsAUser,
    /// Cursors stay valid when the filters change.
    UnboundCursor,
    /// Says every group has roles, though one has none.
    HidesRolelessGroups,
}

#[derive(Debug)]
struct Broken {
    inner: MemoryDirectory,
    fault: Fault,
}

#[async_trait]
impl Directory for Broken {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    async fn capabilities(&self) -> Result<Capabilities> {
        let mut caps = self.inner.capabilities().await?;
        match self.fault {
            Fault::HidesAdd => {
                for r in &mut caps.resources {
                    r.operations.retain(|o| *o != Operation::Add);
                }
            }
            Fault::ClaimsMe if caps.resource(Resource::Me).is_none() => caps
                .resources
                .push(ResourceSupport::new(Resource::Me, &[Operation::Get])),
            Fault::HidesRolelessGroups => caps.group_roles = GroupRoles::Always,
            _ => {}
        }
        Ok(caps)
    }

    async fn me(&self, options: &GetOptions) -> Result<Me> {
        self.inner.me(options).await
    }

    async fn list_organizations(&self, query: &ListQuery) -> Result<Page<Organization>> {
        self.inner.list_organizations(query).await
    }

    async fn get_organization(&self, id: &str, options: &GetOptions) -> Result<Organization> {
        self.inner.get_organization(id, options).await
    }

    async fn list_users(&self, query: &ListQuery) -> Result<Page<User>> {
        match self.fault {
            Fault::RestartsOnBadCursor => match self.inner.list_users(query).await {
                Err(e) if e.kind() == ErrorKind::InvalidCursor => {
                    let mut fresh = query.clone();
                    fresh.cursor = None;
                    self.inner.list_users(&fresh).await
                }
                other => other,
            },
            Fault::DropsAUser => {
                let mut page = self.inner.list_users(query).await?;
                page.result
                    .retain(|u| !u.has_email("eve@conformance.example"));
                Ok(page)
            }
            Fault::UnboundCursor if query.cursor.is_some() => {
                // Reads the position from a cursor issued for the unfiltered list.
                let mut unfiltered = query.clone();
                unfiltered.filters = Default::default();
                let mut page = self.inner.list_users(&unfiltered).await?;
                if let Some(email) = &query.filters.email {
                    page.result.retain(|u| u.has_email(email));
                }
                Ok(page)
            }
            _ => self.inner.list_users(query).await,
        }
    }

    async fn get_user(&self, id: &str, options: &GetOptions) -> Result<User> {
        self.inner.get_user(id, options).await
    }

    async fn list_groups(&self, query: &ListQuery) -> Result<Page<Group>> {
        if self.fault == Fault::IgnoresUndeclaredFilter {
            let mut unfiltered = query.clone();
            unfiltered.filters = Default::default();
            return self.inner.list_groups(&unfiltered).await;
        }
        let mut page = self.inner.list_groups(query).await?;
        if self.fault == Fault::HidesRolelessGroups {
            for group in &mut page.result {
                group.has_roles = None;
            }
        }
        Ok(page)
    }

    async fn get_group(&self, id: &str, options: &GetOptions) -> Result<Group> {
        self.inner.get_group(id, options).await
    }

    async fn list_roles(&self, query: &ListQuery) -> Result<Page<Role>> {
        if self.fault == Fault::OverfullRolePages {
            let mut unlimited = query.clone();
            unlimited.limit = None;
            return self.inner.list_roles(&unlimited).await;
        }
        self.inner.list_roles(query).await
    }

    async fn get_role(&self, id: &str, options: &GetOptions) -> Result<Role> {
        self.inner.get_role(id, options).await
    }

    async fn list_group_members(
        &self,
        group_id: &str,
        query: &ListQuery,
    ) -> Result<Page<GroupMembership>> {
        self.inner.list_group_members(group_id, query).await
    }

    async fn list_user_groups(&self, user_id: &str, query: &ListQuery) -> Result<Page<Group>> {
        self.inner.list_user_groups(user_id, query).await
    }

    async fn add_group_member(
        &self,
        group_id: &str,
        user: &UserRef,
        role_id: Option<&str>,
    ) -> Result<MembershipResult> {
        let mut result = self.inner.add_group_member(group_id, user, role_id).await?;
        if self.fault == Fault::AlwaysCreated && result.outcome == Outcome::Unchanged {
            result.outcome = Outcome::Created;
        }
        Ok(result)
    }

    async fn change_group_member_role(
        &self,
        group_id: &str,
        user: &UserRef,
        role_id: &str,
    ) -> Result<MembershipResult> {
        self.inner
            .change_group_member_role(group_id, user, role_id)
            .await
    }

    async fn remove_group_member(
        &self,
        group_id: &str,
        user: &UserRef,
    ) -> Result<MembershipResult> {
        self.inner.remove_group_member(group_id, user).await
    }
}

#[tokio::test]
async fn each_broken_rule_fails_the_check_that_guards_it() {
    let cases = [
        (
            Fault::RestartsOnBadCursor,
            "paging.users.invalid_cursor_refused",
        ),
        (Fault::IgnoresUndeclaredFilter, "filters.undeclared_refused"),
        (Fault::OverfullRolePages, "paging.roles.every_item_once"),
        (Fault::HidesAdd, "capabilities.undeclared_unsupported"),
        (Fault::AlwaysCreated, "provision.add"),
        (Fault::ClaimsMe, "capabilities.declared_work"),
        (Fault::DropsAUser, "listing.users"),
        (Fault::UnboundCursor, "paging.users.cursor_bound_to_query"),
        (Fault::HidesRolelessGroups, "provision.roleless_group"),
    ];
    for (fault, check) in cases {
        let mut world = if fault == Fault::HidesRolelessGroups {
            World::mixed()
        } else {
            World::small()
        };
        if fault == Fault::ClaimsMe {
            world.me = None;
        }
        let inner = memory_directory(&world).expect("valid world");
        let report = run_all(&Broken { inner, fault }, &world).await;
        let status = report.check(check).map(|c| &c.status);
        assert!(
            matches!(status, Some(Status::Failed(_))),
            "{fault:?} should fail {check}, got {status:?}\n{report}"
        );
    }
}

#[tokio::test]
async fn an_undeclared_operation_skips_its_checks() {
    let world = World::small();
    let inner = memory_directory(&world).expect("valid world");
    let report = run_all(
        &Broken {
            inner,
            fault: Fault::HidesAdd,
        },
        &world,
    )
    .await;
    for check in ["provision.add", "provision.plan_apply_converges"] {
        assert!(
            matches!(
                report.check(check).map(|c| &c.status),
                Some(Status::Skipped(why)) if why.contains("group_members.add")
            ),
            "{check}\n{report}"
        );
    }
}
