//! Fixed-window budget accounting: a meter per organization and per user, windows that open
//! with the first request they count, and a time scale that shortens every window.
//!
//! A provider decides what one unit is (a request, a complexity point), how long its windows
//! are and how a used-up budget is reported (header names, 429 bodies); this module only
//! counts.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Which limit tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// The per-user limit (the user the request's token belongs to).
    #[default]
    User,
    /// The organization-wide limit.
    Org,
}

/// One meter's state, as a provider reports it in headers and 429 bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Units allowed per window.
    pub limit: u64,
    /// Units counted in the current window.
    pub used: u64,
    /// Seconds until the window resets, rounded up; at least 1.
    pub reset_secs: u64,
}

impl Usage {
    /// Units left in this window.
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// More was used than allowed (the request that crossed the line is refused).
    pub fn exceeded(&self) -> bool {
        self.used > self.limit
    }

    /// Nothing left: further requests are refused until the window resets.
    pub fn exhausted(&self) -> bool {
        self.used >= self.limit
    }

    /// A usage for an injected rate-limit fault.
    pub fn tripped(limit: u64, reset_secs: u64) -> Self {
        Self {
            limit,
            used: limit + 1,
            reset_secs,
        }
    }
}

/// `window` shortened `time_scale` times (0 is taken as 1): budgets stay, windows shrink, so
/// budget-bound work runs that many times faster.
pub fn scaled(window: Duration, time_scale: u32) -> Duration {
    window / time_scale.max(1)
}

/// Whole seconds until `left` has passed, rounded up so a client that waits them never comes
/// back early; never 0, so "exhausted, retry in 0 s" cannot happen.
fn whole_secs(left: Duration) -> u64 {
    u64::try_from(left.as_nanos().div_ceil(1_000_000_000))
        .unwrap_or(u64::MAX)
        .max(1)
}

#[derive(Debug, Clone)]
struct Meter {
    limit: u64,
    len: Duration,
    /// When the current window opened; `None` until something is counted.
    started: Option<Instant>,
    used: u64,
}

impl Meter {
    fn new(limit: u32, len: Duration) -> Self {
        Self {
            limit: u64::from(limit),
            len,
            started: None,
            used: 0,
        }
    }

    /// Closes a window that has ended.
    fn roll(&mut self, now: Instant) {
        if self
            .started
            .is_some_and(|s| now.saturating_duration_since(s) >= self.len)
        {
            self.started = None;
            self.used = 0;
        }
    }

    fn usage(&mut self, now: Instant) -> Usage {
        self.roll(now);
        let left = match self.started {
            Some(started) => self
                .len
                .saturating_sub(now.saturating_duration_since(started)),
            None => self.len,
        };
        Usage {
            limit: self.limit,
            used: self.used,
            reset_secs: whole_secs(left),
        }
    }

    fn add(&mut self, amount: u64, now: Instant) -> Usage {
        self.roll(now);
        self.started.get_or_insert(now);
        self.used = self.used.saturating_add(amount);
        self.usage(now)
    }
}

/// One budget: an organization meter plus one meter per user (created on first use), all
/// with the same window length. Users are the simulator's own indices.
#[derive(Debug, Clone)]
pub struct Budget {
    org: Meter,
    users: HashMap<usize, Meter>,
    user_template: Meter,
}

impl Budget {
    /// `org` and `user` units per window of length `window` (see [`scaled`]).
    pub fn new(org: u32, user: u32, window: Duration) -> Self {
        Self {
            org: Meter::new(org, window),
            users: HashMap::new(),
            user_template: Meter::new(user, window),
        }
    }

    fn user(&mut self, user: usize) -> &mut Meter {
        let template = &self.user_template;
        self.users.entry(user).or_insert_with(|| template.clone())
    }

    /// (organization, user) usage without counting; no user gives a fresh user's usage.
    pub fn peek(&mut self, user: Option<usize>, now: Instant) -> (Usage, Usage) {
        let org = self.org.usage(now);
        let user = match user {
            Some(u) => self.user(u).usage(now),
            None => self.user_template.clone().usage(now),
        };
        (org, user)
    }

    /// Counts `amount` against the organization and the user; returns the usage after.
    pub fn add(&mut self, user: usize, amount: u64, now: Instant) -> (Usage, Usage) {
        (self.org.add(amount, now), self.user(user).add(amount, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_open_on_first_use_and_users_have_their_own() {
        let start = Instant::now();
        let mut budget = Budget::new(3, 2, Duration::from_secs(10));
        // Nothing counted yet: a full window ahead, even much later.
        let (org, user) = budget.peek(None, start + Duration::from_secs(500));
        assert_eq!((org.used, org.reset_secs, user.limit), (0, 10, 2));
        let (_, a) = budget.add(1, 2, start);
        assert!(a.exhausted() && !a.exceeded());
        let (org, b) = budget.add(2, 2, start + Duration::from_millis(2_500));
        assert_eq!((b.used, org.used), (2, 4));
        assert!(org.exceeded(), "the organization's 3 is shared");
        // 7.5 s left of the window opened at `start`: rounded up.
        assert_eq!(org.reset_secs, 8);
        // User 2's window opened 2.5 s later and rolls over later.
        let (org, a) = budget.peek(Some(1), start + Duration::from_secs(10));
        let (_, b) = budget.peek(Some(2), start + Duration::from_secs(10));
        assert_eq!((org.used, a.used, b.used, b.reset_secs), (0, 0, 2, 3));
    }

    #[test]
    fn time_scale_shortens_windows_and_resets_are_never_zero() {
        assert_eq!(scaled(Duration::from_secs(300), 60), Duration::from_secs(5));
        assert_eq!(scaled(Duration::from_secs(60), 0), Duration::from_secs(60));
        let start = Instant::now();
        let mut budget = Budget::new(1, 1, scaled(Duration::from_secs(60), 60));
        budget.add(0, 1, start);
        let (_, user) = budget.peek(Some(0), start + Duration::from_millis(999));
        assert_eq!((user.remaining(), user.reset_secs), (0, 1));
        assert_eq!(
            Usage::tripped(50, 7),
            Usage {
                limit: 50,
                used: 51,
                reset_secs: 7
            }
        );
    }
}
