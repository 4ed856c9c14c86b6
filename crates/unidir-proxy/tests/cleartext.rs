//! The token never travels in cleartext to a host that is not loopback: a base URL with
//! `http://` is refused when the proxy is built unless its host is `localhost` or a loopback
//! literal — a *name* that resolves to 127.0.0.1 does not count. Every name here is mapped
//! to the local mock server by reqwest's resolver override, so a mistake would show up as a
//! request on that server, not as traffic off the machine.

mod support;

use httpmock::MockServer;
use unidir_core::ErrorKind;
use unidir_proxy::{Proxy, ProxyRequest};

use support::{CANARY, ORG, rules};

const NAMES: &[&str] = &["evil.test", "localhost.evil.test", "127.0.0.1.evil.test"];

/// A reqwest builder that sends every name in [`NAMES`] to `server`.
fn resolving_to(server: &MockServer) -> reqwest::ClientBuilder {
    NAMES
        .iter()
        .fold(reqwest::Client::builder(), |builder, name| {
            builder.resolve(name, *server.address())
        })
}

fn proxy_for(server: &MockServer, rest: &str, graphql: &str) -> unidir_proxy::ProxyBuilder {
    Proxy::builder(rules())
        .with_token(CANARY)
        .with_organization(ORG)
        .with_rest_url(rest)
        .with_graphql_url(graphql)
        .with_reqwest_client_builder(resolving_to(server))
}

#[tokio::test]
async fn plain_http_to_a_name_resolving_to_loopback_is_refused_before_any_connection() {
    let server = MockServer::start_async().await;
    let port = server.port();
    // Mocks match in the order they were defined: one for requests made through the name,
    // then a catch-all for everything else.
    let via_name = server
        .mock_async(|when, then| {
            when.header("host", format!("evil.test:{port}"));
            then.status(200).body("[]");
        })
        .await;
    let catch_all = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body("[]");
        })
        .await;
    let loopback_graphql = server.url("/graphql");
    let loopback_rest = server.base_url();
    let mut refused = Vec::new();
    for name in NAMES {
        let evil = format!("http://{name}:{port}");
        refused.push((evil.clone(), loopback_graphql.clone()));
        refused.push((loopback_rest.clone(), format!("{evil}/graphql")));
    }
    // The wildcard address reaches local listeners too, but it is not a loopback address.
    refused.push((format!("http://0.0.0.0:{port}"), loopback_graphql.clone()));
    for (rest, graphql) in refused {
        let error = proxy_for(&server, &rest, &graphql)
            .build()
            .expect_err(&format!("{rest} / {graphql} must be refused"));
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{rest} / {graphql}");
        assert_eq!(error.operation(), "build");
        assert!(error.message().contains("https"), "{error}");
        let text = format!("{error} {error:?}");
        assert!(!text.contains(CANARY), "{text}");
    }
    assert_eq!(
        via_name.calls_async().await,
        0,
        "the listener saw a request"
    );
    assert_eq!(
        catch_all.calls_async().await,
        0,
        "the listener saw a request"
    );

    // Control: explicitly allowed, the same name does reach the local listener, so the
    // resolver override works and the zeros above are meaningful.
    let proxy = proxy_for(
        &server,
        &format!("http://evil.test:{port}"),
        &loopback_graphql,
    )
    .allow_plain_http(true)
    .build()
    .expect("plain http allowed explicitly");
    let response = proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/pipelines"))
        .await
        .expect("sent");
    assert_eq!(response.status, 200);
    via_name.assert_calls_async(1).await;
    assert_eq!(catch_all.calls_async().await, 0);

    // Control: a loopback literal needs no opt-in.
    let proxy = proxy_for(&server, &loopback_rest, &loopback_graphql)
        .build()
        .expect("loopback literal");
    proxy
        .send(ProxyRequest::get("/v2/organizations/acme-inc/pipelines"))
        .await
        .expect("sent");
    assert_eq!(catch_all.calls_async().await, 1);
    via_name.assert_calls_async(1).await;
}

#[tokio::test]
async fn https_to_a_name_is_accepted_at_build_time() {
    // The rule is about cleartext: https to any host builds (the TLS handshake then
    // authenticates the host before the token is sent).
    let server = MockServer::start_async().await;
    let port = server.port();
    assert!(
        proxy_for(
            &server,
            &format!("https://evil.test:{port}"),
            &format!("https://evil.test:{port}/graphql"),
        )
        .build()
        .is_ok()
    );
}
