//! The token never leaves the CLI in anything it prints or writes.
//!
//! Upstream text reaches stdout, stderr and export files in many ways: names in tables,
//! `--remote-data`, a proxied body the CLI decodes and pretty-prints (turning a JSON-escaped
//! token back into a raw one), error messages. Rather than scrub each path, every byte the
//! CLI writes passes one guard that removes the connection's token in every form
//! (`SecretToken::redact`): stdout and export files through a redacting writer, stderr
//! lines through [`scrub`].

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::OnceLock;

use unidir_http::{RedactingWriter, SecretToken};

static TOKEN: OnceLock<SecretToken> = OnceLock::new();

/// From now on, the token is removed from everything the CLI writes. The first call wins
/// (a command uses one token).
pub(crate) fn protect(token: &str) {
    if let Ok(token) = SecretToken::new(token) {
        let _ = TOKEN.set(token);
    }
}

/// `text` without the token.
pub(crate) fn scrub(text: &str) -> Cow<'_, str> {
    match TOKEN.get() {
        Some(token) if token.appears_in(text) => Cow::Owned(token.redact(text)),
        _ => Cow::Borrowed(text),
    }
}

/// A writer that removes the token (when one is protected) from what passes through it.
pub(crate) enum Guarded<W: Write> {
    Plain(W),
    Redacting(RedactingWriter<W>),
}

impl<W: Write> std::fmt::Debug for Guarded<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plain(_) => "Guarded::Plain",
            Self::Redacting(_) => "Guarded::Redacting",
        })
    }
}

/// `inner`, guarded.
pub(crate) fn guard<W: Write>(inner: W) -> Guarded<W> {
    match TOKEN.get() {
        Some(token) => Guarded::Redacting(token.redacting_writer(inner)),
        None => Guarded::Plain(inner),
    }
}

impl<W: Write> Guarded<W> {
    /// Writes out anything held back and returns the inner writer.
    pub(crate) fn into_inner(self) -> io::Result<W> {
        match self {
            Self::Plain(w) => Ok(w),
            Self::Redacting(w) => w.into_inner(),
        }
    }
}

impl<W: Write> Write for Guarded<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(w) => w.write(bytes),
            Self::Redacting(w) => w.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(w) => w.flush(),
            Self::Redacting(w) => w.flush(),
        }
    }
}
