//! Serves `fixtures/buildkite/<scenario>/*.json` with httpmock, and fails the test loudly
//! when the adapter sends a request no fixture answers.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::Arc;

use httpmock::{Method, Mock, MockServer};
use serde_json::Value;
use unidir_buildkite::{Buildkite, RetryPolicy};
pub use unidir_http::testing::RecordingSleeper;

/// The token every test uses; it must never show up in any output.
pub const CANARY: &str = "bkua_CANARY_d41d8cd98f00b204e9800998ecf8427e";

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/buildkite")
}

pub struct FixtureServer {
    pub server: MockServer,
    unmatched: usize,
    pub mocks: Vec<(String, usize)>,
}

impl FixtureServer {
    /// Mounts the scenarios in order (earlier ones win), then a catch-all.
    pub fn mount(scenarios: &[&str]) -> Self {
        let server = MockServer::start();
        let mut mocks = Vec::new();
        for scenario in scenarios {
            let dir = fixtures_dir().join(scenario);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file).expect("read fixture");
                let fixture: Value = serde_json::from_str(&text).expect("fixture JSON");
                let mock = mount_one(&server, &fixture);
                mocks.push((
                    format!(
                        "{scenario}/{}",
                        file.file_name().expect("name").to_string_lossy()
                    ),
                    mock.id(),
                ));
            }
        }
        let unmatched = server
            .mock(|when, then| {
                when.any_request();
                then.status(599)
                    .body("UNMATCHED REQUEST: no fixture answers it");
            })
            .id();
        Self {
            server,
            unmatched,
            mocks,
        }
    }

    pub fn rest_url(&self) -> String {
        self.server.base_url()
    }

    pub fn graphql_url(&self) -> String {
        self.server.url("/v1")
    }

    /// A directory pointed at this server, with the canary token and a recording sleeper.
    pub fn directory(&self, org: &str) -> (Buildkite, RecordingSleeper) {
        let sleeper = RecordingSleeper::default();
        let directory = Buildkite::builder()
            .with_token(CANARY)
            .with_organization(org)
            .with_rest_url(self.rest_url())
            .with_graphql_url(self.graphql_url())
            .with_nested_page_size(2)
            .with_retry_policy(RetryPolicy {
                jitter_seed: Some(1),
                ..RetryPolicy::default()
            })
            .with_sleeper(Arc::new(sleeper.clone()))
            .build()
            .expect("directory");
        (directory, sleeper)
    }

    /// How often the fixture `name` (e.g. `acme/10-get-members-page1.json`) was served.
    pub fn calls(&self, name: &str) -> usize {
        let (_, id) = self
            .mocks
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no fixture {name}"));
        Mock::new(*id, &self.server).calls()
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let hits = Mock::new(self.unmatched, &self.server).calls();
        assert_eq!(
            hits, 0,
            "the adapter sent {hits} request(s) that no fixture answers"
        );
    }
}

fn mount_one<'a>(server: &'a MockServer, fixture: &Value) -> Mock<'a> {
    let request = &fixture["request"];
    let response = &fixture["response"];
    server.mock(|mut when, mut then| {
        let method = request["method"].as_str().expect("method");
        when = when.method(method.parse::<Method>().expect("known method"));
        if let Some(path) = request["path"].as_str() {
            when = when.path(path);
        }
        if let Some(prefix) = request["path_prefix"].as_str() {
            when = when.path_prefix(prefix);
        }
        if let Some(query) = request["query"].as_object() {
            for (k, v) in query {
                when = when.query_param(k, v.as_str().expect("query values are strings"));
            }
            // Exactly these parameters: an extra filter must not match an unfiltered fixture.
            when = when.query_param_count(".*", ".*", query.len());
        }
        if let Some(gql) = request.get("graphql") {
            when = when.json_body_includes(gql.to_string());
        }

        // Every request must carry the injected token and nothing else as credentials.
        when.header("authorization", format!("Bearer {CANARY}"));
        then = then.status(response["status"].as_u64().expect("status") as u16);
        if let Some(times) = fixture["times"].as_u64() {
            then = then.up_to_n_times(times as usize);
        }
        if let Some(headers) = response["headers"].as_object() {
            for (k, v) in headers {
                then = then.header(k, v.as_str().expect("header values are strings"));
            }
        }
        if let Some(raw) = response["body_raw"].as_str() {
            then.body(raw);
        } else if !response["body"].is_null() {
            then.body(response["body"].to_string());
        }
    })
}
