//! Configuration: a builder that validates everything and does no I/O.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use unidir_core::{Error, Result};
use unidir_http::{HttpOptions, Observer, OriginGuard, RetryPolicy, SecretToken, Sleeper};

use crate::proxy::{Inner, Proxy};
use crate::rules::ProxyRules;
use crate::validate;

/// Default cap on a response body, counted after decompression (16 MiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = unidir_http::DEFAULT_MAX_BODY_BYTES;
/// Default cap on a request body (10 MiB).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// Builds a [`Proxy`] for one provider's [`ProxyRules`].
///
/// ```
/// use unidir_proxy::{Proxy, ProxyRules};
/// let rules = ProxyRules::new("example")
///     .with_default_rest_url("https://api.example.com")
///     .with_organization_roots(["/orgs"]);
/// let proxy = Proxy::builder(rules)
///     .with_token("tok_example")
///     .with_organization("acme-inc")
///     .build()
///     .expect("valid configuration");
/// assert!(!format!("{proxy:?}").contains("tok_example"));
/// ```
pub struct ProxyBuilder {
    rules: ProxyRules,
    token: Option<String>,
    rest_url: Option<String>,
    graphql_url: Option<String>,
    organization: Option<String>,
    pin: Option<bool>,
    prefixes: Option<Vec<String>>,
    graphql_enabled: bool,
    max_request_bytes: usize,
    /// Deadlines, retries, URL policy, client, observer, sleeper, response cap: the kit's.
    http: HttpOptions,
}

