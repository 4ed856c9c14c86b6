//! End-to-end tests: the built `unidir` binary against the Buildkite simulator.
//!
//! Read commands run with no token, so each invocation starts its own built-in simulator
//! (same seed, same data). Stateful flows (grant/revoke/plan/apply) and error cases run
//! against ONE simulator started here, passed to the binary with `BUILDKITE_API_TOKEN`,
//! `--org`, `--api-url` and `--graphql-url`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use serde_json::Value;
use unidir_buildkite_sim::{Fault, LimitScope, SimConfig, SimToken, TeamRole};

use common::{Sim, array, embedded, finish, temp_dir, unidir};

fn primary_email(user: &Value) -> String {
    array(&user["emails"])
        .iter()
        .find(|e| e["is_primary"] == true)
        .and_then(|e| e["email"].as_str())
        .expect("primary e-mail")
        .to_owned()
}

#[test]
fn users_table_and_json_from_the_embedded_simulator() {
    let json = embedded(&["users", "--json"]).ok();
    assert!(
        json.stderr.contains("BUILDKITE_API_TOKEN is not set")
            && json.stderr.contains("\"acme-inc\"")
            && json.stderr.contains("http://127.0.0.1:"),
        "{}",
        json.stderr
    );
    let users = json.json();
    let users = array(&users);
    assert_eq!(users.len(), 25);
    let ids: HashSet<_> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 25);
    let email = primary_email(&users[3]);

    let table = embedded(&["users"]).ok();
    for needle in [
        "| ID",
        "| NAME",
        "| EMAIL",
        "| ORG ROLE",
        "| GROUPS",
        "(25 users)",
    ] {
        assert!(
            table.stdout.contains(needle),
            "{needle} in\n{}",
            table.stdout
        );
    }
    assert!(
        table.stdout.contains(&email),
        "{email} in\n{}",
        table.stdout
    );
    assert!(table.stdout.contains("everyone:"), "{}", table.stdout);
    assert!(table.stdout.is_ascii() && !table.stdout.contains('\u{1b}'));

    let lines = embedded(&["users", "--ndjson"]).ok();
    let parsed: Vec<Value> = lines
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one object per line"))
        .collect();
    assert_eq!(parsed.len(), 25);
    assert_eq!(parsed[3]["id"], users[3]["id"]);

    let filtered = embedded(&["users", "--email", &email, "--json"])
        .ok()
        .json();
    assert_eq!(array(&filtered).len(), 1);
    assert_eq!(filtered[0]["id"], users[3]["id"]);
}

