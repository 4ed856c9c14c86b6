//! The HTTP status → [`ErrorKind`] table, shared by every adapter and the passthrough proxy.
//!
//! The table itself is plain HTTP (401 unauthenticated, 403 permission denied, 404 not
//! found, 400/422 invalid input, 429 rate limited, anything else upstream). What only a
//! provider knows comes from its [`StatusHook`]: where its error bodies keep the message, how
//! a 403 names the missing scope, how a 429's text names a wait, and what to call the
//! provider in a message.
//!
//! ```
//! use unidir_core::ErrorKind;
//! use unidir_http::status::{BasicStatusHook, RetryWait, error_for_status};
//!
//! let hook = BasicStatusHook::new("example");
//! let body = br#"{"message": "Bad credentials"}"#;
//! let error = error_for_status(&hook, "list_users", 401, hook.message_of(body), RetryWait::none());
//! assert_eq!(error.kind(), ErrorKind::Unauthenticated);
//! assert_eq!(error.message(), "Bad credentials");
//! assert_eq!(error.provider(), "example");
//! ```

use std::fmt;
use std::time::Duration;

use serde_json::Value;
use unidir_core::{Error, ErrorKind};

use crate::client::RawResponse;
use crate::ratelimit::MAX_WAIT;
use crate::secret::SecretToken;
use crate::untrusted::upstream_text;

/// What a provider adds to the shared status table. Every method but
/// [`StatusHook::provider`] has a default that suits a plain JSON REST API.
pub trait StatusHook: fmt::Debug + Send + Sync {
    /// The provider name written into errors (`buildkite`).
    fn provider(&self) -> &'static str;

    /// What messages call the provider (`Buildkite`); defaults to [`StatusHook::provider`].
    fn display_name(&self) -> &str {
        self.provider()
    }

    /// The human message of an error body, made safe with [`upstream_text`] (`token`
    /// removed). The default reads a top-level string `message`, as in `{"message": "..."}`.
    fn message(&self, body: &[u8], token: Option<&SecretToken>) -> Option<String> {
        json_message(body, token)
    }

    /// The scope a permission-denied message names, if the provider names one.
    fn missing_scope(&self, message: &str) -> Option<String> {
        let _ = message;
        None
    }

    /// The wait a rate-limited message names ("try again in 30 seconds"), if any. Only
    /// asked when the headers gave no usable wait.
    fn wait_in(&self, message: &str) -> Option<Duration> {
        let _ = message;
        None
    }

    /// The message for `status` when the body had none that may be shown (and for every
    /// 5xx); `None` takes the table's own wording.
    fn default_message(&self, status: u16) -> Option<String> {
        let _ = status;
        None
    }
}

/// A [`StatusHook`] with every default: `{"message"}` bodies, no scopes, no waits in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasicStatusHook {
    provider: &'static str,
}

impl BasicStatusHook {
    /// The hook of `provider`.
    pub fn new(provider: &'static str) -> Self {
        Self { provider }
    }

    /// [`StatusHook::message`] of a body that holds no token (already scrubbed).
    pub fn message_of(&self, body: &[u8]) -> Option<String> {
        self.message(body, None)
    }
}

impl StatusHook for BasicStatusHook {
    fn provider(&self) -> &'static str {
        self.provider
    }
}

/// A top-level string `message` of a JSON body, through [`upstream_text`].
pub fn json_message(body: &[u8], token: Option<&SecretToken>) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value
        .get("message")?
        .as_str()
        .map(|m| upstream_text(m, token))
}

/// What a rate-limited answer's headers said about when to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryWait {
    /// A usable wait.
    Known(Duration),
    /// Nothing usable; `unusable` when rate-limit headers were present but garbage or
    /// absurd (the error then says so).
    Unknown {
        /// Whether the headers were present but unusable.
        unusable: bool,
    },
}

impl RetryWait {
    /// No wait known, and no unusable headers.
    pub fn none() -> Self {
        Self::Unknown { unusable: false }
    }

    /// The wait of a response's rate-limit headers.
    pub fn of(response: &RawResponse) -> Self {
        match response.retry_after() {
            Some(wait) => Self::Known(wait),
            None => Self::Unknown {
                unusable: !response.rate_limit.unusable.is_empty(),
            },
        }
    }

    /// A wait read elsewhere, capped at [`MAX_WAIT`].
    pub fn from_retry_after(wait: Option<Duration>) -> Self {
        match wait {
            Some(wait) => Self::Known(wait.min(MAX_WAIT)),
            None => Self::none(),
        }
    }
}

