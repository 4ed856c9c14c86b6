//! The hostile upstream suite for the Buildkite adapter's planned full read
//! (`DirectoryExt::users` of an unfiltered query, see `full_read/mod.rs`): the four queries
//! only the planner sends — `UnidirOrgSize`, `UnidirTeamSizes`, `UnidirTeamMembers` and
//! `UnidirMembersLite` — answered with lies.
//!
//! Every scenario ends within the harness bound with exactly the organization's users, each
//! once with exactly its teams, or with a typed, bounded error; and, as in `hostile.rs`, no
//! request leaves the configured origin and the token shows up nowhere.
//!
//! The plan is forced to the two workers (not the nested walk) by answering `UnidirOrgSize`
//! with a GraphQL budget of 3 points left: too few for the members with nested teams.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use serde_json::{Value, json};
use unidir_core::{Detail, DirectoryExt, Error, ErrorKind, ListQuery, User};
use unidir_http::ReportKind;
use unidir_http::testing::hostile::{Reply, Request};

mod support;
use support::*;

// ---------------------------------------------------------------------------------------
// The organization: users 1–5; team 1 has users 1 and 2, team 2 user 3, team 3 user 4;
// user 5 is in no team.
// ---------------------------------------------------------------------------------------

const USERS: u64 = 5;
const TEAM_IDS: [u64; 3] = [1, 2, 3];

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

/// Every user's id with its team ids, sorted: what every completed read must return.
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

/// The users' ids and team ids, sorted; no user may come twice.
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

/// The honest REST side.
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

/// `UnidirOrgSize` with `count` and the given rate-limit headers.
fn org_size_with(count: Value, headers: &[(&str, &str)]) -> Reply {
    let reply = Reply::json(
        200,
        &json!({ "data": { "organization": { "members": { "count": count } } } }),
    );
    headers
        .iter()
        .fold(reply, |reply, (name, value)| reply.header(name, value))
}

/// A budget of 3 points for 30 s: too little for the nested walk.
const LOW_BUDGET: &[(&str, &str)] = &[("RateLimit-Remaining", "3"), ("RateLimit-Reset", "30")];

fn org_size(count: Value) -> Reply {
    org_size_with(count, LOW_BUDGET)
}

/// A `UnidirTeamSizes` node.
fn sized_team(team: u64, count: Value) -> Value {
    json!({ "uuid": uuid(team), "slug": format!("team-{team}"), "name": format!("Team {team}"),
            "members": { "count": count } })
}

fn honest_sizes() -> Vec<Value> {
    TEAM_IDS
        .map(|t| sized_team(t, json!(team_users(t).len())))
        .to_vec()
}

/// A `UnidirTeamSizes` page of `edges` (each `{ "node": ... }` unless given otherwise).
fn team_sizes_raw(edges: Value, has_next: bool, end: Option<&str>) -> Reply {
    Reply::json(
        200,
        &json!({ "data": { "organization": { "teams": {
            "pageInfo": { "hasNextPage": has_next, "endCursor": end },
            "edges": edges,
        } } } }),
    )
}

fn team_sizes(nodes: Vec<Value>, has_next: bool, end: Option<&str>) -> Reply {
    let edges = nodes.into_iter().map(|n| json!({ "node": n })).collect();
    team_sizes_raw(Value::Array(edges), has_next, end)
}

/// A `UnidirTeamMembers` edge for user `u`.
fn team_member_edge(u: u64, role: Value) -> Value {
    json!({ "node": { "role": role, "createdAt": "2022-01-01T00:00:00Z",
                      "user": { "uuid": uuid(u) } } })
}

fn team_members(count: Value, edges: Vec<Value>) -> Reply {
    team_members_paged(count, edges, false)
}

/// A `UnidirTeamMembers` answer whose `pageInfo` says whether more pages follow.
fn team_members_paged(count: Value, edges: Vec<Value>, has_next: bool) -> Reply {
    Reply::json(
        200,
        &json!({ "data": { "team": { "members": {
            "count": count, "pageInfo": { "hasNextPage": has_next }, "edges": edges,
        } } } }),
    )
}

/// The team `UnidirTeamMembers` asks for (its `slug` variable is `org/team-N`).
fn asked_team(request: &Request) -> Option<u64> {
    let slug = request.variable("slug")?;
    slug.as_str()?
        .strip_prefix(&format!("{ORG}/team-"))?
        .parse()
        .ok()
}

fn honest_team_members(request: &Request) -> Reply {
    let users = asked_team(request).map_or(&[][..], team_users);
    let edges = users
        .iter()
        .map(|u| team_member_edge(*u, json!("MEMBER")))
        .collect();
    team_members(json!(users.len()), edges)
}

