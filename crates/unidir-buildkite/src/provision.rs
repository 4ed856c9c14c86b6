//! Team-membership provisioning for Buildkite (REST `teams/{team}/members`).
//!
//! Each operation first checks the token has the scopes the capabilities table lists for it
//! (`write_teams` first; read from `GET /v2/access-token` once and cached), so a read-only
//! token fails before any request but that one, with the scope named. Then
//! it reads the team, the user's organization membership and the current team membership,
//! and writes only when the state differs. A write whose answer is lost (timeout, broken
//! connection, 5xx) is never sent again: the membership is read back and the outcome decided
//! from what Buildkite now holds. Buildkite only places existing organization members in
//! teams; a user outside the organization is reported as `user_not_in_organization` and is
//! never invited.
//!
//! Requests: `add`/`change` = 3 reads (+1 for an e-mail) + at most 1 write (+1 read-back);
//! `remove` likewise.

use reqwest::Method;
use serde_json::json;
use unidir_core::{
    Error, ErrorKind, MembershipResult, Operation, Outcome, Resource, Result, UserRef,
};

use crate::api::{check_id, invalid};
use crate::directory::Buildkite;
use crate::{capabilities, roles};

/// What a write should achieve, to judge a read-back.
#[derive(Clone, Copy)]
enum Goal<'a> {
    Role(&'a str),
    Absent,
}

/// The team membership a write is about, and the state it should reach.
#[derive(Clone, Copy)]
struct Target<'a> {
    team: &'a str,
    user: &'a str,
    goal: Goal<'a>,
}

impl Buildkite {
    /// Fails with `PermissionDenied` naming the first scope `write` needs (from the
    /// capabilities table) that the token lacks.
    async fn require_scopes(&self, operation: &'static str, write: Operation) -> Result<()> {
        let scopes = self.token_scopes(operation).await?;
        match capabilities::first_missing(scopes, Resource::GroupMembers, write) {
            None => Ok(()),
            Some(scope) => Err(Error::new(
                ErrorKind::PermissionDenied,
                format!("the token lacks the {scope} scope needed to change team memberships"),
            )
            .with_provider(crate::PROVIDER)
            .with_operation(operation)
            .with_missing_scope(scope)),
        }
    }

    async fn team_exists(&self, operation: &'static str, team: &str) -> Result<bool> {
        Ok(self.read_team(operation, team).await?.is_some())
    }

    /// `GET /teams/{id}`: the team's body, `None` when there is no such team.
    async fn read_team(
        &self,
        operation: &'static str,
        team: &str,
    ) -> Result<Option<serde_json::Value>> {
        check_id(operation, "group", team)?;
        let path = self.org_path(&["teams", team]);
        Ok(found(self.api.get(operation, &path, &[]).await)?.map(|r| r.body))
    }

    /// The user's id when they are an organization member.
    async fn member_id(&self, operation: &'static str, user: &UserRef) -> Result<Option<String>> {
        match user {
            UserRef::Id(id) => {
                check_id(operation, "user", id)?;
                // Buildkite's ids are lower-case; an upper-case copy names the same user.
                let id = id.to_ascii_lowercase();
                let path = self.org_path(&["members", &id]);
                let member = found(self.api.get(operation, &path, &[]).await)?;
                Ok(member.map(|_| id))
            }
            UserRef::Email(email) => Ok(unidir_core::find_user_by_email(self, email, false)
                .await
                .map_err(|e| e.with_operation(operation))?
                .map(|u| u.id)),
        }
    }

    /// The user's current team role id, `None` when not on the team.
    async fn team_role(
        &self,
        operation: &'static str,
        team: &str,
        user: &str,
    ) -> Result<Option<String>> {
        let path = self.org_path(&["teams", team, "members", user]);
        let Some(rest) = found(self.api.get(operation, &path, &[]).await)? else {
            return Ok(None);
        };
        let role = rest
            .body
            .get("role")
            .and_then(|r| r.as_str())
            .ok_or_else(|| crate::api::contract(operation, "a team member without a role"))?;
        Ok(Some(roles::team_role_id(role)))
    }

    /// Sends a write; when its answer is lost or ambiguous, reads the membership back and
    /// succeeds if Buildkite now holds the goal state.
    async fn write_confirmed(
        &self,
        operation: &'static str,
        method: Method,
        segments: &[&str],
        body: Option<serde_json::Value>,
        target: Target<'_>,
    ) -> Result<()> {
        let Target { team, user, goal } = target;
        // Whatever the answer, the memberships may have changed.
        self.forget_team_index();
        let sent = self.api.write(operation, method, segments, body).await;
        let failure = match sent {
            Ok(response) if response.is_success() => return Ok(()),
            // 404 on DELETE: someone removed it first; the goal holds.
            Ok(response) if response.status == 404 && matches!(goal, Goal::Absent) => return Ok(()),
            Ok(response) => {
                let ambiguous =
                    response.status >= 500 || response.status == 408 || response.status == 422;
                let error = self.api.rest_error(operation, &response);
                if !ambiguous {
                    return Err(error);
                }
                error
            }
            Err(e) if e.kind() == ErrorKind::Upstream => e,
            Err(e) => return Err(e),
        };
        tracing::warn!(
            operation,
            "write outcome unknown; reading the membership back"
        );
        let now = self.team_role(operation, team, user).await?;
        let reached = match goal {
            Goal::Role(role) => now.as_deref() == Some(role),
            Goal::Absent => now.is_none(),
        };
        if reached { Ok(()) } else { Err(failure) }
    }

