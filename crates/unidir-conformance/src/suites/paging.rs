//! Paging: every item once at any page size, cursors bound to their query, made-up cursors
//! refused, empty lists empty.

use unidir_core::{
    Cursor, Directory, ErrorKind, FilterField, ListQuery, Operation, Page, Resource, RoleScope,
};

use crate::context::{Ctx, Item, List, ensure, keys, once_each};
use crate::forge;
use crate::report::{Report, Stop};
use crate::world::World;

/// The paging checks.
pub async fn paging(directory: &dyn Directory, world: &World) -> Report {
    let mut report = Report::new(directory.provider());
    match Ctx::prepare(directory, world).await {
        Ok(ctx) => run(&ctx, &mut report).await,
        Err(e) => report.run("paging.prepare", None, async { Err(e) }).await,
    }
    report
}

/// Every list of the trait, scoped lists to the world group with the most members and the
/// world user in the most groups (the longest lists the world has).
fn lists(ctx: &Ctx<'_>) -> Vec<(List, Option<String>)> {
    let world = ctx.world;
    let mut out = vec![
        (List::Organizations, None),
        (List::Users, None),
        (List::Groups, None),
        (List::Roles, None),
    ];
    let biggest = world.groups.iter().max_by_key(|g| g.members.len());
    out.push(match biggest.map(|g| ctx.group(&g.name)) {
        Some(Ok(g)) => (List::GroupMembers(g.id.clone()), None),
        Some(Err(e)) => (List::GroupMembers(world.absent_id.clone()), Some(e)),
        None => (
            List::GroupMembers(world.absent_id.clone()),
            Some("the world has no group".to_owned()),
        ),
    });
    let busiest = world
        .users
        .iter()
        .max_by_key(|u| world.groups_of(&u.email).count());
    out.push(match busiest.map(|u| ctx.user_id(&u.email)) {
        Some(Ok(id)) => (List::UserGroups(id), None),
        Some(Err(e)) => (List::UserGroups(world.absent_id.clone()), Some(e)),
        None => (
            List::UserGroups(world.absent_id.clone()),
            Some("the world has no user".to_owned()),
        ),
    });
    out
}

pub(crate) async fn run(ctx: &Ctx<'_>, report: &mut Report) {
    for (list, unresolved) in lists(ctx) {
        let undeclared = ctx.undeclared(&[(list.resource(), Operation::List)]);
        // A scoped list whose scope did not resolve fails in the checks that need it.
        let name = list.name();
        report
            .run(
                format!("paging.{name}.every_item_once"),
                undeclared.clone(),
                with_scope(unresolved.clone(), every_item_once(ctx, &list)),
            )
            .await;
        report
            .run(
                format!("paging.{name}.cursor_bound_to_query"),
                undeclared.clone(),
                with_scope(unresolved.clone(), cursor_bound(ctx, &list)),
            )
            .await;
        report
            .run(
                format!("paging.{name}.invalid_cursor_refused"),
                undeclared,
                with_scope(unresolved, invalid_cursor(ctx, &list)),
            )
            .await;
    }
    match empty_probes(ctx) {
        Ok(probes) if probes.is_empty() => report.skip(
            "paging.empty_results",
            "no empty group or group-less user in the world, and no e-mail filter declared",
        ),
        Ok(probes) => {
            report
                .run("paging.empty_results", None, empty_results(ctx, probes))
                .await;
        }
        Err(e) => {
            report
                .run("paging.empty_results", None, async { Err(e) })
                .await;
        }
    }
}

async fn with_scope<E: Into<Stop>>(
    unresolved: Option<String>,
    check: impl Future<Output = Result<(), E>>,
) -> Result<(), Stop> {
    match unresolved {
        Some(e) => Err(Stop::Failed(e)),
        None => check.await.map_err(Into::into),
    }
}

/// Walks at page sizes 1, 2, the default and `u32::MAX` (clamped, never refused) return the
/// same items, each once, no page over its limit; a `prev_cursor`, where given, leads back
/// to the previous page.
async fn every_item_once(ctx: &Ctx<'_>, list: &List) -> Result<(), String> {
    let name = list.name();
    let whole = list.walk(ctx.dir, ListQuery::new()).await?;
    let reference = once_each(&format!("{name} at the default page size"), &keys(&whole))?;
    for limit in [1, 2, u32::MAX] {
        let pages = list
            .walk(ctx.dir, ListQuery::new().with_limit(limit))
            .await?;
        let got = once_each(&format!("{name} at limit {limit}"), &keys(&pages))?;
        ensure!(
            got == reference,
            "{name}: a walk at limit {limit} returned {got:?}, at the default page size \
             {reference:?}"
        );
        if limit == 1 {
            prev_leads_back(ctx, list, &pages).await?;
        }
    }
    Ok(())
}

