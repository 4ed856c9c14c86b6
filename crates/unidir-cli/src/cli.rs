//! Command-line syntax (clap derive).

use std::path::PathBuf;

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

// Every numeric flag has a range that clap enforces before anything runs, and the error
// names the range (`50000000 is not in 1..=200000`). The help texts repeat these numbers.

/// Most users of the built-in simulator (it holds them all in memory: about 0.4 GB at this
/// bound).
pub(crate) const MAX_SIM_USERS: u64 = 200_000;
/// Most teams of the built-in simulator.
pub(crate) const MAX_SIM_TEAMS: u64 = 10_000;
/// Largest page size (Buildkite's `per_page` and GraphQL `first` maximum).
pub(crate) const MAX_LIMIT: i64 = 100;

/// One provider-neutral view of a user directory (first provider: Buildkite).
///
/// Credentials come from the BUILDKITE_API_TOKEN environment variable only (never a flag,
/// so the token stays out of shell history and `ps`). With no token set, unidir starts a
/// simulated Buildkite organization in-process on 127.0.0.1 and runs against it.
#[derive(Debug, Parser)]
#[command(name = "unidir", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok (also when the reader of stdout goes away, as with | head), \
2 usage or invalid input (including apply removals without --yes off a terminal), \
3 token rejected, 4 missing scope or permission, 5 not found (unknown organization, group \
or user), 6 rate limited, 7 network or upstream failure, 8 provisioning failure, partial \
apply or a plan with problems (apply then changes nothing), 9 local I/O failure (stdout, \
an --out file, a full TMPDIR), 1 anything else (including a cancelled apply)."
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Buildkite organization slug. Required with a token for organization commands, unless
    /// the token can see exactly one organization.
    #[arg(
        long,
        global = true,
        env = "BUILDKITE_ORGANIZATION",
        value_name = "SLUG"
    )]
    pub(crate) org: Option<String>,

    /// REST API root (default https://api.buildkite.com). Point it at a proxy, a mock or a
    /// simulator started with `cargo run -p unidir-buildkite-sim`.
    #[arg(long, global = true, env = "UNIDIR_API_URL", value_name = "URL")]
    pub(crate) api_url: Option<String>,

    /// GraphQL endpoint (default https://graphql.buildkite.com/v1). Not derived from
    /// --api-url: set both when pointing elsewhere.
    #[arg(long, global = true, env = "UNIDIR_GRAPHQL_URL", value_name = "URL")]
    pub(crate) graphql_url: Option<String>,

    /// Print JSON: the unified objects (a list prints one array of every item).
    #[arg(long, global = true, conflicts_with = "ndjson")]
    pub(crate) json: bool,

    /// Print newline-delimited JSON: one unified object per line.
    #[arg(long, global = true)]
    pub(crate) ndjson: bool,

    /// Include the provider's raw JSON (`remote_data`) in JSON output.
    #[arg(long, global = true)]
    pub(crate) remote_data: bool,

    /// Built-in simulator only: number of generated users (1..=200000).
    #[arg(long, global = true, value_name = "N", value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_SIM_USERS))]
    pub(crate) sim_users: Option<usize>,

    /// Built-in simulator only: number of generated teams, including "Everyone" (1..=10000).
    #[arg(long, global = true, value_name = "N", value_parser = RangedU64ValueParser::<usize>::new().range(1..=MAX_SIM_TEAMS))]
    pub(crate) sim_teams: Option<usize>,

    /// Built-in simulator only: seed of the generated organization.
    #[arg(long, global = true, value_name = "SEED")]
    pub(crate) sim_seed: Option<u64>,

    /// Longest the whole command may take, in seconds (1..=3600), counting every request,
    /// attempt, retry and rate-limit wait; past it the command fails (exit 7) instead of
    /// hanging. Without it, each request has 600 s and the command no overall bound. For
    /// `proxy` it bounds each request.
    #[arg(long, global = true, env = "UNIDIR_DEADLINE", value_name = "SECS", value_parser = RangedU64ValueParser::<u64>::new().range(1..=3600))]
    pub(crate) deadline: Option<u64>,
}

