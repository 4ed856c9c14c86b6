//! A writer that removes a secret from everything written through it.

use std::fmt;
use std::io::{self, Write};

use super::{SecretToken, forms};
use crate::untrusted::REDACTED;

/// Passes bytes on to the inner writer with every form of the token replaced by
/// `[REDACTED]`. An occurrence may arrive over several writes (a serializer writes a string
/// in pieces), so the tail that could still be the start of one is held back until more
/// bytes decide it, or until [`Write::flush`] (or drop) writes it out.
pub struct RedactingWriter<W: Write> {
    token: SecretToken,
    /// Always `Some` until [`RedactingWriter::into_inner`] takes it.
    inner: Option<W>,
    /// Bytes not passed on yet: at most the longest form of the token, between writes.
    pending: Vec<u8>,
}

impl<W: Write> fmt::Debug for RedactingWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactingWriter")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl<W: Write> RedactingWriter<W> {
    pub(super) fn new(token: SecretToken, inner: W) -> Self {
        Self {
            token,
            inner: Some(inner),
            pending: Vec::new(),
        }
    }

    /// Writes out what is held back and returns the inner writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.pass_on(true)?;
        self.inner
            .take()
            .ok_or_else(|| io::Error::other("the writer was already taken"))
    }

    /// Writes out what is decided: everything when `all`, else all but the tail where an
    /// occurrence could still begin.
    fn pass_on(&mut self, all: bool) -> io::Result<()> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(());
        };
        let secret = self.token.secret_bytes();
        let spans = forms::find_all(secret, &self.pending);
        // A match starting before `keep_from` lies wholly in `pending`, so it is already
        // found; one that could start later may still be growing.
        let mut keep_from = if all {
            self.pending.len()
        } else {
            self.pending
                .len()
                .saturating_sub(forms::max_form_len(secret.len()).saturating_sub(1))
        };
        let mut rest = 0;
        for span in spans {
            if span.start >= keep_from {
                break;
            }
            inner.write_all(&self.pending[rest..span.start])?;
            inner.write_all(REDACTED.as_bytes())?;
            rest = span.end;
            keep_from = keep_from.max(span.end);
        }
        inner.write_all(&self.pending[rest..keep_from])?;
        self.pending.drain(..keep_from);
        Ok(())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        self.pass_on(false)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.pass_on(true)?;
        match self.inner.as_mut() {
            Some(inner) => inner.flush(),
            None => Ok(()),
        }
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.pass_on(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_occurrence_split_over_writes_is_removed() {
        let token = SecretToken::new("bkua_0123abcDEF").expect("token");
        let text = "name: bk\\u0075a_0123abc%44EF, again bkua_0123abcDEF.";
        // Every way of cutting the text into two writes, and one byte a write.
        for cut in 0..=text.len() {
            let mut out = Vec::new();
            {
                let mut w = token.redacting_writer(&mut out);
                w.write_all(&text.as_bytes()[..cut]).unwrap();
                w.write_all(&text.as_bytes()[cut..]).unwrap();
                w.flush().unwrap();
            }
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "name: [REDACTED], again [REDACTED].",
                "cut at {cut}"
            );
        }
        let mut out = Vec::new();
        {
            let mut w = token.redacting_writer(&mut out);
            for b in text.as_bytes() {
                w.write_all(&[*b]).unwrap();
            }
        } // dropped without a flush: the tail is still written
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name: [REDACTED], again [REDACTED]."
        );
    }

    #[test]
    fn other_bytes_pass_unchanged() {
        let token = SecretToken::new("bkua_0123abcDEF").expect("token");
        let bytes: Vec<u8> = (0..=255u8).cycle().take(5_000).collect();
        let mut out = Vec::new();
        {
            let mut w = token.redacting_writer(&mut out);
            for chunk in bytes.chunks(7) {
                w.write_all(chunk).unwrap();
            }
            w.flush().unwrap();
        }
        assert_eq!(out, bytes);
    }
}
