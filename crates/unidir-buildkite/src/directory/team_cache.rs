//! The REST team index (every user's team memberships) as the directory keeps it between
//! pages: built once per walk, reused while in use, dropped when idle or after a change.

use std::sync::Arc;
use std::time::Instant;

use unidir_core::Result;

use super::Buildkite;
use crate::roles;
use crate::team_index::{TeamEntry, TeamIndex, TeamIndexBuilder};
use crate::wire::{RestTeamMember, RestTeamRef};

impl Buildkite {
    /// Team memberships of every user: `user id → groups`, by walking teams and their members
    /// (one walk of the teams plus one of each team's members).
    async fn build_team_index(&self, operation: &'static str) -> Result<TeamIndex> {
        // Only what a membership names, each within `MAX_TEAM_TEXT` (a description is
        // skipped as it is decoded).
        let teams: Vec<RestTeamRef> = self
            .rest_walk(operation, &self.org_path(&["teams"]), &[])
            .await?;
        let mut index = TeamIndexBuilder::default();
        for team in teams {
            let path = self.org_path(&["teams", &team.id, "members"]);
            let position = index.team(TeamEntry::checked(
                operation,
                team.id.clone(),
                team.name,
                team.slug,
            )?);
            self.rest_walk_each(operation, &path, &[], |m: RestTeamMember| {
                index.add(
                    position,
                    &m.user_id,
                    m.role.map(|r| roles::team_role_id(&r)),
                    m.created_at,
                );
                Ok(())
            })
            .await?;
        }
        Ok(index.finish())
    }

    /// The team index, built once and reused while it is in use: a REST walk of every user
    /// page by page (a stream, or a caller passing cursors back) pays for the teams walk once,
    /// not once per page. It is dropped after [`BuildkiteBuilder::with_team_index_ttl`](crate::BuildkiteBuilder::with_team_index_ttl) without
    /// use (5 minutes by default) and after any membership change made through this
    /// directory.
    pub(super) async fn team_index(&self, operation: &'static str) -> Result<Arc<TeamIndex>> {
        // One builder at a time: concurrent pages wait for the same index.
        let _building = self.team_index_build.lock().await;
        if let Some(index) = self.cached_team_index() {
            return Ok(index);
        }
        let index = Arc::new(self.build_team_index(operation).await?);
        *self.team_index.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&index));
        Ok(index)
    }

    fn cached_team_index(&self) -> Option<Arc<TeamIndex>> {
        let mut slot = self.team_index.lock().unwrap_or_else(|e| e.into_inner());
        let index = slot.as_ref()?;
        let mut last_used = index.last_used.lock().unwrap_or_else(|e| e.into_inner());
        if last_used.elapsed() > self.team_index_ttl {
            drop(last_used);
            *slot = None;
            return None;
        }
        *last_used = Instant::now();
        drop(last_used);
        Some(Arc::clone(index))
    }

    /// Keeps an index a full read built, for the page walks that follow.
    pub(crate) fn remember_team_index(&self, index: Arc<TeamIndex>) {
        *self.team_index.lock().unwrap_or_else(|e| e.into_inner()) = Some(index);
    }

    /// Forgets the team index (after a membership change).
    pub(crate) fn forget_team_index(&self) {
        *self.team_index.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
