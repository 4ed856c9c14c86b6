//! Fixed-window request and complexity counters, and the `RateLimit-*` headers they produce.
//!
//! REST counts requests per 60 s (organization 200, user 50 by default); GraphQL counts
//! complexity points per 300 s (organization 20,000, user 5,000). Limits that are not
//! configured are still counted and reported, but never refused.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::config::SimConfig;

pub(crate) const REST_WINDOW: Duration = Duration::from_secs(60);
pub(crate) const GRAPHQL_WINDOW: Duration = Duration::from_secs(300);
pub(crate) const REST_ORG_LIMIT: u32 = 200;
pub(crate) const REST_USER_LIMIT: u32 = 50;
pub(crate) const GRAPHQL_ORG_LIMIT: u32 = 20_000;
pub(crate) const GRAPHQL_USER_LIMIT: u32 = 5_000;
pub(crate) const WARNING: &str = "You have exceeded your API rate limit.";

/// Which limit tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// The per-user limit (REST scope `rest_user`).
    #[default]
    User,
    /// The organization-wide limit (REST scope `rest`).
    Org,
}

/// One counter's state as reported in headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) limit: u64,
    pub(crate) used: u64,
    pub(crate) reset_secs: u64,
    pub(crate) enforced: bool,
}

impl Usage {
    pub(crate) fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// More was used than allowed (the request that crossed the line is refused).
    pub(crate) fn exceeded(&self) -> bool {
        self.enforced && self.used > self.limit
    }

    /// Nothing left: further requests would be refused.
    pub(crate) fn exhausted(&self) -> bool {
        self.enforced && self.used >= self.limit
    }

    /// A usage for an injected rate-limit fault.
    pub(crate) fn tripped(limit: u64, reset_secs: u64) -> Self {
        Self {
            limit,
            used: limit + 1,
            reset_secs,
            enforced: true,
        }
    }
}

#[derive(Debug, Clone)]
struct Meter {
    limit: u64,
    enforced: bool,
    len: Duration,
    started: Instant,
    used: u64,
}

impl Meter {
    fn new(limit: Option<u32>, default: u32, len: Duration, now: Instant) -> Self {
        Self {
            limit: u64::from(limit.unwrap_or(default)),
            enforced: limit.is_some(),
            len,
            started: now,
            used: 0,
        }
    }

    fn usage(&mut self, now: Instant) -> Usage {
        let elapsed = now.saturating_duration_since(self.started);
        if elapsed >= self.len {
            self.started = now;
            self.used = 0;
        }
        let left = self
            .len
            .saturating_sub(now.saturating_duration_since(self.started));
        // Round up so a client never retries a fraction of a second too early.
        let reset_secs = (left.as_millis().div_ceil(1000) as u64).max(1);
        Usage {
            limit: self.limit,
            used: self.used,
            reset_secs,
            enforced: self.enforced,
        }
    }

    fn add(&mut self, amount: u64, now: Instant) -> Usage {
        self.usage(now);
        self.used = self.used.saturating_add(amount);
        self.usage(now)
    }
}

/// An organization meter plus one meter per user, created on first use.
#[derive(Debug, Clone)]
struct Pair {
    org: Meter,
    users: HashMap<usize, Meter>,
    user_template: Meter,
}

impl Pair {
    fn user(&mut self, user: usize) -> &mut Meter {
        let template = &self.user_template;
        self.users.entry(user).or_insert_with(|| template.clone())
    }

    fn peek(&mut self, user: Option<usize>, now: Instant) -> (Usage, Usage) {
        let org = self.org.usage(now);
        let user = match user {
            Some(u) => self.user(u).usage(now),
            None => {
                let mut fresh = self.user_template.clone();
                fresh.started = now;
                fresh.usage(now)
            }
        };
        (org, user)
    }

    fn add(&mut self, user: usize, amount: u64, now: Instant) -> (Usage, Usage) {
        (self.org.add(amount, now), self.user(user).add(amount, now))
    }
}

/// All counters of one simulator.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    rest: Pair,
    graphql: Pair,
}

impl Limits {
    pub(crate) fn new(config: &SimConfig, now: Instant) -> Self {
        let pair = |org, org_default, user, user_default, len| Pair {
            org: Meter::new(org, org_default, len, now),
            users: HashMap::new(),
            user_template: Meter::new(user, user_default, len, now),
        };
        Self {
            rest: pair(
                config.org_budget_per_minute,
                REST_ORG_LIMIT,
                config.user_budget_per_minute,
                REST_USER_LIMIT,
                REST_WINDOW,
            ),
            graphql: pair(
                config.graphql_org_points,
                GRAPHQL_ORG_LIMIT,
                config.graphql_user_points,
                GRAPHQL_USER_LIMIT,
                GRAPHQL_WINDOW,
            ),
        }
    }

    /// Counts one REST request and returns (organization, user) usage after counting.
    pub(crate) fn rest_hit(&mut self, user: usize, now: Instant) -> (Usage, Usage) {
        self.rest.add(user, 1, now)
    }

    pub(crate) fn rest_peek(&mut self, user: Option<usize>, now: Instant) -> (Usage, Usage) {
        self.rest.peek(user, now)
    }

