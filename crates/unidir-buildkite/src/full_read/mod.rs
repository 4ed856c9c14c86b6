//! Full reads — every user with every team membership — planned against Buildkite's two
//! independent budgets: REST requests (50 a minute per token user) and GraphQL complexity
//! points (5,000 per 5 minutes per token user).
//!
//! Two workers run at once, each sending one request at a time and waiting for its own
//! budget before it takes work, so a 429 it could foresee is never provoked. The teams whose
//! members are still to read wait in one queue, the largest first:
//!
//! * **REST** takes teams from the **front** and reads their members
//!   (`GET /teams/{id}/members`, one request per 100 members), then reads the member pages
//!   (`GET /members`, 100 per request: name, e-mail, organization role, SSO mode).
//! * **GraphQL** takes teams from the **back** (`UnidirTeamMembers`, 3 + 2 points per member:
//!   for a small team the cheapest source per REST request saved), never one known to have
//!   more than 100 members; one that turns out larger goes back to REST. For
//!   [`Detail::Full`] it first reads the members without their teams (`UnidirMembersLite`,
//!   500 per page, 4 points a member: the attributes only GraphQL has).
//!
//! For [`Detail::Essential`] GraphQL lists the teams with their sizes (`UnidirTeamSizes`,
//! 2 points a team), so the split is by size; otherwise REST lists them (GraphQL is busy with
//! the members). Neither budget idles while the other has work, and whatever is left goes to
//! the first one free. Users are emitted once every membership is known: for `Essential`,
//! REST's member pages as they arrive; for `Full`, GraphQL's pages, joined with the SSO mode
//! from REST's member pages (GraphQL pages read before REST is done wait: past a bound in a
//! temporary file, see `parked.rs`).
//!
//! First, one small GraphQL query (`UnidirOrgSize`, ≈ 3 points) reads the member count and,
//! from its headers, the GraphQL budget left. When that budget covers the members with their
//! teams nested (an estimated [`NESTED_POINTS_PER_MEMBER`] points each), as on a plan with a
//! raised limit, the read is instead the plain `UnidirMembers` walk in pages of 500: the
//! fewest requests, and nothing to wait for.
//!
//! When REST's member pages make the users (`Essential`, or no GraphQL), an organization
//! with more memberships than [`crate::spill::SpillConfig`] allows in memory is joined on disk:
//! the memberships, then the member rows, go to partition files by user, joined one
//! partition at a time (users then come out partition by partition, not page by page).
//! Repeated users are dropped by the walker over the read, in bounded memory, not here.
//!
//! When GraphQL fails, the read degrades to REST instead of failing (see `fallback`), and
//! everything it adapted to, dropped as a repeat or could not place is counted and reported
//! ([`unidir_http::Report`]).
//!
//! **Precedence.** Each team's memberships come from the worker that read it, in full: GraphQL
//! records a team only when `pageInfo` says its page is the last (its `count` is a hint, and
//! one that disagrees with the edges is reported), and otherwise hands the team to REST,
//! which reads every page. REST's and GraphQL's roles for one membership are therefore never
//! mixed. Within one listing, a membership listed twice keeps the first (the team index's one
//! stable rule, whoever read it); a second listing with another role is reported as a
//! disagreement. The split between the workers depends on their speed, so a provider whose
//! two APIs disagree about a team role can give different roles from run to run; the
//! adapter cannot see such a disagreement without reading the team twice.
//!
//! Only an unfiltered read from the first page without a page size is planned; a filter, a
//! cursor or a `limit` (pages of a chosen size) gets the page walk.

mod fallback;
mod graphql;
mod parked;
mod rest;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::{mpsc, watch};
use unidir_core::{Detail, Error, Filters, ListQuery, Result, User};

use crate::directory::Buildkite;
use crate::roles;
use crate::team_index::{Built, TeamEntry, TeamIndex, TeamIndexBuilder};
use fallback::{Scope, Tally};

