//! GraphQL `UnidirMembers` / `UnidirMemberTeams`: paging, filters, follow-ups, errors.

mod common;

use std::collections::HashSet;

use common::{call, gql, gql_document, gql_with, member_edges, member_vars, send, start, with};
use reqwest::Method;
use serde_json::{Value, json};
use unidir_buildkite_sim::{OrgRole, SimConfig, SimToken};

fn uuids(edges: &[Value]) -> Vec<String> {
    edges
        .iter()
        .map(|e| e["node"]["user"]["uuid"].as_str().expect("uuid").to_owned())
        .collect()
}

fn page_info(body: &Value) -> Value {
    body["data"]["organization"]["members"]["pageInfo"].clone()
}

#[tokio::test]
async fn forward_and_backward_paging_cover_every_member_in_name_order() {
    let sim = start(SimConfig::default()).await;
    let snap = sim.snapshot();
    let mut by_name: Vec<_> = snap.members.iter().collect();
    by_name.sort_by(|a, b| (&a.name, &a.user_uuid).cmp(&(&b.name, &b.user_uuid)));
    let expected: Vec<String> = by_name.iter().map(|m| m.user_uuid.clone()).collect();

    let mut forward = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        pages += 1;
        let vars = with(
            member_vars("acme-inc"),
            json!({ "first": 4, "after": after }),
        );
        let resp = gql(&sim, "UnidirMembers", vars).await;
        assert_eq!(resp.status, 200);
        let body = resp.json();
        assert_eq!(body["data"]["organization"]["members"]["count"], json!(25));
        let edges = member_edges(&body);
        let info = page_info(&body);
        assert_eq!(info["hasPreviousPage"], json!(pages > 1));
        assert_eq!(info["startCursor"], edges[0]["cursor"]);
        assert_eq!(info["endCursor"], edges[edges.len() - 1]["cursor"]);
        forward.extend(uuids(&edges));
        if info["hasNextPage"] == json!(false) {
            break;
        }
        after = info["endCursor"].clone();
    }
    assert_eq!(pages, 7);
    assert_eq!(forward, expected);

    let mut backward = Vec::new();
    let mut before = Value::Null;
    loop {
        let vars = with(
            member_vars("acme-inc"),
            json!({ "last": 4, "before": before }),
        );
        let body = gql(&sim, "UnidirMembers", vars).await.json();
        let edges = member_edges(&body);
        let mut page = uuids(&edges);
        page.extend(backward);
        backward = page;
        let info = page_info(&body);
        if info["hasPreviousPage"] == json!(false) {
            break;
        }
        before = info["startCursor"].clone();
    }
    assert_eq!(backward, expected);

    // Cursors are the base64 of the 1-based position.
    let second = gql(
        &sim,
        "UnidirMembers",
        with(
            member_vars("acme-inc"),
            json!({ "first": 1, "after": "MQ" }),
        ),
    )
    .await
    .json();
    assert_eq!(member_edges(&second)[0]["cursor"], json!("Mg"));
    assert_eq!(uuids(&member_edges(&second)), vec![expected[1].clone()]);
}

