//! The planned full read when GraphQL fails it while REST works (issue 16, A2–A4 and B6):
//! GraphQL refused, throttled, or unable to read one team; counts that lie; members and
//! memberships only one side lists; repeats.
//!
//! Every scenario runs at both details and ends with exactly the organization's users, each
//! once with exactly its teams, and with every adaptation and gap reported through the one
//! channel (`Observer::report`); as in `hostile.rs`, no request leaves the origin and the
//! token shows up nowhere.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use serde_json::{Value, json};
use unidir_buildkite::Buildkite;
use unidir_core::{Detail, DirectoryExt, Error, ListQuery, User};
use unidir_http::testing::hostile::{Reply, Request};
use unidir_http::{Report, ReportKind};

mod support;
use support::*;

// ---------------------------------------------------------------------------------------
// The organization: users 1–5; team 1 has users 1 and 2, team 2 user 3, team 3 user 4;
// user 5 is in no team.
// ---------------------------------------------------------------------------------------

const USERS: u64 = 5;
const TEAM_IDS: [u64; 3] = [1, 2, 3];
const DETAILS: [Detail; 2] = [Detail::Essential, Detail::Full];

fn team_users(team: u64) -> &'static [u64] {
    match team {
        1 => &[1, 2],
        2 => &[3],
        3 => &[4],
        _ => &[],
    }
}

fn team_members_path(team: u64) -> String {
    format!("{TEAMS}/{}/members", uuid(team))
}

fn expected() -> Vec<(String, Vec<String>)> {
    (1..=USERS)
        .map(|u| {
            let teams = TEAM_IDS
                .into_iter()
                .filter(|t| team_users(*t).contains(&u))
                .map(uuid)
                .collect();
            (uuid(u), teams)
        })
        .collect()
}

/// The users' ids and team ids, sorted; no user and no team of a user may come twice.
fn memberships(users: &[User]) -> Vec<(String, Vec<String>)> {
    let mut got: Vec<(String, Vec<String>)> = users
        .iter()
        .map(|u| {
            let mut teams: Vec<String> = u.groups.iter().map(|g| g.id.clone()).collect();
            teams.sort();
            let before = teams.len();
            teams.dedup();
            assert_eq!(teams.len(), before, "{} has a team twice", u.id);
            (u.id.clone(), teams)
        })
        .collect();
    got.sort();
    let before = got.len();
    got.dedup_by(|a, b| a.0 == b.0);
    assert_eq!(got.len(), before, "a user came twice");
    got
}

fn rest(request: &Request) -> Reply {
    let path = request.path();
    if path == ACCESS_TOKEN {
        return access_token(ALL_SCOPES);
    }
    if path == TEAMS {
        return page(TEAM_IDS.map(team).to_vec(), request, None);
    }
    if path == MEMBERS {
        return page((1..=USERS).map(member).collect(), request, None);
    }
    for t in TEAM_IDS {
        if path == team_members_path(t) {
            let rows = team_users(t).iter().map(|u| team_member(*u)).collect();
            return page(rows, request, None);
        }
    }
    unmatched(request)
}

/// Too few GraphQL points for the nested walk: the two workers.
const LOW_BUDGET: &[(&str, &str)] = &[("RateLimit-Remaining", "3"), ("RateLimit-Reset", "30")];
/// Points for anything: the nested walk.
const HUGE_BUDGET: &[(&str, &str)] = &[
    ("RateLimit-Remaining", "1000000000000"),
    ("RateLimit-Reset", "30"),
];

fn org_size(headers: &[(&str, &str)]) -> Reply {
    headers.iter().fold(
        Reply::json(
            200,
            &json!({ "data": { "organization": { "members": { "count": USERS } } } }),
        ),
        |reply, (name, value)| reply.header(name, value),
    )
}

