//! `plan`/`apply` refuse what would surprise: a misspelt key, a plan with problems,
//! removals nobody confirmed, and inputs too large to be a desired state. Each refusal is
//! checked against the simulator's state: nothing was written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use serde_json::json;
use unidir_buildkite_sim::{SimConfig, SimSnapshot};

use common::{Sim, array, embedded, temp_dir};

/// A desired-state file in a fresh directory.
fn write(name: &str, value: &serde_json::Value) -> String {
    let dir = temp_dir(&format!("provision-{name}"));
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, value.to_string()).unwrap();
    file.to_str().unwrap().to_owned()
}

/// Emails of the platform team's members (other than the token's own user) and of one
/// organization member outside it.
fn platform(snap: &SimSnapshot) -> (Vec<String>, String) {
    let team = snap.team_by_slug("platform").expect("platform");
    let own = &snap.members[0].user_uuid;
    let inside: Vec<String> = snap
        .members_of(&team.uuid)
        .into_iter()
        .filter(|tm| &tm.user_uuid != own)
        .map(|tm| snap.member(&tm.user_uuid).unwrap().email.clone())
        .collect();
    let outside = snap
        .members
        .iter()
        .skip(1)
        .find(|m| snap.team_role(&team.uuid, &m.user_uuid).is_none())
        .expect("an outsider")
        .email
        .clone();
    assert!(!inside.is_empty());
    (inside, outside)
}

#[test]
fn a_misspelt_key_is_refused_before_anything_is_planned() {
    let sim = Sim::start(SimConfig::default());
    let before = sim.sim().snapshot();
    let (_, outside) = platform(&before);
    // The typo that used to empty a group: `remove_unlsted` was ignored and removal was
    // the default.
    let file = write(
        "typo",
        &json!({"groups": [{"group": "platform",
            "members": [{"user": outside, "role": "member"}],
            "remove_unlsted": false}]}),
    );
    for args in [&["plan", &file][..], &["apply", "--yes", &file]] {
        let run = sim.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("unknown key `remove_unlsted`; did you mean `remove_unlisted`?"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
    assert_eq!(sim.sim().snapshot(), before, "nothing was written");
}

#[test]
fn unlisted_members_stay_unless_the_group_opts_in() {
    let sim = Sim::start(SimConfig::default());
    let before = sim.sim().snapshot();
    let (inside, outside) = platform(&before);
    let file = write(
        "additive",
        &json!({"groups": [{"group": "platform",
            "members": [{"user": outside, "role": "member"}]}]}),
    );
    let plan = sim.run(&["plan", &file, "--json"]).ok().json();
    let changes = array(&plan["changes"]);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["kind"], "add");
    // Nothing is removed, so apply needs no confirmation.
    sim.run(&["apply", &file]).ok();
    let after = sim.sim().snapshot();
    let team = after.team_by_slug("platform").unwrap();
    for email in inside.iter().chain([&outside]) {
        let member = after.members.iter().find(|m| &m.email == email).unwrap();
        assert!(
            after.team_role(&team.uuid, &member.user_uuid).is_some(),
            "{email}"
        );
    }
}

#[test]
fn apply_refuses_a_plan_with_problems_and_writes_nothing() {
    let sim = Sim::start(SimConfig::default());
    let before = sim.sim().snapshot();
    let (_, outside) = platform(&before);
    // One change that could be applied, and one problem: nothing may be applied.
    let file = write(
        "problems",
        &json!({"groups": [
            {"group": "platform", "members": [{"user": outside, "role": "maintainer"}]},
            {"group": "no-such-team", "members": []}
        ]}),
    );
    for format in [None, Some("--json")] {
        let mut args = vec!["apply", "--yes", file.as_str()];
        args.extend(format);
        let run = sim.run(&args);
        assert_eq!(run.code, 8, "{format:?}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("group_not_found"), "{}", run.stdout);
        assert!(run.stderr.contains("apply refused"), "{}", run.stderr);
        assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
        if format.is_some() {
            let report = run.json();
            assert!(array(&report["applied"]).is_empty());
            assert_eq!(array(&report["problems"]).len(), 1);
        }
    }
    assert_eq!(sim.sim().snapshot(), before, "nothing was written");
    let plan = sim.run(&["plan", &file]);
    assert_eq!(plan.code, 8);
    assert!(
        plan.stdout.contains("refuses a plan with problems"),
        "{}",
        plan.stdout
    );
}

#[test]
fn removals_need_confirmation_and_yes_applies_them() {
    let sim = Sim::start(SimConfig::default());
    let before = sim.sim().snapshot();
    let (inside, outside) = platform(&before);
    let file = write(
        "purge",
        &json!({"groups": [{"group": "platform",
            "members": [{"user": outside, "role": "member"}],
            "remove_unlisted": true}]}),
    );
    let plan = sim.run(&["plan", &file]).ok();
    assert!(
        plan.stdout.contains("apply asks for confirmation"),
        "{}",
        plan.stdout
    );
    for format in [None, Some("--json"), Some("--ndjson")] {
        let mut args = vec!["apply", file.as_str()];
        args.extend(format);
        let run = sim.run(&args);
        assert_eq!(run.code, 2, "{format:?}: {}", run.stderr);
        assert!(run.stderr.contains("--yes"), "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{} group member(s)", inside.len())),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
    assert_eq!(sim.sim().snapshot(), before, "nothing was written");
    let applied = sim.run(&["apply", "-y", &file]).ok();
    assert!(applied.stdout.contains("removed"), "{}", applied.stdout);
    let after = sim.sim().snapshot();
    let team = after.team_by_slug("platform").unwrap();
    let left: Vec<_> = after
        .members_of(&team.uuid)
        .into_iter()
        .map(|tm| after.member(&tm.user_uuid).unwrap().email.clone())
        .collect();
    assert_eq!(left, [outside], "only the listed member is left");
}

#[test]
fn endless_and_oversized_inputs_fail_fast_before_parsing() {
    let started = Instant::now();
    for args in [
        &["plan", "/dev/zero"][..],
        &["apply", "--yes", "/dev/zero"],
        &[
            "proxy",
            "POST",
            "/v2/organizations/acme-inc/teams",
            "-d",
            "@/dev/zero",
        ],
        &["proxy", "--graphql", "@/dev/zero"],
    ] {
        let run = embedded(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("larger than 16 MiB"),
            "{args:?}: {}",
            run.stderr
        );
    }
    // Generous for a debug build on a shared machine; an unbounded read never ends.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );

    let dir = temp_dir("provision-large");
    let large = dir.join("large.json");
    let padding = " ".repeat(16 * 1024 * 1024);
    std::fs::write(&large, format!("{{\"groups\":[]}}{padding}")).unwrap();
    let run = embedded(&["plan", large.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("larger than 16 MiB"), "{}", run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}