#[tokio::test]
async fn filters_email_role_team() {
    let sim = start(SimConfig::default()).await;
    let snap = sim.snapshot();
    let vars = member_vars("acme-inc");

    let target = &snap.members[3];
    let hit = gql(
        &sim,
        "UnidirMembers",
        with(
            vars.clone(),
            json!({ "first": 1, "email": target.email.to_uppercase() }),
        ),
    )
    .await
    .json();
    assert_eq!(uuids(&member_edges(&hit)), vec![target.user_uuid.clone()]);
    assert_eq!(hit["data"]["organization"]["members"]["count"], json!(1));
    let node = &member_edges(&hit)[0]["node"];
    assert_eq!(node["uuid"], json!(target.membership_uuid));
    assert_eq!(node["id"], json!(target.membership_graphql_id));
    assert_eq!(node["user"]["id"], json!(target.user_graphql_id));

    let miss = gql(
        &sim,
        "UnidirMembers",
        with(
            vars.clone(),
            json!({ "first": 1, "email": "nobody@acme.example" }),
        ),
    )
    .await
    .json();
    assert_eq!(
        miss["data"]["organization"]["members"],
        json!({
            "count": 0,
            "pageInfo": { "hasNextPage": false, "hasPreviousPage": false, "startCursor": null, "endCursor": null },
            "edges": []
        })
    );

    let mut total = 0;
    for (role, enum_value) in [(OrgRole::Admin, "ADMIN"), (OrgRole::Member, "MEMBER")] {
        let body = gql(
            &sim,
            "UnidirMembers",
            with(vars.clone(), json!({ "first": 100, "role": [enum_value] })),
        )
        .await
        .json();
        let got: HashSet<String> = uuids(&member_edges(&body)).into_iter().collect();
        let want: HashSet<String> = snap
            .members
            .iter()
            .filter(|m| m.role == role)
            .map(|m| m.user_uuid.clone())
            .collect();
        assert_eq!(got, want, "{enum_value}");
        assert!(
            member_edges(&body)
                .iter()
                .all(|e| e["node"]["role"] == json!(enum_value))
        );
        total += got.len();
    }
    assert_eq!(total, 25);

    let team = snap
        .teams
        .iter()
        .find(|t| !t.default && !snap.members_of(&t.uuid).is_empty())
        .expect("populated team");
    let in_team: HashSet<String> = snap
        .members_of(&team.uuid)
        .iter()
        .map(|tm| tm.user_uuid.clone())
        .collect();
    let body = gql(
        &sim,
        "UnidirMembers",
        with(vars.clone(), json!({ "first": 100, "team": team.slug })),
    )
    .await
    .json();
    assert_eq!(
        uuids(&member_edges(&body))
            .into_iter()
            .collect::<HashSet<_>>(),
        in_team
    );
    let body = gql(
        &sim,
        "UnidirMembers",
        with(
            vars.clone(),
            json!({ "first": 100, "team": format!("!{}", team.slug) }),
        ),
    )
    .await
    .json();
    assert_eq!(member_edges(&body).len(), 25 - in_team.len());
    let body = gql(
        &sim,
        "UnidirMembers",
        with(vars, json!({ "first": 100, "team": "no-such-team" })),
    )
    .await
    .json();
    assert_eq!(member_edges(&body).len(), 0);
}

