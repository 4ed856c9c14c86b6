//! `unidir users` and `unidir export` when GraphQL fails while REST works (issue 16, A2, A3,
//! B6): the exit codes the issue quotes (4, 6, 7) become 0 with the users complete, and
//! stderr says what the read adapted to or could not read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use unidir_http::testing::hostile::{HostileServer, Reply, Request};

use common::{Run, finish, unidir};

const CANARY: &str = "bkua_CANARY_degrade_cli_5a4b3c2d1e0f9e8d7c6b5a4938271605";
const ORG: &str = "acme-inc";
const GRAPHQL: &str = "/v1";
const TEAMS: &str = "/v2/organizations/acme-inc/teams";
const MEMBERS: &str = "/v2/organizations/acme-inc/members";

fn uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn team_members_path() -> String {
    format!("{TEAMS}/{}/members", uuid(1))
}

/// The organization over REST: users 1 and 2, both in team 1; `team_extra` adds members
/// to team 1 that the member list lacks.
fn rest(request: &Request, team_extra: &[u64]) -> Reply {
    let path = request.path();
    if path == "/v2/access-token" {
        return Reply::json(
            200,
            &json!({ "uuid": uuid(999), "scopes": ["read_user", "read_organizations", "read_teams", "graphql"] }),
        );
    }
    if path == "/v2/organizations" {
        return Reply::json(
            200,
            &json!([{ "id": uuid(900), "name": "Acme", "slug": ORG, "web_url": null,
                "created_at": "2020-01-01T00:00:00.000Z" }]),
        );
    }
    if path == TEAMS {
        return Reply::json(
            200,
            &json!([{ "id": uuid(1), "name": "One", "slug": "team-1", "description": null,
                "privacy": "visible", "default": false, "default_member_role": "member",
                "created_at": "2024-11-07T13:22:40.051Z" }]),
        );
    }
    if path == MEMBERS {
        let rows: Vec<Value> = [1, 2]
            .iter()
            .map(|n| {
                json!({ "id": uuid(*n), "name": format!("User {n}"),
                "email": format!("u{n}@acme.example"), "role": "member", "sso_mode": "optional" })
            })
            .collect();
        return Reply::json(200, &Value::Array(rows));
    }
    if path == team_members_path() {
        let rows: Vec<Value> = [1, 2]
            .iter()
            .chain(team_extra)
            .map(|n| {
                json!({ "role": "member", "created_at": "2024-05-03T11:00:02.001Z",
                "user_id": uuid(*n), "user_name": format!("User {n}") })
            })
            .collect();
        return Reply::json(200, &Value::Array(rows));
    }
    Reply::json(599, &json!({ "message": "unexpected" }))
}

fn lite_member(n: u64) -> Value {
    json!({
        "id": format!("T3JnTWVtYmVyLS0t{n}"), "uuid": uuid(1000 + n), "role": "MEMBER",
        "createdAt": "2021-06-01T09:12:44Z", "lastSeenAt": null,
        "security": { "twoFactorEnabled": true, "passwordProtected": true },
        "user": { "id": format!("VXNlci0tLT{n}"), "uuid": uuid(n), "name": format!("User {n}"),
            "email": format!("u{n}@acme.example"), "avatar": { "url": null },
            "bot": false, "machineUser": false },
    })
}

/// GraphQL telling the truth (the probe with a budget too small for the nested walk, unless
/// `probe` says otherwise).
fn graphql(request: &Request, probe: Reply) -> Reply {
    match request.operation().as_deref() {
        Some("UnidirOrgSize") => probe,
        Some("UnidirMembersLite") => Reply::json(
            200,
            &json!({ "data": { "organization": { "members": { "count": 2,
                "pageInfo": { "hasNextPage": false, "hasPreviousPage": false,
                              "startCursor": null, "endCursor": null },
                "edges": [{ "node": lite_member(1) }, { "node": lite_member(2) }] } } } }),
        ),
        Some("UnidirTeamMembers") => {
            let edges: Vec<Value> = [1, 2]
                .iter()
                .map(|n| {
                    json!({ "node": { "role": "MEMBER", "createdAt": null,
                    "user": { "uuid": uuid(*n) } } })
                })
                .collect();
            Reply::json(
                200,
                &json!({ "data": { "team": { "members": { "count": 2,
                    "pageInfo": { "hasNextPage": false }, "edges": edges } } } }),
            )
        }
        _ => Reply::json(599, &json!({ "message": "unexpected" })),
    }
}

fn probe(remaining: &str, reset: &str) -> Reply {
    Reply::json(
        200,
        &json!({ "data": { "organization": { "members": { "count": 2 } } } }),
    )
    .header("RateLimit-Remaining", remaining)
    .header("RateLimit-Reset", reset)
}

/// Runs `unidir ARGS` against a hostile server answering with `handler`.
fn run(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static, args: &[&str]) -> Run {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime.block_on(HostileServer::start(handler));
    let url = server.url();
    let run = finish(
        unidir()
            .env("BUILDKITE_API_TOKEN", CANARY)
            .args(["--org", ORG, "--api-url", &url])
            .args(["--graphql-url", &format!("{url}{GRAPHQL}")])
            .args(args),
    );
    assert!(!run.stdout.contains(CANARY) && !run.stderr.contains(CANARY));
    let host = server.host();
    for request in server.requests() {
        assert_eq!(request.host(), Some(host.as_str()), "{request:?}");
    }
    run
}

