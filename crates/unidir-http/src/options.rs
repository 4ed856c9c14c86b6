//! The HTTP settings every adapter and proxy builder shares, and the one way they become a
//! client: the same defaults, the same URL policy and the same hardened reqwest client for
//! every builder, so a provider's builder adds only what is its own.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use unidir_core::{Error, Result};
use url::Url;

use crate::client::{DEFAULT_MAX_BODY_BYTES, HttpClientBuilder};
use crate::observe::Observer;
use crate::origin::{OriginGuard, check_base_url};
use crate::retry::{RetryPolicy, Sleeper};

/// Where the reqwest client comes from.
enum Transport {
    /// Built here, hardened by the origin guard.
    Default,
    /// The caller's builder, hardened by the origin guard (boxed: a builder is 1 KiB).
    Builder(Box<reqwest::ClientBuilder>),
    /// The caller's client, used as it is.
    Client(reqwest::Client),
}

/// The HTTP settings of a provider's builder: deadlines, retries, the URL policy, the user
/// agent, the client, the observer, the sleeper and the body cap. A builder keeps one,
/// forwards its setters to it, checks its base URLs with [`HttpOptions::check_base_url`]
/// and turns it into a client with [`HttpOptions::client_builder`].
///
/// ```
/// use std::time::Duration;
/// use unidir_http::{HttpOptions, OriginGuard};
///
/// let options = HttpOptions::new()
///     .with_timeout(Duration::from_secs(5))
///     .with_user_agent("example-adapter/1.0");
/// let base = options.check_base_url("https://api.example.com", "REST URL")?;
/// // Cleartext only to loopback unless `allow_plain_http(true)`.
/// assert!(options.check_base_url("http://api.example.com", "REST URL").is_err());
/// let client = options
///     .client_builder("example", OriginGuard::new([&base]))?
///     .build()?;
/// assert_eq!(client.policy().max_retries, 3);
/// # Ok::<(), unidir_core::Error>(())
/// ```
pub struct HttpOptions {
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    allow_plain_http: bool,
    user_agent: String,
    transport: Transport,
    observer: Option<Arc<dyn Observer>>,
    sleeper: Option<Arc<dyn Sleeper>>,
    max_body_bytes: usize,
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = match self.transport {
            Transport::Default => "default",
            Transport::Builder(_) => "caller's reqwest builder",
            Transport::Client(_) => "caller's reqwest client",
        };
        f.debug_struct("HttpOptions")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("allow_plain_http", &self.allow_plain_http)
            .field("user_agent", &self.user_agent)
            .field("transport", &transport)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            allow_plain_http: false,
            user_agent: concat!("unidir/", env!("CARGO_PKG_VERSION")).to_owned(),
            transport: Transport::Default,
            observer: None,
            sleeper: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl HttpOptions {
    /// Defaults: 30 s per attempt, 10 s to connect, [`RetryPolicy::default`], HTTPS only
    /// (plain HTTP to loopback), user agent `unidir/<version>`, a client built here, 16 MiB
    /// bodies.
    pub fn new() -> Self {
        Self::default()
    }

    /// Deadline of one attempt: connect, send, and read the whole body.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Deadline of the TCP/TLS connect.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retry and rate-limit settings, the operation deadline included.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Allows `http://` base URLs on hosts other than loopback (a simulator on a private
    /// network). Off by default: see [`check_base_url`].
    pub fn allow_plain_http(mut self, allow: bool) -> Self {
        self.allow_plain_http = allow;
        self
    }

    /// The `User-Agent` of every request (ignored with
    /// [`HttpOptions::with_reqwest_client`], whose client sets its own).
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Starts from this reqwest builder (for proxies, root certificates or DNS overrides).
    /// The URL policy is still applied on top ([`OriginGuard::harden_reqwest`]), then the
    /// timeouts and user agent, so it cannot reintroduce redirects.
    pub fn with_reqwest_client_builder(mut self, builder: reqwest::ClientBuilder) -> Self {
        self.transport = Transport::Builder(Box::new(builder));
        self
    }

    /// Uses this reqwest client as it is: configure it like the default (no redirects, no
    /// `Referer`; [`OriginGuard::harden_reqwest`] does both). The per-attempt timeout is
    /// applied to every request either way, and every URL is still checked against the
    /// allowed origins before it is sent.
    pub fn with_reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.transport = Transport::Client(client);
        self
    }

