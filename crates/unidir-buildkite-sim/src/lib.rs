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
//! * **State**: an organization generated from a seed (or given as an [`OrgSpec`]); writes
//!   change later reads, and [`RunningSimulator::snapshot`] shows the current state.
//! * **Faults** ([`Fault`]): 429s, 5xx HTML pages, slow and truncated answers, injected with
//!   [`RunningSimulator::inject`] or `POST /__sim/faults`; `GET /__sim/state` returns the
//!   snapshot as JSON.
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
//! * Rate limits use fixed windows starting at the first request; limits that are not
//!   configured are counted and reported (so `Remaining` can reach 0) but never enforced.
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
//! prints the base URL and token; `curl -X POST localhost:8787/__sim/faults -d
//! '{"kind":"server_error","status":502,"times":2}'` injects faults.

mod auth;
mod config;
mod data;
mod error;
mod faults;
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

pub use config::{SimConfig, SimToken};
pub use error::SimError;
pub use faults::Fault;
pub use model::{OrgRole, SsoMode, TeamPrivacy, TeamRole};
pub use ratelimit::LimitScope;
pub use server::{RunningSimulator, Simulator};
pub use snapshot::{MemberSnapshot, OrgSnapshot, SimSnapshot, TeamMemberSnapshot, TeamSnapshot};
pub use spec::{MemberSpec, OrgSpec, TeamMemberSpec, TeamSpec};