impl GlobalArgs {
    /// The output format chosen by `--json` / `--ndjson`.
    pub(crate) fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.ndjson {
            Format::Ndjson
        } else {
            Format::Table
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Human-readable tables.
    Table,
    /// JSON.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// Paging options of the list commands.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ListArgs {
    /// Page size (1..=100, Buildkite's own range).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_LIMIT))]
    pub(crate) limit: Option<u32>,

    /// Print only the first page, as the unified envelope
    /// {result, next_cursor, prev_cursor, result_count} with --json. Without it every page
    /// is read.
    #[arg(long)]
    pub(crate) page: bool,

    /// Print only the page at this cursor (a `next_cursor` or `prev_cursor` from --page).
    #[arg(long, value_name = "CURSOR")]
    pub(crate) cursor: Option<String>,
}

impl ListArgs {
    /// Whether a single page was asked for.
    pub(crate) fn single_page(&self) -> bool {
        self.page || self.cursor.is_some()
    }
}

/// Export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportFormat {
    /// One JSON object per line (`users.ndjson`, ...).
    Ndjson,
    /// One JSON array per file (`users.json`, ...).
    Json,
}

/// How much of each user to read (`--detail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DetailArg {
    /// Every attribute (2FA, avatar, bot flag, join and last-seen times included).
    Full,
    /// Id, name, e-mail, roles, groups and SSO requirement only: on Buildkite a full read
    /// then runs on both budgets at once, much faster for a large organization.
    Essential,
}

impl From<DetailArg> for unidir_core::Detail {
    fn from(value: DetailArg) -> Self {
        match value {
            DetailArg::Full => unidir_core::Detail::Full,
            DetailArg::Essential => unidir_core::Detail::Essential,
        }
    }
}

/// An optional user field to read as well (`--with`): each costs the provider more, so
/// reads leave it out unless asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum WithArg {
    /// The last sign-in (on Buildkite: the latest SSO sign-in, read over GraphQL).
    #[value(name = "last_sign_in_at")]
    LastSignInAt,
}

