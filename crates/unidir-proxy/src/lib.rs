//! # unidir-proxy
//!
//! A passthrough to a provider's REST and GraphQL APIs for everything the unified model does
//! not cover (for Buildkite: pipelines, builds, logs, artifacts), safe by construction. The
//! proxy knows no provider: the provider's crate describes its API as [`ProxyRules`]
//! (default endpoints, path prefix, where an organization's resources live, extra headers,
//! how its errors read), e.g. `unidir_buildkite::proxy_rules()`.
//!
//! - **The token is the proxy's.** Callers never supply credentials: `Authorization`,
//!   `Cookie`, `Host`, `Proxy-*`, hop-by-hop and `X-Forwarded-*` headers are dropped (only an
//!   allow-list is forwarded, see [`FORWARDED_REQUEST_HEADERS`]), and credential-like query
//!   parameters are refused. The token never appears in `Debug` output, errors or logs, and
//!   is scrubbed from responses.
//! - **Only the configured origin.** Paths are validated as raw strings before any parsing
//!   (no absolute or scheme-relative URLs, backslashes, dot segments in any encoding, encoded
//!   separators, control characters, `@`, or non-ASCII raw or percent-encoded: an escape may
//!   only stand for a letter, digit, `-`, `_` or `~`), the URL is built from configuration
//!   plus the validated path, and the HTTP client refuses any URL off the configured origins.
//!   The URL policy is the adapters' own ([`unidir_http::check_base_url`] and
//!   [`unidir_http::OriginGuard`]): base URLs are `https`, or `http` to a loopback literal or
//!   `localhost` only; redirects are returned, never followed, and no `Referer` is sent.
//!   Optional: an allow-list of path prefixes and pinning to the connection's organization.
//! - **Bounded.** Per-attempt timeout, response size cap enforced while streaming (after
//!   decompression), request size cap, and the adapters' rate-limit and retry rules: `GET`
//!   and GraphQL queries are retried, writes are not (except after a 429, which means "not
//!   processed").
//!
//! Non-2xx answers are returned as [`ProxyResponse`]s, not errors. Errors
//! ([`unidir_core::Error`]) mean: refused before sending (`InvalidInput`), a limit was hit,
//! or the transport failed.
//!
//! ```no_run
//! use unidir_proxy::{Proxy, ProxyRequest, ProxyRules};
//!
//! # async fn run(rules: ProxyRules) -> unidir_core::Result<()> {
//! // `rules` come from the provider's crate: `unidir_buildkite::proxy_rules()` for Buildkite.
//! let proxy = Proxy::builder(rules)
//!     .with_token(std::env::var("BUILDKITE_API_TOKEN").unwrap_or_default())
//!     .with_organization("acme-inc") // pins REST paths to this organization
//!     .build()?;
//! let response = proxy
//!     .send(
//!         ProxyRequest::get("/v2/organizations/acme-inc/pipelines/deploy/builds")
//!             .with_query("state", "failed"),
//!     )
//!     .await?;
//! println!("{} {}", response.status, response.text());
//! # Ok(()) }
//! ```

#![warn(clippy::unwrap_used)]
#![warn(missing_docs)]

mod config;
mod graphql;
mod list;
mod proxy;
mod request;
mod response;
mod rules;
mod validate;

pub use config::{DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_RESPONSE_BYTES, ProxyBuilder};
pub use list::MAX_PAGE_SIZE;
pub use proxy::Proxy;
pub use request::{GraphqlRequest, Method, ProxyRequest};
pub use response::ProxyResponse;
pub use rules::{ProxyRules, SlugRule};
pub use unidir_http::status::StatusHook;
pub use unidir_http::{
    Budget, IetfDraft, Notice, Observer, RateLimitScheme, RateLimitState, RetryPolicy, Sleeper,
    TokioSleeper, WaitReason, XRateLimit,
};
pub use validate::{
    DROPPED_RESPONSE_HEADERS, FORBIDDEN_QUERY_NAMES, FORWARDED_REQUEST_HEADERS,
    MAX_HEADER_VALUE_LEN, MAX_HEADERS, MAX_PATH_LEN, MAX_QUERY_LEN, MAX_QUERY_PAIRS,
};

/// Compiles the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
