//! `RateLimit-*` response headers (IETF draft names, as Buildkite sends them).
//!
//! Buildkite reports two budgets on every response: the organization's
//! (`RateLimit-Remaining/Limit/Reset`) and the token user's
//! (`RateLimit-User-Remaining/Limit/Reset`). `*-Reset` is seconds until the window resets.
//!
//! Every number here comes from the provider and is untrusted. A value that is not a
//! finite, non-negative number, or that is absurd ([`MAX_HEADER_SECS`] for times,
//! [`MAX_HEADER_COUNT`] for budgets), counts as unknown and its header is named in
//! [`RateLimitState::unusable`]; no wait computed here exceeds [`MAX_WAIT`]. So a hostile
//! `Retry-After: 1e30` can neither overflow a clock nor park the client for years.

use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde::{Deserialize, Serialize};

/// The longest wait any provider header can ask for; longer requests are capped to it.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Reset and `Retry-After` values above this many seconds (one day) are unusable.
pub const MAX_HEADER_SECS: u64 = 86_400;
/// Budget sizes above this are unusable.
pub const MAX_HEADER_COUNT: u64 = 1_000_000_000_000;

/// One budget: how many requests (or points) are left in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Size of the window's budget.
    pub limit: Option<u64>,
    /// What is left of it.
    pub remaining: Option<u64>,
    /// Seconds until the window resets (at most [`MAX_HEADER_SECS`]).
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
    /// `Retry-After`, in seconds, when present (a date is turned into seconds from now).
    pub retry_after_secs: Option<u64>,
    /// Rate-limit headers that were present but unusable (garbage, negative or absurd).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unusable: Vec<String>,
}

/// A count or a number of seconds: a finite, non-negative decimal number at most `max`
/// (fractions round up). `Err(())` when the header is present but unusable.
fn parse_number(raw: &str, max: u64) -> Result<u64, ()> {
    let raw = raw.trim();
    // Digits, one dot and an exponent only: no signs, no "inf", no "NaN", no hex.
    let plain = !raw.is_empty()
        && raw.len() <= 32
        && raw
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E'));
    let value = if plain {
        raw.parse::<f64>().map_err(|_| ())?
    } else {
        return Err(());
    };
    if !value.is_finite() || value < 0.0 || value > max as f64 {
        return Err(());
    }
    Ok(value.ceil() as u64)
}

/// `Retry-After`: seconds, or an HTTP date turned into seconds from `now`.
fn parse_retry_after(raw: &str, now: SystemTime) -> Result<u64, ()> {
    if let Ok(secs) = parse_number(raw, MAX_HEADER_SECS) {
        return Ok(secs);
    }
    let date = httpdate::parse_http_date(raw.trim()).map_err(|_| ())?;
    let secs = match date.duration_since(now) {
        Ok(ahead) => ahead.as_secs_f64().ceil() as u64,
        Err(_) => 0, // a date in the past: retry now
    };
    if secs > MAX_HEADER_SECS {
        return Err(());
    }
    Ok(secs)
}

struct Reader<'a> {
    headers: &'a HeaderMap,
    unusable: Vec<String>,
}

impl Reader<'_> {
    fn read(&mut self, name: &str, parse: impl Fn(&str) -> Result<u64, ()>) -> Option<u64> {
        let value = self.headers.get(name)?;
        match value.to_str().map_err(|_| ()).and_then(parse) {
            Ok(n) => Some(n),
            Err(()) => {
                self.unusable.push(name.to_owned());
                None
            }
        }
    }

    fn count(&mut self, name: &str) -> Option<u64> {
        self.read(name, |raw| parse_number(raw, MAX_HEADER_COUNT))
    }

    fn secs(&mut self, name: &str) -> Option<u64> {
        self.read(name, |raw| parse_number(raw, MAX_HEADER_SECS))
    }
}