/// A `UnidirMembersLite` node for user `n` (no teams).
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

/// A members page (`UnidirMembersLite`, or `UnidirMembers` when the nodes carry teams).
fn members_raw(edges: Value, has_next: bool, end: Option<&str>) -> Reply {
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

fn members(nodes: Vec<Value>, has_next: bool, end: Option<&str>) -> Reply {
    let edges = nodes
        .into_iter()
        .map(|node| json!({ "cursor": "x", "node": node }))
        .collect();
    members_raw(Value::Array(edges), has_next, end)
}

/// `UnidirMembers` (the nested walk): every member with its teams, one page.
fn nested_members() -> Reply {
    let nodes = (1..=USERS)
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
        .collect();
    members(nodes, false, None)
}

/// The honest organization, every request answered truthfully.
fn honest(request: &Request) -> Reply {
    match request.operation().as_deref() {
        Some("UnidirOrgSize") => org_size(json!(USERS)),
        Some("UnidirTeamSizes") => team_sizes(honest_sizes(), false, None),
        Some("UnidirTeamMembers") => honest_team_members(request),
        Some("UnidirMembersLite") => members((1..=USERS).map(lite_member).collect(), false, None),
        Some("UnidirMembers") => nested_members(),
        Some(_) => unmatched(request),
        None => rest(request),
    }
}

/// The honest organization except where `lie` answers (`None`: the truth).
fn lying(
    lie: impl Fn(&Request) -> Option<Reply> + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    move |request: &Request| lie(request).unwrap_or_else(|| honest(request))
}

/// `lie` for the operation named `operation`, the truth elsewhere.
fn lie_to(
    operation: &'static str,
    lie: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    lying(move |request| (request.operation().as_deref() == Some(operation)).then(|| lie(request)))
}

/// Holds REST's read of team 1 (the largest: REST's first) until GraphQL has asked for
/// team 3 (the smallest: GraphQL's first), so GraphQL reads team 3 in every run, not only
/// when it wins the race. The wait is bounded, so a planner that never asks still ends.
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
        // Blocks this server thread only; the runtime moves its other tasks elsewhere.
        tokio::task::block_in_place(|| {
            let _ = changed
                .wait_timeout_while(guard, Duration::from_secs(5), |open| !*open)
                .unwrap_or_else(|e| e.into_inner());
        });
    }
}

/// `handler` with team 3 handed to GraphQL (see [`Gate`]); needs a multi-thread runtime.
fn gated(
    handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    let gate = Gate::default();
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

/// The planned full read at `detail`, within the bound.
async fn full_read(s: &Scenario, detail: Detail) -> Result<Vec<User>, Error> {
    let bk = s.directory();
    bounded(
        bk.users(ListQuery::new().with_detail(detail))
            .try_collect::<Vec<User>>(),
    )
    .await
}

/// The GraphQL operations sent, in order.
fn operations(s: &Scenario) -> Vec<String> {
    s.server
        .requests()
        .iter()
        .filter_map(Request::operation)
        .collect()
}

/// Requests of `operation` for team `team`.
fn asked(s: &Scenario, operation: &str, team: u64) -> usize {
    s.server
        .requests()
        .iter()
        .filter(|r| r.operation().as_deref() == Some(operation) && asked_team(r) == Some(team))
        .count()
}

/// The read used the two workers: it asked for the size, and never for the nested walk.
fn assert_two_workers(s: &Scenario) {
    let ops = operations(s);
    assert_eq!(
        ops.first().map(String::as_str),
        Some("UnidirOrgSize"),
        "{ops:?}"
    );
    assert!(!ops.iter().any(|o| o == "UnidirMembers"), "{ops:?}");
}

/// The read completed with exactly the organization's users and teams.
fn assert_exact(s: &mut Scenario, result: Result<Vec<User>, Error>) {
    let users = s.succeeds(result);
    assert_eq!(memberships(&users), expected());
}

/// Response headers, as (name, value).
type Headers = Vec<(&'static str, &'static str)>;
/// A fixed answer.
type Answer = fn() -> Reply;
/// An answer to a request.
type Handler = fn(&Request) -> Reply;

/// What a scenario must end with.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Exactly the organization's users.
    Exact,
    /// A typed error of this kind.
    Fails(ErrorKind),
}
use Outcome::{Exact, Fails};

const CONTRACT: Outcome = Fails(ErrorKind::ContractViolation);

