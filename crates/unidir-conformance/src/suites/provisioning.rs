//! Provisioning: each operation says what it did and is idempotent; plan/apply converges.
//!
//! Every check puts the world back when it ends (passing or not), so the suite can run
//! again on the same directory; `provision.world_intact` confirms it. The credential's own
//! user is never added, changed or removed.

use std::collections::BTreeSet;

use unidir_core::provision::{ChangeKind, DesiredGroup, DesiredMember, DesiredState, apply, plan};
use unidir_core::{
    Directory, ErrorKind, MembershipResult, Operation, Outcome, Resource, RoleScope, UserRef,
};

use crate::context::{Ctx, ensure};
use crate::report::Report;
use crate::world::{World, WorldGroup, WorldMember, WorldUser};

const LIST: (Resource, Operation) = (Resource::GroupMembers, Operation::List);
const ADD: (Resource, Operation) = (Resource::GroupMembers, Operation::Add);
const CHANGE: (Resource, Operation) = (Resource::GroupMembers, Operation::ChangeRole);
const REMOVE: (Resource, Operation) = (Resource::GroupMembers, Operation::Remove);
const USERS: (Resource, Operation) = (Resource::Users, Operation::List);
const GROUPS: (Resource, Operation) = (Resource::Groups, Operation::List);
const ROLES: (Resource, Operation) = (Resource::Roles, Operation::List);

/// The provisioning checks. They write, and put the world back afterwards.
pub async fn provisioning(directory: &dyn Directory, world: &World) -> Report {
    let mut report = Report::new(directory.provider());
    match Ctx::prepare(directory, world).await {
        Ok(ctx) => run(&ctx, &mut report).await,
        Err(e) => {
            report
                .run("provision.prepare", None, async { Err(e) })
                .await
        }
    }
    report
}

/// What the checks change: a group with a member other than the credential's user, a user
/// outside it, and its group roles.
struct Target<'w> {
    group: &'w WorldGroup,
    outsider: &'w WorldUser,
}

/// The first group with roles (`roles`) or without, that has such a member and outsider.
fn target(world: &World, roles: bool) -> Option<Target<'_>> {
    world.groups.iter().find_map(|group| {
        if group.has_roles != roles {
            return None;
        }
        group.members.iter().find(|m| !world.is_me(&m.email))?;
        let outsider = world
            .users
            .iter()
            .find(|u| !world.is_me(&u.email) && !group.is_member(&u.email))?;
        Some(Target { group, outsider })
    })
}

pub(crate) async fn run(ctx: &Ctx<'_>, report: &mut Report) {
    // Only worlds with a group without roles have this check.
    if let Some(t) = target(ctx.world, false) {
        step(
            ctx,
            report,
            &t,
            "provision.roleless_group",
            ctx.undeclared(&[LIST, ADD, REMOVE, USERS, GROUPS, ROLES]),
            roleless(ctx, &t),
        )
        .await;
    }
    let Some(t) = target(ctx.world, true) else {
        for name in [
            "provision.add",
            "provision.change_role",
            "provision.remove",
            "provision.by_email",
            "provision.failures",
            "provision.plan_apply_converges",
            "provision.world_intact",
        ] {
            report.skip(
                name,
                "the world has no group with a member other than me and a user outside it",
            );
        }
        return;
    };
    let base = [LIST, ADD, REMOVE, USERS, GROUPS, ROLES];
    let two_roles = (ctx.world.roles_of(RoleScope::Group).count() < 2)
        .then(|| "the world has fewer than two group roles".to_owned());
    let email_filter = ctx.undeclared_filter(Resource::Users, unidir_core::FilterField::Email);
    step(
        ctx,
        report,
        &t,
        "provision.add",
        ctx.undeclared(&base),
        add(ctx, &t),
    )
    .await;
    let gate = ctx
        .undeclared(&[LIST, ADD, CHANGE, REMOVE, USERS, GROUPS, ROLES])
        .or(two_roles);
    step(
        ctx,
        report,
        &t,
        "provision.change_role",
        gate,
        change_role(ctx, &t),
    )
    .await;
    step(
        ctx,
        report,
        &t,
        "provision.remove",
        ctx.undeclared(&base),
        remove(ctx, &t),
    )
    .await;
    step(
        ctx,
        report,
        &t,
        "provision.by_email",
        ctx.undeclared(&base),
        by_email(ctx, &t),
    )
    .await;
    step(
        ctx,
        report,
        &t,
        "provision.failures",
        ctx.undeclared(&base),
        failures(ctx, &t),
    )
    .await;
    let gate = ctx.undeclared(&base).or(email_filter);
    step(
        ctx,
        report,
        &t,
        "provision.plan_apply_converges",
        gate,
        plan_apply(ctx, &t),
    )
    .await;
    report
        .run(
            "provision.world_intact",
            ctx.undeclared(&[LIST, USERS, GROUPS, ROLES]),
            world_intact(ctx),
        )
        .await;
}

