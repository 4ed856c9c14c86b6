//! The full read when GraphQL fails part of it: the work goes to REST, and the read says so.
//!
//! GraphQL is the full read's second budget and the source of a few fields, never the only
//! way to a member or a membership: REST can read every team and member too. So a GraphQL
//! failure that is neither the caller's (a rejected token) nor a broken contract (an answer
//! of the wrong shape, a cursor loop: typed errors, as everywhere) degrades the read:
//!
//! * **refused** (a 403 from the GraphQL endpoint, "not enabled", a missing `graphql` scope):
//!   REST does the rest of the read, and in [`crate::GraphqlMode::Auto`] the directory uses
//!   REST for good, as page walks already did ([`Buildkite::falls_back`]);
//! * **throttled** (a 429 storm, a reset longer than `max_rate_limit_wait`), a query the
//!   server will not run, or any other failure of an organization-wide query: REST does the
//!   rest of this read, without waiting for GraphQL's reset;
//! * **one team** GraphQL cannot read (`team: null`, an error for its slug): REST reads it.
//!
//! Each is reported ([`ReportKind::Adapted`]); with [`unidir_core::Detail::Full`], users REST
//! made have their GraphQL-only fields unknown, and a [`ReportKind::FieldsUnknown`] report
//! says for how many.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use unidir_core::{Detail, Error, ErrorKind, ListQuery, Result, User};
use unidir_http::{Report, ReportKind};

use super::OP;
use crate::directory::Buildkite;
use crate::team_index::{Dropped, digest};

/// Where a GraphQL failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// The query for one team (`UnidirTeamMembers`).
    Team,
    /// An organization-wide query (the probe, team sizes, member pages, the nested walk), or
    /// waiting for GraphQL's budget.
    Organization,
}

/// What the read does about a GraphQL failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Trouble {
    /// REST reads this team; GraphQL goes on.
    Team,
    /// GraphQL does nothing more in this read; REST does the rest.
    Off,
}

/// What a read adapted to or dropped, counted while it runs and reported at its end.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Teams GraphQL could not read, read over REST instead.
    pub(super) teams_to_rest: AtomicU64,
    /// Rows a source sent twice (members, team members, teams, memberships), kept once.
    pub(super) repeats: AtomicU64,
    /// Team member counts that disagreed with the members listed.
    pub(super) disagreements: AtomicU64,
    /// Memberships listed twice with different roles (the first listed is kept).
    pub(super) role_conflicts: AtomicU64,
    /// Users with memberships whom no member list holds.
    pub(super) orphans: AtomicU64,
    /// Members GraphQL listed and REST's member pages did not (their SSO mode is unknown).
    pub(super) graphql_only: AtomicU64,
    /// Why GraphQL stopped, when it did (for the fields-unknown report).
    pub(super) graphql_stopped: Mutex<Option<String>>,
}

impl Tally {
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts what the team index dropped.
    pub(super) fn dropped(&self, dropped: Dropped) {
        Self::add(&self.repeats, dropped.repeats);
        Self::add(&self.role_conflicts, dropped.role_conflicts);
    }

