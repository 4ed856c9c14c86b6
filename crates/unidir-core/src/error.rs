//! One error type for the whole public API, shaped by what the caller does next.
//!
//! The kind answers "what now?": fix the credential ([`ErrorKind::Unauthenticated`]), grant
//! a scope ([`ErrorKind::PermissionDenied`] with [`Error::missing_scope`]), wait
//! ([`ErrorKind::RateLimited`] with [`Error::retry_after`]), fix the input, or report a
//! provider problem. Messages are written by unidir: they never hold a token, a request URL
//! with its query, or a raw response body.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Convenience alias used throughout unidir.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The object does not exist, or the credential cannot see it.
    NotFound,
    /// The credential is missing, invalid, expired or revoked.
    Unauthenticated,
    /// The credential lacks a scope or the user lacks a permission.
    PermissionDenied,
    /// A provider budget is exhausted; see [`Error::retry_after`].
    RateLimited,
    /// A cursor was tampered with, or belongs to another provider, resource or query.
    InvalidCursor,
    /// The request itself is wrong (bad id, bad limit, rejected by the provider's validation).
    InvalidInput,
    /// This adapter or this credential cannot do that operation (or filter).
    Unsupported,
    /// The change conflicts with the provider's current state.
    Conflict,
    /// The provider failed or could not be reached (5xx, timeout, connection failure).
    Upstream,
    /// The provider answered something that breaks its own contract (malformed body,
    /// a repeated or missing page cursor, an unexpected shape).
    ContractViolation,
    /// A local file, directory or stream failed (a full disk under the temporary directory,
    /// a closed or full stdout): nothing the provider or the request did.
    LocalIo,
}

impl ErrorKind {
    /// A short, stable, human-readable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not found",
            Self::Unauthenticated => "unauthenticated",
            Self::PermissionDenied => "permission denied",
            Self::RateLimited => "rate limited",
            Self::InvalidCursor => "invalid cursor",
            Self::InvalidInput => "invalid input",
            Self::Unsupported => "unsupported",
            Self::Conflict => "conflict",
            Self::Upstream => "upstream failure",
            Self::ContractViolation => "provider contract violation",
            Self::LocalIo => "local I/O failure",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The unidir error: a kind plus where it happened and what to do about it.
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    provider: Cow<'static, str>,
    operation: Cow<'static, str>,
    message: String,
    status: Option<u16>,
    retry_after: Option<Duration>,
    missing_scope: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind`; add context with the `with_*` methods.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            provider: Cow::Borrowed("unidir"),
            operation: Cow::Borrowed("unknown"),
            message: message.into(),
            status: None,
            retry_after: None,
            missing_scope: None,
            source: None,
        }))
    }

    /// Shorthand for an [`ErrorKind::Unsupported`] error.
    pub fn unsupported(provider: &'static str, operation: &'static str) -> Self {
        Self::new(
            ErrorKind::Unsupported,
            format!("{provider} does not support {operation}"),
        )
        .with_provider(provider)
        .with_operation(operation)
    }

    /// Shorthand for an [`ErrorKind::InvalidInput`] error.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Shorthand for an [`ErrorKind::InvalidCursor`] error.
    pub fn invalid_cursor(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidCursor, message)
    }

    /// Shorthand for an [`ErrorKind::ContractViolation`] error.
    pub fn contract(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ContractViolation, message)
    }

    /// Sets the provider name (`buildkite`, `memory`, ...).
    pub fn with_provider(mut self, provider: impl Into<Cow<'static, str>>) -> Self {
        self.0.provider = provider.into();
        self
    }

    /// Sets the operation (`list_users`, `get_group`, ...).
    pub fn with_operation(mut self, operation: impl Into<Cow<'static, str>>) -> Self {
        self.0.operation = operation.into();
        self
    }

    /// Sets the provider's HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.0.status = Some(status);
        self
    }

    /// Sets how long to wait before retrying.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.0.retry_after = Some(retry_after);
        self
    }

    /// Names the scope the credential lacks.
    pub fn with_missing_scope(mut self, scope: impl Into<String>) -> Self {
        self.0.missing_scope = Some(scope.into());
        self
    }

    /// Attaches the underlying cause. The cause must not print secrets or URLs with queries.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.0.source = Some(Box::new(source));
        self
    }

    /// Replaces the message, keeping everything else.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.0.message = message.into();
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// Which provider raised it.
    pub fn provider(&self) -> &str {
        &self.0.provider
    }

    /// Which operation raised it.
    pub fn operation(&self) -> &str {
        &self.0.operation
    }

    /// The human-readable explanation.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The provider's HTTP status, when one was received.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }

    /// How long to wait before trying again (rate limits).
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// The scope the credential lacks, when the provider named it.
    pub fn missing_scope(&self) -> Option<&str> {
        self.0.missing_scope.as_deref()
    }

    /// Whether repeating the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.0.kind, ErrorKind::RateLimited | ErrorKind::Upstream)
    }

    /// A serialisable summary (for CLIs, sidecars and logs).
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            kind: self.0.kind,
            provider: self.0.provider.to_string(),
            operation: self.0.operation.to_string(),
            message: self.0.message.clone(),
            status: self.0.status,
            retry_after_secs: self.0.retry_after.map(|d| d.as_secs_f64().ceil() as u64),
            missing_scope: self.0.missing_scope.clone(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.0;
        write!(
            f,
            "{} {}: {}: {}",
            i.provider, i.operation, i.kind, i.message
        )?;
        if let Some(scope) = &i.missing_scope {
            write!(f, " (missing scope: {scope})")?;
        }
        if let Some(after) = i.retry_after {
            write!(f, " (retry after {}s)", after.as_secs_f64().ceil() as u64)?;
        }
        if let Some(status) = i.status {
            write!(f, " [HTTP {status}]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.0;
        f.debug_struct("Error")
            .field("kind", &i.kind)
            .field("provider", &i.provider)
            .field("operation", &i.operation)
            .field("message", &i.message)
            .field("status", &i.status)
            .field("retry_after", &i.retry_after)
            .field("missing_scope", &i.missing_scope)
            .field("source", &i.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// The serialisable form of an [`Error`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Which provider raised it.
    pub provider: String,
    /// Which operation raised it.
    pub operation: String,
    /// Human-readable explanation.
    pub message: String,
    /// The provider's HTTP status, when one was received.
    pub status: Option<u16>,
    /// Seconds to wait before retrying (rate limits).
    pub retry_after_secs: Option<u64>,
    /// The scope the credential lacks.
    pub missing_scope: Option<String>,
}
