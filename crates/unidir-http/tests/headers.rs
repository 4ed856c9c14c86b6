//! Response heads the provider should never send: a `Link` header of 10,000 entries (a
//! megabyte) is the provider's contract violation, said with its cause and not retried.

use std::sync::Arc;

use unidir_core::ErrorKind;
use unidir_http::testing::RecordingSleeper;
use unidir_http::testing::hostile::{HostileServer, Reply};
use unidir_http::{HttpClientBuilder, RetryPolicy};

#[tokio::test]
async fn an_oversized_response_head_is_a_contract_violation_not_retried() {
    let link = (1..=10_000)
        .map(|p| {
            format!("<https://api.buildkite.com/v2/organizations/acme-inc/members?page={p}&per_page=100>; rel=\"next\"")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let server =
        HostileServer::start(move |_| Reply::raw_json(200, "[]").header("Link", &link)).await;
    let rec = RecordingSleeper::default();
    let http = HttpClientBuilder::new("test")
        .with_retry_policy(RetryPolicy {
            max_retries: 3,
            jitter_seed: Some(3),
            ..RetryPolicy::default()
        })
        .with_sleeper(Arc::new(rec.clone()))
        .build()
        .expect("client");
    let url = format!("{}/v2/organizations/acme-inc/members", server.url());
    let err = http
        .execute("list_users", true, || http.reqwest().get(&url))
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::ContractViolation, "{err}");
    assert!(err.message().contains("header"), "the cause: {err}");
    assert_eq!(server.requests().len(), 1, "not retried: {err}");
    assert!(rec.delays().is_empty());
}
