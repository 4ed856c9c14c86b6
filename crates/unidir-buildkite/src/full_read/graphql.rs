//! The full read's GraphQL side: the budget check and the nested walk, team sizes, small
//! teams' members, and member pages without teams joined with REST's results.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde::de::IgnoredAny;
use serde_json::json;
use tokio::sync::{mpsc, watch};
use unidir_core::{ListQuery, Result, User};
use unidir_http::paging::relay_next;

use super::fallback::{Scope, Tally, Trouble};
use super::parked::Parked;
use super::{
    GRAPHQL_TEAM_PAGE, NESTED_POINTS_PER_MEMBER, OP, Shared, TeamRef, spill_error, tag, wait,
};
use crate::api::contract;
use crate::calibration::Charging;
use crate::directory::{
    Buildkite, MEMBERS_QUERY, NestedShape, graphql_after, organization_not_found, users_binding,
};
use crate::map;
use crate::team_index::{TeamEntry, TeamIndex, digest};
use crate::wire::{GqlTeamMember, GqlTeamSize, OrgMembers, OrgTeams, TeamMembers};

use super::parked::Row;

const MEMBERS_LITE: &str = include_str!("../graphql/members_lite.graphql");
const TEAM_MEMBERS: &str = include_str!("../graphql/team_members.graphql");
const TEAM_SIZES: &str = include_str!("../graphql/team_sizes.graphql");
const ORG_SIZE: &str = include_str!("../graphql/org_size.graphql");
/// Members per page of the nested walk, and teams nested per member: 500 × (8 + 2 × 40)
/// requested points stay under Buildkite's 50,000-point cap per query.
const NESTED_SHAPE: NestedShape = NestedShape {
    size: Some(500),
    teams_first: 40,
};
/// Teams per `UnidirTeamSizes` page (≈ 1,000 points requested).
const GRAPHQL_TEAMS_PAGE: u32 = 500;
/// Members per `UnidirMembersLite` page (Buildkite's largest `first`; ≈ 2,000 points).
const GRAPHQL_MEMBERS_PAGE: u32 = 500;

impl Buildkite {
    /// Whether the GraphQL budget left covers every member with nested teams.
    pub(super) async fn nested_fits_budget(&self) -> Result<bool> {
        let data: OrgMembers<IgnoredAny> = self
            .api
            .graphql(
                OP,
                ORG_SIZE,
                "UnidirOrgSize",
                json!({ "slug": self.api.org }),
            )
            .await?;
        let organization = data
            .organization
            .ok_or_else(|| organization_not_found(OP))?;
        self.learn_organization_id(organization.uuid.as_deref());
        let members = organization
            .members
            .and_then(|m| m.count)
            .ok_or_else(|| contract(OP, "organization.members.count is missing"))?;
        Ok(self.nested_points(members))
    }

    /// Whether the GraphQL budget left pays for `members` with nested teams: by the
    /// calibrated estimate of what Buildkite charges (requested points where it charges
    /// them up front; otherwise an actual cost per member, scaled as Buildkite counts).
    fn nested_points(&self, members: u64) -> bool {
        let needed = match self.api.calibration.charging() {
            Charging::Requested => self.api.graphql_cost(
                "UnidirMembers",
                MEMBERS_QUERY,
                &json!({ "first": members, "teamsFirst": NESTED_SHAPE.teams_first }),
            ),
            Charging::Unknown | Charging::Actual => {
                let ratio = self.api.calibration.ratio("UnidirMembers").max(1.0);
                (members.saturating_mul(NESTED_POINTS_PER_MEMBER) as f64 * ratio) as u64
            }
        };
        self.api
            .graphql_remaining()
            .is_some_and(|left| left >= needed)
    }

    /// What to reserve before taking a team for GraphQL: a team page's calibrated cost.
    pub(super) fn team_page_points(&self) -> u64 {
        self.api.graphql_pacing(
            "UnidirTeamMembers",
            TEAM_MEMBERS,
            &json!({ "first": GRAPHQL_TEAM_PAGE }),
        )
    }