fn team_sizes() -> Reply {
    let edges: Vec<Value> = TEAM_IDS
        .map(|t| {
            json!({ "node": { "uuid": uuid(t), "slug": format!("team-{t}"),
                "name": format!("Team {t}"), "members": { "count": team_users(t).len() } } })
        })
        .to_vec();
    Reply::json(
        200,
        &json!({ "data": { "organization": { "teams": {
            "pageInfo": { "hasNextPage": false, "endCursor": null }, "edges": edges,
        } } } }),
    )
}

fn team_member_edge(u: u64) -> Value {
    json!({ "node": { "role": "MEMBER", "createdAt": "2022-01-01T00:00:00Z",
                      "user": { "uuid": uuid(u) } } })
}

fn team_members(count: u64, users: &[u64], has_next: bool) -> Reply {
    let edges: Vec<Value> = users.iter().map(|u| team_member_edge(*u)).collect();
    Reply::json(
        200,
        &json!({ "data": { "team": { "members": {
            "count": count, "pageInfo": { "hasNextPage": has_next }, "edges": edges,
        } } } }),
    )
}

fn asked_team(request: &Request) -> Option<u64> {
    let slug = request.variable("slug")?;
    slug.as_str()?
        .strip_prefix(&format!("{ORG}/team-"))?
        .parse()
        .ok()
}

fn honest_team_members(request: &Request) -> Reply {
    let users = asked_team(request).map_or(&[][..], team_users);
    team_members(users.len() as u64, users, false)
}

fn lite_member(n: u64) -> Value {
    json!({
        "id": format!("T3JnTWVtYmVyLS0t{n}"), "uuid": uuid(1000 + n), "role": "MEMBER",
        "createdAt": "2021-06-01T09:12:44Z", "lastSeenAt": null,
        "security": { "twoFactorEnabled": true, "passwordProtected": true },
        "user": {
            "id": format!("VXNlci0tLT{n}"), "uuid": uuid(n), "name": format!("User {n}"),
            "email": format!("u{n}@acme.example"), "avatar": { "url": null },
            "bot": false, "machineUser": false,
        },
    })
}

fn members(nodes: Vec<Value>, has_next: bool, end: Option<&str>) -> Reply {
    let edges: Vec<Value> = nodes
        .into_iter()
        .map(|node| json!({ "cursor": "x", "node": node }))
        .collect();
    Reply::json(
        200,
        &json!({ "data": { "organization": { "members": {
            "count": USERS,
            "pageInfo": { "hasNextPage": has_next, "hasPreviousPage": false,
                          "startCursor": null, "endCursor": end },
            "edges": edges,
        } } } }),
    )
}

/// `UnidirMembers` nodes (the nested walk) for `users`, with their teams.
fn nested(users: impl Iterator<Item = u64>) -> Vec<Value> {
    users
        .map(|u| {
            let edges: Vec<Value> = TEAM_IDS
                .into_iter()
                .filter(|t| team_users(*t).contains(&u))
                .map(|t| json!({ "node": { "role": "MEMBER", "createdAt": "2022-01-01T00:00:00Z",
                    "team": { "uuid": uuid(t), "slug": format!("team-{t}"), "name": format!("Team {t}") } } }))
                .collect();
            let mut node = lite_member(u);
            node["teams"] = json!({ "count": edges.len(),
                "pageInfo": { "hasNextPage": false, "endCursor": null }, "edges": edges });
            node
        })
        .collect()
}

/// The honest organization, with the GraphQL budget `budget` says.
fn honest_with(request: &Request, budget: &[(&str, &str)]) -> Reply {
    match request.operation().as_deref() {
        Some("UnidirOrgSize") => org_size(budget),
        Some("UnidirTeamSizes") => team_sizes(),
        Some("UnidirTeamMembers") => honest_team_members(request),
        Some("UnidirMembersLite") => members((1..=USERS).map(lite_member).collect(), false, None),
        Some("UnidirMembers") => members(nested(1..=USERS), false, None),
        Some(_) => unmatched(request),
        None => rest(request),
    }
}

