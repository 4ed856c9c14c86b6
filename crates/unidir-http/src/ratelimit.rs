//! `RateLimit-*` response headers (IETF draft names, as Buildkite sends them).
//!
//! Buildkite reports two budgets on every response: the organization's
//! (`RateLimit-Remaining/Limit/Reset`) and the token user's
//! (`RateLimit-User-Remaining/Limit/Reset`). `*-Reset` is seconds until the window resets.

use std::time::Duration;

use http::HeaderMap;
use serde::{Deserialize, Serialize};

/// One budget: how many requests (or points) are left in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Size of the window's budget.
    pub limit: Option<u64>,
    /// What is left of it.
    pub remaining: Option<u64>,
    /// Seconds until the window resets.
    pub reset_secs: Option<u64>,
}

impl Budget {
    fn exhausted(&self) -> bool {
        self.remaining == Some(0)
    }
}

/// The rate-limit state a response reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitState {
    /// `RateLimit-Scope` (e.g. `rest`).
    pub scope: Option<String>,
    /// The shared (organization) budget.
    pub org: Budget,
    /// The token user's own budget.
    pub user: Budget,
    /// `Retry-After`, in seconds, when present.
    pub retry_after_secs: Option<u64>,
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map(|n| n.ceil() as u64)
}

impl RateLimitState {
    /// Reads the headers; absent or garbled headers leave fields `None`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            scope: headers
                .get("ratelimit-scope")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            org: Budget {
                limit: number(headers, "ratelimit-limit"),
                remaining: number(headers, "ratelimit-remaining"),
                reset_secs: number(headers, "ratelimit-reset"),
            },
            user: Budget {
                limit: number(headers, "ratelimit-user-limit"),
                remaining: number(headers, "ratelimit-user-remaining"),
                reset_secs: number(headers, "ratelimit-user-reset"),
            },
            retry_after_secs: number(headers, "retry-after"),
        }
    }

    /// Whether any rate-limit header was present.
    pub fn is_known(&self) -> bool {
        self.org != Budget::default()
            || self.user != Budget::default()
            || self.retry_after_secs.is_some()
    }

    /// How long to wait before the next request may succeed, when a budget is exhausted:
    /// the longest reset among exhausted budgets, never less than `Retry-After`.
    pub fn wait_if_exhausted(&self) -> Option<Duration> {
        let mut wait = None::<u64>;
        for budget in [&self.org, &self.user] {
            if budget.exhausted() {
                wait = Some(wait.unwrap_or(0).max(budget.reset_secs.unwrap_or(0)));
            }
        }
        match (wait, self.retry_after_secs) {
            (None, None) => None,
            (w, r) => Some(Duration::from_secs(w.unwrap_or(0).max(r.unwrap_or(0)))),
        }
    }

    /// The wait a 429 asks for: exhausted budgets' resets, else the largest reset reported,
    /// else `Retry-After`. `None` when the response says nothing.
    pub fn wait_after_429(&self) -> Option<Duration> {
        self.wait_if_exhausted()
            .filter(|d| !d.is_zero())
            .or_else(|| {
                let resets = [
                    self.org.reset_secs,
                    self.user.reset_secs,
                    self.retry_after_secs,
                ];
                resets.into_iter().flatten().max().map(Duration::from_secs)
            })
    }
}
