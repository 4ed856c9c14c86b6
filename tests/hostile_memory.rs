//! The planned full read against upstreams shaped to make it hoard memory (issue 16, B5):
//! GraphQL member pages piling up while REST is slow, team lists whose descriptions or names
//! are megabytes, and team lists that never end.
//!
//! Each scenario asserts a structural bound, never a measured amount or a time: the parked
//! GraphQL pages are in a temporary file (open under the read's temporary directory while
//! REST is held back), a name past the documented bound is a contract violation, and an
//! endless list ends at its walk limits. Peak memory for the same shapes at a large scale is
//! measured by the `#[ignore]`d `measure_*` runs at the end (see their docs for the command).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use serde_json::{Value, json};
use unidir_core::{Detail, DirectoryExt, ErrorKind, ListQuery, User, WalkLimits};
use unidir_http::testing::hostile::{Reply, Request};

mod support;
use support::*;

// ---------------------------------------------------------------------------------------
// The organization: `members` users; team 1 has users 1 and 2, team 2 user 3, team 3
// user 4; GraphQL lists every user over pages of 500, REST lists users 1–5.
// ---------------------------------------------------------------------------------------

const TEAM_IDS: [u64; 3] = [1, 2, 3];
const GRAPHQL_PAGE: u64 = 500;

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

fn lite_member(n: u64) -> Value {
    json!({
        "uuid": uuid(1_000_000 + n), "role": "MEMBER",
        "createdAt": "2021-06-01T09:12:44Z", "lastSeenAt": null,
        "security": { "twoFactorEnabled": true },
        "user": {
            "uuid": uuid(n), "name": format!("User {n}"),
            "email": format!("u{n}@acme.example"), "avatar": { "url": null },
            "bot": false, "machineUser": false,
        },
    })
}

/// `UnidirMembersLite` page `k` (cursor `c{k}` asks for page `k`) of `members` users.
fn lite_page(request: &Request, members: u64) -> Reply {
    let k: u64 = request
        .variable("after")
        .and_then(|a| a.as_str()?.strip_prefix('c')?.parse().ok())
        .unwrap_or(0);
    let first = k * GRAPHQL_PAGE + 1;
    let last = (first + GRAPHQL_PAGE - 1).min(members);
    let edges: Vec<Value> = (first..=last)
        .map(|n| json!({ "cursor": "x", "node": lite_member(n) }))
        .collect();
    let more = last < members;
    Reply::json(
        200,
        &json!({ "data": { "organization": { "members": {
            "count": members,
            "pageInfo": { "hasNextPage": more, "hasPreviousPage": false,
                          "startCursor": null, "endCursor": more.then(|| format!("c{}", k + 1)) },
            "edges": edges,
        } } } }),
    )
}

fn team_members_gql(request: &Request) -> Reply {
    let team: Option<u64> = request.variable("slug").and_then(|s| {
        s.as_str()?
            .strip_prefix(&format!("{ORG}/team-"))?
            .parse()
            .ok()
    });
    let users = team.map_or(&[][..], team_users);
    let edges: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({ "node": { "role": "MEMBER", "createdAt": "2022-01-01T00:00:00Z",
                                   "user": { "uuid": uuid(*u) } } })
        })
        .collect();
    Reply::json(
        200,
        &json!({ "data": { "team": { "members": { "count": users.len(), "edges": edges } } } }),
    )
}

/// A budget of 3 points: too little for the nested walk, so the planner uses both workers.
fn org_size(members: u64) -> Reply {
    Reply::json(
        200,
        &json!({ "data": { "organization": { "members": { "count": members } } } }),
    )
    .header("RateLimit-Remaining", "3")
    .header("RateLimit-Reset", "30")
}

/// The honest organization of `members` users (teams as REST lists them: `teams`).
fn honest(request: &Request, members: u64, teams: &dyn Fn(&Request) -> Reply) -> Reply {
    match request.operation().as_deref() {
        Some("UnidirOrgSize") => return org_size(members),
        Some("UnidirMembersLite") => return lite_page(request, members),
        Some("UnidirTeamMembers") => return team_members_gql(request),
        Some(_) => return unmatched(request),
        None => {}
    }
    let path = request.path();
    if path == ACCESS_TOKEN {
        return access_token(ALL_SCOPES);
    }
    if path == TEAMS {
        return teams(request);
    }
    if path == MEMBERS {
        return page((1..=5).map(member).collect(), request, None);
    }
    for t in TEAM_IDS {
        if path == team_members_path(t) {
            return page(
                team_users(t).iter().map(|u| team_member(*u)).collect(),
                request,
                None,
            );
        }
    }
    // Teams past the first three (the long lists below) have no members.
    if path.starts_with(TEAMS) && path.ends_with("/members") {
        return page(Vec::new(), request, None);
    }
    unmatched(request)
}