    pub(crate) async fn set_member_role(
        &self,
        operation: &'static str,
        team: &str,
        user: &UserRef,
        role_id: Option<&str>,
        add: bool,
    ) -> Result<MembershipResult> {
        // Checked before any request; `None` (an add in the team's default role) is
        // resolved from the team read below.
        if let Some(role_id) = role_id {
            rest_role(operation, role_id)?;
        }
        let write = if add {
            Operation::Add
        } else {
            Operation::ChangeRole
        };
        self.require_scopes(operation, write).await?;
        let result =
            |outcome, user_id: Option<String>, role: Option<String>, previous: Option<String>| {
                MembershipResult::new(outcome, team)
                    .with_user_id(user_id)
                    .with_role_id(role)
                    .with_previous_role_id(previous)
            };
        let Some(team_body) = self.read_team(operation, team).await? else {
            return Ok(result(Outcome::GroupNotFound, None, None, None));
        };
        let role_id = match role_id {
            Some(role_id) => role_id,
            None => default_role(operation, &team_body)?,
        };
        let role = rest_role(operation, role_id)?;
        let Some(user_id) = self.member_id(operation, user).await? else {
            return Ok(result(Outcome::UserNotInOrganization, None, None, None));
        };
        let current = self.team_role(operation, team, &user_id).await?;
        let wanted = Some(role_id.to_owned());
        match current {
            Some(have) if have == role_id => Ok(result(
                Outcome::Unchanged,
                Some(user_id),
                wanted,
                Some(have),
            )),
            Some(have) => {
                let path = self.org_path(&["teams", team, "members", &user_id]);
                self.write_confirmed(
                    operation,
                    Method::PATCH,
                    &path,
                    Some(json!({ "role": role })),
                    Target {
                        team,
                        user: &user_id,
                        goal: Goal::Role(role_id),
                    },
                )
                .await?;
                Ok(result(
                    Outcome::RoleChanged,
                    Some(user_id),
                    wanted,
                    Some(have),
                ))
            }
            None if !add => Ok(result(Outcome::NotAMember, Some(user_id), None, None)),
            None => {
                let path = self.org_path(&["teams", team, "members"]);
                let body = json!({ "user_id": user_id, "role": role });
                self.write_confirmed(
                    operation,
                    Method::POST,
                    &path,
                    Some(body),
                    Target {
                        team,
                        user: &user_id,
                        goal: Goal::Role(role_id),
                    },
                )
                .await?;
                Ok(result(Outcome::Created, Some(user_id), wanted, None))
            }
        }
    }

    pub(crate) async fn remove_member(
        &self,
        team: &str,
        user: &UserRef,
    ) -> Result<MembershipResult> {
        const OP: &str = "remove_group_member";
        self.require_scopes(OP, Operation::Remove).await?;
        let result = |outcome, user_id: Option<String>, previous: Option<String>| {
            MembershipResult::new(outcome, team)
                .with_user_id(user_id)
                .with_previous_role_id(previous)
        };
        if !self.team_exists(OP, team).await? {
            return Ok(result(Outcome::GroupNotFound, None, None));
        }
        let Some(user_id) = self.member_id(OP, user).await? else {
            return Ok(result(Outcome::UserNotInOrganization, None, None));
        };
        let Some(previous) = self.team_role(OP, team, &user_id).await? else {
            return Ok(result(Outcome::AlreadyAbsent, Some(user_id), None));
        };
        let path = self.org_path(&["teams", team, "members", &user_id]);
        self.write_confirmed(
            OP,
            Method::DELETE,
            &path,
            None,
            Target {
                team,
                user: &user_id,
                goal: Goal::Absent,
            },
        )
        .await?;
        Ok(result(Outcome::Removed, Some(user_id), Some(previous)))
    }
}

/// Buildkite's REST name of a team role id.
fn rest_role(operation: &'static str, role_id: &str) -> Result<&'static str> {
    match role_id {
        roles::TEAM_MAINTAINER => Ok("maintainer"),
        roles::TEAM_MEMBER => Ok("member"),
        other => Err(invalid(
            operation,
            format!(
                "\"{}\" is not a team role; use {} or {}",
                unidir_core::text::display_safe(other),
                roles::TEAM_MAINTAINER,
                roles::TEAM_MEMBER
            ),
        )),
    }
}

/// The role id a member added without one gets: the team's `default_member_role` (a team
/// answer without it, as older fixtures have, means Buildkite's default, member).
fn default_role(operation: &'static str, team: &serde_json::Value) -> Result<&'static str> {
    let raw = team.get("default_member_role");
    // Case as the groups mapping reads it (GraphQL spells roles in capitals).
    match raw.and_then(|r| r.as_str()).map(str::to_ascii_lowercase) {
        None if raw.is_none_or(serde_json::Value::is_null) => Ok(roles::TEAM_MEMBER),
        Some(role) if role == "maintainer" => Ok(roles::TEAM_MAINTAINER),
        Some(role) if role == "member" => Ok(roles::TEAM_MEMBER),
        _ => Err(crate::api::contract(
            operation,
            "a team whose default_member_role is neither member nor maintainer",
        )),
    }
}

/// `Ok(None)` when the call answered 404.
fn found<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
