//! # unidir-http
//!
//! HTTP plumbing shared by unidir adapters and the passthrough proxy:
//!
//! - [`SecretToken`]: the API token, redacted from `Debug` and marked sensitive in headers.
//! - [`HttpClient`]: sends a request with a deadline, bounded retries (jittered exponential
//!   backoff inside a total time budget), rate-limit waits shared per client, and a response
//!   body read under a size cap. It never follows redirects and never sends `Referer`.
//! - [`RateLimitScheme`]: how a provider reports its rate limits ([`IetfDraft`]'s
//!   `RateLimit-*` with a reset in seconds, [`XRateLimit`]'s `x-ratelimit-*` with a Unix-time
//!   reset, or the provider's own over [`HeaderReader`]), read into a [`RateLimitState`].
//! - [`HttpOptions`]: the settings every provider builder shares (deadlines, retries, the URL
//!   policy, user agent, client, observer, sleeper, body cap) and the one way they become an
//!   [`HttpClientBuilder`].
//! - [`link`]: RFC 8288 `Link` header parsing.
//! - [`paging`]: the paging kinds (page number, Relay cursors, offset, opaque token) as
//!   cursor positions, with the contract checks on a provider's pages and the walk bounds.
//! - [`origin`]: where a token may be sent ([`check_base_url`], [`OriginGuard`]).
//! - [`untrusted`]: [`upstream_text`], the one way provider text enters an error.
//! - [`status`]: the HTTP status → [`unidir_core::ErrorKind`] table, with a [`StatusHook`]
//!   for what only the provider knows (where its bodies keep the message, scope names).
//! - [`Observer`]: told about every wait longer than two seconds.
//! - `testing` (cargo feature `testing`, for `[dev-dependencies]`): a recording sleeper and
//!   observer, log capture and the token canary, and a hostile raw-socket server.
//!
//! Classification ("may this be retried?") and the status table are generic HTTP here; a
//! provider's [`StatusHook`] reads its own error bodies.
//!
//! The transport is reqwest. Its types appear only where a name says so:
//! [`HttpClientBuilder::with_reqwest_client`] and [`HttpOptions::with_reqwest_client`] (bring
//! your own client), [`HttpOptions::with_reqwest_client_builder`] (your builder, hardened),
//! [`HttpClient::reqwest`] with [`HttpClient::execute`] (build requests with that client and
//! send them under the rules above), and [`OriginGuard::harden_reqwest`]. The adapters and the
//! proxy built on this crate each have one such door
//! (`BuildkiteBuilder::with_reqwest_client`, `ProxyBuilder::with_reqwest_client_builder`).

#![warn(missing_docs)]

mod client;
pub mod link;
mod observe;
mod options;
pub mod origin;
pub mod paging;
mod ratelimit;
mod retry;
mod secret;
pub mod status;
#[cfg(feature = "testing")]
pub mod testing;
pub mod untrusted;

pub use client::{DEFAULT_MAX_BODY_BYTES, HttpClient, HttpClientBuilder, RawResponse};
pub use observe::{NOTICE_AFTER, Notice, Observer, Report, ReportKind, WaitReason};
pub use options::HttpOptions;
pub use origin::{OriginGuard, check_base_url};
pub use ratelimit::{
    Budget, HeaderReader, IetfDraft, MAX_HEADER_COUNT, MAX_HEADER_SECS, MAX_WAIT, RateLimitScheme,
    RateLimitState, XRateLimit,
};
pub use retry::{RetryPolicy, Sleeper, TokioSleeper};
pub use secret::{RedactingWriter, SecretToken};
pub use status::{RetryWait, StatusHook, error_for_response, error_for_status};
pub use untrusted::upstream_text;
