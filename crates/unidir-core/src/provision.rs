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
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::directory::{Directory, DirectoryExt, find_user_by_email};
use crate::error::{Error, ErrorBody, ErrorKind, Result};
use crate::model::{Group, RoleScope};
use crate::page::{GetOptions, ListQuery};

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
}

impl Outcome {
    /// Whether the requested state could not be reached.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::NotAMember | Self::UserNotInOrganization | Self::GroupNotFound
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

/// One membership a [`DesiredGroup`] should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DesiredMember {
    /// User id or e-mail address.
    pub user: String,
    /// Group role: a role id (`team:maintainer`), or the part after `:` (`maintainer`).
    pub role: String,
}

/// The complete membership one group should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DesiredGroup {
    /// Group id, or its slug.
    pub group: String,
    /// Every member the group should have, with their roles.
    pub members: Vec<DesiredMember>,
    /// Remove members that are not listed (default `true`: the list is the whole truth).
    #[serde(default = "yes")]
    pub remove_unlisted: bool,
}

fn yes() -> bool {
    true
}

/// The desired memberships of one or more groups (the `plan`/`apply` input file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DesiredState {
    /// Groups and their desired members.
    pub groups: Vec<DesiredGroup>,
}

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
    /// Role after the change (`null` for removals).
    pub role_id: Option<String>,
    /// Role before the change (`null` for additions).
    pub previous_role_id: Option<String>,
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
    match directory.get_group(key, &GetOptions::default()).await {
        Ok(group) => return Ok(Some(group)),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::InvalidInput) => {}
        Err(e) => return Err(e),
    }
    let groups: Vec<Group> = directory.groups(ListQuery::new()).try_collect().await?;
    Ok(groups
        .into_iter()
        .find(|g| g.slug.as_deref() == Some(key) || g.name.eq_ignore_ascii_case(key)))
}

/// Turns `maintainer`, `team:maintainer` or a role's name into the id of a group-scoped role.
pub async fn resolve_group_role<D: Directory + ?Sized>(directory: &D, key: &str) -> Result<String> {
    let roles: Vec<_> = directory.roles(ListQuery::new()).try_collect().await?;
    let group_roles: Vec<_> = roles
        .iter()
        .filter(|r| r.scope == RoleScope::Group)
        .collect();
    let found = group_roles.iter().find(|r| {
        r.id == key || r.id.rsplit(':').next() == Some(key) || r.name.eq_ignore_ascii_case(key)
    });
    match found {
        Some(role) => Ok(role.id.clone()),
        None => Err(Error::invalid_input(format!(
            "{key:?} is not a group role; expected one of {:?}",
            group_roles
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
        ))
        .with_provider(directory.provider())
        .with_operation("resolve_group_role")),
    }
}

/// Compares the desired state with the live directory and lists the changes, without
/// writing anything (a dry run is `plan` alone).
pub async fn plan<D: Directory + ?Sized>(directory: &D, desired: &DesiredState) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut emails: HashMap<String, Option<(String, String)>> = HashMap::new();
    for group_spec in &desired.groups {
        let Some(group) = resolve_group(directory, &group_spec.group).await? else {
            plan.problems.push(PlanProblem {
                group: group_spec.group.clone(),
                user: None,
                outcome: Outcome::GroupNotFound,
                message: format!("no group with id, slug or name {:?}", group_spec.group),
            });
            continue;
        };
        // user id -> (role, label)
        let mut wanted: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
        for member in &group_spec.members {
            let role = resolve_group_role(directory, &member.role).await?;
            let (user_id, label) = match UserRef::parse(&member.user) {
                UserRef::Id(id) => (id, None),
                UserRef::Email(email) => {
                    let key = email.to_ascii_lowercase();
                    if !emails.contains_key(&key) {
                        let found = find_user_by_email(directory, &email, false)
                            .await?
                            .map(|u| (u.id, email.clone()));
                        emails.insert(key.clone(), found);
                    }
                    match emails.get(&key).cloned().flatten() {
                        Some((id, label)) => (id, Some(label)),
                        None => {
                            plan.problems.push(PlanProblem {
                                group: group_spec.group.clone(),
                                user: Some(member.user.clone()),
                                outcome: Outcome::UserNotInOrganization,
                                message: format!("no organization member has the e-mail {email}"),
                            });
                            continue;
                        }
                    }
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
            let change =
                |kind, previous: Option<String>, current_label: Option<String>| PlannedChange {
                    kind,
                    group_id: group.id.clone(),
                    group_name: group.name.clone(),
                    user_id: user_id.clone(),
                    user_label: label.clone().or(current_label),
                    role_id: Some(role.clone()),
                    previous_role_id: previous,
                };
            match current.get(user_id) {
                None => plan.changes.push(change(ChangeKind::Add, None, None)),
                Some((have, have_label)) if have.as_ref() != Some(role) => {
                    plan.changes.push(change(
                        ChangeKind::ChangeRole,
                        have.clone(),
                        have_label.clone(),
                    ));
                }
                Some(_) => {}
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
pub async fn apply<D: Directory + ?Sized>(directory: &D, plan: &Plan) -> ApplyReport {
    let mut report = ApplyReport {
        applied: Vec::with_capacity(plan.changes.len()),
        problems: plan.problems.clone(),
    };
    for change in &plan.changes {
        let user = UserRef::Id(change.user_id.clone());
        let result = match (change.kind, &change.role_id) {
            (ChangeKind::Add, Some(role)) | (ChangeKind::ChangeRole, Some(role)) => {
                directory
                    .add_group_member(&change.group_id, &user, role)
                    .await
            }
            (ChangeKind::Remove, _) => directory.remove_group_member(&change.group_id, &user).await,
            (_, None) => {
                Err(Error::invalid_input("a planned addition has no role").with_operation("apply"))
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