fn three_teams(request: &Request) -> Reply {
    page(TEAM_IDS.map(team).to_vec(), request, None)
}

/// This process's open files under `dir`.
fn open_files_under(dir: &Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("fd list")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.starts_with(dir))
        .count()
}

/// Opens once; waiters block (bounded) until then.
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
                .wait_timeout_while(guard, Duration::from_secs(30), |open| !*open)
                .unwrap_or_else(|e| e.into_inner());
        });
    }
}

/// Every user once, with user `n`'s teams; what the scenario checks of the users.
#[derive(Debug, Default)]
struct Tally {
    users: u64,
    /// Sum of the user numbers, so a user missing and another twice would show.
    sum: u64,
    teams_of_1_to_5: Vec<(u64, Vec<String>)>,
}

fn user_number(user: &User) -> u64 {
    u64::from_str_radix(user.id.rsplit('-').next().unwrap_or(""), 16).expect("a test uuid")
}

fn tally(mut tally: Tally, user: User) -> Tally {
    let n = user_number(&user);
    tally.users += 1;
    tally.sum += n;
    if n <= 5 {
        let mut teams: Vec<String> = user.groups.iter().map(|g| g.id.clone()).collect();
        teams.sort();
        tally.teams_of_1_to_5.push((n, teams));
    }
    tally
}

fn assert_exact_tally(mut got: Tally, members: u64) {
    assert_eq!(got.users, members);
    assert_eq!(
        got.sum,
        members * (members + 1) / 2,
        "each user exactly once"
    );
    got.teams_of_1_to_5.sort();
    let expected: Vec<(u64, Vec<String>)> = (1..=5)
        .map(|u| {
            let teams = TEAM_IDS
                .into_iter()
                .filter(|t| team_users(*t).contains(&u))
                .map(uuid)
                .collect();
            (u, teams)
        })
        .collect();
    assert_eq!(got.teams_of_1_to_5, expected);
}

/// The full read at `detail`, counted as it streams (nothing collected).
async fn read_counted(
    s: &Scenario,
    dir: &Path,
    limits: WalkLimits,
    detail: Detail,
) -> Result<Tally, unidir_core::Error> {
    read_counted_with(s.builder(), dir, limits, detail).await
}

async fn read_counted_with(
    builder: unidir_buildkite::BuildkiteBuilder,
    dir: &Path,
    limits: WalkLimits,
    detail: Detail,
) -> Result<Tally, unidir_core::Error> {
    // Patient: REST's first request is held until GraphQL has read every member page.
    let bk = builder
        .with_timeout(Duration::from_secs(300))
        .with_retry_policy(unidir_buildkite::RetryPolicy {
            operation_deadline: Duration::from_secs(300),
            ..policy()
        })
        .with_walk_limits(limits)
        .with_full_read_temp_dir(dir)
        .build()
        .expect("directory");
    tokio::time::timeout(
        Duration::from_secs(600),
        bk.users(ListQuery::new().with_detail(detail)).try_fold(
            Tally::default(),
            |t, user| async move { Ok(tally(t, user)) },
        ),
    )
    .await
    .expect("the read ends")
}

// ---------------------------------------------------------------------------------------
// GraphQL member pages waiting for a slow REST side
// ---------------------------------------------------------------------------------------

