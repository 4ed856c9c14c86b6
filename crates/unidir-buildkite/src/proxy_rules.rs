//! The Buildkite passthrough proxy: Buildkite's REST and GraphQL endpoints, its `/v2/` paths,
//! where an organization's resources live, its slug rule, its extra request header and how
//! its errors read, as [`ProxyRules`] for the provider-neutral `unidir-proxy`.
//!
//! ```no_run
//! use unidir_proxy::{GraphqlRequest, ProxyRequest};
//!
//! # async fn run() -> unidir_core::Result<()> {
//! let proxy = unidir_buildkite::proxy_builder()
//!     .with_token(std::env::var("BUILDKITE_API_TOKEN").unwrap_or_default())
//!     .with_organization("acme-inc") // pins REST paths to this organization
//!     .build()?;
//! let builds = proxy
//!     .send(
//!         ProxyRequest::get("/v2/organizations/acme-inc/pipelines/deploy/builds")
//!             .with_query("state", "failed"),
//!     )
//!     .await?; // a 404 or 422 is a response, not an error
//! let viewer = proxy
//!     .graphql(GraphqlRequest::new("{ viewer { user { name } } }"))
//!     .await?;
//! println!("{} {}", builds.status, viewer.text());
//! # Ok(()) }
//! ```

use std::sync::Arc;

use unidir_proxy::{Proxy, ProxyBuilder, ProxyRules};

use crate::PROVIDER;
use crate::config::{DEFAULT_GRAPHQL_URL, DEFAULT_REST_URL};

/// Where an organization's resources live when the proxy is pinned: the core REST API,
/// Packages and Test Engine. A pinned path must be `<root>/<org>` or lie below it.
pub const PINNED_ORGANIZATION_ROOTS: &[&str] = &[
    "/v2/organizations",
    "/v2/packages/organizations",
    "/v2/analytics/organizations",
];

/// Paths that are not under an organization but stay reachable (GET only, exact match) when
/// the proxy is pinned to one: the token's own identity (`unidir check` reads
/// `/v2/access-token`) and Buildkite's public metadata. `/v2/organizations` itself (every
/// organization the token sees) is not among them.
pub const PINNED_IDENTITY_PATHS: &[&str] = &["/v2/user", "/v2/access-token", "/v2/meta"];

/// Request headers Buildkite understands beyond the proxy's common set.
const FORWARDED_HEADERS: &[&str] = &["buildkite-include-query-stats"];

/// Buildkite's path words: proxy logs show them, and every other segment as `*`.
pub const PROXY_PATH_WORDS: &[&str] = &[
    "v2",
    "organizations",
    "pipelines",
    "builds",
    "jobs",
    "artifacts",
    "log",
    "env",
    "download",
    "teams",
    "members",
    "users",
    "user",
    "access-token",
    "agents",
    "clusters",
    "queues",
    "tokens",
    "emojis",
    "annotations",
    "meta",
    "rate_limit",
    "invitations",
    "audit_events",
    "packages",
    "registries",
    "analytics",
    "suites",
    "runs",
    "tests",
    "flaky-tests",
    "rebuild",
    "cancel",
    "retry",
    "unblock",
    "reprioritize",
    "stop",
    "pause",
    "resume",
    "archive",
    "unarchive",
    "webhook",
    "pipeline-templates",
    "rules",
    "test-suites",
    "schedules",
    "secrets",
];

/// Buildkite's rules for the passthrough proxy: `https://api.buildkite.com` and
/// `https://graphql.buildkite.com/v1` by default, paths under `/v2/`, pinning to
/// [`PINNED_ORGANIZATION_ROOTS`] with [`PINNED_IDENTITY_PATHS`] reachable, the adapter's
/// organization slug rule, `Buildkite-Include-Query-Stats` forwarded, the adapter's
/// reading of error answers (the scope a 403 names, the wait a 429 names) and of its
/// `RateLimit-*` headers.
pub fn proxy_rules() -> ProxyRules {
    ProxyRules::new(PROVIDER)
        .with_default_rest_url(DEFAULT_REST_URL)
        .with_default_graphql_url(DEFAULT_GRAPHQL_URL)
        .with_path_prefix("/v2/")
        .with_organization_roots(PINNED_ORGANIZATION_ROOTS.iter().copied())
        .with_identity_paths(PINNED_IDENTITY_PATHS.iter().copied())
        .with_slug_rule(crate::api::check_slug)
        .with_forwarded_headers(FORWARDED_HEADERS.iter().copied())
        .with_path_words(PROXY_PATH_WORDS.iter().copied())
        .with_status_hook(Arc::new(crate::api::Statuses))
        .with_rate_limit_scheme(crate::config::rate_limit_scheme())
}

/// A proxy configuration for Buildkite: `Proxy::builder(proxy_rules())`.
pub fn proxy_builder() -> ProxyBuilder {
    Proxy::builder(proxy_rules())
}

#[cfg(test)]
mod tests {
    use unidir_core::ErrorKind;
    use unidir_proxy::{Method, ProxyRequest};

    use super::*;

    fn pinned(org: &str) -> Proxy {
        proxy_builder()
            .with_token("bkua_test")
            .with_organization(org)
            .build()
            .expect("valid configuration")
    }

