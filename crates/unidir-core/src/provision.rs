//! Group-membership provisioning: the vocabulary of changes and outcomes, and a
//! provider-neutral plan/apply pair built on the [`Directory`] trait.
//!
//! Every operation is idempotent and says what happened ([`Outcome`]). Running the same
//! change twice gives `created` then `unchanged`; removing twice gives `removed` then
//! `already_absent`. A provider that cannot confirm a write (the response was lost) resolves
//! it by reading the membership back rather than by sending the write again.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use futures::TryStreamExt;
use resolve::UserResolution;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::directory::{Directory, DirectoryExt};
use crate::error::{Error, ErrorBody, Result};
use crate::model::Group;
use crate::page::ListQuery;

mod resolve;

pub use resolve::LOOKUP_LIMIT;

/// A user named by provider id or by e-mail address.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UserRef {
    /// The provider's user id.
    Id(String),
    /// An e-mail address, resolved through the directory's member lookup.
    Email(String),
}

impl UserRef {
    /// Reads `raw` as an e-mail when it contains `@`, as an id otherwise.
    pub fn parse(raw: &str) -> Self {
        if raw.contains('@') {
            Self::Email(raw.trim().to_owned())
        } else {
            Self::Id(raw.trim().to_owned())
        }
    }

    /// The id or the e-mail, as given.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Id(s) | Self::Email(s) => s,
        }
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a provisioning operation did (or found).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The user was added to the group.
    Created,
    /// The member's role was changed.
    RoleChanged,
    /// The membership was already in the requested state; nothing was written.
    Unchanged,
    /// The member was removed.
    Removed,
    /// The user was not a member; nothing was written.
    AlreadyAbsent,
    /// A role change was asked for a user who is not a member of the group.
    NotAMember,
    /// The user is not a member of the organization (providers such as Buildkite only
    /// place existing organization members in groups; unidir never invites).
    UserNotInOrganization,
    /// The group does not exist (or the credential cannot see it).
    GroupNotFound,
    /// The user reference cannot name a user of this provider (empty, or not of the
    /// provider's id syntax, such as a name where an id belongs); nothing was looked up.
    InvalidUser,
}

impl Outcome {
    /// Whether the requested state could not be reached.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::NotAMember
                | Self::UserNotInOrganization
                | Self::GroupNotFound
                | Self::InvalidUser
        )
    }

    /// Whether something was written.
    pub fn wrote(self) -> bool {
        matches!(self, Self::Created | Self::RoleChanged | Self::Removed)
    }

    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::RoleChanged => "role_changed",
            Self::Unchanged => "unchanged",
            Self::Removed => "removed",
            Self::AlreadyAbsent => "already_absent",
            Self::NotAMember => "not_a_member",
            Self::UserNotInOrganization => "user_not_in_organization",
            Self::GroupNotFound => "group_not_found",
            Self::InvalidUser => "invalid_user",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of one provisioning operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct MembershipResult {
    /// What happened.
    pub outcome: Outcome,
    /// The group.
    pub group_id: String,
    /// The user's id, once resolved (`null` when an e-mail matched nobody).
    pub user_id: Option<String>,
    /// The member's role after the operation (`null` when not a member).
    pub role_id: Option<String>,
    /// The member's role before the operation (`null` when not a member).
    pub previous_role_id: Option<String>,
}

impl MembershipResult {
    /// `outcome` for group `group_id`, without user or roles.
    pub fn new(outcome: Outcome, group_id: impl Into<String>) -> Self {
        Self {
            outcome,
            group_id: group_id.into(),
            user_id: None,
            role_id: None,
            previous_role_id: None,
        }
    }

    /// Sets [`MembershipResult::user_id`].
    pub fn with_user_id(mut self, user_id: impl Into<Option<String>>) -> Self {
        self.user_id = user_id.into();
        self
    }

    /// Sets [`MembershipResult::role_id`].
    pub fn with_role_id(mut self, role_id: impl Into<Option<String>>) -> Self {
        self.role_id = role_id.into();
        self
    }

    /// Sets [`MembershipResult::previous_role_id`].
    pub fn with_previous_role_id(mut self, previous: impl Into<Option<String>>) -> Self {
        self.previous_role_id = previous.into();
        self
    }
}