/// Runs one check, then puts the target group back as the world has it.
async fn step(
    ctx: &Ctx<'_>,
    report: &mut Report,
    t: &Target<'_>,
    name: &str,
    skip: Option<String>,
    check: impl Future<Output = Result<(), String>>,
) {
    let ran = skip.is_none();
    report.run(name, skip, check).await;
    if ran {
        restore(ctx, t.group).await;
    }
}

/// Puts `group`'s members back as the world has them, ignoring errors (a failing check has
/// already said what broke).
async fn restore(ctx: &Ctx<'_>, group: &WorldGroup) {
    let Ok(id) = ctx.group(&group.name).map(|g| g.id.clone()) else {
        return;
    };
    let (Ok(live), Ok(expected)) = (ctx.live_members(&id).await, ctx.expected_members(group))
    else {
        return;
    };
    for (user, role) in &expected {
        if !live.contains(&(user.clone(), role.clone())) {
            let role = (!role.is_empty()).then_some(role.as_str());
            let _ = ctx
                .dir
                .add_group_member(&id, &UserRef::Id(user.clone()), role)
                .await;
        }
    }
    let wanted: BTreeSet<_> = expected.iter().map(|(u, _)| u).collect();
    for (user, _) in &live {
        if !wanted.contains(user) {
            let _ = ctx
                .dir
                .remove_group_member(&id, &UserRef::Id(user.clone()))
                .await;
        }
    }
}

/// The ids a check works with.
struct Ids {
    group: String,
    outsider: String,
    role: String,
    other_role: Option<String>,
}

fn ids(ctx: &Ctx<'_>, t: &Target<'_>) -> Result<Ids, String> {
    let mut roles = ctx.world.roles_of(RoleScope::Group);
    let first = roles
        .next()
        .ok_or_else(|| "the world has no group role".to_owned())?;
    Ok(Ids {
        group: ctx.group(&t.group.name)?.id.clone(),
        outsider: ctx.user_id(&t.outsider.email)?,
        role: ctx.role_id(&first.key, &first.scope)?,
        other_role: roles
            .next()
            .map(|r| ctx.role_id(&r.key, &r.scope))
            .transpose()?,
    })
}

/// Fails unless `result` has `outcome` for `group` and, where given, `user`, `role` and
/// `previous`; also that failure outcomes and writes are classified as such.
fn expect(
    what: &str,
    result: &MembershipResult,
    outcome: Outcome,
    group: &str,
    user: Option<&str>,
    role: Option<Option<&str>>,
    previous: Option<Option<&str>>,
) -> Result<(), String> {
    ensure!(
        result.outcome == outcome,
        "{what}: outcome {}, expected {outcome} ({result:?})",
        result.outcome
    );
    ensure!(
        result.group_id == group,
        "{what}: names group {}, expected {group}",
        result.group_id
    );
    if let Some(user) = user {
        ensure!(
            result.user_id.as_deref() == Some(user),
            "{what}: names user {:?}, expected {user}",
            result.user_id
        );
    }
    if let Some(role) = role {
        ensure!(
            result.role_id.as_deref() == role,
            "{what}: role {:?}, expected {role:?}",
            result.role_id
        );
    }
    if let Some(previous) = previous {
        ensure!(
            result.previous_role_id.as_deref() == previous,
            "{what}: previous role {:?}, expected {previous:?}",
            result.previous_role_id
        );
    }
    Ok(())
}

