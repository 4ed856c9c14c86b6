//! From the environment and the global options to a connected directory: a real Buildkite
//! organization when `BUILDKITE_API_TOKEN` is set, the built-in simulator otherwise.

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use unidir_buildkite::{Buildkite, DEFAULT_GRAPHQL_URL, DEFAULT_REST_URL, RetryPolicy};
use unidir_buildkite_sim::{RunningSimulator, SimConfig, Simulator};
use unidir_core::Directory;
use unidir_proxy::{Proxy, ProxyRequest};

use crate::cli::{Command, GlobalArgs};
use crate::exit::{CliResult, Failure, code};
use crate::notice::StderrNotices;
use crate::output;
use crate::secret_guard;

/// The environment variable holding the API token (never a flag: argv leaks to `ps`).
pub(crate) const TOKEN_VAR: &str = "BUILDKITE_API_TOKEN";

/// Users and teams of the built-in simulated organization unless `--sim-*` say otherwise.
pub(crate) const SIM_USERS: usize = 25;
/// Teams of the built-in simulated organization, including "Everyone".
pub(crate) const SIM_TEAMS: usize = 6;
/// Seed of the built-in simulated organization.
pub(crate) const SIM_SEED: u64 = 42;

/// Organization slug the directory is built with when a command needs none (`me`, `orgs`):
/// the Buildkite adapter always takes one, and those operations never use it.
const NO_ORGANIZATION: &str = "unidir-no-organization";

/// A connected directory, plus what the proxy and messages need.
pub(crate) struct Connection {
    /// The unified directory.
    pub(crate) directory: Arc<dyn Directory>,
    /// The organization slug, when the command has one.
    pub(crate) org: Option<String>,
    /// The built-in simulator, when no token was set (kept alive for the command).
    pub(crate) simulator: Option<RunningSimulator>,
    token: String,
    rest_url: String,
    graphql_url: String,
    retry: RetryPolicy,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("directory", &self.directory)
            .field("org", &self.org)
            .field("simulated", &self.simulator.is_some())
            .field("token", &"[REDACTED]")
            .field("rest_url", &self.rest_url)
            .field("graphql_url", &self.graphql_url)
            .finish()
    }
}

impl Connection {
    /// Whether this runs against the built-in simulator.
    pub(crate) fn is_simulated(&self) -> bool {
        self.simulator.is_some()
    }

    /// A passthrough proxy with the same token and endpoints, pinned to the organization
    /// when there is one.
    pub(crate) fn proxy(&self) -> unidir_core::Result<Proxy> {
        proxy(
            &self.token,
            &self.rest_url,
            &self.graphql_url,
            self.org.as_deref(),
            &self.retry,
        )
    }

    /// Stops the built-in simulator, if any.
    pub(crate) async fn close(self) {
        if let Some(simulator) = self.simulator {
            simulator.shutdown().await;
        }
    }
}

fn proxy(
    token: &str,
    rest: &str,
    graphql: &str,
    org: Option<&str>,
    retry: &RetryPolicy,
) -> unidir_core::Result<Proxy> {
    let mut builder = unidir_buildkite::proxy_builder()
        .with_token(token)
        .with_rest_url(rest)
        .with_graphql_url(graphql)
        .with_retry_policy(retry.clone())
        .with_observer(Arc::new(StderrNotices));
    if let Some(org) = org {
        builder = builder.with_organization(org);
    }
    builder.build()
}

/// The retry policy of every client: the defaults, with `--deadline` as the operation
/// deadline.
fn retry_policy(global: &GlobalArgs) -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    if let Some(secs) = global.deadline {
        policy.operation_deadline = Duration::from_secs(secs);
    }
    policy
}

/// A Buildkite directory with the CLI's notices and retry policy.
fn directory(
    token: &str,
    org: &str,
    rest_url: &str,
    graphql_url: &str,
    retry: &RetryPolicy,
) -> unidir_core::Result<Buildkite> {
    Buildkite::builder()
        .with_token(token)
        .with_organization(org)
        .with_rest_url(rest_url)
        .with_graphql_url(graphql_url)
        .with_retry_policy(retry.clone())
        .with_observer(Arc::new(StderrNotices))
        .build()
}