/// GraphQL reads every member page while REST is held on its first team (until GraphQL has
/// asked for the last page): past two pages the waiting pages are parked in a temporary
/// file (seen open under the read's directory then), and the read still gives every user
/// once with exactly its teams.
async fn parked_while_rest_is_slow(members: u64, rows_in_memory: Option<usize>) -> usize {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir_path: PathBuf = dir.path().to_owned();
    let gate = Gate::default();
    let open_at_last_page = Arc::new(AtomicUsize::new(usize::MAX));
    let last = format!("c{}", members.div_ceil(GRAPHQL_PAGE) - 1);
    let handler = {
        let (gate, open, dir) = (
            gate.clone(),
            Arc::clone(&open_at_last_page),
            dir_path.clone(),
        );
        move |request: &Request| {
            if request.operation().as_deref() == Some("UnidirMembersLite")
                && request
                    .variable("after")
                    .and_then(|a| a.as_str().map(str::to_owned))
                    == Some(last.clone())
            {
                // Every earlier page is parked by now; REST has not finished a team.
                open.store(open_files_under(&dir), Ordering::SeqCst);
                gate.open();
            }
            if request.path() == team_members_path(1) {
                gate.wait();
            }
            honest(request, members, &three_teams)
        }
    };
    let mut s = Scenario::start(handler).await;
    let limits = WalkLimits::default().with_max_pages(100_000);
    let builder = match rows_in_memory {
        Some(rows) => s.builder().with_full_read_rows_in_memory(rows),
        None => s.builder(),
    };
    let result = read_counted_with(builder, &dir_path, limits, Detail::Full).await;
    let got = s.succeeds(result);
    assert_exact_tally(got, members);
    // Everything is closed again, and nothing was ever listed.
    assert_eq!(open_files_under(&dir_path), 0);
    assert_eq!(std::fs::read_dir(&dir_path).expect("dir").count(), 0);
    s.finish();
    open_at_last_page.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_member_pages_waiting_for_a_slow_rest_are_parked_on_disk() {
    // 8 pages of 500: two in memory (the default bound of 1,000 rows), six in the file.
    let open = parked_while_rest_is_slow(4_000, None).await;
    assert_eq!(open, 1, "the waiting pages were in one temporary file");
    // With room for every row, none touches the disk.
    let open = parked_while_rest_is_slow(4_000, Some(4_000)).await;
    assert_eq!(open, 0);
}

// ---------------------------------------------------------------------------------------
// Team lists that would hoard: absurd names, megabyte descriptions, no end
// ---------------------------------------------------------------------------------------

fn team_named(n: u64, name: &str, slug: &str, description: &str) -> Value {
    let mut team = team(n);
    team["name"] = json!(name);
    team["slug"] = json!(slug);
    team["description"] = json!(description);
    team
}

/// REST's team list (both details plan it: `Full` with GraphQL, and REST only), GraphQL's
/// team sizes (`Essential`), and the page walk's team index all refuse a team whose name or
/// slug is past the bound, naming it, instead of keeping it for every membership.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_names_and_slugs_past_the_bound_are_refused_not_kept() {
    let long = "n".repeat(1025);
    for (what, name, slug) in [
        ("name", long.as_str(), "team-1"),
        ("slug", "Team 1", long.as_str()),
    ] {
        let teams = {
            let (name, slug) = (name.to_owned(), slug.to_owned());
            move |request: &Request| {
                let mut teams = TEAM_IDS.map(team).to_vec();
                teams[0] = team_named(1, &name, &slug, "");
                page(teams, request, None)
            }
        };
        let sizes = {
            let (name, slug) = (name.to_owned(), slug.to_owned());
            move || {
                let nodes: Vec<Value> = TEAM_IDS
                    .map(|t| {
                        let (name, slug) = if t == 1 {
                            (name.clone(), slug.clone())
                        } else {
                            (format!("Team {t}"), format!("team-{t}"))
                        };
                        json!({ "node": { "uuid": uuid(t), "slug": slug, "name": name,
                                          "members": { "count": team_users(t).len() } } })
                    })
                    .to_vec();
                Reply::json(
                    200,
                    &json!({ "data": { "organization": { "teams": {
                        "pageInfo": { "hasNextPage": false, "endCursor": null },
                        "edges": nodes } } } }),
                )
            }
        };
        let mut s = Scenario::start(move |request| {
            if request.operation().as_deref() == Some("UnidirTeamSizes") {
                return sizes();
            }
            honest(request, 5, &teams)
        })
        .await;
        let dir = tempfile::tempdir().expect("temp dir");
        for detail in [Detail::Full, Detail::Essential] {
            let result = read_counted(&s, dir.path(), WalkLimits::default(), detail).await;
            let error = s.fails(result, ErrorKind::ContractViolation);
            assert!(
                error
                    .message()
                    .contains(&format!("{what} is longer than 1024 bytes")),
                "{detail:?}: {error}"
            );
        }
        // The page walk (a page size chosen) builds the REST team index the same way.
        let bk = s
            .builder()
            .with_graphql(unidir_buildkite::GraphqlMode::Disabled)
            .build();
        let bk = bk.expect("directory");
        let result: Result<Vec<User>, _> =
            bounded(bk.users(ListQuery::new().with_limit(2)).try_collect()).await;
        let error = s.fails(result, ErrorKind::ContractViolation);
        assert!(
            error.message().contains("longer than 1024 bytes"),
            "{error}"
        );
        s.finish();
    }
}

