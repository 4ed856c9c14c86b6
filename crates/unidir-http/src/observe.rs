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
    /// The provider answered, but its body is still coming (dripping or stalled);
    /// `duration` is how long the request has run.
    SlowBody {
        /// Body bytes received so far.
        received: u64,
    },
}

/// One wait, as reported to an [`Observer`].
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    /// The operation waiting (`list_users`, ...).
    pub operation: &'a str,
    /// Why.
    pub reason: WaitReason,
    /// How long the wait will be (or, for [`WaitReason::SlowResponse`] and
    /// [`WaitReason::SlowBody`], has been so far).
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
            WaitReason::SlowBody { received } => write!(
                f,
                "{}: the provider's answer is still arriving ({received} bytes in {secs}s so far)",
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

    /// A read adapted to the provider or could not read something (see [`Report`]). Every
    /// report is also logged at `WARN`; the default does nothing more.
    fn report(&self, report: &Report) {
        let _ = report;
    }
}

/// What a [`Report`] says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReportKind {
    /// The provider disagreed with the adapter's model (a query cost more, a page was too
    /// big, an API was refused or throttled) and the read adapted: it shrank, waited or
    /// fell back, and its result is still complete.
    Adapted,
    /// Some fields are unknown for `count` objects (a source could not be read).
    FieldsUnknown,
    /// `count` objects seen again were dropped: each is emitted once.
    Repeats,
    /// Two sources disagreed about `count` values; the documented precedence decided.
    Disagreement,
    /// `count` records point at objects the provider's own lists do not hold (such as a
    /// membership of a user the member list lacks); they are reported, not dropped.
    Orphans,
    /// `count` objects could not be read at all.
    Missing,
}

impl ReportKind {
    /// The snake_case name, for logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Adapted => "adapted",
            Self::FieldsUnknown => "fields_unknown",
            Self::Repeats => "repeats",
            Self::Disagreement => "disagreement",
            Self::Orphans => "orphans",
            Self::Missing => "missing",
        }
    }
}

/// Something a read adapted to or could not read, told to the [`Observer`] (and logged) so
/// that nothing is shrunk, dropped or left unknown without a word. The CLI prints each as a
/// `unidir: warning: ...` line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The operation (`list_users`, ...).
    pub operation: &'static str,
    /// What happened.
    pub kind: ReportKind,
    /// How many objects or values it concerns (0 when it is not a count).
    pub count: u64,
    /// One line for a person: what happened, what is unknown, what was done about it.
    pub message: String,
}

impl Report {
    /// A report of `kind` about `count` objects.
    pub fn new(
        operation: &'static str,
        kind: ReportKind,
        count: u64,
        message: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            kind,
            count,
            message: message.into(),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.operation, self.message)
    }
}