fn honest(request: &Request) -> Reply {
    honest_with(request, LOW_BUDGET)
}

/// The honest organization except where `lie` answers.
fn lying(
    lie: impl Fn(&Request) -> Option<Reply> + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |request: &Request| lie(request).unwrap_or_else(|| honest(request))
}

/// Holds REST's read of team 1 until GraphQL has asked for team 3, so GraphQL reads team 3
/// in every run (bounded, so a planner that never asks still ends).
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        changed.notify_all();
    }

    fn wait(&self) {
        let (open, changed) = &*self.0;
        let guard = open.lock().unwrap_or_else(|e| e.into_inner());
        tokio::task::block_in_place(|| {
            let _ = changed
                .wait_timeout_while(guard, Duration::from_secs(5), |open| !*open)
                .unwrap_or_else(|e| e.into_inner());
        });
    }
}

/// Team 3's GraphQL members as `reply` says (GraphQL reads team 3, see [`Gate`]).
fn team3_says(
    reply: impl Fn() -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    let gate = Gate::default();
    let handler = lying(move |request| {
        (request.operation().as_deref() == Some("UnidirTeamMembers")
            && asked_team(request) == Some(3))
        .then(&reply)
    });
    move |request: &Request| {
        if request.operation().as_deref() == Some("UnidirTeamMembers")
            && asked_team(request) == Some(3)
        {
            gate.open();
        }
        if request.path() == team_members_path(1) {
            gate.wait();
        }
        handler(request)
    }
}

async fn read(bk: &Buildkite, detail: Detail) -> Result<Vec<User>, Error> {
    bounded(
        bk.users(ListQuery::new().with_detail(detail))
            .try_collect::<Vec<User>>(),
    )
    .await
}

/// Reads once at `detail` and checks the users are exactly the organization's; returns them.
async fn read_exactly(s: &mut Scenario, detail: Detail, label: &str) -> Vec<User> {
    let bk = s.directory();
    let result = read(&bk, detail).await;
    let users = s.succeeds(result);
    assert_eq!(memberships(&users), expected(), "{label} at {detail:?}");
    users
}

fn reports(s: &Scenario) -> Vec<Report> {
    s.observer.reports()
}

/// The report of `kind`, which must exist (with `count` when given).
fn reported(s: &Scenario, kind: ReportKind, count: Option<u64>, label: &str) -> Report {
    let all = reports(s);
    all.iter()
        .find(|r| r.kind == kind && count.is_none_or(|c| r.count == c))
        .cloned()
        .unwrap_or_else(|| panic!("{label}: no {kind:?} report (count {count:?}) in {all:?}"))
}

fn graphql_sent(s: &Scenario) -> usize {
    s.server
        .requests()
        .iter()
        .filter(|r| r.operation().is_some())
        .count()
}

/// Every GraphQL request answered with `reply` (REST honest).
fn graphql_says(
    reply: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |request: &Request| match request.operation() {
        Some(_) => reply(request),
        None => rest(request),
    }
}

// ---------------------------------------------------------------------------------------
// A2: GraphQL refused (the token's scopes list `graphql`)
// ---------------------------------------------------------------------------------------