fn assert_outcome(
    s: &mut Scenario,
    label: &str,
    result: Result<Vec<User>, Error>,
    outcome: Outcome,
) {
    match outcome {
        Exact => {
            s.see(&result);
            let users = result.unwrap_or_else(|e| panic!("{label}: expected the users, got {e}"));
            assert_eq!(memberships(&users), expected(), "{label}");
        }
        Fails(kind) => {
            let error = s.fails(result, kind);
            assert!(!error.message().is_empty(), "{label}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// The honest organization: the baseline every lie is measured against
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_honest_organization_reads_exactly_at_both_details() {
    for detail in [Detail::Essential, Detail::Full] {
        let mut s = Scenario::start(gated(honest)).await;
        let result = full_read(&s, detail).await;
        assert_exact(&mut s, result);
        assert_two_workers(&s);
        let ops = operations(&s);
        let lists = ops.iter().any(|o| o == "UnidirTeamSizes");
        let lite = ops.iter().any(|o| o == "UnidirMembersLite");
        assert_eq!(lists, detail == Detail::Essential, "{detail:?}: {ops:?}");
        assert_eq!(lite, detail == Detail::Full, "{detail:?}: {ops:?}");
        // The gate hands team 3 to GraphQL, and REST never reads it too.
        assert_eq!(asked(&s, "UnidirTeamMembers", 3), 1, "{detail:?}");
        assert_eq!(s.server.hits(&team_members_path(3)), 0, "{detail:?}");
        // Exactly one member walk: REST's member list once (its one page), and for `Full`
        // GraphQL's once; no second walk for leftovers or the join.
        assert_eq!(s.server.hits(MEMBERS), 1, "{detail:?}: {ops:?}");
        let lite_pages = ops.iter().filter(|o| *o == "UnidirMembersLite").count();
        assert_eq!(
            lite_pages,
            usize::from(detail == Detail::Full),
            "{detail:?}"
        );
        // And every team's members once: by REST or by GraphQL, never both, never twice.
        for t in TEAM_IDS {
            let reads = asked(&s, "UnidirTeamMembers", t) + s.server.hits(&team_members_path(t));
            assert_eq!(reads, 1, "{detail:?}: team {t}");
        }
        s.finish();
    }
}

// ---------------------------------------------------------------------------------------
// UnidirOrgSize: the count and the budget headers that choose the plan
// ---------------------------------------------------------------------------------------

/// A count that is not a count is the provider's contract violation; a huge one only
/// means the nested walk does not fit (no overflow).
#[tokio::test]
async fn org_size_counts_that_are_not_counts_are_refused_and_huge_ones_plan_sanely() {
    let cases: Vec<(&str, Value, Outcome)> = vec![
        (
            "count absent",
            json!({ "organization": { "members": {} } }),
            CONTRACT,
        ),
        ("members absent", json!({ "organization": {} }), CONTRACT),
        // As every other members query says it: the slug names no organization.
        (
            "organization null",
            json!({ "organization": null }),
            Fails(ErrorKind::NotFound),
        ),
        ("count null", count_data(json!(null)), CONTRACT),
        ("count negative", count_data(json!(-1)), CONTRACT),
        ("count a string", count_data(json!("5")), CONTRACT),
        ("count 1e30", count_data(json!(1e30)), CONTRACT),
        ("count a fraction", count_data(json!(4.5)), CONTRACT),
        ("count u64::MAX", count_data(json!(u64::MAX)), Exact),
        ("count 0", count_data(json!(0)), Exact),
    ];
    for (label, data, outcome) in cases {
        for budget in [LOW_BUDGET, HUGE_BUDGET] {
            let reply_data = data.clone();
            let mut s = Scenario::start(lie_to("UnidirOrgSize", move |_| {
                org_size_raw(&reply_data, budget)
            }))
            .await;
            let result = full_read(&s, Detail::Essential).await;
            let label = format!("{label} with {budget:?}");
            assert_outcome(&mut s, &label, result, outcome);
            let ops = operations(&s);
            if label.starts_with("count u64::MAX") {
                // 20 points × u64::MAX saturates: never within any budget.
                assert!(
                    !ops.iter().any(|o| o == "UnidirMembers"),
                    "{label}: {ops:?}"
                );
            }
            s.finish();
        }
    }
}

fn count_data(count: Value) -> Value {
    json!({ "organization": { "members": { "count": count } } })
}

fn org_size_raw(data: &Value, headers: &[(&str, &str)]) -> Reply {
    headers.iter().fold(
        Reply::json(200, &json!({ "data": data })),
        |reply, (name, value)| reply.header(name, value),
    )
}

/// The largest budget the header reader believes (10^12 points).
const HUGE_BUDGET: &[(&str, &str)] = &[
    ("RateLimit-Remaining", "1000000000000"),
    ("RateLimit-Reset", "30"),
];

/// Budget headers that are absent, garbage, negative or beyond belief say nothing: the two
/// workers, exactly the users. Only a believable budget that covers the nested walk picks it.
#[tokio::test]
async fn org_size_budget_headers_absent_garbage_or_huge_keep_the_plan_sane() {
    // (label, headers, whether the nested walk fits)
    let cases: Vec<(&str, Headers, bool)> = vec![
        ("absent", vec![], false),
        (
            "garbage",
            vec![("RateLimit-Remaining", "lots"), ("RateLimit-Reset", "soon")],
            false,
        ),
        (
            "negative",
            vec![("RateLimit-Remaining", "-5000"), ("RateLimit-Reset", "30")],
            false,
        ),
        (
            "NaN",
            vec![("RateLimit-Remaining", "NaN"), ("RateLimit-Reset", "30")],
            false,
        ),
        (
            "1e300",
            vec![("RateLimit-Remaining", "1e300"), ("RateLimit-Reset", "30")],
            false,
        ),
        (
            "u64::MAX",
            vec![
                ("RateLimit-Remaining", "18446744073709551615"),
                ("RateLimit-Reset", "30"),
            ],
            false,
        ),
        (
            "beyond u64",
            vec![
                ("RateLimit-Remaining", "99999999999999999999999"),
                ("RateLimit-Reset", "30"),
            ],
            false,
        ),
        ("no reset", vec![("RateLimit-Remaining", "1000000")], false),
        (
            "huge reset",
            vec![
                ("RateLimit-Remaining", "1000000"),
                ("RateLimit-Reset", "1e30"),
            ],
            false,
        ),
        (
            "garbage user budget",
            vec![
                ("RateLimit-User-Remaining", "0x10"),
                ("RateLimit-User-Reset", "-1"),
            ],
            false,
        ),
        (
            "org plenty, user little",
            vec![
                ("RateLimit-Remaining", "1000000"),
                ("RateLimit-Reset", "30"),
                ("RateLimit-User-Remaining", "3"),
                ("RateLimit-User-Reset", "30"),
            ],
            false,
        ),
        (
            "believable plenty",
            vec![
                ("RateLimit-Remaining", "1000000"),
                ("RateLimit-Reset", "30"),
            ],
            true,
        ),
        ("the cap", HUGE_BUDGET.to_vec(), true),
    ];
    for detail in [Detail::Essential, Detail::Full] {
        for (label, headers, nested) in &cases {
            let headers: Vec<(String, String)> = headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect();
            let mut s = Scenario::start(lie_to("UnidirOrgSize", move |_| {
                let pairs: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                org_size_with(json!(USERS), &pairs)
            }))
            .await;
            let result = full_read(&s, detail).await;
            let label = format!("{label} ({detail:?})");
            assert_outcome(&mut s, &label, result, Exact);
            let ops = operations(&s);
            assert_eq!(
                ops.iter().any(|o| o == "UnidirMembers"),
                *nested,
                "{label}: {ops:?}"
            );
            s.finish();
        }
    }
}

/// No GraphQL points left for an hour: waiting is longer than the policy allows, so the
/// read fails at once as rate limited, saying how long; it neither hangs nor sleeps.
#[tokio::test]
async fn an_exhausted_graphql_budget_for_an_hour_is_rate_limited_not_a_hang() {
    let mut s = Scenario::start(lie_to("UnidirOrgSize", |_| {
        org_size_with(
            json!(USERS),
            &[("RateLimit-Remaining", "0"), ("RateLimit-Reset", "3600")],
        )
    }))
    .await;
    let result = full_read(&s, Detail::Essential).await;
    let users_or_error = format!("{result:?}");
    match result {
        Ok(users) => {
            s.see(&Ok::<_, Error>(users.len()));
            assert_eq!(memberships(&users), expected(), "{users_or_error}");
        }
        Err(error) => {
            let error = s.fails(Err::<(), _>(error), ErrorKind::RateLimited);
            assert!(
                error
                    .retry_after()
                    .is_some_and(|d| d <= Duration::from_secs(3600))
            );
        }
    }
    assert!(s.sleeper.longest() <= Duration::from_secs(65));
    s.finish();
}

// ---------------------------------------------------------------------------------------
// UnidirTeamSizes (Detail::Essential: GraphQL lists the teams)
// ---------------------------------------------------------------------------------------

/// A size is only a hint for who reads a team: absurd ones still give exactly the users;
/// one that is not a count is a contract violation.
#[tokio::test]
async fn team_sizes_that_lie_still_give_exactly_the_users() {
    let cases: Vec<(&str, Value, Outcome)> = vec![
        ("u64::MAX", json!(u64::MAX), Exact),
        ("zero", json!(0), Exact),
        ("101 (one page too many)", json!(101), Exact),
        ("negative", json!(-1), CONTRACT),
        ("a string", json!("1"), CONTRACT),
        ("1e30", json!(1e30), CONTRACT),
        ("null", json!(null), CONTRACT),
    ];
    for (label, count, outcome) in cases {
        // Every team claims `count`.
        let mut s = Scenario::start(lie_to("UnidirTeamSizes", move |_| {
            let nodes = TEAM_IDS.map(|t| sized_team(t, count.clone())).to_vec();
            team_sizes(nodes, false, None)
        }))
        .await;
        let result = full_read(&s, Detail::Essential).await;
        assert_outcome(&mut s, label, result, outcome);
        s.finish();
    }
}

/// The same team twice (on one page, and on the next page) is one team: its members are
/// read once and every user has it once.
#[tokio::test]
async fn a_team_listed_twice_is_read_once() {
    let mut s = Scenario::start(lie_to("UnidirTeamSizes", |request| {
        match request
            .variable("after")
            .and_then(|a| a.as_str().map(str::to_owned))
        {
            None => {
                let mut nodes = honest_sizes();
                nodes.push(sized_team(1, json!(2)));
                team_sizes(nodes, true, Some("p1"))
            }
            Some(_) => team_sizes(
                vec![sized_team(1, json!(2)), sized_team(3, json!(1))],
                false,
                Some("p2"),
            ),
        }
    }))
    .await;
    let result = full_read(&s, Detail::Essential).await;
    assert_exact(&mut s, result);
    assert_two_workers(&s);
    for t in TEAM_IDS {
        let reads = asked(&s, "UnidirTeamMembers", t) + s.server.hits(&team_members_path(t));
        assert_eq!(reads, 1, "team {t} is read once");
    }
    s.finish();
}

/// A page that says there is more but hands back the cursor it was given, or no cursor,
/// or pages that cycle: refused or bounded, never an endless walk.
#[tokio::test]
async fn team_size_pages_that_loop_are_refused() {
    type Pager = fn(Option<&str>) -> Reply;
    let cases: Vec<(&str, Pager)> = vec![
        ("same end cursor", |after| {
            team_sizes(honest_sizes(), true, Some(after.unwrap_or("c1")))
        }),
        ("no end cursor", |_| team_sizes(honest_sizes(), true, None)),
        ("a two-page cycle", |after| {
            let next = if after == Some("a") { "b" } else { "a" };
            team_sizes(honest_sizes(), true, Some(next))
        }),
        ("endless distinct cursors", |after| {
            let n: u64 = after.and_then(|a| a.parse().ok()).unwrap_or(0);
            team_sizes(
                vec![sized_team(1, json!(2))],
                true,
                Some(&(n + 1).to_string()),
            )
        }),
    ];
    for (label, pager) in cases {
        let mut s = Scenario::start(lie_to("UnidirTeamSizes", move |request| {
            let after = request.variable("after");
            pager(after.as_ref().and_then(Value::as_str))
        }))
        .await;
        let result = full_read(&s, Detail::Essential).await;
        let error = s.fails(result, ErrorKind::ContractViolation);
        assert!(!error.message().is_empty(), "{label}");
        assert!(
            s.server
                .requests()
                .iter()
                .filter(|r| r.operation().as_deref() == Some("UnidirTeamSizes"))
                .count()
                <= MAX_PAGES as usize + 1,
            "{label}: bounded"
        );
        s.finish();
    }
}

/// Edges that are not an array, an edge without a node, a null edge, a node of the wrong
/// shape, teams absent: contract violations.
#[tokio::test]
async fn team_size_pages_of_the_wrong_shape_are_refused() {
    let cases: Vec<(&str, Value)> = vec![
        (
            "edges an object",
            json!({ "node": sized_team(1, json!(2)) }),
        ),
        ("edges a string", json!("edges")),
        (
            "a null node",
            json!([{ "node": sized_team(1, json!(2)) }, { "node": null }]),
        ),
        ("an edge without node", json!([{}])),
        ("a null edge", json!([null])),
        (
            "a node without uuid",
            json!([{ "node": { "slug": "x", "name": "X", "members": { "count": 1 } } }]),
        ),
        (
            "a node without members",
            json!([{ "node": { "uuid": uuid(1), "slug": "team-1", "name": "Team 1" } }]),
        ),
        (
            "a numeric uuid",
            json!([{ "node": { "uuid": 7, "slug": "team-1", "name": "Team 1", "members": { "count": 1 } } }]),
        ),
    ];
    for (label, edges) in cases {
        let mut s = Scenario::start(lie_to("UnidirTeamSizes", move |_| {
            team_sizes_raw(edges.clone(), false, None)
        }))
        .await;
        let result = full_read(&s, Detail::Essential).await;
        let error = s.fails(result, ErrorKind::ContractViolation);
        assert!(!error.message().is_empty(), "{label}");
        s.finish();
    }
    // No teams connection at all.
    let mut s = Scenario::start(lie_to("UnidirTeamSizes", |_| {
        Reply::json(200, &json!({ "data": { "organization": {} } }))
    }))
    .await;
    let result = full_read(&s, Detail::Essential).await;
    s.fails(result, ErrorKind::ContractViolation);
    s.finish();
}

// ---------------------------------------------------------------------------------------
// UnidirTeamMembers (GraphQL reads team 3: see `Gate`)
// ---------------------------------------------------------------------------------------

/// Team 3's members over GraphQL, as `reply` says, with every other answer honest.
fn team3_says(
    reply: impl Fn() -> Reply + Send + Sync + 'static,
) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    gated(lying(move |request| {
        (request.operation().as_deref() == Some("UnidirTeamMembers")
            && asked_team(request) == Some(3))
        .then(&reply)
    }))
}

/// More edges than `count` says: the edges are the members (each once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_members_with_a_count_below_the_edges_keep_every_edge_once() {
    for detail in [Detail::Essential, Detail::Full] {
        for count in [json!(0), json!(1)] {
            let mut s = Scenario::start(team3_says(move || {
                let edge = team_member_edge(4, json!("MEMBER"));
                team_members(count.clone(), vec![edge.clone(), edge])
            }))
            .await;
            let result = full_read(&s, detail).await;
            assert_exact(&mut s, result);
            assert_eq!(
                s.server.hits(&team_members_path(3)),
                0,
                "{detail:?}: GraphQL read it"
            );
            s.finish();
        }
    }
}

/// More than one page (`pageInfo`, whatever the count says): REST reads the team, once;
/// GraphQL never takes it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_members_with_a_next_page_go_to_rest_once() {
    for detail in [Detail::Essential, Detail::Full] {
        for count in [json!(0), json!(2), json!(1_000_000), json!(u64::MAX)] {
            let label = format!("{detail:?}, count {count}");
            let mut s = Scenario::start(team3_says(move || {
                let edges = vec![team_member_edge(4, json!("MEMBER"))];
                team_members_paged(count.clone(), edges, true)
            }))
            .await;
            let result = full_read(&s, detail).await;
            let users = s.succeeds(result);
            assert_eq!(memberships(&users), expected(), "{label}");
            assert_eq!(
                asked(&s, "UnidirTeamMembers", 3),
                1,
                "{label}: GraphQL asked once"
            );
            assert_eq!(
                s.server.hits(&team_members_path(3)),
                1,
                "{label}: REST read it once"
            );
            s.finish();
        }
    }
}

/// A count that is not a count, a node without a user, an edge without a node, a role of
/// the wrong type: contract violations, not a membership made up or dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_members_of_the_wrong_shape_are_refused() {
    let cases: Vec<(&str, Answer)> = vec![
        ("count negative", || {
            team_members(json!(-1), vec![team_member_edge(4, json!("MEMBER"))])
        }),
        ("count a string", || {
            team_members(json!("1"), vec![team_member_edge(4, json!("MEMBER"))])
        }),
        ("count null", || {
            team_members(json!(null), vec![team_member_edge(4, json!("MEMBER"))])
        }),
        ("count 1e30", || {
            team_members(json!(1e30), vec![team_member_edge(4, json!("MEMBER"))])
        }),
        ("no user", || {
            team_members(
                json!(1),
                vec![json!({ "node": { "role": "MEMBER", "createdAt": null } })],
            )
        }),
        ("a null user", || {
            team_members(
                json!(1),
                vec![json!({ "node": { "role": "MEMBER", "createdAt": null, "user": null } })],
            )
        }),
        ("a null node", || {
            team_members(json!(1), vec![json!({ "node": null })])
        }),
        ("a numeric role", || {
            team_members(json!(1), vec![team_member_edge(4, json!(7))])
        }),
        ("a null role", || {
            team_members(json!(1), vec![team_member_edge(4, json!(null))])
        }),
        ("edges an object", || {
            Reply::json(
                200,
                &json!({ "data": { "team": { "members": { "count": 1, "edges": {} } } } }),
            )
        }),
        ("no members", || {
            Reply::json(200, &json!({ "data": { "team": {} } }))
        }),
    ];
    for (label, reply) in cases {
        let mut s = Scenario::start(team3_says(reply)).await;
        let result = full_read(&s, Detail::Essential).await;
        let error = s.fails(result, ErrorKind::ContractViolation);
        assert!(!error.message().is_empty(), "{label}");
        s.finish();
    }
}