    /// Every page of `UnidirMembers` (teams nested), 500 members a page.
    /// `sent` gets each user's digest before it is sent, for a REST read to go on from if a
    /// later page fails (see `fallback`).
    pub(super) async fn nested_walk(
        &self,
        query: &ListQuery,
        out: &mpsc::Sender<Result<Vec<User>>>,
        sent: &mut HashSet<u128>,
    ) -> Result<()> {
        let binding = users_binding(query);
        let mut budget = self.walk_limits.start();
        let mut after: Option<String> = None;
        loop {
            budget.before_page().map_err(tag)?;
            let page = self
                .users_graphql_shaped(query, &binding, after.clone(), None, NESTED_SHAPE)
                .await?;
            budget.add_items(page.result.len()).map_err(tag)?;
            let next = match &page.next_cursor {
                Some(cursor) => graphql_after(&binding, cursor)?,
                None => None,
            };
            sent.extend(page.result.iter().map(|u| digest(&u.id)));
            if !page.result.is_empty() && out.send(Ok(page.result)).await.is_err() {
                return Ok(()); // The caller stopped reading.
            }
            match next {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Every team with its member count (`UnidirTeamSizes`, 2 points a team).
    pub(super) async fn list_team_sizes(&self, tally: &Tally) -> Result<Vec<TeamRef>> {
        let mut budget = self.walk_limits.start();
        let mut teams = Vec::new();
        let mut seen = HashSet::new();
        let mut after: Option<String> = None;
        loop {
            budget.before_page().map_err(tag)?;
            let variables =
                json!({ "slug": self.api.org, "first": GRAPHQL_TEAMS_PAGE, "after": after });
            let data: OrgTeams = self
                .api
                .graphql(OP, TEAM_SIZES, "UnidirTeamSizes", variables)
                .await?;
            let mut connection = data
                .organization
                .and_then(|o| o.teams)
                .ok_or_else(|| contract(OP, "organization.teams is missing"))?;
            let info = self.checked_page_info(
                OP,
                connection.page_info.take(),
                "the teams connection has no pageInfo",
            )?;
            let nodes: Vec<Option<GqlTeamSize>> = connection.nodes().collect();
            budget.add_items(nodes.len()).map_err(tag)?;
            for node in nodes {
                let team = node.ok_or_else(|| contract(OP, "a teams edge has no node"))?;
                if !seen.insert(digest(&team.uuid)) {
                    Tally::add(&tally.repeats, 1);
                } else {
                    let team_entry = TeamEntry::checked(OP, team.uuid, team.name, Some(team.slug))?;
                    teams.push(TeamRef {
                        position: 0,
                        id: team_entry.id,
                        slug: team_entry.slug,
                        name: team_entry.name,
                        size: Some(team.members.count),
                        rest_only: false,
                    });
                }
            }
            match relay_next(
                "Buildkite",
                info.has_next_page,
                info.end_cursor,
                after.as_deref(),
            )
            .map_err(tag)?
            {
                Some(end) => after = Some(end),
                None => return Ok(teams),
            }
        }
    }

    /// One team's members over GraphQL: `false` (nothing recorded) when the team has more
    /// than one page or no slug, so it is REST's. The count is only a hint: `pageInfo` says
    /// whether the edges are all; a count that disagrees with them is reported, never
    /// trusted over them. A team GraphQL cannot find is `NotFound` (REST reads it).
    pub(super) async fn graphql_team_members(
        &self,
        shared: &Shared,
        team: &TeamRef,
    ) -> Result<bool> {
        let Some(slug) = &team.slug else {
            return Ok(false);
        };
        let variables = json!({
            "slug": format!("{}/{}", self.api.org, slug),
            "first": GRAPHQL_TEAM_PAGE,
        });
        let data: TeamMembers = self
            .api
            .graphql(OP, TEAM_MEMBERS, "UnidirTeamMembers", variables)
            .await?;
        let team_data = data.team.ok_or_else(|| {
            tag(unidir_core::Error::new(
                unidir_core::ErrorKind::NotFound,
                "Buildkite GraphQL found no team with this slug",
            ))
        })?;
        let mut members = team_data
            .members
            .ok_or_else(|| contract(OP, "team.members is missing"))?;
        let count = members
            .count
            .ok_or_else(|| contract(OP, "the team members connection has no count"))?;
        let nodes: Vec<Option<GqlTeamMember>> = members.nodes().collect();
        // Without `pageInfo` the page may not be the last: REST, which reads every page.
        if members
            .page_info
            .take()
            .is_none_or(|info| info.has_next_page)
        {
            return Ok(false);
        }
        let mut seen = HashSet::with_capacity(nodes.len());
        for node in nodes {
            let member = node.ok_or_else(|| contract(OP, "a team members edge has no node"))?;
            let user = member
                .user
                .ok_or_else(|| contract(OP, "a team member has no user"))?;
            // A member listed twice is the index's to keep once (and count, with its roles).
            seen.insert(digest(&user.uuid));
            shared.add(team, &user.uuid, Some(&member.role), member.created_at);
        }
        if count != seen.len() as u64 {
            Tally::add(&shared.tally.disagreements, 1);
        }
        Ok(true)
    }

    /// GraphQL's turn at the team queue until it is empty or GraphQL fails for the read
    /// (see `fallback`): a team it cannot read goes back to REST.
    pub(super) async fn graphql_teams(
        &self,
        shared: &Shared,
        teams_done: watch::Receiver<bool>,
    ) -> Result<()> {
        loop {
            // Wait for the budget before taking a team, so REST can take it meanwhile; once
            // REST has taken the last one, there is nothing to wait for.
            let mut done = teams_done.clone();
            tokio::select! {
                ready = self.api.reserve_graphql(OP, self.team_page_points()) => if let Err(e) = ready {
                    self.graphql_trouble(e, Scope::Organization, &shared.tally)?;
                    return Ok(());
                },
                () = wait(&mut done) => return Ok(()),
            }
            let Some(team) = shared.take_back() else {
                return Ok(());
            };
            match self.graphql_team_members(shared, &team).await {
                Ok(true) => shared.graphql_finished(None),
                Ok(false) => shared.graphql_finished(Some(team)),
                Err(e) => {
                    // Back to REST whatever the failure: a failed read ends before REST takes it.
                    shared.graphql_finished(Some(team));
                    match self.graphql_trouble(e, Scope::Team, &shared.tally)? {
                        Trouble::Team => Tally::add(&shared.tally.teams_to_rest, 1),
                        Trouble::Off => return Ok(()),
                    }
                }
            }
        }
    }

    /// GraphQL member pages without teams, sent joined with the index and REST's SSO modes
    /// once REST is done; the pages read before that are left in `waiting`, still to send
    /// (parked past a bound on disk, see `parked.rs`; also when a page fails: those read are
    /// kept).
    pub(super) async fn graphql_members(
        &self,
        shared: &Shared,
        index: &Mutex<Option<Arc<TeamIndex>>>,
        rest_done: watch::Receiver<bool>,
        query: &ListQuery,
        out: &mpsc::Sender<Result<Vec<User>>>,
        waiting: &mut Parked,
    ) -> Result<()> {
        let keep = query.include_remote_data;
        let document = crate::fields::document(MEMBERS_LITE, query);
        let mut budget = self.walk_limits.start();
        let mut seen = HashSet::new();
        let mut after: Option<String> = None;
        loop {
            budget.before_page().map_err(tag)?;
            let variables = json!({
                "slug": self.api.org,
                "first": GRAPHQL_MEMBERS_PAGE,
                "after": after,
            });
            let (info, rows) = self
                .members_page(OP, &document, "UnidirMembersLite", variables, keep)
                .await?;
            budget.add_items(rows.len()).map_err(tag)?;
            let mut batch = Vec::with_capacity(rows.len());
            for (member, raw) in rows {
                if seen.insert(digest(&member.user.uuid)) {
                    batch.push((member, raw));
                } else {
                    Tally::add(&shared.tally.repeats, 1);
                }
            }
            waiting.push(batch).map_err(spill_error)?;
            if *rest_done.borrow() && !self.send_parked(shared, index, waiting, out).await? {
                return Ok(()); // The caller stopped reading.
            }
            match relay_next(
                "Buildkite",
                info.has_next_page,
                info.end_cursor,
                after.as_deref(),
            )
            .map_err(tag)?
            {
                Some(end) => after = Some(end),
                None => return Ok(()),
            }
        }
    }

    /// Sends every parked page (REST is done); `false` when the caller stopped reading.
    pub(super) async fn send_parked(
        &self,
        shared: &Shared,
        index: &Mutex<Option<Arc<TeamIndex>>>,
        waiting: &mut Parked,
        out: &mpsc::Sender<Result<Vec<User>>>,
    ) -> Result<bool> {
        if waiting.pages_on_disk() > 0 {
            tracing::debug!(
                operation = OP,
                pages = waiting.pages_on_disk(),
                "GraphQL member pages waited for REST in a temporary file"
            );
        }
        let mut pages = waiting.drain().map_err(spill_error)?;
        while let Some(page) = pages.next_page().map_err(spill_error)? {
            if !self.join_and_send(shared, index, page, out).await {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Sends one page of GraphQL members as users; `false` when the caller stopped reading.
    pub(super) async fn join_and_send(
        &self,
        shared: &Shared,
        index: &Mutex<Option<Arc<TeamIndex>>>,
        batch: Vec<Row>,
        out: &mpsc::Sender<Result<Vec<User>>>,
    ) -> bool {
        let Some(index) = index.lock().unwrap_or_else(|e| e.into_inner()).clone() else {
            // REST finished without an index only by failing, and that error ends the read.
            return false;
        };
        let users: Vec<User> = {
            let mut sso = shared.sso.lock().unwrap_or_else(|e| e.into_inner());
            batch
                .into_iter()
                .map(|(member, raw)| {
                    let groups = index.groups_of(&member.user.uuid);
                    // Taken out: what is left at the end, GraphQL never listed.
                    let sso_required = match sso.remove(&digest(&member.user.uuid)) {
                        Some(sso) => sso,
                        None => {
                            // REST's member pages never listed them.
                            Tally::add(&shared.tally.graphql_only, 1);
                            None
                        }
                    };
                    let mut user = map::graphql_user(member, groups, raw);
                    user.is_sso_required = sso_required;
                    user
                })
                .collect()
        };
        users.is_empty() || out.send(Ok(users)).await.is_ok()
    }
}
