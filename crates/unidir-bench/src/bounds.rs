//! The minimum work a full read needs, and the shortest time Buildkite's budgets allow for it.
//!
//! # Data units and their cost
//!
//! A full read is split into units that either API can deliver (`U` members, `T` teams,
//! `m_t` members in team `t`):
//!
//! | unit | REST requests | GraphQL points (cheapest selection) |
//! |---|---|---|
//! | a page of 100 members (id, name, e-mail, org role, SSO mode) | 1 | 3 per member (`node`, `user`, `sso`) |
//! | the members of team `t`, with team roles | max(1, ⌈m_t/100⌉) | 2 + 2·m_t (`members` + `edges`, then `node` + `user` per member) plus the team's own object |
//!
//! A GraphQL query reaches a team's members only through the team's object (1 point): either
//! `team(slug:)` or a node of the organization's `teams`, which is also how GraphQL lists the
//! teams. So the team list is priced with the team members, in the cheaper of two ways
//! ([`TeamList`]): REST lists the teams (1 request per 100) and a team read over GraphQL
//! costs 3 + 2·m_t; or GraphQL lists them (1 point per team, the node) and a team read over
//! GraphQL needs nothing more than 2 + 2·m_t. ([`lower_bound`] takes the faster.)
//!
//! The *full* user record adds what only GraphQL has (2FA, avatar, bot flag, join and last-seen
//! times): every member costs at least 4 points (`node`, `user`, `security`, `avatar`) plus 4 per
//! page of 500, which also carries name, e-mail and role, so a member page then only needs its
//! SSO mode (REST, or 1 point per member).
//!
//! # Time
//!
//! One token is subject to the smaller of the organization and the user budget: REST 50
//! requests per 60 s, GraphQL 5,000 points per 300 s. The simulator's windows are fixed and open
//! with the first request, so the first window's budget is available at once: `n` units of a
//! budget `B` per window `W` need ⌈n/B⌉ windows, the last opening (⌈n/B⌉ − 1)·W after the start
//! ([`fixed_window`]). The two budgets are independent, so a plan that sends `R` requests and
//! `P` points takes at least max(REST(R), GraphQL(P)); the lower bound is the smallest such
//! maximum over the ways to split the units between the APIs ([`best_split`]: units in order of
//! points per REST request saved, every prefix to GraphQL; exact up to one unit).

use std::time::Duration;

use unidir_buildkite_sim::{SimConfig, SimSnapshot};

/// REST `per_page` maximum.
pub const REST_PAGE: u64 = 100;
/// Largest GraphQL `members` page (Buildkite's maximum `first`).
pub const GRAPHQL_PAGE: u64 = 500;

/// What a full read has to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgShape {
    /// Organization members.
    pub users: u64,
    /// Teams, `Everyone` included.
    pub teams: u64,
    /// Members of each team.
    pub team_sizes: Vec<u64>,
}

impl OrgShape {
    /// The shape of a simulated organization.
    pub fn of(snapshot: &SimSnapshot) -> Self {
        let mut sizes = std::collections::HashMap::<&str, u64>::new();
        for tm in &snapshot.team_members {
            *sizes.entry(tm.team_uuid.as_str()).or_default() += 1;
        }
        Self {
            users: snapshot.members.len() as u64,
            teams: snapshot.teams.len() as u64,
            team_sizes: snapshot
                .teams
                .iter()
                .map(|t| sizes.get(t.uuid.as_str()).copied().unwrap_or(0))
                .collect(),
        }
    }

    /// Team memberships in total.
    pub fn memberships(&self) -> u64 {
        self.team_sizes.iter().sum()
    }

    /// REST requests for every team's members (an empty team still takes one).
    pub fn team_member_pages(&self) -> u64 {
        self.team_sizes
            .iter()
            .map(|&m| m.div_ceil(REST_PAGE).max(1))
            .sum()
    }
}

/// The budgets one token works under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// REST requests per window.
    pub rest: u64,
    /// REST window.
    pub rest_window: Duration,
    /// GraphQL complexity points per window.
    pub graphql: u64,
    /// GraphQL window.
    pub graphql_window: Duration,
}

impl Budgets {
    /// Buildkite's defaults (the simulator's), for one token: the smaller of the organization
    /// and the user budget binds.
    pub fn buildkite() -> Self {
        let c = SimConfig::default();
        Self {
            rest: u64::from(c.org_budget_per_minute.min(c.user_budget_per_minute)),
            rest_window: Duration::from_secs(60),
            graphql: u64::from(c.graphql_org_points.min(c.graphql_user_points)),
            graphql_window: Duration::from_secs(300),
        }
    }

    /// Shortest time for `requests` REST requests.
    pub fn rest_time(&self, requests: u64) -> Duration {
        fixed_window(requests, self.rest, self.rest_window)
    }

    /// Shortest time for `points` GraphQL points.
    pub fn graphql_time(&self, points: u64) -> Duration {
        fixed_window(points, self.graphql, self.graphql_window)
    }
}

