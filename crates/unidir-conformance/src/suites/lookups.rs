//! `get_*` returns the listed object; an id nobody has is `NotFound`; `me` is the
//! credential's own user.

use unidir_core::{Directory, ErrorKind, GetOptions, ListQuery, Operation, Resource};

use crate::context::{Ctx, List, ensure};
use crate::report::Report;
use crate::suites::listing::user_as_world;
use crate::world::World;

const USERS: (Resource, Operation) = (Resource::Users, Operation::List);
const GROUPS: (Resource, Operation) = (Resource::Groups, Operation::List);
const ROLES: (Resource, Operation) = (Resource::Roles, Operation::List);

/// The `get_*`, not-found and `me` checks.
pub async fn lookups(directory: &dyn Directory, world: &World) -> Report {
    let mut report = Report::new(directory.provider());
    match Ctx::prepare(directory, world).await {
        Ok(ctx) => run(&ctx, &mut report).await,
        Err(e) => report.run("get.prepare", None, async { Err(e) }).await,
    }
    report
}

pub(crate) async fn run(ctx: &Ctx<'_>, report: &mut Report) {
    report
        .run(
            "get.organization",
            ctx.undeclared(&[
                (Resource::Organizations, Operation::Get),
                (Resource::Organizations, Operation::List),
            ]),
            organization(ctx),
        )
        .await;
    report
        .run(
            "get.users",
            ctx.undeclared(&[(Resource::Users, Operation::Get), USERS, GROUPS, ROLES]),
            users(ctx),
        )
        .await;
    report
        .run(
            "get.groups",
            ctx.undeclared(&[(Resource::Groups, Operation::Get), GROUPS]),
            groups(ctx),
        )
        .await;
    report
        .run(
            "get.roles",
            ctx.undeclared(&[(Resource::Roles, Operation::Get), ROLES]),
            roles(ctx),
        )
        .await;
    report.run("get.not_found", None, not_found(ctx)).await;
    report
        .run("get.missing_parent", None, missing_parent(ctx))
        .await;
    let me_gate = ctx
        .undeclared(&[(Resource::Me, Operation::Get)])
        .or_else(|| {
            ctx.world
                .me
                .is_none()
                .then(|| "the world names no credential user".to_owned())
        });
    report.run("me.identity", me_gate, me(ctx)).await;
}

/// By id, or by slug where the provider addresses organizations by slug (as the trait
/// allows).
async fn organization(ctx: &Ctx<'_>) -> Result<(), String> {
    let listed = ctx.org()?;
    let o = GetOptions::default();
    let got = match ctx.dir.get_organization(&listed.id, &o).await {
        Ok(org) => org,
        Err(e) if e.kind() == ErrorKind::NotFound && listed.slug.is_some() => {
            let slug = listed.slug.as_deref().unwrap_or_default();
            ctx.ok(
                ctx.dir.get_organization(slug, &o).await,
                &format!("get_organization({slug}) after NotFound by id"),
            )?
        }
        Err(e) => return Err(format!("get_organization({}): {e}", listed.id)),
    };
    ensure!(
        got.id == listed.id && got.name == listed.name && got.slug == listed.slug,
        "get_organization returned ({}, {}, {:?}), the list ({}, {}, {:?})",
        got.id,
        got.name,
        got.slug,
        listed.id,
        listed.name,
        listed.slug
    );
    ensure!(
        got.remote_data.is_none(),
        "get_organization: remote_data though not asked for"
    );
    Ok(())
}

async fn users(ctx: &Ctx<'_>) -> Result<(), String> {
    for world in &ctx.world.users {
        let id = ctx.user_id(&world.email)?;
        let got = ctx.ok(
            ctx.dir.get_user(&id, &GetOptions::default()).await,
            &format!("get_user({id})"),
        )?;
        ensure!(got.id == id, "get_user({id}) returned user {}", got.id);
        user_as_world(ctx, &got, &world.email).map_err(|e| format!("get_user: {e}"))?;
        ensure!(
            got.remote_data.is_none(),
            "get_user({id}): remote_data though not asked for"
        );
    }
    Ok(())
}