/// The ids `users --json` printed.
fn ids(run: &Run) -> BTreeSet<String> {
    run.json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn both() -> BTreeSet<String> {
    [uuid(1), uuid(2)].into_iter().collect()
}

/// (label, GraphQL's answer to everything, what stderr must say)
type Case = (&'static str, fn(&Request) -> Reply, &'static str);

/// GraphQL refused (exit 4 before), out of points for a day (exit 6), a 429 storm (exit 6),
/// a team it cannot find (exit 7): `users` exits 0 with both users at both details, and
/// says on stderr what it adapted to.
#[test]
fn users_completes_when_graphql_fails_and_says_so() {
    let cases: Vec<Case> = vec![
        (
            "403",
            |_| Reply::json(403, &json!({ "message": "Forbidden" })),
            "GraphQL refused",
        ),
        (
            "not enabled",
            |_| {
                Reply::json(
                    200,
                    &json!({ "errors": [{ "message": "GraphQL access is not enabled for this organization" }] }),
                )
            },
            "GraphQL refused",
        ),
        (
            "0 points for a day",
            |r| graphql(r, probe("0", "86400")),
            "",
        ),
        (
            "a day's 429 after the probe",
            |r| match r.operation().as_deref() {
                Some("UnidirOrgSize") => probe("3", "30"),
                _ => Reply::json(429, &json!({})).header("Retry-After", "86400"),
            },
            "rate limited",
        ),
        (
            "a 429 storm",
            |_| Reply::json(429, &json!({})).header("Retry-After", "1"),
            "rate limited",
        ),
        (
            "team null",
            |r| match r.operation().as_deref() {
                Some("UnidirTeamMembers") => Reply::json(200, &json!({ "data": { "team": null } })),
                _ => graphql(r, probe("3", "30")),
            },
            "read over REST",
        ),
    ];
    for (label, answer, says) in cases {
        for detail in ["full", "essential"] {
            let run = run(
                move |r: &Request| match r.path() {
                    GRAPHQL => answer(r),
                    _ => rest(r, &[]),
                },
                &["users", "--json", "--detail", detail],
            );
            assert_eq!(run.code, 0, "{label} at {detail}: {run:?}");
            assert_eq!(ids(&run), both(), "{label} at {detail}");
            // Team null only matters when GraphQL reads the team, which the race decides.
            if !says.is_empty() && label != "team null" {
                assert!(run.stderr.contains(says), "{label} at {detail}: {run:?}");
            }
            if detail == "full" && label != "0 points for a day" && label != "team null" {
                assert!(
                    run.stderr.contains("unknown (null)"),
                    "{label}: the unknown fields are named: {run:?}"
                );
            }
        }
    }
}

/// A team member the member list lacks: `users` and `export` exit 0 and say so on stderr
/// (before, the membership vanished without a word).
#[test]
fn an_orphan_membership_is_reported_by_users_and_export() {
    for detail in ["full", "essential"] {
        let handler = |r: &Request| match r.path() {
            GRAPHQL => graphql(r, probe("3", "30")),
            _ => rest(r, &[7]),
        };
        // REST reads the team (GraphQL's answer for it would not list user 7).
        let handler = move |r: &Request| {
            if r.operation().as_deref() == Some("UnidirTeamMembers") {
                return Reply::json(500, &json!({ "message": "down" }));
            }
            handler(r)
        };
        let run = run(handler, &["users", "--json", "--detail", detail]);
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(ids(&run), both());
        assert!(
            run.stderr
                .contains("missing from the organization's member list"),
            "{detail}: {run:?}"
        );
        let dir = common::temp_dir(&format!("degrade-export-{detail}"));
        let out = dir.join("out");
        let run = self::run(
            handler,
            &["export", "--out", out.to_str().unwrap(), "--detail", detail],
        );
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stderr
                .contains("missing from the organization's member list"),
            "export at {detail}: {run:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Team 2 and user 2 come again on the second page of their lists: `export` writes each
/// once and says how many it dropped, for the groups (before, silently) and the users.
#[test]
fn export_reports_the_repeats_it_drops() {
    let handler = |r: &Request| {
        let next =
            |path: &str| format!("<http://127.0.0.1{path}?page=2&per_page=100>; rel=\"next\"");
        let team = |n: u64| {
            json!({ "id": uuid(n), "name": format!("T{n}"), "slug": format!("team-{n}"),
                "description": null, "privacy": "visible", "default": false,
                "default_member_role": "member", "created_at": "2024-11-07T13:22:40.051Z" })
        };
        let member = |n: u64| {
            json!({ "id": uuid(n), "name": format!("User {n}"),
                "email": format!("u{n}@acme.example"), "role": "member", "sso_mode": "optional" })
        };
        match (r.path(), r.page()) {
            (GRAPHQL, _) => Reply::json(403, &json!({ "message": "Forbidden" })),
            (TEAMS, 1) => Reply::json(200, &json!([team(1), team(2)])).header("Link", &next(TEAMS)),
            (TEAMS, _) => Reply::json(200, &json!([team(2)])),
            (MEMBERS, 1) => {
                Reply::json(200, &json!([member(1), member(2)])).header("Link", &next(MEMBERS))
            }
            (MEMBERS, _) => Reply::json(200, &json!([member(2)])),
            (path, _) if path == format!("{TEAMS}/{}/members", uuid(2)) => {
                Reply::json(200, &json!([]))
            }
            _ => rest(r, &[]),
        }
    };
    let dir = common::temp_dir("degrade-export-repeats");
    let out = dir.join("out");
    let run = run(
        handler,
        &[
            "export",
            "--out",
            out.to_str().unwrap(),
            "--detail",
            "essential",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("1 groups appeared on more than one page"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("1 users appeared on more than one page"),
        "{run:?}"
    );
    let groups = std::fs::read_to_string(out.join("groups.ndjson")).expect("groups");
    assert_eq!(groups.lines().count(), 2, "{groups}");
    let _ = std::fs::remove_dir_all(&dir);
}