#[test]
fn single_pages_and_cursors() {
    let first = embedded(&["users", "--page", "--limit", "10", "--json"])
        .ok()
        .json();
    assert_eq!(first["result_count"], 10);
    assert_eq!(array(&first["result"]).len(), 10);
    let next = first["next_cursor"].as_str().expect("next cursor");
    let second = embedded(&["users", "--cursor", next, "--limit", "10", "--json"])
        .ok()
        .json();
    assert_eq!(second["result_count"], 10);
    let mut ids = HashSet::new();
    for user in array(&first["result"])
        .iter()
        .chain(array(&second["result"]))
    {
        assert!(
            ids.insert(user["id"].as_str().unwrap().to_owned()),
            "no repeats"
        );
    }
    let table = embedded(&["groups", "--page", "--limit", "2"]).ok();
    assert!(
        table.stdout.contains("(2 groups on this page)"),
        "{}",
        table.stdout
    );
    assert!(
        table.stderr.contains("next page: --cursor "),
        "{}",
        table.stderr
    );

    let bad = embedded(&["users", "--cursor", "not-a-cursor"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn groups_roles_orgs_and_me() {
    let groups = embedded(&["groups", "--json"]).ok().json();
    assert_eq!(array(&groups).len(), 6);
    assert!(
        array(&groups)
            .iter()
            .any(|g| g["slug"] == "everyone" && g["is_default"] == true)
    );
    let table = embedded(&["groups"]).ok();
    for needle in ["| SLUG", "| PRIVACY", "| DEFAULT", "everyone", "(6 groups)"] {
        assert!(
            table.stdout.contains(needle),
            "{needle} in\n{}",
            table.stdout
        );
    }

    let roles = embedded(&["roles", "--json"]).ok().json();
    let ids: Vec<&str> = array(&roles)
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["org:admin", "org:member", "team:maintainer", "team:member"]
    );
    let table = embedded(&["roles"]).ok();
    assert!(table.stdout.contains("team:maintainer") && table.stdout.contains("| SCOPE"));

    let orgs = embedded(&["orgs", "--json"]).ok().json();
    assert_eq!(array(&orgs).len(), 1);
    assert_eq!(orgs[0]["slug"], "acme-inc");
    assert!(embedded(&["orgs"]).ok().stdout.contains("Acme Inc"));

    let me = embedded(&["me", "--json"]).ok().json();
    assert!(array(&me["scopes"]).iter().any(|s| s == "read_teams"));
    assert_eq!(me["organizations"][0]["slug"], "acme-inc");
    let table = embedded(&["me"]).ok();
    assert!(table.stdout.contains("SCOPES") && table.stdout.contains("acme-inc"));
}

#[test]
fn one_user_and_one_groups_members() {
    let users = embedded(&["users", "--json"]).ok().json();
    let user = array(&users)
        .iter()
        .find(|u| array(&u["groups"]).len() >= 2)
        .expect("a user in two groups");
    let id = user["id"].as_str().unwrap();
    let email = primary_email(user);

    let by_email = embedded(&["user", &email]).ok();
    assert!(by_email.stdout.contains(id), "{}", by_email.stdout);
    assert!(by_email.stdout.contains("ORG ROLE"));
    let by_id = embedded(&["user", id, "--json"]).ok().json();
    assert_eq!(by_id["id"], id);
    assert_eq!(primary_email(&by_id), email);
    let missing = embedded(&["user", "nobody@nowhere.example"]);
    assert_eq!(missing.code, 5, "{}", missing.stderr);
    assert!(missing.stderr.contains("nobody@nowhere.example"));

    let slug = user["groups"][0]["slug"].as_str().unwrap();
    let members = embedded(&["members", slug, "--json"]).ok().json();
    let members = array(&members);
    assert!(members.iter().any(|m| m["user_id"] == id));
    let group_id = &user["groups"][0]["id"];
    assert!(members.iter().all(|m| &m["group_id"] == group_id));
    let table = embedded(&["members", slug]).ok();
    for needle in ["| USER ID", "| ROLE", "| SINCE", id] {
        assert!(
            table.stdout.contains(needle),
            "{needle} in\n{}",
            table.stdout
        );
    }
    let unknown = embedded(&["members", "no-such-team"]);
    assert_eq!(unknown.code, 5);
    assert!(
        unknown.stderr.contains("no-such-team"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn check_passes_on_the_embedded_simulator() {
    let run = embedded(&["check"]).ok();
    assert!(!run.stdout.contains("FAIL"), "{}", run.stdout);
    for needle in [
        "authentication",
        "team listing",
        "member listing",
        "0 failed",
    ] {
        assert!(run.stdout.contains(needle), "{needle} in\n{}", run.stdout);
    }
    let json = embedded(&["check", "--json"]).ok().json();
    assert_eq!(json["ok"], true);
    assert!(array(&json["checks"]).iter().all(|c| c["status"] == "pass"));
    // The scope lines come from the adapter's capabilities: one per resource, one for writes.
    let detail = |name: &str| {
        array(&json["checks"])
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {json}"))["detail"]
            .as_str()
            .expect("detail")
            .to_owned()
    };
    assert!(detail("scopes for grant/revoke/apply").contains("write_teams"));
    assert!(detail("scopes for users").contains("graphql"));
    assert_eq!(detail("scopes for roles"), "no scope needed");
    assert!(!detail("token scopes").contains("lacks"));
}

#[test]
fn check_warns_for_a_read_only_token_without_graphql() {
    let token = SimToken::new(
        "bkua_rest_read_only",
        ["read_user", "read_organizations", "read_teams"],
        0,
    );
    let sim = Sim::start(SimConfig::default().with_token(token));
    let run = sim.run_with("bkua_rest_read_only", &["check"]);
    assert_eq!(run.code, 0, "warnings only\n{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("0 failed"), "{}", run.stdout);
    let json = sim
        .run_with("bkua_rest_read_only", &["check", "--json"])
        .json();
    assert_eq!(json["ok"], true);
    let checks = array(&json["checks"]);
    let warned: Vec<(&str, &str)> = checks
        .iter()
        .filter(|c| c["status"] == "warn")
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["missing_scope"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        warned,
        [
            ("scopes for users", "graphql"),
            ("scopes for grant/revoke/apply", "write_teams")
        ],
        "{json}"
    );
    let scopes = checks
        .iter()
        .find(|c| c["name"] == "token scopes")
        .expect("token scopes");
    assert_eq!(scopes["status"], "pass");
    assert!(
        scopes["detail"]
            .as_str()
            .unwrap()
            .ends_with("lacks graphql write_teams"),
        "{scopes}"
    );
    // The users are still read (over REST).
    let listing = checks
        .iter()
        .find(|c| c["name"] == "user listing")
        .expect("user listing");
    assert_eq!(listing["status"], "pass");
}

#[test]
fn export_of_a_1000_user_org_writes_every_record_once() {
    let dir = temp_dir("export");
    let out = dir.to_str().unwrap();
    let run = embedded(&[
        "export",
        "--out",
        out,
        "--sim-users",
        "1000",
        "--sim-teams",
        "12",
        "--json",
    ])
    .ok();
    let summary = run.json();
    let count = |resource: &str| {
        array(&summary["files"])
            .iter()
            .find(|f| f["resource"] == resource)
            .and_then(|f| f["records"].as_u64())
            .expect("counted")
    };
    assert_eq!(count("users"), 1000);
    assert_eq!(count("groups"), 12);
    assert_eq!(count("roles"), 4);
    assert_eq!(count("organizations"), 1);

    let read = |name: &str| -> Vec<Value> {
        std::fs::read_to_string(dir.join(name))
            .expect(name)
            .lines()
            .map(|l| serde_json::from_str(l).expect("NDJSON line"))
            .collect()
    };
    let users = read("users.ndjson");
    assert_eq!(users.len(), 1000);
    let ids: HashSet<_> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1000, "each user exactly once");
    let memberships = read("group_memberships.ndjson");
    let pairs: HashSet<_> = memberships
        .iter()
        .map(|m| {
            (
                m["group_id"].as_str().unwrap(),
                m["user_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs.len(),
        memberships.len(),
        "each membership exactly once"
    );
    assert_eq!(count("group_memberships"), memberships.len() as u64);
    // The users' own group lists and the groups' member lists agree exactly.
    let from_users: HashSet<_> = users
        .iter()
        .flat_map(|u| {
            array(&u["groups"])
                .iter()
                .map(|g| (g["id"].as_str().unwrap(), u["id"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(from_users, pairs);
    assert_eq!(read("groups.ndjson").len(), 12);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());

    let json_dir = temp_dir("export-json");
    let table = embedded(&[
        "export",
        "--out",
        json_dir.to_str().unwrap(),
        "--format",
        "json",
    ])
    .ok();
    assert!(table.stdout.contains("| RESOURCE") && table.stdout.contains("users.json"));
    let users: Value =
        serde_json::from_str(&std::fs::read_to_string(json_dir.join("users.json")).unwrap())
            .expect("one JSON array");
    assert_eq!(array(&users).len(), 25);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&json_dir);
}

#[test]
fn proxy_passes_requests_through() {
    let teams = embedded(&["proxy", "GET", "/v2/organizations/acme-inc/teams"]).ok();
    assert!(teams.stderr.contains("HTTP 200"), "{}", teams.stderr);
    assert_eq!(array(&teams.json()).len(), 6);
    let paged = embedded(&[
        "proxy",
        "GET",
        "/v2/organizations/acme-inc/members",
        "--query",
        "per_page=3",
        "--json",
    ])
    .ok()
    .json();
    assert_eq!(paged["status"], 200);
    assert_eq!(array(&paged["body"]).len(), 3);
    let refused = embedded(&["proxy", "GET", "/v2/organizations/acme-inc/../x"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let missing = embedded(&["proxy", "GET", "/v2/organizations/acme-inc/teams/nope"]);
    assert_eq!(missing.code, 5, "{}", missing.stderr);
}

#[test]
fn grant_revoke_plan_and_apply_against_one_simulator() {
    let sim = Sim::start(SimConfig::default());
    let snap = sim.sim().snapshot();
    let team = snap
        .team_by_slug("platform")
        .expect("platform team")
        .clone();
    assert!(
        snap.team_role(&team.uuid, &snap.members[0].user_uuid)
            .is_none(),
        "the token's own user is not on the team (nobody may change their own membership)"
    );
    // Member 0 owns the default token (nobody may change their own membership).
    let outsider = snap
        .members
        .iter()
        .skip(1)
        .find(|m| snap.team_role(&team.uuid, &m.user_uuid).is_none())
        .expect("someone outside the team")
        .clone();

    let created = sim
        .run(&["grant", "platform", &outsider.email, "--role", "maintainer"])
        .ok();
    assert!(created.stdout.starts_with("created:"), "{}", created.stdout);
    assert_eq!(
        sim.sim()
            .snapshot()
            .team_role(&team.uuid, &outsider.user_uuid),
        Some(TeamRole::Maintainer)
    );
    let again = sim
        .run(&["grant", "platform", &outsider.email, "--role", "maintainer"])
        .ok();
    assert!(again.stdout.starts_with("unchanged:"), "{}", again.stdout);
    let changed = sim
        .run(&[
            "grant",
            &team.uuid,
            &outsider.user_uuid,
            "--role",
            "member",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(changed["outcome"], "role_changed");
    assert_eq!(changed["previous_role_id"], "team:maintainer");
    assert_eq!(changed["role_id"], "team:member");
    let removed = sim.run(&["revoke", "platform", &outsider.email]).ok();
    assert!(removed.stdout.starts_with("removed:"), "{}", removed.stdout);
    let absent = sim.run(&["revoke", "platform", &outsider.email]).ok();
    assert!(
        absent.stdout.starts_with("already_absent:"),
        "{}",
        absent.stdout
    );
    let stranger = sim.run(&["grant", "platform", "stranger@elsewhere.example"]);
    assert_eq!(stranger.code, 8);
    assert!(
        stranger.stdout.starts_with("user_not_in_organization:"),
        "{}",
        stranger.stdout
    );
    let no_group = sim.run(&["revoke", "no-such-team", &outsider.email]);
    assert_eq!(no_group.code, 8);
    assert!(
        no_group.stdout.starts_with("group_not_found:"),
        "{}",
        no_group.stdout
    );
    let bad_role = sim.run(&["grant", "platform", &outsider.email, "--role", "owner"]);
    assert_eq!(bad_role.code, 2, "{}", bad_role.stderr);

    // plan/apply: the platform team becomes exactly {outsider: maintainer, first current
    // member: member}.
    let keep = snap
        .members_of(&team.uuid)
        .into_iter()
        .find(|tm| tm.user_uuid != snap.members[0].user_uuid)
        .expect("a current member")
        .clone();
    let keep_email = &snap.member(&keep.user_uuid).unwrap().email;
    let before = snap.members_of(&team.uuid).len();
    let dir = temp_dir("provision");
    let file = dir.join("desired.json");
    std::fs::write(
        &file,
        serde_json::json!({"groups": [{
            "group": "platform",
            "members": [
                {"user": outsider.email, "role": "maintainer"},
                {"user": keep_email, "role": "member"}
            ],
            "remove_unlisted": true
        }]})
        .to_string(),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let state_before = sim.sim().snapshot();
    let plan = sim.run(&["plan", file, "--json"]).ok().json();
    let changes = array(&plan["changes"]);
    // Add the outsider, remove everyone but `keep`, and change `keep`'s role if needed.
    let keep_change = usize::from(keep.role != TeamRole::Member);
    assert_eq!(changes.len(), 1 + (before - 1) + keep_change);
    assert!(array(&plan["problems"]).is_empty());
    assert_eq!(sim.sim().snapshot(), state_before, "plan writes nothing");
    let plan_table = sim.run(&["plan", file]).ok();
    assert!(
        plan_table.stdout.contains("| ACTION") && plan_table.stdout.contains("Nothing was written")
    );

    // Removals without a terminal to ask: refused until --yes, nothing written.
    let unconfirmed = sim.run(&["apply", file]);
    assert_eq!(unconfirmed.code, 2, "{}", unconfirmed.stderr);
    assert!(
        unconfirmed.stderr.contains("--yes") && unconfirmed.stderr.contains("not a terminal"),
        "{}",
        unconfirmed.stderr
    );
    assert!(unconfirmed.stdout.is_empty(), "{}", unconfirmed.stdout);
    assert_eq!(
        sim.sim().snapshot(),
        state_before,
        "unconfirmed apply writes nothing"
    );

    let applied = sim.run(&["apply", "--yes", file]).ok();
    assert!(applied.stdout.contains("created"), "{}", applied.stdout);
    assert!(applied.stdout.contains("0 failed"), "{}", applied.stdout);
    let after = sim.sim().snapshot();
    let mut members: Vec<_> = after
        .members_of(&team.uuid)
        .into_iter()
        .map(|tm| (tm.user_uuid.clone(), tm.role))
        .collect();
    members.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected = vec![
        (outsider.user_uuid.clone(), TeamRole::Maintainer),
        (keep.user_uuid.clone(), TeamRole::Member),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(members, expected);

    // Converged: nothing to remove, so no --yes is needed.
    let second = sim.run(&["apply", file]).ok();
    assert!(
        second.stdout.contains("Nothing changed"),
        "{}",
        second.stdout
    );
    let noop = sim.run(&["plan", file]).ok();
    assert!(noop.stdout.contains("No changes"), "{}", noop.stdout);

    // Unresolvable entries: exit 8, nothing attempted for them.
    let broken = dir.join("broken.json");
    std::fs::write(
        &broken,
        r#"{"groups":[{"group":"no-such-team","members":[]},{"group":"platform","members":[{"user":"ghost@nowhere.example","role":"member"}],"remove_unlisted":false}]}"#,
    )
    .unwrap();
    let failed = sim.run(&["apply", broken.to_str().unwrap()]);
    assert_eq!(failed.code, 8, "{}", failed.stdout);
    assert!(
        failed.stdout.contains("group_not_found")
            && failed.stdout.contains("user_not_in_organization")
    );
    assert!(failed.stderr.contains("apply refused"), "{}", failed.stderr);
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "{\"grups\": []}").unwrap();
    let garbage = sim.run(&["plan", garbage.to_str().unwrap()]);
    assert_eq!(garbage.code, 2);
    assert!(
        garbage.stderr.contains("did you mean `groups`?"),
        "{}",
        garbage.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_names_a_missing_scope() {
    let no_teams = SimToken::new(
        "bkua_no_read_teams",
        ["read_user", "read_organizations", "graphql"],
        0,
    );
    let sim = Sim::start(SimConfig::default().with_token(no_teams));
    let run = sim.run_with("bkua_no_read_teams", &["check"]);
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    let fails: Vec<&str> = run.stdout.lines().filter(|l| l.contains("FAIL")).collect();
    assert!(!fails.is_empty(), "{}", run.stdout);
    assert!(
        fails.iter().all(|l| l.contains("read_teams")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("team listing"));
    let json = sim
        .run_with("bkua_no_read_teams", &["check", "--json"])
        .json();
    assert_eq!(json["ok"], false);
    let groups = array(&json["checks"])
        .iter()
        .find(|c| c["name"] == "scopes for groups")
        .expect("groups check");
    assert_eq!(groups["status"], "fail");
    assert_eq!(groups["missing_scope"], "read_teams");
    let listing = array(&json["checks"])
        .iter()
        .find(|c| c["name"] == "team listing")
        .expect("team listing");
    assert_eq!(listing["status"], "fail");
    assert_eq!(listing["missing_scope"], "read_teams");

    // The same token on a command: exit 4 and the scope named.
    let groups = sim.run_with("bkua_no_read_teams", &["groups"]);
    assert_eq!(groups.code, 4);
    assert!(
        groups.stderr.contains("lacks the read_teams scope"),
        "{}",
        groups.stderr
    );
}

#[test]
fn errors_have_exit_codes_and_actionable_messages() {
    let read_only = SimToken::new(
        "bkua_read_only",
        ["read_user", "read_organizations", "read_teams", "graphql"],
        0,
    );
    let sim = Sim::start(SimConfig::default().with_token(read_only));

    let bad_token = sim.run_with("bkua_not_a_real_token", &["users"]);
    assert_eq!(bad_token.code, 3);
    assert!(
        bad_token.stderr.contains("token was rejected")
            && bad_token.stderr.contains("BUILDKITE_API_TOKEN")
    );

    let unknown_org = finish(
        unidir()
            .env("BUILDKITE_API_TOKEN", sim.sim().default_token())
            .args([
                "--org",
                "no-such-org",
                "--api-url",
                sim.sim().base_url().as_str(),
            ])
            .args(["--graphql-url", sim.sim().graphql_url().as_str(), "groups"]),
    );
    assert_eq!(unknown_org.code, 5);
    assert!(
        unknown_org
            .stderr
            .contains("organization \"no-such-org\" not found or not visible"),
        "{}",
        unknown_org.stderr
    );

    let no_write = sim.run_with(
        "bkua_read_only",
        &["grant", "platform", &sim.sim().snapshot().members[3].email],
    );
    assert_eq!(no_write.code, 4);
    assert!(
        no_write.stderr.contains("write_teams"),
        "{}",
        no_write.stderr
    );

    sim.sim().inject(Fault::rate_limited(600, LimitScope::Org));
    let limited = sim.run(&["groups", "--json"]);
    assert_eq!(limited.code, 6);
    assert!(
        limited.stdout.is_empty(),
        "no half array: {}",
        limited.stdout
    );
    let body: Value = serde_json::from_str(limited.stderr.trim()).expect("ErrorBody on stderr");
    assert_eq!(body["kind"], "rate_limited");
    assert_eq!(body["retry_after_secs"], 600);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("retry after 600 s")
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let down = finish(
        unidir()
            .env("BUILDKITE_API_TOKEN", "bkua_anything")
            .args(["--org", "acme-inc"])
            .args(["--api-url", &format!("http://127.0.0.1:{port}")])
            .args([
                "--graphql-url",
                &format!("http://127.0.0.1:{port}/v1"),
                "groups",
            ]),
    );
    assert_eq!(down.code, 7, "{}", down.stderr);
    assert!(
        down.stderr.contains("could not be reached"),
        "{}",
        down.stderr
    );

    let sim_flag_with_token = sim.run(&["users", "--sim-users", "5"]);
    assert_eq!(sim_flag_with_token.code, 2);
    let org_without_token = embedded(&["--org", "acme-inc", "users"]);
    assert_eq!(org_without_token.code, 2);
    assert!(
        org_without_token
            .stderr
            .contains("BUILDKITE_API_TOKEN is not set")
    );
    assert_eq!(embedded(&["no-such-command"]).code, 2);
}

/// Issue 16 A1: against a server that counts each edge object too (stricter than Buildkite's
/// documents) and charges the requested points before a query runs, `users` and `export` on
/// a 237-member organization complete with the same records as under the documented rule,
/// get no 429, and say on stderr what they adapted to (they used to exit 2: "Query has
/// complexity of 64504, which exceeds max complexity of 50000").
#[test]
fn users_and_export_complete_under_a_stricter_cost_rule() {
    use unidir_buildkite_sim::{Accounting, CostRule};
    let config = |rule, accounting| {
        SimConfig::default()
            .with_users(237)
            .with_teams(12)
            .with_cost_rule(rule)
            .with_accounting(accounting)
    };
    let records = |sim: &Sim| {
        let users = sim.run(&["users", "--json"]).ok();
        let mut users: Vec<Value> = array(&users.json()).clone();
        users.sort_by_key(|u| u["id"].as_str().unwrap_or_default().to_owned());
        let dir = temp_dir("export-cost");
        let run = sim
            .run(&["export", "--out", dir.to_str().unwrap(), "--json"])
            .ok();
        let mut lines: Vec<String> = ["users.ndjson", "group_memberships.ndjson"]
            .iter()
            .flat_map(|f| {
                std::fs::read_to_string(dir.join(f))
                    .expect(f)
                    .lines()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        lines.sort();
        let _ = std::fs::remove_dir_all(&dir);
        (users, lines, run.stderr)
    };
    let documented = Sim::start(config(CostRule::Documented, Accounting::ChargeActual));
    let (users, exported, _) = records(&documented);
    assert_eq!(users.len(), 237);
    for accounting in [Accounting::ChargeActual, Accounting::ChargeRequested] {
        let strict = Sim::start(config(CostRule::EdgesCharged, accounting));
        let before = strict.sim().stats();
        let (strict_users, strict_exported, stderr) = records(&strict);
        let after = strict.sim().stats();
        assert_eq!(strict_users, users, "{accounting:?}: the same users");
        assert_eq!(strict_exported, exported, "{accounting:?}: the same export");
        assert_eq!(
            after.graphql_rate_limited, before.graphql_rate_limited,
            "{accounting:?}: no 429"
        );
        assert!(
            stderr.contains("unidir: warning:") && stderr.contains("Buildkite"),
            "{accounting:?}: the adaptation is said: {stderr}"
        );
    }
}
