//! Injected failures: rate limiting, server errors, slowness and truncated bodies.
//!
//! Faults wait in a queue in injection order. Each request takes one use of the first
//! fault whose `path_prefix` matches its path (or that has none); a fault is dropped when
//! its `times` are used up. Faults never touch the `/__sim/` admin endpoints. What a
//! rate-limit fault's 429 looks like is the provider's business; the rest is generic.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::budget::LimitScope;

/// One kind of failure, used `times` times on paths starting with `path_prefix`.
///
/// JSON form (for `POST /__sim/faults`): `{"kind": "rate_limited", "reset_secs": 3,
/// "scope": "user", "times": 2, "path_prefix": "/v2/"}`, `{"kind": "server_error",
/// "status": 502}`, `{"kind": "slow", "delay_ms": 250}`, `{"kind": "truncated_body"}`.
/// `times` defaults to 1; a fault with `times: 0` is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// 429 with the provider's body and headers for the request's API: the chosen limit
    /// shows nothing remaining and a reset in `reset_secs`.
    RateLimited {
        /// Seconds until the (simulated) window resets.
        #[serde(default = "default_reset")]
        reset_secs: u64,
        /// Which limit tripped.
        #[serde(default)]
        scope: LimitScope,
        /// How many requests this fault answers.
        #[serde(default = "one")]
        times: u32,
        /// Only requests whose path starts with this (e.g. `/v1`, `/v2/organizations`).
        #[serde(default)]
        path_prefix: Option<String>,
    },
    /// The status with an HTML body, as a proxy or the provider's error page would send it.
    /// A 2xx status gives "200 with an HTML body".
    ServerError {
        /// HTTP status (100..=999; anything else becomes 500).
        #[serde(default = "default_status")]
        status: u16,
        /// How many requests this fault answers.
        #[serde(default = "one")]
        times: u32,
        /// Only requests whose path starts with this.
        #[serde(default)]
        path_prefix: Option<String>,
    },
    /// Waits `delay`, then answers normally.
    Slow {
        /// The extra delay (JSON: `delay_ms`).
        #[serde(rename = "delay_ms", with = "millis")]
        delay: Duration,
        /// How many requests this fault answers.
        #[serde(default = "one")]
        times: u32,
        /// Only requests whose path starts with this.
        #[serde(default)]
        path_prefix: Option<String>,
    },
    /// The normal answer (status and headers kept, `Content-Type` JSON) with the body cut
    /// in the middle.
    TruncatedBody {
        /// How many requests this fault answers.
        #[serde(default = "one")]
        times: u32,
        /// Only requests whose path starts with this.
        #[serde(default)]
        path_prefix: Option<String>,
    },
}

fn one() -> u32 {
    1
}

fn default_reset() -> u64 {
    3
}

