//! Provisioning over httpmock: scope pre-check before any write, error mapping, and a lost
//! write resolved by reading back instead of writing twice.

mod support;

use std::sync::Arc;
use std::time::Duration;

use httpmock::Method::{GET, PATCH, POST};
use httpmock::MockServer;
use serde_json::json;
use support::{CANARY, FixtureServer, RecordingSleeper};
use unidir_buildkite::{Buildkite, RetryPolicy, roles};
use unidir_core::{Directory, ErrorKind, Outcome, UserRef};

const BOB: &str = "018f2b6e-7a8b-4c9d-9e0f-1a2b3c4d5e62";
const ERIN: &str = "018f2b71-5d6e-4f70-9b8c-0d1e2f3a4b95";
const MOBILE: &str = "8d4f9ab2-5e61-4c3d-8a8f-b12c3d4e5fa6";
const PLATFORM: &str = "5b2d7e90-3c4f-4a1b-8e6d-9f0a1b2c3d84";

fn directory(server: &MockServer, timeout: Duration) -> Buildkite {
    Buildkite::builder()
        .with_token(CANARY)
        .with_organization("acme-inc")
        .with_rest_url(server.base_url())
        .with_graphql_url(server.url("/v1"))
        .with_timeout(timeout)
        .with_retry_policy(RetryPolicy {
            jitter_seed: Some(2),
            ..RetryPolicy::default()
        })
        .with_sleeper(Arc::new(RecordingSleeper::default()))
        .build()
        .expect("directory")
}

fn token_with(server: &MockServer, scopes: &[&str]) {
    let body = json!({ "uuid": "9d6a0c1e-58b4-4f0a-a3c2-7e1b5d9f2c40", "scopes": scopes });
    server.mock(|when, then| {
        when.method(GET).path("/v2/access-token");
        then.status(200).json_body(body);
    });
}

fn exists(server: &MockServer, path: String) {
    server.mock(|when, then| {
        when.method(GET).path(path);
        then.status(200)
            .json_body(json!({ "id": "x", "role": "member" }));
    });
}

#[tokio::test]
async fn a_token_without_write_teams_fails_before_any_write() {
    // missing_scope's token lacks write_teams; no fixture answers a write, so any write
    // would hit the catch-all and fail the test on drop.
    let fx = FixtureServer::mount(&["missing_scope", "acme"]);
    let (bk, _) = fx.directory("acme-inc");
    let err = bk
        .add_group_member(
            PLATFORM,
            &UserRef::Id(ERIN.into()),
            Some(roles::TEAM_MEMBER),
        )
        .await
        .expect_err("no scope");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.missing_scope(), Some("write_teams"));
    let err = bk
        .remove_group_member(PLATFORM, &UserRef::Id(BOB.into()))
        .await
        .expect_err("no scope");
    assert_eq!(err.missing_scope(), Some("write_teams"));
    assert_eq!(
        fx.calls("missing_scope/01-get-access-token.json"),
        1,
        "scopes are read once and cached"
    );
}

#[tokio::test]
async fn a_lost_create_is_resolved_by_reading_back() {
    let server = MockServer::start();
    token_with(
        &server,
        &["read_teams", "write_teams", "read_organizations"],
    );
    exists(
        &server,
        format!("/v2/organizations/acme-inc/teams/{MOBILE}"),
    );
    exists(
        &server,
        format!("/v2/organizations/acme-inc/members/{ERIN}"),
    );
    let member_path = format!("/v2/organizations/acme-inc/teams/{MOBILE}/members/{ERIN}");
    // First read (before the write): not a member. Second read (the read-back): a member,
    // because the write did happen even though its answer never arrived.
    server.mock(|when, then| {
        when.method(GET).path(member_path.clone());
        then.status(404)
            .json_body(json!({ "message": "No team member found" }))
            .up_to_n_times(1);
    });
    server.mock(|when, then| {
        when.method(GET).path(member_path.clone());
        then.status(200)
            .json_body(json!({ "role": "member", "user_id": ERIN }));
    });
    let post = server.mock(|when, then| {
        when.method(POST)
            .path(format!("/v2/organizations/acme-inc/teams/{MOBILE}/members"))
            .json_body(json!({ "user_id": ERIN, "role": "member" }));
        // Slower than the client's deadline: the answer is lost.
        then.status(201)
            .delay(Duration::from_millis(600))
            .json_body(json!({ "role": "member" }));
    });
    let bk = directory(&server, Duration::from_millis(300));
    let user = UserRef::Id(ERIN.into());
    let result = bk
        .add_group_member(MOBILE, &user, Some(roles::TEAM_MEMBER))
        .await;
    let result = result.expect("resolved by read-back");
    assert_eq!(result.outcome, Outcome::Created);
    assert_eq!(post.calls(), 1, "the write was never sent twice");
}

#[tokio::test]
async fn a_rejected_role_change_is_a_typed_error() {
    let server = MockServer::start();
    token_with(
        &server,
        &["read_teams", "write_teams", "read_organizations"],
    );
    exists(
        &server,
        format!("/v2/organizations/acme-inc/teams/{PLATFORM}"),
    );
    exists(&server, format!("/v2/organizations/acme-inc/members/{BOB}"));
    server.mock(|when, then| {
        when.method(GET).path(format!(
            "/v2/organizations/acme-inc/teams/{PLATFORM}/members/{BOB}"
        ));
        then.status(200)
            .json_body(json!({ "role": "member", "user_id": BOB }));
    });
    let patch = server.mock(|when, then| {
        when.method(PATCH).path(format!(
            "/v2/organizations/acme-inc/teams/{PLATFORM}/members/{BOB}"
        ));
        then.status(422)
            .json_body(json!({ "message": "Validation failed: Role is not allowed" }));
    });
    let bk = directory(&server, Duration::from_secs(5));
    let err = bk
        .change_group_member_role(PLATFORM, &UserRef::Id(BOB.into()), roles::TEAM_MAINTAINER)
        .await
        .expect_err("422");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("Role is not allowed"));
    assert_eq!(patch.calls(), 1);
    let bad = bk
        .add_group_member(PLATFORM, &UserRef::Id(BOB.into()), Some(roles::ORG_ADMIN))
        .await
        .expect_err("org role is not a team role");
    assert_eq!(bad.kind(), ErrorKind::InvalidInput);
}
