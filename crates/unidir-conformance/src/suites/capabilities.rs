//! `capabilities()` tells the truth: what is declared works, what is not says `Unsupported`.

use std::collections::HashSet;

use unidir_core::{
    Directory, ErrorKind, GetOptions, ListQuery, Operation, Resource, Result, RoleScope, UserRef,
};

use crate::context::{Ctx, ensure, op_name};
use crate::report::Report;
use crate::world::World;

/// Every (resource, operation) the [`Directory`] trait has a method for.
pub(crate) const METHODS: [(Resource, Operation); 14] = [
    (Resource::Organizations, Operation::List),
    (Resource::Organizations, Operation::Get),
    (Resource::Users, Operation::List),
    (Resource::Users, Operation::Get),
    (Resource::Groups, Operation::List),
    (Resource::Groups, Operation::Get),
    (Resource::Roles, Operation::List),
    (Resource::Roles, Operation::Get),
    (Resource::Me, Operation::Get),
    (Resource::GroupMembers, Operation::List),
    (Resource::GroupMembers, Operation::Add),
    (Resource::GroupMembers, Operation::ChangeRole),
    (Resource::GroupMembers, Operation::Remove),
    (Resource::UserGroups, Operation::List),
];

/// Arguments that make every call harmless: real ids where the world resolves, writes that
/// change nothing (re-adding a member with the role it has, removing a non-member). An id
/// that does not resolve is replaced by [`World::absent_id`] and marked as made up.
struct Probe {
    org: (String, bool),
    org_slug: Option<String>,
    user: (String, bool),
    group: (String, bool),
    role: (String, bool),
    /// A member of `group` (not the credential's user) and the role they hold.
    member: Option<(String, String)>,
    /// A user outside `group` (not the credential's user).
    outsider: Option<String>,
}

impl Probe {
    fn new(ctx: &Ctx<'_>) -> Self {
        let world = ctx.world;
        let real = |found: Option<String>| match found {
            Some(id) => (id, true),
            None => (world.absent_id.clone(), false),
        };
        let org = real(ctx.org().ok().map(|o| o.id.clone()));
        let org_slug = ctx.org().ok().and_then(|o| o.slug.clone());
        let user = real(world.users.first().and_then(|u| ctx.user_id(&u.email).ok()));
        let role = real(
            world
                .roles
                .first()
                .and_then(|r| ctx.role_id(&r.key, &r.scope).ok()),
        );
        // A group with a member who is not the credential's user, resolved to ids.
        let with_member = world.groups.iter().find_map(|g| {
            let m = g.members.iter().find(|m| !world.is_me(&m.email))?;
            let id = ctx.group(&g.name).ok()?.id.clone();
            let member = ctx.user_id(&m.email).ok()?;
            let role = ctx.role_id(m.role.as_deref()?, &RoleScope::Group).ok()?;
            let outsider = world
                .users
                .iter()
                .find(|u| !world.is_me(&u.email) && !g.is_member(&u.email))
                .and_then(|u| ctx.user_id(&u.email).ok());
            Some((id, (member, role), outsider))
        });
        let (group, member, outsider) = match with_member {
            Some((group, member, outsider)) => ((group, true), Some(member), outsider),
            None => (
                real(
                    world
                        .groups
                        .first()
                        .and_then(|g| ctx.group(&g.name).ok())
                        .map(|g| g.id.clone()),
                ),
                None,
                None,
            ),
        };
        Self {
            org,
            org_slug,
            user,
            group,
            role,
            member,
            outsider,
        }
    }

    /// Calls the method of `(resource, op)`; also says whether every id it used is real.
    async fn call(&self, ctx: &Ctx<'_>, resource: Resource, op: Operation) -> (Result<()>, bool) {
        let dir: &dyn Directory = ctx.dir;
        let q = ListQuery::new().with_limit(1);
        let o = GetOptions::default();
        let absent = ctx.world.absent_id.as_str();
        let done = |r: Result<()>, real: bool| (r, real);
        match (resource, op) {
            (Resource::Organizations, Operation::List) => {
                done(dir.list_organizations(&q).await.map(drop), true)
            }
            (Resource::Organizations, Operation::Get) => {
                // By id, or by slug where the provider addresses organizations by slug (as
                // the trait allows).
                let by_id = dir.get_organization(&self.org.0, &o).await.map(drop);
                match (&by_id, &self.org_slug) {
                    (Err(e), Some(slug)) if e.kind() == ErrorKind::NotFound => {
                        done(dir.get_organization(slug, &o).await.map(drop), self.org.1)
                    }
                    _ => done(by_id, self.org.1),
                }
            }
            (Resource::Users, Operation::List) => done(dir.list_users(&q).await.map(drop), true),
            (Resource::Users, Operation::Get) => {
                done(dir.get_user(&self.user.0, &o).await.map(drop), self.user.1)
            }
            (Resource::Groups, Operation::List) => done(dir.list_groups(&q).await.map(drop), true),
            (Resource::Groups, Operation::Get) => done(
                dir.get_group(&self.group.0, &o).await.map(drop),
                self.group.1,
            ),
            (Resource::Roles, Operation::List) => done(dir.list_roles(&q).await.map(drop), true),
            (Resource::Roles, Operation::Get) => {
                done(dir.get_role(&self.role.0, &o).await.map(drop), self.role.1)
            }
            (Resource::Me, Operation::Get) => done(dir.me(&o).await.map(drop), true),
            (Resource::GroupMembers, Operation::List) => done(
                dir.list_group_members(&self.group.0, &q).await.map(drop),
                self.group.1,
            ),
            (Resource::UserGroups, Operation::List) => done(
                dir.list_user_groups(&self.user.0, &q).await.map(drop),
                self.user.1,
            ),
            (Resource::GroupMembers, Operation::Add | Operation::ChangeRole) => {
                // Without a known member: a group that does not exist, so nothing is written.
                let (group, user, role, real) = match &self.member {
                    Some((user, role)) => {
                        (self.group.0.as_str(), user.as_str(), role.as_str(), true)
                    }
                    None => (absent, self.user.0.as_str(), self.role.0.as_str(), false),
                };
                let user = UserRef::Id(user.to_owned());
                let result = if op == Operation::Add {
                    dir.add_group_member(group, &user, Some(role)).await
                } else {
                    dir.change_group_member_role(group, &user, role).await
                };
                done(result.map(drop), real)
            }
            (Resource::GroupMembers, Operation::Remove) => {
                let (group, user, real) = match &self.outsider {
                    Some(user) => (self.group.0.as_str(), user.as_str(), true),
                    None => (absent, self.user.0.as_str(), false),
                };
                let user = UserRef::Id(user.to_owned());
                done(dir.remove_group_member(group, &user).await.map(drop), real)
            }
            _ => done(Ok(()), true),
        }
    }
}