impl From<WithArg> for unidir_core::UserField {
    fn from(value: WithArg) -> Self {
        match value {
            WithArg::LastSignInAt => unidir_core::UserField::LastSignInAt,
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The token's own user, scopes and organizations.
    Me,
    /// Organizations the token can see.
    Orgs {
        #[command(flatten)]
        list: ListArgs,
    },
    /// Users (organization members) with their organization role and teams.
    Users {
        #[command(flatten)]
        list: ListArgs,
        /// Only the user with this e-mail address.
        #[arg(long, value_name = "EMAIL")]
        email: Option<String>,
        /// Only users holding this role (org:admin, org:member, team:maintainer, team:member).
        #[arg(long, value_name = "ROLE")]
        role: Option<String>,
        /// Only members of this group (id, slug or name).
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        /// How much of each user to read.
        #[arg(long, value_enum, default_value_t = DetailArg::Full)]
        detail: DetailArg,
        /// Also read this optional user field (repeatable).
        #[arg(long = "with", value_enum, value_name = "FIELD")]
        with: Vec<WithArg>,
    },
    /// Groups (Buildkite teams).
    Groups {
        #[command(flatten)]
        list: ListArgs,
    },
    /// Roles (organization admin/member, team maintainer/member).
    Roles {
        #[command(flatten)]
        list: ListArgs,
    },
    /// Members of one group, with their group role.
    Members {
        /// Group id, slug or name.
        group: String,
        #[command(flatten)]
        list: ListArgs,
        /// Only members holding this group role (maintainer, member or a role id).
        #[arg(long, value_name = "ROLE")]
        role: Option<String>,
    },
    /// One user, by id or e-mail address.
    User {
        /// User id, or an e-mail address (anything containing '@').
        user: String,
    },
    /// Health check: authentication, token scopes per operation, organization, team and
    /// member listing. Exits non-zero when a check fails.
    Check,
    /// Write every organization, user, group, role and group membership to files.
    Export {
        /// Directory to write into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// File format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Ndjson)]
        format: ExportFormat,
        /// How much of each user to read.
        #[arg(long, value_enum, default_value_t = DetailArg::Full)]
        detail: DetailArg,
        /// Also read this optional user field (repeatable).
        #[arg(long = "with", value_enum, value_name = "FIELD")]
        with: Vec<WithArg>,
    },
    /// Add a user to a group or change their role (idempotent).
    Grant {
        /// Group id, slug or name.
        group: String,
        /// User id or e-mail address.
        user: String,
        /// Group role: maintainer or member (or a role id such as team:maintainer). Left
        /// out: the group's default role (on Buildkite, member), or no role where groups
        /// have none.
        #[arg(long, value_name = "ROLE")]
        role: Option<String>,
    },
    /// Remove a user from a group (idempotent).
    Revoke {
        /// Group id, slug or name.
        group: String,
        /// User id or e-mail address.
        user: String,
    },
    /// Dry run: compare a desired-state JSON file with the directory and print the changes.
    Plan {
        /// Desired state (at most 16 MiB; unknown keys are refused):
        /// {"groups":[{"group":..,"members":[{"user":..,"role":..}],"remove_unlisted":false}]}.
        /// Unlisted members are removed only where "remove_unlisted" is true. A member without
        /// "role" only has to be in the group (added with its default role; a group without
        /// roles takes none).
        file: PathBuf,
    },
    /// Bring the directory to a desired-state JSON file, printing each change's outcome.
    ///
    /// A plan with problems is refused (exit 8, nothing changed). Removals and downgrades
    /// are shown and confirmed at a terminal, or need --yes.
    Apply {
        /// Desired state file (same format as `plan`).
        file: PathBuf,
        /// Apply removals and downgrades without asking (required when stdin is not a
        /// terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Pass a request through to the Buildkite API with the token injected.
    #[command(
        after_help = "Examples:\n  unidir proxy GET /v2/organizations/acme-inc/teams\n  \
unidir proxy GET /v2/organizations/acme-inc/members --query per_page=5\n  \
unidir proxy --graphql 'query { viewer { user { name } } }'"
    )]
    Proxy(ProxyArgs),
}

/// `unidir proxy`.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// HTTP method: GET, POST, PUT, PATCH or DELETE.
    #[arg(required_unless_present = "graphql", value_name = "METHOD")]
    pub(crate) method: Option<String>,
    /// Path below the API root, starting with /v2/.
    #[arg(required_unless_present = "graphql", value_name = "PATH")]
    pub(crate) path: Option<String>,
    /// Query parameter (repeatable).
    #[arg(long = "query", short = 'q', value_name = "NAME=VALUE")]
    pub(crate) query: Vec<String>,
    /// Request header (repeatable; only an allow-list is forwarded).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub(crate) header: Vec<String>,
    /// JSON request body, or @FILE to read it from a file.
    #[arg(long, short = 'd', value_name = "JSON|@FILE")]
    pub(crate) data: Option<String>,
    /// Send a GraphQL document (or @FILE) to the GraphQL endpoint instead.
    #[arg(long, value_name = "QUERY|@FILE", conflicts_with_all = ["method", "path", "query", "data"])]
    pub(crate) graphql: Option<String>,
    /// GraphQL variables (a JSON object, or @FILE).
    #[arg(long, value_name = "JSON|@FILE", requires = "graphql")]
    pub(crate) variables: Option<String>,
}

impl Command {
    /// Whether the command reads or writes one organization (and so needs `--org`).
    pub(crate) fn needs_org(&self) -> bool {
        !matches!(self, Self::Me | Self::Orgs { .. } | Self::Proxy(_))
    }
}
