//! The full read's REST side: the team list, a team's members, and the member pages.
//!
//! Nothing here drops a user or membership read twice: the index keeps one entry per user
//! and team, and the walker over the full read (`Walker::batches`) is the one place that
//! drops repeated users, in bounded memory.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;
use unidir_core::{Result, User};

use super::fallback::Tally;
use super::{OP, Shared, TeamRef, spill_error, tag};
use crate::directory::Buildkite;
use crate::map;
use crate::team_index::{DiskJoin, TeamEntry, TeamIndex, digest};
use crate::wire::{RestMember, RestTeamMember, RestTeamRef};

/// REST `per_page` maximum.
const REST_PAGE: u32 = 100;

impl Buildkite {
    /// Every team, in Buildkite's order: per team only what a membership names (id, name,
    /// slug; a description is skipped as it is decoded), each within
    /// [`crate::team_index::MAX_TEAM_TEXT`].
    pub(super) async fn list_team_refs(&self) -> Result<Vec<TeamRef>> {
        // The caller walked the team list just now (`unidir export`): not a second time.
        if let Some(walked) = self.take_walked_teams() {
            return walked
                .into_iter()
                .map(|team| {
                    let team = TeamEntry::checked(OP, team.id, team.name, team.slug)?;
                    Ok(TeamRef {
                        position: 0,
                        id: team.id,
                        slug: team.slug,
                        name: team.name,
                        size: None,
                        rest_only: false,
                    })
                })
                .collect();
        }
        let mut teams = Vec::new();
        self.rest_walk_each(OP, &self.org_path(&["teams"]), &[], |team: RestTeamRef| {
            let team = TeamEntry::checked(OP, team.id, team.name, team.slug)?;
            teams.push(TeamRef {
                position: 0,
                id: team.id,
                slug: team.slug,
                name: team.name,
                size: None,
                rest_only: false,
            });
            Ok(())
        })
        .await?;
        Ok(teams)
    }

    /// One team's members into the index (which keeps one entry per user and team, so no
    /// set of the team's members is needed here: the `Everyone` team has every user).
    pub(super) async fn rest_team_members(&self, shared: &Shared, team: &TeamRef) -> Result<()> {
        let path = self.org_path(&["teams", &team.id, "members"]);
        let mut budget = self.walk_limits.start();
        let mut page = 1u32;
        loop {
            budget.before_page().map_err(tag)?;
            let (rows, next) = self
                .fetch_page::<RestTeamMember>(OP, &path, &[], page, REST_PAGE)
                .await?;
            budget.add_items(rows.len()).map_err(tag)?;
            for m in rows {
                shared.add(team, &m.user_id, m.role.as_deref(), m.created_at);
            }
            match next {
                Some(n) => page = n,
                None => return Ok(()),
            }
        }
    }

    /// REST member pages with the index on disk (`Essential`, a large organization): each
    /// row goes to its partition, then every partition is joined with its memberships and
    /// sent, so neither side is ever held whole.
    pub(super) async fn rest_member_pages_joined(
        &self,
        mut join: DiskJoin,
        keep: bool,
        out: &mpsc::Sender<Result<Vec<User>>>,
        tally: &Tally,
    ) -> Result<()> {
        let mut pages = self.member_pages(keep);
        while let Some(rows) = pages.next().await? {
            for (member, raw) in rows {
                let record = SpilledMember::encode(member, raw)?;
                join.push(&record.0, &record.1).map_err(spill_error)?;
            }
        }
        let mut partitions = join.into_partitions().map_err(spill_error)?;
        while let Some(mut partition) = partitions.next_partition().map_err(spill_error)? {
            let mut users = Vec::with_capacity(REST_PAGE as usize);
            while let Some((record, groups)) = partition.next_member().map_err(spill_error)? {
                let (member, raw) = SpilledMember::decode(record)?;
                users.push(map::rest_user(member, raw, groups));
                if users.len() == REST_PAGE as usize
                    && out.send(Ok(std::mem::take(&mut users))).await.is_err()
                {
                    return Ok(()); // The caller stopped reading.
                }
            }
            if !users.is_empty() && out.send(Ok(users)).await.is_err() {
                return Ok(());
            }
            Tally::add(&tally.orphans, partition.orphan_users());
            tally.dropped(partition.dropped());
        }
        Ok(())
    }