/// Time until the last of `n` units can be spent under `budget` per fixed `window`, the
/// first window opening at once: (⌈n/budget⌉ − 1) windows; 0 for no work.
pub fn fixed_window(n: u64, budget: u64, window: Duration) -> Duration {
    if n == 0 || budget == 0 {
        return Duration::ZERO;
    }
    let windows = n.div_ceil(budget) - 1;
    window * u32::try_from(windows).unwrap_or(u32::MAX)
}

/// A piece of data and its cost from either API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// REST requests.
    pub rest: u64,
    /// GraphQL points.
    pub points: u64,
}

/// Which data a read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// Users (id, name, e-mail, org role, SSO mode), teams and team memberships with roles:
    /// what the per-team REST pattern reads.
    Core,
    /// [`Data::Core`] plus the GraphQL-only user fields (2FA, avatar, bot, join and last-seen
    /// times): what unidir's users carry when GraphQL is available.
    Full,
}

/// Which API lists the teams (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamList {
    /// REST pages of 100 teams; a team read over GraphQL pays for its own object.
    Rest,
    /// GraphQL, 1 point per team; a team read over GraphQL shares that object.
    Graphql,
}

/// GraphQL points every plan for `data` spends whatever the split, REST requests every plan
/// sends, and the splittable units, with the team list from `list`.
pub fn units(shape: &OrgShape, data: Data, list: TeamList) -> (u64, u64, Vec<Unit>) {
    let (mut fixed, per_member) = match data {
        Data::Core => (0, 3),
        Data::Full => (4 * shape.users + 4 * shape.users.div_ceil(GRAPHQL_PAGE), 1),
    };
    let (fixed_rest, team_object) = match list {
        TeamList::Rest => (shape.teams.div_ceil(REST_PAGE), 1),
        TeamList::Graphql => {
            fixed += shape.teams;
            (0, 0)
        }
    };
    let mut units = Vec::new();
    let mut left = shape.users;
    while left > 0 {
        let n = left.min(REST_PAGE);
        units.push(Unit {
            rest: 1,
            points: per_member * n,
        });
        left -= n;
    }
    for &m in &shape.team_sizes {
        units.push(Unit {
            rest: m.div_ceil(REST_PAGE).max(1),
            points: team_object + 2 + 2 * m,
        });
    }
    (fixed, fixed_rest, units)
}

/// The shortest time for `data`: the faster of the two ways to list the teams, each with its
/// best split.
pub fn lower_bound(budgets: &Budgets, shape: &OrgShape, data: Data) -> Plan {
    [TeamList::Rest, TeamList::Graphql]
        .into_iter()
        .map(|list| {
            let (fixed, fixed_rest, units) = units(shape, data, list);
            best_split(budgets, fixed, fixed_rest, &units)
        })
        .min_by_key(|plan| plan.time)
        .unwrap_or(Plan {
            rest_requests: 0,
            graphql_points: 0,
            time: Duration::ZERO,
        })
}

/// A split of the work between the APIs and how long it takes at best.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// REST requests.
    pub rest_requests: u64,
    /// GraphQL points.
    pub graphql_points: u64,
    /// max(REST time, GraphQL time).
    pub time: Duration,
}

/// The fastest split of `units` (plus `fixed` GraphQL points and `fixed_rest` REST requests)
/// between the two budgets.
pub fn best_split(budgets: &Budgets, fixed: u64, fixed_rest: u64, units: &[Unit]) -> Plan {
    let mut order: Vec<&Unit> = units.iter().collect();
    // Cheapest GraphQL per REST request saved first (a ratio compare without division).
    order.sort_by(|a, b| (a.points * b.rest).cmp(&(b.points * a.rest)));
    let mut rest: u64 = fixed_rest + units.iter().map(|u| u.rest).sum::<u64>();
    let mut points = fixed;
    let plan = |rest, points| Plan {
        rest_requests: rest,
        graphql_points: points,
        time: budgets.rest_time(rest).max(budgets.graphql_time(points)),
    };
    let mut best = plan(rest, points);
    for unit in order {
        rest -= unit.rest;
        points += unit.points;
        let candidate = plan(rest, points);
        if candidate.time < best.time {
            best = candidate;
        }
    }
    best
}

/// Every unit over REST: the only plan without GraphQL.
pub fn rest_only(budgets: &Budgets, shape: &OrgShape) -> Plan {
    let (_, fixed_rest, units) = units(shape, Data::Core, TeamList::Rest);
    let rest = fixed_rest + units.iter().map(|u| u.rest).sum::<u64>();
    Plan {
        rest_requests: rest,
        graphql_points: 0,
        time: budgets.rest_time(rest),
    }
}

/// The fewest requests for each read when no budget limits anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minimums {
    /// `users` over GraphQL: pages of 500 members with their teams nested.
    pub users_graphql: u64,
    /// `users` over GraphQL in pages of 100 (the largest unified page).
    pub users_graphql_100: u64,
    /// `users` over REST: member pages, team pages, every team's member pages.
    pub users_rest: u64,
    /// `export` with GraphQL: organizations (1) + team pages + GraphQL member pages of 500.
    pub export_graphql: u64,
    /// `export` over REST: organizations (1) + `users_rest` (the team pages serve both).
    pub export_rest: u64,
}