/// A role Buildkite never spelled is kept visible on the membership, not dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_role_nobody_knows_keeps_the_membership() {
    let mut s = Scenario::start(team3_says(|| {
        team_members(
            json!(1),
            vec![team_member_edge(4, json!("Billing_Manager\u{1b}[31m"))],
        )
    }))
    .await;
    let result = full_read(&s, Detail::Essential).await;
    let users = s.succeeds(result);
    assert_eq!(memberships(&users), expected());
    let user4 = users.iter().find(|u| u.id == uuid(4)).expect("user 4");
    let role = user4.groups[0].role_id.as_deref().unwrap_or_default();
    assert!(role.to_lowercase().contains("billing_manager"), "{role:?}");
    s.finish();
}

// ---------------------------------------------------------------------------------------
// UnidirMembersLite (Detail::Full: GraphQL reads the members)
// ---------------------------------------------------------------------------------------

/// Pages that repeat members: each user once, with its teams.
#[tokio::test]
async fn members_lite_pages_that_repeat_members_give_each_user_once() {
    let mut s = Scenario::start(lie_to("UnidirMembersLite", |request| {
        match request
            .variable("after")
            .and_then(|a| a.as_str().map(str::to_owned))
        {
            None => members(
                vec![
                    lite_member(1),
                    lite_member(2),
                    lite_member(3),
                    lite_member(1),
                ],
                true,
                Some("p1"),
            ),
            Some(_) => members(
                vec![
                    lite_member(3),
                    lite_member(4),
                    lite_member(5),
                    lite_member(2),
                ],
                false,
                Some("p2"),
            ),
        }
    }))
    .await;
    let result = full_read(&s, Detail::Full).await;
    assert_exact(&mut s, result);
    assert_two_workers(&s);
    s.finish();
}

