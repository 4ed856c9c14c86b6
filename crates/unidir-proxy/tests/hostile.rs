//! Hostile input: every row is refused with `InvalidInput` before anything is sent — the
//! mock server's catch-all must see zero calls after each row.

mod support;

use httpmock::MockServer;
use serde_json::json;
use unidir_core::{Cursor, ErrorKind};
use unidir_proxy::{GraphqlRequest, Method, ProxyRequest};

use support::{CANARY, RecordingSleeper, builder};

/// Which proxy configuration a row runs against.
#[derive(Debug, Clone, Copy)]
enum Config {
    /// Pinned to `acme-inc`, request bodies capped at 1 KiB.
    Pinned,
    /// Pinned, and only `/v2/organizations/acme-inc/pipelines` is allowed.
    AllowList,
}

fn get(path: &str) -> ProxyRequest {
    ProxyRequest::get(path)
}

fn ok_path() -> ProxyRequest {
    ProxyRequest::get("/v2/organizations/acme-inc/pipelines")
}

fn rows() -> Vec<(&'static str, Config, ProxyRequest)> {
    use Config::{AllowList, Pinned};
    let long = format!("/v2/organizations/acme-inc/{}", "a".repeat(5000));
    let many_headers: Vec<(String, String)> = (0..65)
        .map(|i| (format!("x-h{i}"), "v".to_owned()))
        .collect();
    let many_query: Vec<(String, String)> = (0..101)
        .map(|i| (format!("q{i}"), "v".to_owned()))
        .collect();
    let mut too_many_headers = ok_path();
    too_many_headers.headers = many_headers;
    let mut too_many_params = ok_path();
    too_many_params.query = many_query;
    vec![
        // --- Absolute, scheme-relative and scheme-bearing URLs ---
        (
            "absolute https URL",
            Pinned,
            get("https://evil.example/steal"),
        ),
        (
            "absolute http URL",
            Pinned,
            get("http://evil.example/v2/user"),
        ),
        (
            "scheme-relative //host",
            Pinned,
            get("//evil.example/steal"),
        ),
        ("backslash host", Pinned, get("\\\\evil.example/steal")),
        (
            "backslash traversal",
            Pinned,
            get("/v2/organizations/acme-inc\\..\\..\\admin"),
        ),
        ("scheme without slashes", Pinned, get("http:evil.example")),
        ("javascript: URL", Pinned, get("javascript:alert(1)")),
        ("file URL", Pinned, get("file:///etc/passwd")),
        // --- Dot segments, literal and encoded ---
        ("relative ../../", Pinned, get("../../v1/x")),
        ("literal /v2/../", Pinned, get("/v2/../admin")),
        (
            "literal .. into another org",
            Pinned,
            get("/v2/organizations/acme-inc/../other/members"),
        ),
        ("encoded %2e%2e", Pinned, get("/v2/%2e%2e/admin")),
        ("mixed-case %2E%2e", Pinned, get("/v2/%2E%2e/admin")),
        (
            "half-encoded .%2e",
            Pinned,
            get("/v2/organizations/acme-inc/.%2e/other"),
        ),
        (
            "double-encoded %252e%252e",
            Pinned,
            get("/v2/%252e%252e/admin"),
        ),
        (
            "overlong UTF-8 %c0%ae",
            Pinned,
            get("/v2/organizations/acme-inc/pipelines/%c0%ae%c0%ae"),
        ),
        ("single dot segment", Pinned, get("/v2/./user")),
        (
            "trailing dot segment",
            Pinned,
            get("/v2/organizations/acme-inc/."),
        ),
        (
            "all-dots segment",
            Pinned,
            get("/v2/organizations/acme-inc/..."),
        ),
        // --- Encoded separators and empty segments ---
        (
            "encoded slash ..%2f",
            Pinned,
            get("/v2/organizations/..%2fadmin"),
        ),
        (
            "encoded slash %2f",
            Pinned,
            get("/v2/organizations/acme-inc%2fmembers"),
        ),
        (
            "encoded slash %2F",
            Pinned,
            get("/v2/organizations/acme-inc%2Fmembers"),
        ),
        (
            "encoded backslash %5c",
            Pinned,
            get("/v2/organizations/acme-inc%5cmembers"),
        ),
        ("empty segment //", Pinned, get("/v2//user")),
        (
            "trailing slash",
            Pinned,
            get("/v2/organizations/acme-inc/pipelines/"),
        ),
        // --- Control characters, raw and encoded ---
        ("encoded NUL %00", Pinned, get("/v2/user%00")),
        (
            "encoded CRLF %0d%0a",
            Pinned,
            get("/v2/user%0d%0aX-Injected"),
        ),
        (
            "raw CRLF header injection",
            Pinned,
            get("/v2/organizations/acme-inc\r\nHost: evil.example"),
        ),
        ("raw TAB", Pinned, get("/v2/organizations/acme\tinc")),
        ("raw NUL", Pinned, get("/v2/user\0")),
        (
            "raw trailing LF",
            Pinned,
            get("/v2/organizations/acme-inc/members\n"),
        ),
        // --- Userinfo, query and fragment smuggling ---
        ("@ userinfo", Pinned, get("/v2/@evil.example/x")),
        ("leading @host", Pinned, get("@evil.example/v2/user")),
        (
            "encoded @ %40",
            Pinned,
            get("/v2/organizations/acme-inc%40evil.example"),
        ),
        ("query inside path", Pinned, get("/v2/user?access_token=x")),
        ("fragment inside path", Pinned, get("/v2/user#fragment")),
        (
            "colon (port smuggling)",
            Pinned,
            get("/v2/organizations/acme-inc:443/x"),
        ),
        (
            "semicolon path parameter",
            Pinned,
            get("/v2/organizations/acme-inc/pipelines;jsessionid=x"),
        ),
        (
            "space",
            Pinned,
            get("/v2/organizations/acme-inc/pipelines/a b"),
        ),
        // --- Shape ---
        ("empty path", Pinned, get("")),
        ("over-long path", Pinned, get(&long)),
        ("non-ASCII", Pinned, get("/v2/organizations/acmé-inc")),
        ("wrong API version", Pinned, get("/v1/user")),
        ("uppercase version", Pinned, get("/V2/user")),
        ("no leading slash", Pinned, get("v2/user")),
        ("lone percent", Pinned, get("/v2/user%")),
        ("bad percent-escape", Pinned, get("/v2/user%zz")),
        // --- Organization pinning ---
        (
            "another organization",
            Pinned,
            get("/v2/organizations/other-org/members"),
        ),
        (
            "org with our slug as prefix",
            Pinned,
            get("/v2/organizations/acme-inc-evil/members"),
        ),
        (
            "org slug in another case",
            Pinned,
            get("/v2/organizations/ACME-INC/members"),
        ),
        ("all organizations", Pinned, get("/v2/organizations")),
        ("cross-org builds", Pinned, get("/v2/builds")),
        (
            "another org under a product",
            Pinned,
            get("/v2/packages/organizations/other-org/registries"),
        ),
        (
            "revoking the proxy's token",
            Pinned,
            ProxyRequest::delete("/v2/access-token"),
        ),
        (
            "org under an arbitrary root",
            Pinned,
            get("/v2/anything/organizations/acme-inc/teams"),
        ),
        (
            "org under a non-product root",
            Pinned,
            get("/v2/builds/organizations/acme-inc"),
        ),
        (
            "org two levels down",
            Pinned,
            get("/v2/a/b/organizations/acme-inc/members"),
        ),
        (
            "org slug as a later segment",
            Pinned,
            get("/v2/organizations/other-org/pipelines/acme-inc"),
        ),
        (
            "encoded 'organizations' for another org",
            Pinned,
            get("/v2/%6Frganizations/other-org/members"),
        ),
        (
            "encoded slug of the pinned org",
            Pinned,
            get("/v2/organizations/acme%2Dinc/members"),
        ),
        (
            "writing to the user root",
            Pinned,
            ProxyRequest::post("/v2/user"),
        ),
        (
            "below an identity root",
            Pinned,
            get("/v2/user/organizations/acme-inc"),
        ),
        // --- Non-ASCII, raw and percent-encoded ---
        (
            "full-width slash %EF%BC%8F",
            Pinned,
            get("/v2/organizations/acme-inc%EF%BC%8Fmembers"),
        ),
        (
            "full-width slash, lowercase escapes",
            Pinned,
            get("/v2/organizations/acme-inc/pipelines%ef%bc%8fx"),
        ),
        (
            "full-width slash, raw UTF-8",
            Pinned,
            get("/v2/organizations/acme-inc\u{ff0f}members"),
        ),
        (
            "full-width dots %EF%BC%8E%EF%BC%8E",
            Pinned,
            get("/v2/organizations/acme-inc/%EF%BC%8E%EF%BC%8E/other-org"),
        ),
        (
            "percent-encoded e-acute %C3%A9",
            Pinned,
            get("/v2/organizations/acme-inc/pipelines/caf%C3%A9"),
        ),
        (
            "percent-encoded bidi override %E2%80%AE",
            Pinned,
            get("/v2/organizations/acme-inc/pipelines/%E2%80%AEx"),
        ),
        (
            "percent-encoded BOM %EF%BB%BF",
            Pinned,
            get("/v2/organizations/acme-inc/%EF%BB%BFmembers"),
        ),
        (
            "raw zero-width space",
            Pinned,
            get("/v2/organizations/acme-inc/\u{200b}members"),
        ),
        (
            "percent-encoded space %20",
            Pinned,
            get("/v2/organizations/acme-inc/pipelines/a%20b"),
        ),
        (
            "percent-encoded colon %3a",
            Pinned,
            get("/v2/organizations/acme-inc/pipelines/a%3a443"),
        ),
        (
            "lone high byte %FF",
            Pinned,
            get("/v2/organizations/acme-inc/pipelines/%FF"),
        ),
        // --- Path allow-list ---
        (
            "outside the allow-list",
            AllowList,
            get("/v2/organizations/acme-inc/members"),
        ),
        (
            "allow-list string prefix",
            AllowList,
            get("/v2/organizations/acme-inc/pipelines-secret"),
        ),
        // --- Headers ---
        (
            "CRLF in header value",
            Pinned,
            ok_path().with_header("X-Evil", "a\r\nHost: evil.example"),
        ),
        (
            "CRLF in allowed header",
            Pinned,
            ok_path().with_header("Accept", "application/json\r\nAuthorization: Bearer stolen"),
        ),
        (
            "LF in header value",
            Pinned,
            ok_path().with_header("Accept", "application/json\n"),
        ),
        (
            "NUL in header value",
            Pinned,
            ok_path().with_header("Accept", "a\0b"),
        ),
        (
            "TAB in header value",
            Pinned,
            ok_path().with_header("Accept", "a\tb"),
        ),
        (
            "non-ASCII header value",
            Pinned,
            ok_path().with_header("Content-Type", "application/jsön"),
        ),
        (
            "space in header name",
            Pinned,
            ok_path().with_header("Bad Header", "x"),
        ),
        (
            "colon in header name",
            Pinned,
            ok_path().with_header("Host:", "evil.example"),
        ),
        ("empty header name", Pinned, ok_path().with_header("", "x")),
        (
            "CRLF in header name",
            Pinned,
            ok_path().with_header("X-Evil\r\nHost", "evil.example"),
        ),
        (
            "duplicate Content-Type",
            Pinned,
            ProxyRequest::post("/v2/organizations/acme-inc/pipelines")
                .with_header("Content-Type", "application/json")
                .with_header("content-type", "text/plain")
                .with_body("{}"),
        ),
        ("65 headers", Pinned, too_many_headers),
        (
            "8 KiB header value",
            Pinned,
            ok_path().with_header("Accept", "a".repeat(8193)),
        ),
        // --- Query ---
        (
            "access_token query",
            Pinned,
            ok_path().with_query("access_token", CANARY),
        ),
        (
            "api_key query",
            Pinned,
            ok_path().with_query("api_key", "x"),
        ),
        (
            "Token query (case)",
            Pinned,
            ok_path().with_query("Token", "x"),
        ),
        (
            "access_token[] query",
            Pinned,
            ok_path().with_query("ACCESS_TOKEN[]", "x"),
        ),
        (
            "padded access_token query",
            Pinned,
            ok_path().with_query(" access_token ", "x"),
        ),
        (
            "CRLF in query name",
            Pinned,
            ok_path().with_query("page\r\n", "1"),
        ),
        (
            "CRLF in query value",
            Pinned,
            ok_path().with_query("branch", "main\r\nHost: evil"),
        ),
        ("empty query name", Pinned, ok_path().with_query("", "x")),
        ("101 query parameters", Pinned, too_many_params),
        // --- Body ---
        ("GET with a body", Pinned, ok_path().with_body("{}")),
        (
            "body over the request cap",
            Pinned,
            ProxyRequest::post("/v2/organizations/acme-inc/pipelines").with_body(vec![b'x'; 2048]),
        ),
    ]
}