async fn prev_leads_back(ctx: &Ctx<'_>, list: &List, pages: &[Page<Item>]) -> Result<(), String> {
    for (i, page) in pages.iter().enumerate().skip(1) {
        let Some(prev) = &page.prev_cursor else {
            continue;
        };
        let back = ctx.ok(
            list.page(
                ctx.dir,
                &ListQuery::new().with_limit(1).with_cursor(prev.clone()),
            )
            .await,
            &format!("{}: following page {}'s prev_cursor", list.name(), i + 1),
        )?;
        let want: Vec<_> = pages[i - 1].result.iter().map(|x| &x.key).collect();
        let got: Vec<_> = back.result.iter().map(|x| &x.key).collect();
        ensure!(
            got == want,
            "{}: page {}'s prev_cursor returned {got:?}, page {} held {want:?}",
            list.name(),
            i + 1,
            i
        );
    }
    Ok(())
}

/// The first page's `next_cursor` at limit 1, or `None` when the list has one item or none.
async fn first_cursor(ctx: &Ctx<'_>, list: &List) -> Result<Option<Cursor>, String> {
    let first = ctx.ok(
        list.page(ctx.dir, &ListQuery::new().with_limit(1)).await,
        &format!("{} first page at limit 1", list.name()),
    )?;
    let all = list.walk(ctx.dir, ListQuery::new()).await?;
    let total: usize = all.iter().map(Page::result_count).sum();
    if total >= 2 {
        ensure!(
            first.next_cursor.is_some(),
            "{}: {total} items, but the first page at limit 1 has no next_cursor",
            list.name()
        );
    }
    Ok(first.next_cursor)
}

/// A cursor replayed against another list, scope or filter is refused. A cursor keeps its
/// page size: without a limit the page has the cursor's size, with the same limit it is
/// accepted, and with another limit it is refused (`InvalidInput`, naming both numbers),
/// rather than silently read at either size.
async fn cursor_bound(ctx: &Ctx<'_>, list: &List) -> Result<(), Stop> {
    let name = list.name();
    let Some(cursor) = first_cursor(ctx, list).await? else {
        // The world makes the lists it needs long enough; a provider-wide list
        // (organizations) may have one item.
        return Err(Stop::Skipped(format!(
            "{name} has fewer than two items: no cursor to replay"
        )));
    };
    let again = ListQuery::new().with_limit(1).with_cursor(cursor.clone());
    ctx.ok(
        list.page(ctx.dir, &again).await,
        &format!("{name}: the next cursor with its own page size"),
    )?;
    let kept = ctx.ok(
        list.page(ctx.dir, &ListQuery::new().with_cursor(cursor.clone()))
            .await,
        &format!("{name}: the next cursor without a limit"),
    )?;
    ensure!(
        kept.result_count() <= 1,
        "{name}: a cursor from a walk at limit 1, followed without a limit, returned {} items",
        kept.result_count()
    );
    ctx.refused(
        list.page(ctx.dir, &again.clone().with_limit(2)).await,
        &[ErrorKind::InvalidInput],
        &format!("{name}: the next cursor of a walk at limit 1 with limit 2"),
    )?;
    let other = if *list == List::Roles {
        List::Groups
    } else {
        List::Roles
    };
    if ctx.caps.supports(other.resource(), Operation::List) {
        ctx.refused(
            other.page(ctx.dir, &again).await,
            &[ErrorKind::InvalidCursor],
            &format!("a {name} cursor replayed on {}", other.name()),
        )?;
    }
    // The same list scoped to another group or user.
    let elsewhere = match list {
        List::GroupMembers(id) => ctx
            .world
            .groups
            .iter()
            .filter_map(|g| ctx.group(&g.name).ok())
            .find(|g| &g.id != id)
            .map(|g| g.id.clone()),
        List::UserGroups(id) => ctx
            .world
            .users
            .iter()
            .filter_map(|u| ctx.user_id(&u.email).ok())
            .find(|u| u != id),
        _ => None,
    };
    if let Some(scope) = elsewhere {
        ctx.refused(
            list.rescoped(&scope).page(ctx.dir, &again).await,
            &[ErrorKind::InvalidCursor],
            &format!(
                "a {name} cursor replayed for another {}",
                if matches!(list, List::GroupMembers(_)) {
                    "group"
                } else {
                    "user"
                }
            ),
        )?;
    }
    // The same list with a declared filter added.
    let filtered = match list.resource() {
        Resource::Users if ctx.declares_filter(Resource::Users, FilterField::Email) => ctx
            .world
            .users
            .first()
            .map(|u| again.clone().with_email(u.email.clone())),
        Resource::GroupMembers
            if ctx.declares_filter(Resource::GroupMembers, FilterField::RoleId) =>
        {
            ctx.world
                .roles_of(RoleScope::Group)
                .next()
                .and_then(|r| ctx.role_id(&r.key, &r.scope).ok())
                .map(|r| again.clone().with_role_id(r))
        }
        _ => None,
    };
    if let Some(query) = filtered {
        ctx.refused(
            list.page(ctx.dir, &query).await,
            &[ErrorKind::InvalidCursor],
            &format!("a {name} cursor replayed with a filter added"),
        )?;
    }
    Ok(())
}