/// GraphQL's member pages leave out a member REST lists (one who joined between the two
/// reads, or an upstream that drops one): the member still comes out, once, from REST's row,
/// with the GraphQL-only fields unknown.
#[tokio::test]
async fn a_member_only_rest_lists_is_not_lost() {
    let mut s = Scenario::start(lie_to("UnidirMembersLite", |_| {
        members((1..USERS).map(lite_member).collect(), false, Some("p1"))
    }))
    .await;
    let result = full_read(&s, Detail::Full).await;
    let users = result.as_ref().map(Clone::clone).unwrap_or_default();
    assert_exact(&mut s, result);
    let last = users
        .iter()
        .find(|u| u.id == uuid(USERS))
        .expect("the member only REST listed");
    assert_eq!(
        last.is_2fa_enabled, None,
        "GraphQL-only fields stay unknown"
    );
    assert!(last.name.is_some(), "the REST row's fields are there");
    let from_graphql = users.iter().find(|u| u.id == uuid(1)).expect("user 1");
    assert!(from_graphql.is_2fa_enabled.is_some());
    let reports = s.observer.reports();
    assert!(
        reports
            .iter()
            .any(|r| r.kind == ReportKind::FieldsUnknown && r.count == 1),
        "the gap is reported, not only logged: {reports:?}"
    );
    assert_two_workers(&s);
    s.finish();
}

