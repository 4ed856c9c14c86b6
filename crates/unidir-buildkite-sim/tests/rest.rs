//! REST v2 behaviour: paging, auth, scopes, errors and stateful writes.

mod common;

use std::collections::HashSet;

use common::{call, get, send, start, url};
use reqwest::Method;
use serde_json::{Value, json};
use unidir_buildkite_sim::{OrgRole, SimConfig, SimToken, TeamRole};

fn ids(body: &Value, key: &str) -> Vec<String> {
    body.as_array()
        .expect("array")
        .iter()
        .map(|item| item[key].as_str().expect("string id").to_owned())
        .collect()
}

#[tokio::test]
async fn paging_walk_returns_every_member_once_with_links() {
    let sim = start(SimConfig::default()).await;
    let expected: Vec<String> = sim
        .snapshot()
        .members
        .iter()
        .map(|m| m.user_uuid.clone())
        .collect();
    let base = url(&sim, "/v2/organizations/acme-inc/members");

    let mut seen = Vec::new();
    let mut next = Some(format!("{base}?page=1&per_page=7"));
    let mut page = 0;
    while let Some(current) = next {
        page += 1;
        let resp = send(Method::GET, &current, Some(sim.default_token()), None).await;
        assert_eq!(resp.status, 200);
        let links = resp.links();
        let rels: HashSet<&str> = links.keys().map(String::as_str).collect();
        let want: HashSet<&str> = match page {
            1 => ["next", "last"].into(),
            4 => ["first", "prev"].into(),
            _ => ["first", "prev", "next", "last"].into(),
        };
        assert_eq!(rels, want, "rels on page {page}");
        if let Some(last) = links.get("last") {
            assert_eq!(last, &format!("{base}?page=4&per_page=7"));
        }
        if let Some(first) = links.get("first") {
            assert_eq!(first, &format!("{base}?page=1&per_page=7"));
        }
        if let Some(prev) = links.get("prev") {
            assert_eq!(prev, &format!("{base}?page={}&per_page=7", page - 1));
        }
        seen.extend(ids(&resp.json(), "id"));
        next = links.get("next").cloned();
    }
    assert_eq!(page, 4);
    assert_eq!(
        seen, expected,
        "every member exactly once, in creation order"
    );

    let past = get(&sim, "/v2/organizations/acme-inc/members?page=9&per_page=7").await;
    assert_eq!((past.status, past.json()), (200, json!([])));

    let all = get(&sim, "/v2/organizations/acme-inc/members?per_page=100").await;
    assert_eq!(
        all.header("link"),
        None,
        "no Link when everything fits one page"
    );
    assert_eq!(ids(&all.json(), "id"), expected);

    let default = get(&sim, "/v2/organizations/acme-inc/members").await;
    assert_eq!(
        default.json().as_array().map(Vec::len),
        Some(25),
        "default per_page is 30"
    );
}

