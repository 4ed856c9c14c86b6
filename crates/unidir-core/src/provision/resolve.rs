//! Resolving a desired state's references before anything is planned: every group once
//! (two names of one group are refused), every role once, and every user reference of the
//! file in one batched step, so `plan` finds whatever `apply` would refuse.
//!
//! Users: at most [`LOOKUP_LIMIT`] distinct references are looked up one by one (an id
//! with [`Directory::get_user`], an e-mail with the list filter); more are resolved by one
//! streamed walk over the organization's members ([`DirectoryExt::users`] with
//! [`Detail::Essential`]) that keeps only an index of the references still wanted and stops
//! as soon as every one is found. Ids are checked and canonicalised by the adapter
//! ([`Directory::check_user_id`]) first, so a name or an empty string where an id belongs is
//! a problem without a request.

use std::collections::{HashMap, HashSet};

use futures::TryStreamExt;

use super::{DesiredState, Outcome, UserRef};
use crate::directory::{Directory, DirectoryExt, find_user_by_email};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Group, Role, RoleScope};
use crate::page::{Detail, GetOptions, ListQuery};

/// Most distinct user references looked up one request each; more take one member walk.
pub const LOOKUP_LIMIT: usize = 10;

/// How one user reference, as written in the file, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UserResolution {
    /// An organization member: their id, and the e-mail the file named them by.
    Member { id: String, email: Option<String> },
    /// A problem `plan` reports (`invalid_user`, `user_not_in_organization`).
    Problem { outcome: Outcome, message: String },
}

/// What a reference waits for: the canonical id, or the lower-cased e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Wanted {
    Id(String),
    Email(String),
}

/// Resolves every user reference of `desired`, keyed by the reference as written.
pub(crate) async fn users<D: Directory + ?Sized>(
    directory: &D,
    desired: &DesiredState,
) -> Result<HashMap<String, UserResolution>> {
    let mut resolved = HashMap::new();
    // reference as written -> what it waits for
    let mut pending: HashMap<String, Wanted> = HashMap::new();
    for member in desired.groups.iter().flat_map(|g| &g.members) {
        if resolved.contains_key(&member.user) || pending.contains_key(&member.user) {
            continue;
        }
        match UserRef::parse(&member.user) {
            UserRef::Id(id) if id.is_empty() => {
                resolved.insert(
                    member.user.clone(),
                    problem(
                        Outcome::InvalidUser,
                        "the user is empty: give a user id or an e-mail address".to_owned(),
                    ),
                );
            }
            UserRef::Id(id) => match directory.check_user_id(&id) {
                Ok(id) => {
                    pending.insert(member.user.clone(), Wanted::Id(id));
                }
                Err(e) if e.kind() == ErrorKind::InvalidInput => {
                    resolved.insert(
                        member.user.clone(),
                        problem(Outcome::InvalidUser, e.message().to_owned()),
                    );
                }
                Err(e) => return Err(e),
            },
            UserRef::Email(email) => {
                pending.insert(
                    member.user.clone(),
                    Wanted::Email(email.to_ascii_lowercase()),
                );
            }
        }
    }
    let wanted: HashSet<Wanted> = pending.values().cloned().collect();
    let found = if wanted.len() <= LOOKUP_LIMIT {
        match look_up(directory, &wanted).await {
            Err(e) if e.kind() == ErrorKind::Unsupported => walk(directory, wanted).await?,
            other => other?,
        }
    } else {
        walk(directory, wanted).await?
    };
    for (raw, want) in pending {
        let resolution = match (found.get(&want), &want) {
            (Some(id), Wanted::Id(_)) => UserResolution::Member {
                id: id.clone(),
                email: None,
            },
            (Some(id), Wanted::Email(_)) => UserResolution::Member {
                id: id.clone(),
                email: Some(UserRef::parse(&raw).as_str().to_owned()),
            },
            (None, Wanted::Id(id)) => problem(
                Outcome::UserNotInOrganization,
                format!("no organization member has the id {id}"),
            ),
            (None, Wanted::Email(_)) => problem(
                Outcome::UserNotInOrganization,
                format!(
                    "no organization member has the e-mail {}",
                    UserRef::parse(&raw).as_str()
                ),
            ),
        };
        resolved.insert(raw, resolution);
    }
    Ok(resolved)
}

