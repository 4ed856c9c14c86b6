//! Rate-limit response headers, read by a provider's [`RateLimitScheme`].
//!
//! A scheme only names the headers and says how the provider writes a reset; the parsing is
//! shared ([`HeaderReader`]), so every scheme treats provider numbers alike. Two schemes
//! come with the kit: [`IetfDraft`] (`RateLimit-Limit/Remaining/Reset`, reset in seconds from
//! now; the [`crate::HttpClientBuilder`] default) and [`XRateLimit`]
//! (`x-ratelimit-limit/remaining/used/reset/resource`, reset as a Unix time, as GitHub sends
//! them). A provider with other names implements [`RateLimitScheme`] with a
//! [`HeaderReader`].
//!
//! Every number here comes from the provider and is untrusted. A value that is not a
//! finite, non-negative number, or that is absurd ([`MAX_HEADER_SECS`] for times,
//! [`MAX_HEADER_COUNT`] for budgets), counts as unknown and its header is named in
//! [`RateLimitState::unusable`]; no wait computed here exceeds [`MAX_WAIT`]. So a hostile
//! `Retry-After: 1e30` can neither overflow a clock nor park the client for years.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde::{Deserialize, Serialize};

/// The longest wait any provider header can ask for; longer requests are capped to it.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Reset and `Retry-After` values above this many seconds (one day) are unusable; so is a
/// reset written as a time more than this far from now, in either direction.
pub const MAX_HEADER_SECS: u64 = 86_400;
/// Budget sizes above this are unusable.
pub const MAX_HEADER_COUNT: u64 = 1_000_000_000_000;
/// Longest scope or resource name kept (longer ones are cut and escaped).
const MAX_SCOPE_CHARS: usize = 40;

/// One budget: how many requests (or points) are left in the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Size of the window's budget.
    pub limit: Option<u64>,
    /// What is left of it.
    pub remaining: Option<u64>,
    /// Seconds until the window resets (at most [`MAX_HEADER_SECS`]), however the provider
    /// wrote the reset.
    pub reset_secs: Option<u64>,
}

impl Budget {
    fn exhausted(&self) -> bool {
        self.remaining == Some(0)
    }
}

/// The rate-limit state a response reported, as its provider's [`RateLimitScheme`] read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitState {
    /// Which budget the numbers belong to, as the provider names it (Buildkite's
    /// `RateLimit-Scope`, e.g. `rest`; GitHub's `x-ratelimit-resource`, e.g. `core`).
    pub scope: Option<String>,
    /// The shared budget (the only one most providers report).
    pub org: Budget,
    /// A second, per-user budget, where the provider reports one (Buildkite's
    /// `RateLimit-User-*`).
    pub user: Budget,
    /// `Retry-After`, in seconds, when present (a date is turned into seconds from now).
    pub retry_after_secs: Option<u64>,
    /// Rate-limit headers that were present but unusable (garbage, negative or absurd).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unusable: Vec<String>,
}

/// How a provider reports its rate limits in response headers.
///
/// Implementations name headers and read them with a [`HeaderReader`], which applies the
/// shared bounds and records unusable values.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use unidir_http::{Budget, HeaderReader, RateLimitScheme, RateLimitState};
///
/// /// A provider that sends `Quota-Left` and `Quota-Resets-At` (a Unix time).
/// #[derive(Debug)]
/// struct Quota;
///
/// impl RateLimitScheme for Quota {
///     fn read_at(&self, headers: &http::HeaderMap, now: SystemTime) -> RateLimitState {
///         let mut r = HeaderReader::new(headers, now);
///         let org = Budget {
///             limit: None,
///             remaining: r.count("quota-left"),
///             reset_secs: r.epoch_secs("quota-resets-at"),
///         };
///         let retry_after_secs = r.retry_after("retry-after");
///         RateLimitState {
///             org,
///             retry_after_secs,
///             unusable: r.into_unusable(),
///             ..Default::default()
///         }
///     }
/// }
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("quota-left", "0".parse().unwrap());
/// headers.insert("quota-resets-at", "1000000030".parse().unwrap());
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
/// let state = Quota.read_at(&headers, now);
/// assert_eq!(state.wait_if_exhausted(), Some(Duration::from_secs(30)));
/// ```
pub trait RateLimitScheme: fmt::Debug + Send + Sync {
    /// Reads a response's headers; `now` turns dates and Unix-time resets into seconds
    /// from now.
    fn read_at(&self, headers: &HeaderMap, now: SystemTime) -> RateLimitState;