fn default_status() -> u16 {
    500
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

impl Fault {
    /// A one-shot 429 for the given limit.
    pub fn rate_limited(reset_secs: u64, scope: LimitScope) -> Self {
        Self::RateLimited {
            reset_secs,
            scope,
            times: 1,
            path_prefix: None,
        }
    }

    /// A one-shot error page with this status.
    pub fn server_error(status: u16) -> Self {
        Self::ServerError {
            status,
            times: 1,
            path_prefix: None,
        }
    }

    /// A one-shot delay.
    pub fn slow(delay: Duration) -> Self {
        Self::Slow {
            delay,
            times: 1,
            path_prefix: None,
        }
    }

    /// A one-shot truncated body.
    pub fn truncated_body() -> Self {
        Self::TruncatedBody {
            times: 1,
            path_prefix: None,
        }
    }

    /// Sets how many requests the fault answers.
    pub fn with_times(mut self, n: u32) -> Self {
        *self.times_mut() = n;
        self
    }

    /// Restricts the fault to paths starting with `prefix`.
    pub fn with_path_prefix(mut self, prefix: impl Into<String>) -> Self {
        *self.prefix_mut() = Some(prefix.into());
        self
    }

    /// Remaining uses.
    pub fn times(&self) -> u32 {
        match self {
            Self::RateLimited { times, .. }
            | Self::ServerError { times, .. }
            | Self::Slow { times, .. }
            | Self::TruncatedBody { times, .. } => *times,
        }
    }

    /// The path filter, if any.
    pub fn path_prefix(&self) -> Option<&str> {
        match self {
            Self::RateLimited { path_prefix, .. }
            | Self::ServerError { path_prefix, .. }
            | Self::Slow { path_prefix, .. }
            | Self::TruncatedBody { path_prefix, .. } => path_prefix.as_deref(),
        }
    }

    fn times_mut(&mut self) -> &mut u32 {
        match self {
            Self::RateLimited { times, .. }
            | Self::ServerError { times, .. }
            | Self::Slow { times, .. }
            | Self::TruncatedBody { times, .. } => times,
        }
    }

    fn prefix_mut(&mut self) -> &mut Option<String> {
        match self {
            Self::RateLimited { path_prefix, .. }
            | Self::ServerError { path_prefix, .. }
            | Self::Slow { path_prefix, .. }
            | Self::TruncatedBody { path_prefix, .. } => path_prefix,
        }
    }

    fn matches(&self, path: &str) -> bool {
        self.path_prefix().is_none_or(|p| path.starts_with(p))
    }
}

/// Pending faults in injection order.
#[derive(Debug, Default)]
pub struct FaultQueue(VecDeque<Fault>);

impl FaultQueue {
    /// Queues a fault; one with `times: 0` is ignored.
    pub fn push(&mut self, fault: Fault) {
        if fault.times() > 0 {
            self.0.push_back(fault);
        }
    }

    /// Uses up one application of the first fault matching `path`.
    pub fn take(&mut self, path: &str) -> Option<Fault> {
        let index = self.0.iter().position(|f| f.matches(path))?;
        let fault = self.0.get_mut(index)?;
        let left = fault.times().saturating_sub(1);
        *fault.times_mut() = left;
        let used = fault.clone().with_times(1);
        if left == 0 {
            self.0.remove(index);
        }
        Some(used)
    }

    /// Drops every pending fault.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Pending faults with their remaining `times`.
    pub fn pending(&self) -> Vec<Fault> {
        self.0.iter().cloned().collect()
    }
}

/// A proxy-style HTML error page for [`Fault::ServerError`]; a provider may send its own.
pub fn error_page(status: u16, reason: &str) -> String {
    format!(
        "<html>\n<head><title>{status} {reason}</title></head>\n<body>\n<center><h1>{status} {reason}</h1></center>\n</body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_consumes_in_order_with_prefixes() {
        let mut q = FaultQueue::default();
        q.push(Fault::server_error(502).with_path_prefix("/v1"));
        q.push(Fault::rate_limited(5, LimitScope::User).with_times(2));
        q.push(Fault::truncated_body().with_times(0));
        assert!(matches!(
            q.take("/v2/user"),
            Some(Fault::RateLimited { .. })
        ));
        assert!(matches!(
            q.take("/v1"),
            Some(Fault::ServerError { status: 502, .. })
        ));
        assert!(matches!(
            q.take("/v1"),
            Some(Fault::RateLimited { times: 1, .. })
        ));
        assert_eq!(q.take("/v1"), None);
        assert!(q.pending().is_empty());
    }

    #[test]
    fn json_form() {
        let f: Fault =
            serde_json::from_str(r#"{"kind":"slow","delay_ms":250,"path_prefix":"/v2/"}"#)
                .expect("parses");
        assert_eq!(
            f,
            Fault::slow(Duration::from_millis(250)).with_path_prefix("/v2/")
        );
        let f: Fault = serde_json::from_str(r#"{"kind":"rate_limited","scope":"org","times":2}"#)
            .expect("parses");
        assert_eq!(f, Fault::rate_limited(3, LimitScope::Org).with_times(2));
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"explode"}"#).is_err());
    }
}
