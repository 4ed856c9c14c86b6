//! Buildkite's budgets and the `RateLimit-*` headers and 429 bodies they produce; the window
//! accounting itself is the harness's ([`unidir_sim_harness::budget`]).
//!
//! REST counts requests per 60 s (organization 200, user 50 by default); GraphQL counts
//! actual complexity points per 300 s (organization 20,000, user 5,000). Every budget is
//! enforced; "unlimited" configurations use budgets of `u32::MAX`. A window opens with the
//! first request it counts and lasts its length divided by the time scale.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use unidir_sim_harness::budget::{Budget, scaled};
pub(crate) use unidir_sim_harness::budget::{LimitScope, Usage};

use crate::config::SimConfig;

pub(crate) const REST_WINDOW: Duration = Duration::from_secs(60);
pub(crate) const GRAPHQL_WINDOW: Duration = Duration::from_secs(300);
pub(crate) const REST_ORG_LIMIT: u32 = 200;
pub(crate) const REST_USER_LIMIT: u32 = 50;
pub(crate) const GRAPHQL_ORG_LIMIT: u32 = 20_000;
pub(crate) const GRAPHQL_USER_LIMIT: u32 = 5_000;
/// Per-query requested-complexity cap (reference §8.2).
pub(crate) const MAX_QUERY_COMPLEXITY: u32 = 50_000;
pub(crate) const WARNING: &str = "You have exceeded your API rate limit.";

/// All counters of one simulator.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    rest: Budget,
    graphql: Budget,
}

impl Limits {
    pub(crate) fn new(config: &SimConfig) -> Self {
        // `time_scale` is checked to be at least 1 before a simulator starts.
        let scale = config.time_scale;
        Self {
            rest: Budget::new(
                config.org_budget_per_minute,
                config.user_budget_per_minute,
                scaled(REST_WINDOW, scale),
            ),
            graphql: Budget::new(
                config.graphql_org_points,
                config.graphql_user_points,
                scaled(GRAPHQL_WINDOW, scale),
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
    fn windows_open_on_first_use_and_roll_over() {
        let start = Instant::now();
        let config = SimConfig::default().with_user_budget_per_minute(2);
        let mut limits = Limits::new(&config);
        // Nothing counted yet: a full window ahead.
        let (_, idle) = limits.rest_peek(Some(0), start + Duration::from_secs(500));
        assert_eq!((idle.used, idle.reset_secs), (0, 60));
        let (_, u1) = limits.rest_hit(0, start);
        let (_, u2) = limits.rest_hit(0, start + Duration::from_millis(20_500));
        let (org, u3) = limits.rest_hit(0, start + Duration::from_millis(20_500));
        assert_eq!((u1.remaining(), u2.remaining(), u3.remaining()), (1, 0, 0));
        assert!(!u2.exceeded() && u2.exhausted() && u3.exceeded());
        // 39.5 s left: rounded up.
        assert_eq!(u3.reset_secs, 40);
        assert!(!org.exceeded(), "the organization has 200");
        assert_eq!(
            rest_exceeded(&org, &u3).map(|b| b["scope"].clone()),
            Some(json!("rest_user"))
        );
        // Never "retry in 0 s" while exhausted.
        let (_, almost) = limits.rest_peek(Some(0), start + Duration::from_millis(59_999));
        assert!(almost.exhausted());
        assert_eq!(almost.reset_secs, 1);
        let (_, fresh) = limits.rest_hit(0, start + REST_WINDOW);
        assert_eq!((fresh.used, fresh.reset_secs), (1, 60));
    }

    #[test]
    fn default_budgets_are_buildkites_and_enforced() {
        let now = Instant::now();
        let mut limits = Limits::new(&SimConfig::default());
        let mut last = None;
        for _ in 0..51 {
            last = Some(limits.rest_hit(3, now));
        }
        let (org, user) = last.expect("ran");
        assert_eq!(
            (user.limit, user.used, org.limit, org.remaining()),
            (50, 51, 200, 149)
        );
        assert_eq!(
            rest_exceeded(&org, &user).map(|b| b["current"].clone()),
            Some(json!(51))
        );
        // Another user has their own 50; the organization's 200 is shared.
        let (org, other) = limits.rest_hit(4, now);
        assert_eq!((other.used, org.used), (1, 52));
        let (org, user) = limits.graphql_charge(3, 5_000, now);
        assert_eq!(
            (org.limit, org.remaining(), user.limit),
            (20_000, 15_000, 5_000)
        );
        assert!(user.exhausted() && !org.exhausted());
        assert!(
            graphql_exhausted(&org, &user)
                .is_some_and(|m| m.starts_with("You have exceeded your per-user limit of 5000"))
        );
    }

    #[test]
    fn time_scale_shortens_windows_not_budgets() {
        let start = Instant::now();
        let mut limits = Limits::new(&SimConfig::default().with_time_scale(60));
        let (org, user) = limits.rest_hit(0, start);
        assert_eq!((org.limit, user.limit, user.reset_secs), (200, 50, 1));
        let (org, user) = limits.graphql_charge(0, 5_000, start);
        assert_eq!((org.limit, user.reset_secs), (20_000, 5));
        assert!(user.exhausted());
        let (_, later) = limits.graphql_peek(Some(0), start + Duration::from_millis(3_500));
        assert_eq!(later.reset_secs, 2);
        assert!(later.exhausted());
        // A scaled window (300 s / 60 = 5 s) later, the budget is back.
        let (_, reset) = limits.graphql_peek(Some(0), start + Duration::from_secs(5));
        assert_eq!((reset.used, reset.remaining()), (0, 5_000));
        let (_, rest) = limits.rest_peek(Some(0), start + Duration::from_secs(1));
        assert_eq!(rest.used, 0);
    }

    #[test]
    fn unlimited_never_runs_low() {
        let now = Instant::now();
        let mut limits = Limits::new(&SimConfig::unlimited());
        let mut last = None;
        for _ in 0..10_000 {
            last = Some(limits.rest_hit(3, now));
        }
        let (org, user) = last.expect("ran");
        assert!(rest_exceeded(&org, &user).is_none());
        assert_eq!(user.remaining(), u64::from(u32::MAX) - 10_000);
        assert_eq!(rest_headers(&org, &user).len(), 8);
        let (org, user) = limits.graphql_charge(3, 10_000_000, now);
        assert!(graphql_exhausted(&org, &user).is_none());
    }
}