#[tokio::test]
async fn per_page_and_page_bounds_are_400() {
    let sim = start(SimConfig::default()).await;
    for query in [
        "per_page=0",
        "per_page=101",
        "per_page=-1",
        "per_page=x",
        "page=0",
        "page=abc",
    ] {
        let resp = get(&sim, &format!("/v2/organizations/acme-inc/teams?{query}")).await;
        assert_eq!(resp.status, 400, "{query}");
        assert!(resp.json()["message"].is_string(), "{query}: {}", resp.text);
    }
    let ok = get(&sim, "/v2/organizations/acme-inc/teams?per_page=100&page=1").await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn every_rest_response_has_rate_limit_headers() {
    let sim = start(SimConfig::default()).await;
    let first = get(&sim, "/v2/access-token").await;
    let second = get(&sim, "/v2/organizations/nope").await;
    for resp in [&first, &second] {
        assert_eq!(resp.header("ratelimit-scope"), Some("rest"));
        assert_eq!(resp.header("ratelimit-limit"), Some("200"));
        assert_eq!(resp.header("ratelimit-user-scope"), Some("rest_user"));
        assert_eq!(resp.header("ratelimit-user-limit"), Some("50"));
        let reset = resp.header_u64("ratelimit-reset");
        assert!((1..=60).contains(&reset));
    }
    assert_eq!(first.header_u64("ratelimit-user-remaining"), 49);
    assert_eq!(second.header_u64("ratelimit-user-remaining"), 48);
    assert_eq!(second.status, 404);
    assert_eq!(second.json(), json!({ "message": "No organization found" }));
}

#[tokio::test]
async fn authentication_and_scopes() {
    let sim = start(SimConfig::default().with_token(SimToken::new(
        "bkua_read_user_only",
        ["read_user"],
        1,
    )))
    .await;
    let unauth = json!({ "message": "Authentication required. Please supply a valid API Access Token: https://buildkite.com/docs/apis/rest-api#authentication" });
    let user_url = url(&sim, "/v2/user");
    for token in [None, Some("bkua_wrong")] {
        let resp = send(Method::GET, &user_url, token, None).await;
        assert_eq!((resp.status, resp.json()), (401, unauth.clone()));
        assert_eq!(resp.header("ratelimit-limit"), None);
    }

    let limited = Some("bkua_read_user_only");
    let me = send(Method::GET, &user_url, limited, None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["id"], json!(sim.snapshot().members[1].user_uuid));

    let token = send(Method::GET, &url(&sim, "/v2/access-token"), limited, None).await;
    assert_eq!(token.status, 200, "access-token needs no scope");
    assert_eq!(token.json()["scopes"], json!(["read_user"]));

    let teams = send(
        Method::GET,
        &url(&sim, "/v2/organizations/acme-inc/teams"),
        limited,
        None,
    )
    .await;
    assert_eq!(teams.status, 403);
    assert_eq!(
        teams.json(),
        json!({ "message": "Your access token doesn't have the read_teams scope" })
    );
    assert!(teams.header("ratelimit-remaining").is_some());

    // Revoking the token makes it unusable.
    let revoke = send(
        Method::DELETE,
        &url(&sim, "/v2/access-token"),
        limited,
        None,
    )
    .await;
    assert_eq!(revoke.status, 204);
    let after = send(Method::GET, &user_url, limited, None).await;
    assert_eq!(after.status, 401);
}

#[tokio::test]
async fn org_and_lookup_errors() {
    let sim = start(SimConfig::default()).await;
    let orgs = get(&sim, "/v2/organizations").await.json();
    assert_eq!(orgs.as_array().map(Vec::len), Some(1));
    assert_eq!(orgs[0]["slug"], json!("acme-inc"));
    assert_eq!(
        orgs[0]["url"],
        json!(url(&sim, "/v2/organizations/acme-inc")),
        "absolute URLs use the simulator's own base"
    );
    let cases = [
        (
            "/v2/organizations/acme-inc/members/00000000-0000-4000-8000-000000000000",
            "No member found",
        ),
        (
            "/v2/organizations/acme-inc/teams/00000000-0000-4000-8000-000000000000",
            "No team found",
        ),
        (
            "/v2/organizations/acme-inc/teams/00000000-0000-4000-8000-000000000000/members",
            "No team found",
        ),
        ("/v2/organizations/other/members", "No organization found"),
        ("/v2/pipelines", "Not Found"),
    ];
    for (path, message) in cases {
        let resp = get(&sim, path).await;
        assert_eq!(
            (resp.status, resp.json()),
            (404, json!({ "message": message })),
            "{path}"
        );
    }
}

#[tokio::test]
async fn team_member_add_change_remove_are_visible_in_later_reads() {
    let sim = start(SimConfig::default()).await;
    let snap = sim.snapshot();
    let loner = snap.members.last().expect("members").clone();
    let team = snap
        .teams
        .iter()
        .find(|t| !t.default)
        .expect("a non-default team")
        .clone();
    let members_path = format!("/v2/organizations/acme-inc/teams/{}/members", team.uuid);
    let member_path = format!("{members_path}/{}", loner.user_uuid);

    let missing = get(&sim, &member_path).await;
    assert_eq!(
        (missing.status, missing.json()),
        (404, json!({ "message": "No team member found" }))
    );

    let added = call(
        &sim,
        Method::POST,
        &members_path,
        Some(json!({ "user_id": loner.user_uuid, "role": "member" })),
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let body = added.json();
    assert_eq!(body["user_id"], json!(loner.user_uuid));
    assert_eq!(body["user_name"], json!(loner.name));
    assert_eq!(body["role"], json!("member"));

    let list = get(&sim, &format!("{members_path}?per_page=100"))
        .await
        .json();
    assert!(ids(&list, "user_id").contains(&loner.user_uuid));
    let teams_of = get(
        &sim,
        &format!(
            "/v2/organizations/acme-inc/teams?user_id={}",
            loner.user_uuid
        ),
    )
    .await
    .json();
    assert_eq!(ids(&teams_of, "id"), vec![team.uuid.clone()]);
    assert_eq!(
        sim.snapshot().team_role(&team.uuid, &loner.user_uuid),
        Some(TeamRole::Member)
    );

    let duplicate = call(
        &sim,
        Method::POST,
        &members_path,
        Some(json!({ "user_id": loner.user_uuid, "role": "member" })),
    )
    .await;
    assert_eq!(duplicate.status, 422);
    assert!(
        duplicate.json()["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Validation failed: "))
    );

    let changed = call(
        &sim,
        Method::PATCH,
        &member_path,
        Some(json!({ "role": "maintainer" })),
    )
    .await;
    assert_eq!(
        (changed.status, changed.json()["role"].clone()),
        (200, json!("maintainer"))
    );
    assert_eq!(
        get(&sim, &member_path).await.json()["role"],
        json!("maintainer")
    );

    let bad_role = call(
        &sim,
        Method::PATCH,
        &member_path,
        Some(json!({ "role": "owner" })),
    )
    .await;
    assert_eq!(bad_role.status, 422);

    let removed = call(&sim, Method::DELETE, &member_path, None).await;
    assert_eq!((removed.status, removed.text.as_str()), (204, ""));
    assert_eq!(get(&sim, &member_path).await.status, 404);
    assert_eq!(
        call(&sim, Method::DELETE, &member_path, None).await.status,
        404
    );
    assert!(sim.snapshot().teams_of(&loner.user_uuid).is_empty());
}

#[tokio::test]
async fn team_member_validation() {
    let sim = start(SimConfig::default()).await;
    let snap = sim.snapshot();
    let team = &snap.teams.iter().find(|t| !t.default).expect("team").uuid;
    let path = format!("/v2/organizations/acme-inc/teams/{team}/members");
    let loner = &snap.members.last().expect("members").user_uuid;
    let cases = [
        (
            json!({ "user_id": "00000000-0000-4000-8000-000000000000", "role": "member" }),
            422,
        ),
        (json!({ "role": "member" }), 422),
        (json!({ "user_id": 17 }), 422),
        (json!({ "user_id": loner, "role": "boss" }), 422),
        (json!(["not", "an", "object"]), 400),
    ];
    for (body, status) in cases {
        let resp = call(&sim, Method::POST, &path, Some(body.clone())).await;
        assert_eq!(resp.status, status, "{body}: {}", resp.text);
        assert!(resp.json()["message"].is_string());
    }
    let garbage = send(
        Method::POST,
        &url(&sim, &path),
        Some(sim.default_token()),
        None,
    )
    .await;
    assert_eq!(garbage.status, 422, "an empty body lacks user_id");
    // Role omitted: the team's default member role.
    let added = call(&sim, Method::POST, &path, Some(json!({ "user_id": loner }))).await;
    assert_eq!(
        (added.status, added.json()["role"].clone()),
        (201, json!("member"))
    );
}

#[tokio::test]
async fn org_member_update_and_removal() {
    let sim = start(SimConfig::default()).await;
    let snap = sim.snapshot();
    let target = snap
        .members
        .iter()
        .find(|m| m.role == OrgRole::Member && !snap.teams_of(&m.user_uuid).is_empty())
        .expect("a plain member with teams")
        .clone();
    let path = format!("/v2/organizations/acme-inc/members/{}", target.user_uuid);

    let patched = call(
        &sim,
        Method::PATCH,
        &path,
        Some(json!({ "role": "admin", "sso_mode": "optional" })),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.json()["role"], json!("admin"));
    assert_eq!(patched.json()["sso_mode"], json!("optional"));
    assert_eq!(get(&sim, &path).await.json()["role"], json!("admin"));

    assert_eq!(
        call(&sim, Method::PATCH, &path, Some(json!({})))
            .await
            .status,
        422
    );
    assert_eq!(
        call(&sim, Method::PATCH, &path, Some(json!({ "role": "owner" })))
            .await
            .status,
        422
    );
    let own = format!(
        "/v2/organizations/acme-inc/members/{}",
        snap.members[0].user_uuid
    );
    assert_eq!(
        call(&sim, Method::PATCH, &own, Some(json!({ "role": "member" })))
            .await
            .status,
        403
    );

    let removed = call(&sim, Method::DELETE, &path, None).await;
    assert_eq!(removed.status, 204);
    assert_eq!(get(&sim, &path).await.status, 404);
    let after = sim.snapshot();
    assert_eq!(after.members.len(), 24);
    assert!(
        after.teams_of(&target.user_uuid).is_empty(),
        "team memberships go too"
    );
    let list = get(&sim, "/v2/organizations/acme-inc/members?per_page=100")
        .await
        .json();
    assert!(!ids(&list, "id").contains(&target.user_uuid));
}

#[tokio::test]
async fn secret_teams_are_hidden_from_non_members() {
    let sim = start(SimConfig::default()).await;
    let snap = sim.snapshot();
    // A plain member token: sees visible teams plus the secret teams it belongs to.
    let (index, viewer) = snap
        .members
        .iter()
        .enumerate()
        .find(|(_, m)| m.role == OrgRole::Member)
        .expect("a plain member");
    let sim =
        start(SimConfig::default().with_token(SimToken::new("bkua_member", ["read_teams"], index)))
            .await;
    let resp = send(
        Method::GET,
        &url(&sim, "/v2/organizations/acme-inc/teams?per_page=100"),
        Some("bkua_member"),
        None,
    )
    .await;
    let seen: HashSet<String> = ids(&resp.json(), "id").into_iter().collect();
    for team in &snap.teams {
        let member = snap.team_role(&team.uuid, &viewer.user_uuid).is_some();
        let visible = team.privacy == unidir_buildkite_sim::TeamPrivacy::Visible;
        assert_eq!(
            seen.contains(&team.uuid),
            visible || member,
            "{}",
            team.slug
        );
    }
}
