//! A local, stateful, deterministic Buildkite API simulator.
//!
//! It serves the slice of Buildkite that unidir uses, over real HTTP on loopback, so tests,
//! benchmarks, fault drills and the CLI's no-token mode can run the real adapter code:
//!
//! * **REST v2** under `/v2`: `access-token` (GET, DELETE), `user`, `organizations`,
//!   `organizations/{org}`, organization members (list, get, PATCH, DELETE), teams (list
//!   with `user_id=`, get) and team members (list, get, POST, PATCH, DELETE). JSON shapes,
//!   `Link` paging (`page`, `per_page` ≤ 100), `RateLimit-*` headers, error bodies and
//!   scopes follow `shared/reference/buildkite-api.md` and the recorded fixtures.
//! * **GraphQL** at `POST /v1` on the same server: the adapter's `UnidirMembers` and
//!   `UnidirMemberTeams` operations, with Relay paging, filters and complexity headers.
//! * **Rate limits**, enforced by default as Buildkite's defaults (see below).
//! * **State**: an organization generated from a seed (or given as an [`OrgSpec`]); writes
//!   change later reads, and [`RunningSimulator::snapshot`] shows the current state.
//! * **Faults** ([`Fault`]): 429s, 5xx HTML pages, slow and truncated answers, injected with
//!   [`RunningSimulator::inject`] or `POST /__sim/faults`; `GET /__sim/state` returns the
//!   snapshot as JSON.
//!
//! The server, faults, `/__sim/` admin endpoints, request counters and budget windows are the
//! provider-neutral `unidir-sim-harness`'s; this crate is Buildkite's provider on it (routes,
//! data, `RateLimit-*` headers, error bodies and messages).
//!
//! # Rate limits
//!
//! [`SimConfig::default`] (and the `unidir-buildkite-sim` binary) enforce Buildkite's default
//! budgets (reference §8), each in fixed windows that open with the first request they count:
//!
//! | budget | default | refused with |
//! |---|---|---|
//! | REST, organization | 200 requests / 60 s | 429 `{"message", "scope": "rest", "limit", "current", "reset"}`, `RateLimit-Warning` |
//! | REST, per user (the token's) | 50 requests / 60 s | 429, `"scope": "rest_user"`, `RateLimit-User-Warning` |
//! | GraphQL, organization | 20,000 points / 300 s | 429 `{"errors": [{"message": "Your organization has exceeded the limit of 20000 complexity points. Please try again in N seconds."}]}` |
//! | GraphQL, per user | 5,000 points / 300 s | 429, `"You have exceeded your per-user limit of 5000 complexity points. …"` |
//! | GraphQL, one query | 50,000 requested points | HTTP 200 `{"data": null, "errors": [{"message": "Query has complexity of N, which exceeds max complexity of 50000"}]}`, before it runs |
//!
//! The REST and GraphQL budgets are independent. Every REST answer carries the eight
//! `RateLimit-*`/`RateLimit-User-*` headers; every GraphQL answer carries the six org/user
//! headers plus `RateLimit-Complexity-Requested` and `-Actual` (and, on request header
//! `Buildkite-Include-Query-Stats: true`, a `stats` object in the body). `*-Reset` is the
//! number of seconds until the window resets, rounded up, never 0.
//!
//! GraphQL complexity is computed from the validated document and its variables by
//! Buildkite's documented rules: scalars and enums 0, each object 1 per item, a connection 1
//! plus 1 for `edges` plus its page size times the cost of one node. *Requested* takes the
//! page size from `first`/`last` (500 when neither is given); *actual* counts what the answer
//! holds, and only actual points are charged, against the organization and the user budget.
//! For the adapter's `members.graphql` that is 4 + (8 + 2 × `teamsFirst`) per requested member
//! (10,804 for 100 members with `teamsFirst: 50`) and 4 + 8 per member + 2 per team
//! membership actually returned; `member_teams.graphql` is 4 + 2 per team.
//!
//! Refused REST requests still count (Buildkite's 429 body shows `current` over `limit`). A
//! GraphQL query runs while a budget has anything left and is then charged in full, so the
//! query that crosses a limit is answered and the next one is refused until the reset.
//!
//! Other modes:
//!
//! * [`SimConfig::with_time_scale`] (`--time-scale N`): windows N times shorter (REST
//!   60 s / N, GraphQL 300 s / N), budgets unchanged, so budget-bound work runs N times faster
//!   and its real-world duration is the measured time × N. Resets are whole seconds, so a
//!   client that waits for them over-waits by up to a second: keep windows of a few seconds
//!   (N ≤ 60) when pacing matters.
//! * [`SimConfig::unlimited`] (`--unlimited`): nothing enforced, for functional tests; budgets
//!   of `u32::MAX` are reported, so no client ever waits, and there is no per-query cap.
//! * [`SimConfig::generous`]: the same budgets with Buildkite's per-query cap kept, for the
//!   CLI's built-in organization (instant at any size, yet a query Buildkite would refuse is
//!   refused).
//! * `with_org_budget_per_minute`, `with_user_budget_per_minute`, `with_graphql_budget` and
//!   `with_max_query_complexity` set single limits.
//! * A server stricter than Buildkite's documents, for clients that must adapt:
//!   [`SimConfig::with_cost_rule`]`(`[`CostRule::EdgesCharged`]`)` charges each edge object
//!   1 per item too (`members.graphql` then costs 4 + (9 + 3 × `teamsFirst`) per requested
//!   member: 64,504 for 500 with `teamsFirst: 40`, over the cap), and
//!   [`SimConfig::with_accounting`]`(`[`Accounting::ChargeRequested`]`)` charges the
//!   requested points before a query runs, refusing with a 429 one that asks for more than
//!   is left.
//!
//! # Deviations from Buildkite
//!
//! * GraphQL documents are validated against Buildkite's schema
//!   (`fixtures/buildkite/schema/`), optionally without some fields
//!   ([`SimConfig::with_schema_without`], to play an older Buildkite): an invalid document gets
//!   HTTP 200 with `errors` only, unknown fields in graphql-ruby's `undefinedField` shape,
//!   other failures with apollo-compiler's wording. Only the operations `UnidirMembers` and
//!   `UnidirMemberTeams` run (by operation name; their arguments come from the variables the
//!   adapter declares) and answer with exactly the fields the document selects. Other
//!   operations get `{"data": null, "errors": [{"message": "The simulator does not support
//!   this query"}]}`.
//! * Only the endpoints above exist (no pipelines, builds, invitations, team create/update/
//!   delete, GraphQL mutations); unknown paths answer 404 `{"message": "Not Found"}`.
//! * Rate limits use fixed windows starting at the first request counted, and every REST
//!   request (`/v2/user` and `/v2/access-token` too) counts against the organization budget.
//!   Whether Buildkite
//!   refuses a GraphQL query whose *requested* complexity exceeds what is left is not
//!   documented; the simulator does not (see above), unless told to charge before. The 15-level query depth limit and the
//!   `/rate_limit` status endpoint are not simulated.
//! * Cursors are list positions, as in the fixtures; error texts the reference leaves open
//!   (400 paging messages, 404 `No member found`/`No team member found`, 422 reasons) are
//!   the simulator's own. Permissions are simplified: admins may do anything, team
//!   maintainers may manage their team's members, nobody may change their own membership.
//! * Generated e-mails use the reserved `acme.example` domain; avatars are fake Gravatar URLs.
//!
//! # Starting it
//!
//! ```no_run
//! use unidir_buildkite_sim::{Fault, LimitScope, SimConfig, Simulator};
//!
//! # async fn demo() -> Result<(), unidir_buildkite_sim::SimError> {
//! // Buildkite's default budgets; `SimConfig::unlimited()` for tests not about limits.
//! let sim = Simulator::start(SimConfig::default().with_users(100)).await?;
//! let members = sim.base_url().join("v2/organizations/acme-inc/members").expect("valid");
//! // GET `members` with `Authorization: Bearer {sim.default_token()}`;
//! // GraphQL goes to `sim.graphql_url()`.
//! sim.inject(Fault::rate_limited(2, LimitScope::User));
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! From another process: `cargo run -p unidir-buildkite-sim -- --port 8787 --users 500`
//! prints the base URL, token and enforced limits (add `--time-scale 60` to run budget-bound
//! work 60 times faster, or `--unlimited`); `curl -X POST localhost:8787/__sim/faults -d
//! '{"kind":"server_error","status":502,"times":2}'` injects faults.

#![warn(missing_docs)]

mod auth;
mod complexity;
mod config;
#[cfg(feature = "conformance")]
mod conformance;
mod data;
mod error;
mod graphql;
mod ids;
mod model;
mod ratelimit;
mod rest;
mod schema;
mod server;
mod snapshot;
mod spec;
mod state;

pub use complexity::{Accounting, CostRule};
pub use config::{SimConfig, SimToken};
pub use error::SimError;
pub use model::{OrgRole, SsoMode, TeamPrivacy, TeamRole};
pub use server::{RunningSimulator, SimStats, Simulator};
pub use snapshot::{MemberSnapshot, OrgSnapshot, SimSnapshot, TeamMemberSnapshot, TeamSnapshot};
pub use spec::{MemberSpec, OrgSpec, TeamMemberSpec, TeamSpec};
/// Fault injection and the limit a rate-limit fault trips come from the provider-neutral
/// simulator harness.
pub use unidir_sim_harness::{Fault, LimitScope};