const OP: &str = "list_users";
/// Points a member costs in `UnidirMembers` with nested teams, estimated high: 8 for the
/// member's own objects, 2 per team for up to 6 teams.
pub(crate) const NESTED_POINTS_PER_MEMBER: u64 = 20;
/// Members per `UnidirTeamMembers` page; a team with more is handed to REST.
const GRAPHQL_TEAM_PAGE: u32 = 100;

/// Whether `query` is a full read the planner serves.
pub(crate) fn plannable(query: &ListQuery) -> bool {
    query.cursor.is_none() && query.limit.is_none() && query.filters == Filters::default()
}

/// A team to read the members of.
#[derive(Debug, Clone)]
struct TeamRef {
    /// Position in the team list (set when queued): memberships are kept in this order,
    /// whoever read them.
    position: u32,
    id: String,
    slug: Option<String>,
    name: String,
    /// Members, when the list said (GraphQL's does, REST's does not).
    size: Option<u64>,
    /// GraphQL found more members than one page: REST reads it.
    rest_only: bool,
}

/// What both workers share.
struct Shared {
    /// Teams still to read: the largest first, so REST takes from the front and GraphQL the
    /// smallest from the back.
    queue: Mutex<VecDeque<TeamRef>>,
    /// GraphQL holds a team it took from the queue (set and cleared under the queue's lock).
    graphql_busy: watch::Sender<bool>,
    /// The memberships read so far; `TeamRef::position` is a team's place in it. When REST's
    /// member pages make the users, a large organization's go to disk (see
    /// [`TeamIndexBuilder::spilling`]).
    index: Mutex<TeamIndexBuilder>,
    /// SSO requirement by user-id digest (as the team index keys users), from REST member
    /// pages (for `Detail::Full`).
    sso: Mutex<HashMap<u128, Option<bool>>>,
    /// What the read adapted to or dropped, reported at its end.
    tally: Tally,
}

impl Shared {
    /// Queues the listed teams, the largest first.
    fn set_teams(&self, mut teams: Vec<TeamRef>) {
        {
            let mut index = self.index.lock().unwrap_or_else(|e| e.into_inner());
            for team in &mut teams {
                // The index names the team from here on: the queue keeps no second id, name
                // or slug (they are looked up when the team is taken, see `named`).
                team.position = index.team(TeamEntry {
                    id: std::mem::take(&mut team.id),
                    name: std::mem::take(&mut team.name),
                    slug: team.slug.take(),
                });
            }
        }
        teams.sort_by_key(|t| std::cmp::Reverse(t.size));
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(teams);
    }

    /// `team` with its id and slug from the index (a queued team holds neither).
    fn named(&self, mut team: TeamRef) -> TeamRef {
        if team.id.is_empty() {
            let index = self.index.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((id, slug)) = index.id_and_slug(team.position) {
                (team.id, team.slug) = (id, slug);
            }
        }
        team
    }

    fn take_front(&self) -> Option<TeamRef> {
        let team = self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()?;
        Some(self.named(team))
    }

    /// The last team for GraphQL, marking it busy until [`Shared::graphql_finished`].
    /// A team known to need more than one GraphQL page stays REST's.
    fn take_back(&self) -> Option<TeamRef> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let back = queue.back()?;
        if back.rest_only
            || back
                .size
                .is_some_and(|size| size > u64::from(GRAPHQL_TEAM_PAGE))
        {
            return None;
        }
        let team = queue.pop_back()?;
        self.graphql_busy.send_replace(true);
        drop(queue);
        Some(self.named(team))
    }

    /// GraphQL is done with its team; `back` is handed to REST.
    fn graphql_finished(&self, back: Option<TeamRef>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut team) = back {
            team.rest_only = true;
            queue.push_front(team);
        }
        self.graphql_busy.send_replace(false);
    }

    /// The next team for REST, once GraphQL holds none: `None` when every team is read.
    async fn next_for_rest(&self) -> Option<TeamRef> {
        loop {
            if let Some(team) = self.take_front() {
                return Some(team);
            }
            let mut busy = self.graphql_busy.subscribe();
            // The sender lives in `self`, so this only returns once GraphQL is idle; then a
            // team it handed back is in the queue, or there is none left.
            let _ = busy.wait_for(|busy| !*busy).await;
            if self
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty()
            {
                return None;
            }
        }
    }

    fn add(
        &self,
        team: &TeamRef,
        user_id: &str,
        role: Option<&str>,
        created_at: Option<unidir_core::Timestamp>,
    ) {
        self.index.lock().unwrap_or_else(|e| e.into_inner()).add(
            team.position,
            user_id,
            role.map(roles::team_role_id),
            created_at,
        );
    }

    /// The finished index, each user's teams in team-list order: in memory, or on disk
    /// waiting for the member rows.
    fn index(&self) -> Result<Built> {
        std::mem::take(&mut *self.index.lock().unwrap_or_else(|e| e.into_inner()))
            .finish_join()
            .map_err(spill_error)
    }
}

