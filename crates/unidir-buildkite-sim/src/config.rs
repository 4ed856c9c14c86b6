//! Simulator configuration.

use std::time::Duration;

use crate::spec::OrgSpec;

/// An API access token the simulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// REST organization budget per 60 s window; `None` = counted and reported (limit 200)
    /// but never enforced.
    pub org_budget_per_minute: Option<u32>,
    /// REST per-user budget per 60 s window; `None` = counted and reported (limit 50) but
    /// never enforced.
    pub user_budget_per_minute: Option<u32>,
    /// GraphQL organization complexity budget per 300 s; `None` = reported (limit 20000) but
    /// never enforced.
    pub graphql_org_points: Option<u32>,
    /// GraphQL per-user complexity budget per 300 s; `None` = reported (limit 5000) but never
    /// enforced.
    pub graphql_user_points: Option<u32>,
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

    /// Enforces a REST organization budget (requests per 60 s).
    pub fn with_org_budget_per_minute(mut self, budget: u32) -> Self {
        self.org_budget_per_minute = Some(budget);
        self
    }

    /// Enforces a REST per-user budget (requests per 60 s).
    pub fn with_user_budget_per_minute(mut self, budget: u32) -> Self {
        self.user_budget_per_minute = Some(budget);
        self
    }

    /// Enforces GraphQL complexity budgets (points per 300 s) for the organization and per user.
    pub fn with_graphql_budget(mut self, org_points: u32, user_points: u32) -> Self {
        self.graphql_org_points = Some(org_points);
        self.graphql_user_points = Some(user_points);
        self
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
            org_budget_per_minute: None,
            user_budget_per_minute: None,
            graphql_org_points: None,
            graphql_user_points: None,
            latency: None,
            spec: None,
            schema_without: Vec::new(),
        }
    }
}