    /// [`RateLimitScheme::read_at`] at the current time.
    fn read(&self, headers: &HeaderMap) -> RateLimitState {
        self.read_at(headers, SystemTime::now())
    }
}

/// Reads rate-limit headers under the shared bounds: each method returns `None` for an
/// absent header, and also for an unusable one, which it records for
/// [`HeaderReader::into_unusable`].
#[derive(Debug)]
pub struct HeaderReader<'a> {
    headers: &'a HeaderMap,
    now: SystemTime,
    unusable: Vec<String>,
}

impl<'a> HeaderReader<'a> {
    /// A reader of `headers`, taking `now` as the current time.
    pub fn new(headers: &'a HeaderMap, now: SystemTime) -> Self {
        Self {
            headers,
            now,
            unusable: Vec::new(),
        }
    }

    /// Whether the header is present at all (usable or not).
    pub fn has(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    /// A budget size or count: at most [`MAX_HEADER_COUNT`].
    pub fn count(&mut self, name: &str) -> Option<u64> {
        self.read(name, |raw, _| parse_number(raw, MAX_HEADER_COUNT))
    }

    /// Seconds from now (a delta): at most [`MAX_HEADER_SECS`].
    pub fn delta_secs(&mut self, name: &str) -> Option<u64> {
        self.read(name, |raw, _| parse_number(raw, MAX_HEADER_SECS))
    }

    /// A Unix time (seconds since 1970), returned as seconds from now: 0 for a time in the
    /// past. A time more than [`MAX_HEADER_SECS`] away, either way, is unusable (a
    /// delta sent where a time belongs reads as 1970, and is refused rather than obeyed).
    pub fn epoch_secs(&mut self, name: &str) -> Option<u64> {
        self.read(name, parse_epoch)
    }

    /// `Retry-After`-style: seconds, or an HTTP date turned into seconds from now.
    pub fn retry_after(&mut self, name: &str) -> Option<u64> {
        self.read(name, parse_retry_after)
    }

    /// A short name (a scope or bucket): at most 40 characters, escaped.
    pub fn text(&self, name: &str) -> Option<String> {
        let value = self.headers.get(name)?.to_str().ok()?;
        Some(unidir_core::text::bounded(value, MAX_SCOPE_CHARS))
    }

    /// The headers that were present but unusable, in the order they were read.
    pub fn into_unusable(self) -> Vec<String> {
        self.unusable
    }

    fn read(
        &mut self,
        name: &str,
        parse: impl Fn(&str, SystemTime) -> Result<u64, ()>,
    ) -> Option<u64> {
        let value = self.headers.get(name)?;
        match value
            .to_str()
            .map_err(|_| ())
            .and_then(|raw| parse(raw, self.now))
        {
            Ok(n) => Some(n),
            Err(()) => {
                self.unusable.push(name.to_owned());
                None
            }
        }
    }
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

/// A Unix time as seconds from `now` (see [`HeaderReader::epoch_secs`]).
fn parse_epoch(raw: &str, now: SystemTime) -> Result<u64, ()> {
    let at = parse_number(raw, MAX_HEADER_COUNT)?;
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| ())?
        .as_secs();
    let (distance, ahead) = match at.checked_sub(now) {
        Some(ahead) => (ahead, ahead),
        None => (now - at, 0),
    };
    if distance > MAX_HEADER_SECS {
        return Err(());
    }
    Ok(ahead)
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

/// The IETF draft's names, `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
/// (seconds from now), plus `Retry-After`: the [`crate::HttpClientBuilder`] default.
///
/// A provider that reports more names them: a second, per-user budget under a prefix and a
/// scope header. Buildkite's adapter reads its headers with
/// `IetfDraft::new().with_user_budget("ratelimit-user-").with_scope_header("ratelimit-scope")`.
#[derive(Debug, Clone, Default)]
pub struct IetfDraft {
    user: Option<[String; 3]>,
    scope: Option<String>,
}

impl IetfDraft {
    /// The draft's names only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also reads a per-user budget from `<prefix>limit`, `<prefix>remaining` and
    /// `<prefix>reset` (seconds from now) into [`RateLimitState::user`].
    pub fn with_user_budget(mut self, prefix: &str) -> Self {
        let prefix = prefix.to_ascii_lowercase();
        self.user = Some(["limit", "remaining", "reset"].map(|n| format!("{prefix}{n}")));
        self
    }

    /// Reads [`RateLimitState::scope`] from this header.
    pub fn with_scope_header(mut self, name: &str) -> Self {
        self.scope = Some(name.to_ascii_lowercase());
        self
    }
}

impl RateLimitScheme for IetfDraft {
    fn read_at(&self, headers: &HeaderMap, now: SystemTime) -> RateLimitState {
        let mut r = HeaderReader::new(headers, now);
        let org = Budget {
            limit: r.count("ratelimit-limit"),
            remaining: r.count("ratelimit-remaining"),
            reset_secs: r.delta_secs("ratelimit-reset"),
        };
        let user = match &self.user {
            Some([limit, remaining, reset]) => Budget {
                limit: r.count(limit),
                remaining: r.count(remaining),
                reset_secs: r.delta_secs(reset),
            },
            None => Budget::default(),
        };
        let retry_after_secs = r.retry_after("retry-after");
        RateLimitState {
            scope: self.scope.as_deref().and_then(|name| r.text(name)),
            org,
            user,
            retry_after_secs,
            unusable: r.into_unusable(),
        }
    }
}

/// `x-ratelimit-limit`, `-remaining`, `-used`, `-reset` (a Unix time) and `-resource` (the
/// bucket, into [`RateLimitState::scope`]), plus `Retry-After`: GitHub's headers.
///
/// `-used` stands in for an absent `-remaining` (limit − used). Other providers write the
/// same shape under another prefix (Okta: `x-rate-limit-`); see [`XRateLimit::with_prefix`].
#[derive(Debug, Clone)]
pub struct XRateLimit {
    names: [String; 5],
}

impl Default for XRateLimit {
    fn default() -> Self {
        Self::with_prefix("x-ratelimit-")
    }
}

impl XRateLimit {
    /// GitHub's names (`x-ratelimit-*`).
    pub fn new() -> Self {
        Self::default()
    }

    /// The same headers under another prefix: `<prefix>limit`, `<prefix>remaining`,
    /// `<prefix>used`, `<prefix>reset`, `<prefix>resource`.
    pub fn with_prefix(prefix: &str) -> Self {
        let prefix = prefix.to_ascii_lowercase();
        Self {
            names: ["limit", "remaining", "used", "reset", "resource"]
                .map(|n| format!("{prefix}{n}")),
        }
    }
}

impl RateLimitScheme for XRateLimit {
    fn read_at(&self, headers: &HeaderMap, now: SystemTime) -> RateLimitState {
        let [limit, remaining, used, reset, resource] = &self.names;
        let mut r = HeaderReader::new(headers, now);
        let limit_n = r.count(limit);
        let absent = !r.has(remaining);
        let mut remaining_n = r.count(remaining);
        let used_n = r.count(used);
        if absent && let (Some(limit), Some(used)) = (limit_n, used_n) {
            remaining_n = Some(limit.saturating_sub(used));
        }
        let org = Budget {
            limit: limit_n,
            remaining: remaining_n,
            reset_secs: r.epoch_secs(reset),
        };
        let retry_after_secs = r.retry_after("retry-after");
        RateLimitState {
            scope: r.text(resource),
            org,
            user: Budget::default(),
            retry_after_secs,
            unusable: r.into_unusable(),
        }
    }
}

impl RateLimitState {
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

    /// The clock of every test: 2001-09-09T01:46:40Z.
    const NOW: u64 = 1_000_000_000;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).expect("header value"));
        }
        headers
    }

    fn read(scheme: &dyn RateLimitScheme, pairs: &[(&'static str, &str)]) -> RateLimitState {
        scheme.read_at(
            &headers(pairs),
            SystemTime::UNIX_EPOCH + Duration::from_secs(NOW),
        )
    }

    /// The draft's names with a per-user budget and a scope, as Buildkite sends them.
    fn state(pairs: &[(&'static str, &str)]) -> RateLimitState {
        let scheme = IetfDraft::new()
            .with_user_budget("RateLimit-User-")
            .with_scope_header("ratelimit-scope");
        read(&scheme, pairs)
    }

    fn github(pairs: &[(&'static str, &str)]) -> RateLimitState {
        read(&XRateLimit::new(), pairs)
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

    #[test]
    fn the_draft_alone_reads_neither_a_user_budget_nor_a_scope() {
        let pairs = [
            ("ratelimit-limit", "200"),
            ("ratelimit-remaining", "3"),
            ("ratelimit-reset", "42"),
            ("ratelimit-user-remaining", "0"),
            ("ratelimit-user-reset", "garbage"),
            ("ratelimit-scope", "rest"),
        ];
        let s = read(&IetfDraft::new(), &pairs);
        assert_eq!(s.org.remaining, Some(3));
        assert_eq!(s.user, Budget::default());
        assert_eq!(s.scope, None);
        assert!(s.unusable.is_empty(), "unread headers are not judged");
        assert_eq!(s.wait_if_exhausted(), None);
        // The same headers with the user budget named: it is exhausted and its reset unusable.
        let s = state(&pairs);
        assert_eq!(s.user.remaining, Some(0));
        assert_eq!(s.unusable, ["ratelimit-user-reset"]);
        assert_eq!(s.wait_if_exhausted(), Some(Duration::ZERO));
    }

    #[test]
    fn github_headers_with_an_epoch_reset() {
        let reset = (NOW + 42).to_string();
        let s = github(&[
            ("x-ratelimit-limit", "5000"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-used", "5000"),
            ("x-ratelimit-reset", &reset),
            ("x-ratelimit-resource", "core"),
        ]);
        assert_eq!(
            s.org,
            Budget {
                limit: Some(5000),
                remaining: Some(0),
                reset_secs: Some(42)
            }
        );
        assert_eq!(s.user, Budget::default());
        assert_eq!(s.scope.as_deref(), Some("core"));
        assert!(s.unusable.is_empty());
        assert_eq!(s.wait_if_exhausted(), Some(Duration::from_secs(42)));
        assert_eq!(s.wait_after_429(), Some(Duration::from_secs(42)));
        // GitHub's secondary limits send Retry-After (seconds); it is read as for any scheme.
        let s = github(&[("retry-after", "60"), ("x-ratelimit-remaining", "12")]);
        assert_eq!(s.retry_after_secs, Some(60));
        assert_eq!(s.wait_after_429(), Some(Duration::from_secs(60)));
        // The draft's names mean nothing here.
        let s = github(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "5")]);
        assert!(!s.is_known());
    }

    #[test]
    fn epoch_resets_far_from_now_or_garbage_are_unusable() {
        let day = MAX_HEADER_SECS;
        for bad in [
            // A delta where a Unix time belongs reads as 1970: refused, not obeyed.
            "60".to_owned(),
            "0".to_owned(),
            (NOW - day - 1).to_string(),
            (NOW + day + 1).to_string(),
            "1e30".to_owned(),
            "1e12".to_owned(),
            "-1".to_owned(),
            "NaN".to_owned(),
            "inf".to_owned(),
            "".to_owned(),
            "0x3b9aca00".to_owned(),
            "9".repeat(40),
        ] {
            let s = github(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &bad)]);
            assert_eq!(s.org.reset_secs, None, "{bad:?}");
            assert_eq!(s.unusable, ["x-ratelimit-reset"], "{bad:?}");
            // Exhausted with no usable reset: no wait of its own, and nothing for a 429.
            assert_eq!(s.wait_if_exhausted(), Some(Duration::ZERO), "{bad:?}");
            assert_eq!(s.wait_after_429(), None, "{bad:?}");
        }
        let reset = |at: u64| {
            github(&[("x-ratelimit-reset", &at.to_string())])
                .org
                .reset_secs
        };
        // A reset just passed (clock skew) is now; the edges of the window are usable.
        assert_eq!(reset(NOW - 5), Some(0));
        assert_eq!(reset(NOW - day), Some(0));
        assert_eq!(reset(NOW), Some(0));
        assert_eq!(reset(NOW + day), Some(day));
        let s = github(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &(NOW + day).to_string()),
        ]);
        assert_eq!(
            s.wait_if_exhausted(),
            Some(MAX_WAIT),
            "capped like any wait"
        );
        // Fractions round up, as for seconds.
        assert_eq!(
            github(&[("x-ratelimit-reset", &format!("{}.2", NOW + 7))])
                .org
                .reset_secs,
            Some(8)
        );
    }

    #[test]
    fn github_counts_are_bounded_and_used_stands_in_for_remaining() {
        let s = github(&[
            ("x-ratelimit-limit", "1e300"),
            ("x-ratelimit-remaining", "-3"),
            ("x-ratelimit-used", "inf"),
            ("x-ratelimit-resource", "core\u{202e}"),
        ]);
        assert_eq!(s.org, Budget::default());
        assert_eq!(
            s.unusable,
            [
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-used"
            ]
        );
        assert!(!s.is_known());
        // Not visible ASCII: no scope rather than a bidi override in a log line.
        assert_eq!(s.scope, None);
        let long = "r".repeat(500);
        let scope = github(&[("x-ratelimit-resource", &long)])
            .scope
            .expect("scope");
        assert!(scope.chars().count() <= MAX_SCOPE_CHARS + 1, "{scope}");
        // No remaining header: limit - used.
        let s = github(&[("x-ratelimit-limit", "60"), ("x-ratelimit-used", "60")]);
        assert_eq!(s.org.remaining, Some(0));
        let s = github(&[("x-ratelimit-limit", "60"), ("x-ratelimit-used", "75")]);
        assert_eq!(s.org.remaining, Some(0), "never below zero");
        // An unusable remaining stays unknown: a hostile value is not papered over.
        let s = github(&[
            ("x-ratelimit-limit", "60"),
            ("x-ratelimit-remaining", "lots"),
            ("x-ratelimit-used", "10"),
        ]);
        assert_eq!(s.org.remaining, None);
        assert_eq!(s.unusable, ["x-ratelimit-remaining"]);
    }

    #[test]
    fn the_same_shape_under_another_prefix() {
        let scheme = XRateLimit::with_prefix("X-Rate-Limit-");
        let reset = (NOW + 30).to_string();
        let s = read(
            &scheme,
            &[
                ("x-rate-limit-limit", "600"),
                ("x-rate-limit-remaining", "0"),
                ("x-rate-limit-reset", &reset),
                ("x-ratelimit-remaining", "599"),
            ],
        );
        assert_eq!(s.org.limit, Some(600));
        assert_eq!(s.org.remaining, Some(0));
        assert_eq!(s.wait_if_exhausted(), Some(Duration::from_secs(30)));
    }
}