/// The token from the environment; unset, empty or blank means "no token".
pub(crate) fn token_from_env() -> Option<String> {
    std::env::var(TOKEN_VAR)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Connects as the environment and options say.
pub(crate) async fn connect(global: &GlobalArgs, command: &Command) -> CliResult<Connection> {
    match token_from_env() {
        Some(token) => {
            // Before any request: whatever comes back is printed without the token.
            secret_guard::protect(&token);
            connect_real(global, command, token).await
        }
        None => connect_simulated(global).await,
    }
}

async fn connect_real(
    global: &GlobalArgs,
    command: &Command,
    token: String,
) -> CliResult<Connection> {
    if global.sim_users.is_some() || global.sim_teams.is_some() || global.sim_seed.is_some() {
        return Err(Failure::Usage(format!(
            "--sim-users, --sim-teams and --sim-seed only apply to the built-in simulator, which runs when {TOKEN_VAR} is not set"
        )));
    }
    let rest_url = global
        .api_url
        .clone()
        .unwrap_or_else(|| DEFAULT_REST_URL.to_owned());
    let graphql_url = global
        .graphql_url
        .clone()
        .unwrap_or_else(|| DEFAULT_GRAPHQL_URL.to_owned());
    let retry = retry_policy(global);
    let org = match (&global.org, command.needs_org()) {
        (Some(org), _) => Some(org.trim().to_owned()),
        (None, false) => None,
        (None, true) => Some(detect_org(&token, &rest_url, &graphql_url, &retry).await?),
    };
    let directory = directory(
        &token,
        org.as_deref().unwrap_or(NO_ORGANIZATION),
        &rest_url,
        &graphql_url,
        &retry,
    )?;
    Ok(Connection {
        directory: Arc::new(directory),
        org,
        simulator: None,
        token,
        rest_url,
        graphql_url,
        retry,
    })
}

/// Without `--org`: the only organization the token can see, or a usage error naming them.
async fn detect_org(
    token: &str,
    rest_url: &str,
    graphql_url: &str,
    retry: &RetryPolicy,
) -> CliResult<String> {
    let proxy = proxy(token, rest_url, graphql_url, None, retry)?;
    let page = proxy
        .list(ProxyRequest::get("/v2/organizations"), None, Some(100))
        .await?;
    let slugs: Vec<String> = page
        .result
        .iter()
        .filter_map(|o| o.get("slug").and_then(|s| s.as_str()).map(str::to_owned))
        .collect();
    match slugs.as_slice() {
        [only] => {
            // The slug comes from the provider: `note` escapes it for the terminal.
            output::note(format!(
                "--org not given; using {only:?}, the only organization this token can see"
            ));
            Ok(only.clone())
        }
        [] => Err(Failure::Coded(
            code::NOT_FOUND,
            "this token can see no organization; create a token for the organization at https://buildkite.com/user/api-access-tokens".to_owned(),
        )),
        many => Err(Failure::Usage(format!(
            "--org is required (or set BUILDKITE_ORGANIZATION): this token can see {}{}",
            many.join(", "),
            if page.next_cursor.is_some() { ", ..." } else { "" }
        ))),
    }
}

async fn connect_simulated(global: &GlobalArgs) -> CliResult<Connection> {
    if let Some(org) = &global.org {
        return Err(Failure::Usage(format!(
            "--org {org:?} (or BUILDKITE_ORGANIZATION) names a real organization, but {TOKEN_VAR} is not set; export a token, or drop --org to use the built-in simulated organization"
        )));
    }
    if global.api_url.is_some() || global.graphql_url.is_some() {
        return Err(Failure::Usage(format!(
            "--api-url/--graphql-url (or UNIDIR_API_URL/UNIDIR_GRAPHQL_URL) were given, but {TOKEN_VAR} is not set; export the token for that API"
        )));
    }
    let users = global.sim_users.unwrap_or(SIM_USERS);
    let teams = global.sim_teams.unwrap_or(SIM_TEAMS);
    if users == 0 || teams == 0 {
        return Err(Failure::Usage(
            "--sim-users and --sim-teams must be at least 1".to_owned(),
        ));
    }
    // Budgets far above anything a command spends, so the first command is instant at any
    // size; Buildkite's per-query complexity cap still holds. (The standalone simulator
    // enforces Buildkite's real budgets by default.)
    let config = SimConfig::generous()
        .with_users(users)
        .with_teams(teams)
        .with_seed(global.sim_seed.unwrap_or(SIM_SEED));
    let simulator = Simulator::start(config).await.map_err(|e| {
        Failure::Coded(
            code::OTHER,
            format!("could not start the built-in simulator: {e}"),
        )
    })?;
    let rest_url = simulator.base_url().to_string();
    let graphql_url = simulator.graphql_url().to_string();
    let org = simulator.org_slug().to_owned();
    let token = simulator.default_token().to_owned();
    secret_guard::protect(&token);
    let _ = writeln!(
        std::io::stderr(),
        "unidir: {TOKEN_VAR} is not set; using the built-in simulated Buildkite organization {org:?} ({users} users, {teams} teams, generous rate limits) at {} (no data leaves this machine)",
        rest_url.trim_end_matches('/')
    );
    let retry = retry_policy(global);
    let directory = directory(&token, &org, &rest_url, &graphql_url, &retry)?;
    Ok(Connection {
        directory: Arc::new(directory),
        org: Some(org),
        simulator: Some(simulator),
        token,
        rest_url,
        graphql_url,
        retry,
    })
}