/// A 403 from GraphQL, or a 200 saying GraphQL is not enabled: the read is REST's, complete;
/// with `Full` the GraphQL-only fields are reported unknown for every user; and the
/// directory uses REST for good (a second read sends no GraphQL at all).
#[tokio::test]
async fn graphql_refused_reads_everything_over_rest_for_good() {
    let refusals: Vec<(&str, Handler)> = vec![
        ("403", |_| {
            Reply::json(403, &json!({ "message": "Forbidden" }))
        }),
        ("200 not enabled", |_| {
            Reply::json(
                200,
                &json!({ "errors": [{ "message": "GraphQL access is not enabled for this organization" }] }),
            )
        }),
    ];
    for (label, refusal) in refusals {
        for detail in DETAILS {
            let mut s = Scenario::start(graphql_says(refusal)).await;
            let bk = s.directory();
            let result = read(&bk, detail).await;
            let users = s.succeeds(result);
            assert_eq!(memberships(&users), expected(), "{label} at {detail:?}");
            let adapted = reported(&s, ReportKind::Adapted, None, label);
            assert!(adapted.message.contains("REST"), "{adapted:?}");
            if detail == Detail::Full {
                reported(&s, ReportKind::FieldsUnknown, Some(USERS), label);
                assert!(users.iter().all(|u| u.is_2fa_enabled.is_none()));
            }
            let sent = graphql_sent(&s);
            let again = read(&bk, detail).await;
            let again = s.succeeds(again);
            assert_eq!(memberships(&again), expected(), "{label}: second read");
            assert_eq!(graphql_sent(&s), sent, "{label}: REST for good");
            s.finish();
        }
    }
}

// ---------------------------------------------------------------------------------------
// A2, A3: budgets that say "later"
// ---------------------------------------------------------------------------------------

type Handler = fn(&Request) -> Reply;

/// The probe says no points are left for a day, on a 200: advice, not an order. Nothing
/// waits a day and nothing fails; GraphQL answers, so even `Full` has every field.
#[tokio::test]
async fn a_probe_saying_no_points_for_a_day_neither_fails_nor_waits() {
    for detail in DETAILS {
        let mut s = Scenario::start(|request: &Request| {
            honest_with(
                request,
                &[("RateLimit-Remaining", "0"), ("RateLimit-Reset", "86400")],
            )
        })
        .await;
        let users = read_exactly(&mut s, detail, "0 points for a day").await;
        assert!(s.sleeper.longest() <= Duration::from_secs(65));
        if detail == Detail::Full {
            assert!(users.iter().all(|u| u.is_2fa_enabled.is_some()));
        }
        s.finish();
    }
}

/// The probe answers, then every later GraphQL request is a 429 asking for a day (or a storm
/// of short 429s that never ends): REST finishes the read without waiting for GraphQL, and
/// it says so; with `Full`, the fields GraphQL could not give are reported unknown.
#[tokio::test]
async fn graphql_throttled_after_the_probe_leaves_the_read_to_rest() {
    let storms: Vec<(&str, Handler)> = vec![
        ("a day", |r| match r.operation().as_deref() {
            Some("UnidirOrgSize") => org_size(LOW_BUDGET),
            _ => Reply::json(429, &json!({})).header("Retry-After", "86400"),
        }),
        ("a storm", |r| match r.operation().as_deref() {
            Some("UnidirOrgSize") => org_size(LOW_BUDGET),
            _ => Reply::json(429, &json!({})).header("Retry-After", "1"),
        }),
        ("a storm from the probe on", |_| {
            Reply::json(429, &json!({})).header("Retry-After", "1")
        }),
    ];
    for (label, storm) in storms {
        for detail in DETAILS {
            let mut s = Scenario::start(graphql_says(storm)).await;
            read_exactly(&mut s, detail, label).await;
            assert!(s.sleeper.longest() <= Duration::from_secs(65), "{label}");
            let adapted = reported(&s, ReportKind::Adapted, None, label);
            assert!(adapted.message.contains("rate limited"), "{adapted:?}");
            if detail == Detail::Full {
                reported(&s, ReportKind::FieldsUnknown, Some(USERS), label);
            }
            s.finish();
        }
    }
}

/// GraphQL lists the teams for `Essential`; when that fails, REST lists them.
#[tokio::test]
async fn team_sizes_throttled_are_listed_by_rest() {
    for detail in DETAILS {
        let mut s = Scenario::start(lying(|r| {
            (r.operation().as_deref() == Some("UnidirTeamSizes"))
                .then(|| Reply::json(429, &json!({})).header("Retry-After", "86400"))
        }))
        .await;
        read_exactly(&mut s, detail, "team sizes throttled").await;
        if detail == Detail::Essential {
            assert_eq!(s.server.hits(TEAMS), 1, "REST listed the teams");
            reported(&s, ReportKind::Adapted, None, "team sizes");
        }
        s.finish();
    }
}

