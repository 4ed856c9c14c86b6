//! The full read's REST side: the team list, a team's members, and the member pages.

use std::collections::HashSet;

use serde_json::Value;
use tokio::sync::mpsc;
use unidir_core::{Result, User};

use super::{OP, Shared, TeamRef, tag};
use crate::directory::Buildkite;
use crate::map;
use crate::team_index::{TeamIndex, digest};
use crate::wire::{RestMember, RestTeam, RestTeamMember};

/// REST `per_page` maximum.
const REST_PAGE: u32 = 100;

impl Buildkite {
    /// Every team, in Buildkite's order.
    pub(super) async fn list_team_refs(&self) -> Result<Vec<TeamRef>> {
        let teams: Vec<RestTeam> = self.rest_walk(OP, &self.org_path(&["teams"]), &[]).await?;
        Ok(teams
            .into_iter()
            .map(|team| TeamRef {
                position: 0,
                id: team.id,
                slug: team.slug,
                name: team.name,
                size: None,
                rest_only: false,
            })
            .collect())
    }

    pub(super) async fn rest_team_members(&self, shared: &Shared, team: &TeamRef) -> Result<()> {
        let path = self.org_path(&["teams", &team.id, "members"]);
        self.rest_walk_each(OP, &path, &[], |m: RestTeamMember| {
            shared.add(team, &m.user_id, m.role.as_deref(), m.created_at);
            Ok(())
        })
        .await
    }

    /// REST member pages: the users themselves (`Essential`), or their SSO mode (`Full`).
    pub(super) async fn rest_member_pages(
        &self,
        shared: &Shared,
        index: &TeamIndex,
        full: bool,
        keep: bool,
        out: &mpsc::Sender<Result<Vec<User>>>,
    ) -> Result<()> {
        let path = self.org_path(&["members"]);
        let mut budget = self.walk_limits.start();
        let mut seen = HashSet::new();
        let mut page = 1u32;
        loop {
            budget.before_page().map_err(tag)?;
            // Decoded straight into typed rows unless the caller keeps the raw ones.
            let (rows, next) = if keep {
                let (rows, next) = self
                    .fetch_page::<Value>(OP, &path, &[], page, REST_PAGE)
                    .await?;
                let rows = rows
                    .into_iter()
                    .map(|raw| map::with_raw(OP, "member", raw))
                    .collect::<Result<Vec<(RestMember, _)>>>()?;
                (rows, next)
            } else {
                let (rows, next) = self
                    .fetch_page::<RestMember>(OP, &path, &[], page, REST_PAGE)
                    .await?;
                (rows.into_iter().map(|m| (m, None)).collect(), next)
            };
            budget.add_items(rows.len()).map_err(tag)?;
            let mut users = Vec::with_capacity(if full { 0 } else { rows.len() });
            for (member, raw) in rows {
                let key = digest(&member.id);
                if !seen.insert(key) {
                    continue;
                }
                if full {
                    let sso = map::sso_required(member.sso_mode.as_deref());
                    shared
                        .sso
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(key, sso);
                } else {
                    let groups = index.groups_of(&member.id);
                    users.push(map::rest_user(member, raw, groups));
                }
            }
            if !users.is_empty() && out.send(Ok(users)).await.is_err() {
                return Ok(()); // The caller stopped reading.
            }
            match next {
                Some(n) => page = n,
                None => return Ok(()),
            }
        }
    }
}
