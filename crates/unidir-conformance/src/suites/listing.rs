//! Listing returns exactly the world: every object, with the names, roles and memberships
//! it was seeded with.

use std::collections::BTreeSet;

use futures::TryStreamExt;
use unidir_core::{
    Directory, DirectoryExt, ListQuery, Operation, Resource, RoleScope, User, UserStatus,
};

use crate::context::{Ctx, List, ensure};
use crate::report::Report;
use crate::world::World;

const USERS: (Resource, Operation) = (Resource::Users, Operation::List);
const GROUPS: (Resource, Operation) = (Resource::Groups, Operation::List);
const ROLES: (Resource, Operation) = (Resource::Roles, Operation::List);

/// The listing checks.
pub async fn listing(directory: &dyn Directory, world: &World) -> Report {
    let mut report = Report::new(directory.provider());
    match Ctx::prepare(directory, world).await {
        Ok(ctx) => run(&ctx, &mut report).await,
        Err(e) => report.run("listing.prepare", None, async { Err(e) }).await,
    }
    report
}

pub(crate) async fn run(ctx: &Ctx<'_>, report: &mut Report) {
    report
        .run(
            "listing.organizations",
            ctx.undeclared(&[(Resource::Organizations, Operation::List)]),
            organizations(ctx),
        )
        .await;
    report
        .run("listing.roles", ctx.undeclared(&[ROLES]), roles(ctx))
        .await;
    report
        .run(
            "listing.users",
            ctx.undeclared(&[USERS, GROUPS, ROLES]),
            users(ctx),
        )
        .await;
    report
        .run("listing.groups", ctx.undeclared(&[GROUPS]), groups(ctx))
        .await;
    report
        .run(
            "listing.group_members",
            ctx.undeclared(&[
                (Resource::GroupMembers, Operation::List),
                USERS,
                GROUPS,
                ROLES,
            ]),
            group_members(ctx),
        )
        .await;
    report
        .run(
            "listing.user_groups",
            ctx.undeclared(&[(Resource::UserGroups, Operation::List), USERS, GROUPS]),
            user_groups(ctx),
        )
        .await;
    report
        .run(
            "listing.remote_data_only_when_asked",
            None,
            remote_data(ctx),
        )
        .await;
}

async fn organizations(ctx: &Ctx<'_>) -> Result<(), String> {
    let org = ctx.org()?;
    let world = &ctx.world.organization;
    ensure!(
        org.name == world.name,
        "organization name is {:?}, the world says {:?}",
        org.name,
        world.name
    );
    ensure!(
        org.slug.as_deref().is_none_or(|s| s == world.slug),
        "organization slug is {:?}, the world says {:?}",
        org.slug,
        world.slug
    );
    Ok(())
}

async fn roles(ctx: &Ctx<'_>) -> Result<(), String> {
    let listed = ctx.roles()?;
    let ids: BTreeSet<_> = listed.iter().map(|r| r.id.as_str()).collect();
    ensure!(ids.len() == listed.len(), "a role id is listed twice");
    for role in &ctx.world.roles {
        ctx.role_id(&role.key, &role.scope)?;
    }
    Ok(())
}

/// Fails unless `user` is the world's user `email` with the world's roles and groups.
pub(crate) fn user_as_world(ctx: &Ctx<'_>, user: &User, email: &str) -> Result<(), String> {
    let world = ctx
        .world
        .user(email)
        .ok_or_else(|| format!("{email} is no world user"))?;
    ensure!(
        user.primary_email()
            .is_some_and(|e| e.eq_ignore_ascii_case(&world.email)),
        "user {} has primary e-mail {:?}, the world says {}",
        user.id,
        user.primary_email(),
        world.email
    );
    ensure!(
        user.name.as_deref() == Some(world.name.as_str()),
        "{email}: name is {:?}, the world says {:?}",
        user.name,
        world.name
    );
    ensure!(
        user.status == UserStatus::Active,
        "{email}: status is {}, every world user is active",
        user.status
    );
    let org_role = ctx.role_id(&world.org_role, &RoleScope::Organization)?;
    let org_roles: BTreeSet<_> = user
        .roles
        .iter()
        .filter(|r| r.scope != RoleScope::Group && r.group_id.is_none())
        .map(|r| r.id.clone())
        .collect();
    ensure!(
        org_roles == BTreeSet::from([org_role.clone()]),
        "{email}: organization roles are {org_roles:?}, the world says {org_role}"
    );
    let groups: BTreeSet<_> = user
        .groups
        .iter()
        .map(|g| (g.id.clone(), g.role_id.clone().unwrap_or_default()))
        .collect();
    ensure!(
        groups.len() == user.groups.len(),
        "{email}: a group is listed twice in the user's groups"
    );
    let expected = ctx.expected_groups_of(email)?;
    ensure!(
        groups == expected,
        "{email}: groups (id, role) are {groups:?}, the world says {expected:?}"
    );
    // Group-scoped role assignments, where the adapter fills them, agree with `groups`.
    for r in user.roles.iter().filter(|r| r.scope == RoleScope::Group) {
        let pair = (r.group_id.clone().unwrap_or_default(), r.id.clone());
        ensure!(
            expected.contains(&pair),
            "{email}: holds group role {pair:?}, which the user's groups do not show"
        );
    }
    Ok(())
}

