//! The token written back by the upstream in any encoding never reaches what the binary
//! prints or writes: a table of token forms (raw, JSON-escaped, percent-encoded in either
//! case, fully percent-encoded, after `Bearer`, broken across lines) × every path that
//! prints upstream text (tables, `--json`, `--ndjson`, `--remote-data`, the proxy's
//! decoded and pretty-printed body, error messages, export files).
//!
//! The check is independent of the code under test (`unidir_http::testing::token_forms`):
//! each output is decoded and searched for the raw token.

mod hostile_support;

use std::time::Duration;

use serde_json::json;
use unidir_http::testing::hostile::{Reply, Request};
use unidir_http::testing::token_forms::{assert_free, forms};

use hostile_support::*;

/// A REST-only organization whose one team and one member are named `form`, and whose
/// unknown user answers 403 with `form` in the message (shown, scrubbed).
fn organization(form: String) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    let named = move |template: &str| -> Vec<u8> { template.replace("FORM", &form).into_bytes() };
    move |request| match request.path() {
        "/v2/access-token" => Reply::json(
            200,
            &json!({ "uuid": uuid(999), "scopes": ["read_user", "read_organizations", "read_teams"] }),
        ),
        "/v2/organizations" => Reply::raw_json(
            200,
            named(r#"[{"id":"o-1","name":"Acme FORM","slug":"acme-inc","web_url":null}]"#),
        ),
        "/v2/organizations/acme-inc" => Reply::raw_json(
            200,
            named(r#"{"id":"o-1","name":"Acme FORM","slug":"acme-inc","web_url":null}"#),
        ),
        "/v2/organizations/acme-inc/members" => Reply::raw_json(
            200,
            named(&format!(
                r#"[{{"id":"{}","name":"User FORM","email":"u1@acme.example","role":"member","sso_mode":"optional"}}]"#,
                uuid(1)
            )),
        ),
        "/v2/organizations/acme-inc/teams" => Reply::raw_json(
            200,
            named(&format!(
                r#"[{{"id":"{}","name":"Team FORM","slug":"team-1","description":"FORM","privacy":"visible","default":false,"default_member_role":"member","created_at":"2024-11-07T13:22:40.051Z"}}]"#,
                uuid(1)
            )),
        ),
        path if path.ends_with("/members") => Reply::raw_json(
            200,
            named(&format!(
                r#"[{{"role":"member","created_at":"2024-05-03T11:00:02.001Z","user_id":"{}","user_name":"User FORM"}}]"#,
                uuid(1)
            )),
        ),
        _ => Reply::raw_json(403, named(r#"{"message":"No user FORM here"}"#)),
    }
}

#[test]
fn no_token_form_survives_any_output_path() {
    let dir = std::env::temp_dir().join(format!("unidir-token-forms-{}", std::process::id()));
    let bound = Duration::from_secs(60);
    for (name, form) in forms(CANARY) {
        let upstream = Upstream::start(organization(form));
        let paths: [&[&str]; 8] = [
            &["users"],
            &["users", "--json"],
            &["users", "--ndjson", "--remote-data"],
            &["groups", "--json", "--remote-data"],
            &["members", "team-1"],
            &["proxy", "GET", "/v2/organizations/acme-inc/teams"],
            &["user", "00000000-0000-4000-8000-00000000abcd"],
            &["--json", "user", "00000000-0000-4000-8000-00000000abcd"],
        ];
        for args in paths {
            let run = upstream.run(args, bound);
            let what = format!("{name} × {args:?}");
            assert_free(CANARY, &format!("{what} stdout"), &run.stdout);
            assert_free(CANARY, &format!("{what} stderr"), &run.stderr);
            assert!(
                run.stdout.contains("User ")
                    || run.stdout.contains("Team ")
                    || run.stderr.contains("No user"),
                "{what}: the upstream text did not reach the output, so nothing was tested: {run:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
        let out = dir.to_string_lossy().into_owned();
        let run = upstream.run(&["export", "--out", &out, "--remote-data"], bound);
        assert_eq!(run.code, 0, "{name} export: {run:?}");
        for entry in std::fs::read_dir(&dir).expect("export dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("export file");
            assert_free(
                CANARY,
                &format!("{name} × export {}", path.display()),
                &text,
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