/// Fails unless the live members of `group` hold `user` with `role` (`None`: absent).
async fn member_is(
    ctx: &Ctx<'_>,
    group: &str,
    user: &str,
    role: Option<&str>,
    when: &str,
) -> Result<(), String> {
    let live = ctx.live_members(group).await?;
    let have = live
        .iter()
        .find(|(u, _)| u == user)
        .map(|(_, r)| r.as_str());
    ensure!(
        have == role,
        "{when}: {user} holds {have:?} in {group}, expected {role:?}"
    );
    Ok(())
}

/// Adding a user is `created`, then `unchanged`; the member list shows them. Where the group
/// names its default role, adding without a role gives that one.
async fn add(ctx: &Ctx<'_>, t: &Target<'_>) -> Result<(), String> {
    let ids = ids(ctx, t)?;
    let (g, u, r) = (ids.group.as_str(), ids.outsider.as_str(), ids.role.as_str());
    let user = UserRef::Id(u.to_owned());
    let first = ctx.ok(
        ctx.dir.add_group_member(g, &user, Some(r)).await,
        "add_group_member",
    )?;
    expect(
        "add",
        &first,
        Outcome::Created,
        g,
        Some(u),
        Some(Some(r)),
        Some(None),
    )?;
    ensure!(first.outcome.wrote(), "created must count as a write");
    member_is(ctx, g, u, Some(r), "after add").await?;
    let again = ctx.ok(
        ctx.dir.add_group_member(g, &user, Some(r)).await,
        "add_group_member again",
    )?;
    expect(
        "add again",
        &again,
        Outcome::Unchanged,
        g,
        Some(u),
        Some(Some(r)),
        None,
    )?;
    ensure!(
        !again.outcome.wrote(),
        "unchanged must not count as a write"
    );
    member_is(ctx, g, u, Some(r), "after adding again").await?;
    let Some(default) = ctx.group(&t.group.name)?.default_role_id.clone() else {
        return Ok(());
    };
    let reset = ctx.ok(
        ctx.dir.add_group_member(g, &user, None).await,
        "add_group_member without a role",
    )?;
    let outcome = if default == r {
        Outcome::Unchanged
    } else {
        Outcome::RoleChanged
    };
    expect(
        "add without a role (the group's default role)",
        &reset,
        outcome,
        g,
        Some(u),
        Some(Some(&default)),
        Some(Some(r)),
    )?;
    member_is(ctx, g, u, Some(&default), "after adding without a role").await
}

