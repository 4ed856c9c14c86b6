//! Configuration: a validated builder that does no I/O.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use unidir_core::{Error, Result, WalkLimits};
use unidir_http::{
    HttpOptions, IetfDraft, Observer, OriginGuard, RetryPolicy, SecretToken, Sleeper,
};

use crate::api::Api;
use crate::directory::Buildkite;
use crate::spill::SpillConfig;

/// Public Buildkite REST root.
pub const DEFAULT_REST_URL: &str = "https://api.buildkite.com";
/// Public Buildkite GraphQL endpoint.
pub const DEFAULT_GRAPHQL_URL: &str = "https://graphql.buildkite.com/v1";

/// Buildkite's rate-limit headers: the IETF draft's `RateLimit-Limit/Remaining/Reset` for
/// the organization's budget, `RateLimit-User-*` for the token user's own, `RateLimit-Scope`
/// (`rest`, `graphql`); resets in seconds from now.
pub(crate) fn rate_limit_scheme() -> Arc<IetfDraft> {
    Arc::new(
        IetfDraft::new()
            .with_user_budget("ratelimit-user-")
            .with_scope_header("ratelimit-scope"),
    )
}

/// Whether to use GraphQL where it has richer data (org role details, join dates, 2FA, SSO,
/// e-mail lookup, members with their teams in one query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GraphqlMode {
    /// Use GraphQL, and fall back to REST for good if the token turns out to lack GraphQL
    /// access (Buildkite answers 403 "doesn't have the graphql scope").
    #[default]
    Auto,
    /// Always use GraphQL; a token without GraphQL access gets a `PermissionDenied` error.
    Required,
    /// Never use GraphQL.
    Disabled,
}

/// Builds a [`Buildkite`] directory.
///
/// ```
/// use unidir_buildkite::Buildkite;
/// let directory = Buildkite::builder()
///     .with_token("bkua_example")
///     .with_organization("acme-inc")
///     .build()
///     .expect("valid configuration");
/// assert!(!format!("{directory:?}").contains("bkua_example"));
/// ```
pub struct BuildkiteBuilder {
    token: Option<String>,
    organization: Option<String>,
    rest_url: String,
    graphql_url: String,
    /// Deadlines, retries, URL policy, client, observer, sleeper, body cap: the kit's.
    http: HttpOptions,
    graphql: GraphqlMode,
    nested_page_size: u32,
    walk_limits: WalkLimits,
    team_index_ttl: Duration,
    spill: SpillConfig,
}

impl fmt::Debug for BuildkiteBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildkiteBuilder")
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("organization", &self.organization)
            .field("rest_url", &self.rest_url)
            .field("graphql_url", &self.graphql_url)
            .field("graphql", &self.graphql)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl Default for BuildkiteBuilder {
    fn default() -> Self {
        Self {
            token: None,
            organization: None,
            rest_url: DEFAULT_REST_URL.to_owned(),
            graphql_url: DEFAULT_GRAPHQL_URL.to_owned(),
            http: HttpOptions::new(),
            graphql: GraphqlMode::Auto,
            nested_page_size: 50,
            walk_limits: WalkLimits::default(),
            team_index_ttl: Duration::from_secs(300),
            spill: SpillConfig::default(),
        }
    }
}

impl BuildkiteBuilder {
    /// The API access token (`bkua_...`). Kept in a secret type from here on.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The organization slug the directory reads (e.g. `acme-inc`).
    pub fn with_organization(mut self, slug: impl Into<String>) -> Self {
        self.organization = Some(slug.into());
        self
    }

    /// REST root (default `https://api.buildkite.com`); for the simulator and tests.
    pub fn with_rest_url(mut self, url: impl Into<String>) -> Self {
        self.rest_url = url.into();
        self
    }

    /// GraphQL endpoint (default `https://graphql.buildkite.com/v1`).
    pub fn with_graphql_url(mut self, url: impl Into<String>) -> Self {
        self.graphql_url = url.into();
        self
    }

    /// Every HTTP setting at once (replacing those set before): deadlines, retries, the URL
    /// policy, user agent, client, observer, sleeper and body cap. The setters below change
    /// one of them each.
    pub fn with_http_options(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// Deadline of one HTTP attempt (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.with_timeout(timeout);
        self
    }