    pub(crate) fn graphql_peek(&mut self, user: Option<usize>, now: Instant) -> (Usage, Usage) {
        self.graphql.peek(user, now)
    }

    pub(crate) fn graphql_charge(
        &mut self,
        user: usize,
        points: u64,
        now: Instant,
    ) -> (Usage, Usage) {
        self.graphql.add(user, points, now)
    }
}

pub(crate) type Headers = Vec<(&'static str, String)>;

/// The eight REST headers plus a warning for each exhausted, enforced limit.
pub(crate) fn rest_headers(org: &Usage, user: &Usage) -> Headers {
    let mut h = vec![
        ("RateLimit-Scope", "rest".to_owned()),
        ("RateLimit-Remaining", org.remaining().to_string()),
        ("RateLimit-Limit", org.limit.to_string()),
        ("RateLimit-Reset", org.reset_secs.to_string()),
        ("RateLimit-User-Scope", "rest_user".to_owned()),
        ("RateLimit-User-Remaining", user.remaining().to_string()),
        ("RateLimit-User-Limit", user.limit.to_string()),
        ("RateLimit-User-Reset", user.reset_secs.to_string()),
    ];
    if org.exhausted() {
        h.push(("RateLimit-Warning", WARNING.to_owned()));
    }
    if user.exhausted() {
        h.push(("RateLimit-User-Warning", WARNING.to_owned()));
    }
    h
}

/// The 429 body when a REST limit is exceeded (organization checked first).
pub(crate) fn rest_exceeded(org: &Usage, user: &Usage) -> Option<Value> {
    let (scope, usage) = if org.exceeded() {
        ("rest", org)
    } else if user.exceeded() {
        ("rest_user", user)
    } else {
        return None;
    };
    Some(json!({
        "message": format!(
            "You have exceeded your API rate limit. Please wait {} seconds before making more requests.",
            usage.reset_secs
        ),
        "scope": scope,
        "limit": usage.limit,
        "current": usage.used,
        "reset": usage.reset_secs,
    }))
}

/// GraphQL headers; the complexity pair is omitted when `complexity` is `None` (429 answers).
pub(crate) fn graphql_headers(
    org: &Usage,
    user: &Usage,
    complexity: Option<(u64, u64)>,
) -> Headers {
    let mut h = vec![
        ("RateLimit-Remaining", org.remaining().to_string()),
        ("RateLimit-Limit", org.limit.to_string()),
        ("RateLimit-Reset", org.reset_secs.to_string()),
        ("RateLimit-User-Remaining", user.remaining().to_string()),
        ("RateLimit-User-Limit", user.limit.to_string()),
        ("RateLimit-User-Reset", user.reset_secs.to_string()),
    ];
    if let Some((requested, actual)) = complexity {
        h.push(("RateLimit-Complexity-Requested", requested.to_string()));
        h.push(("RateLimit-Complexity-Actual", actual.to_string()));
    }
    h
}

/// The 429 GraphQL message when a complexity budget is used up (organization checked first).
pub(crate) fn graphql_exhausted(org: &Usage, user: &Usage) -> Option<String> {
    if org.exhausted() {
        Some(graphql_limit_message(LimitScope::Org, org))
    } else if user.exhausted() {
        Some(graphql_limit_message(LimitScope::User, user))
    } else {
        None
    }
}

pub(crate) fn graphql_limit_message(scope: LimitScope, usage: &Usage) -> String {
    match scope {
        LimitScope::Org => format!(
            "Your organization has exceeded the limit of {} complexity points. Please try again in {} seconds.",
            usage.limit, usage.reset_secs
        ),
        LimitScope::User => format!(
            "You have exceeded your per-user limit of {} complexity points. Please try again in {} seconds.",
            usage.limit, usage.reset_secs
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_roll_over() {
        let start = Instant::now();
        let config = SimConfig::default().with_user_budget_per_minute(2);
        let mut limits = Limits::new(&config, start);
        let (_, u1) = limits.rest_hit(0, start);
        let (_, u2) = limits.rest_hit(0, start);
        let (org, u3) = limits.rest_hit(0, start);
        assert_eq!((u1.remaining(), u2.remaining(), u3.remaining()), (1, 0, 0));
        assert!(!u2.exceeded() && u2.exhausted() && u3.exceeded());
        assert!(!org.exceeded(), "org budget is not enforced");
        assert_eq!(
            rest_exceeded(&org, &u3).map(|b| b["scope"].clone()),
            Some(json!("rest_user"))
        );
        let later = start + REST_WINDOW;
        let (_, fresh) = limits.rest_hit(0, later);
        assert_eq!(fresh.used, 1);
        assert_eq!(fresh.reset_secs, 60);
    }

    #[test]
    fn unenforced_limits_never_refuse() {
        let now = Instant::now();
        let mut limits = Limits::new(&SimConfig::default(), now);
        let mut last = None;
        for _ in 0..60 {
            last = Some(limits.rest_hit(3, now));
        }
        let (org, user) = last.expect("ran");
        assert_eq!(user.remaining(), 0);
        assert_eq!(org.remaining(), 140);
        assert!(rest_exceeded(&org, &user).is_none());
        assert_eq!(rest_headers(&org, &user).len(), 8);
    }
}