impl Minimums {
    /// The minimums for an organization of this shape.
    pub fn of(shape: &OrgShape) -> Self {
        let team_pages = shape.teams.div_ceil(REST_PAGE);
        let users_rest = shape.users.div_ceil(REST_PAGE) + team_pages + shape.team_member_pages();
        let users_graphql = shape.users.div_ceil(GRAPHQL_PAGE);
        Self {
            users_graphql,
            users_graphql_100: shape.users.div_ceil(REST_PAGE),
            users_rest,
            export_graphql: 1 + team_pages + users_graphql,
            export_rest: 1 + users_rest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(users: u64, sizes: &[u64]) -> OrgShape {
        OrgShape {
            users,
            teams: sizes.len() as u64,
            team_sizes: sizes.to_vec(),
        }
    }

    #[test]
    fn fixed_windows_count_the_windows_after_the_first() {
        let w = Duration::from_secs(60);
        assert_eq!(fixed_window(0, 50, w), Duration::ZERO);
        assert_eq!(fixed_window(50, 50, w), Duration::ZERO);
        assert_eq!(fixed_window(51, 50, w), w);
        assert_eq!(fixed_window(1_209, 50, w), w * 24);
    }

    #[test]
    fn budgets_are_the_smaller_of_organization_and_user() {
        let b = Budgets::buildkite();
        assert_eq!((b.rest, b.graphql), (50, 5_000));
    }

    #[test]
    fn minimums_count_pages() {
        // Everyone (250 members) and two small teams, one empty.
        let s = shape(250, &[250, 3, 0]);
        let m = Minimums::of(&s);
        assert_eq!(s.team_member_pages(), 3 + 1 + 1);
        assert_eq!(m.users_rest, 3 + 1 + 5);
        assert_eq!((m.users_graphql, m.users_graphql_100), (1, 3));
        assert_eq!((m.export_graphql, m.export_rest), (3, 10));
    }

    #[test]
    fn rest_only_plan_sends_every_unit_over_rest() {
        let b = Budgets::buildkite();
        let plan = rest_only(&b, &shape(10_000, &[10_000, 20, 20]));
        assert_eq!(plan.rest_requests, 100 + 1 + 100 + 2);
        assert_eq!(plan.time, Duration::from_secs(60) * 4);
    }

    #[test]
    fn the_best_split_moves_small_teams_to_graphql() {
        let b = Budgets::buildkite();
        // 4,000 teams of 10: 4,000 REST requests (79 windows) or 22 points each.
        let mut sizes = vec![0; 4_000];
        sizes.fill(10);
        let s = shape(100, &sizes);
        let rest_only = rest_only(&b, &s);
        let split = lower_bound(&b, &s, Data::Core);
        assert!(split.time < rest_only.time, "{split:?} vs {rest_only:?}");
        assert!(split.graphql_points > 0 && split.rest_requests < rest_only.rest_requests);
        // No split beats the balance point by more than one window of either budget.
        let rest_secs = split.rest_requests as f64 / 50.0 * 60.0;
        let gql_secs = split.graphql_points as f64 / 5_000.0 * 300.0;
        assert!(
            (rest_secs - gql_secs).abs() < 300.0,
            "{rest_secs} vs {gql_secs}"
        );
    }

    #[test]
    fn full_records_pay_four_points_per_member_whatever_the_split() {
        let b = Budgets::buildkite();
        let s = shape(10_000, &[10_000]);
        let (fixed, _, _) = units(&s, Data::Full, TeamList::Rest);
        assert_eq!(fixed, 40_000 + 4 * 20);
        let plan = lower_bound(&b, &s, Data::Full);
        assert!(plan.graphql_points >= fixed);
        assert_eq!(plan.time, b.graphql_time(fixed));
    }

    #[test]
    fn a_team_read_over_graphql_pays_for_its_object_once() {
        // 3 teams of 10 members, no users: REST lists them (1 request) and each costs 23
        // points, or GraphQL lists them (3 points) and each costs 22.
        let s = shape(0, &[10, 10, 10]);
        let (fixed, fixed_rest, teams) = units(&s, Data::Core, TeamList::Rest);
        assert_eq!((fixed, fixed_rest), (0, 1));
        assert!(teams.iter().all(|u| *u
            == Unit {
                rest: 1,
                points: 23
            }));
        let (fixed, fixed_rest, teams) = units(&s, Data::Core, TeamList::Graphql);
        assert_eq!((fixed, fixed_rest), (3, 0));
        assert!(teams.iter().all(|u| *u
            == Unit {
                rest: 1,
                points: 22
            }));
        // Every team over GraphQL: 69 points either way, but no REST request at all when
        // GraphQL lists them; the bound takes the better of the two.
        let b = Budgets::buildkite();
        let plan = lower_bound(&b, &s, Data::Core);
        assert_eq!(plan.time, Duration::ZERO);
    }
}