/// The nested walk (a budget for everything) refused on its first page, or throttled on its
/// second: REST reads the rest, and no user comes twice.
#[tokio::test]
async fn a_nested_walk_that_fails_is_finished_by_rest() {
    let cases: Vec<(&str, Handler, u64)> = vec![
        (
            "refused on page 1",
            |r| match r.operation().as_deref() {
                Some("UnidirMembers") => Reply::json(403, &json!({ "message": "Forbidden" })),
                _ => honest_with(r, HUGE_BUDGET),
            },
            USERS,
        ),
        (
            "throttled on page 2",
            |r| match r.operation().as_deref() {
                Some("UnidirMembers") if r.variable("after").is_some_and(|a| !a.is_null()) => {
                    Reply::json(429, &json!({})).header("Retry-After", "86400")
                }
                Some("UnidirMembers") => members(nested(1..=2), true, Some("p1")),
                _ => honest_with(r, HUGE_BUDGET),
            },
            USERS - 2,
        ),
    ];
    for (label, handler, from_rest) in cases {
        for detail in DETAILS {
            let mut s = Scenario::start(handler).await;
            let users = read_exactly(&mut s, detail, label).await;
            reported(&s, ReportKind::Adapted, None, label);
            if detail == Detail::Full {
                reported(&s, ReportKind::FieldsUnknown, Some(from_rest), label);
                let known = users.iter().filter(|u| u.is_2fa_enabled.is_some()).count();
                assert_eq!(known as u64, USERS - from_rest, "{label}");
            }
            s.finish();
        }
    }
}

/// `Full`: GraphQL's member pages refused after the first: the members it did not list come
/// from REST, reported with their unknown fields.
#[tokio::test]
async fn member_pages_refused_midway_are_finished_by_rest() {
    for detail in DETAILS {
        let mut s = Scenario::start(lying(|r| {
            (r.operation().as_deref() == Some("UnidirMembersLite")).then(|| {
                if r.variable("after").is_some_and(|a| !a.is_null()) {
                    Reply::json(403, &json!({ "message": "Forbidden" }))
                } else {
                    members((1..=2).map(lite_member).collect(), true, Some("p1"))
                }
            })
        }))
        .await;
        read_exactly(&mut s, detail, "member pages refused").await;
        if detail == Detail::Full {
            reported(&s, ReportKind::FieldsUnknown, Some(USERS - 2), "lite");
            reported(&s, ReportKind::Adapted, None, "lite");
        }
        s.finish();
    }
}

// ---------------------------------------------------------------------------------------
// A2: one team GraphQL cannot read
// ---------------------------------------------------------------------------------------

/// `team: null`, an error naming the slug, a 500: REST reads that team, once, and the read
/// says how many teams it handed over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_graphql_cannot_read_is_read_by_rest() {
    let cases: Vec<(&str, Answer)> = vec![
        ("team null", || {
            Reply::json(200, &json!({ "data": { "team": null } }))
        }),
        ("no team found", || {
            Reply::json(
                200,
                &json!({ "data": null, "errors": [{ "message": "No team found with slug acme-inc/team-3" }] }),
            )
        }),
        ("an error for the slug", || {
            Reply::json(
                200,
                &json!({ "data": null, "errors": [{ "message": "Something went wrong" }] }),
            )
        }),
        ("a 500", || Reply::json(500, &json!({ "message": "oops" }))),
    ];
    for (label, answer) in cases {
        for detail in DETAILS {
            let mut s = Scenario::start(team3_says(answer)).await;
            read_exactly(&mut s, detail, label).await;
            assert_eq!(s.server.hits(&team_members_path(3)), 1, "{label}");
            reported(&s, ReportKind::Adapted, Some(1), label);
            s.finish();
        }
    }
}