/// A name at the bound is kept whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_name_at_the_bound_is_kept_whole() {
    let name = "é".repeat(512); // 1,024 bytes
    let teams = {
        let name = name.clone();
        move |request: &Request| {
            let mut teams = TEAM_IDS.map(team).to_vec();
            teams[0] = team_named(1, &name, "team-1", &"d".repeat(100_000));
            page(teams, request, None)
        }
    };
    let mut s = Scenario::start(move |request| honest(request, 5, &teams)).await;
    let bk = s.directory();
    let result: Result<Vec<User>, _> = bounded(
        bk.users(ListQuery::new().with_detail(Detail::Full))
            .try_collect(),
    )
    .await;
    let users = s.succeeds(result);
    let user1 = users.iter().find(|u| u.id == uuid(1)).expect("user 1");
    let team1 = user1
        .groups
        .iter()
        .find(|g| g.id == uuid(1))
        .expect("team 1");
    assert_eq!(team1.name.as_deref(), Some(name.as_str()));
    s.finish();
}

/// REST pages of `per_page` fresh teams forever, each with a description of
/// `description` bytes.
fn endless_teams(per_page: u64, description: usize) -> impl Fn(&Request) -> Reply + Send + Sync {
    let text = "d".repeat(description);
    move |request: &Request| {
        let p = request.page();
        let teams = (0..per_page)
            .map(|i| {
                let n = 10 + p * per_page + i;
                team_named(n, &format!("Team {n}"), &format!("team-{n}"), &text)
            })
            .collect();
        page(teams, request, Some(p + 1))
    }
}

/// `UnidirTeamSizes` pages of 100 fresh teams forever.
fn endless_sizes(request: &Request) -> Reply {
    let k: u64 = request
        .variable("after")
        .and_then(|a| a.as_str()?.strip_prefix('s')?.parse().ok())
        .unwrap_or(0);
    let edges: Vec<Value> = (0..100)
        .map(|i| {
            let n = 10 + k * 100 + i;
            json!({ "node": { "uuid": uuid(n), "slug": format!("team-{n}"),
                              "name": format!("Team {n}"), "members": { "count": 0 } } })
        })
        .collect();
    Reply::json(
        200,
        &json!({ "data": { "organization": { "teams": {
            "pageInfo": { "hasNextPage": true, "endCursor": format!("s{}", k + 1) },
            "edges": edges } } } }),
    )
}

/// A team list that never ends (REST's for `Full`, GraphQL's sizes for `Essential`) stops
/// at the walk limits with a typed error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_team_list_ends_at_the_walk_limits() {
    let teams = endless_teams(100, 10);
    let mut s = Scenario::start(move |request| {
        if request.operation().as_deref() == Some("UnidirTeamSizes") {
            return endless_sizes(request);
        }
        honest(request, 5, &teams)
    })
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    for detail in [Detail::Full, Detail::Essential] {
        let limits = WalkLimits::default().with_max_pages(30);
        let result = read_counted(&s, dir.path(), limits, detail).await;
        let error = s.fails(result, ErrorKind::ContractViolation);
        assert!(error.message().contains("30"), "{detail:?}: {error}");
    }
    s.finish();
}

// ---------------------------------------------------------------------------------------
// Measurements (peak RSS), not tests: run one at a time, e.g.
//   cargo test -p unidir-tests --test hostile_memory --no-run
//   /usr/bin/time -v target/debug/deps/hostile_memory-<hash> --ignored --exact measure_parked
// and read "Maximum resident set size". They assert only that the read completed as the
// tests above do.
// ---------------------------------------------------------------------------------------

/// 400 pages of 500 GraphQL members waiting for REST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run under /usr/bin/time -v"]
async fn measure_parked() {
    let open = parked_while_rest_is_slow(200_000, None).await;
    assert_eq!(open, 1);
}

/// 300 REST team pages of one team each with a description of 1 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run under /usr/bin/time -v"]
async fn measure_megabyte_descriptions() {
    let endless = endless_teams(1, 1 << 20);
    let teams = move |request: &Request| {
        if request.page() > 300 {
            return page(Vec::new(), request, None);
        }
        endless(request)
    };
    let mut s = Scenario::start(move |request| honest(request, 5, &teams)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let limits = WalkLimits::default().with_max_pages(100_000);
    let result = read_counted(&s, dir.path(), limits, Detail::Full).await;
    let got = s.succeeds(result);
    assert_eq!(got.users, 5);
    s.finish();
}

/// An endless list of 100-team pages until 3,000 pages (300,000 teams).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run under /usr/bin/time -v"]
async fn measure_endless_team_list() {
    let teams = endless_teams(100, 100);
    let mut s = Scenario::start(move |request| honest(request, 5, &teams)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let limits = WalkLimits::default().with_max_pages(3_000);
    let result = read_counted(&s, dir.path(), limits, Detail::Full).await;
    s.fails(result, ErrorKind::ContractViolation);
    s.finish();
}
