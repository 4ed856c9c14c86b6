//! Careless callers (issue 16, C8–C10, D13): `plan` refuses what `apply` would, a group
//! listed twice is refused, cursors keep their page size, and local failures say they are
//! local. Each refusal is checked against the simulator's state: nothing was written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::json;
use unidir_buildkite_sim::{SimConfig, SimToken};

use common::{Sim, array, embedded, temp_dir, unidir};

fn write(name: &str, text: &str) -> String {
    let dir = temp_dir(&format!("careless-{name}"));
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, text).unwrap();
    file.to_str().unwrap().to_owned()
}

/// The uuid of an organization member outside the platform team, and the team's uuid.
fn outsider(sim: &Sim) -> (String, String) {
    let snap = sim.sim().snapshot();
    let team = snap.team_by_slug("platform").expect("platform");
    let user = snap
        .members
        .iter()
        .skip(1)
        .find(|m| snap.team_role(&team.uuid, &m.user_uuid).is_none())
        .expect("an outsider")
        .user_uuid
        .clone();
    (user, team.uuid.clone())
}

#[test]
fn plan_refuses_every_user_reference_apply_would_refuse() {
    let sim = Sim::start(SimConfig::default());
    let before = sim.sim().snapshot();
    let (outside, _) = outsider(&sim);
    let file = write(
        "bad-users",
        &json!({"groups": [{"group": "platform", "members": [
            {"user": outside, "role": "member"},
            {"user": "00000000-0000-4000-8000-000000000000"},
            {"user": "alice"},
            {"user": ""},
            {"user": "nobody@nowhere.example"},
        ]}]})
        .to_string(),
    );
    let plan = sim.run(&["plan", &file, "--json"]);
    assert_eq!(plan.code, 8, "{}\n{}", plan.stdout, plan.stderr);
    let json = plan.json();
    let problems = array(&json["problems"]);
    let users: Vec<&str> = problems
        .iter()
        .map(|p| p["user"].as_str().unwrap())
        .collect();
    assert_eq!(
        users,
        [
            "00000000-0000-4000-8000-000000000000",
            "alice",
            "",
            "nobody@nowhere.example"
        ],
        "{problems:?}"
    );
    assert_eq!(problems[0]["outcome"], "user_not_in_organization");
    assert_eq!(problems[1]["outcome"], "invalid_user");
    assert!(
        problems[1]["message"].as_str().unwrap().contains("UUID"),
        "{problems:?}"
    );
    assert_eq!(problems[2]["outcome"], "invalid_user");
    let apply = sim.run(&["apply", "--yes", &file]);
    assert_eq!(apply.code, 8, "{}", apply.stderr);
    assert!(apply.stderr.contains("apply refused"), "{}", apply.stderr);
    assert_eq!(sim.sim().snapshot(), before, "nothing was written");
}

#[test]
fn an_upper_case_uuid_is_the_same_user() {
    let sim = Sim::start(SimConfig::default());
    let (outside, team) = outsider(&sim);
    let file = write(
        "upper",
        &json!({"groups": [{"group": "platform",
            "members": [{"user": outside.to_ascii_uppercase(), "role": "member"}]}]})
        .to_string(),
    );
    let plan = sim.run(&["plan", &file, "--json"]).ok().json();
    let changes = array(&plan["changes"]);
    assert_eq!(changes.len(), 1, "{plan}");
    assert_eq!(changes[0]["user_id"], outside.as_str(), "normalised");
    sim.run(&["apply", "--yes", &file]).ok();
    let after = sim.sim().snapshot();
    assert!(after.team_role(&team, &outside).is_some());
    let again = sim.run(&["plan", &file, "--json"]).ok().json();
    assert!(array(&again["changes"]).is_empty(), "{again}");
}