/// A group without roles: the capabilities say so (and that the world's other groups have
/// roles); a user is added without a role (`created`, then `unchanged`) and holds none; a
/// role for it is `InvalidInput` and writes nothing; removal reports no previous role; a
/// desired state lists its members without roles, plans and applies, and one with a role is
/// refused.
async fn roleless(ctx: &Ctx<'_>, t: &Target<'_>) -> Result<(), String> {
    let caps = &ctx.caps;
    for world_group in &ctx.world.groups {
        let listed = ctx.group(&world_group.name)?;
        ensure!(
            caps.group_has_roles(listed) == world_group.has_roles,
            "group {}: the world says has_roles {}, the directory says {} (group_roles {}, \
             has_roles {:?})",
            world_group.name,
            world_group.has_roles,
            caps.group_has_roles(listed),
            caps.group_roles.as_str(),
            listed.has_roles
        );
    }
    let g = ctx.group(&t.group.name)?.id.clone();
    let u = ctx.user_id(&t.outsider.email)?;
    let (g, u) = (g.as_str(), u.as_str());
    let user = UserRef::Id(u.to_owned());
    let added = ctx.ok(
        ctx.dir.add_group_member(g, &user, None).await,
        "add_group_member without a role",
    )?;
    expect(
        "add without a role",
        &added,
        Outcome::Created,
        g,
        Some(u),
        Some(None),
        Some(None),
    )?;
    member_is(ctx, g, u, Some(""), "after add").await?;
    let again = ctx.ok(
        ctx.dir.add_group_member(g, &user, None).await,
        "add_group_member without a role again",
    )?;
    expect(
        "add without a role again",
        &again,
        Outcome::Unchanged,
        g,
        Some(u),
        Some(None),
        None,
    )?;
    if let Some(role) = ctx.world.roles_of(RoleScope::Group).next() {
        let role = ctx.role_id(&role.key, &role.scope)?;
        ctx.refused(
            ctx.dir.add_group_member(g, &user, Some(&role)).await,
            &[ErrorKind::InvalidInput],
            &format!("add with role {role} to a group without roles"),
        )?;
        if ctx.caps.supports(CHANGE.0, CHANGE.1) {
            ctx.refused(
                ctx.dir.change_group_member_role(g, &user, &role).await,
                &[ErrorKind::InvalidInput],
                &format!("change to role {role} in a group without roles"),
            )?;
        }
        member_is(ctx, g, u, Some(""), "after the refused roles").await?;
        let with_role = DesiredState::new(vec![DesiredGroup::new(
            t.group.slug.clone(),
            vec![DesiredMember::new(t.outsider.email.clone()).with_role(role.clone())],
        )]);
        match plan(ctx.dir, &with_role).await {
            Err(e) if e.kind() == ErrorKind::InvalidInput => {}
            other => {
                return Err(format!(
                    "plan with a role in a group without roles: expected an InvalidInput \
                     error, got {other:?}"
                ));
            }
        }
    }
    let removed = ctx.ok(
        ctx.dir.remove_group_member(g, &user).await,
        "remove_group_member",
    )?;
    expect(
        "remove",
        &removed,
        Outcome::Removed,
        g,
        Some(u),
        Some(None),
        Some(None),
    )?;
    member_is(ctx, g, u, None, "after remove").await?;

    // The outsider joins and the first member other than me leaves, through plan/apply.
    let leaver = t
        .group
        .members
        .iter()
        .find(|m| !ctx.world.is_me(&m.email))
        .ok_or_else(|| "the group has no member but me".to_owned())?;
    let mut members = vec![DesiredMember::new(t.outsider.email.clone())];
    let mut expected = BTreeSet::from([(u.to_owned(), String::new())]);
    for m in t.group.members.iter().filter(|m| m.email != leaver.email) {
        members.push(DesiredMember::new(m.email.clone()));
        expected.insert((ctx.user_id(&m.email)?, String::new()));
    }
    let desired = DesiredState::new(vec![
        DesiredGroup::new(t.group.slug.clone(), members).with_remove_unlisted(true),
    ]);
    let planned = plan(ctx.dir, &desired)
        .await
        .map_err(|e| format!("plan: {e}"))?;
    let shape: Vec<_> = planned
        .changes
        .iter()
        .map(|c| (c.kind, c.role_id.as_deref(), c.previous_role_id.as_deref()))
        .collect();
    ensure!(
        planned.problems.is_empty()
            && shape
                == [
                    (ChangeKind::Add, None, None),
                    (ChangeKind::Remove, None, None)
                ],
        "plan for a group without roles: {planned:?}"
    );
    let applied = apply(ctx.dir, &planned).await;
    ensure!(applied.is_complete(), "apply did not complete: {applied:?}");
    let live = ctx.live_members(g).await?;
    ensure!(
        live == expected,
        "after apply the members are {live:?}, desired {expected:?}"
    );
    let again = plan(ctx.dir, &desired)
        .await
        .map_err(|e| format!("plan again: {e}"))?;
    ensure!(again.is_empty(), "a second plan is not empty: {again:?}");
    Ok(())
}

