//! Users over REST: member rows joined with the team index (a list) or with the user's teams
//! and their member rows (one user).

use serde_json::Value;
use unidir_core::{CursorBinding, GroupAssignment, ListQuery, Page, Result, User};

use super::Buildkite;
use super::users::retain_team_role;
use crate::api::check_id;
use crate::wire::{RestMember, RestTeam, RestTeamMember};
use crate::{map, roles};

impl Buildkite {
    /// Users through REST: member rows joined with a walk of every team's members.
    pub(super) async fn users_rest(
        &self,
        query: &ListQuery,
        binding: &CursorBinding,
    ) -> Result<Page<User>> {
        const OP: &str = "list_users";
        let members_path = self.org_path(&["members"]);
        let page = if query.filters.email.is_some() {
            // REST has no e-mail filter: read every member and match here (one complete page).
            let all = self.rest_walk(OP, &members_path, &[]).await?;
            Page::complete(all)
        } else {
            self.rest_page(OP, &members_path, &[], query, binding)
                .await?
        };
        let index = self.team_index(OP).await?;
        if let Some(group) = &query.filters.group_id {
            check_id(OP, "group", group)?;
            if !index.has_team(group) {
                // Distinguish "empty team" from "no such team".
                self.api
                    .get(OP, &self.org_path(&["teams", group]), &[])
                    .await?;
            }
        }
        let mut users = Vec::new();
        for raw in page.result {
            let member: RestMember = map::decode(OP, "member", &raw)?;
            if let Some(email) = &query.filters.email
                && !member
                    .email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            {
                continue;
            }
            let groups = index.groups_of(&member.id);
            if let Some(group) = &query.filters.group_id
                && !groups.iter().any(|g| &g.id == group)
            {
                continue;
            }
            let raw = query.include_remote_data.then_some(raw);
            users.push(map::rest_user(member, raw, groups));
        }
        if let Some(role) = query.filters.role_id.as_deref()
            && role.starts_with("org:")
        {
            users.retain(|u| u.roles.iter().any(|r| r.id == role && r.group_id.is_none()));
        }
        retain_team_role(&mut users, query);
        Ok(Page::new(users, page.next_cursor, page.prev_cursor))
    }

    pub(super) async fn user_rest(
        &self,
        id: &str,
        member: RestMember,
        raw: Option<Value>,
    ) -> Result<User> {
        const OP: &str = "get_user";
        let teams: Vec<RestTeam> = self
            .rest_walk(
                OP,
                &self.org_path(&["teams"]),
                &[("user_id", id.to_owned())],
            )
            .await?;
        let mut groups = Vec::new();
        for team in teams {
            let rest = self
                .api
                .get(OP, &self.org_path(&["teams", &team.id, "members", id]), &[])
                .await?;
            let m: RestTeamMember = map::decode(OP, "team member", &rest.body)?;
            groups.push(
                GroupAssignment::new(team.id)
                    .with_name(team.name)
                    .with_slug(team.slug)
                    .with_role_id(m.role.map(|r| roles::team_role_id(&r)))
                    .with_joined_at(map::joined_at(m.created_at)),
            );
        }
        Ok(map::rest_user(member, raw, groups))
    }
}
