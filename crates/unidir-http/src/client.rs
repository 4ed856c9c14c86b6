//! The request loop: deadline, bounded retries, shared rate-limit cooldown, capped bodies.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderMap;
use tracing::{debug, warn};
use unidir_core::{Error, ErrorKind, Result};

use crate::observe::{NOTICE_AFTER, Notice, Observer, Report, WaitReason};
use crate::origin::OriginGuard;
use crate::ratelimit::{IetfDraft, MAX_WAIT, RateLimitScheme, RateLimitState};
use crate::retry::{Backoff, RetryPolicy, Sleeper, TokioSleeper};

/// Default cap on a response body (after decompression).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A response whose status the caller still has to interpret.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body (already decompressed, within the size cap).
    pub body: Vec<u8>,
    /// The rate-limit state the response reported.
    pub rate_limit: RateLimitState,
    /// How many attempts the call took.
    pub attempts: u32,
}

impl RawResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// How long a 429 asked the caller to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        self.rate_limit.wait_after_429()
    }
}

/// Builder for [`HttpClient`]; does no I/O.
#[derive(Debug)]
pub struct HttpClientBuilder {
    provider: &'static str,
    client: Option<reqwest::Client>,
    timeout: Duration,
    connect_timeout: Duration,
    policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    max_body_bytes: usize,
    origins: Option<OriginGuard>,
    observer: Option<Arc<dyn Observer>>,
    rate_limits: Arc<dyn RateLimitScheme>,
}

impl HttpClientBuilder {
    /// Defaults: 30 s per attempt, 10 s to connect, [`RetryPolicy::default`], 16 MiB bodies.
    pub fn new(provider: &'static str) -> Self {
        Self {
            provider,
            client: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            policy: RetryPolicy::default(),
            sleeper: Arc::new(TokioSleeper),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            origins: None,
            observer: None,
            rate_limits: Arc::new(IetfDraft::new()),
        }
    }

    /// How the provider reports its rate limits (default [`IetfDraft`]: the draft's
    /// `RateLimit-*` names, reset in seconds). What it reads paces every request.
    pub fn with_rate_limit_scheme(mut self, scheme: Arc<dyn RateLimitScheme>) -> Self {
        self.rate_limits = scheme;
        self
    }

    /// The only origins requests may go to (see [`OriginGuard`]). Every request's URL is
    /// checked just before it is sent; one elsewhere fails with `InvalidInput` and nothing
    /// is sent. Without it, any URL the caller builds is sent.
    pub fn with_allowed_origins(mut self, origins: OriginGuard) -> Self {
        self.origins = Some(origins);
        self
    }

    /// Told about every wait longer than two seconds (rate-limit reset, retry backoff, a
    /// slow answer), e.g. to tell a person at a terminal what is happening.
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Uses this reqwest client instead of building one (the escape hatch for proxies, root
    /// certificates or DNS overrides). Configure it like the default: no redirects
    /// (`Policy::none()`), no `Referer` ([`OriginGuard::harden_reqwest`] does both). The
    /// per-attempt timeout set here is applied to every request either way.
    pub fn with_reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Deadline of one attempt (connect, send, and read the whole body).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Deadline of the TCP/TLS connect.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retry and rate-limit behaviour.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// What waits between attempts (tests inject a recording sleeper).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Largest response body accepted, counted after decompression.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<HttpClient> {
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout)
                .user_agent(concat!("unidir/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| {
                    Error::new(ErrorKind::InvalidInput, "could not build the HTTP client")
                        .with_provider(self.provider)
                        .with_source(e.without_url())
                })?,
        };
        Ok(HttpClient {
            inner: Arc::new(Inner {
                provider: self.provider,
                client,
                backoff: Backoff::new(self.policy.jitter_seed),
                policy: self.policy,
                timeout: self.timeout,
                sleeper: self.sleeper,
                max_body_bytes: self.max_body_bytes,
                origins: self.origins,
                observer: self.observer,
                rate_limits: self.rate_limits,
                cooldown_until: Mutex::new(None),
                advised_until: Mutex::new(None),
                budget: Mutex::new(None),
            }),
        })
    }
}

