//! Errors: [`SimError`] for starting a simulator, [`ApiError`] for Buildkite-style answers.

use std::net::SocketAddr;

use axum::http::StatusCode;

/// Why a simulator could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration is inconsistent (no token, a token pointing past the last user,
    /// an [`OrgSpec`](crate::OrgSpec) naming an unknown member, ...).
    #[error("invalid simulator configuration: {0}")]
    InvalidConfig(String),
    /// The listening socket could not be bound.
    #[error("cannot bind the simulator to {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A REST error answer: an HTTP status and the `message` of Buildkite's `{"message": ...}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden")
    }

    /// 422 with Buildkite's `Validation failed: <reason>` wording.
    pub(crate) fn validation(reason: impl AsRef<str>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Validation failed: {}", reason.as_ref()),
        )
    }

    pub(crate) fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
}
