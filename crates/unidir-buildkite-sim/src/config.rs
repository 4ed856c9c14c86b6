//! Simulator configuration.

use std::time::Duration;

use crate::complexity::{Accounting, CostRule};
use crate::ratelimit::{
    GRAPHQL_ORG_LIMIT, GRAPHQL_USER_LIMIT, MAX_QUERY_COMPLEXITY, REST_ORG_LIMIT, REST_USER_LIMIT,
};
use crate::spec::OrgSpec;

/// An API access token the simulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimToken {
    /// The bearer secret, e.g. `bkua_...`.
    pub token: String,
    /// Lowercase scope names as `/v2/access-token` lists them (`read_user`, `graphql`, ...).
    pub scopes: Vec<String>,
    /// Index of the generated member the token belongs to (0 = the first admin).
    pub user_index: usize,
}

impl SimToken {
    /// A token for the member at `user_index` with the given scopes.
    pub fn new<S: Into<String>>(
        token: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
        user_index: usize,
    ) -> Self {
        Self {
            token: token.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            user_index,
        }
    }
}

/// Everything that shapes a simulator. Build with `SimConfig::default().with_*(...)`.
///
/// The default enforces Buildkite's default budgets (REST 200 requests per minute per
/// organization and 50 per user; GraphQL 20,000 complexity points per 5 minutes per
/// organization and 5,000 per user; 50,000 requested points per query) at real speed.
/// [`SimConfig::unlimited`] enforces nothing, [`SimConfig::generous`] keeps only the
/// per-query cap, and [`SimConfig::with_time_scale`] shortens the windows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimConfig {
    /// Seed of every generated name, UUID and timestamp (default 42).
    pub seed: u64,
    /// Number of generated members (default 25; at least 1). Ignored with [`SimConfig::spec`].
    pub users: usize,
    /// Number of generated teams including `Everyone` (default 6; at least 1). Ignored with
    /// [`SimConfig::spec`].
    pub teams: usize,
    /// Organization slug (default `acme-inc`).
    pub org_slug: String,
    /// Organization name (default `Acme Inc`).
    pub org_name: String,
    /// Accepted tokens; the first is [`RunningSimulator::default_token`](crate::RunningSimulator::default_token).
    pub tokens: Vec<SimToken>,
    /// REST organization budget: requests per 60 s window (divided by [`SimConfig::time_scale`]),
    /// enforced. Default 200, Buildkite's.
    pub org_budget_per_minute: u32,
    /// REST per-user budget: requests per 60 s window (divided by the time scale), enforced.
    /// Default 50, Buildkite's.
    pub user_budget_per_minute: u32,
    /// GraphQL organization budget: actual complexity points per 300 s window (divided by the
    /// time scale), enforced. Default 20,000, Buildkite's.
    pub graphql_org_points: u32,
    /// GraphQL per-user budget: actual complexity points per 300 s window (divided by the
    /// time scale), enforced. Default 5,000, Buildkite's.
    pub graphql_user_points: u32,
    /// Largest requested complexity of one GraphQL query; a costlier query is refused before it
    /// runs (HTTP 200 with Buildkite's error). Default `Some(50_000)`, Buildkite's; `None` =
    /// no cap.
    pub max_query_complexity: Option<u32>,
    /// How GraphQL complexity is counted (default: Buildkite's documented rule).
    pub cost_rule: CostRule,
    /// When GraphQL points are charged (default: the actual complexity, after the query).
    pub accounting: Accounting,
    /// Every rate-limit window is this many times shorter than Buildkite's, with the same
    /// budgets, so budget-bound work finishes N times sooner (real-world duration = measured
    /// time × N). Default 1; must be at least 1.
    pub time_scale: u32,
    /// Extra delay before every API answer.
    pub latency: Option<Duration>,
    /// A hand-written organization instead of the generated one.
    pub spec: Option<OrgSpec>,
    /// `Type.field` coordinates (e.g. `User.machineUser`) left out of the GraphQL schema that
    /// queries are validated against, to play an older Buildkite whose schema lacks them.
    pub schema_without: Vec<String>,
}

impl SimConfig {
    /// Secret of the token every default configuration accepts.
    pub const DEFAULT_TOKEN: &'static str = "bkua_simulated_default_token";

