//! The token written back by the upstream in any form never reaches the proxy's caller: a
//! table of token forms × the proxy's paths (a body, a header, a GraphQL answer, a `list`
//! page whose items are decoded, a `list` error message). Checked independently of the
//! scrubber (`unidir_http::testing::token_forms`).

mod support;

use httpmock::MockServer;
use unidir_core::ErrorKind;
use unidir_http::testing::token_forms::{assert_free, forms};
use unidir_proxy::{GraphqlRequest, ProxyRequest};

use support::{CANARY, RecordingSleeper, builder};

#[tokio::test]
async fn no_token_form_reaches_the_caller() {
    for (name, form) in forms(CANARY) {
        let server = MockServer::start_async().await;
        let body = format!(r#"[{{"name":"Pipeline {form}","note":"{form}"}}]"#);
        server
            .mock_async(|when, then| {
                when.path("/v2/organizations/acme-inc/pipelines");
                then.status(200)
                    .header("content-type", "application/json")
                    .header("x-note", form.replace("\\n", "-"))
                    .body(&body);
            })
            .await;
        server
            .mock_async(|when, then| {
                when.path("/v2/organizations/acme-inc/refused");
                then.status(403)
                    .header("content-type", "application/json")
                    .body(format!(r#"{{"message":"Nothing for {form}"}}"#));
            })
            .await;
        server
            .mock_async(|when, then| {
                when.path("/graphql");
                then.status(200)
                    .header("content-type", "application/json")
                    .body(format!(
                        r#"{{"errors":[{{"message":"Token {form} is odd"}}]}}"#
                    ));
            })
            .await;
        let proxy = builder(&server, &RecordingSleeper::default())
            .build()
            .expect("proxy");

        let response = proxy
            .send(ProxyRequest::get("/v2/organizations/acme-inc/pipelines"))
            .await
            .expect("send");
        assert_free(CANARY, &format!("{name}: body"), &response.text());
        assert!(
            response.text().contains("Pipeline "),
            "{name}: {}",
            response.text()
        );
        for (header, value) in &response.headers {
            assert_free(CANARY, &format!("{name}: header {header}"), value);
        }

        let answer = proxy
            .graphql(GraphqlRequest::new("{ viewer { user { name } } }"))
            .await
            .expect("graphql");
        assert_free(CANARY, &format!("{name}: GraphQL body"), &answer.text());

        let page = proxy
            .list(
                ProxyRequest::get("/v2/organizations/acme-inc/pipelines"),
                None,
                None,
            )
            .await
            .expect("list");
        let items = serde_json::to_string(&page.result).expect("items");
        assert!(items.contains("Pipeline "), "{name}: {items}");
        assert_free(CANARY, &format!("{name}: list items"), &items);

        let error = proxy
            .list(
                ProxyRequest::get("/v2/organizations/acme-inc/refused"),
                None,
                None,
            )
            .await
            .expect_err("403");
        assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{name}: {error}");
        assert!(error.message().contains("Nothing for"), "{name}: {error}");
        assert_free(
            CANARY,
            &format!("{name}: list error"),
            &format!("{error} {error:?}"),
        );
    }
}
