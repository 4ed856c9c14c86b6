//! Test helpers for adapter and proxy authors (cargo feature `testing`; use it from
//! `[dev-dependencies]` only).
//!
//! - [`RecordingSleeper`]: a [`Sleeper`] that records each wait and returns at once, so
//!   backoff and rate-limit pacing are asserted without sleeping.
//! - [`RecordingObserver`]: an [`Observer`] that keeps every wait notice.
//! - [`LogCapture`] and [`Outputs`]: the token canary. Capture every log line, keep
//!   everything a caller could print (results, errors with their bodies and sources), then
//!   assert a secret appears in none of it.
//! - [`hostile`]: a raw HTTP/1.1 server on 127.0.0.1 that can misbehave in ways a mock
//!   server cannot (hang, truncate, stream forever, send header values verbatim).

use std::fmt::Debug;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use unidir_core::Error;

use crate::observe::{Notice, Observer, Report, WaitReason};
use crate::retry::Sleeper;

pub mod hostile;
pub mod token_forms;

/// Locks, carrying on past a panicked holder (a failed assertion elsewhere in the test).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A [`Sleeper`] that records the delays it is asked for and returns at once. Clones share
/// the record, so keep one and give the builder another.
#[derive(Debug, Default, Clone)]
pub struct RecordingSleeper(Arc<Mutex<Vec<Duration>>>);

impl RecordingSleeper {
    /// Every delay asked for, in order.
    pub fn delays(&self) -> Vec<Duration> {
        lock(&self.0).clone()
    }

    /// The longest delay asked for (zero when none was).
    pub fn longest(&self) -> Duration {
        self.delays().into_iter().max().unwrap_or_default()
    }
}

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, duration: Duration) {
        lock(&self.0).push(duration);
    }
}

/// One wait notice, as a [`RecordingObserver`] kept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedNotice {
    /// The operation that waited.
    pub operation: String,
    /// Why it waited.
    pub reason: WaitReason,
    /// How long.
    pub duration: Duration,
    /// The notice as a person would read it.
    pub text: String,
}

/// An [`Observer`] that keeps every notice and every report. Clones share the record.
#[derive(Debug, Default, Clone)]
pub struct RecordingObserver(Arc<Mutex<Vec<RecordedNotice>>>, Arc<Mutex<Vec<Report>>>);

impl RecordingObserver {
    /// Every notice so far, in order.
    pub fn notices(&self) -> Vec<RecordedNotice> {
        lock(&self.0).clone()
    }

    /// Every report so far, in order.
    pub fn reports(&self) -> Vec<Report> {
        lock(&self.1).clone()
    }
}

impl Observer for RecordingObserver {
    fn report(&self, report: &Report) {
        lock(&self.1).push(report.clone());
    }

    fn notice(&self, notice: &Notice<'_>) {
        lock(&self.0).push(RecordedNotice {
            operation: notice.operation.to_owned(),
            reason: notice.reason,
            duration: notice.duration,
            text: notice.to_string(),
        });
    }
}

/// A log writer into a shared buffer.
#[derive(Debug, Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Captures every `tracing` event (TRACE and up) on this thread while it lives: the
/// subscriber of a `#[tokio::test]`'s single-threaded runtime.
#[derive(Debug)]
pub struct LogCapture {
    buffer: Buffer,
    _guard: tracing::subscriber::DefaultGuard,
}

impl LogCapture {
    /// Starts capturing.
    pub fn start() -> Self {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        Self {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.buffer.0)).into_owned()
    }

    /// Panics when the logs contain `secret`.
    pub fn assert_free_of(&self, secret: &str) {
        let logs = self.text();
        assert!(
            !logs.contains(secret),
            "the logs leak a secret: {}",
            excerpt(&logs, 4_000)
        );
    }
}

/// Everything a test produced that a person or a log pipeline could see, to search for a
/// secret (the token canary).
#[derive(Debug, Default, Clone)]
pub struct Outputs(Vec<String>);

impl Outputs {
    /// Keeps `what`.
    pub fn push(&mut self, what: impl Into<String>) {
        self.0.push(what.into());
    }

    /// Keeps a result: a value's `Debug`, or all of [`Outputs::error`].
    pub fn result<T: Debug>(&mut self, result: &Result<T, Error>) {
        match result {
            Ok(value) => self.push(format!("{value:?}")),
            Err(error) => self.error(error),
        }
    }

    /// Keeps an error's `Display` and `Debug`, its [`Error::to_body`] (`Debug` and JSON),
    /// and each source's `Display` and `Debug`.
    pub fn error(&mut self, error: &Error) {
        self.push(error.to_string());
        self.push(format!("{error:?}"));
        let body = error.to_body();
        self.push(format!("{body:?}"));
        self.push(serde_json::to_string(&body).unwrap_or_default());
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            self.push(cause.to_string());
            self.push(format!("{cause:?}"));
            source = cause.source();
        }
    }

    /// Whether nothing was kept (a canary check over nothing proves nothing).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What was kept, in order.
    pub fn texts(&self) -> &[String] {
        &self.0
    }

    /// Panics when any output contains `secret`, naming the output.
    pub fn assert_free_of(&self, secret: &str) {
        for (i, text) in self.0.iter().enumerate() {
            assert!(
                !text.contains(secret),
                "output #{i} leaks a secret: {}",
                excerpt(text, 2_000)
            );
        }
    }
}

/// The first `max` characters of `text`, for a failure message.
fn excerpt(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;

    use unidir_core::ErrorKind;

    use super::*;

    #[tokio::test]
    async fn the_sleeper_records_and_returns() {
        let sleeper = RecordingSleeper::default();
        let shared: Arc<dyn Sleeper> = Arc::new(sleeper.clone());
        shared.sleep(Duration::from_secs(3600)).await;
        shared.sleep(Duration::from_millis(5)).await;
        assert_eq!(
            sleeper.delays(),
            [Duration::from_secs(3600), Duration::from_millis(5)]
        );
        assert_eq!(sleeper.longest(), Duration::from_secs(3600));
        assert_eq!(RecordingSleeper::default().longest(), Duration::ZERO);
    }

    #[test]
    fn the_canary_finds_a_secret_in_an_error_source_and_in_the_logs() {
        let logs = LogCapture::start();
        tracing::trace!(token = "s3cret", "a careless line");
        assert!(logs.text().contains("a careless line"));
        let leak = std::panic::catch_unwind(AssertUnwindSafe(|| logs.assert_free_of("s3cret")));
        assert!(leak.is_err(), "the logged secret is found");
        logs.assert_free_of("other");

        let cause = io::Error::other("upstream said s3cret");
        let error = Error::new(ErrorKind::Upstream, "failed").with_source(cause);
        let mut out = Outputs::default();
        assert!(out.is_empty());
        out.result(&Err::<(), _>(error));
        out.result(&Ok::<_, Error>("fine"));
        assert!(out.texts().iter().any(|t| t.contains("fine")));
        let leak = std::panic::catch_unwind(AssertUnwindSafe(|| out.assert_free_of("s3cret")));
        assert!(leak.is_err(), "the secret in a source is found");
        out.assert_free_of("other");
    }
}