    /// Moved from the proxy's `validate.rs` with Buildkite's roots: the same assertions,
    /// through the public `Proxy::check`, which runs every check `send` does.
    #[test]
    fn pinning() {
        let proxy = pinned("acme");
        let check = |path: &str, method: Method| proxy.check(&ProxyRequest::new(method, path));
        assert!(check("/v2/organizations/acme", Method::Get).is_ok());
        assert!(check("/v2/organizations/acme/members", Method::Delete).is_ok());
        assert!(check("/v2/packages/organizations/acme/registries", Method::Get).is_ok());
        assert!(check("/v2/user", Method::Get).is_ok());
        assert!(check("/v2/access-token", Method::Delete).is_err());
        assert!(check("/v2/organizations", Method::Get).is_err());
        assert!(check("/v2/organizations/acme2", Method::Get).is_err());
        assert!(check("/v2/organizations/ACME", Method::Get).is_err());
        assert!(check("/v2/builds", Method::Get).is_err());
        assert!(check("/v2/packages/organizations/other/x", Method::Get).is_err());
        assert!(check("/v2/analytics/organizations/acme/suites", Method::Get).is_ok());
        assert!(check("/v2/packages/organizations/acme", Method::Get).is_ok());
        assert!(check("/v2/anything/organizations/acme/teams", Method::Get).is_err());
        assert!(check("/v2/packages/organizations", Method::Get).is_err());
        assert!(check("/v2/organizations/acme-evil", Method::Get).is_err());
        assert!(check("/v2/organizationsx/acme", Method::Get).is_err());
        assert!(check("/v2/meta", Method::Get).is_ok());
        assert!(check("/v2/user", Method::Post).is_err());
        assert!(check("/v2/user/x", Method::Get).is_err());
        // Refusals are Buildkite's, and name every root.
        let error = check("/v2/builds", Method::Get).expect_err("outside");
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert_eq!(error.provider(), PROVIDER);
        assert!(
            error.message().contains(
                "/v2/organizations/<org>/ (or /v2/packages/organizations/<org>/, \
                 /v2/analytics/organizations/<org>/)"
            ),
            "{error}"
        );
        // Paths outside /v2/ are refused whatever the pinning.
        let unpinned = proxy_builder()
            .with_token("bkua_test")
            .build()
            .expect("unpinned");
        assert!(unpinned.check(&ProxyRequest::get("/v2/builds")).is_ok());
        let error = unpinned
            .check(&ProxyRequest::get("/v3/builds"))
            .expect_err("not /v2/");
        assert!(error.message().contains("must start with /v2/"), "{error}");
    }

    /// Moved from the proxy's `validate.rs` with Buildkite's path words.
    #[test]
    fn templates_hide_identifiers() {
        assert_eq!(
            proxy_rules().path_template("/v2/organizations/acme/pipelines/deploy/builds/42"),
            "/v2/organizations/*/pipelines/*/builds/*"
        );
    }

    #[test]
    fn defaults_slugs_and_headers_are_buildkites() {
        let rules = proxy_rules();
        assert_eq!(rules.provider(), "buildkite");
        assert_eq!(rules.default_rest_url(), Some(DEFAULT_REST_URL));
        assert_eq!(rules.default_graphql_url(), Some(DEFAULT_GRAPHQL_URL));
        assert_eq!(rules.path_prefix(), "/v2/");
        assert_eq!(rules.forwarded_headers(), ["buildkite-include-query-stats"]);
        // The adapter's slug rule: the proxy and the adapter accept the same slugs.
        for ok in ["acme", "acme-inc", "acme_inc", "A1"] {
            assert!(rules.check_slug(ok).is_ok(), "{ok}");
        }
        for bad in ["", "acme/evil", "acme.inc", "acme~", "caf\u{e9}"] {
            assert!(rules.check_slug(bad).is_err(), "{bad:?}");
            let error = proxy_builder()
                .with_token("bkua_test")
                .with_organization(bad)
                .build()
                .expect_err("slug refused at build");
            assert_eq!(error.provider(), PROVIDER);
        }
        let error = proxy_builder().build().expect_err("token required");
        assert!(error.message().contains("Buildkite API token"), "{error}");
    }

    #[test]
    fn rate_limits_read_like_the_adapters() {
        use unidir_http::RateLimitScheme as _;

        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in [
            ("RateLimit-Limit", "200"),
            ("RateLimit-Remaining", "180"),
            ("RateLimit-Reset", "42"),
            ("RateLimit-User-Limit", "50"),
            ("RateLimit-User-Remaining", "0"),
            ("RateLimit-User-Reset", "12"),
            ("RateLimit-Scope", "rest"),
        ] {
            headers.insert(name, value.parse().expect("header value"));
        }
        let state = proxy_rules().rate_limit_scheme().read(&headers);
        assert_eq!(state.org.remaining, Some(180));
        assert_eq!(state.user.limit, Some(50));
        assert_eq!(state.scope.as_deref(), Some("rest"));
        assert_eq!(
            state.wait_if_exhausted(),
            Some(std::time::Duration::from_secs(12))
        );
        assert_eq!(
            state,
            crate::config::rate_limit_scheme().read(&headers),
            "the proxy and the adapter read the same headers"
        );
    }

    #[test]
    fn errors_read_like_the_adapters() {
        let hook = proxy_rules();
        let hook = hook.status_hook();
        assert_eq!(hook.provider(), PROVIDER);
        let message = hook.message(
            br#"{"message":"Your access token doesn't have the read_pipelines scope"}"#,
            None,
        );
        let error = unidir_http::error_for_status(
            hook,
            "proxy_list",
            403,
            message,
            unidir_http::RetryWait::none(),
        );
        assert_eq!(error.kind(), ErrorKind::PermissionDenied);
        assert_eq!(error.missing_scope(), Some("read_pipelines"));
        assert_eq!(error.provider(), PROVIDER);
    }
}