#[tokio::test]
async fn hostile_requests_are_refused_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let catch_all = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body("[]");
        })
        .await;
    let sleeper = RecordingSleeper::default();
    let pinned = builder(&server, &sleeper)
        .with_max_request_bytes(1024)
        .build()
        .expect("pinned proxy");
    let allow_list = builder(&server, &sleeper)
        .with_allowed_prefixes(["/v2/organizations/acme-inc/pipelines"])
        .build()
        .expect("allow-list proxy");

    let rows = rows();
    assert!(rows.len() >= 30, "the table must hold at least 30 rows");
    for (name, config, request) in rows {
        let proxy = match config {
            Config::Pinned => &pinned,
            Config::AllowList => &allow_list,
        };
        let checked = proxy.check(&request);
        let error = proxy
            .send(request.clone())
            .await
            .expect_err(&format!("row {name:?} must be refused"));
        assert_eq!(
            error.kind(),
            ErrorKind::InvalidInput,
            "row {name:?}: {error}"
        );
        assert_eq!(error.provider(), "buildkite", "row {name:?}");
        assert_eq!(error.operation(), "proxy", "row {name:?}");
        assert!(
            checked.is_err(),
            "row {name:?}: check() must agree with send()"
        );
        let text = format!("{error} {error:?}");
        assert!(!text.contains(CANARY), "row {name:?} leaks the token");
        assert!(
            !text.contains("evil.example"),
            "row {name:?} echoes caller input: {text}"
        );
        assert_eq!(
            catch_all.calls_async().await,
            0,
            "row {name:?} reached the mock server"
        );
        // The list entry point applies the same checks.
        if request.method == Method::Get && request.body.is_none() {
            let error = proxy
                .list(request, None, None)
                .await
                .expect_err(&format!("row {name:?} must be refused by list"));
            assert_eq!(error.kind(), ErrorKind::InvalidInput, "list row {name:?}");
            assert_eq!(error.operation(), "proxy_list", "list row {name:?}");
        }
    }
    assert_eq!(catch_all.calls_async().await, 0);
    // Control: a well-formed request through the same proxy does reach the catch-all, so the
    // zero counts above are meaningful.
    let response = pinned.send(ok_path()).await.expect("well-formed request");
    assert_eq!(response.status, 200);
    assert_eq!(catch_all.calls_async().await, 1);
}

