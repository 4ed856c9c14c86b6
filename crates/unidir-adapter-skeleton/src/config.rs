//! Configuration: a builder that validates everything and does no I/O.

use std::fmt;
use std::sync::Arc;

use unidir_core::{Error, Result, WalkLimits};
use unidir_http::{HttpOptions, OriginGuard, SecretToken, XRateLimit};

use crate::PROVIDER;
use crate::api::Api;
use crate::directory::Toy;

/// Where the toy API lives unless told otherwise.
pub const DEFAULT_BASE_URL: &str = "https://toy.invalid";

/// Builds a [`Toy`] directory. Every setting is checked by [`ToyBuilder::build`], which
/// sends nothing.
///
/// The HTTP settings every adapter shares (deadlines, retries, the plain-HTTP switch, user
/// agent, reqwest client, observer, sleeper, body cap) are one [`HttpOptions`]; a real
/// adapter may also forward the setters its users reach for most, as `BuildkiteBuilder`
/// does.
#[derive(Default)]
pub struct ToyBuilder {
    token: Option<String>,
    base_url: Option<String>,
    http: HttpOptions,
    walk_limits: WalkLimits,
}

// By hand, so the token can never be printed.
impl fmt::Debug for ToyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToyBuilder")
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("base_url", &self.base_url)
            .field("http", &self.http)
            .field("walk_limits", &self.walk_limits)
            .finish()
    }
}

impl ToyBuilder {
    /// The API token (required).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The API root (default [`DEFAULT_BASE_URL`]), e.g. a simulator's
    /// `http://127.0.0.1:PORT`. It must be `https`, or plain `http` to a loopback address
    /// unless [`HttpOptions::allow_plain_http`] says otherwise.
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The HTTP settings (tests inject a `unidir_http::testing::RecordingSleeper` here).
    pub fn with_http_options(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// Bounds of every walk over all pages of a list.
    pub fn with_walk_limits(mut self, limits: WalkLimits) -> Self {
        self.walk_limits = limits;
        self
    }

    /// Checks the configuration and builds the directory.
    pub fn build(self) -> Result<Toy> {
        let tag = |e: Error| e.with_provider(PROVIDER).with_operation("build");
        let token = self
            .token
            .ok_or_else(|| Error::invalid_input("the toy API token is required"))
            .and_then(SecretToken::new)
            .map_err(tag)?;
        let raw = self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let base = self.http.check_base_url(raw, "toy API URL").map_err(tag)?;
        // The token goes to the configured origin and nowhere else, whatever URL a bug or a
        // hostile answer might make us build.
        let http = self
            .http
            .client_builder(PROVIDER, OriginGuard::new([&base]))
            .and_then(|client| {
                client
                    // The toy reports its budget GitHub-style, with a Unix-time reset.
                    .with_rate_limit_scheme(Arc::new(XRateLimit::new()))
                    .build()
            })
            .map_err(tag)?;
        Ok(Toy::new(Api::new(http, token, base), self.walk_limits))
    }
}

#[cfg(test)]
mod tests {
    use unidir_core::ErrorKind;

    use super::*;

    fn refused(builder: ToyBuilder) -> Error {
        builder.build().expect_err("refused")
    }

    #[test]
    fn the_token_and_base_url_are_checked_without_io() {
        let e = refused(Toy::builder());
        assert_eq!(
            (e.kind(), e.provider()),
            (ErrorKind::InvalidInput, PROVIDER)
        );
        let e = refused(Toy::builder().with_token("has space"));
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(!e.to_string().contains("has space"), "{e}");
        for url in [
            "http://toy.example",
            "ftp://toy.example",
            "https://u:p@toy.example",
        ] {
            let e = refused(Toy::builder().with_token("t").with_base_url(url));
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{url}");
        }
        for url in ["http://127.0.0.1:9", "https://toy.example/root"] {
            Toy::builder()
                .with_token("t")
                .with_base_url(url)
                .build()
                .unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        Toy::builder()
            .with_token("t")
            .with_base_url("http://toy.example")
            .with_http_options(HttpOptions::new().allow_plain_http(true))
            .build()
            .expect("plain http when asked for");
        let e = refused(
            Toy::builder()
                .with_token("t")
                .with_http_options(HttpOptions::new().with_timeout(std::time::Duration::ZERO)),
        );
        assert_eq!(
            (e.kind(), e.provider()),
            (ErrorKind::InvalidInput, PROVIDER)
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let builder = Toy::builder().with_token("toy_s3cret");
        assert!(!format!("{builder:?}").contains("toy_s3cret"));
        let toy = builder.build().expect("valid");
        assert!(!format!("{toy:?}").contains("toy_s3cret"));
    }
}