/// One membership a [`DesiredGroup`] should have.
///
/// Desired-state types refuse unknown keys, naming the nearest valid one: a misspelt key
/// (`remove_unlsted`) must never be silently ignored in a file that drives writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DesiredMember {
    /// User id or e-mail address.
    pub user: String,
    /// Group role: a role id (`team:maintainer`), or the part after `:` (`maintainer`).
    /// Left out, the user only has to be a member: one who is not is added with the group's
    /// default role ([`Group::default_role_id`]), and an existing member keeps their role. A
    /// group without roles ([`Group::has_roles`]) takes no role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// The membership one group should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DesiredGroup {
    /// Group id, or its slug.
    pub group: String,
    /// Members the group should have, with their roles.
    pub members: Vec<DesiredMember>,
    /// Also remove members that are not listed (default `false`: only additions and role
    /// changes). Opt-in per group, so a file that forgets it never empties a group.
    #[serde(default)]
    pub remove_unlisted: bool,
}

/// The desired memberships of one or more groups (the `plan`/`apply` input file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DesiredState {
    /// Groups and their desired members.
    pub groups: Vec<DesiredGroup>,
}

impl DesiredMember {
    /// User `user` (id or e-mail), with any role (see [`DesiredMember::role`]).
    pub fn new(user: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            role: None,
        }
    }

    /// Asks for group role `role` (an id, or the part after `:`).
    pub fn with_role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }
}

impl DesiredGroup {
    /// Group `group` (id or slug) with `members`, unlisted members kept.
    pub fn new(group: impl Into<String>, members: Vec<DesiredMember>) -> Self {
        Self {
            group: group.into(),
            members,
            remove_unlisted: false,
        }
    }

    /// Sets whether members that are not listed are removed.
    pub fn with_remove_unlisted(mut self, remove_unlisted: bool) -> Self {
        self.remove_unlisted = remove_unlisted;
        self
    }
}

impl DesiredState {
    /// The desired memberships of `groups`.
    pub fn new(groups: Vec<DesiredGroup>) -> Self {
        Self { groups }
    }
}

// Hand-written `Deserialize` for the three desired-state types: serde's derived
// `deny_unknown_fields` error lists the expected keys but cannot suggest the nearest one.

/// Reads the keys of one desired-state object: each known key once, an unknown key refused
/// with the nearest valid key suggested.
struct Keys<A> {
    map: A,
    fields: &'static [&'static str],
    seen: Vec<bool>,
}

impl<'de, A: MapAccess<'de>> Keys<A> {
    fn new(map: A, fields: &'static [&'static str]) -> Self {
        Self {
            map,
            fields,
            seen: vec![false; fields.len()],
        }
    }

    /// The index (in `fields`) of the next key, or `None` at the end of the object.
    fn next(&mut self) -> std::result::Result<Option<usize>, A::Error> {
        let Some(key) = self.map.next_key::<String>()? else {
            return Ok(None);
        };
        let Some(index) = self.fields.iter().position(|f| *f == key) else {
            return Err(de::Error::custom(unknown_key_message(&key, self.fields)));
        };
        if std::mem::replace(&mut self.seen[index], true) {
            return Err(de::Error::duplicate_field(self.fields[index]));
        }
        Ok(Some(index))
    }

    fn value<T: Deserialize<'de>>(&mut self) -> std::result::Result<T, A::Error> {
        self.map.next_value()
    }
}

fn required<T, E: de::Error>(value: Option<T>, field: &'static str) -> std::result::Result<T, E> {
    value.ok_or_else(|| E::missing_field(field))
}

/// "unknown key `remove_unlsted`; did you mean `remove_unlisted`?" (or the valid keys when
/// none is close). The key is escaped and bounded: it comes from a file.
pub(crate) fn unknown_key_message(key: &str, fields: &[&str]) -> String {
    let shown = crate::text::bounded(key, 64);
    let nearest = fields
        .iter()
        .map(|f| (edit_distance(key, f), *f))
        .min_by_key(|(d, _)| *d)
        // Close enough to be a typo: at most a third of the key's length, and at most 3.
        .filter(|(d, f)| *d <= 3 && *d * 3 <= f.chars().count().max(3));
    match nearest {
        Some((_, f)) => format!("unknown key `{shown}`; did you mean `{f}`?"),
        None => format!(
            "unknown key `{shown}`; expected {}",
            fields
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Levenshtein distance in characters, stopping early for long inputs (a key longer than
/// 64 characters is no typo of a short field name).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(65).collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// One visitor per desired-state type.
macro_rules! desired_visitor {
    ($type:ident, $expecting:literal, $fields:expr, |$keys:ident| $body:block) => {
        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: de::Deserializer<'de>>(
                deserializer: D,
            ) -> std::result::Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $type;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> std::result::Result<$type, A::Error> {
                        let mut $keys = Keys::new(map, $fields);
                        $body
                    }
                }
                deserializer.deserialize_struct(stringify!($type), $fields, V)
            }
        }
    };
}

