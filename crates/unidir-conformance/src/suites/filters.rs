//! Each declared filter selects exactly what the world says, at any page size; each
//! undeclared one is refused with `Unsupported`, never ignored.

use std::collections::BTreeSet;

use unidir_core::{
    Directory, ErrorKind, FilterField, ListQuery, Operation, Resource, RoleScope, UserStatus,
};

use crate::context::{Ctx, List, ensure, keys, once_each};
use crate::report::Report;
use crate::world::World;

const USERS: (Resource, Operation) = (Resource::Users, Operation::List);
const GROUPS: (Resource, Operation) = (Resource::Groups, Operation::List);
const ROLES: (Resource, Operation) = (Resource::Roles, Operation::List);
const MEMBERS: (Resource, Operation) = (Resource::GroupMembers, Operation::List);
const FILTERS: [FilterField; 4] = [
    FilterField::Email,
    FilterField::GroupId,
    FilterField::RoleId,
    FilterField::Status,
];

/// The filter checks.
pub async fn filters(directory: &dyn Directory, world: &World) -> Report {
    let mut report = Report::new(directory.provider());
    match Ctx::prepare(directory, world).await {
        Ok(ctx) => run(&ctx, &mut report).await,
        Err(e) => report.run("filters.prepare", None, async { Err(e) }).await,
    }
    report
}

pub(crate) async fn run(ctx: &Ctx<'_>, report: &mut Report) {
    let gate = |needs: &[(Resource, Operation)], resource, filter| {
        ctx.undeclared(needs)
            .or_else(|| ctx.undeclared_filter(resource, filter))
    };
    report
        .run(
            "filters.users.email",
            gate(&[USERS], Resource::Users, FilterField::Email),
            users_by_email(ctx),
        )
        .await;
    report
        .run(
            "filters.users.group_id",
            gate(&[USERS, GROUPS], Resource::Users, FilterField::GroupId),
            users_by_group(ctx),
        )
        .await;
    report
        .run(
            "filters.users.role_id",
            gate(
                &[USERS, GROUPS, ROLES],
                Resource::Users,
                FilterField::RoleId,
            ),
            users_by_role(ctx),
        )
        .await;
    report
        .run(
            "filters.users.status",
            gate(&[USERS], Resource::Users, FilterField::Status),
            users_by_status(ctx),
        )
        .await;
    report
        .run(
            "filters.group_members.role_id",
            gate(
                &[MEMBERS, USERS, GROUPS, ROLES],
                Resource::GroupMembers,
                FilterField::RoleId,
            ),
            members_by_role(ctx),
        )
        .await;
    report
        .run("filters.undeclared_refused", None, undeclared(ctx))
        .await;
}

/// The keys a filtered list returns, walked at the default page size and at limit 1 (a
/// filter applied after paging must not lose or repeat rows), which must agree.
async fn filtered(
    ctx: &Ctx<'_>,
    list: &List,
    query: ListQuery,
    what: &str,
) -> Result<BTreeSet<String>, String> {
    let whole = once_each(what, &keys(&list.walk(ctx.dir, query.clone()).await?))?;
    let paged = once_each(
        &format!("{what} at limit 1"),
        &keys(&list.walk(ctx.dir, query.with_limit(1)).await?),
    )?;
    ensure!(
        whole == paged,
        "{what}: {whole:?} at the default page size, {paged:?} at limit 1"
    );
    Ok(whole)
}

fn ids<'a>(
    ctx: &Ctx<'_>,
    emails: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeSet<String>, String> {
    emails.into_iter().map(|e| ctx.user_id(e)).collect()
}

/// Every user is found by their e-mail, in any ASCII case; an unknown e-mail finds nobody.
async fn users_by_email(ctx: &Ctx<'_>) -> Result<(), String> {
    for user in &ctx.world.users {
        let expected = ids(ctx, [user.email.as_str()])?;
        for email in [user.email.clone(), user.email.to_ascii_uppercase()] {
            let got = filtered(
                ctx,
                &List::Users,
                ListQuery::new().with_email(email.clone()),
                &format!("users with e-mail {email}"),
            )
            .await?;
            ensure!(
                got == expected,
                "users with e-mail {email}: {got:?}, expected {expected:?}"
            );
        }
    }
    let nobody = filtered(
        ctx,
        &List::Users,
        ListQuery::new().with_email("nobody@absent.invalid"),
        "users with an unknown e-mail",
    )
    .await?;
    ensure!(nobody.is_empty(), "an unknown e-mail found {nobody:?}");
    Ok(())
}

async fn users_by_group(ctx: &Ctx<'_>) -> Result<(), String> {
    for group in &ctx.world.groups {
        let id = ctx.group(&group.name)?.id.clone();
        let expected = ids(ctx, group.members.iter().map(|m| m.email.as_str()))?;
        let what = format!("users in group {}", group.name);
        let got = filtered(ctx, &List::Users, ListQuery::new().with_group_id(id), &what).await?;
        ensure!(got == expected, "{what}: {got:?}, expected {expected:?}");
    }
    // A group that does not exist: refused as not found, or nobody.
    let what = "users in a group that does not exist";
    let query = ListQuery::new().with_group_id(ctx.world.absent_id.clone());
    match List::Users.page(ctx.dir, &query).await {
        Err(e) => {
            ctx.refused::<()>(Err(e), &[ErrorKind::NotFound], what)?;
        }
        Ok(_) => {
            let got = keys(&List::Users.walk(ctx.dir, query).await?);
            ensure!(got.is_empty(), "{what}: {got:?}");
        }
    }
    Ok(())
}