    /// Deadline of a connect (default 10 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.with_connect_timeout(timeout);
        self
    }

    /// Retry and rate-limit settings.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.http = self.http.with_retry_policy(policy);
        self
    }

    /// What waits between attempts (tests inject one that does not sleep).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.http = self.http.with_sleeper(sleeper);
        self
    }

    /// Uses this reqwest client (configure it with no redirects and timeouts): the one place
    /// the adapter's API names reqwest, for proxies, root certificates or DNS overrides.
    pub fn with_reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.http = self.http.with_reqwest_client(client);
        self
    }

    /// When to use GraphQL.
    pub fn with_graphql(mut self, mode: GraphqlMode) -> Self {
        self.graphql = mode;
        self
    }

    /// Page size of the nested team lists inside GraphQL member pages (1..=100, default 50).
    /// Members with more teams get follow-up requests, never a truncated list.
    pub fn with_nested_page_size(mut self, size: u32) -> Self {
        self.nested_page_size = size;
        self
    }

    /// Largest response body accepted (default 16 MiB).
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.http = self.http.with_max_body_bytes(bytes);
        self
    }

    /// Allows `http://` URLs on hosts other than loopback (a simulator on a private
    /// network). Off by default: the token is only ever sent over HTTPS, or over plain HTTP
    /// to `localhost`, `127.0.0.0/8` or `::1` (literally; a name that resolves there is not
    /// enough).
    pub fn allow_plain_http(mut self, allow: bool) -> Self {
        self.http = self.http.allow_plain_http(allow);
        self
    }

    /// Told about every wait longer than two seconds (rate-limit reset, retry, slow answer).
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.http = self.http.with_observer(observer);
        self
    }

    /// Bounds of every walk over all pages (streams and internal walks, nested team lists
    /// included). The defaults suit an organization of a million users.
    pub fn with_walk_limits(mut self, limits: WalkLimits) -> Self {
        self.walk_limits = limits;
        self
    }

    /// How long the REST team index (every team's members, read to give users their teams
    /// when GraphQL is not used) is kept after its last use (default 5 minutes). A walk
    /// over every user page reads the teams once; a caller that comes back later than this
    /// gets a fresh read. `Duration::ZERO` reads them again for every page.
    pub fn with_team_index_ttl(mut self, ttl: Duration) -> Self {
        self.team_index_ttl = ttl;
        self
    }

    /// How many team memberships a full read over REST (a token without the `graphql`
    /// scope) joins with the member pages in memory (default 4,096, ≈ 40 bytes each). In a
    /// larger organization both go to temporary files, partitioned by user, and are joined
    /// one partition at a time, so the read's memory does not grow with the organization.
    /// The files are created unlinked (mode 0600) and vanish when the read ends or fails;
    /// where none can be created, the join stays in memory.
    pub fn with_full_read_memberships_in_memory(mut self, memberships: usize) -> Self {
        self.spill.memberships_in_memory = memberships;
        self
    }

    /// How many GraphQL member rows a `Detail::Full` read holds while REST is still reading
    /// the teams (default 1,000: two pages). Later pages wait in an unlinked (0600)
    /// temporary file and are read back in order once REST is done, so a slow REST side
    /// costs disk, not memory; where no temporary file can be created, they wait in memory.
    pub fn with_full_read_rows_in_memory(mut self, rows: usize) -> Self {
        self.spill.rows_in_memory = rows;
        self
    }

    /// The directory of the full read's temporary files (default: the system's temporary
    /// directory; see [`Self::with_full_read_memberships_in_memory`]).
    pub fn with_full_read_temp_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.spill.dir = Some(dir.into());
        self
    }

    /// Validates the configuration and builds the directory. No request is sent.
    pub fn build(self) -> Result<Buildkite> {
        let tag = |e: Error| e.with_provider(crate::PROVIDER).with_operation("build");
        let token = SecretToken::new(
            self.token
                .ok_or_else(|| Error::invalid_input("a Buildkite API token is required"))
                .map_err(tag)?,
        )
        .map_err(tag)?;
        let organization = self
            .organization
            .ok_or_else(|| Error::invalid_input("a Buildkite organization slug is required"))
            .map_err(tag)?;
        crate::api::check_slug(&organization).map_err(tag)?;
        let rest = self
            .http
            .check_base_url(&self.rest_url, "REST URL")
            .map_err(tag)?;
        let graphql = self
            .http
            .check_base_url(&self.graphql_url, "GraphQL URL")
            .map_err(tag)?;
        if self.walk_limits.max_pages == 0 || self.walk_limits.max_items == 0 {
            return Err(tag(Error::invalid_input(
                "walk limits must allow at least one page and one item",
            )));
        }
        if !(1..=100).contains(&self.nested_page_size) {
            return Err(tag(Error::invalid_input(
                "nested page size must be 1..=100",
            )));
        }
        // Every request is checked against these two origins just before it is sent.
        let http = self
            .http
            .client_builder(crate::PROVIDER, OriginGuard::new([&rest, &graphql]))
            .map_err(tag)?
            .with_rate_limit_scheme(rate_limit_scheme())
            .build()
            .map_err(tag)?;
        let api = Api::new(http, token, rest, graphql, organization);
        let mut directory = Buildkite::new(
            api,
            self.graphql,
            self.nested_page_size,
            self.walk_limits,
            self.team_index_ttl,
        );
        directory.spill = self.spill;
        Ok(directory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BuildkiteBuilder {
        Buildkite::builder()
            .with_token("bkua_test")
            .with_organization("acme-inc")
    }

    #[test]
    fn shared_http_options_are_forwarded() {
        let sim = |b: BuildkiteBuilder| {
            b.with_rest_url("http://sim:8080")
                .with_graphql_url("http://sim:8080/v1")
                .build()
        };
        assert!(sim(base()).is_err(), "cleartext to a name is refused");
        assert!(sim(base().allow_plain_http(true)).is_ok());
        assert!(sim(base().with_http_options(HttpOptions::new().allow_plain_http(true))).is_ok());
        // Options given at once replace the earlier settings.
        let replaced = base()
            .allow_plain_http(true)
            .with_http_options(HttpOptions::new());
        assert!(sim(replaced).is_err());
        // The kit refuses absurd settings for every builder.
        for bad in [
            base().with_timeout(Duration::ZERO),
            base().with_connect_timeout(Duration::ZERO),
            base().with_max_body_bytes(0),
        ] {
            let error = bad.build().expect_err("refused");
            assert_eq!(error.kind(), unidir_core::ErrorKind::InvalidInput);
            assert_eq!(error.provider(), crate::PROVIDER);
        }
    }
}