impl RateLimitState {
    /// Reads the headers; absent headers leave fields `None`, unusable ones too (and are
    /// named in [`RateLimitState::unusable`]).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self::from_headers_at(headers, SystemTime::now())
    }

    /// [`RateLimitState::from_headers`] with the current time given (for dates in
    /// `Retry-After`).
    pub fn from_headers_at(headers: &HeaderMap, now: SystemTime) -> Self {
        let mut r = Reader {
            headers,
            unusable: Vec::new(),
        };
        let scope = headers
            .get("ratelimit-scope")
            .and_then(|v| v.to_str().ok())
            .map(|s| unidir_core::text::bounded(s, 40));
        let org = Budget {
            limit: r.count("ratelimit-limit"),
            remaining: r.count("ratelimit-remaining"),
            reset_secs: r.secs("ratelimit-reset"),
        };
        let user = Budget {
            limit: r.count("ratelimit-user-limit"),
            remaining: r.count("ratelimit-user-remaining"),
            reset_secs: r.secs("ratelimit-user-reset"),
        };
        let retry_after_secs = r.read("retry-after", |raw| parse_retry_after(raw, now));
        Self {
            scope,
            org,
            user,
            retry_after_secs,
            unusable: r.unusable,
        }
    }

    /// Whether any usable rate-limit header was present.
    pub fn is_known(&self) -> bool {
        self.org != Budget::default()
            || self.user != Budget::default()
            || self.retry_after_secs.is_some()
    }

    /// How long to wait before the next request may succeed, when a budget is exhausted:
    /// the longest reset among exhausted budgets, never less than `Retry-After`; at most
    /// [`MAX_WAIT`].
    pub fn wait_if_exhausted(&self) -> Option<Duration> {
        let mut wait = None::<u64>;
        for budget in [&self.org, &self.user] {
            if budget.exhausted() {
                wait = Some(wait.unwrap_or(0).max(budget.reset_secs.unwrap_or(0)));
            }
        }
        match (wait, self.retry_after_secs) {
            (None, None) => None,
            (w, r) => Some(capped(w.unwrap_or(0).max(r.unwrap_or(0)))),
        }
    }

    /// The wait a 429 asks for: exhausted budgets' resets, else the largest reset reported,
    /// else `Retry-After`; at most [`MAX_WAIT`]. `None` when the response says nothing
    /// usable (see [`RateLimitState::unusable`]).
    pub fn wait_after_429(&self) -> Option<Duration> {
        self.wait_if_exhausted()
            .filter(|d| !d.is_zero())
            .or_else(|| {
                let resets = [
                    self.org.reset_secs,
                    self.user.reset_secs,
                    self.retry_after_secs,
                ];
                resets.into_iter().flatten().max().map(capped)
            })
    }
}