    /// Why GraphQL stopped, if it did.
    pub(super) fn stopped(&self) -> Option<String> {
        self.graphql_stopped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Buildkite {
    /// What a GraphQL failure in the full read means (see the module docs): `Err` when the
    /// read must fail with it. Stopping GraphQL is reported at once.
    pub(super) fn graphql_trouble(
        &self,
        error: Error,
        scope: Scope,
        tally: &Tally,
    ) -> Result<Trouble> {
        let kind = error.kind();
        let refused = kind == ErrorKind::PermissionDenied && self.falls_back(&error);
        let trouble = match kind {
            ErrorKind::PermissionDenied if refused => Trouble::Off,
            ErrorKind::RateLimited | ErrorKind::InvalidInput => Trouble::Off,
            ErrorKind::NotFound | ErrorKind::Upstream if scope == Scope::Team => Trouble::Team,
            ErrorKind::Upstream => Trouble::Off,
            _ => return Err(error),
        };
        if trouble == Trouble::Off {
            let why = match kind {
                ErrorKind::PermissionDenied => "GraphQL refused the token".to_owned(),
                ErrorKind::RateLimited => match error.retry_after() {
                    // Waits are capped at an hour: a longer one the provider named is "more".
                    Some(wait) if wait >= unidir_http::MAX_WAIT => {
                        "GraphQL is rate limited for an hour or more".to_owned()
                    }
                    Some(wait) => format!(
                        "GraphQL is rate limited for {} s more",
                        wait.as_secs().max(1)
                    ),
                    None => "GraphQL is rate limited".to_owned(),
                },
                _ => "GraphQL failed".to_owned(),
            };
            let then = if refused {
                "REST reads the rest, and this directory uses REST from now on"
            } else {
                "REST reads the rest of this list instead of waiting"
            };
            self.api.report(Report::new(
                OP,
                ReportKind::Adapted,
                0,
                format!("{why} ({}); {then}", error.message()),
            ));
            *tally
                .graphql_stopped
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(why);
        }
        Ok(trouble)
    }

    /// The read without GraphQL, after GraphQL failed before the plan began (or during the
    /// nested walk: `skip` holds the users it already sent). With `Detail::Full`, says for
    /// how many users the GraphQL-only fields are unknown.
    pub(super) async fn rest_plan(
        &self,
        query: &ListQuery,
        out: &mpsc::Sender<Result<Vec<User>>>,
        skip: HashSet<u128>,
        tally: &Tally,
    ) -> Result<()> {
        let (tx, rx) = mpsc::channel(1);
        let plan = async move {
            let tx = tx;
            self.planned(query, &tx, false).await
        };
        let (result, users) = futures::future::join(plan, forward(rx, out, skip)).await;
        result?;
        if query.detail == Detail::Full && users > 0 {
            let why = tally
                .stopped()
                .unwrap_or_else(|| "GraphQL failed".to_owned());
            self.api.report(Report::new(
                OP,
                ReportKind::FieldsUnknown,
                users,
                format!(
                    "{why}, so {users} users were read from REST alone: their avatar, bot flag, 2FA state, join date and last activity are unknown (null)"
                ),
            ));
        }
        Ok(())
    }

    /// Reports what `tally` counted, once the read is done.
    pub(super) fn report_tally(&self, tally: &Tally) {
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let reports = [
            (
                ReportKind::Adapted,
                count(&tally.teams_to_rest),
                "teams GraphQL could not read (no such team, or an error for its slug) were read over REST",
            ),
            (
                ReportKind::Repeats,
                count(&tally.repeats),
                "rows (members, team members, teams or memberships) came twice from one source; each is kept once",
            ),
            (
                ReportKind::Disagreement,
                count(&tally.disagreements),
                "teams' GraphQL member counts disagreed with the members listed; the listed members (read to the last page) were kept",
            ),
            (
                ReportKind::Disagreement,
                count(&tally.role_conflicts),
                "memberships were listed twice with different team roles; the first listed was kept",
            ),
            (
                ReportKind::FieldsUnknown,
                count(&tally.graphql_only),
                "members GraphQL listed were missing from REST's member pages; their SSO requirement is unknown (null)",
            ),
            (
                ReportKind::Orphans,
                count(&tally.orphans),
                "users are members of a team but missing from the organization's member list; their memberships are not in any user read",
            ),
        ];
        for (kind, n, what) in reports {
            if n > 0 {
                self.api
                    .report(Report::new(OP, kind, n, format!("{n} {what}")));
            }
        }
    }
}

/// Passes `rx`'s batches to `out`, counting the users, without those in `skip` (already
/// sent by a walk that then failed). Returns the users passed on; stops when `out` is
/// closed (the caller stopped reading), which closes `rx` for its sender.
pub(super) async fn forward(
    mut rx: mpsc::Receiver<Result<Vec<User>>>,
    out: &mpsc::Sender<Result<Vec<User>>>,
    mut skip: HashSet<u128>,
) -> u64 {
    let mut passed = 0u64;
    while let Some(batch) = rx.recv().await {
        let batch = batch.map(|mut users| {
            if !skip.is_empty() {
                users.retain(|u| !skip.remove(&digest(&u.id)));
            }
            passed += users.len() as u64;
            users
        });
        if matches!(&batch, Ok(users) if users.is_empty()) {
            continue;
        }
        if out.send(batch).await.is_err() {
            break;
        }
    }
    passed
}
