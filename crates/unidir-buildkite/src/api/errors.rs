//! Buildkite's answers as typed errors: REST status and `{"message"}` bodies through the
//! shared status table, and GraphQL `errors` entries.

use std::time::Duration;

use serde_json::Value;
use unidir_core::{Error, ErrorKind};
use unidir_http::status::{self, RetryWait, StatusHook};
use unidir_http::{MAX_WAIT, RawResponse, SecretToken, upstream_text};

use super::Api;
use crate::PROVIDER;

impl Api {
    /// The typed error for a non-2xx REST answer, with the token scrubbed from any text
    /// Buildkite sent back.
    pub(crate) fn rest_error(&self, operation: &'static str, response: &RawResponse) -> Error {
        status_error(
            operation,
            response.status,
            rest_message(&response.body, Some(&self.token)),
            response,
        )
    }
}

/// Buildkite's `{"message": "..."}`, made safe for an error message (see [`upstream_text`]).
fn rest_message(body: &[u8], token: Option<&SecretToken>) -> Option<String> {
    status::json_message(body, token)
}

/// Buildkite's side of the shared status table ([`unidir_http::status`]): its
/// `{"message"}` bodies, the scope its 403s name, the wait its 429s name, and its wording.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Statuses;

impl StatusHook for Statuses {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn display_name(&self) -> &str {
        "Buildkite"
    }

    fn message(&self, body: &[u8], token: Option<&SecretToken>) -> Option<String> {
        rest_message(body, token)
    }

    fn missing_scope(&self, message: &str) -> Option<String> {
        scope_in(message)
    }

    fn wait_in(&self, message: &str) -> Option<Duration> {
        seconds_in(message)
    }

    fn default_message(&self, status: u16) -> Option<String> {
        (status == 404).then(|| {
            "not found (Buildkite also answers 404 for an organization the token cannot see)"
                .to_owned()
        })
    }
}

/// The typed error for a non-2xx Buildkite REST answer: the shared status table
/// ([`unidir_http::status::error_for_status`]: 401 unauthenticated, 403 permission denied,
/// 404 not found, 400/422 invalid input, 429 rate limited, anything else upstream) with
/// Buildkite's reading of its bodies (the missing scope a 403 names, the wait a 429 names).
///
/// Any text taken from `body` passes through [`upstream_text`]; a caller holding the token
/// should scrub `body` first.
pub fn error_for_status(
    operation: &'static str,
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
) -> Error {
    status::error_for_status(
        &Statuses,
        operation,
        status,
        rest_message(body, None),
        RetryWait::from_retry_after(retry_after),
    )
}