/// A null node, a null edge, fields of the wrong type, edges not an array, no pageInfo,
/// a cursor loop: contract violations.
#[tokio::test]
async fn members_lite_pages_of_the_wrong_shape_are_refused() {
    fn with(edit: fn(&mut Value)) -> Reply {
        let mut nodes: Vec<Value> = (1..=USERS).map(lite_member).collect();
        edit(&mut nodes[2]);
        members(nodes, false, None)
    }
    let cases: Vec<(&str, Handler)> = vec![
        ("a null node", |_| with(|n| *n = Value::Null)),
        ("a numeric user uuid", |_| {
            with(|n| n["user"]["uuid"] = json!(3))
        }),
        ("a null user", |_| with(|n| n["user"] = Value::Null)),
        ("a numeric role", |_| with(|n| n["role"] = json!(1))),
        ("bot a string", |_| {
            with(|n| n["user"]["bot"] = json!("yes"))
        }),
        ("2FA a number", |_| {
            with(|n| n["security"]["twoFactorEnabled"] = json!(1))
        }),
        ("createdAt a number", |_| {
            with(|n| n["createdAt"] = json!(1_700_000_000))
        }),
        ("a null edge", |_| members_raw(json!([null]), false, None)),
        ("edges an object", |_| {
            members_raw(json!({ "node": lite_member(1) }), false, None)
        }),
        ("no pageInfo", |_| {
            Reply::json(
                200,
                &json!({ "data": { "organization": { "members": { "edges": [] } } } }),
            )
        }),
        ("same end cursor", |request| {
            let after = request.variable("after");
            let end = after
                .as_ref()
                .and_then(Value::as_str)
                .unwrap_or("c1")
                .to_owned();
            members((1..=USERS).map(lite_member).collect(), true, Some(&end))
        }),
        ("next without cursor", |_| {
            members((1..=USERS).map(lite_member).collect(), true, None)
        }),
    ];
    for (label, reply) in cases {
        let mut s = Scenario::start(lie_to("UnidirMembersLite", reply)).await;
        let result = full_read(&s, Detail::Full).await;
        let error = s.fails(result, ErrorKind::ContractViolation);
        assert!(!error.message().is_empty(), "{label}");
        s.finish();
    }
}