fn problem(outcome: Outcome, message: String) -> UserResolution {
    UserResolution::Problem { outcome, message }
}

/// One lookup per reference: what each resolves to (absent: no such member).
async fn look_up<D: Directory + ?Sized>(
    directory: &D,
    wanted: &HashSet<Wanted>,
) -> Result<HashMap<Wanted, String>> {
    let mut found = HashMap::new();
    for want in wanted {
        let id = match want {
            Wanted::Id(id) => match directory.get_user(id, &GetOptions::default()).await {
                Ok(user) => Some(user.id),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            },
            Wanted::Email(email) => find_user_by_email(directory, email, false)
                .await?
                .map(|u| u.id),
        };
        if let Some(id) = id {
            found.insert(want.clone(), id);
        }
    }
    Ok(found)
}

/// One walk over the members, keeping only what is still wanted; stops once nothing is.
async fn walk<D: Directory + ?Sized>(
    directory: &D,
    mut wanted: HashSet<Wanted>,
) -> Result<HashMap<Wanted, String>> {
    let mut found: HashMap<Wanted, String> = HashMap::new();
    let mut users = directory.users(ListQuery::new().with_detail(Detail::Essential));
    while !wanted.is_empty() {
        let Some(user) = users.try_next().await? else {
            break;
        };
        let id = Wanted::Id(user.id.clone());
        if wanted.remove(&id) {
            found.insert(id, user.id.clone());
        }
        for email in &user.emails {
            let key = Wanted::Email(email.email.to_ascii_lowercase());
            if wanted.remove(&key) {
                found.insert(key, user.id.clone());
            }
        }
    }
    Ok(found)
}

/// Groups and roles, each read at most once for the whole file.
#[derive(Debug, Default)]
pub(crate) struct Lookups {
    groups: Option<Vec<Group>>,
    roles: Option<Vec<Role>>,
    resolved_roles: HashMap<String, String>,
}

impl Lookups {
    /// Finds a group by id, or by slug or name when no group has that id (the list of
    /// groups is read once, for every group the file names by slug).
    pub(crate) async fn group<D: Directory + ?Sized>(
        &mut self,
        directory: &D,
        key: &str,
    ) -> Result<Option<Group>> {
        match directory.get_group(key, &GetOptions::default()).await {
            Ok(group) => return Ok(Some(group)),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::InvalidInput) => {}
            Err(e) => return Err(e),
        }
        if self.groups.is_none() {
            self.groups = Some(directory.groups(ListQuery::new()).try_collect().await?);
        }
        Ok(self
            .groups
            .iter()
            .flatten()
            .find(|g| g.slug.as_deref() == Some(key) || g.name.eq_ignore_ascii_case(key))
            .cloned())
    }

    /// The id of group role `key` (see [`super::resolve_group_role`]); the roles are read
    /// once.
    pub(crate) async fn role<D: Directory + ?Sized>(
        &mut self,
        directory: &D,
        key: &str,
    ) -> Result<String> {
        if let Some(id) = self.resolved_roles.get(key) {
            return Ok(id.clone());
        }
        if self.roles.is_none() {
            self.roles = Some(directory.roles(ListQuery::new()).try_collect().await?);
        }
        let roles = self.roles.as_deref().unwrap_or_default();
        let id = group_role(directory.provider(), roles, key)?;
        self.resolved_roles.insert(key.to_owned(), id.clone());
        Ok(id)
    }
}

/// The group-scoped role `key` names: its id, the part after `:`, or its name.
pub(crate) fn group_role(provider: &'static str, roles: &[Role], key: &str) -> Result<String> {
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
        .with_provider(provider)
        .with_operation("resolve_group_role")),
    }
}