#[tokio::test]
async fn nested_teams_and_member_teams_follow_up() {
    let sim = start(SimConfig::default()).await;
    let snap = sim.snapshot();
    let member = snap
        .members
        .iter()
        .find(|m| snap.teams_of(&m.user_uuid).len() >= 3)
        .expect("a member in three teams");
    let expected: Vec<String> = snap
        .teams_of(&member.user_uuid)
        .iter()
        .map(|tm| tm.team_uuid.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();

    let vars = with(
        member_vars("acme-inc"),
        json!({ "first": 1, "email": member.email, "teamsFirst": 1 }),
    );
    let body = gql(&sim, "UnidirMembers", vars).await.json();
    let teams = member_edges(&body)[0]["node"]["teams"].clone();
    assert_eq!(teams["count"], json!(expected.len()));
    assert_eq!(
        teams["pageInfo"],
        json!({ "hasNextPage": true, "endCursor": "MQ" })
    );
    let mut got: Vec<String> = teams["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["team"]["uuid"].as_str().expect("uuid").to_owned())
        .collect();

    let slug = format!("acme-inc/{}", member.membership_uuid);
    let mut after = teams["pageInfo"]["endCursor"].clone();
    loop {
        let resp = gql(
            &sim,
            "UnidirMemberTeams",
            json!({ "slug": slug, "first": 1, "after": after }),
        )
        .await;
        assert_eq!(resp.status, 200);
        let body = resp.json();
        let conn = &body["data"]["organizationMember"]["teams"];
        assert_eq!(conn["count"], json!(expected.len()));
        for edge in conn["edges"].as_array().expect("edges") {
            assert!(
                edge["node"]["role"] == json!("MEMBER")
                    || edge["node"]["role"] == json!("MAINTAINER")
            );
            got.push(
                edge["node"]["team"]["uuid"]
                    .as_str()
                    .expect("uuid")
                    .to_owned(),
            );
        }
        if conn["pageInfo"]["hasNextPage"] == json!(false) {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(got.len(), expected.len());
    assert_eq!(
        got.into_iter().collect::<HashSet<_>>(),
        expected.into_iter().collect()
    );

    let unknown = gql(
        &sim,
        "UnidirMemberTeams",
        json!({ "slug": "acme-inc/nope", "first": 2, "after": null }),
    )
    .await
    .json();
    assert_eq!(unknown["data"]["organizationMember"], Value::Null);
    assert!(unknown["errors"][0]["message"].is_string());
}

#[tokio::test]
async fn rest_writes_show_up_in_graphql() {
    let sim = start(SimConfig::default()).await;
    let snap = sim.snapshot();
    let loner = snap.members.last().expect("members");
    let team = snap.teams.iter().find(|t| !t.default).expect("team");
    let path = format!("/v2/organizations/acme-inc/teams/{}/members", team.uuid);
    let added = call(
        &sim,
        Method::POST,
        &path,
        Some(json!({ "user_id": loner.user_uuid, "role": "maintainer" })),
    )
    .await;
    assert_eq!(added.status, 201);

    let vars = with(
        member_vars("acme-inc"),
        json!({ "first": 1, "email": loner.email }),
    );
    let body = gql(&sim, "UnidirMembers", vars.clone()).await.json();
    let teams = &member_edges(&body)[0]["node"]["teams"];
    assert_eq!(teams["count"], json!(1));
    assert_eq!(teams["edges"][0]["node"]["role"], json!("MAINTAINER"));
    assert_eq!(teams["edges"][0]["node"]["team"]["slug"], json!(team.slug));

    let by_team = gql(
        &sim,
        "UnidirMembers",
        with(
            member_vars("acme-inc"),
            json!({ "first": 100, "team": team.slug }),
        ),
    )
    .await
    .json();
    assert!(uuids(&member_edges(&by_team)).contains(&loner.user_uuid));

    let removed = call(
        &sim,
        Method::DELETE,
        &format!("{path}/{}", loner.user_uuid),
        None,
    )
    .await;
    assert_eq!(removed.status, 204);
    let body = gql(&sim, "UnidirMembers", vars).await.json();
    assert_eq!(member_edges(&body)[0]["node"]["teams"]["count"], json!(0));

    let promoted = call(
        &sim,
        Method::PATCH,
        &format!("/v2/organizations/acme-inc/members/{}", loner.user_uuid),
        Some(json!({ "role": "admin" })),
    )
    .await;
    assert_eq!(promoted.status, 200);
    let admins = gql(
        &sim,
        "UnidirMembers",
        with(
            member_vars("acme-inc"),
            json!({ "first": 100, "role": ["ADMIN"] }),
        ),
    )
    .await
    .json();
    assert!(uuids(&member_edges(&admins)).contains(&loner.user_uuid));
}

#[tokio::test]
async fn errors_auth_and_headers() {
    let sim =
        start(SimConfig::default().with_token(SimToken::new("bkua_rest_only", ["read_user"], 0)))
            .await;

    let other = gql(&sim, "SomethingElse", json!({})).await;
    assert_eq!(other.status, 200);
    assert_eq!(
        other.json(),
        json!({ "data": null, "errors": [{ "message": "The simulator does not support this query" }] })
    );

    let forbidden = gql_with(
        &sim,
        Some("bkua_rest_only"),
        "UnidirMembers",
        member_vars("acme-inc"),
    )
    .await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(
        forbidden.json(),
        json!({ "errors": [{ "message": "Your access token doesn't have the graphql scope" }] })
    );

    let unauth = gql_with(&sim, None, "UnidirMembers", member_vars("acme-inc")).await;
    assert_eq!(unauth.status, 401);
    assert!(
        unauth.json()["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Authentication required"))
    );

    // No operationName: the name is taken from the query text. Variables may be a string.
    let body =
        json!({ "query": common::MEMBERS_QUERY, "variables": member_vars("acme-inc").to_string() });
    let found = send(
        Method::POST,
        sim.graphql_url().as_str(),
        Some(sim.default_token()),
        Some(&body),
    )
    .await;
    assert_eq!(
        found.json()["data"]["organization"]["members"]["count"],
        json!(25)
    );

    let bad_json = reqwest::Client::new()
        .post(sim.graphql_url())
        .bearer_auth(sim.default_token())
        .body("{not json")
        .send()
        .await
        .expect("answered");
    assert_eq!(bad_json.status().as_u16(), 400);

    let missing = gql(
        &sim,
        "UnidirMembers",
        json!({ "slug": "acme-inc", "first": 2 }),
    )
    .await
    .json();
    assert_eq!(
        missing["errors"][0]["message"],
        json!("Variable $teamsFirst of type Int! was provided invalid value")
    );
    let bad_cursor = gql(
        &sim,
        "UnidirMembers",
        with(
            member_vars("acme-inc"),
            json!({ "first": 2, "after": "%%%" }),
        ),
    )
    .await
    .json();
    assert!(bad_cursor["errors"][0]["message"].is_string());
    let too_big = gql(
        &sim,
        "UnidirMembers",
        with(member_vars("acme-inc"), json!({ "first": 501 })),
    )
    .await
    .json();
    assert!(too_big["errors"][0]["message"].is_string());
    let complex = gql(
        &sim,
        "UnidirMembers",
        with(
            member_vars("acme-inc"),
            json!({ "first": 500, "teamsFirst": 100 }),
        ),
    )
    .await;
    assert_eq!(complex.status, 200);
    assert_eq!(
        complex.json()["errors"][0]["message"],
        json!("Query has complexity of 104004, which exceeds max complexity of 50000")
    );

    let unknown_org = gql(
        &sim,
        "UnidirMembers",
        with(member_vars("nope"), json!({ "first": 1 })),
    )
    .await
    .json();
    assert_eq!(unknown_org["data"]["organization"], Value::Null);

    // Complexity headers by Buildkite's rules (4 + 8 per member + 2 per nested team).
    let page = gql(
        &sim,
        "UnidirMembers",
        with(member_vars("acme-inc"), json!({ "first": 2 })),
    )
    .await;
    assert_eq!(page.header_u64("ratelimit-complexity-requested"), 28);
    let actual = page.header_u64("ratelimit-complexity-actual");
    let teams: u64 = member_edges(&page.json())
        .iter()
        .map(|e| e["node"]["teams"]["edges"].as_array().map_or(0, Vec::len) as u64)
        .sum();
    assert_eq!(actual, 4 + 2 * 8 + 2 * teams);
    assert_eq!(page.header("ratelimit-limit"), Some("20000"));
    assert_eq!(page.header("ratelimit-user-limit"), Some("5000"));
    let before = page.header_u64("ratelimit-user-remaining");
    let next = gql(
        &sim,
        "UnidirMembers",
        with(
            member_vars("acme-inc"),
            json!({ "first": 1, "email": "nobody@acme.example" }),
        ),
    )
    .await;
    assert_eq!(next.header_u64("ratelimit-user-remaining"), before - 4);
}

#[tokio::test]
async fn graphql_budget_is_enforced_when_configured() {
    let sim = start(SimConfig::default().with_graphql_budget(20_000, 30)).await;
    let vars = with(member_vars("acme-inc"), json!({ "first": 2 }));
    let first = gql(&sim, "UnidirMembers", vars.clone()).await;
    assert_eq!(first.status, 200);
    let mut last = first;
    for _ in 0..3 {
        last = gql(&sim, "UnidirMembers", vars.clone()).await;
        if last.status == 429 {
            break;
        }
    }
    assert_eq!(last.status, 429);
    assert_eq!(last.header("ratelimit-user-remaining"), Some("0"));
    let message = last.json()["errors"][0]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(
        message.starts_with("You have exceeded your per-user limit of 30 complexity points"),
        "{message}"
    );
}

#[tokio::test]
async fn invalid_documents_get_buildkites_validation_errors() {
    let sim = start(SimConfig::default()).await;
    let broken = common::MEMBERS_QUERY.replacen("avatar { url }", "avatar { url } nickname", 1);
    assert_ne!(broken, common::MEMBERS_QUERY);
    let resp = gql_document(
        &sim,
        Some(sim.default_token()),
        &broken,
        "UnidirMembers",
        with(member_vars("acme-inc"), json!({ "first": 2 })),
    )
    .await;
    assert_eq!(resp.status, 200);
    // graphql-ruby's static-validation answer: no `data`, one error per unknown field.
    let line = broken
        .lines()
        .position(|l| l.contains("nickname"))
        .expect("line")
        + 1;
    let column = broken
        .lines()
        .nth(line - 1)
        .and_then(|l| l.find("nickname"))
        .expect("column")
        + 1;
    assert_eq!(
        resp.json(),
        json!({ "errors": [{
            "message": "Field 'nickname' doesn't exist on type 'User'",
            "locations": [{ "line": line, "column": column }],
            "path": ["query UnidirMembers", "organization", "members", "edges", "node", "user", "nickname"],
            "extensions": { "code": "undefinedField", "typeName": "User", "fieldName": "nickname" },
        }] })
    );
    // Rejected before running: nothing charged.
    assert_eq!(resp.header_u64("ratelimit-complexity-actual"), 0);

    for (query, operation, expected) in [
        (
            "query UnidirMembers { organization(slug: \"acme-inc\") { id }",
            "UnidirMembers",
            None,
        ),
        (
            "query UnidirMembers { organization(slug: true) { id } }",
            "UnidirMembers",
            None,
        ),
        ("", "UnidirMembers", Some("No query string was present")),
    ] {
        let resp = gql_document(&sim, Some(sim.default_token()), query, operation, json!({})).await;
        assert_eq!(resp.status, 200, "{query}");
        let body = resp.json();
        assert!(body.get("data").is_none(), "{query}: {body}");
        let message = body["errors"][0]["message"].as_str().expect("message");
        if let Some(expected) = expected {
            assert_eq!(message, expected);
        }
    }

    // A valid document whose operationName names no operation in it.
    let resp = gql_document(
        &sim,
        Some(sim.default_token()),
        common::MEMBER_TEAMS_QUERY,
        "UnidirMembers",
        json!({}),
    )
    .await;
    assert_eq!(
        resp.json()["errors"][0]["message"],
        json!("No operation named \"UnidirMembers\"")
    );
}

#[tokio::test]
async fn answers_hold_exactly_the_selected_fields() {
    let sim = start(SimConfig::default()).await;
    let vars = with(member_vars("acme-inc"), json!({ "first": 1 }));
    let full = gql(&sim, "UnidirMembers", vars.clone()).await.json();
    let user = &member_edges(&full)[0]["node"]["user"];
    assert_eq!(user["machineUser"], json!(false), "{user}");

    let reduced = common::without_optional(common::MEMBERS_QUERY);
    let body = gql_document(
        &sim,
        Some(sim.default_token()),
        &reduced,
        "UnidirMembers",
        vars,
    )
    .await
    .json();
    let user = &member_edges(&body)[0]["node"]["user"];
    assert!(user.get("machineUser").is_none(), "{user}");
    assert_eq!(user["bot"], json!(false));
    assert!(body.get("errors").is_none(), "{body}");

    // Aliases and __typename are honoured.
    let aliased = "query UnidirMembers($slug: ID!, $teamsFirst: Int!) { organization(slug: $slug) { members(first: 1) { edges { node { __typename who: user { handle: name } teams(first: $teamsFirst) { count } } } } } }";
    let body = gql_document(
        &sim,
        Some(sim.default_token()),
        aliased,
        "UnidirMembers",
        member_vars("acme-inc"),
    )
    .await
    .json();
    let node = &member_edges(&body)[0]["node"];
    assert_eq!(node["__typename"], json!("OrganizationMember"));
    assert!(node["who"]["handle"].is_string(), "{node}");
    assert_eq!(node.as_object().map(|o| o.len()), Some(3), "{node}");
}

#[tokio::test]
async fn an_older_schema_rejects_machine_user_until_the_query_drops_it() {
    let sim = start(SimConfig::default().with_schema_without("User.machineUser")).await;
    let vars = with(member_vars("acme-inc"), json!({ "first": 2 }));
    let rejected = gql(&sim, "UnidirMembers", vars.clone()).await;
    assert_eq!(rejected.status, 200);
    let body = rejected.json();
    assert!(body.get("data").is_none(), "{body}");
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(
        errors[0]["message"],
        json!("Field 'machineUser' doesn't exist on type 'User'")
    );
    assert_eq!(
        errors[0]["extensions"],
        json!({ "code": "undefinedField", "typeName": "User", "fieldName": "machineUser" })
    );
    assert_eq!(errors[0]["path"][6], json!("machineUser"));

    let reduced = common::without_optional(common::MEMBERS_QUERY);
    let body = gql_document(
        &sim,
        Some(sim.default_token()),
        &reduced,
        "UnidirMembers",
        vars,
    )
    .await
    .json();
    assert_eq!(member_edges(&body).len(), 2, "{body}");
    // The nested-teams follow-up never selected the field.
    let slug = format!(
        "acme-inc/{}",
        member_edges(&body)[0]["node"]["uuid"]
            .as_str()
            .expect("uuid")
    );
    let teams = gql(
        &sim,
        "UnidirMemberTeams",
        json!({ "slug": slug, "first": 1, "after": null }),
    )
    .await
    .json();
    assert!(
        teams["data"]["organizationMember"]["teams"]["count"].is_number(),
        "{teams}"
    );

    let bad = unidir_buildkite_sim::Simulator::start(
        SimConfig::default().with_schema_without("User.nickname"),
    )
    .await;
    assert!(
        matches!(bad, Err(unidir_buildkite_sim::SimError::InvalidConfig(_))),
        "{bad:?}"
    );
}