desired_visitor!(
    DesiredMember,
    "a member object {\"user\": ..., \"role\": ...} (role optional)",
    &["user", "role"],
    |keys| {
        let (mut user, mut role) = (None, None);
        while let Some(index) = keys.next()? {
            match index {
                0 => user = Some(keys.value()?),
                _ => role = Some(keys.value()?),
            }
        }
        Ok(DesiredMember {
            user: required(user, "user")?,
            role: role.flatten(),
        })
    }
);

desired_visitor!(
    DesiredGroup,
    "a group object {\"group\": ..., \"members\": [...], \"remove_unlisted\": false}",
    &["group", "members", "remove_unlisted"],
    |keys| {
        let (mut group, mut members, mut remove_unlisted) = (None, None, None);
        while let Some(index) = keys.next()? {
            match index {
                0 => group = Some(keys.value()?),
                1 => members = Some(keys.value()?),
                _ => remove_unlisted = Some(keys.value()?),
            }
        }
        Ok(DesiredGroup {
            group: required(group, "group")?,
            members: required(members, "members")?,
            remove_unlisted: remove_unlisted.unwrap_or(false),
        })
    }
);

desired_visitor!(
    DesiredState,
    "a desired-state object {\"groups\": [...]}",
    &["groups"],
    |keys| {
        let mut groups = None;
        while keys.next()?.is_some() {
            groups = Some(keys.value()?);
        }
        Ok(DesiredState {
            groups: required(groups, "groups")?,
        })
    }
);

/// What a planned change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Add a member.
    Add,
    /// Change a member's role.
    ChangeRole,
    /// Remove a member.
    Remove,
}

/// One change of a [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PlannedChange {
    /// What to do.
    pub kind: ChangeKind,
    /// The group (id).
    pub group_id: String,
    /// The group's name, for people.
    pub group_name: String,
    /// The user (id).
    pub user_id: String,
    /// The user's e-mail or name, for people.
    pub user_label: Option<String>,
    /// Role after the change: `null` for removals, and for additions without a role (to a
    /// group without roles, or with the group's default role where the directory does not
    /// name it).
    pub role_id: Option<String>,
    /// Role before the change (`null` for additions).
    pub previous_role_id: Option<String>,
}

impl PlannedChange {
    /// Whether the change takes access away: a removal, or a role change other than a
    /// promotion to a `maintainer` role. Role ids are provider-specific, so an unknown
    /// role change counts as a downgrade (the side that asks for confirmation).
    pub fn takes_access_away(&self) -> bool {
        match self.kind {
            ChangeKind::Add => false,
            ChangeKind::Remove => true,
            ChangeKind::ChangeRole => {
                let short = |r: &Option<String>| {
                    r.as_deref()
                        .map(|r| r.rsplit(':').next().unwrap_or(r).to_owned())
                };
                !(short(&self.role_id).as_deref() == Some("maintainer")
                    && short(&self.previous_role_id).as_deref() != Some("maintainer"))
            }
        }
    }
}

/// Something in the desired state that cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PlanProblem {
    /// The group as written in the desired state.
    pub group: String,
    /// The user as written, when the problem is about one user.
    pub user: Option<String>,
    /// Why it cannot be planned (`group_not_found`, `user_not_in_organization`, ...).
    pub outcome: Outcome,
    /// Explanation.
    pub message: String,
}

/// The changes that bring the live directory to the desired state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Changes, grouped by group, additions and role changes before removals.
    pub changes: Vec<PlannedChange>,
    /// Entries that cannot be applied as written.
    pub problems: Vec<PlanProblem>,
}

impl Plan {
    /// Whether the directory already matches (and nothing is unresolvable).
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.problems.is_empty()
    }

    /// Removals and downgrades ([`PlannedChange::takes_access_away`]): the changes a
    /// person should confirm before they are applied.
    pub fn removals_and_downgrades(&self) -> impl Iterator<Item = &PlannedChange> {
        self.changes.iter().filter(|c| c.takes_access_away())
    }
}

/// The result of applying one planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AppliedChange {
    /// The change.
    pub change: PlannedChange,
    /// What the provider reported, when the call succeeded.
    pub result: Option<MembershipResult>,
    /// Why it failed, when it did.
    pub error: Option<ErrorBody>,
}

