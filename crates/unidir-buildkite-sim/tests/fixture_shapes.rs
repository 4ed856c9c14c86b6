//! The simulator answers with the same shapes as the recorded fixtures
//! (`fixtures/buildkite/<scenario>/*.json`): same object keys (recursively; arrays are
//! compared element-wise against the fixture's first element), same JSON value kinds (null
//! matches anything), same status, same media type and the same set of `RateLimit-*` and
//! `Link` header names. The simulator serves [`OrgSpec::acme`], the fixtures' organization,
//! so every fixture request can be replayed unchanged.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{MEMBER_TEAMS_QUERY, MEMBERS_QUERY, Resp, send, start, url};
use reqwest::Method;
use serde_json::{Value, json};
use unidir_buildkite_sim::{Fault, LimitScope, OrgSpec, RunningSimulator, SimConfig, SimToken};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/buildkite")
}

/// The `*.json` files of one scenario, in name order; fails clearly when there are none.
fn fixture_files(scenario: &str) -> Vec<PathBuf> {
    let dir = fixtures_dir().join(scenario);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    assert!(
        !files.is_empty(),
        "no recorded fixtures in {}: the simulator's shape test needs fixtures/buildkite/{scenario}/*.json \
         (see fixtures/buildkite/README.md)",
        dir.display()
    );
    files
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `aligned`: `actual` sits at the same position as `expected` (every array index on the way
/// was 0), so an empty array where the fixture has items means the data differs.
fn shape_diff(at: &str, expected: &Value, actual: &Value, aligned: bool, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(e), Value::Object(a)) => {
            let ek: BTreeSet<&String> = e.keys().collect();
            let ak: BTreeSet<&String> = a.keys().collect();
            if ek != ak {
                out.push(format!(
                    "{at}: keys differ; missing {:?}, extra {:?}",
                    ek.difference(&ak).collect::<Vec<_>>(),
                    ak.difference(&ek).collect::<Vec<_>>()
                ));
            }
            for key in ek.intersection(&ak) {
                shape_diff(&format!("{at}.{key}"), &e[*key], &a[*key], aligned, out);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let Some(first) = e.first() {
                if a.is_empty() && aligned {
                    out.push(format!("{at}: fixture has items, simulator returned []"));
                }
                for (i, item) in a.iter().enumerate() {
                    shape_diff(&format!("{at}[{i}]"), first, item, aligned && i == 0, out);
                }
            }
        }
        (e, a) if kind(e) != kind(a) => {
            out.push(format!(
                "{at}: fixture has {}, simulator {}",
                kind(e),
                kind(a)
            ));
        }
        _ => {}
    }
}

fn shape_header_names(names: impl Iterator<Item = String>) -> BTreeSet<String> {
    names
        .map(|n| n.to_ascii_lowercase())
        .filter(|n| n.starts_with("ratelimit-") || n == "link")
        .collect()
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Sends the fixture's request and returns its shape differences.
async fn check(sim: &RunningSimulator, path: &Path, token: Option<&str>) -> Vec<String> {
    let fixture = load(path);
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let req = &fixture["request"];
    let method = req["method"].as_str().unwrap_or("GET");
    let mut target = req["path"]
        .as_str()
        .or_else(|| req["path_prefix"].as_str())
        .unwrap_or_else(|| panic!("{name}: request has neither path nor path_prefix"))
        .to_owned();
    if target.ends_with('/') {
        target.push_str("user"); // a concrete path under a prefix such as "/v2/"
    }
    if let Some(query) = req["query"].as_object() {
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        target = format!("{target}?{}", pairs.join("&"));
    }
    let resp: Resp = if method == "POST" && target.starts_with("/v1") {
        let operation = req["graphql"]["operationName"]
            .as_str()
            .unwrap_or("UnidirMembers");
        let variables = match req["graphql"]["variables"].clone() {
            Value::Null => common::member_vars("acme-inc"),
            vars => vars,
        };
        // As the adapter sends it: no optional user field selected.
        let query = if operation == "UnidirMemberTeams" {
            common::as_sent(MEMBER_TEAMS_QUERY)
        } else {
            common::as_sent(MEMBERS_QUERY)
        };
        let body = json!({ "query": query, "operationName": operation, "variables": variables });
        send(Method::POST, sim.graphql_url().as_str(), token, Some(&body)).await
    } else {
        let method = Method::from_bytes(method.as_bytes()).expect("valid method");
        send(method, &url(sim, &target), token, None).await
    };

    let expected = &fixture["response"];
    let mut out = Vec::new();
    let status = expected["status"].as_u64().unwrap_or(0);
    if u64::from(resp.status) != status {
        out.push(format!(
            "status: fixture {status}, simulator {} ({})",
            resp.status, resp.text
        ));
    }
    let headers = expected["headers"].as_object().cloned().unwrap_or_default();
    let want = shape_header_names(headers.keys().cloned());
    let got = shape_header_names(resp.headers.keys().map(|k| k.as_str().to_owned()));
    if want != got {
        out.push(format!("headers: fixture {want:?}, simulator {got:?}"));
    }
    if let Some(ct) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .and_then(|(_, v)| v.as_str())
    {
        let actual = resp
            .header("content-type")
            .map(media_type)
            .unwrap_or_default();
        if media_type(ct) != actual {
            out.push(format!("content-type: fixture {ct}, simulator {actual}"));
        }
    }
    if let Some(body) = expected.get("body") {
        match serde_json::from_str::<Value>(&resp.text) {
            Ok(actual) => shape_diff("body", body, &actual, true, &mut out),
            Err(e) => out.push(format!("body is not JSON ({e}): {}", resp.text)),
        }
    } else if expected.get("body_raw").is_some()
        && serde_json::from_str::<Value>(&resp.text).is_ok()
    {
        out.push("fixture body is not valid JSON but the simulator's is".into());
    }
    out.into_iter().map(|d| format!("{name}: {d}")).collect()
}

async fn acme() -> RunningSimulator {
    start(SimConfig::default().with_spec(OrgSpec::acme())).await
}

#[tokio::test]
async fn fixture_shapes() {
    let sim = acme().await;
    let mut problems = Vec::new();
    let files = fixture_files("acme");
    for file in &files {
        problems.extend(check(&sim, file, Some(sim.default_token())).await);
    }
    assert!(
        problems.is_empty(),
        "{} of {} acme fixtures differ in shape:\n{}",
        problems.len(),
        files.len(),
        problems.join("\n")
    );
}

/// The error scenarios, reproduced with tokens and injected faults.
#[tokio::test]
async fn error_fixture_shapes() {
    let sim = start(
        SimConfig::default()
            .with_spec(OrgSpec::acme())
            .with_token(SimToken::new(
                "bkua_missing_scopes",
                ["read_organizations", "graphql"],
                0,
            ))
            .with_token(SimToken::new(
                "bkua_no_graphql",
                ["read_user", "read_organizations", "read_teams"],
                0,
            )),
    )
    .await;
    let default = sim.default_token().to_owned();
    let cases: Vec<(&str, Option<&str>, Option<Fault>)> = vec![
        ("not_found/01-get-org-nope.json", Some(&default), None),
        ("not_found/02-get-team-unknown.json", Some(&default), None),
        ("not_found/03-get-member-unknown.json", Some(&default), None),
        (
            "missing_scope/01-get-access-token.json",
            Some("bkua_missing_scopes"),
            None,
        ),
        (
            "missing_scope/02-get-teams-forbidden.json",
            Some("bkua_missing_scopes"),
            None,
        ),
        (
            "missing_scope/03-get-user-forbidden.json",
            Some("bkua_missing_scopes"),
            None,
        ),
        (
            "no_graphql/01-get-access-token.json",
            Some("bkua_no_graphql"),
            None,
        ),
        (
            "no_graphql/02-post-graphql-forbidden.json",
            Some("bkua_no_graphql"),
            None,
        ),
        ("unauthenticated/01-any-rest.json", None, None),
        ("unauthenticated/02-post-graphql.json", None, None),
        (
            "rate_limited/01-get-members-page1-429.json",
            Some(&default),
            Some(Fault::rate_limited(3, LimitScope::User)),
        ),
        (
            "rate_limited/02-get-teams-page1-429-long.json",
            Some(&default),
            Some(Fault::rate_limited(3600, LimitScope::Org)),
        ),
        (
            "graphql_errors/02-graphql-members-budget.json",
            Some(&default),
            Some(Fault::rate_limited(187, LimitScope::Org)),
        ),
        (
            "server_error/01-get-members-page1-500.json",
            Some(&default),
            Some(Fault::server_error(500)),
        ),
        (
            "server_error/02-get-teams-page1-502.json",
            Some(&default),
            Some(Fault::server_error(502)),
        ),
        (
            "malformed/01-get-members-page1-truncated.json",
            Some(&default),
            Some(Fault::truncated_body()),
        ),
        (
            "malformed/02-graphql-members-html.json",
            Some(&default),
            Some(Fault::server_error(200)),
        ),
    ];
    let mut problems = Vec::new();
    let mut checked = 0;
    for (file, token, fault) in cases {
        let path = fixtures_dir().join(file);
        if !path.exists() {
            problems.push(format!("{file}: fixture is missing"));
            continue;
        }
        if let Some(fault) = fault {
            sim.inject(fault);
        }
        problems.extend(check(&sim, &path, token).await);
        sim.clear_faults();
        checked += 1;
    }
    assert!(
        problems.is_empty(),
        "{} problems in {checked} error fixtures:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn shape_diff_reports_key_kind_and_emptiness_differences() {
    let fixture = json!({ "a": 1, "b": [{ "c": "x", "d": null }], "e": null });
    let mut out = Vec::new();
    shape_diff(
        "body",
        &fixture,
        &json!({ "a": 2, "b": [{ "c": "y", "d": 5 }], "e": [1] }),
        true,
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
    for (actual, expected) in [
        (json!({ "a": "1", "b": [], "e": null }), 2),
        (
            json!({ "a": 1, "b": [{ "c": "x", "d": 1, "z": 0 }], "e": null }),
            1,
        ),
        (json!({ "b": [{ "c": 1, "d": 1 }], "e": null }), 2),
    ] {
        let mut out = Vec::new();
        shape_diff("body", &fixture, &actual, true, &mut out);
        assert_eq!(out.len(), expected, "{actual}: {out:?}");
    }
}