async fn users(ctx: &Ctx<'_>) -> Result<(), String> {
    let listed = ctx.users()?;
    let all: Vec<User> = ctx
        .dir
        .users(ListQuery::new())
        .try_collect()
        .await
        .map_err(|e| format!("listing users: {e}"))?;
    ensure!(
        all.len() == listed.len(),
        "{} users listed, {} distinct primary e-mails among them (a user without one, or two \
         sharing one)",
        all.len(),
        listed.len()
    );
    let expected: BTreeSet<_> = ctx
        .world
        .users
        .iter()
        .map(|u| u.email.to_ascii_lowercase())
        .collect();
    let got: BTreeSet<_> = listed.keys().cloned().collect();
    ensure!(
        got == expected,
        "listed users (by e-mail) are {got:?}, the world has {expected:?}"
    );
    for (email, user) in listed {
        user_as_world(ctx, user, email)?;
    }
    Ok(())
}

async fn groups(ctx: &Ctx<'_>) -> Result<(), String> {
    let listed = ctx.groups()?;
    let got: BTreeSet<_> = listed.keys().cloned().collect();
    let expected: BTreeSet<_> = ctx.world.groups.iter().map(|g| g.name.clone()).collect();
    ensure!(
        got == expected,
        "listed groups (by name) are {got:?}, the world has {expected:?}"
    );
    let ids: BTreeSet<_> = listed.values().map(|g| g.id.as_str()).collect();
    ensure!(ids.len() == listed.len(), "two groups share an id");
    for world in &ctx.world.groups {
        let group = ctx.group(&world.name)?;
        // Fields the adapter fills must agree; unidir never invents the ones it leaves null.
        ensure!(
            group.slug.as_deref().is_none_or(|s| s == world.slug),
            "{}: slug is {:?}, the world says {:?}",
            world.name,
            group.slug,
            world.slug
        );
        ensure!(
            group.privacy.as_ref().is_none_or(|p| *p == world.privacy),
            "{}: privacy is {:?}, the world says {}",
            world.name,
            group.privacy,
            world.privacy
        );
        ensure!(
            group.description.is_none() || group.description == world.description,
            "{}: description is {:?}, the world says {:?}",
            world.name,
            group.description,
            world.description
        );
    }
    Ok(())
}

async fn group_members(ctx: &Ctx<'_>) -> Result<(), String> {
    for world in &ctx.world.groups {
        let id = ctx.group(&world.name)?.id.clone();
        let all: Vec<_> = ctx
            .dir
            .group_members(&id, ListQuery::new())
            .try_collect()
            .await
            .map_err(|e| format!("members of {}: {e}", world.name))?;
        for m in &all {
            ensure!(
                m.group_id == id,
                "a member of {} names group {}",
                world.name,
                m.group_id
            );
            let email = ctx
                .users()?
                .iter()
                .find(|(_, u)| u.id == m.user_id)
                .map(|(e, _)| e.clone());
            let Some(email) = email else {
                return Err(format!(
                    "{} lists {}, who is no listed user",
                    world.name, m.user_id
                ));
            };
            let Some(user) = ctx.world.user(&email) else {
                return Err(format!("{email} is no world user"));
            };
            ensure!(
                m.user_email
                    .as_deref()
                    .is_none_or(|e| e.eq_ignore_ascii_case(&user.email)),
                "{}: member {} has e-mail {:?}, the world says {}",
                world.name,
                m.user_id,
                m.user_email,
                user.email
            );
            ensure!(
                m.user_name.as_deref().is_none_or(|n| n == user.name),
                "{}: member {} has name {:?}, the world says {}",
                world.name,
                m.user_id,
                m.user_name,
                user.name
            );
        }
        let got: BTreeSet<_> = all
            .iter()
            .map(|m| (m.user_id.clone(), m.role_id.clone().unwrap_or_default()))
            .collect();
        ensure!(
            got.len() == all.len(),
            "{}: a member is listed twice",
            world.name
        );
        let expected = ctx.expected_members(world)?;
        ensure!(
            got == expected,
            "members (user, role) of {} are {got:?}, the world says {expected:?}",
            world.name
        );
    }
    Ok(())
}

async fn user_groups(ctx: &Ctx<'_>) -> Result<(), String> {
    for world in &ctx.world.users {
        let id = ctx.user_id(&world.email)?;
        let all: Vec<_> = ctx
            .dir
            .user_groups(&id, ListQuery::new())
            .try_collect()
            .await
            .map_err(|e| format!("groups of {}: {e}", world.email))?;
        let got: BTreeSet<_> = all.iter().map(|g| g.id.clone()).collect();
        ensure!(
            got.len() == all.len(),
            "{}: a group is listed twice",
            world.email
        );
        let expected: BTreeSet<_> = ctx
            .expected_groups_of(&world.email)?
            .into_iter()
            .map(|(g, _)| g)
            .collect();
        ensure!(
            got == expected,
            "groups of {} are {got:?}, the world says {expected:?}",
            world.email
        );
    }
    Ok(())
}

/// `remote_data` is filled only when the caller asks for it.
async fn remote_data(ctx: &Ctx<'_>) -> Result<(), String> {
    let mut lists = vec![List::Organizations, List::Users, List::Groups, List::Roles];
    if let Some(g) = ctx
        .world
        .groups
        .first()
        .and_then(|g| ctx.group(&g.name).ok())
    {
        lists.push(List::GroupMembers(g.id.clone()));
    }
    if let Some(u) = ctx
        .world
        .users
        .first()
        .and_then(|u| ctx.user_id(&u.email).ok())
    {
        lists.push(List::UserGroups(u));
    }
    for list in lists {
        if !ctx.caps.supports(list.resource(), Operation::List) {
            continue;
        }
        let pages = list.walk(ctx.dir, ListQuery::new()).await?;
        for item in pages.iter().flat_map(|p| &p.result) {
            ensure!(
                !item.remote,
                "{}: {} carries remote_data though it was not asked for",
                list.name(),
                item.key
            );
        }
    }
    Ok(())
}