/// The kind of error a non-2xx status is.
pub fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        400 | 422 => ErrorKind::InvalidInput,
        429 => ErrorKind::RateLimited,
        _ => ErrorKind::Upstream,
    }
}

/// The table's own wording for `status`, naming the provider as `name`.
fn default_text(name: &str, status: u16) -> String {
    match status {
        401 => format!("{name} rejected the token (missing, invalid, expired or revoked)"),
        403 => "the token or its user may not do this".to_owned(),
        404 => "not found".to_owned(),
        400 | 422 => format!("{name} refused the request"),
        429 => format!("{name}'s rate limit is exhausted"),
        300..=399 => format!("{name} answered with a redirect, which is not followed"),
        500..=599 => format!("{name} failed to answer"),
        _ => format!("{name} answered with an unexpected status"),
    }
}

/// The typed error for a non-2xx answer. `message` is the provider's text, already made
/// safe ([`StatusHook::message`]); it is shown for statuses below 500, with a hint for a
/// 404. A 403 names the scope the hook finds in it; a 429 carries the known wait, else the
/// one the hook reads in the text, and never an invented one.
pub fn error_for_status(
    hook: &dyn StatusHook,
    operation: &'static str,
    status: u16,
    message: Option<String>,
    wait: RetryWait,
) -> Error {
    let kind = kind_for_status(status);
    let text = match (&message, status) {
        (Some(m), 404) => format!("{m} (the object may not exist, or the token cannot see it)"),
        (Some(m), _) if status < 500 => m.clone(),
        _ => hook
            .default_message(status)
            .unwrap_or_else(|| default_text(hook.display_name(), status)),
    };
    let mut error = Error::new(kind, text)
        .with_provider(hook.provider())
        .with_operation(operation)
        .with_status(status);
    if kind == ErrorKind::PermissionDenied
        && let Some(scope) = message.as_deref().and_then(|m| hook.missing_scope(m))
    {
        error = error.with_missing_scope(scope);
    }
    if kind == ErrorKind::RateLimited {
        let from_text = message.as_deref().and_then(|m| hook.wait_in(m));
        match (wait, from_text) {
            (RetryWait::Known(wait), _) | (RetryWait::Unknown { .. }, Some(wait)) => {
                error = error.with_retry_after(wait);
            }
            (RetryWait::Unknown { unusable }, None) => {
                // Never invent a wait: say that the provider did not give a usable one.
                let why = if unusable {
                    "its rate-limit headers were unusable (garbage, negative or absurd values)"
                } else {
                    "it did not say when to retry"
                };
                let text = format!("{}; {why}", error.message());
                error = error.with_message(text);
            }
        }
    }
    error
}