type Answer = fn() -> Reply;

// ---------------------------------------------------------------------------------------
// A4: counts are hints, pages are the truth
// ---------------------------------------------------------------------------------------

/// A count that lies low on a page that says more follow: REST reads the team (before, the
/// count made GraphQL's empty page the whole team, and user 4 lost team 3 silently).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_count_that_lies_low_loses_no_membership() {
    for detail in DETAILS {
        let mut s = Scenario::start(team3_says(|| team_members(0, &[], true))).await;
        read_exactly(&mut s, detail, "count 0, next page").await;
        assert_eq!(s.server.hits(&team_members_path(3)), 1);
        s.finish();
    }
}

/// A count that disagrees with a complete page: the edges are the members; the disagreement
/// is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_count_that_disagrees_with_the_page_is_reported() {
    for detail in DETAILS {
        let mut s = Scenario::start(team3_says(|| team_members(7, &[4], false))).await;
        read_exactly(&mut s, detail, "count 7, one edge").await;
        assert_eq!(
            s.server.hits(&team_members_path(3)),
            0,
            "GraphQL's page is whole"
        );
        reported(&s, ReportKind::Disagreement, Some(1), "count");
        s.finish();
    }
}

// ---------------------------------------------------------------------------------------
// B6: nothing dropped without a word
// ---------------------------------------------------------------------------------------

/// Team 1 lists user 6 (over REST and GraphQL), whom no member list holds: an orphan membership, reported.
#[tokio::test]
async fn a_team_member_no_member_list_holds_is_reported_as_an_orphan() {
    for detail in DETAILS {
        let mut s = Scenario::start(|r: &Request| {
            // Whichever side reads team 1 says so.
            if r.path() == team_members_path(1) {
                let rows = [1, 2, 6].iter().map(|u| team_member(*u)).collect();
                return page(rows, r, None);
            }
            if r.operation().as_deref() == Some("UnidirTeamMembers") && asked_team(r) == Some(1) {
                return team_members(3, &[1, 2, 6], false);
            }
            honest(r)
        })
        .await;
        read_exactly(&mut s, detail, "orphan").await;
        reported(&s, ReportKind::Orphans, Some(1), "orphan");
        s.finish();
    }
}

/// User 7 only GraphQL lists (its member pages and team 3): `Full` gives them, with the SSO
/// mode REST did not give reported unknown; `Essential` (users from REST's member pages)
/// reports their membership as an orphan instead of dropping it silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_only_graphql_lists_is_reported_at_both_details() {
    for detail in DETAILS {
        let gate = Gate::default();
        let mut s = Scenario::start(move |r: &Request| match r.operation().as_deref() {
            Some("UnidirMembersLite") => members(
                (1..=USERS).chain([7]).map(lite_member).collect(),
                false,
                None,
            ),
            Some("UnidirTeamMembers") if asked_team(r) == Some(3) => {
                gate.open();
                team_members(2, &[4, 7], false)
            }
            _ => {
                if r.path() == team_members_path(1) {
                    gate.wait();
                }
                honest(r)
            }
        })
        .await;
        let bk = s.directory();
        let result = read(&bk, detail).await;
        let users = s.succeeds(result);
        let mut want = expected();
        if detail == Detail::Full {
            want.push((uuid(7), vec![uuid(3)]));
            want.sort();
            assert_eq!(memberships(&users), want);
            reported(&s, ReportKind::FieldsUnknown, Some(1), "GraphQL-only, full");
        } else {
            assert_eq!(memberships(&users), want);
            reported(&s, ReportKind::Orphans, Some(1), "GraphQL-only, essential");
        }
        s.finish();
    }
}

