//! The subcommands.

pub(crate) mod check;
pub(crate) mod export;
pub(crate) mod provision;
pub(crate) mod proxy;
pub(crate) mod read;