#[tokio::test]
async fn hostile_methods_cannot_be_expressed() {
    for method in [
        "TRACE", "CONNECT", "HEAD", "OPTIONS", "PROPFIND", "GET ", " GET", "G\0ET", "",
    ] {
        let error = method
            .parse::<Method>()
            .expect_err(&format!("{method:?} must not parse"));
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
    }
    for method in ["GET", "post", "Put", "PATCH", "delete"] {
        assert!(method.parse::<Method>().is_ok(), "{method}");
    }
}

#[tokio::test]
async fn hostile_list_and_graphql_requests_are_refused_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let catch_all = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).body("[]");
        })
        .await;
    let sleeper = RecordingSleeper::default();
    let proxy = builder(&server, &sleeper)
        .with_max_request_bytes(1024)
        .build()
        .expect("proxy");
    let members = || ProxyRequest::get("/v2/organizations/acme-inc/members");

    type ListRow = (
        &'static str,
        ProxyRequest,
        Option<Cursor>,
        Option<u32>,
        ErrorKind,
    );
    let list_rows: Vec<ListRow> = vec![
        (
            "caller page",
            members().with_query("page", "2"),
            None,
            None,
            ErrorKind::InvalidInput,
        ),
        (
            "caller per_page",
            members().with_query("per_page", "5"),
            None,
            None,
            ErrorKind::InvalidInput,
        ),
        (
            "caller after",
            members().with_query("after", "x"),
            None,
            None,
            ErrorKind::InvalidInput,
        ),
        (
            "limit zero",
            members(),
            None,
            Some(0),
            ErrorKind::InvalidInput,
        ),
        (
            "POST list",
            ProxyRequest::post("/v2/organizations/acme-inc/members"),
            None,
            None,
            ErrorKind::InvalidInput,
        ),
        (
            "garbage cursor",
            members(),
            Some(Cursor::new("not-a-cursor!")),
            None,
            ErrorKind::InvalidCursor,
        ),
        (
            "empty cursor",
            members(),
            Some(Cursor::new("")),
            None,
            ErrorKind::InvalidCursor,
        ),
        (
            "URL cursor",
            members(),
            Some(Cursor::new(
                "https://evil.example/v2/organizations/acme-inc/members?page=2",
            )),
            None,
            ErrorKind::InvalidCursor,
        ),
    ];
    for (name, request, cursor, limit, kind) in list_rows {
        let error = proxy
            .list(request, cursor.as_ref(), limit)
            .await
            .expect_err(&format!("list row {name:?} must be refused"));
        assert_eq!(error.kind(), kind, "list row {name:?}: {error}");
        assert_eq!(
            catch_all.calls_async().await,
            0,
            "list row {name:?} was sent"
        );
    }

    let graphql_rows: Vec<(&str, GraphqlRequest)> = vec![
        ("empty document", GraphqlRequest::new("  ")),
        (
            "variables not an object",
            GraphqlRequest::new("{ viewer { id } }").with_variables(json!([1])),
        ),
        (
            "bad operation name",
            GraphqlRequest::new("{ viewer { id } }").with_operation_name("a b"),
        ),
        (
            "operation name with CRLF",
            GraphqlRequest::new("{ viewer { id } }").with_operation_name("A\r\nB"),
        ),
        (
            "document over the cap",
            GraphqlRequest::new(format!("{{ viewer {{ id }} }} #{}", "x".repeat(2048))),
        ),
        (
            "CRLF in header",
            GraphqlRequest::new("{ viewer { id } }").with_header("Accept", "x\r\nAuthorization: y"),
        ),
    ];
    for (name, request) in graphql_rows {
        let error = proxy
            .graphql(request)
            .await
            .expect_err(&format!("graphql row {name:?} must be refused"));
        assert_eq!(
            error.kind(),
            ErrorKind::InvalidInput,
            "graphql row {name:?}"
        );
        assert_eq!(error.operation(), "proxy_graphql", "graphql row {name:?}");
        assert_eq!(
            catch_all.calls_async().await,
            0,
            "graphql row {name:?} was sent"
        );
    }

    let no_graphql = builder(&server, &sleeper)
        .with_graphql_enabled(false)
        .build()
        .expect("proxy");
    let error = no_graphql
        .graphql(GraphqlRequest::new("{ viewer { id } }"))
        .await
        .expect_err("GraphQL is disabled");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(catch_all.calls_async().await, 0);
}