fn capped(secs: u64) -> Duration {
    Duration::from_secs(secs).min(MAX_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn state(pairs: &[(&'static str, &str)]) -> RateLimitState {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).expect("header value"));
        }
        RateLimitState::from_headers_at(
            &headers,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000),
        )
    }

    #[test]
    fn reads_both_budgets() {
        let s = state(&[
            ("ratelimit-limit", "200"),
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "42"),
            ("ratelimit-user-limit", "50"),
            ("ratelimit-user-remaining", "7"),
            ("ratelimit-user-reset", "12.2"),
            ("ratelimit-scope", "rest"),
        ]);
        assert_eq!(
            s.org,
            Budget {
                limit: Some(200),
                remaining: Some(0),
                reset_secs: Some(42)
            }
        );
        assert_eq!(
            s.user,
            Budget {
                limit: Some(50),
                remaining: Some(7),
                reset_secs: Some(13)
            }
        );
        assert_eq!(s.scope.as_deref(), Some("rest"));
        assert!(s.is_known());
        assert!(s.unusable.is_empty());
        assert_eq!(s.wait_if_exhausted(), Some(Duration::from_secs(42)));
        assert_eq!(s.wait_after_429(), Some(Duration::from_secs(42)));
    }

    #[test]
    fn extreme_and_garbage_values_are_unusable_never_a_panic() {
        for bad in [
            "1e30",
            "-1",
            "-0.5",
            "NaN",
            "inf",
            "+5",
            "0x10",
            "",
            "12abc",
            "9".repeat(40).as_str(),
            "86401",
            "1e6",
        ] {
            let s = state(&[("retry-after", bad), ("ratelimit-reset", bad)]);
            assert_eq!(s.retry_after_secs, None, "{bad:?}");
            assert_eq!(s.org.reset_secs, None, "{bad:?}");
            assert_eq!(s.unusable, ["ratelimit-reset", "retry-after"], "{bad:?}");
            assert!(!s.is_known(), "{bad:?}");
            assert_eq!(s.wait_after_429(), None, "{bad:?}");
            assert_eq!(s.wait_if_exhausted(), None, "{bad:?}");
        }
        let s = state(&[("ratelimit-remaining", "1e300"), ("ratelimit-limit", "-3")]);
        assert_eq!(s.org.remaining, None);
        assert_eq!(s.org.limit, None);
        assert_eq!(s.unusable, ["ratelimit-limit", "ratelimit-remaining"]);
    }

    #[test]
    fn boundaries_of_the_accepted_range() {
        assert_eq!(
            state(&[("retry-after", "86400")]).retry_after_secs,
            Some(86_400)
        );
        assert_eq!(state(&[("retry-after", "0")]).retry_after_secs, Some(0));
        assert_eq!(state(&[("retry-after", "0.001")]).retry_after_secs, Some(1));
        assert_eq!(state(&[("retry-after", " 7 ")]).retry_after_secs, Some(7));
        assert_eq!(
            state(&[("ratelimit-remaining", "1000000000000")])
                .org
                .remaining,
            Some(MAX_HEADER_COUNT)
        );
        assert_eq!(
            state(&[("ratelimit-remaining", "1000000000001")])
                .org
                .remaining,
            None
        );
    }

    #[test]
    fn waits_are_capped() {
        let s = state(&[("retry-after", "86400")]);
        assert_eq!(s.wait_after_429(), Some(MAX_WAIT));
        assert_eq!(s.wait_if_exhausted(), Some(MAX_WAIT));
        let s = state(&[
            ("ratelimit-user-remaining", "0"),
            ("ratelimit-user-reset", "7200"),
        ]);
        assert_eq!(s.wait_if_exhausted(), Some(MAX_WAIT));
        assert_eq!(capped(u64::MAX), MAX_WAIT);
    }

    #[test]
    fn wait_after_429_prefers_exhausted_budgets_then_largest_reset() {
        let s = state(&[
            ("ratelimit-remaining", "5"),
            ("ratelimit-reset", "50"),
            ("ratelimit-user-remaining", "0"),
            ("ratelimit-user-reset", "20"),
        ]);
        assert_eq!(s.wait_if_exhausted(), Some(Duration::from_secs(20)));
        assert_eq!(s.wait_after_429(), Some(Duration::from_secs(20)));
        // Nothing exhausted: the largest reset.
        let s = state(&[
            ("ratelimit-reset", "50"),
            ("ratelimit-user-reset", "20"),
            ("retry-after", "3"),
        ]);
        // An explicit Retry-After is what the provider asked for.
        assert_eq!(s.wait_if_exhausted(), Some(Duration::from_secs(3)));
        assert_eq!(s.wait_after_429(), Some(Duration::from_secs(3)));
        let s = state(&[("ratelimit-reset", "50"), ("ratelimit-user-reset", "20")]);
        assert_eq!(s.wait_if_exhausted(), None);
        assert_eq!(s.wait_after_429(), Some(Duration::from_secs(50)));
        // Exhausted with a zero reset: fall back to the largest reset.
        let s = state(&[
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "0"),
            ("ratelimit-user-reset", "9"),
        ]);
        assert_eq!(s.wait_if_exhausted(), Some(Duration::ZERO));
        assert_eq!(s.wait_after_429(), Some(Duration::from_secs(9)));
        // Nothing at all.
        assert_eq!(state(&[]).wait_after_429(), None);
        assert!(!state(&[]).is_known());
        assert!(state(&[("ratelimit-user-limit", "50")]).is_known());
        assert!(state(&[("retry-after", "1")]).is_known());
    }

    #[test]
    fn retry_after_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let ahead = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(state(&[("retry-after", &ahead)]).retry_after_secs, Some(30));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(state(&[("retry-after", &past)]).retry_after_secs, Some(0));
        let far = httpdate::fmt_http_date(now + Duration::from_secs(200_000));
        let s = state(&[("retry-after", &far)]);
        assert_eq!(s.retry_after_secs, None);
        assert_eq!(s.unusable, ["retry-after"]);
        // A date exactly one day ahead is the last usable one, as for seconds.
        let day = httpdate::fmt_http_date(now + Duration::from_secs(MAX_HEADER_SECS));
        assert_eq!(
            state(&[("retry-after", &day)]).retry_after_secs,
            Some(MAX_HEADER_SECS)
        );
        let past_day = httpdate::fmt_http_date(now + Duration::from_secs(MAX_HEADER_SECS + 1));
        assert_eq!(state(&[("retry-after", &past_day)]).retry_after_secs, None);
    }
}