/// [`error_for_status`] for a response: the hook reads the message out of its body (with
/// `token` removed) and the wait comes from its headers.
pub fn error_for_response(
    hook: &dyn StatusHook,
    operation: &'static str,
    response: &RawResponse,
    token: Option<&SecretToken>,
) -> Error {
    let message = hook.message(&response.body, token);
    error_for_status(
        hook,
        operation,
        response.status,
        message,
        RetryWait::of(response),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider that names scopes and waits the way its 403s and 429s spell them.
    #[derive(Debug)]
    struct Wordy;

    impl StatusHook for Wordy {
        fn provider(&self) -> &'static str {
            "wordy"
        }
        fn display_name(&self) -> &str {
            "Wordy"
        }
        fn missing_scope(&self, message: &str) -> Option<String> {
            message.strip_prefix("needs ").map(str::to_owned)
        }
        fn wait_in(&self, message: &str) -> Option<Duration> {
            message
                .strip_prefix("wait ")
                .and_then(|s| s.parse().ok())
                .map(Duration::from_secs)
        }
        fn default_message(&self, status: u16) -> Option<String> {
            (status == 404).then(|| "not here".to_owned())
        }
    }

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
            (408, ErrorKind::Upstream),
            (500, ErrorKind::Upstream),
            (503, ErrorKind::Upstream),
            (418, ErrorKind::Upstream),
        ];
        for (status, kind) in cases {
            assert_eq!(kind_for_status(status), kind, "{status}");
            let e = error_for_status(&Wordy, "op", status, Some("m".into()), RetryWait::none());
            assert_eq!(e.kind(), kind, "{status}");
            assert_eq!(e.status(), Some(status));
            assert_eq!(e.provider(), "wordy");
            assert_eq!(e.operation(), "op");
        }
    }

    #[test]
    fn provider_text_is_shown_below_500_only() {
        let e = error_for_status(
            &Wordy,
            "op",
            422,
            Some("bad name".into()),
            RetryWait::none(),
        );
        assert_eq!(e.message(), "bad name");
        let e = error_for_status(
            &Wordy,
            "op",
            404,
            Some("Not Found".into()),
            RetryWait::none(),
        );
        assert_eq!(
            e.message(),
            "Not Found (the object may not exist, or the token cannot see it)"
        );
        let e = error_for_status(
            &Wordy,
            "op",
            500,
            Some("stack trace".into()),
            RetryWait::none(),
        );
        assert_eq!(e.message(), "Wordy failed to answer");
        // Without text: the hook's wording, else the table's, naming the provider.
        let e = error_for_status(&Wordy, "op", 404, None, RetryWait::none());
        assert_eq!(e.message(), "not here");
        let e = error_for_status(&Wordy, "op", 401, None, RetryWait::none());
        assert_eq!(
            e.message(),
            "Wordy rejected the token (missing, invalid, expired or revoked)"
        );
        let e = error_for_status(&Wordy, "op", 302, None, RetryWait::none());
        assert!(e.message().contains("redirect"), "{e}");
        let basic = BasicStatusHook::new("plain");
        let e = error_for_status(&basic, "op", 400, None, RetryWait::none());
        assert_eq!(e.message(), "plain refused the request");
    }

    #[test]
    fn scopes_come_from_the_hook_on_403_only() {
        let e = error_for_status(
            &Wordy,
            "op",
            403,
            Some("needs read_x".into()),
            RetryWait::none(),
        );
        assert_eq!(e.missing_scope(), Some("read_x"));
        let e = error_for_status(
            &Wordy,
            "op",
            400,
            Some("needs read_x".into()),
            RetryWait::none(),
        );
        assert_eq!(e.missing_scope(), None);
        let basic = BasicStatusHook::new("plain");
        let e = error_for_status(
            &basic,
            "op",
            403,
            Some("needs read_x".into()),
            RetryWait::none(),
        );
        assert_eq!(e.missing_scope(), None);
    }

    #[test]
    fn waits_are_reported_never_invented() {
        let nine = Duration::from_secs(9);
        let e = error_for_status(&Wordy, "op", 429, None, RetryWait::Known(nine));
        assert_eq!(e.retry_after(), Some(nine));
        // The headers win over the text.
        let e = error_for_status(
            &Wordy,
            "op",
            429,
            Some("wait 5".into()),
            RetryWait::Known(nine),
        );
        assert_eq!(e.retry_after(), Some(nine));
        let e = error_for_status(&Wordy, "op", 429, Some("wait 5".into()), RetryWait::none());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(5)));
        let e = error_for_status(&Wordy, "op", 429, None, RetryWait::none());
        assert_eq!(e.retry_after(), None);
        assert!(e.message().contains("did not say when"), "{e}");
        let e = error_for_status(
            &Wordy,
            "op",
            429,
            None,
            RetryWait::Unknown { unusable: true },
        );
        assert_eq!(e.retry_after(), None);
        assert!(e.message().contains("unusable"), "{e}");
        // A wait is only read for a 429.
        let e = error_for_status(
            &Wordy,
            "op",
            503,
            Some("wait 5".into()),
            RetryWait::Known(nine),
        );
        assert_eq!(e.retry_after(), None);
    }

    #[test]
    fn waits_read_elsewhere_are_capped() {
        assert_eq!(RetryWait::from_retry_after(None), RetryWait::none());
        assert_eq!(
            RetryWait::from_retry_after(Some(Duration::from_secs(3))),
            RetryWait::Known(Duration::from_secs(3))
        );
        assert_eq!(
            RetryWait::from_retry_after(Some(MAX_WAIT * 10)),
            RetryWait::Known(MAX_WAIT)
        );
    }

    #[test]
    fn json_message_is_made_safe() {
        let token = SecretToken::new("tok_canary0123456789").expect("token");
        let body = serde_json::json!({ "message": "bad tok_canary0123456789\x1b[2J" }).to_string();
        let m = json_message(body.as_bytes(), Some(&token)).expect("message");
        assert!(!m.contains("canary0123456789"), "{m}");
        assert!(!m.contains('\x1b'), "{m}");
        assert_eq!(json_message(b"<html>", None), None);
        assert_eq!(json_message(br#"{"message": 3}"#, None), None);
        assert_eq!(json_message(br#"{"error": "x"}"#, None), None);
    }
}