/// A signal that flips once from "not yet" to "done".
fn signal() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    watch::channel(false)
}

async fn wait(rx: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: its worker failed, and that error ends the read.
    let _ = rx.wait_for(|done| *done).await;
}

impl Buildkite {
    /// Streams every user as planned above, in batches.
    pub(crate) fn full_read(&self, query: ListQuery) -> BoxStream<'_, Result<Vec<User>>> {
        let (tx, rx) = mpsc::channel::<Result<Vec<User>>>(4);
        let driver = async move {
            if let Err(e) = self.plan_full_read(&query, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        };
        let driver = stream::once(driver).filter_map(|()| async { None });
        let batches = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        stream::select(driver, batches).boxed()
    }

    async fn plan_full_read(
        &self,
        query: &ListQuery,
        out: &mpsc::Sender<Result<Vec<User>>>,
    ) -> Result<()> {
        let graphql = self.use_graphql(OP).await?;
        if !graphql {
            return self.planned(query, out, false).await;
        }
        let tally = Tally::default();
        match self.nested_fits_budget().await {
            Ok(false) => self.planned(query, out, true).await,
            Ok(true) => {
                let mut sent = HashSet::new();
                match self.nested_walk(query, out, &mut sent).await {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        self.graphql_trouble(e, Scope::Organization, &tally)?;
                        self.rest_plan(query, out, sent, &tally).await
                    }
                }
            }
            Err(e) => {
                self.graphql_trouble(e, Scope::Organization, &tally)?;
                self.rest_plan(query, out, HashSet::new(), &tally).await
            }
        }
    }

    /// The two workers (see the module docs); `graphql` false leaves it all to REST.
    async fn planned(
        &self,
        query: &ListQuery,
        out: &mpsc::Sender<Result<Vec<User>>>,
        graphql: bool,
    ) -> Result<()> {
        let full = graphql && query.detail == Detail::Full;
        // Reading the essentials, GraphQL lists the teams with their sizes, so it can take
        // the smallest (cheapest in points per REST request saved); otherwise REST lists them.
        let graphql_lists = graphql && !full;
        let shared = Shared {
            queue: Mutex::new(VecDeque::new()),
            graphql_busy: watch::Sender::new(false),
            // GraphQL's member pages (`full`) are joined in memory.
            index: Mutex::new(if full {
                TeamIndexBuilder::default()
            } else {
                TeamIndexBuilder::spilling(self.spill.clone())
            }),
            sso: Mutex::new(HashMap::new()),
            tally: Tally::default(),
        };
        let (listed_tx, listed_rx) = signal();
        let (rest_done_tx, rest_done_rx) = signal();
        // REST found no team left: GraphQL stops waiting for a budget window to take one.
        let (teams_done_tx, teams_done_rx) = signal();
        let index: Mutex<Option<Arc<TeamIndex>>> = Mutex::new(None);
        let keep = query.include_remote_data;

        let rest = async {
            if graphql_lists {
                wait(&mut listed_rx.clone()).await;
            } else {
                shared.set_teams(checked_ids(self.list_team_refs().await?)?);
                let _ = listed_tx.send(true);
            }
            loop {
                // Wait for the budget before taking a team, so GraphQL can take it meanwhile.
                self.api.reserve_rest(OP).await?;
                let Some(team) = shared.next_for_rest().await else {
                    break;
                };
                self.rest_team_members(&shared, &team).await?;
            }
            let _ = teams_done_tx.send(true);
            match shared.index()? {
                Built::Memory(finished) => {
                    let finished = Arc::new(finished);
                    *index.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&finished));
                    self.remember_team_index(Arc::clone(&finished));
                    self.rest_member_pages(&shared, &finished, full, keep, out)
                        .await?;
                }
                // Not kept for page walks: it is read once, partition by partition.
                Built::Disk(join) => {
                    self.rest_member_pages_joined(join, keep, out, &shared.tally)
                        .await?;
                }
            }
            let _ = rest_done_tx.send(true);
            Ok::<(), Error>(())
        };

        let gql = async {
            let mut waiting = parked::Parked::new(&self.spill);
            // GraphQL still works for this read (see `fallback`).
            let mut on = graphql;
            if full
                && let Err(e) = self
                    .graphql_members(
                        &shared,
                        &index,
                        rest_done_rx.clone(),
                        query,
                        out,
                        &mut waiting,
                    )
                    .await
            {
                // The members it did not list come from REST after the join (leftovers).
                self.graphql_trouble(e, Scope::Organization, &shared.tally)?;
                on = false;
            }
            if graphql_lists {
                let teams = match self.list_team_sizes(&shared.tally).await {
                    Ok(teams) => teams,
                    Err(e) => {
                        self.graphql_trouble(e, Scope::Organization, &shared.tally)?;
                        on = false;
                        self.list_team_refs().await?
                    }
                };
                shared.set_teams(checked_ids(teams)?);
                let _ = listed_tx.send(true);
            }
            if on {
                wait(&mut listed_rx.clone()).await;
                self.graphql_teams(&shared, teams_done_rx.clone()).await?;
            }
            if full {
                wait(&mut rest_done_rx.clone()).await;
                if !self.send_parked(&shared, &index, &mut waiting, out).await? {
                    return Ok(()); // The caller stopped reading.
                }
                let finished = index.lock().unwrap_or_else(|e| e.into_inner()).clone();
                if let Some(finished) = finished {
                    self.rest_leftovers(&shared, &finished, keep, out).await?;
                }
            }
            Ok::<(), Error>(())
        };
        futures::future::try_join(rest, gql).await?;
        if !out.is_closed() {
            // Read to the end: every user the index holds and no member list did is an orphan.
            let finished = index.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(finished) = finished {
                Tally::add(&shared.tally.orphans, finished.orphan_users());
                shared.tally.dropped(finished.dropped());
            }
            self.report_tally(&shared.tally);
        }
        Ok(())
    }
}

