//! The suites, one module each. Every suite is a `pub async fn (&dyn Directory, &World) ->
//! Report`; [`crate::run_all`] runs them all over one preparation.

pub(crate) mod capabilities;
pub(crate) mod errors;
pub(crate) mod filters;
pub(crate) mod listing;
pub(crate) mod lookups;
pub(crate) mod paging;
pub(crate) mod provisioning;