/// Each role selects its holders: an organization role its users, a group role the users
/// holding it in any group.
async fn users_by_role(ctx: &Ctx<'_>) -> Result<(), String> {
    let world = ctx.world;
    for role in &world.roles {
        let id = ctx.role_id(&role.key, &role.scope)?;
        let holders: Vec<&str> = match role.scope {
            RoleScope::Organization => world
                .users
                .iter()
                .filter(|u| u.org_role == role.key)
                .map(|u| u.email.as_str())
                .collect(),
            _ => world
                .users
                .iter()
                .filter(|u| {
                    world
                        .groups_of(&u.email)
                        .any(|(_, r)| r == Some(role.key.as_str()))
                })
                .map(|u| u.email.as_str())
                .collect(),
        };
        let expected = ids(ctx, holders)?;
        let what = format!("users holding {id}");
        let got = filtered(ctx, &List::Users, ListQuery::new().with_role_id(id), &what).await?;
        ensure!(got == expected, "{what}: {got:?}, expected {expected:?}");
    }
    Ok(())
}

/// Every world user is active.
async fn users_by_status(ctx: &Ctx<'_>) -> Result<(), String> {
    let everyone = ids(ctx, ctx.world.users.iter().map(|u| u.email.as_str()))?;
    for status in [
        UserStatus::Active,
        UserStatus::Inactive,
        UserStatus::Invited,
        UserStatus::Suspended,
    ] {
        let what = format!("users with status {status}");
        let got = filtered(
            ctx,
            &List::Users,
            ListQuery::new().with_status(status.clone()),
            &what,
        )
        .await?;
        let expected = if status == UserStatus::Active {
            everyone.clone()
        } else {
            BTreeSet::new()
        };
        ensure!(got == expected, "{what}: {got:?}, expected {expected:?}");
    }
    Ok(())
}

async fn members_by_role(ctx: &Ctx<'_>) -> Result<(), String> {
    for group in &ctx.world.groups {
        let id = ctx.group(&group.name)?.id.clone();
        for role in ctx.world.roles_of(RoleScope::Group) {
            let role_id = ctx.role_id(&role.key, &role.scope)?;
            let expected = ids(
                ctx,
                group
                    .members
                    .iter()
                    .filter(|m| m.role.as_deref() == Some(role.key.as_str()))
                    .map(|m| m.email.as_str()),
            )?;
            let what = format!("members of {} holding {role_id}", group.name);
            let got = filtered(
                ctx,
                &List::GroupMembers(id.clone()),
                ListQuery::new().with_role_id(role_id),
                &what,
            )
            .await?;
            ensure!(got == expected, "{what}: {got:?}, expected {expected:?}");
        }
    }
    Ok(())
}

/// A filter a list does not declare is refused with `Unsupported`, never ignored (an
/// ignored filter returns the whole list as if it were the filtered one).
async fn undeclared(ctx: &Ctx<'_>) -> Result<(), String> {
    let world = ctx.world;
    let group = world
        .groups
        .first()
        .and_then(|g| ctx.group(&g.name).ok())
        .map_or_else(|| world.absent_id.clone(), |g| g.id.clone());
    let user = world
        .users
        .first()
        .and_then(|u| ctx.user_id(&u.email).ok())
        .unwrap_or_else(|| world.absent_id.clone());
    let role = world
        .roles_of(RoleScope::Group)
        .next()
        .and_then(|r| ctx.role_id(&r.key, &r.scope).ok())
        .unwrap_or_else(|| world.absent_id.clone());
    let email = world
        .users
        .first()
        .map_or("nobody@absent.invalid", |u| u.email.as_str());
    let lists = [
        List::Organizations,
        List::Users,
        List::Groups,
        List::Roles,
        List::GroupMembers(group.clone()),
        List::UserGroups(user),
    ];
    for list in lists {
        if !ctx.caps.supports(list.resource(), Operation::List) {
            continue;
        }
        for filter in FILTERS {
            if ctx.declares_filter(list.resource(), filter) {
                continue;
            }
            let query = match filter {
                FilterField::Email => ListQuery::new().with_email(email),
                FilterField::GroupId => ListQuery::new().with_group_id(group.clone()),
                FilterField::RoleId => ListQuery::new().with_role_id(role.clone()),
                FilterField::Status => ListQuery::new().with_status(UserStatus::Active),
                // A filter this suite does not know yet: nothing to probe it with.
                _ => continue,
            };
            ctx.refused(
                list.page(ctx.dir, &query).await,
                &[ErrorKind::Unsupported],
                &format!("{} with the undeclared {filter:?} filter", list.name()),
            )?;
        }
    }
    Ok(())
}
