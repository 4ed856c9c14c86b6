//! # unidir-adapter-skeleton
//!
//! A complete, minimal [`Directory`](unidir_core::Directory) adapter for "toy", an invented
//! JSON REST API: the template a new provider's adapter starts from. It is small on purpose
//! and does what every adapter must: validate its configuration without I/O, send the token
//! only to its own origin, page with unified cursors bound to their query, bound every walk,
//! map provider errors through the shared status table, keep provider text scrubbed, and
//! declare in [`capabilities`](unidir_core::Directory::capabilities) exactly what it
//! implements. Its tests serve the toy API from the simulator harness
//! (`tests/support/sim.rs`) and run the conformance suite over it (`tests/conformance.rs`).
//!
//! The files, in the order to write them for a new provider:
//!
//! - `config.rs`: [`ToyBuilder`], the validated builder: token, base URL, the shared
//!   [`HttpOptions`](unidir_http::HttpOptions) (deadlines, retries, URL policy, ...) turned
//!   into a client sending only to the base URL's origin, the provider's rate-limit header
//!   scheme, and walk limits.
//! - `api.rs`: one request path (bearer token, JSON, the status → error-kind table with the
//!   provider's [`StatusHook`](unidir_http::StatusHook)) and the id check that keeps caller
//!   text out of URLs.
//! - `wire.rs`: the provider's JSON shapes and their mapping to the unified model.
//! - `paging.rs`: the provider's page-number paging behind a unified cursor, with its
//!   contract checks.
//! - `directory.rs`: [`Toy`], the [`Directory`](unidir_core::Directory) implementation.
//!
//! ## The toy API
//!
//! Every request carries `Authorization: Bearer <token>`; the token reaches one organization.
//!
//! | Request | Answer |
//! |---|---|
//! | `GET /api/org` | `{"id", "name", "slug"}` |
//! | `GET /api/me` | `{"user": <user>, "scopes": [...]}`: the token's user |
//! | `GET /api/users?page&per_page&email` | a page of users (`email` matched ignoring case) |
//! | `GET /api/users/{id}` | one user: `{"id", "name", "email", "state", "role", "groups": [{"id", "role"}]}` |
//! | `GET /api/groups?page&per_page` | a page of groups |
//! | `GET /api/groups/{id}` | one group: `{"id", "name", "slug", "description", "visibility"}` |
//! | `GET /api/groups/{id}/members?page&per_page` | a page of `{"user_id", "role", "name", "email"}` |
//! | `GET /api/roles?page&per_page` | a page of `{"key", "scope", "name"}` (`scope`: `org` or `group`) |
//!
//! A page is `{"items": [...], "next_page": 2}`, `next_page` being `null` on the last page;
//! `per_page` is at most 50. Errors are `{"error": "text"}` with the usual HTTP statuses.
//! Rate limits are reported GitHub-style: `x-ratelimit-limit`, `-remaining` and `-reset` (a
//! Unix time).
//!
//! ```
//! use unidir_adapter_skeleton::Toy;
//!
//! let directory = Toy::builder()
//!     .with_token("toy_secret")
//!     .with_base_url("https://toy.example")
//!     .build()
//!     .expect("valid configuration");
//! assert!(!format!("{directory:?}").contains("toy_secret"));
//! ```

#![warn(missing_docs)]
#![warn(clippy::unwrap_used)]

mod api;
mod config;
mod directory;
mod paging;
mod wire;

pub use config::{DEFAULT_BASE_URL, ToyBuilder};
pub use directory::Toy;

/// The provider name: written into errors, capabilities and cursors.
pub const PROVIDER: &str = "toy";
