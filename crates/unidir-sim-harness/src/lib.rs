//! The provider-neutral harness of unidir's local API simulators.
//!
//! A provider's simulator (Buildkite's is `unidir-buildkite-sim`) keeps its routes, data,
//! wire formats, header names and messages; this crate holds what every simulator needs:
//!
//! * [`server`]: [`start`] serves a [`Provider`] on loopback and returns a [`RunningServer`]
//!   (base URL, shutdown, fault injection, request [`Stats`] per API); the pipeline applies
//!   latency and faults, and answers the `/__sim/` admin endpoints (`GET /__sim/state`,
//!   `GET|POST|DELETE /__sim/faults`, `GET /__sim/stats`).
//! * [`faults`]: injected failures ([`Fault`]) queued in a [`FaultQueue`] and matched by path
//!   prefix.
//! * [`budget`]: fixed-window rate-limit accounting per organization and per user
//!   ([`Budget`], [`Usage`]) and the time scale that shortens every window.
//! * [`ids`]: a seeded generator ([`Rng`]) for reproducible ids and names.

#![warn(missing_docs)]

pub mod budget;
pub mod faults;
pub mod ids;
pub mod server;

pub use budget::{Budget, LimitScope, Usage};
pub use faults::{Fault, FaultQueue};
pub use ids::Rng;
pub use server::{
    ApiStats, Context, Provider, RunningServer, ServeOptions, StartError, Stats, start,
};