/// What `apply` did. Re-running the same desired state converges: changes that were applied
/// plan as nothing, failed ones are planned again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplyReport {
    /// Every change, in order, with its result or error.
    pub applied: Vec<AppliedChange>,
    /// Problems carried over from the plan (nothing was attempted for them).
    pub problems: Vec<PlanProblem>,
}

impl ApplyReport {
    /// Changes that reached their desired state.
    pub fn succeeded(&self) -> usize {
        self.applied
            .iter()
            .filter(|a| a.result.as_ref().is_some_and(|r| !r.outcome.is_failure()))
            .count()
    }

    /// Changes that did not (errors and failure outcomes).
    pub fn failed(&self) -> usize {
        self.applied.len() - self.succeeded()
    }

    /// Whether everything was applied and nothing was unresolvable.
    pub fn is_complete(&self) -> bool {
        self.failed() == 0 && self.problems.is_empty()
    }
}

/// Finds a group by id, or by slug or name when no group has that id.
pub async fn resolve_group<D: Directory + ?Sized>(
    directory: &D,
    key: &str,
) -> Result<Option<Group>> {
    resolve::Lookups::default().group(directory, key).await
}

/// Turns `maintainer`, `team:maintainer` or a role's name into the id of a group-scoped role.
pub async fn resolve_group_role<D: Directory + ?Sized>(directory: &D, key: &str) -> Result<String> {
    resolve::Lookups::default().role(directory, key).await
}

/// A group the file lists twice (by the same name or by two names of one group): refused
/// like a user listed twice with two roles, since the entries would be applied one after
/// the other and the second (`remove_unlisted: true`) would undo the first.
fn listed_twice(first: &str, second: &str, id: &str) -> Error {
    let how = if first == second {
        format!("group {first:?} is listed twice")
    } else {
        format!("groups {first:?} and {second:?} are the same group ({id}), listed twice")
    };
    Error::invalid_input(format!(
        "{how} in the desired state; list each group once, with all its members"
    ))
    .with_operation("plan")
}