    /// The member pages, one at a time, within the walk limits.
    fn member_pages(&self, keep: bool) -> MemberPages<'_> {
        MemberPages {
            directory: self,
            keep,
            budget: self.walk_limits.start(),
            page: Some(1),
        }
    }

    /// One page of members: typed rows, with the raw ones when the caller keeps them.
    async fn member_page(
        &self,
        page: u32,
        keep: bool,
    ) -> Result<(Vec<(RestMember, Option<Value>)>, Option<u32>)> {
        let path = self.org_path(&["members"]);
        // Decoded straight into typed rows unless the caller keeps the raw ones.
        if keep {
            let (rows, next) = self
                .fetch_page::<Value>(OP, &path, &[], page, REST_PAGE)
                .await?;
            let rows = rows
                .into_iter()
                .map(|raw| map::with_raw(OP, "member", raw))
                .collect::<Result<Vec<(RestMember, _)>>>()?;
            Ok((rows, next))
        } else {
            let (rows, next) = self
                .fetch_page::<RestMember>(OP, &path, &[], page, REST_PAGE)
                .await?;
            Ok((rows.into_iter().map(|m| (m, None)).collect(), next))
        }
    }

    /// After a `Full` read: the members REST listed that GraphQL's pages never returned (one
    /// who joined between the two reads, or an upstream that left one out), sent from their
    /// REST rows so that no user is lost; the GraphQL-only fields stay unknown. It costs a
    /// second walk of the member pages, and only when such members exist.
    pub(super) async fn rest_leftovers(
        &self,
        shared: &Shared,
        index: &TeamIndex,
        keep: bool,
        out: &mpsc::Sender<Result<Vec<User>>>,
    ) -> Result<()> {
        let mut left: std::collections::HashSet<u128> =
            std::mem::take(&mut *shared.sso.lock().unwrap_or_else(|e| e.into_inner()))
                .into_keys()
                .collect();
        if left.is_empty() {
            return Ok(());
        }
        let count = left.len() as u64;
        self.api.report(unidir_http::Report::new(
            OP,
            unidir_http::ReportKind::FieldsUnknown,
            count,
            match shared.tally.stopped() {
                Some(why) => format!(
                    "{why} before its member pages listed {count} members; they are read from REST, so their avatar, bot flag, 2FA state, join date and last activity are unknown (null)"
                ),
                None => format!(
                    "{count} members listed over REST were missing from GraphQL's member pages; they are read from REST, so their avatar, bot flag, 2FA state, join date and last activity are unknown (null)"
                ),
            },
        ));
        let mut pages = self.member_pages(keep);
        while !left.is_empty()
            && let Some(rows) = pages.next().await?
        {
            let users: Vec<User> = rows
                .into_iter()
                .filter(|(member, _)| left.remove(&digest(&member.id)))
                .map(|(member, raw)| {
                    let groups = index.groups_of(&member.id);
                    map::rest_user(member, raw, groups)
                })
                .collect();
            if !users.is_empty() && out.send(Ok(users)).await.is_err() {
                return Ok(()); // The caller stopped reading.
            }
        }
        Ok(())
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
        let mut pages = self.member_pages(keep);
        while let Some(rows) = pages.next().await? {
            let mut users = Vec::with_capacity(if full { 0 } else { rows.len() });
            for (member, raw) in rows {
                if full {
                    let sso = map::sso_required(member.sso_mode.as_deref());
                    shared
                        .sso
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(digest(&member.id), sso);
                } else {
                    let groups = index.groups_of(&member.id);
                    users.push(map::rest_user(member, raw, groups));
                }
            }
            if !users.is_empty() && out.send(Ok(users)).await.is_err() {
                return Ok(()); // The caller stopped reading.
            }
        }
        Ok(())
    }
}

/// The organization's member pages, read one at a time (see [`Buildkite::member_pages`]).
struct MemberPages<'a> {
    directory: &'a Buildkite,
    keep: bool,
    budget: unidir_core::WalkBudget,
    /// The next page; `None` after the last.
    page: Option<u32>,
}

impl MemberPages<'_> {
    /// The next page's rows; `None` after the last page.
    async fn next(&mut self) -> Result<Option<Vec<(RestMember, Option<Value>)>>> {
        let Some(page) = self.page else {
            return Ok(None);
        };
        self.budget.before_page().map_err(tag)?;
        let (rows, next) = self.directory.member_page(page, self.keep).await?;
        self.budget.add_items(rows.len()).map_err(tag)?;
        self.page = next;
        Ok(Some(rows))
    }
}

/// A member row as the join stores it on disk until its partition is joined.
#[derive(Serialize, Deserialize)]
struct SpilledMember {
    id: String,
    name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    sso_mode: Option<String>,
    raw: Option<Value>,
}

impl SpilledMember {
    /// The user id and the row's bytes.
    fn encode(member: RestMember, raw: Option<Value>) -> Result<(String, Vec<u8>)> {
        let RestMember {
            id,
            name,
            email,
            role,
            sso_mode,
        } = member;
        let row = Self {
            id,
            name,
            email,
            role,
            sso_mode,
            raw,
        };
        let bytes = serde_json::to_vec(&row).map_err(|e| spill_error(std::io::Error::other(e)))?;
        Ok((row.id, bytes))
    }

    fn decode(bytes: &[u8]) -> Result<(RestMember, Option<Value>)> {
        let row: Self =
            serde_json::from_slice(bytes).map_err(|e| spill_error(std::io::Error::other(e)))?;
        let member = RestMember {
            id: row.id,
            name: row.name,
            email: row.email,
            role: row.role,
            sso_mode: row.sso_mode,
        };
        Ok((member, row.raw))
    }
}