/// Changing a role is `role_changed` (with the previous role), then `unchanged`; adding an
/// existing member with another role changes it too.
async fn change_role(ctx: &Ctx<'_>, t: &Target<'_>) -> Result<(), String> {
    let ids = ids(ctx, t)?;
    let (g, u, r) = (ids.group.as_str(), ids.outsider.as_str(), ids.role.as_str());
    let other = ids
        .other_role
        .as_deref()
        .ok_or_else(|| "the world has one group role".to_owned())?;
    let user = UserRef::Id(u.to_owned());
    let added = ctx.ok(
        ctx.dir.add_group_member(g, &user, Some(r)).await,
        "add_group_member",
    )?;
    expect(
        "add",
        &added,
        Outcome::Created,
        g,
        Some(u),
        Some(Some(r)),
        None,
    )?;
    let changed = ctx.ok(
        ctx.dir.change_group_member_role(g, &user, other).await,
        "change_group_member_role",
    )?;
    expect(
        "change role",
        &changed,
        Outcome::RoleChanged,
        g,
        Some(u),
        Some(Some(other)),
        Some(Some(r)),
    )?;
    ensure!(
        changed.outcome.wrote(),
        "role_changed must count as a write"
    );
    member_is(ctx, g, u, Some(other), "after the role change").await?;
    let again = ctx.ok(
        ctx.dir.change_group_member_role(g, &user, other).await,
        "change_group_member_role again",
    )?;
    expect(
        "change role again",
        &again,
        Outcome::Unchanged,
        g,
        Some(u),
        Some(Some(other)),
        None,
    )?;
    let back = ctx.ok(
        ctx.dir.add_group_member(g, &user, Some(r)).await,
        "add_group_member with another role",
    )?;
    expect(
        "add with another role",
        &back,
        Outcome::RoleChanged,
        g,
        Some(u),
        Some(Some(r)),
        Some(Some(other)),
    )?;
    member_is(ctx, g, u, Some(r), "after adding with another role").await
}

/// Removing is `removed` (with the previous role), then `already_absent`; a role change for
/// a non-member is `not_a_member` and writes nothing.
async fn remove(ctx: &Ctx<'_>, t: &Target<'_>) -> Result<(), String> {
    let ids = ids(ctx, t)?;
    let (g, u, r) = (ids.group.as_str(), ids.outsider.as_str(), ids.role.as_str());
    let user = UserRef::Id(u.to_owned());
    let added = ctx.ok(
        ctx.dir.add_group_member(g, &user, Some(r)).await,
        "add_group_member",
    )?;
    expect(
        "add",
        &added,
        Outcome::Created,
        g,
        Some(u),
        Some(Some(r)),
        None,
    )?;
    let removed = ctx.ok(
        ctx.dir.remove_group_member(g, &user).await,
        "remove_group_member",
    )?;
    expect(
        "remove",
        &removed,
        Outcome::Removed,
        g,
        Some(u),
        Some(None),
        Some(Some(r)),
    )?;
    ensure!(removed.outcome.wrote(), "removed must count as a write");
    member_is(ctx, g, u, None, "after remove").await?;
    let again = ctx.ok(
        ctx.dir.remove_group_member(g, &user).await,
        "remove_group_member again",
    )?;
    expect(
        "remove again",
        &again,
        Outcome::AlreadyAbsent,
        g,
        Some(u),
        Some(None),
        None,
    )?;
    ensure!(
        !again.outcome.wrote(),
        "already_absent must not count as a write"
    );
    if ctx.caps.supports(CHANGE.0, CHANGE.1) {
        let change = ctx.ok(
            ctx.dir.change_group_member_role(g, &user, r).await,
            "change_group_member_role of a non-member",
        )?;
        expect(
            "change role of a non-member",
            &change,
            Outcome::NotAMember,
            g,
            Some(u),
            None,
            None,
        )?;
        ensure!(
            change.outcome.is_failure(),
            "not_a_member must count as a failure"
        );
        member_is(ctx, g, u, None, "after a role change of a non-member").await?;
    }
    Ok(())
}

/// A user named by e-mail is resolved to their id.
async fn by_email(ctx: &Ctx<'_>, t: &Target<'_>) -> Result<(), String> {
    let ids = ids(ctx, t)?;
    let (g, u, r) = (ids.group.as_str(), ids.outsider.as_str(), ids.role.as_str());
    let user = UserRef::Email(t.outsider.email.clone());
    let added = ctx.ok(
        ctx.dir.add_group_member(g, &user, Some(r)).await,
        "add_group_member by e-mail",
    )?;
    expect(
        "add by e-mail",
        &added,
        Outcome::Created,
        g,
        Some(u),
        Some(Some(r)),
        None,
    )?;
    member_is(ctx, g, u, Some(r), "after add by e-mail").await?;
    let removed = ctx.ok(
        ctx.dir.remove_group_member(g, &user).await,
        "remove_group_member by e-mail",
    )?;
    expect(
        "remove by e-mail",
        &removed,
        Outcome::Removed,
        g,
        Some(u),
        None,
        Some(Some(r)),
    )?;
    member_is(ctx, g, u, None, "after remove by e-mail").await
}