impl fmt::Debug for ProxyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyBuilder")
            .field("provider", &self.rules.provider())
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("rest_url", &self.rest_url)
            .field("graphql_url", &self.graphql_url)
            .field("organization", &self.organization)
            .field("pin", &self.pin)
            .field("prefixes", &self.prefixes)
            .field("graphql_enabled", &self.graphql_enabled)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl ProxyBuilder {
    /// A configuration for the provider `rules` describe (its crate builds them, e.g.
    /// `unidir_buildkite::proxy_rules()`); the same as [`Proxy::builder`].
    pub fn new(rules: ProxyRules) -> Self {
        Self {
            rules,
            token: None,
            rest_url: None,
            graphql_url: None,
            organization: None,
            pin: None,
            prefixes: None,
            graphql_enabled: true,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            http: HttpOptions::new()
                .with_user_agent(concat!("unidir-proxy/", env!("CARGO_PKG_VERSION")))
                .with_max_body_bytes(DEFAULT_MAX_RESPONSE_BYTES),
        }
    }

    /// The API access token the proxy injects. Kept in a secret type from `build` on;
    /// never printed.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// REST root (default: the rules' [`ProxyRules::with_default_rest_url`]; required when
    /// they name none). Request paths are appended to it.
    pub fn with_rest_url(mut self, url: impl Into<String>) -> Self {
        self.rest_url = Some(url.into());
        self
    }

    /// GraphQL endpoint (default: the rules' [`ProxyRules::with_default_graphql_url`];
    /// without either, [`Proxy::graphql`] is off).
    pub fn with_graphql_url(mut self, url: impl Into<String>) -> Self {
        self.graphql_url = Some(url.into());
        self
    }

    /// The organization slug of this connection. Setting it turns organization pinning on
    /// unless [`ProxyBuilder::pin_to_organization`] says otherwise.
    pub fn with_organization(mut self, slug: impl Into<String>) -> Self {
        self.organization = Some(slug.into());
        self
    }

    /// Whether REST paths must stay inside the configured organization: a path must start
    /// with exactly `<root>/<org>` for one of the rules' organization roots
    /// ([`ProxyRules::with_organization_roots`]), or be a `GET` of one of their identity
    /// paths ([`ProxyRules::with_identity_paths`]). On by default when an organization is
    /// set; requires one, and rules with at least one organization root. GraphQL documents
    /// are not inspected: see [`ProxyBuilder::with_graphql_enabled`].
    pub fn pin_to_organization(mut self, pin: bool) -> Self {
        self.pin = Some(pin);
        self
    }

    /// Only paths equal to, or below, one of these prefixes are forwarded (compared on
    /// segment boundaries: `/v2/organizations/acme/pipelines` does not admit
    /// `/v2/organizations/acme/pipelines-old`). Each prefix must be a valid path under the
    /// rules' [`ProxyRules::with_path_prefix`].
    pub fn with_allowed_prefixes<I, S>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.prefixes = Some(prefixes.into_iter().map(Into::into).collect());
        self
    }

    /// Whether [`Proxy::graphql`] is available (default `true`). A GraphQL document can
    /// name any organization the token sees, so turn this off where pinning must hold for
    /// every request.
    pub fn with_graphql_enabled(mut self, enabled: bool) -> Self {
        self.graphql_enabled = enabled;
        self
    }

    /// Allows `http://` base URLs on hosts other than loopback (for a simulator on a
    /// private network). Off by default: the token is only ever sent over HTTPS, or over
    /// HTTP to `localhost` or a loopback literal (`127.0.0.0/8`, `::1`); a host name that
    /// resolves to a loopback address does not count ([`unidir_http::check_base_url`]).
    pub fn allow_plain_http(mut self, allow: bool) -> Self {
        self.http = self.http.allow_plain_http(allow);
        self
    }

    /// Every HTTP setting at once (replacing those set before): deadlines, retries, the URL
    /// policy, user agent (default `unidir-proxy/<version>`; `HttpOptions::new()` says
    /// `unidir/<version>`), client, observer, sleeper and response cap. The setters here
    /// change one of them each.
    pub fn with_http_options(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// Deadline of one attempt: connect, send, and read the whole body (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.with_timeout(timeout);
        self
    }

    /// Deadline of the TCP/TLS connect (default 10 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.with_connect_timeout(timeout);
        self
    }

    /// Largest response body accepted, counted while streaming and after decompression
    /// (default 16 MiB).
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Self {
        self.http = self.http.with_max_body_bytes(bytes);
        self
    }

    /// Largest request body accepted (default 10 MiB).
    pub fn with_max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// Retry and rate-limit settings (the same rules as the adapter), including
    /// [`RetryPolicy::operation_deadline`]: one call — attempts, backoffs and rate-limit
    /// waits together — ends within it (default 600 s) with `Upstream`.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.http = self.http.with_retry_policy(policy);
        self
    }

    /// What waits between attempts (tests inject one that does not sleep).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.http = self.http.with_sleeper(sleeper);
        self
    }

    /// Told about every wait longer than two seconds (a rate-limit reset, a retry backoff, an
    /// answer that is slow to come), e.g. to tell a person at a terminal what is happening.
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.http = self.http.with_observer(observer);
        self
    }

    /// Starts from this reqwest builder (for proxies or extra root certificates): the one
    /// place the proxy's API names reqwest. The proxy
    /// still applies the shared URL policy ([`OriginGuard::harden_reqwest`]: no redirects, no
    /// `Referer`, HTTPS only when every base URL is HTTPS) and its timeouts and user agent —
    /// so a custom client cannot reintroduce redirects.
    pub fn with_reqwest_client_builder(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.http = self.http.with_reqwest_client_builder(builder);
        self
    }

    /// Validates the configuration and builds the proxy. No request is sent.
    pub fn build(self) -> Result<Proxy> {
        let mut rules = self.rules;
        let provider = rules.provider();
        let tag = |e: Error| e.with_provider(provider).with_operation("build");
        rules.validate().map_err(tag)?;
        let token = SecretToken::new(
            self.token
                .ok_or_else(|| {
                    Error::invalid_input(format!(
                        "a {} API token is required",
                        rules.status_hook().display_name()
                    ))
                })
                .map_err(tag)?,
        )
        .map_err(tag)?;
        let rest_url = self
            .rest_url
            .or_else(|| rules.default_rest_url().map(str::to_owned))
            .ok_or_else(|| {
                tag(Error::invalid_input(
                    "a REST URL is required: the proxy rules name no default",
                ))
            })?;
        // The adapters' rule, from the one shared function: https, or plain http only to a
        // loopback literal or `localhost` (a name that resolves to 127.0.0.1 is not enough).
        let rest = self
            .http
            .check_base_url(&rest_url, "REST URL")
            .map_err(tag)?;
        let graphql = match self
            .graphql_url
            .or_else(|| rules.default_graphql_url().map(str::to_owned))
        {
            Some(url) => Some(self.http.check_base_url(&url, "GraphQL URL").map_err(tag)?),
            None => None,
        };
        if let Some(org) = &self.organization {
            rules.check_slug(org).map_err(tag)?;
        }
        let pin = self.pin.unwrap_or(self.organization.is_some());
        if pin && self.organization.is_none() {
            return Err(tag(Error::invalid_input(
                "pinning to the organization needs with_organization",
            )));
        }
        if pin && rules.organization_roots().is_empty() {
            return Err(tag(Error::invalid_input(
                "the proxy rules name no organization roots, so there is nothing to pin to; \
                 use pin_to_organization(false)",
            )));
        }
        let prefixes = match self.prefixes {
            None => None,
            Some(list) if list.is_empty() => {
                return Err(tag(Error::invalid_input(format!(
                    "the allowed prefix list is empty; leave it unset to allow every {} path",
                    rules.path_prefix()
                ))));
            }
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for prefix in list {
                    let prefix = prefix.trim_end_matches('/').to_owned();
                    validate::check_path(&prefix, rules.path_prefix()).map_err(|reason| {
                        tag(Error::invalid_input(format!(
                            "an allowed prefix is not a valid path: {reason}"
                        )))
                    })?;
                    out.push(prefix);
                }
                Some(out)
            }
        };
        if self.max_request_bytes == 0 {
            return Err(tag(Error::invalid_input(
                "size limits must be at least 1 byte",
            )));
        }
        let timeout = self.http.timeout();
        // The client itself refuses any URL off these origins, whatever built it, and the
        // URL policy is applied over a caller's reqwest builder.
        let origins = OriginGuard::new([Some(&rest), graphql.as_ref()].into_iter().flatten());
        let http = self
            .http
            .client_builder(provider, origins)
            .map_err(tag)?
            .with_rate_limit_scheme(rules.rate_limit_scheme())
            .build()
            .map_err(tag)?;
        let rest_base_path = rest.path().trim_end_matches('/').to_owned();
        Ok(Proxy::from_inner(Inner {
            http,
            token,
            rest,
            rest_base_path,
            graphql_enabled: self.graphql_enabled && graphql.is_some(),
            graphql,
            organization: self.organization,
            pin,
            prefixes,
            rules,
            timeout,
            max_request_bytes: self.max_request_bytes,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::rules::test_rules;

    fn base() -> ProxyBuilder {
        ProxyBuilder::new(test_rules()).with_token("bkua_test")
    }

    #[test]
    fn validates_without_io() {
        assert!(base().build().is_ok());
        assert!(
            ProxyBuilder::new(test_rules()).build().is_err(),
            "token required"
        );
        assert!(base().with_token("bad token").build().is_err());
        for url in [
            "ftp://api.buildkite.com",
            "https://user:pw@api.buildkite.com",
            "https://api.buildkite.com/?x=1",
            "https://api.buildkite.com/#f",
            "http://api.buildkite.com",
            "http://10.0.0.1:8080",
            "not a url",
        ] {
            assert!(base().with_rest_url(url).build().is_err(), "{url}");
        }
        for url in [
            "http://127.0.0.1:1234",
            "http://localhost:9",
            "http://[::1]:80",
        ] {
            assert!(base().with_rest_url(url).build().is_ok(), "{url}");
        }
        assert!(
            base()
                .with_rest_url("http://sim:8080")
                .allow_plain_http(true)
                .build()
                .is_ok()
        );
        assert!(base().pin_to_organization(true).build().is_err());
        assert!(base().with_organization("acme/evil").build().is_err());
        assert!(
            base()
                .with_allowed_prefixes(Vec::<String>::new())
                .build()
                .is_err()
        );
        assert!(base().with_allowed_prefixes(["/v2/../x"]).build().is_err());
        assert!(base().with_allowed_prefixes(["/v2/user/"]).build().is_ok());
        assert!(base().with_max_response_bytes(0).build().is_err());
        assert!(base().with_timeout(Duration::ZERO).build().is_err());
    }

    #[test]
    fn shared_http_options_are_forwarded() {
        // The proxy's own user agent unless the options replace it.
        assert!(base().http.user_agent().starts_with("unidir-proxy/"));
        let options = HttpOptions::new()
            .allow_plain_http(true)
            .with_timeout(Duration::from_secs(7));
        let proxy = base()
            .with_http_options(options)
            .with_rest_url("http://sim:8080")
            .build()
            .expect("plain http allowed by the options");
        assert_eq!(proxy.inner().timeout, Duration::from_secs(7));
        // A setter after the options changes only its own setting.
        let builder = base()
            .with_http_options(HttpOptions::new().allow_plain_http(true))
            .with_timeout(Duration::from_secs(3));
        assert!(builder.http.plain_http_allowed());
        assert_eq!(builder.http.timeout(), Duration::from_secs(3));
        assert!(base().with_connect_timeout(Duration::ZERO).build().is_err());
        assert!(base().with_max_request_bytes(0).build().is_err());
    }

    #[test]
    fn the_rules_supply_defaults_and_limits() {
        let bare = || ProxyBuilder::new(ProxyRules::new("bare")).with_token("tok");
        let e = bare().build().expect_err("no REST URL anywhere");
        assert!(e.message().contains("REST URL is required"), "{e}");
        assert_eq!(e.provider(), "bare");
        // No GraphQL URL anywhere: the GraphQL passthrough is off, REST works.
        let proxy = bare()
            .with_rest_url("https://api.example.com")
            .build()
            .expect("REST only");
        assert!(!proxy.inner().graphql_enabled);
        let proxy = base().build().expect("defaults");
        assert!(proxy.inner().graphql_enabled);
        assert_eq!(proxy.inner().rest.as_str(), "https://api.example.com/");
        // Rules without organization roots cannot pin.
        let e = bare()
            .with_rest_url("https://api.example.com")
            .with_organization("acme")
            .build()
            .expect_err("nothing to pin to");
        assert!(e.message().contains("no organization roots"), "{e}");
        assert!(
            bare()
                .with_rest_url("https://api.example.com")
                .with_organization("acme")
                .pin_to_organization(false)
                .build()
                .is_ok()
        );
        // Invalid rules are refused at build.
        let rules = test_rules().with_forwarded_headers(["authorization"]);
        assert!(ProxyBuilder::new(rules).with_token("tok").build().is_err());
        // Prefixes are checked against the rules' path prefix.
        assert!(base().with_allowed_prefixes(["/v3/x"]).build().is_err());
    }
}
