//! Failures, their exit codes, and the one line a person reads on stderr.

use std::io::{self, Write};
use std::process::ExitCode;

use unidir_core::{Error, ErrorBody, ErrorKind};

use crate::output;
use crate::secret_guard;

/// Where to create a Buildkite API access token.
pub(crate) const TOKEN_PAGE: &str = "https://buildkite.com/user/api-access-tokens";

/// Exit codes (documented in `--help` and the README).
pub(crate) mod code {
    /// Anything not covered below (a cancelled apply, ...).
    pub(crate) const OTHER: u8 = 1;
    /// Usage error or invalid input.
    pub(crate) const USAGE: u8 = 2;
    /// The token was rejected.
    pub(crate) const UNAUTHENTICATED: u8 = 3;
    /// The token lacks a scope, or the user a permission.
    pub(crate) const PERMISSION: u8 = 4;
    /// Unknown organization, group or user.
    pub(crate) const NOT_FOUND: u8 = 5;
    /// Rate limited.
    pub(crate) const RATE_LIMITED: u8 = 6;
    /// Network failure or provider failure.
    pub(crate) const UPSTREAM: u8 = 7;
    /// A provisioning outcome failed, or an apply was partial.
    pub(crate) const PROVISIONING: u8 = 8;
    /// A local file, directory or stdout failed (disk full, TMPDIR unwritable, stdout
    /// closed with an error): nothing the provider or the input did.
    pub(crate) const LOCAL_IO: u8 = 9;
}

/// Why a command did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A directory (or proxy) error, mapped by its kind.
    Directory(Error),
    /// Wrong usage or input the CLI itself rejects.
    Usage(String),
    /// Local I/O (an output file, stdout).
    Io(String, io::Error),
    /// A failure with its own exit code and message.
    Coded(u8, String),
    /// The command already printed what went wrong; exit with this code.
    Reported(u8),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::Directory(error)
    }
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Self::Io("could not write to stdout".to_owned(), error)
    }
}

/// A `Result` whose error is a [`Failure`].
pub(crate) type CliResult<T = ()> = Result<T, Failure>;

/// The exit code of an error kind.
pub(crate) fn code_of(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidInput | ErrorKind::InvalidCursor | ErrorKind::Unsupported => code::USAGE,
        ErrorKind::Unauthenticated => code::UNAUTHENTICATED,
        ErrorKind::PermissionDenied => code::PERMISSION,
        ErrorKind::NotFound => code::NOT_FOUND,
        ErrorKind::RateLimited => code::RATE_LIMITED,
        ErrorKind::Upstream | ErrorKind::ContractViolation => code::UPSTREAM,
        ErrorKind::Conflict => code::PROVISIONING,
        ErrorKind::LocalIo => code::LOCAL_IO,
        _ => code::OTHER,
    }
}

/// What to tell a person about an error body: one actionable sentence.
pub(crate) fn explain(body: &ErrorBody) -> String {
    let op = &body.operation;
    match body.kind {
        ErrorKind::Unauthenticated => format!(
            "the token was rejected{}: check BUILDKITE_API_TOKEN (it may be mistyped, expired or revoked; create one at {TOKEN_PAGE})",
            status(body)
        ),
        ErrorKind::PermissionDenied => match &body.missing_scope {
            Some(scope) => format!(
                "the token lacks the {scope} scope needed for {op}; create a token with {scope} at {TOKEN_PAGE}"
            ),
            None => format!("permission denied ({op}): {}", body.message),
        },
        ErrorKind::RateLimited => match body.retry_after_secs {
            Some(secs) => format!(
                "rate limited by {} during {op}; retry after {secs} s (at {})",
                body.provider,
                retry_at(secs)
            ),
            // No usable wait: the provider's own words (the adapter says whether its headers
            // were missing or unusable), never an invented "retry in a minute".
            None => format!(
                "rate limited by {} during {op}{}: {}",
                body.provider,
                status(body),
                body.message
            ),
        },
        ErrorKind::Upstream => format!(
            "{} could not be reached or failed during {op}{}: {} (check the network and --api-url, then retry)",
            body.provider,
            status(body),
            body.message
        ),
        ErrorKind::ContractViolation => format!(
            "{} sent an unexpected answer during {op}{}: {}",
            body.provider,
            status(body),
            body.message
        ),
        ErrorKind::NotFound => format!("not found ({op}): {}", body.message),
        _ => body.message.clone(),
    }
}

