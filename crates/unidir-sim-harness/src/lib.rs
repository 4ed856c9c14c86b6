//! The provider-neutral harness of unidir's local API simulators.
//!
//! A provider's simulator (Buildkite's is `unidir-buildkite-sim`) keeps its routes, data,
//! wire formats, header names and messages; this crate holds what every simulator needs:
//!
//! * [`faults`]: injected failures ([`Fault`]) queued in a [`FaultQueue`] and matched by path
//!   prefix.
//! * [`budget`]: fixed-window rate-limit accounting per organization and per user
//!   ([`Budget`], [`Usage`]) and the time scale that shortens every window.
//! * [`ids`]: a seeded generator ([`Rng`]) for reproducible ids and names.

#![warn(missing_docs)]

pub mod budget;
pub mod faults;
pub mod ids;

pub use budget::{Budget, LimitScope, Usage};
pub use faults::{Fault, FaultQueue};
pub use ids::Rng;