/// Endless distinct pages stop at the walk bound.
#[tokio::test]
async fn endless_members_lite_pages_stop_at_the_walk_bound() {
    let mut s = Scenario::start(lie_to("UnidirMembersLite", |request| {
        let n: u64 = request
            .variable("after")
            .and_then(|a| a.as_str().and_then(|a| a.parse().ok()))
            .unwrap_or(0);
        members(
            vec![lite_member(n % USERS + 1)],
            true,
            Some(&(n + 1).to_string()),
        )
    }))
    .await;
    let result = full_read(&s, Detail::Full).await;
    s.fails(result, ErrorKind::ContractViolation);
    let pages = operations(&s)
        .iter()
        .filter(|o| *o == "UnidirMembersLite")
        .count();
    assert!(pages <= MAX_PAGES as usize + 1, "{pages} pages");
    s.finish();
}

// ---------------------------------------------------------------------------------------
// Team ids, from either list, become REST path segments
// ---------------------------------------------------------------------------------------

/// Defect: a listed team id of `..` or `.` vanished from the URL, so REST read
/// `/teams/members` as the team's members. Now any id that is not a UUID is refused before
/// a request uses it, whichever list (GraphQL's sizes, REST's teams) named it.
#[tokio::test]
async fn team_ids_that_are_not_uuids_are_refused_before_any_request_uses_them() {
    for id in [
        "..",
        ".",
        "",
        "../members",
        "%2e%2e",
        "x?page=2#f",
        "a/../../members",
    ] {
        // Essential: GraphQL lists the teams (500 members: REST's to read).
        let mut s = Scenario::start(lie_to("UnidirTeamSizes", move |_| {
            let mut nodes = honest_sizes();
            nodes[0]["uuid"] = json!(id);
            nodes[0]["members"]["count"] = json!(500);
            team_sizes(nodes, false, None)
        }))
        .await;
        let result = full_read(&s, Detail::Essential).await;
        s.fails(result, ErrorKind::ContractViolation);
        assert_no_stray_team_request(&s, id);
        s.finish();
        // Full: REST lists the teams.
        let mut s = Scenario::start(lying(move |request| {
            (request.path() == TEAMS).then(|| {
                let mut teams = TEAM_IDS.map(team).to_vec();
                teams[0]["id"] = json!(id);
                page(teams, request, None)
            })
        }))
        .await;
        let result = full_read(&s, Detail::Full).await;
        s.fails(result, ErrorKind::ContractViolation);
        assert_no_stray_team_request(&s, id);
        s.finish();
    }
}