/// The wall-clock time `secs` from now, `HH:MM:SS UTC`.
fn retry_at(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|wait| chrono::Utc::now().checked_add_signed(wait))
        .map_or_else(
            || "later".to_owned(),
            |t| t.format("%H:%M:%S UTC").to_string(),
        )
}

fn status(body: &ErrorBody) -> String {
    body.status
        .map(|s| format!(" (HTTP {s})"))
        .unwrap_or_default()
}

/// Prints `failure` on stderr (as an [`ErrorBody`] JSON line with `--json`) and returns its
/// exit code.
pub(crate) fn report(failure: Failure, json: bool) -> ExitCode {
    let (code, body) = match failure {
        Failure::Reported(code) => return ExitCode::from(code),
        // `unidir users | head`: the reader went away; that is not an error.
        Failure::Io(_, e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Failure::Directory(error) => {
            let body = error.to_body();
            let message = explain(&body);
            (code_of(body.kind), ErrorBody { message, ..body })
        }
        Failure::Usage(message) => (code::USAGE, cli_body(ErrorKind::InvalidInput, message)),
        Failure::Io(context, e) => (
            code::LOCAL_IO,
            cli_body(ErrorKind::LocalIo, format!("{context}: {e}")),
        ),
        Failure::Coded(code, message) => {
            let kind = match code {
                code::NOT_FOUND => ErrorKind::NotFound,
                code::UPSTREAM => ErrorKind::ContractViolation,
                code::PROVISIONING => ErrorKind::Conflict,
                _ => ErrorKind::InvalidInput,
            };
            (code, cli_body(kind, message))
        }
    };
    let mut stderr = io::stderr().lock();
    // The token is removed from what is printed, in every form (`secret_guard`).
    let _ = if json {
        let line = serde_json::to_string(&body).unwrap_or_else(|_| body.message.clone());
        writeln!(stderr, "{}", secret_guard::scrub(&line))
    } else {
        // The message can carry provider text (names, upstream errors): escaped for the
        // terminal. The JSON body stays exact.
        let message = secret_guard::scrub(&body.message);
        writeln!(stderr, "unidir: {}", output::safe(&message))
    };
    ExitCode::from(code)
}

fn cli_body(kind: ErrorKind, message: String) -> ErrorBody {
    ErrorBody {
        kind,
        provider: "unidir".to_owned(),
        operation: "cli".to_owned(),
        message,
        status: None,
        retry_after_secs: None,
        missing_scope: None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_kind_has_its_code() {
        assert_eq!(code_of(ErrorKind::Unauthenticated), 3);
        assert_eq!(code_of(ErrorKind::PermissionDenied), 4);
        assert_eq!(code_of(ErrorKind::NotFound), 5);
        assert_eq!(code_of(ErrorKind::RateLimited), 6);
        assert_eq!(code_of(ErrorKind::Upstream), 7);
        assert_eq!(code_of(ErrorKind::InvalidInput), 2);
        assert_eq!(code_of(ErrorKind::LocalIo), 9);
    }

    #[test]
    fn messages_say_what_to_do() {
        let scope = Error::new(ErrorKind::PermissionDenied, "no")
            .with_operation("list_groups")
            .with_missing_scope("read_teams");
        let text = explain(&scope.to_body());
        assert!(text.contains("lacks the read_teams scope"), "{text}");
        let limited = Error::new(ErrorKind::RateLimited, "slow down")
            .with_provider("buildkite")
            .with_retry_after(Duration::from_millis(41_200));
        assert!(explain(&limited.to_body()).contains("retry after 42 s"));
        let unknown = Error::new(ErrorKind::RateLimited, "slow down; no usable wait")
            .with_provider("buildkite")
            .with_status(429);
        let text = explain(&unknown.to_body());
        assert!(
            text.contains("(HTTP 429): slow down; no usable wait"),
            "{text}"
        );
        assert!(
            !text.contains("minute") && !text.contains("retry after"),
            "{text}"
        );
        let auth = Error::new(ErrorKind::Unauthenticated, "401").with_status(401);
        assert!(explain(&auth.to_body()).contains("check BUILDKITE_API_TOKEN"));
    }
}