/// Unknown users and groups are failure outcomes (nothing written); a role that is no group
/// role is `InvalidInput`.
async fn failures(ctx: &Ctx<'_>, t: &Target<'_>) -> Result<(), String> {
    let ids = ids(ctx, t)?;
    let (g, u, r) = (ids.group.as_str(), ids.outsider.as_str(), ids.role.as_str());
    let absent = ctx.world.absent_id.as_str();
    let outsider = UserRef::Id(u.to_owned());
    let stranger = UserRef::Email("nobody@absent.invalid".to_owned());
    let ghost = UserRef::Id(absent.to_owned());
    let dir = ctx.dir;
    let cases = [
        (
            "add a stranger by e-mail",
            dir.add_group_member(g, &stranger, Some(r)).await,
            Outcome::UserNotInOrganization,
            g,
        ),
        (
            "add an absent user id",
            dir.add_group_member(g, &ghost, Some(r)).await,
            Outcome::UserNotInOrganization,
            g,
        ),
        (
            "remove an absent user id",
            dir.remove_group_member(g, &ghost).await,
            Outcome::UserNotInOrganization,
            g,
        ),
        (
            "add to an absent group",
            dir.add_group_member(absent, &outsider, Some(r)).await,
            Outcome::GroupNotFound,
            absent,
        ),
        (
            "remove from an absent group",
            dir.remove_group_member(absent, &outsider).await,
            Outcome::GroupNotFound,
            absent,
        ),
    ];
    for (what, result, outcome, group) in cases {
        let result = ctx.ok(result, what)?;
        expect(what, &result, outcome, group, None, None, None)?;
        ensure!(
            result.outcome.is_failure() && !result.outcome.wrote(),
            "{what}: {} must be a failure that wrote nothing",
            result.outcome
        );
    }
    ctx.refused(
        dir.add_group_member(g, &outsider, Some("conformance-no-such-role"))
            .await,
        &[ErrorKind::InvalidInput],
        "add with a role that does not exist",
    )?;
    if let Some(org_role) = ctx.world.roles_of(RoleScope::Organization).next() {
        let org_role = ctx.role_id(&org_role.key, &org_role.scope)?;
        ctx.refused(
            dir.add_group_member(g, &outsider, Some(&org_role)).await,
            &[ErrorKind::InvalidInput],
            &format!("add with organization role {org_role}"),
        )?;
    }
    ctx.members_as_world(t.group, "after the refused changes")
        .await
}

