//! # unidir-buildkite
//!
//! The Buildkite adapter for unidir: organization members are users, teams are groups, and
//! Buildkite's two role axes (organization admin/member, team maintainer/member) are four
//! unified roles with their scope. Reads use REST v2, and GraphQL where only it has the data
//! (join dates, 2FA, SSO mode, e-mail lookup, members with their teams in one query); a token
//! without GraphQL access degrades to REST and [`Directory::capabilities`] says so.
//!
//! ```no_run
//! use unidir_buildkite::Buildkite;
//! use unidir_core::{Directory, ListQuery};
//!
//! # async fn run() -> unidir_core::Result<()> {
//! let directory = Buildkite::builder()
//!     .with_token(std::env::var("BUILDKITE_API_TOKEN").unwrap_or_default())
//!     .with_organization("acme-inc")
//!     .build()?;
//! let page = directory.list_users(&ListQuery::new().with_limit(50)).await?;
//! println!("{}", serde_json::to_string_pretty(&page).unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! [`Directory::capabilities`]: unidir_core::Directory::capabilities

#![warn(clippy::unwrap_used)]
#![warn(missing_docs)]

mod api;
mod calibration;
mod capabilities;
mod complexity;
mod config;
mod directory;
mod drift;
mod fields;
mod full_read;
mod map;
#[doc(hidden)]
pub mod normalize;
mod page_sizer;
mod provision;
mod proxy_rules;
pub mod roles;
mod spill;
mod team_index;
mod wire;

pub use api::error_for_status;
pub use config::{BuildkiteBuilder, DEFAULT_GRAPHQL_URL, DEFAULT_REST_URL, GraphqlMode};
pub use directory::Buildkite;
pub use proxy_rules::{
    PINNED_IDENTITY_PATHS, PINNED_ORGANIZATION_ROOTS, PROXY_PATH_WORDS, proxy_builder, proxy_rules,
};
pub use unidir_http::{Notice, Observer, Report, ReportKind, RetryPolicy, Sleeper, WaitReason};

/// The provider name written into errors and cursors.
pub const PROVIDER: &str = "buildkite";
