//! What reaches stdout and stderr: names that try to drive the terminal, readers that go
//! away early (`| head -1`), long lists, and numeric flags out of range.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::Value;
use unidir_buildkite_sim::{MemberSpec, OrgRole, OrgSpec, SimConfig, TeamRole, TeamSpec};

use common::{Sim, array, embedded};

/// A name with an SGR escape (red), a CR/LF pair that would forge a line, and a
/// right-to-left override.
const EVIL_NAME: &str = "Eve\u{1b}[31mRed\r\nforged line\u{202E}gnp.exe";
const EVIL_TEAM: &str = "Ops\u{1b}]0;pwned\u{7}\u{2066}x";

/// Whether `text` holds anything that can drive a terminal beyond plain line breaks.
fn has_raw_control(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
    })
}

fn hostile_sim() -> Sim {
    let spec = OrgSpec::new(
        vec![
            MemberSpec::new("Admin", "admin@acme.example", OrgRole::Admin),
            MemberSpec::new(EVIL_NAME, "eve@acme.example", OrgRole::Member),
        ],
        vec![
            TeamSpec::new("Everyone")
                .default_team()
                .with_member("eve@acme.example", TeamRole::Member),
            TeamSpec::new(EVIL_TEAM)
                .with_slug("ops")
                .with_member("eve@acme.example", TeamRole::Maintainer),
        ],
    );
    Sim::start(SimConfig::default().with_spec(spec))
}

#[test]
fn tables_and_error_lines_escape_control_and_bidi_characters_json_stays_exact() {
    let sim = hostile_sim();
    for args in [
        &["users"][..],
        &["groups"],
        &["members", "ops"],
        &["user", "eve@acme.example"],
    ] {
        let run = sim.run(args).ok();
        assert!(!has_raw_control(&run.stdout), "{args:?}: {:?}", run.stdout);
        assert!(!has_raw_control(&run.stderr), "{args:?}: {:?}", run.stderr);
    }
    let users = sim.run(&["users"]).ok();
    assert!(
        users
            .stdout
            .contains("Eve\\u{1b}[31mRed\\u{d}\\u{a}forged line\\u{202e}gnp.exe"),
        "{}",
        users.stdout
    );
    let groups = sim.run(&["groups"]).ok();
    assert!(
        groups.stdout.contains("Ops\\u{1b}]0;pwned\\u{7}\\u{2066}x"),
        "{}",
        groups.stdout
    );

    // JSON and NDJSON carry the names exactly.
    let json = sim.run(&["users", "--json"]).ok().json();
    assert!(array(&json).iter().any(|u| u["name"] == EVIL_NAME));
    let ndjson = sim.run(&["groups", "--ndjson"]).ok();
    let names: Vec<Value> = ndjson
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["name"].clone())
        .collect();
    assert!(names.iter().any(|n| n == EVIL_TEAM), "{names:?}");

    // An error line that quotes caller input verbatim is escaped too; its JSON body is not.
    let lookup = "x\u{1b}[2J\r\n\u{202E}@acme.example";
    let missing = sim.run(&["user", lookup]);
    assert_eq!(missing.code, 5, "{}", missing.stderr);
    assert!(!has_raw_control(&missing.stderr), "{:?}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("x\\u{1b}[2J\\u{d}\\u{a}\\u{202e}@acme.example"),
        "{}",
        missing.stderr
    );
    let body = sim.run(&["user", lookup, "--json"]);
    assert_eq!(body.code, 5);
    let body: Value = serde_json::from_str(body.stderr.trim()).expect("ErrorBody line");
    assert!(body["message"].as_str().unwrap().contains(lookup));
}

/// Runs `args` with a stdout pipe closed after the first line.
fn read_one_line_then_close(sim: &Sim, args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = sim
        .command_with(sim.sim().default_token())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn unidir");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("first line");
    assert!(!first.is_empty(), "{args:?} printed nothing");
    drop(reader);
    let output = child.wait_with_output().expect("wait");
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_reader_that_goes_away_ends_every_output_mode_quietly() {
    // 2000 users print far more than a pipe buffer holds, so the binary is still writing
    // when the reader closes its end.
    let sim = Sim::start(SimConfig::default().with_users(2000));
    for mode in [&["--ndjson"][..], &["--json"], &[]] {
        let mut args = vec!["users"];
        args.extend_from_slice(mode);
        let (status, stderr) = read_one_line_then_close(&sim, &args);
        assert_eq!(status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[test]
fn long_lists_stream_as_one_json_array_and_tables_in_blocks() {
    let sim = Sim::start(SimConfig::default().with_users(2500).with_teams(3));
    let json = sim.run(&["users", "--json"]).ok();
    let users = json.json();
    assert_eq!(array(&users).len(), 2500);
    assert!(json.stdout.starts_with("[\n  {\n    \"id\": ") && json.stdout.ends_with("\n  }\n]\n"));
    let lines: Vec<Value> = sim
        .run(&["users", "--ndjson"])
        .ok()
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(array(&users), &lines, "the same users in the same order");

    let table = sim.run(&["users"]).ok();
    assert!(
        table.stdout.ends_with("(2500 users)\n"),
        "{}",
        &table.stdout[table.stdout.len() - 200..]
    );
    let headers = table
        .stdout
        .lines()
        .filter(|l| l.starts_with("| ID "))
        .count();
    assert_eq!(headers, 3, "blocks of 1000 rows, each with its header");
    let rows = table
        .stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ID "))
        .count();
    assert_eq!(rows, 2500);
}

#[test]
fn numeric_flags_are_bounded_and_say_their_range() {
    for (args, range) in [
        (
            &["users", "--sim-users", "18446744073709551615"][..],
            "1..=200000",
        ),
        (&["users", "--sim-users", "50000000"], "1..=200000"),
        (&["users", "--sim-users", "0"], "1..=200000"),
        (&["groups", "--sim-teams", "4294967296"], "1..=10000"),
        (&["users", "--limit", "0"], "1..=100"),
        (&["users", "--limit", "101"], "1..=100"),
        (&["members", "everyone", "--limit", "4294967295"], "1..=100"),
    ] {
        let run = embedded(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(range), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: nothing ran");
        assert!(
            !run.stderr.contains("simulated"),
            "{args:?}: refused before the simulator started"
        );
    }
    let top = embedded(&["users", "--limit", "100", "--page", "--json"]).ok();
    assert_eq!(top.json()["result_count"], 25);
}