pub(super) fn graphql_messages(body: Option<&Value>, token: Option<&SecretToken>) -> Vec<String> {
    body.and_then(|b| b.get("errors"))
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                // At most a few messages are ever shown; a body with a million errors does
                // not cost a million scrubs.
                .take(8)
                .filter_map(|e| {
                    e.get("message")
                        .and_then(Value::as_str)
                        .map(|m| upstream_text(m, token))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The scope named in "Your access token doesn't have the `<scope>` scope".
fn scope_in(message: &str) -> Option<String> {
    let rest = message.split("doesn't have the ").nth(1)?;
    let scope = rest.split(" scope").next()?.trim();
    (!scope.is_empty() && scope.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| scope.to_owned())
}

/// "... Please try again in 187 seconds." / "Please wait 42 seconds ..." (at most
/// [`MAX_WAIT`]; a number past a day is not a usable wait).
fn seconds_in(message: &str) -> Option<Duration> {
    let words: Vec<&str> = message.split_whitespace().collect();
    words.windows(2).find_map(|w| {
        (w[1].starts_with("second"))
            .then(|| w[0].parse::<u64>().ok())
            .flatten()
            .filter(|secs| *secs <= unidir_http::MAX_HEADER_SECS)
            .map(|secs| Duration::from_secs(secs).min(MAX_WAIT))
    })
}

fn status_error(
    operation: &'static str,
    status: u16,
    message: Option<String>,
    response: &RawResponse,
) -> Error {
    status::error_for_status(
        &Statuses,
        operation,
        status,
        message,
        RetryWait::of(response),
    )
}

pub(super) fn graphql_status_error(
    operation: &'static str,
    response: &RawResponse,
    messages: &[String],
    token: &SecretToken,
) -> Error {
    let message = messages
        .first()
        .cloned()
        .or_else(|| rest_message(&response.body, Some(token)));
    let error = status_error(operation, response.status, message, response);
    // The GraphQL endpoint refusing the token (a 403 that names no other scope) is GraphQL
    // refused, whatever the scope list says: the class that sends a read to REST.
    if error.kind() == ErrorKind::PermissionDenied && error.missing_scope().is_none() {
        error.with_missing_scope("graphql")
    } else {
        error
    }
}

/// A query refused for its complexity ("Query has complexity of N, which exceeds max
/// complexity of M"): `Some((N, M))`, each `None` when absent or not a sane number.
pub(super) fn complexity_refusal(message: &str) -> Option<(Option<u64>, Option<u64>)> {
    let lower = message.to_ascii_lowercase();
    if !lower.contains("exceeds max complexity") {
        return None;
    }
    let number_after = |marker: &str| {
        let rest = &lower[lower.find(marker)? + marker.len()..];
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .take(14)
            .collect();
        digits
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=unidir_http::MAX_HEADER_COUNT).contains(n))
    };
    Some((
        number_after("complexity of"),
        number_after("max complexity of"),
    ))
}

/// A caller-chosen page too large for the cap, naming the largest that fits.
pub(super) fn too_complex(operation: &'static str, what: &str, largest: u64) -> Error {
    let advice = if largest >= 1 {
        format!("the largest page that fits is {largest}: ask for a limit of {largest} or less")
    } else {
        "by Buildkite's figures not even a page of one fits".to_owned()
    };
    Error::new(ErrorKind::InvalidInput, format!("{what} ({advice})"))
        .with_provider(PROVIDER)
        .with_operation(operation)
}

pub(super) fn graphql_body_error(operation: &'static str, messages: &[String]) -> Error {
    let first = &messages[0];
    let lower = first.to_ascii_lowercase();
    let error = if lower.contains("exceeds max complexity") {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{first} (ask for a smaller page with a lower limit)"),
        )
    } else if lower.contains("complexity points") || lower.contains("rate limit") {
        // The wait Buildkite names, if it names one; never an invented one.
        match seconds_in(first) {
            Some(wait) => Error::new(ErrorKind::RateLimited, first.clone()).with_retry_after(wait),
            None => Error::new(
                ErrorKind::RateLimited,
                format!("{first}; Buildkite did not say when to retry"),
            ),
        }
    } else if lower.starts_with("no ") && lower.contains(" found") || lower.contains("not found") {
        Error::new(ErrorKind::NotFound, first.clone())
    } else if let Some(scope) = scope_in(first) {
        Error::new(ErrorKind::PermissionDenied, first.clone()).with_missing_scope(scope)
    } else if lower.contains("graphql") && lower.contains("not enabled") {
        // "GraphQL access is not enabled ..." (HTTP 200): the token cannot use GraphQL.
        Error::new(ErrorKind::PermissionDenied, first.clone()).with_missing_scope("graphql")
    } else {
        Error::new(
            ErrorKind::Upstream,
            format!("Buildkite GraphQL error: {first}"),
        )
    };
    error.with_provider(PROVIDER).with_operation(operation)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_complexity_refusals_with_bounds() {
        let m = "Query has complexity of 64003, which exceeds max complexity of 50000";
        assert_eq!(complexity_refusal(m), Some((Some(64_003), Some(50_000))));
        assert_eq!(
            complexity_refusal("Query exceeds max complexity"),
            Some((None, None))
        );
        let huge =
            "Query has complexity of 99999999999999999999999, which exceeds max complexity of x";
        assert_eq!(complexity_refusal(huge), Some((None, None)));
        assert_eq!(complexity_refusal("Rate limit exceeded"), None);
        let e = too_complex("op", m, 370);
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("largest page that fits is 370"), "{e}");
    }

    #[test]
    fn parses_scope_and_seconds() {
        assert_eq!(
            scope_in("Your access token doesn't have the read_teams scope").as_deref(),
            Some("read_teams")
        );
        assert_eq!(scope_in("Forbidden"), None);
        assert_eq!(
            seconds_in("Please try again in 187 seconds."),
            Some(Duration::from_secs(187))
        );
        assert_eq!(
            seconds_in("Please wait 1 second"),
            Some(Duration::from_secs(1))
        );
        assert_eq!(seconds_in("soon"), None);
        // Absurd numbers in provider text are not a wait; large ones are capped.
        assert_eq!(seconds_in("try again in 99999999999999 seconds"), None);
        assert_eq!(seconds_in("try again in 7200 seconds"), Some(MAX_WAIT));
    }

    /// The shared table with Buildkite's hook: the same kinds, waits and wording as before
    /// the table moved to the kit.
    #[test]
    fn status_table() {
        let cases = [
            (401, ErrorKind::Unauthenticated),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (400, ErrorKind::InvalidInput),
            (422, ErrorKind::InvalidInput),
            (429, ErrorKind::RateLimited),
            (302, ErrorKind::Upstream),
            (500, ErrorKind::Upstream),
            (503, ErrorKind::Upstream),
            (418, ErrorKind::Upstream),
        ];
        let table = |status: u16, message: Option<&str>, wait: RetryWait| {
            status::error_for_status(&Statuses, "op", status, message.map(Into::into), wait)
        };
        let unknown = RetryWait::none;
        for (status, kind) in cases {
            let e = table(status, Some("m"), unknown());
            assert_eq!(e.kind(), kind, "{status}");
            assert_eq!(e.status(), Some(status));
            assert_eq!(e.provider(), PROVIDER);
        }
        // A known wait is reported; none is never invented, and unusable headers are named.
        let e = table(429, None, RetryWait::Known(Duration::from_secs(9)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(9)));
        let e = table(429, None, unknown());
        assert_eq!(e.retry_after(), None);
        assert!(e.message().contains("did not say when"), "{e}");
        let e = table(429, None, RetryWait::Unknown { unusable: true });
        assert_eq!(e.retry_after(), None);
        assert!(e.message().contains("unusable"), "{e}");
        let e = table(429, Some("Please try again in 187 seconds."), unknown());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(187)));
        // Buildkite's hook: the scope a 403 names, and Buildkite's wording.
        let e = table(
            403,
            Some("Your access token doesn't have the read_teams scope"),
            unknown(),
        );
        assert_eq!(e.missing_scope(), Some("read_teams"));
        assert_eq!(
            table(401, None, unknown()).message(),
            "Buildkite rejected the token (missing, invalid, expired or revoked)"
        );
        assert_eq!(
            table(404, None, unknown()).message(),
            "not found (Buildkite also answers 404 for an organization the token cannot see)"
        );
        assert_eq!(
            table(429, None, unknown()).message(),
            "Buildkite's rate limit is exhausted; it did not say when to retry"
        );
        // The public entry point reads the body and caps the wait it is given.
        let e = error_for_status(
            "op",
            403,
            br#"{"message":"Your access token doesn't have the read_pipelines scope"}"#,
            None,
        );
        assert_eq!(e.missing_scope(), Some("read_pipelines"));
        let e = error_for_status("op", 429, b"", Some(MAX_WAIT * 3));
        assert_eq!(e.retry_after(), Some(MAX_WAIT));
    }

    #[test]
    fn provider_text_is_scrubbed_bounded_and_escaped() {
        let token = SecretToken::new("bkua_canary0123456789").expect("token");
        let body = json!({ "message": format!("bad token bkua_canary0123456789\x1b[2J{}", "x".repeat(10_000)) });
        let m = rest_message(body.to_string().as_bytes(), Some(&token)).expect("message");
        assert!(!m.contains("canary0123456789"), "{m}");
        assert!(!m.contains('\x1b'), "{m}");
        assert!(m.chars().count() < 320, "{}", m.len());
        let errors = json!({ "errors": [{ "message": "Bearer bkua_canary0123456789 rejected" }] });
        let ms = graphql_messages(Some(&errors), Some(&token));
        assert_eq!(ms, ["Bearer [REDACTED] rejected"]);
        let e = graphql_body_error(
            "op",
            &["GraphQL access is not enabled for this token".to_owned()],
        );
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(e.missing_scope(), Some("graphql"));
        // A budget error in a 200 says when to retry only when Buildkite did.
        let e = graphql_body_error(
            "op",
            &["You have exceeded your per-user limit of 5000 complexity points. Please try again in 187 seconds.".to_owned()],
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(187)));
        let e = graphql_body_error("op", &["Rate limit exceeded".to_owned()]);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), None);
        assert!(e.message().contains("did not say when"), "{e}");
    }
}