#[test]
fn fifty_emails_are_resolved_without_one_request_each() {
    let sim = Sim::start(SimConfig::default().with_users(60));
    let snap = sim.sim().snapshot();
    let members: Vec<_> = snap
        .members
        .iter()
        .skip(1)
        .take(50)
        .map(|m| json!({"user": m.email}))
        .collect();
    let file = write(
        "fifty",
        &json!({"groups": [{"group": "platform", "members": members}]}).to_string(),
    );
    let before = sim.sim().request_count();
    let plan = sim.run(&["plan", &file, "--json"]).ok().json();
    let requests = sim.sim().request_count() - before;
    assert!(array(&plan["problems"]).is_empty(), "{plan}");
    assert!(
        requests < 20,
        "{requests} requests for 50 e-mails in a 60-member organization"
    );
}

#[test]
fn a_group_listed_twice_is_refused_however_it_is_named() {
    let sim = Sim::start(SimConfig::default());
    let before = sim.sim().snapshot();
    let (outside, team) = outsider(&sim);
    for (name, second) in [("twice-slug", "platform"), ("twice-id", team.as_str())] {
        let file = write(
            name,
            &json!({"groups": [
                {"group": "platform", "members": [{"user": outside}], "remove_unlisted": false},
                {"group": second, "members": [{"user": outside}], "remove_unlisted": true},
            ]})
            .to_string(),
        );
        for args in [&["plan", &file][..], &["apply", "--yes", &file]] {
            let run = sim.run(args);
            assert_eq!(run.code, 2, "{args:?}: {}\n{}", run.stdout, run.stderr);
            assert!(run.stderr.contains("listed twice"), "{}", run.stderr);
        }
    }
    assert_eq!(sim.sim().snapshot(), before, "nothing was written");
}

#[test]
fn a_cursor_keeps_its_page_size_on_every_list() {
    let rest = SimToken::new(
        "bkua_rest_only",
        ["read_user", "read_organizations", "read_teams"],
        0,
    );
    let sim = Sim::start(SimConfig::default().with_token(rest));
    let token = sim.sim().default_token().to_owned();
    for (token, list) in [
        (token.as_str(), &["users"][..]),
        ("bkua_rest_only", &["users"]),
        (token.as_str(), &["groups"]),
        (token.as_str(), &["members", "everyone"]),
    ] {
        let mut first = list.to_vec();
        first.extend(["--page", "--limit", "2", "--json"]);
        let page = sim.run_with(token, &first).ok().json();
        assert_eq!(array(&page["result"]).len(), 2, "{list:?}: {page}");
        let cursor = page["next_cursor"]
            .as_str()
            .expect("a next page")
            .to_owned();
        let mut next = list.to_vec();
        next.extend(["--cursor", cursor.as_str(), "--json"]);
        let page = sim.run_with(token, &next).ok().json();
        assert_eq!(
            array(&page["result"]).len(),
            2,
            "{list:?} at the cursor: {page}"
        );
        next.extend(["--limit", "5"]);
        let conflict = sim.run_with(token, &next);
        assert_eq!(conflict.code, 2, "{list:?}: {}", conflict.stderr);
        assert!(
            conflict.stderr.contains('5') && conflict.stderr.contains("page size 2"),
            "{list:?}: {}",
            conflict.stderr
        );
        let last = next.len() - 1;
        next[last] = "2";
        sim.run_with(token, &next).ok();
    }
}

#[test]
fn a_desired_state_file_may_start_with_a_bom() {
    let file = write("bom", "\u{feff}{\"groups\": []}");
    let run = embedded(&["plan", &file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_full_stdout_is_a_local_output_error() {
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = unidir()
        .args(["roles", "--json"])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(9), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(last).expect("a JSON error");
    assert_eq!(body["kind"], "local_io", "{stderr}");
    assert!(
        body["message"].as_str().unwrap().contains("stdout"),
        "{stderr}"
    );
}

#[test]
fn export_to_a_file_says_it_needs_a_directory() {
    let dir = temp_dir("careless-export");
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let run = embedded(&["export", "--out", file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not a directory") && !run.stderr.contains("File exists"),
        "{}",
        run.stderr
    );
}