/// Garbage, tampered cursors and another provider's cursors are refused with
/// `InvalidCursor`; forged cursors with a valid checksum are refused too, or (a position
/// past the end) answered with an empty last page.
async fn invalid_cursor(ctx: &Ctx<'_>, list: &List) -> Result<(), String> {
    let name = list.name();
    let query = ListQuery::new().with_limit(1);
    let mut refused: Vec<(String, Cursor)> = forge::garbage()
        .into_iter()
        .map(|(what, c)| (what.to_owned(), c))
        .collect();
    if let Some(c) = forge::other_provider(list, &query.filters) {
        refused.push(("another provider's cursor".to_owned(), c));
    }
    let real = first_cursor(ctx, list).await?;
    if let Some(real) = &real {
        refused.extend(forge::tampered(real));
    }
    for (what, cursor) in refused {
        ctx.refused(
            list.page(ctx.dir, &query.clone().with_cursor(cursor)).await,
            &[ErrorKind::InvalidCursor],
            &format!("{name} with {what}"),
        )?;
    }
    let forged = real.as_ref().and_then(forge::forgeries).unwrap_or_default();
    for (what, cursor) in forged {
        let answer = list.page(ctx.dir, &query.clone().with_cursor(cursor)).await;
        match answer {
            Ok(page) if page.result.is_empty() && page.next_cursor.is_none() => {}
            other => {
                ctx.refused(
                    other,
                    &[ErrorKind::InvalidCursor],
                    &format!("{name} with {what} (or an empty last page)"),
                )?;
            }
        }
    }
    Ok(())
}

type Probe = (String, List, ListQuery);

/// Lists the world makes empty: members of an empty group, groups of a group-less user,
/// users with an e-mail nobody has.
fn empty_probes(ctx: &Ctx<'_>) -> Result<Vec<Probe>, String> {
    let world = ctx.world;
    let mut probes = Vec::new();
    if ctx.caps.supports(Resource::GroupMembers, Operation::List)
        && let Some(g) = world.groups.iter().find(|g| g.members.is_empty())
    {
        let id = ctx.group(&g.name)?.id.clone();
        probes.push((
            format!("members of empty group {}", g.name),
            List::GroupMembers(id),
            ListQuery::new(),
        ));
    }
    if ctx.caps.supports(Resource::UserGroups, Operation::List)
        && let Some(u) = world
            .users
            .iter()
            .find(|u| world.groups_of(&u.email).count() == 0)
    {
        let id = ctx.user_id(&u.email)?;
        probes.push((
            format!("groups of {}, in no group", u.email),
            List::UserGroups(id),
            ListQuery::new(),
        ));
    }
    if ctx.caps.supports(Resource::Users, Operation::List)
        && ctx.declares_filter(Resource::Users, FilterField::Email)
    {
        probes.push((
            "users with an e-mail nobody has".to_owned(),
            List::Users,
            ListQuery::new().with_email("nobody@absent.invalid"),
        ));
    }
    Ok(probes)
}

/// A list with nothing in it is one empty page without `next_cursor`, at any page size.
async fn empty_results(ctx: &Ctx<'_>, probes: Vec<Probe>) -> Result<(), String> {
    for (what, list, query) in probes {
        for limit in [None, Some(1)] {
            let query = match limit {
                Some(l) => query.clone().with_limit(l),
                None => query.clone(),
            };
            let page = ctx.ok(list.page(ctx.dir, &query).await, &what)?;
            ensure!(
                page.result.is_empty() && page.next_cursor.is_none(),
                "{what} (limit {limit:?}): {} items, next_cursor {:?}; expected one empty page",
                page.result_count(),
                page.next_cursor
            );
        }
    }
    Ok(())
}