/// Sends requests with retries and rate-limit discipline. Cheap to clone; clones share the
/// rate-limit cooldown, so every request of one connection respects one budget.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    provider: &'static str,
    client: reqwest::Client,
    policy: RetryPolicy,
    /// Applied to every request too, so an injected client cannot run without a deadline.
    timeout: Duration,
    backoff: Backoff,
    sleeper: Arc<dyn Sleeper>,
    max_body_bytes: usize,
    origins: Option<OriginGuard>,
    observer: Option<Arc<dyn Observer>>,
    rate_limits: Arc<dyn RateLimitScheme>,
    /// Set by a 429: the provider refused a request, so none is sent before this.
    cooldown_until: Mutex<Option<Instant>>,
    /// Set by budget headers on an answered request (or a known shortfall): advice to pace
    /// by, waited out when short enough, never a reason to refuse a request (the provider
    /// answered; only a 429 is an order).
    advised_until: Mutex<Option<Instant>>,
    /// What the last response said is left of the budget, and when it refills.
    budget: Mutex<Option<KnownBudget>>,
}

/// The smaller of the organization and user budgets, as last reported.
#[derive(Debug, Clone, Copy)]
struct KnownBudget {
    remaining: u64,
    resets_at: Instant,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("provider", &self.inner.provider)
            .field("policy", &self.inner.policy)
            .field("max_body_bytes", &self.inner.max_body_bytes)
            .finish_non_exhaustive()
    }
}

enum Failure {
    /// The request never reached the server: always safe to retry.
    NotSent(reqwest::Error),
    /// The request may have been processed: retry only idempotent requests.
    Ambiguous(reqwest::Error),
}

impl HttpClient {
    /// A client with the same configuration and connection pool but its own rate-limit
    /// cooldown: for a provider whose APIs are metered by independent budgets (Buildkite's
    /// REST requests and GraphQL points), so waiting for one never stalls the other.
    pub fn with_own_budget(&self) -> HttpClient {
        let inner = &self.inner;
        HttpClient {
            inner: Arc::new(Inner {
                provider: inner.provider,
                client: inner.client.clone(),
                policy: inner.policy.clone(),
                timeout: inner.timeout,
                backoff: Backoff::new(inner.policy.jitter_seed),
                sleeper: Arc::clone(&inner.sleeper),
                max_body_bytes: inner.max_body_bytes,
                origins: inner.origins.clone(),
                observer: inner.observer.clone(),
                rate_limits: Arc::clone(&inner.rate_limits),
                cooldown_until: Mutex::new(None),
                advised_until: Mutex::new(None),
                budget: Mutex::new(None),
            }),
        }
    }

    /// Waits until the budget can pay for a request costing `cost` units (a GraphQL query's
    /// expected complexity; 1 for a plain request), as far as the last response said: when
    /// fewer remain, the wait lasts until the window resets. So a known shortfall is waited
    /// out instead of sent and answered with a 429. Such a shortfall is advice, not an
    /// order: a reset further away than [`RetryPolicy::max_rate_limit_wait`] is not waited
    /// for and never an error (the request goes, and the provider decides); only a 429's
    /// cooldown that is too long fails ([`ErrorKind::RateLimited`] with the wait).
    pub async fn reserve(&self, operation: &'static str, cost: u64) -> Result<()> {
        let known = *self.inner.budget.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = known
            && known.remaining < cost
            && let Some(wait) = known.resets_at.checked_duration_since(Instant::now())
        {
            self.pause_for(wait, false);
        }
        self.wait_cooldown(
            operation,
            &Deadline::new(self.inner.policy.operation_deadline),
        )
        .await
    }