/// Compares the desired state with the live directory and lists the changes, without
/// writing anything (a dry run is `plan` alone).
///
/// Every reference is resolved first: each group once (a group listed twice, under one
/// name or two, is [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)), each role once, and every user of the
/// file in one batched step (see [`LOOKUP_LIMIT`]): an empty or malformed id
/// ([`Directory::check_user_id`]) is an [`Outcome::InvalidUser`] problem, an id or e-mail
/// no organization member has is [`Outcome::UserNotInOrganization`]. A plan with problems
/// should change nothing (`unidir apply` refuses it).
pub async fn plan<D: Directory + ?Sized>(directory: &D, desired: &DesiredState) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut lookups = resolve::Lookups::default();
    // Names first, so a file with a repeated group fails before any user is looked up.
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (index, spec) in desired.groups.iter().enumerate() {
        if let Some(first) = names.insert(spec.group.as_str(), index) {
            let first = &desired.groups[first].group;
            return Err(listed_twice(first, &spec.group, first));
        }
    }
    let mut groups = Vec::with_capacity(desired.groups.len());
    let mut by_id: HashMap<String, &str> = HashMap::new();
    for spec in &desired.groups {
        let group = lookups.group(directory, &spec.group).await?;
        if let Some(group) = &group
            && let Some(first) = by_id.insert(group.id.clone(), &spec.group)
        {
            return Err(listed_twice(first, &spec.group, &group.id));
        }
        groups.push(group);
    }
    let users = resolve::users(directory, desired).await?;
    for (group_spec, group) in desired.groups.iter().zip(groups) {
        let Some(group) = group else {
            plan.problems.push(PlanProblem {
                group: group_spec.group.clone(),
                user: None,
                outcome: Outcome::GroupNotFound,
                message: format!("no group with id, slug or name {:?}", group_spec.group),
            });
            continue;
        };
        let roleless = group.has_roles == Some(false);
        // user id -> (role, label); no role: a member with any role (or none) will do
        let mut wanted: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
        for member in &group_spec.members {
            let role = match &member.role {
                None => None,
                Some(_) if roleless => {
                    return Err(Error::invalid_input(format!(
                        "group {:?} has no roles; list {} without a role",
                        group_spec.group, member.user
                    ))
                    .with_operation("plan"));
                }
                Some(role) => Some(lookups.role(directory, role).await?),
            };
            let (user_id, label) = match users.get(&member.user) {
                Some(UserResolution::Member { id, email }) => (id.clone(), email.clone()),
                Some(UserResolution::Problem { outcome, message }) => {
                    plan.problems.push(PlanProblem {
                        group: group_spec.group.clone(),
                        user: Some(member.user.clone()),
                        outcome: *outcome,
                        message: message.clone(),
                    });
                    continue;
                }
                None => {
                    return Err(Error::contract(format!(
                        "user {} was not resolved",
                        crate::text::bounded(&member.user, 64)
                    ))
                    .with_operation("plan"));
                }
            };
            if let Some((previous, _)) = wanted.get(&user_id)
                && previous != &role
            {
                return Err(Error::invalid_input(format!(
                    "{} is listed twice in group {:?} with different roles",
                    member.user, group_spec.group
                ))
                .with_operation("plan"));
            }
            wanted.insert(user_id, (role, label));
        }
        let current: Vec<_> = directory
            .group_members(&group.id, ListQuery::new())
            .try_collect()
            .await?;
        let current: BTreeMap<String, (Option<String>, Option<String>)> = current
            .into_iter()
            .map(|m| (m.user_id, (m.role_id, m.user_email.or(m.user_name))))
            .collect();
        let mut removals = Vec::new();
        for (user_id, (role, label)) in &wanted {
            let change = |kind,
                          role: Option<String>,
                          previous: Option<String>,
                          current_label: Option<String>| PlannedChange {
                kind,
                group_id: group.id.clone(),
                group_name: group.name.clone(),
                user_id: user_id.clone(),
                user_label: label.clone().or(current_label),
                role_id: role,
                previous_role_id: previous,
            };
            match (current.get(user_id), role) {
                (None, Some(role)) => {
                    plan.changes
                        .push(change(ChangeKind::Add, Some(role.clone()), None, None));
                }
                (None, None) => {
                    let default = group.default_role_id.clone().filter(|_| !roleless);
                    plan.changes
                        .push(change(ChangeKind::Add, default, None, None));
                }
                (Some((have, have_label)), Some(role)) if have.as_ref() != Some(role) => {
                    plan.changes.push(change(
                        ChangeKind::ChangeRole,
                        Some(role.clone()),
                        have.clone(),
                        have_label.clone(),
                    ));
                }
                (Some(_), _) => {}
            }
        }
        if group_spec.remove_unlisted {
            for (user_id, (role, label)) in &current {
                if !wanted.contains_key(user_id) {
                    removals.push(PlannedChange {
                        kind: ChangeKind::Remove,
                        group_id: group.id.clone(),
                        group_name: group.name.clone(),
                        user_id: user_id.clone(),
                        user_label: label.clone(),
                        role_id: None,
                        previous_role_id: role.clone(),
                    });
                }
            }
        }
        plan.changes.extend(removals);
    }
    Ok(plan)
}

/// Applies a plan change by change, recording each outcome; a failed change does not stop
/// the others. Nothing is retried blindly: providers resolve lost responses by reading back.
///
/// It applies what it is given: a caller acting for a person should refuse a plan with
/// [`Plan::problems`] and confirm [`Plan::removals_and_downgrades`] first, as `unidir apply`
/// does.
pub async fn apply<D: Directory + ?Sized>(directory: &D, plan: &Plan) -> ApplyReport {
    let mut report = ApplyReport {
        applied: Vec::with_capacity(plan.changes.len()),
        problems: plan.problems.clone(),
    };
    for change in &plan.changes {
        let user = UserRef::Id(change.user_id.clone());
        let result = match (change.kind, &change.role_id) {
            // No role on an addition: the group's default, or none (see `plan`).
            (ChangeKind::Add, role) | (ChangeKind::ChangeRole, role @ Some(_)) => {
                directory
                    .add_group_member(&change.group_id, &user, role.as_deref())
                    .await
            }
            (ChangeKind::Remove, _) => directory.remove_group_member(&change.group_id, &user).await,
            (ChangeKind::ChangeRole, None) => {
                Err(Error::invalid_input("a planned role change has no role")
                    .with_operation("apply"))
            }
        };
        report.applied.push(match result {
            Ok(result) => AppliedChange {
                change: change.clone(),
                result: Some(result),
                error: None,
            },
            Err(error) => AppliedChange {
                change: change.clone(),
                result: None,
                error: Some(error.to_body()),
            },
        });
    }
    report
}
