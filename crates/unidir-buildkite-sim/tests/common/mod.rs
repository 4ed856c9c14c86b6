//! Shared helpers for the simulator's integration tests.
#![allow(dead_code)]

use std::collections::HashMap;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use unidir_buildkite_sim::{RunningSimulator, SimConfig, Simulator};

/// The adapter's real GraphQL documents.
pub(crate) const MEMBERS_QUERY: &str =
    include_str!("../../../unidir-buildkite/src/graphql/members.graphql");
pub(crate) const MEMBER_TEAMS_QUERY: &str =
    include_str!("../../../unidir-buildkite/src/graphql/member_teams.graphql");

/// A document as the adapter sends it for a read that selects no optional user field:
/// without its `# with <field>` lines (`unidir-buildkite/src/fields.rs`).
pub(crate) fn as_sent(document: &str) -> String {
    document
        .lines()
        .filter(|line| !line.contains("# with "))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// A document without the lines its author marked `# optional` (as the adapter sends it once
/// the server has rejected those fields).
pub(crate) fn without_optional(document: &str) -> String {
    let kept: Vec<&str> = document
        .lines()
        .filter(|line| !line.contains("# optional"))
        .collect();
    assert!(kept.len() < document.lines().count(), "no optional line");
    kept.join("\n")
}

pub(crate) async fn start(config: SimConfig) -> RunningSimulator {
    Simulator::start(config).await.expect("simulator starts")
}

#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn header_u64(&self, name: &str) -> u64 {
        self.header(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("header {name} missing or not a number: {:?}", self.headers))
    }

    /// `rel` → URL of the `Link` header.
    pub(crate) fn links(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        let Some(link) = self.header("link") else {
            return out;
        };
        for part in link.split(',') {
            let mut pieces = part.split(';');
            let url = pieces
                .next()
                .map(|u| {
                    u.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_owned()
                })
                .expect("url");
            for attr in pieces {
                if let Some(rel) = attr.trim().strip_prefix("rel=") {
                    out.insert(rel.trim_matches('"').to_owned(), url.clone());
                }
            }
        }
        out
    }
}

pub(crate) async fn send(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    let client = reqwest::Client::new();
    let mut req = client.request(method, url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    let resp = req.send().await.expect("request is answered");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body is readable");
    Resp {
        status,
        headers,
        text,
    }
}

pub(crate) fn url(sim: &RunningSimulator, path_and_query: &str) -> String {
    format!(
        "{}{}",
        sim.base_url().as_str().trim_end_matches('/'),
        path_and_query
    )
}

/// GET with the default token.
pub(crate) async fn get(sim: &RunningSimulator, path_and_query: &str) -> Resp {
    send(
        reqwest::Method::GET,
        &url(sim, path_and_query),
        Some(sim.default_token()),
        None,
    )
    .await
}

pub(crate) async fn call(
    sim: &RunningSimulator,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Resp {
    send(
        method,
        &url(sim, path),
        Some(sim.default_token()),
        body.as_ref(),
    )
    .await
}

/// A GraphQL request with the default token.
pub(crate) async fn gql(sim: &RunningSimulator, operation: &str, variables: Value) -> Resp {
    gql_with(sim, Some(sim.default_token()), operation, variables).await
}

pub(crate) async fn gql_with(
    sim: &RunningSimulator,
    token: Option<&str>,
    operation: &str,
    variables: Value,
) -> Resp {
    let query = match operation {
        "UnidirMembers" => as_sent(MEMBERS_QUERY),
        "UnidirMemberTeams" => MEMBER_TEAMS_QUERY.to_owned(),
        // A valid document the simulator does not run.
        _ => format!("query {operation} {{ viewer {{ user {{ name }} }} }}"),
    };
    gql_document(sim, token, &query, operation, variables).await
}

/// A GraphQL request with this document.
pub(crate) async fn gql_document(
    sim: &RunningSimulator,
    token: Option<&str>,
    query: &str,
    operation: &str,
    variables: Value,
) -> Resp {
    let body = json!({ "query": query, "operationName": operation, "variables": variables });
    send(
        reqwest::Method::POST,
        sim.graphql_url().as_str(),
        token,
        Some(&body),
    )
    .await
}

/// `UnidirMembers` variables with everything optional set to null.
pub(crate) fn member_vars(slug: &str) -> Value {
    json!({
        "slug": slug, "first": null, "after": null, "last": null, "before": null,
        "email": null, "role": null, "team": null, "teamsFirst": 2
    })
}

pub(crate) fn with(mut vars: Value, changes: Value) -> Value {
    if let (Some(map), Some(changes)) = (vars.as_object_mut(), changes.as_object()) {
        for (k, v) in changes {
            map.insert(k.clone(), v.clone());
        }
    }
    vars
}

/// Edges of `data.organization.members`.
pub(crate) fn member_edges(body: &Value) -> Vec<Value> {
    body["data"]["organization"]["members"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no member edges in {body}"))
}