    /// Told about every wait longer than two seconds (a rate-limit reset, a retry backoff,
    /// a slow answer).
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// What waits between attempts (tests inject one that does not sleep).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = Some(sleeper);
        self
    }

    /// Largest response body accepted, counted while streaming and after decompression.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The per-attempt deadline.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The connect deadline.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Whether plain HTTP to non-loopback hosts was allowed.
    pub fn plain_http_allowed(&self) -> bool {
        self.allow_plain_http
    }

    /// The user agent.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The response body cap.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Checks a configured base URL under the URL policy ([`check_base_url`] with
    /// [`HttpOptions::allow_plain_http`]); `what` names it in errors (e.g. "REST URL").
    pub fn check_base_url(&self, raw: &str, what: &str) -> Result<Url> {
        check_base_url(raw, what, self.allow_plain_http)
    }

    /// Validates the settings and builds the reqwest client (unless one was given), and
    /// returns an [`HttpClientBuilder`] for `provider` sending only to `origins`; the
    /// provider adds what is its own (e.g. its
    /// [`RateLimitScheme`](crate::RateLimitScheme)) and builds. No I/O.
    ///
    /// Errors (`InvalidInput`): a zero timeout or body cap, or a client reqwest cannot build.
    pub fn client_builder(
        mut self,
        provider: &'static str,
        origins: OriginGuard,
    ) -> Result<HttpClientBuilder> {
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(Error::invalid_input("timeouts must be longer than zero"));
        }
        if self.max_body_bytes == 0 {
            return Err(Error::invalid_input(
                "the response size limit must be at least 1 byte",
            ));
        }
        let client = match std::mem::replace(&mut self.transport, Transport::Default) {
            Transport::Client(client) => client,
            Transport::Default => self.build(&origins, reqwest::Client::builder())?,
            Transport::Builder(builder) => self.build(&origins, *builder)?,
        };
        let mut http = HttpClientBuilder::new(provider)
            .with_reqwest_client(client)
            .with_timeout(self.timeout)
            .with_connect_timeout(self.connect_timeout)
            .with_retry_policy(self.retry)
            .with_max_body_bytes(self.max_body_bytes)
            // The client itself refuses any URL off these origins, whatever built it.
            .with_allowed_origins(origins);
        if let Some(observer) = self.observer {
            http = http.with_observer(observer);
        }
        if let Some(sleeper) = self.sleeper {
            http = http.with_sleeper(sleeper);
        }
        Ok(http)
    }

    /// The URL policy applied last, so nothing set on `builder` can undo it.
    fn build(
        &self,
        origins: &OriginGuard,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::Client> {
        origins
            .harden_reqwest(builder)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent.as_str())
            .build()
            .map_err(|e| {
                Error::invalid_input("could not build the HTTP client").with_source(e.without_url())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(url: &str) -> OriginGuard {
        OriginGuard::new([&Url::parse(url).expect("url")])
    }

    #[test]
    fn the_url_policy_follows_the_plain_http_switch() {
        let strict = HttpOptions::new();
        assert!(
            strict
                .check_base_url("https://api.example.com", "REST URL")
                .is_ok()
        );
        assert!(
            strict
                .check_base_url("http://127.0.0.1:9", "REST URL")
                .is_ok()
        );
        let error = strict
            .check_base_url("http://sim.internal:8080", "REST URL")
            .expect_err("cleartext to a name");
        assert!(
            error.message().contains("REST URL must use https"),
            "{error}"
        );
        let open = HttpOptions::new().allow_plain_http(true);
        assert!(open.plain_http_allowed());
        assert!(
            open.check_base_url("http://sim.internal:8080", "REST URL")
                .is_ok()
        );
        assert!(
            open.check_base_url("ftp://sim.internal", "REST URL")
                .is_err()
        );
    }

    #[test]
    fn settings_reach_the_client_and_absurd_ones_are_refused() {
        let options = HttpOptions::new()
            .with_timeout(Duration::from_secs(3))
            .with_connect_timeout(Duration::from_secs(2))
            .with_retry_policy(RetryPolicy::none())
            .with_user_agent("example/2")
            .with_max_body_bytes(1024);
        assert_eq!(options.timeout(), Duration::from_secs(3));
        assert_eq!(options.connect_timeout(), Duration::from_secs(2));
        assert_eq!(options.user_agent(), "example/2");
        assert_eq!(options.max_body_bytes(), 1024);
        let client = options
            .client_builder("example", origins("https://api.example.com"))
            .expect("valid")
            .build()
            .expect("client");
        assert_eq!(client.policy().max_retries, 0);
        for bad in [
            HttpOptions::new().with_timeout(Duration::ZERO),
            HttpOptions::new().with_connect_timeout(Duration::ZERO),
            HttpOptions::new().with_max_body_bytes(0),
        ] {
            let error = bad
                .client_builder("example", origins("https://api.example.com"))
                .expect_err("refused");
            assert_eq!(error.kind(), unidir_core::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn debug_names_the_transport_without_its_contents() {
        let text = format!(
            "{:?}",
            HttpOptions::new().with_reqwest_client_builder(reqwest::Client::builder())
        );
        assert!(text.contains("caller's reqwest builder"), "{text}");
        assert!(text.contains("unidir/"), "{text}");
    }
}
