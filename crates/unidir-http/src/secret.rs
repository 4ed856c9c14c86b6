//! The API token as a type that cannot leak through `Debug`, `Display` or serialisation,
//! and the one way to find it in text that came back (every form, see [`forms`]).

mod forms;
mod writer;

use std::fmt;

use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use unidir_core::{Error, Result};

/// A bearer token. `Debug` prints `SecretToken([REDACTED])`; there is no `Display` and no
/// `Serialize`. The only way out is [`SecretToken::bearer_header`], which marks the header
/// value sensitive so `http`'s own `Debug` hides it too.
#[derive(Clone)]
pub struct SecretToken(SecretString);

impl SecretToken {
    /// Wraps a token. Fails on an empty token or one with whitespace or control characters
    /// (which would corrupt the header), without echoing the token in the error.
    pub fn new(token: impl Into<String>) -> Result<Self> {
        let token: String = token.into();
        if token.is_empty() {
            return Err(Error::invalid_input("the API token is empty"));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) || !token.is_ascii() {
            return Err(Error::invalid_input(
                "the API token contains whitespace, control or non-ASCII characters",
            ));
        }
        Ok(Self(SecretString::from(token)))
    }

    /// `Authorization: Bearer <token>` as a sensitive header value.
    pub fn bearer_header(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0.expose_secret()))
            // `new` only admits visible ASCII, which is always a valid header value.
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
        value.set_sensitive(true);
        value
    }

    /// Whether `text` contains the token in any form [`SecretToken::redact`] removes.
    pub fn appears_in(&self, text: &str) -> bool {
        !forms::find_all(self.0.expose_secret().as_bytes(), text.as_bytes()).is_empty()
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken([REDACTED])")
    }
}

impl SecretToken {
    /// `text` with every occurrence of the token replaced by `[REDACTED]`, whatever form it
    /// takes: raw, percent-encoded in either hex case (fully or in part), JSON-escaped
    /// (`\u005f`, `\"`, `\\`, `\/`), or broken across lines between two of its characters.
    pub fn redact(&self, text: &str) -> String {
        let spans = forms::find_all(self.0.expose_secret().as_bytes(), text.as_bytes());
        let mut out = String::with_capacity(text.len());
        let mut rest = 0;
        for span in spans {
            // Spans are ASCII, so their ends are character boundaries.
            out.push_str(&text[rest..span.start]);
            out.push_str(crate::untrusted::REDACTED);
            rest = span.end;
        }
        out.push_str(&text[rest..]);
        out
    }

    /// [`SecretToken::appears_in`] for bytes that need not be UTF-8.
    pub fn appears_in_bytes(&self, bytes: &[u8]) -> bool {
        !forms::find_all(self.secret_bytes(), bytes).is_empty()
    }

    /// [`SecretToken::redact`] for bytes that need not be UTF-8 (every other byte is kept),
    /// and whether anything was removed.
    pub fn redact_bytes(&self, bytes: Vec<u8>) -> (Vec<u8>, bool) {
        let spans = forms::find_all(self.0.expose_secret().as_bytes(), &bytes);
        if spans.is_empty() {
            return (bytes, false);
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut rest = 0;
        for span in spans {
            out.extend_from_slice(&bytes[rest..span.start]);
            out.extend_from_slice(crate::untrusted::REDACTED.as_bytes());
            rest = span.end;
        }
        out.extend_from_slice(&bytes[rest..]);
        (out, true)
    }

    /// A writer that passes everything on to `inner` with the token removed, in every form,
    /// even when one occurrence arrives over several writes (see [`RedactingWriter`]).
    pub fn redacting_writer<W: std::io::Write>(&self, inner: W) -> RedactingWriter<W> {
        RedactingWriter::new(self.clone(), inner)
    }

    fn secret_bytes(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

pub use writer::RedactingWriter;