/// The listed teams, each id a Buildkite UUID: an id becomes a REST path segment, where
/// `.`, `..` or an empty one would silently address another resource.
fn checked_ids(teams: Vec<TeamRef>) -> Result<Vec<TeamRef>> {
    for team in &teams {
        crate::api::check_id(OP, "team", &team.id).map_err(|_| {
            crate::api::contract(OP, "Buildkite listed a team whose id is not a UUID")
        })?;
    }
    Ok(teams)
}

/// A temporary file of the join failed: a local fault (a full disk, an unwritable
/// directory), not the provider's, so it is `LocalIo` naming where the files go.
fn spill_error(e: std::io::Error) -> Error {
    tag(Error::new(
        unidir_core::ErrorKind::LocalIo,
        format!(
            "the full read's temporary files in {} (TMPDIR) failed: {e}; free space there or set TMPDIR to a directory with room",
            std::env::temp_dir().display()
        ),
    ))
}

fn tag(e: Error) -> Error {
    e.with_provider(crate::PROVIDER).with_operation(OP)
}

#[cfg(test)]
mod spill_error_tests {
    use super::*;

    #[test]
    fn a_full_disk_is_a_local_error_naming_tmpdir() {
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let e = spill_error(full);
        assert_eq!(e.kind(), unidir_core::ErrorKind::LocalIo);
        assert!(e.message().contains("TMPDIR"), "{e}");
    }
}