    /// Scopes of [`SimConfig::DEFAULT_TOKEN`].
    pub const DEFAULT_SCOPES: &'static [&'static str] = &[
        "read_user",
        "read_organizations",
        "read_teams",
        "write_teams",
        "write_organizations",
        "graphql",
    ];

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the number of generated members.
    pub fn with_users(mut self, users: usize) -> Self {
        self.users = users;
        self
    }

    /// Sets the number of generated teams (including `Everyone`).
    pub fn with_teams(mut self, teams: usize) -> Self {
        self.teams = teams;
        self
    }

    /// Sets the organization slug.
    pub fn with_org_slug(mut self, slug: impl Into<String>) -> Self {
        self.org_slug = slug.into();
        self
    }

    /// Sets the organization name.
    pub fn with_org_name(mut self, name: impl Into<String>) -> Self {
        self.org_name = name.into();
        self
    }

    /// Adds an accepted token (the default token stays accepted).
    pub fn with_token(mut self, token: SimToken) -> Self {
        self.tokens.push(token);
        self
    }

    /// Replaces all accepted tokens; the first becomes the default token.
    pub fn with_tokens(mut self, tokens: Vec<SimToken>) -> Self {
        self.tokens = tokens;
        self
    }

    /// Sets the REST organization budget (requests per 60 s window).
    pub fn with_org_budget_per_minute(mut self, budget: u32) -> Self {
        self.org_budget_per_minute = budget;
        self
    }

    /// Sets the REST per-user budget (requests per 60 s window).
    pub fn with_user_budget_per_minute(mut self, budget: u32) -> Self {
        self.user_budget_per_minute = budget;
        self
    }

    /// Sets the GraphQL complexity budgets (points per 300 s window) of the organization and
    /// of each user.
    pub fn with_graphql_budget(mut self, org_points: u32, user_points: u32) -> Self {
        self.graphql_org_points = org_points;
        self.graphql_user_points = user_points;
        self
    }

    /// Sets the per-query requested-complexity cap (`None`: no cap).
    pub fn with_max_query_complexity(mut self, cap: Option<u32>) -> Self {
        self.max_query_complexity = cap;
        self
    }

    /// Counts GraphQL complexity by `rule` (e.g. [`CostRule::EdgesCharged`], stricter than
    /// Buildkite's documents).
    pub fn with_cost_rule(mut self, rule: CostRule) -> Self {
        self.cost_rule = rule;
        self
    }

    /// Charges GraphQL points as `accounting` says (e.g. [`Accounting::ChargeRequested`]:
    /// the requested complexity, before the query runs).
    pub fn with_accounting(mut self, accounting: Accounting) -> Self {
        self.accounting = accounting;
        self
    }

    /// Makes every rate-limit window `scale` times shorter (budgets unchanged): REST windows
    /// last 60 s / `scale`, GraphQL windows 300 s / `scale`. `RateLimit-*-Reset` headers and
    /// 429 bodies report the scaled wait in whole seconds, rounded up, so keep windows at a
    /// few seconds or more (`scale` ≤ 60 keeps REST windows ≥ 1 s) when a client's pacing
    /// matters. 0 makes [`Simulator::start`](crate::Simulator::start) fail.
    pub fn with_time_scale(mut self, scale: u32) -> Self {
        self.time_scale = scale;
        self
    }

    /// REST and GraphQL budgets of `u32::MAX` per window, which no run reaches, so
    /// `RateLimit-*-Remaining` never runs low and a pacing client never waits. The per-query
    /// complexity cap is kept: a query Buildkite would refuse is still refused.
    pub fn with_generous_budgets(self) -> Self {
        self.with_org_budget_per_minute(u32::MAX)
            .with_user_budget_per_minute(u32::MAX)
            .with_graphql_budget(u32::MAX, u32::MAX)
    }

    /// The default organization with [generous budgets](SimConfig::with_generous_budgets):
    /// what the CLI's built-in organization uses, so a first command is instant at any size.
    pub fn generous() -> Self {
        Self::default().with_generous_budgets()
    }

    /// The default organization with nothing enforced: generous budgets and no per-query
    /// complexity cap. For functional tests that are not about limits.
    pub fn unlimited() -> Self {
        Self::generous().with_max_query_complexity(None)
    }

    /// No budget is below `u32::MAX` and there is no per-query cap.
    pub fn is_unlimited(&self) -> bool {
        self.max_query_complexity.is_none()
            && [
                self.org_budget_per_minute,
                self.user_budget_per_minute,
                self.graphql_org_points,
                self.graphql_user_points,
            ]
            .iter()
            .all(|&b| b == u32::MAX)
    }

    /// Delays every API answer.
    pub fn with_latency(mut self, latency: std::time::Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Serves a hand-written organization instead of the generated one.
    pub fn with_spec(mut self, spec: OrgSpec) -> Self {
        self.spec = Some(spec);
        self
    }

    /// Leaves a `Type.field` (e.g. `User.machineUser`) out of the GraphQL schema, so queries
    /// selecting it get Buildkite's unknown-field error. Unknown coordinates make
    /// [`Simulator::start`](crate::Simulator::start) fail.
    pub fn with_schema_without(mut self, coordinate: impl Into<String>) -> Self {
        self.schema_without.push(coordinate.into());
        self
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            users: 25,
            teams: 6,
            org_slug: "acme-inc".into(),
            org_name: "Acme Inc".into(),
            tokens: vec![SimToken::new(
                Self::DEFAULT_TOKEN,
                Self::DEFAULT_SCOPES.iter().copied(),
                0,
            )],
            org_budget_per_minute: REST_ORG_LIMIT,
            user_budget_per_minute: REST_USER_LIMIT,
            graphql_org_points: GRAPHQL_ORG_LIMIT,
            graphql_user_points: GRAPHQL_USER_LIMIT,
            max_query_complexity: Some(MAX_QUERY_COMPLEXITY),
            cost_rule: CostRule::Documented,
            accounting: Accounting::ChargeActual,
            time_scale: 1,
            latency: None,
            spec: None,
            schema_without: Vec::new(),
        }
    }
}