/// Every request under the teams path was for a real team's members.
fn assert_no_stray_team_request(s: &Scenario, id: &str) {
    let real: Vec<String> = TEAM_IDS.map(team_members_path).to_vec();
    for request in s.server.requests() {
        let path = request.path();
        if path.starts_with(TEAMS) && path != TEAMS {
            assert!(real.iter().any(|r| r == path), "id {id:?}: {path}");
        }
    }
}

/// The class behind the test above, outside the full read: every REST path is built by one
/// function, which refuses an empty or dot segment from any list. A REST-only `get_user`
/// reads the user's teams and then `teams/{id}/members/{user}`; a team id of `..` would make
/// that `teams/members/{user}`.
#[tokio::test]
async fn dot_segment_ids_never_reach_a_rest_url() {
    for id in ["..", ".", ""] {
        let mut s = Scenario::start(move |request: &Request| match request.path() {
            ACCESS_TOKEN => access_token(REST_SCOPES),
            TEAMS => {
                let mut bad = team(1);
                bad["id"] = json!(id);
                page(vec![bad], request, None)
            }
            path if path == format!("{MEMBERS}/{}", uuid(1)) => Reply::json(200, &member(1)),
            _ => unmatched(request),
        })
        .await;
        let bk = s.directory();
        let result = bounded(unidir_core::Directory::get_user(
            &bk,
            &uuid(1),
            &unidir_core::GetOptions::default(),
        ))
        .await;
        s.fails(result, ErrorKind::ContractViolation);
        for request in s.server.requests() {
            let path = request.path();
            assert!(
                path == ACCESS_TOKEN || path == TEAMS || path.starts_with(MEMBERS),
                "id {id:?}: {path}"
            );
        }
        s.finish();
    }
}