/// The capabilities checks.
pub async fn capabilities(directory: &dyn Directory, world: &World) -> Report {
    let mut report = Report::new(directory.provider());
    match Ctx::prepare(directory, world).await {
        Ok(ctx) => run(&ctx, &mut report).await,
        Err(e) => {
            report
                .run("capabilities.prepare", None, async { Err(e) })
                .await
        }
    }
    report
}

pub(crate) async fn run(ctx: &Ctx<'_>, report: &mut Report) {
    report
        .run("capabilities.consistent", None, consistent(ctx))
        .await;
    report
        .run("capabilities.declared_work", None, declared_work(ctx))
        .await;
    report
        .run(
            "capabilities.undeclared_unsupported",
            None,
            undeclared_unsupported(ctx),
        )
        .await;
    let unavailable = METHODS.iter().any(|(r, o)| {
        ctx.caps
            .resource(*r)
            .is_some_and(|s| !s.available && s.operations.contains(o))
    });
    report
        .run(
            "capabilities.unavailable_refused",
            (!unavailable).then(|| "every declared resource is available".to_owned()),
            unavailable_refused(ctx),
        )
        .await;
}

/// The declaration is well formed and stable.
async fn consistent(ctx: &Ctx<'_>) -> std::result::Result<(), String> {
    let caps = &ctx.caps;
    ensure!(
        caps.provider == ctx.dir.provider(),
        "capabilities name provider {:?}, the directory {:?}",
        caps.provider,
        ctx.dir.provider()
    );
    let mut seen = HashSet::new();
    for r in &caps.resources {
        ensure!(
            seen.insert(r.resource),
            "{} is declared twice",
            r.resource.as_str()
        );
        for op in &r.operations {
            ensure!(
                METHODS.contains(&(r.resource, *op)),
                "{}.{} is declared, but the Directory trait has no such method",
                r.resource.as_str(),
                op_name(*op)
            );
        }
        ensure!(
            r.filters.is_empty() || r.operations.contains(&Operation::List),
            "{} declares filters but no list",
            r.resource.as_str()
        );
        let filters: HashSet<_> = r.filters.iter().collect();
        ensure!(
            filters.len() == r.filters.len(),
            "{} declares a filter twice",
            r.resource.as_str()
        );
    }
    let again = ctx
        .dir
        .capabilities()
        .await
        .map_err(|e| format!("capabilities() a second time: {e}"))?;
    ensure!(
        again == *caps,
        "capabilities() changed between two calls with nothing in between"
    );
    Ok(())
}

async fn declared_work(ctx: &Ctx<'_>) -> std::result::Result<(), String> {
    let probe = Probe::new(ctx);
    for (resource, op) in METHODS {
        if !ctx.caps.supports(resource, op) {
            continue;
        }
        let what = format!("{}.{} (declared)", resource.as_str(), op_name(op));
        match probe.call(ctx, resource, op).await {
            (Ok(()), _) => {}
            // A made-up id may be refused as absent: the call itself is implemented.
            (Err(e), false) if e.kind() == ErrorKind::NotFound => {}
            (Err(e), _) => return Err(format!("{what}: {:?} error: {e}", e.kind())),
        }
    }
    Ok(())
}

async fn undeclared_unsupported(ctx: &Ctx<'_>) -> std::result::Result<(), String> {
    let probe = Probe::new(ctx);
    for (resource, op) in METHODS {
        let declared = ctx
            .caps
            .resource(resource)
            .is_some_and(|s| s.operations.contains(&op));
        if declared {
            continue;
        }
        let what = format!("{}.{} (undeclared)", resource.as_str(), op_name(op));
        ctx.refused(
            probe.call(ctx, resource, op).await.0,
            &[ErrorKind::Unsupported],
            &what,
        )?;
    }
    Ok(())
}

/// Declared but unavailable to this credential (a missing scope): refused, not attempted.
async fn unavailable_refused(ctx: &Ctx<'_>) -> std::result::Result<(), String> {
    let probe = Probe::new(ctx);
    for (resource, op) in METHODS {
        let unavailable = ctx
            .caps
            .resource(resource)
            .is_some_and(|s| !s.available && s.operations.contains(&op));
        if !unavailable {
            continue;
        }
        let what = format!("{}.{} (unavailable)", resource.as_str(), op_name(op));
        ctx.refused(
            probe.call(ctx, resource, op).await.0,
            &[ErrorKind::PermissionDenied, ErrorKind::Unauthenticated],
            &what,
        )?;
    }
    Ok(())
}