    /// What the last response said is left of the budget (the smaller of the organization
    /// and user budgets), while its window lasts; `None` when unknown.
    pub fn known_remaining(&self) -> Option<u64> {
        let known = *self.inner.budget.lock().unwrap_or_else(|e| e.into_inner());
        known
            .filter(|k| k.resets_at > Instant::now())
            .map(|k| k.remaining)
    }

    /// Remembers what a response said is left of the budget.
    fn note_budget(&self, state: &RateLimitState) {
        let known = [&state.org, &state.user]
            .into_iter()
            .filter_map(|b| Some((b.remaining?, b.reset_secs?)))
            .min_by_key(|&(remaining, _)| remaining);
        let now = Instant::now();
        *self.inner.budget.lock().unwrap_or_else(|e| e.into_inner()) =
            known.map(|(remaining, reset)| KnownBudget {
                remaining,
                resets_at: now
                    .checked_add(Duration::from_secs(reset).min(MAX_WAIT))
                    .unwrap_or(now),
            });
    }

    /// The underlying reqwest client (to build requests with).
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner.client
    }

    /// The retry policy in force.
    pub fn policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    fn error(&self, kind: ErrorKind, operation: &'static str, message: impl Into<String>) -> Error {
        Error::new(kind, message)
            .with_provider(self.inner.provider)
            .with_operation(operation)
    }

    fn notify(&self, operation: &str, reason: WaitReason, duration: Duration) {
        if duration < NOTICE_AFTER {
            return;
        }
        let notice = Notice {
            operation,
            reason,
            duration,
        };
        debug!(%notice, "waiting");
        if let Some(observer) = &self.inner.observer {
            observer.notice(&notice);
        }
    }

    /// Tells the observer (and the log, at `WARN`) what a read adapted to or could not read.
    pub fn report(&self, report: Report) {
        warn!(
            operation = report.operation,
            kind = report.kind.as_str(),
            count = report.count,
            "{}",
            report.message
        );
        if let Some(observer) = &self.inner.observer {
            observer.report(&report);
        }
    }

    /// Sets a cooldown of `wait`: `ordered` by a 429, or advised by budget headers.
    fn pause_for(&self, wait: Duration, ordered: bool) {
        let wait = wait.min(MAX_WAIT);
        // Saturating: a wait is capped above, but `Instant` arithmetic must never panic.
        let now = Instant::now();
        let until = now.checked_add(wait).unwrap_or(now);
        let slot = if ordered {
            &self.inner.cooldown_until
        } else {
            &self.inner.advised_until
        };
        let mut cooldown = slot.lock().unwrap_or_else(|e| e.into_inner());
        if cooldown.is_none_or(|current| current < until) {
            *cooldown = Some(until);
        }
    }

    /// What is left of the cooldown in `slot`.
    fn left_of(slot: &Mutex<Option<Instant>>) -> Option<Duration> {
        let cooldown = slot.lock().unwrap_or_else(|e| e.into_inner());
        cooldown
            .and_then(|until| until.checked_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// Waits out a shared cooldown, or fails at once when a 429's is longer than the cap or
    /// than what is left of the call's deadline. An advised one (budget headers on an
    /// answer) that long is not waited for: the request goes, and the provider decides.
    async fn wait_cooldown(&self, operation: &'static str, deadline: &Deadline) -> Result<()> {
        let cap = self.inner.policy.max_rate_limit_wait.min(deadline.left());
        let ordered = Self::left_of(&self.inner.cooldown_until);
        if let Some(ordered) = ordered
            && ordered > cap
        {
            return Err(self
                .error(
                    ErrorKind::RateLimited,
                    operation,
                    "the provider's rate-limit budget is exhausted",
                )
                .with_retry_after(ordered));
        }
        let advised = Self::left_of(&self.inner.advised_until);
        if let Some(advised) = advised
            && advised > cap
        {
            debug!(
                operation,
                wait_s = advised.as_secs(),
                "the budget headers advise a wait longer than allowed; sending anyway"
            );
        }
        let advised = advised.filter(|d| *d <= cap);
        let Some(remaining) = ordered.max(advised) else {
            return Ok(());
        };
        self.notify(operation, WaitReason::RateLimit, remaining);
        self.inner.sleeper.sleep(remaining).await;
        // The wait is served; clear it so a fake sleeper does not make us wait twice.
        let served = Instant::now().checked_add(remaining);
        for slot in [&self.inner.cooldown_until, &self.inner.advised_until] {
            let mut cooldown = slot.lock().unwrap_or_else(|e| e.into_inner());
            if cooldown.is_some_and(|until| served.is_none_or(|s| until <= s)) {
                *cooldown = None;
            }
        }
        Ok(())
    }

    /// Builds the request and refuses it when its URL is outside the allowed origins.
    fn prepare(
        &self,
        operation: &'static str,
        builder: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<reqwest::Request> {
        let request = builder.timeout(timeout).build().map_err(|e| {
            self.error(
                ErrorKind::InvalidInput,
                operation,
                "the request could not be built",
            )
            .with_source(e.without_url())
        })?;
        if let Some(origins) = &self.inner.origins
            && !origins.allows(request.url())
        {
            return Err(self.error(
                ErrorKind::InvalidInput,
                operation,
                "refusing to send the request: its URL is outside the configured origin",
            ));
        }
        Ok(request)
    }

    /// Sends one request, telling the observer when the answer takes long; `true` when it
    /// was told (so the body is not announced again).
    async fn send(
        &self,
        operation: &'static str,
        request: reqwest::Request,
    ) -> (std::result::Result<reqwest::Response, reqwest::Error>, bool) {
        let send = self.inner.client.execute(request);
        tokio::pin!(send);
        tokio::select! {
            result = &mut send => (result, false),
            () = tokio::time::sleep(NOTICE_AFTER) => {
                self.notify(operation, WaitReason::SlowResponse, NOTICE_AFTER);
                (send.await, true)
            }
        }
    }

    /// Sends the request `build` makes (called again for each attempt) and returns the final
    /// response, whatever its status, for the caller to interpret.
    ///
    /// - 429: waits for the reported reset (shared with every later request of this client)
    ///   and retries, for any method: a 429 means the request was not processed. A wait
    ///   longer than [`RetryPolicy::max_rate_limit_wait`] is not sat out: the 429 is returned.
    /// - 5xx and 408, timeouts and broken connections: retried with jittered exponential
    ///   backoff only when `idempotent` (a write that may have happened is never replayed
    ///   blindly); connection failures before anything was sent are retried for any method.
    /// - Everything else (2xx, 3xx, 4xx) is returned at once. Redirects are not followed.
    /// - The whole call (attempts and waits) ends by [`RetryPolicy::operation_deadline`];
    ///   past it the call fails with `Upstream`, naming the deadline.
    /// - A URL outside the configured origins is refused before anything is sent.
    pub async fn execute<F>(
        &self,
        operation: &'static str,
        idempotent: bool,
        build: F,
    ) -> Result<RawResponse>
    where
        F: Fn() -> reqwest::RequestBuilder + Send + Sync,
    {
        let policy = &self.inner.policy;
        let deadline = Deadline::new(policy.operation_deadline);
        let mut attempt: u32 = 0;
        let mut slept = Duration::ZERO;
        loop {
            self.wait_cooldown(operation, &deadline).await?;
            let left = deadline.left();
            if left.is_zero() {
                return Err(self.deadline_error(operation, attempt));
            }
            let request = self.prepare(operation, build(), self.inner.timeout.min(left))?;
            let started = tokio::time::Instant::now();
            let outcome = match self.send(operation, request).await {
                (Ok(response), told) => {
                    // A body that drips or stalls is announced too, once per attempt.
                    let notice_at = (!told).then(|| started + NOTICE_AFTER);
                    self.read(operation, response, attempt + 1, notice_at).await
                }
                (Err(e), _) if e.is_connect() => Err(Failure::NotSent(e)),
                // The provider answered, with a head no HTTP parser accepts: its contract
                // violation, the same on every attempt, so not retried.
                (Err(e), _) if malformed_head(&e).is_some() => {
                    let what = malformed_head(&e).unwrap_or_default();
                    return Err(self
                        .error(ErrorKind::ContractViolation, operation, what)
                        .with_source(e.without_url()));
                }
                (Err(e), _) => Err(Failure::Ambiguous(e)),
            };
            let retry_allowed = attempt < policy.max_retries;
            match outcome {
                Ok(Ok(response)) => {
                    self.note_budget(&response.rate_limit);
                    // On an answer, budget headers are advice; a 429 is an order.
                    if let Some(wait) = response.rate_limit.wait_if_exhausted() {
                        self.pause_for(wait, response.status == 429);
                    }
                    if response.status == 429 {
                        let wait = response
                            .retry_after()
                            .unwrap_or_else(|| self.inner.backoff.delay(policy, attempt));
                        self.pause_for(wait, true);
                        if retry_allowed
                            && wait <= policy.max_rate_limit_wait
                            && wait < deadline.left()
                        {
                            warn!(
                                operation,
                                attempt,
                                wait_s = wait.as_secs(),
                                "rate limited; waiting for reset"
                            );
                            attempt += 1;
                            continue;
                        }
                        return Ok(response);
                    }
                    let transient = response.status >= 500 || response.status == 408;
                    if transient && idempotent && retry_allowed {
                        let delay = self.inner.backoff.delay(policy, attempt);
                        if slept + delay <= policy.total_budget && delay < deadline.left() {
                            warn!(
                                operation,
                                attempt,
                                status = response.status,
                                "transient failure; retrying"
                            );
                            self.notify(
                                operation,
                                WaitReason::Retry {
                                    attempt: attempt + 1,
                                },
                                delay,
                            );
                            self.inner.sleeper.sleep(delay).await;
                            slept += delay;
                            attempt += 1;
                            continue;
                        }
                    }
                    return Ok(response);
                }
                Ok(Err(limit_error)) => return Err(limit_error),
                Err(failure) => {
                    let (retryable, err) = match failure {
                        Failure::NotSent(e) => (true, e),
                        Failure::Ambiguous(e) => (idempotent, e),
                    };
                    if deadline.left().is_zero() {
                        return Err(self.deadline_error(operation, attempt + 1));
                    }
                    if retryable && retry_allowed {
                        let delay = self.inner.backoff.delay(policy, attempt);
                        if slept + delay <= policy.total_budget && delay < deadline.left() {
                            warn!(operation, attempt, "request failed; retrying");
                            self.notify(
                                operation,
                                WaitReason::Retry {
                                    attempt: attempt + 1,
                                },
                                delay,
                            );
                            self.inner.sleeper.sleep(delay).await;
                            slept += delay;
                            attempt += 1;
                            continue;
                        }
                    }
                    return Err(self.transport_error(operation, err, attempt + 1));
                }
            }
        }
    }

    fn deadline_error(&self, operation: &'static str, attempts: u32) -> Error {
        let secs = self.inner.policy.operation_deadline.as_secs_f64().ceil() as u64;
        self.error(
            ErrorKind::Upstream,
            operation,
            format!(
                "the provider did not answer within the operation deadline of {secs}s \
                 (after {attempts} attempt(s))"
            ),
        )
    }

    fn transport_error(
        &self,
        operation: &'static str,
        err: reqwest::Error,
        attempts: u32,
    ) -> Error {
        let what = if err.is_timeout() {
            "the request timed out"
        } else if err.is_connect() {
            "could not connect to the provider"
        } else if err.is_body() || err.is_decode() {
            "the response body was cut short"
        } else {
            "the request failed"
        };
        // `without_url` keeps the request URL (and any query) out of messages and logs; the
        // innermost cause (an I/O or HTTP error, which hold no URL) says why.
        let cause = root_cause(&err)
            .map(|c| format!(": {}", unidir_core::text::bounded(&c, 200)))
            .unwrap_or_default();
        self.error(
            ErrorKind::Upstream,
            operation,
            format!("{what} (after {attempts} attempt(s)){cause}"),
        )
        .with_source(err.without_url())
    }

    /// Reads the whole body under the size cap, telling the observer at `notice_at` if it is
    /// still arriving then. The outer `Result` is a transport failure (retryable), the inner
    /// one a hard limit (not retryable).
    async fn read(
        &self,
        operation: &'static str,
        mut response: reqwest::Response,
        attempts: u32,
        notice_at: Option<tokio::time::Instant>,
    ) -> std::result::Result<Result<RawResponse>, Failure> {
        let max = self.inner.max_body_bytes;
        let too_large = || {
            self.error(
                ErrorKind::ContractViolation,
                operation,
                format!("the response body exceeds the {max}-byte limit"),
            )
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let rate_limit = self.inner.rate_limits.read(&headers);
        // A declared length is a fast path; the streamed count below is what enforces it
        // (it also counts decompressed bytes).
        if response
            .content_length()
            .is_some_and(|len| len > max as u64)
        {
            return Ok(Err(too_large().with_status(status)));
        }
        let mut body = Vec::new();
        // One timer for the whole body, not one per chunk.
        let notice = tokio::time::sleep_until(notice_at.unwrap_or_else(tokio::time::Instant::now));
        tokio::pin!(notice);
        let mut announce = notice_at.is_some();
        loop {
            let chunk = if announce {
                let chunk = response.chunk();
                tokio::pin!(chunk);
                tokio::select! {
                    biased;
                    chunk = &mut chunk => chunk,
                    () = &mut notice => {
                        announce = false;
                        let so_far = notice.deadline().elapsed() + NOTICE_AFTER;
                        let received = body.len() as u64;
                        self.notify(operation, WaitReason::SlowBody { received }, so_far);
                        chunk.await
                    }
                }
            } else {
                response.chunk().await
            };
            match chunk {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > max {
                        return Ok(Err(too_large().with_status(status)));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(Failure::Ambiguous(e)),
            }
        }
        Ok(Ok(RawResponse {
            status,
            headers,
            body,
            rate_limit,
            attempts,
        }))
    }
}

/// When one call must be over, measured on the monotonic clock.
struct Deadline {
    end: Option<Instant>,
}

impl Deadline {
    fn new(total: Duration) -> Self {
        Self {
            end: Instant::now().checked_add(total),
        }
    }

    /// What is left (zero once passed; effectively unbounded if the end overflowed).
    fn left(&self) -> Duration {
        match self.end {
            Some(end) => end.saturating_duration_since(Instant::now()),
            None => Duration::MAX,
        }
    }
}

/// What is wrong with a response head hyper could not parse, if that is why `err` failed.
fn malformed_head(err: &reqwest::Error) -> Option<&'static str> {
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            if hyper.is_parse_too_large() {
                return Some(
                    "the provider's response head (status line and headers) is too large to \
                     accept, such as a Link header with thousands of entries",
                );
            }
            if hyper.is_parse() || hyper.is_parse_status() {
                return Some("the provider's response head is not valid HTTP");
            }
        }
        source = e.source();
    }
    None
}

/// The innermost error under `err` that is not `err` itself (reqwest's own message is
/// generic: "error sending request").
fn root_cause(err: &reqwest::Error) -> Option<String> {
    let mut last = None;
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        last = Some(e.to_string());
        source = e.source();
    }
    last
}
