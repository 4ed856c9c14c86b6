//! The API token as a type that cannot leak through `Debug`, `Display` or serialisation.

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

    /// Whether `text` contains the token (used to scrub text that came back from upstream).
    pub fn appears_in(&self, text: &str) -> bool {
        text.contains(self.0.expose_secret())
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken([REDACTED])")
    }
}

impl SecretToken {
    /// `text` with every occurrence of the token (raw or percent-encoded) replaced by
    /// `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        let secret = self.0.expose_secret();
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let mut out = text.replace(secret, crate::untrusted::REDACTED);
        if encoded != secret {
            out = out.replace(&encoded, crate::untrusted::REDACTED);
        }
        out
    }
}
