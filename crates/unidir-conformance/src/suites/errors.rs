//! Bad input is refused with the right kind, and caller-chosen text reaches error messages
//! only bounded and escaped.

use unidir_core::text::is_unsafe_char;
use unidir_core::{Directory, ErrorKind, GetOptions, ListQuery, Operation, Resource, Result};

use crate::context::{Ctx, List, ensure};
use crate::report::Report;
use crate::world::World;

/// Longest error message accepted for an id of many kilobytes.
const MAX_MESSAGE: usize = 1_000;

/// The error checks.
pub async fn errors(directory: &dyn Directory, world: &World) -> Report {
    let mut report = Report::new(directory.provider());
    match Ctx::prepare(directory, world).await {
        Ok(ctx) => run(&ctx, &mut report).await,
        Err(e) => report.run("errors.prepare", None, async { Err(e) }).await,
    }
    report
}

pub(crate) async fn run(ctx: &Ctx<'_>, report: &mut Report) {
    report.run("errors.limit_zero", None, limit_zero(ctx)).await;
    report
        .run("errors.hostile_ids", None, hostile_ids(ctx))
        .await;
    report
        .run(
            "errors.hostile_role",
            ctx.undeclared(&[
                (Resource::GroupMembers, Operation::Add),
                (Resource::Users, Operation::List),
                (Resource::Groups, Operation::List),
            ]),
            hostile_role(ctx),
        )
        .await;
}

/// `limit: 0` is `InvalidInput` on every list, never an empty page that looks complete.
async fn limit_zero(ctx: &Ctx<'_>) -> std::result::Result<(), String> {
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
    for list in [
        List::Organizations,
        List::Users,
        List::Groups,
        List::Roles,
        List::GroupMembers(group),
        List::UserGroups(user),
    ] {
        if !ctx.caps.supports(list.resource(), Operation::List) {
            continue;
        }
        ctx.refused(
            list.page(ctx.dir, &ListQuery::new().with_limit(0)).await,
            &[ErrorKind::InvalidInput],
            &format!("{} with limit 0", list.name()),
        )?;
    }
    Ok(())
}

/// One read of every declared `get_*` and scoped list with `id`: `Ok(true)` for an empty
/// list page, `Ok(false)` for an object or a page with items.
async fn reads(ctx: &Ctx<'_>, id: &str) -> Vec<(&'static str, Result<bool>)> {
    let dir = ctx.dir;
    let o = GetOptions::default();
    let q = ListQuery::new();
    let get = |r| ctx.caps.supports(r, Operation::Get);
    let list = |r| ctx.caps.supports(r, Operation::List);
    let mut out = Vec::new();
    if get(Resource::Organizations) {
        out.push((
            "get_organization",
            dir.get_organization(id, &o).await.map(|_| false),
        ));
    }
    if get(Resource::Users) {
        out.push(("get_user", dir.get_user(id, &o).await.map(|_| false)));
    }
    if get(Resource::Groups) {
        out.push(("get_group", dir.get_group(id, &o).await.map(|_| false)));
    }
    if get(Resource::Roles) {
        out.push(("get_role", dir.get_role(id, &o).await.map(|_| false)));
    }
    if list(Resource::GroupMembers) {
        let page = dir.list_group_members(id, &q).await;
        out.push(("list_group_members", page.map(|p| p.result.is_empty())));
    }
    if list(Resource::UserGroups) {
        let page = dir.list_user_groups(id, &q).await;
        out.push(("list_user_groups", page.map(|p| p.result.is_empty())));
    }
    out
}

/// Fails unless `error`'s message is bounded and holds no unescaped control character.
fn message_is_safe(error: &unidir_core::Error, what: &str) -> std::result::Result<(), String> {
    let message = error.message();
    ensure!(
        message.len() <= MAX_MESSAGE,
        "{what}: the error message is {} bytes long (caller text must be bounded, see \
         unidir_core::text)",
        message.len()
    );
    ensure!(
        !message.chars().any(is_unsafe_char),
        "{what}: the error message holds an unescaped control character (caller text must go \
         through unidir_core::text)"
    );
    Ok(())
}

fn hostile() -> [(&'static str, String); 3] {
    [
        (
            "a path-traversal id",
            "../../organizations?x=1#frag".to_owned(),
        ),
        (
            "an id with a control sequence",
            "abc\u{1b}]0;pwned\u{7}\r\n".to_owned(),
        ),
        (
            "a 10,000-character id",
            format!("\u{1b}[31m{}", "A".repeat(10_000)),
        ),
    ]
}

/// Adding a member with a hostile role id is `InvalidInput`, with a safe message, and
/// writes nothing.
async fn hostile_role(ctx: &Ctx<'_>) -> std::result::Result<(), String> {
    let world = ctx.world;
    let Some(group) = world.groups.first() else {
        return Err("the world has no group".to_owned());
    };
    let id = ctx.group(&group.name)?.id.clone();
    let user = world
        .users
        .iter()
        .find(|u| !world.is_me(&u.email) && !group.is_member(&u.email))
        .or_else(|| world.users.iter().find(|u| !world.is_me(&u.email)))
        .ok_or_else(|| "the world has no user but me".to_owned())?;
    let user_ref = unidir_core::UserRef::Id(ctx.user_id(&user.email)?);
    for (what, role) in hostile() {
        let what = format!("add_group_member with {what} for the role");
        let error = ctx.refused(
            ctx.dir.add_group_member(&id, &user_ref, Some(&role)).await,
            &[ErrorKind::InvalidInput],
            &what,
        )?;
        message_is_safe(&error, &what)?;
    }
    if ctx.caps.supports(Resource::GroupMembers, Operation::List) {
        ctx.members_as_world(group, "after adds with hostile roles")
            .await?;
    }
    Ok(())
}

/// Ids built to break URLs (path traversal, a query, a fragment), control characters and
/// 10-kilobyte ids are `NotFound` or `InvalidInput`, never read as something else; the
/// message holds them bounded and with control characters escaped.
async fn hostile_ids(ctx: &Ctx<'_>) -> std::result::Result<(), String> {
    let hostile = hostile();
    for (what, id) in &hostile {
        for (operation, result) in reads(ctx, id).await {
            // A list scoped to an id nobody has may be one empty page (see get.missing_parent).
            if matches!(result, Ok(true)) {
                continue;
            }
            let error = ctx.refused(
                result,
                &[ErrorKind::NotFound, ErrorKind::InvalidInput],
                &format!("{operation} with {what}"),
            )?;
            message_is_safe(&error, &format!("{operation} with {what}"))?;
        }
    }
    Ok(())
}
