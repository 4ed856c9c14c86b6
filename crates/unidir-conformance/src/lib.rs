//! # unidir-conformance
//!
//! A provider-neutral conformance suite for [`Directory`] adapters, and the seed of the
//! world it expects.
//!
//! * [`World`] describes one organization without provider ids: users (name, e-mail,
//!   organization role), groups (with members and their group roles), roles, and which user
//!   the credential belongs to. [`World::small`] is the default; [`World::mixed`] adds a
//!   group without roles, for directories that have such groups. [`memory_directory`] seeds
//!   the in-memory reference directory from it; a provider's simulator translates it into
//!   its own spec (the Buildkite simulator: `SimConfig::with_world`, feature `conformance`).
//! * The suites are `pub async fn`s over `&dyn Directory` and the world, gated by
//!   [`Directory::capabilities`] the way OpenDAL's behaviour tests are gated by a service's
//!   capability: a check whose operation or filter is not declared is skipped, and
//!   [`capabilities`] checks that every undeclared operation answers `Unsupported`.
//!   [`run_all`] runs every suite and returns a [`Report`] naming each check as passed,
//!   skipped (and why) or failed (and what was observed).
//!
//! The provisioning checks write, and put the world back when each ends; the credential's
//! own user is never changed. A run on a fresh directory seeded from the world passes, and
//! so does a second run on the same directory.
//!
//! ```
//! use unidir_conformance::{World, memory_directory, run_all};
//!
//! # futures::executor::block_on(async {
//! let world = World::small();
//! let directory = memory_directory(&world).expect("valid world");
//! let report = run_all(&directory, &world).await;
//! report.assert_passed();
//! # });
//! ```

#![warn(clippy::unwrap_used)]
#![warn(missing_docs)]

mod context;
mod forge;
mod memory;
mod report;
mod suites;
mod world;

use unidir_core::Directory;

pub use memory::memory_directory;
pub use report::{Check, KnownFailure, Report, Status};
pub use suites::capabilities::capabilities;
pub use suites::errors::errors;
pub use suites::filters::filters;
pub use suites::listing::listing;
pub use suites::lookups::lookups;
pub use suites::paging::paging;
pub use suites::provisioning::provisioning;
pub use world::{
    DEFAULT_ABSENT_ID, World, WorldGroup, WorldMember, WorldOrganization, WorldRole, WorldUser,
};

/// Runs every suite against `directory`, which must hold exactly `world`: capabilities,
/// listing, `get_*`/not-found/`me`, filters, paging, errors, then provisioning (which writes
/// and restores). Never panics; read the [`Report`], or call [`Report::assert_passed`].
pub async fn run_all(directory: &dyn Directory, world: &World) -> Report {
    let mut report = Report::new(directory.provider());
    let ctx = match context::Ctx::prepare(directory, world).await {
        Ok(ctx) => ctx,
        Err(e) => {
            report.run("prepare", None, async { Err(e) }).await;
            return report;
        }
    };
    suites::capabilities::run(&ctx, &mut report).await;
    suites::listing::run(&ctx, &mut report).await;
    suites::lookups::run(&ctx, &mut report).await;
    suites::filters::run(&ctx, &mut report).await;
    suites::paging::run(&ctx, &mut report).await;
    suites::errors::run(&ctx, &mut report).await;
    suites::provisioning::run(&ctx, &mut report).await;
    report
}
