//! Telling someone what a client is waiting for.
//!
//! A person at a terminal should never stare at nothing for minutes: every wait longer
//! than [`NOTICE_AFTER`] (a rate-limit reset, a retry backoff, an answer that is slow to
//! come) is reported to the [`Observer`] configured on the client, and logged.

use std::fmt;
use std::time::Duration;

/// Waits shorter than this are not reported.
pub const NOTICE_AFTER: Duration = Duration::from_secs(2);

/// Why the client is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// A rate-limit budget is exhausted; the wait ends at its reset.
    RateLimit,
    /// A failed request (5xx, timeout, broken connection) is retried after a backoff.
    Retry {
        /// The attempt that failed (1 = the first).
        attempt: u32,
    },
    /// The provider has not answered yet; `duration` is how long the request has run.
    SlowResponse,
}

/// One wait, as reported to an [`Observer`].
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    /// The operation waiting (`list_users`, ...).
    pub operation: &'a str,
    /// Why.
    pub reason: WaitReason,
    /// How long the wait will be (or, for [`WaitReason::SlowResponse`], has been so far).
    pub duration: Duration,
}

impl fmt::Display for Notice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.duration.as_secs_f64().ceil() as u64;
        match self.reason {
            WaitReason::RateLimit => write!(
                f,
                "{}: rate limit reached; waiting {secs}s for the budget to reset",
                self.operation
            ),
            WaitReason::Retry { attempt } => write!(
                f,
                "{}: attempt {attempt} failed; retrying in {secs}s",
                self.operation
            ),
            WaitReason::SlowResponse => write!(
                f,
                "{}: still waiting for the provider to answer ({secs}s so far)",
                self.operation
            ),
        }
    }
}

/// Receives [`Notice`]s. Called on the request's task: keep it quick.
pub trait Observer: fmt::Debug + Send + Sync + 'static {
    /// A wait of at least [`NOTICE_AFTER`] begins (or, for a slow answer, has lasted that
    /// long).
    fn notice(&self, notice: &Notice<'_>);
}
