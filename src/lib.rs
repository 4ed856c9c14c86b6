//! Workspace-level integration tests live in `tests/`; this crate has no code of its own.
//!
//! It also compiles and runs the README's Rust examples as doc-tests, so the README cannot
//! drift from the API (blocks tagged `sh`, `json` or `text` are not compiled).

/// The README's Rust examples, as doc-tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