/// A desired state plans the expected changes without writing, applies completely, and
/// then plans as nothing; unresolvable entries are problems, not changes; planning the
/// world's own membership back converges too.
async fn plan_apply(ctx: &Ctx<'_>, t: &Target<'_>) -> Result<(), String> {
    let ids = ids(ctx, t)?;
    let world = ctx.world;
    let group = t.group;
    // The target group has roles: every world member holds one.
    let member = |user: String, role: &str| DesiredMember::new(user).with_role(role);
    let role_of = |m: &WorldMember| m.role.clone().unwrap_or_default();
    let others: Vec<_> = group
        .members
        .iter()
        .filter(|m| !world.is_me(&m.email))
        .collect();
    let flip = others
        .first()
        .ok_or_else(|| "the target group has no member but me".to_owned())?;
    let flip_role = role_of(flip);
    let flipped_role = world
        .roles_of(RoleScope::Group)
        .map(|r| r.key.as_str())
        .find(|k| *k != flip_role)
        .unwrap_or(flip_role.as_str());
    let first_role = world
        .roles_of(RoleScope::Group)
        .next()
        .map(|r| r.key.clone())
        .unwrap_or_default();
    // Me keeps its role; one member changes role (named by id); the outsider joins (named by
    // e-mail); every other member is removed.
    let mut members = Vec::new();
    let mut expected = BTreeSet::new();
    for m in group.members.iter().filter(|m| world.is_me(&m.email)) {
        members.push(member(ctx.user_id(&m.email)?, &role_of(m)));
        expected.insert((
            ctx.user_id(&m.email)?,
            ctx.role_id(&role_of(m), &RoleScope::Group)?,
        ));
    }
    members.push(member(ctx.user_id(&flip.email)?, flipped_role));
    expected.insert((
        ctx.user_id(&flip.email)?,
        ctx.role_id(flipped_role, &RoleScope::Group)?,
    ));
    members.push(member(t.outsider.email.clone(), &first_role));
    expected.insert((ids.outsider.clone(), ids.role.clone()));
    let desired = DesiredState::new(vec![
        DesiredGroup::new(group.slug.clone(), members).with_remove_unlisted(true),
    ]);
    let planned = plan(ctx.dir, &desired)
        .await
        .map_err(|e| format!("plan: {e}"))?;
    ctx.members_as_world(group, "after plan (a dry run)")
        .await?;
    ensure!(
        planned.problems.is_empty(),
        "plan problems: {:?}",
        planned.problems
    );
    let count = |kind| planned.changes.iter().filter(|c| c.kind == kind).count();
    let flips = usize::from(flipped_role != flip_role);
    ensure!(
        count(ChangeKind::Add) == 1
            && count(ChangeKind::ChangeRole) == flips
            && count(ChangeKind::Remove) == others.len() - 1,
        "plan has {} additions, {} role changes, {} removals; expected 1, {flips}, {}: {:?}",
        count(ChangeKind::Add),
        count(ChangeKind::ChangeRole),
        count(ChangeKind::Remove),
        others.len() - 1,
        planned.changes
    );
    ensure!(
        planned.changes.iter().all(|c| c.group_id == ids.group),
        "plan changes a group other than {}: {:?}",
        ids.group,
        planned.changes
    );
    let applied = apply(ctx.dir, &planned).await;
    ensure!(applied.is_complete(), "apply did not complete: {applied:?}");
    let live = ctx.live_members(&ids.group).await?;
    ensure!(
        live == expected,
        "after apply the members are {live:?}, desired {expected:?}"
    );
    let again = plan(ctx.dir, &desired)
        .await
        .map_err(|e| format!("plan again: {e}"))?;
    ensure!(again.is_empty(), "a second plan is not empty: {again:?}");
    let noop = apply(ctx.dir, &again).await;
    ensure!(
        noop.applied.is_empty(),
        "applying an empty plan did something: {noop:?}"
    );

    // Unresolvable entries.
    let broken = DesiredState::new(vec![
        DesiredGroup::new("conformance-absent-group", Vec::new()),
        DesiredGroup::new(
            group.slug.clone(),
            vec![member("nobody@absent.invalid".to_owned(), &first_role)],
        ),
    ]);
    let problems = plan(ctx.dir, &broken)
        .await
        .map_err(|e| format!("plan with unresolvable entries: {e}"))?
        .problems;
    let outcomes: Vec<_> = problems.iter().map(|p| p.outcome).collect();
    ensure!(
        outcomes == [Outcome::GroupNotFound, Outcome::UserNotInOrganization],
        "unresolvable entries planned as {problems:?}"
    );

    // Back to the world, through plan/apply.
    let back = DesiredState::new(vec![
        DesiredGroup::new(
            group.slug.clone(),
            group
                .members
                .iter()
                .map(|m| member(m.email.clone(), &role_of(m)))
                .collect(),
        )
        .with_remove_unlisted(true),
    ]);
    let planned = plan(ctx.dir, &back)
        .await
        .map_err(|e| format!("plan back to the world: {e}"))?;
    let applied = apply(ctx.dir, &planned).await;
    ensure!(
        applied.is_complete(),
        "applying the world back did not complete: {applied:?}"
    );
    ctx.members_as_world(group, "after applying the world back")
        .await?;
    let settled = plan(ctx.dir, &back)
        .await
        .map_err(|e| format!("plan after applying the world back: {e}"))?;
    ensure!(
        settled.is_empty(),
        "the world's own membership plans as {settled:?}"
    );
    Ok(())
}

async fn world_intact(ctx: &Ctx<'_>) -> Result<(), String> {
    for group in &ctx.world.groups {
        ctx.members_as_world(group, "after the provisioning checks")
            .await?;
    }
    Ok(())
}