/// A membership team 1's pages list twice (either side) and a member GraphQL's pages list twice: each kept once,
/// and the repeats counted.
#[tokio::test]
async fn repeats_inside_the_full_read_are_counted() {
    for detail in DETAILS {
        let mut s = Scenario::start(|r: &Request| {
            // Whichever side reads team 1 says so.
            if r.path() == team_members_path(1) {
                let rows = [1, 2, 1].iter().map(|u| team_member(*u)).collect();
                return page(rows, r, None);
            }
            if r.operation().as_deref() == Some("UnidirTeamMembers") && asked_team(r) == Some(1) {
                return team_members(2, &[1, 2, 1], false);
            }
            if r.operation().as_deref() == Some("UnidirMembersLite") {
                let nodes = (1..=USERS).chain([2]).map(lite_member).collect();
                return members(nodes, false, None);
            }
            honest(r)
        })
        .await;
        read_exactly(&mut s, detail, "repeats").await;
        // One membership at both details; one member more at `Full`, whose pages it reads.
        let want = if detail == Detail::Full { 2 } else { 1 };
        reported(&s, ReportKind::Repeats, Some(want), "repeats");
        s.finish();
    }
}

/// REST's team list repeats a team on its second page (REST lists the teams at `Full`, and
/// whenever GraphQL cannot): the team is read once and the repeat reported, not only logged.
#[tokio::test]
async fn a_team_rest_lists_twice_is_reported() {
    for detail in DETAILS {
        let mut s = Scenario::start(|r: &Request| {
            if r.operation().as_deref() == Some("UnidirTeamSizes") {
                return Reply::json(403, &json!({ "message": "Forbidden" }));
            }
            if r.path() == TEAMS {
                return match r.page() {
                    1 => page(TEAM_IDS.map(team).to_vec(), r, Some(2)),
                    _ => page(vec![team(1)], r, None),
                };
            }
            honest(r)
        })
        .await;
        read_exactly(&mut s, detail, "team listed twice").await;
        reported(&s, ReportKind::Repeats, Some(1), "team list");
        s.finish();
    }
}

/// Team 1 lists user 1 twice, as a member and then as a maintainer (over REST or GraphQL,
/// whichever reads it): one rule decides, the first listed, and the disagreement is
/// reported.
#[tokio::test]
async fn a_membership_listed_twice_with_two_roles_keeps_the_first_and_says_so() {
    for detail in DETAILS {
        let mut s = Scenario::start(|r: &Request| {
            if r.path() == team_members_path(1) {
                let mut twice = team_member(1);
                twice["role"] = json!("maintainer");
                let rows = vec![team_member(1), team_member(2), twice];
                return page(rows, r, None);
            }
            if r.operation().as_deref() == Some("UnidirTeamMembers") && asked_team(r) == Some(1) {
                let mut edges: Vec<Value> = [1, 2].iter().map(|u| team_member_edge(*u)).collect();
                let mut twice = team_member_edge(1);
                twice["node"]["role"] = json!("MAINTAINER");
                edges.push(twice);
                return Reply::json(
                    200,
                    &json!({ "data": { "team": { "members": {
                        "count": 2, "pageInfo": { "hasNextPage": false }, "edges": edges,
                    } } } }),
                );
            }
            honest(r)
        })
        .await;
        let users = read_exactly(&mut s, detail, "two roles").await;
        let user1 = users.iter().find(|u| u.id == uuid(1)).expect("user 1");
        assert_eq!(user1.groups[0].role_id.as_deref(), Some("team:member"));
        reported(&s, ReportKind::Disagreement, Some(1), "two roles");
        s.finish();
    }
}

/// A team page without `pageInfo` cannot say it is the last: REST reads the team, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_page_without_page_info_is_read_by_rest() {
    for detail in DETAILS {
        let mut s = Scenario::start(team3_says(|| {
            Reply::json(
                200,
                &json!({ "data": { "team": { "members": { "count": 1,
                    "edges": [team_member_edge(4)] } } } }),
            )
        }))
        .await;
        read_exactly(&mut s, detail, "no pageInfo").await;
        assert_eq!(s.server.hits(&team_members_path(3)), 1);
        s.finish();
    }
}
