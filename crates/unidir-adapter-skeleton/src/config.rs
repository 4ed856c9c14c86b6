//! Configuration: a builder that validates everything and does no I/O.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use unidir_core::{Error, Result, WalkLimits};
use unidir_http::{
    HttpClientBuilder, OriginGuard, RetryPolicy, SecretToken, Sleeper, XRateLimit, check_base_url,
};

use crate::PROVIDER;
use crate::api::Api;
use crate::directory::Toy;

/// Where the toy API lives unless told otherwise.
pub const DEFAULT_BASE_URL: &str = "https://toy.invalid";

/// Builds a [`Toy`] directory. Every setting is checked by [`ToyBuilder::build`], which
/// sends nothing.
pub struct ToyBuilder {
    token: Option<String>,
    base_url: String,
    plain_http: bool,
    timeout: Duration,
    retry: RetryPolicy,
    sleeper: Option<Arc<dyn Sleeper>>,
    walk_limits: WalkLimits,
}

// By hand, so the token can never be printed.
impl fmt::Debug for ToyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToyBuilder")
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("base_url", &self.base_url)
            .field("plain_http", &self.plain_http)
            .field("timeout", &self.timeout)
            .field("walk_limits", &self.walk_limits)
            .finish_non_exhaustive()
    }
}

impl Default for ToyBuilder {
    fn default() -> Self {
        Self {
            token: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            plain_http: false,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            sleeper: None,
            walk_limits: WalkLimits::default(),
        }
    }
}

impl ToyBuilder {
    /// The API token (required).
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The API root, e.g. a simulator's `http://127.0.0.1:PORT`. It must be `https`, or plain
    /// `http` to a loopback address (see [`check_base_url`]).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Allows a plain-`http` base URL that is not loopback: the token then travels in
    /// cleartext. For test networks only.
    pub fn allow_plain_http(mut self, allow: bool) -> Self {
        self.plain_http = allow;
        self
    }

    /// Deadline of one attempt.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries, backoff and the longest rate-limit wait sat out.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// What waits between attempts (tests inject `unidir_http::testing::RecordingSleeper`).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = Some(sleeper);
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
        let base = check_base_url(&self.base_url, "toy API URL", self.plain_http).map_err(tag)?;
        let mut http = HttpClientBuilder::new(PROVIDER)
            .with_timeout(self.timeout)
            .with_retry_policy(self.retry)
            // The toy reports its budget GitHub-style, with a Unix-time reset.
            .with_rate_limit_scheme(Arc::new(XRateLimit::new()))
            // The token goes to the configured origin and nowhere else, whatever URL a bug
            // or a hostile answer might make us build.
            .with_allowed_origins(OriginGuard::new([&base]));
        if let Some(sleeper) = self.sleeper {
            http = http.with_sleeper(sleeper);
        }
        let http = http.build().map_err(tag)?;
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
            .allow_plain_http(true)
            .build()
            .expect("plain http when asked for");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let builder = Toy::builder().with_token("toy_s3cret");
        assert!(!format!("{builder:?}").contains("toy_s3cret"));
        let toy = builder.build().expect("valid");
        assert!(!format!("{toy:?}").contains("toy_s3cret"));
    }
}