async fn groups(ctx: &Ctx<'_>) -> Result<(), String> {
    for world in &ctx.world.groups {
        let listed = ctx.group(&world.name)?;
        let got = ctx.ok(
            ctx.dir.get_group(&listed.id, &GetOptions::default()).await,
            &format!("get_group({})", listed.id),
        )?;
        ensure!(
            got.id == listed.id && got.name == listed.name && got.slug == listed.slug,
            "get_group({}) returned ({}, {}, {:?}), the list ({}, {}, {:?})",
            listed.id,
            got.id,
            got.name,
            got.slug,
            listed.id,
            listed.name,
            listed.slug
        );
        ensure!(
            got.remote_data.is_none(),
            "get_group({}): remote_data though not asked for",
            listed.id
        );
    }
    Ok(())
}

async fn roles(ctx: &Ctx<'_>) -> Result<(), String> {
    for listed in ctx.roles()? {
        let got = ctx.ok(
            ctx.dir.get_role(&listed.id, &GetOptions::default()).await,
            &format!("get_role({})", listed.id),
        )?;
        ensure!(
            got.id == listed.id && got.scope == listed.scope && got.name == listed.name,
            "get_role({}) returned ({}, {}, {}), the list ({}, {}, {})",
            listed.id,
            got.id,
            got.name,
            got.scope,
            listed.id,
            listed.name,
            listed.scope
        );
        ensure!(
            got.remote_data.is_none(),
            "get_role({}): remote_data though not asked for",
            listed.id
        );
    }
    Ok(())
}

/// Every declared `get_*` of an id nobody has is `NotFound`.
async fn not_found(ctx: &Ctx<'_>) -> Result<(), String> {
    let absent = ctx.world.absent_id.as_str();
    let o = GetOptions::default();
    let dir = ctx.dir;
    let declared = |r| ctx.caps.supports(r, Operation::Get);
    let kinds = [ErrorKind::NotFound];
    if declared(Resource::Organizations) {
        ctx.refused(
            dir.get_organization(absent, &o).await,
            &kinds,
            "get_organization(absent id)",
        )?;
    }
    if declared(Resource::Users) {
        ctx.refused(
            dir.get_user(absent, &o).await,
            &kinds,
            "get_user(absent id)",
        )?;
    }
    if declared(Resource::Groups) {
        ctx.refused(
            dir.get_group(absent, &o).await,
            &kinds,
            "get_group(absent id)",
        )?;
    }
    if declared(Resource::Roles) {
        ctx.refused(
            dir.get_role(absent, &o).await,
            &kinds,
            "get_role(absent id)",
        )?;
    }
    Ok(())
}

/// A list scoped to a group or user that does not exist is `NotFound`, or one empty last
/// page (a provider filtering by user id may not know the user is absent); never items.
async fn missing_parent(ctx: &Ctx<'_>) -> Result<(), String> {
    let absent = &ctx.world.absent_id;
    for list in [
        List::GroupMembers(absent.clone()),
        List::UserGroups(absent.clone()),
    ] {
        if !ctx.caps.supports(list.resource(), Operation::List) {
            continue;
        }
        let what = format!("{} of an absent id", list.name());
        match list.page(ctx.dir, &ListQuery::new()).await {
            Ok(page) => ensure!(
                page.result.is_empty() && page.next_cursor.is_none(),
                "{what}: {} items, next_cursor {:?}",
                page.result_count(),
                page.next_cursor
            ),
            Err(e) => {
                ctx.refused::<()>(Err(e), &[ErrorKind::NotFound], &what)?;
            }
        }
    }
    Ok(())
}

/// `me` is the world's credential user, with the listed id, reaching the world's
/// organization.
async fn me(ctx: &Ctx<'_>) -> Result<(), String> {
    let email = ctx.world.me.as_deref().unwrap_or_default();
    let me = ctx.ok(ctx.dir.me(&GetOptions::default()).await, "me()")?;
    ensure!(
        me.user.has_email(email),
        "me() is {:?} ({:?}), the world says {email}",
        me.user.id,
        me.user.primary_email()
    );
    if ctx.caps.supports(Resource::Users, Operation::List) {
        let id = ctx.user_id(email)?;
        ensure!(
            me.user.id == id,
            "me() has id {}, the user list {id}",
            me.user.id
        );
    }
    let org = &ctx.world.organization;
    ensure!(
        me.organizations
            .iter()
            .any(|o| o.slug.as_deref() == Some(org.slug.as_str()) || o.name == org.name),
        "me() reaches {:?}, not the world's organization {}",
        me.organizations.iter().map(|o| &o.name).collect::<Vec<_>>(),
        org.name
    );
    ensure!(
        me.remote_data.is_none() && me.user.remote_data.is_none(),
        "me(): remote_data though not asked for"
    );
    Ok(())
}
