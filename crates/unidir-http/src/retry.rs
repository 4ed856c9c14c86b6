//! Retry timing: jittered exponential backoff inside a total budget, and the sleeper that
//! waits (injectable, so tests never actually sleep).

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

/// How persistent the client is.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `3` means at most 4 attempts).
    pub max_retries: u32,
    /// Backoff ceiling of the first retry; each retry doubles it.
    pub initial_backoff: Duration,
    /// Largest single backoff.
    pub max_backoff: Duration,
    /// Total time one call may spend sleeping between attempts; past it, the last answer is
    /// returned (or the last failure reported).
    pub total_budget: Duration,
    /// Longest rate-limit wait the client will sit out (default 310 s: one 5-minute
    /// GraphQL window). A provider asking for more is answered with a `RateLimited` error
    /// carrying `retry_after`. Waits longer than two seconds are told to the observer.
    pub max_rate_limit_wait: Duration,
    /// Total time one call may take: every attempt, backoff and rate-limit wait together
    /// (default 10 minutes).
    /// Past it the call fails with `Upstream`, naming the deadline, instead of hanging.
    pub operation_deadline: Duration,
    /// Seed for the jitter, for reproducible tests; `None` seeds from the OS.
    pub jitter_seed: Option<u64>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            total_budget: Duration::from_secs(90),
            // One GraphQL window (5 min) plus slack: waiting for a budget to reset is normal
            // progress in a long sync, not an error.
            max_rate_limit_wait: Duration::from_secs(310),
            operation_deadline: Duration::from_secs(600),
            jitter_seed: None,
        }
    }
}

impl RetryPolicy {
    /// No retries at all (every failure is reported at once).
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }
}

/// Full-jitter exponential backoff: a uniform delay in `[0, min(max, initial * 2^attempt)]`.
pub(crate) struct Backoff {
    rng: Mutex<fastrand::Rng>,
}

impl Backoff {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        let rng = seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Self {
            rng: Mutex::new(rng),
        }
    }

    pub(crate) fn delay(&self, policy: &RetryPolicy, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(16));
        let ceiling = policy
            .initial_backoff
            .saturating_mul(factor)
            .min(policy.max_backoff);
        let millis = ceiling.as_millis().min(u128::from(u64::MAX)) as u64;
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        Duration::from_millis(rng.u64(0..=millis))
    }
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Backoff")
    }
}

/// Something that waits. The default sleeps on tokio's timer; tests inject one that records
/// the requested delays and returns at once.
#[async_trait]
pub trait Sleeper: fmt::Debug + Send + Sync + 'static {
    /// Waits for `duration`.
    async fn sleep(&self, duration: Duration);
}

/// Sleeps with `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(400),
            ..RetryPolicy::default()
        };
        let backoff = Backoff::new(Some(7));
        for attempt in 0..10 {
            let ceiling = Duration::from_millis((100u64 << attempt.min(2)).min(400));
            for _ in 0..50 {
                assert!(backoff.delay(&policy, attempt) <= ceiling);
            }
        }
        // Jitter really varies.
        let samples: std::collections::HashSet<_> =
            (0..50).map(|_| backoff.delay(&policy, 3)).collect();
        assert!(samples.len() > 10);
    }
}
