//! What the proxy hands back.

use std::fmt;

use serde_json::Value;
use unidir_core::{Error, Result};
use unidir_http::RateLimitState;
use unidir_http::link::{self, Link};

/// The upstream answer, whatever its status.
///
/// A non-2xx status is *not* an error: a 404 or 422 from the provider comes back here with
/// its body. Errors are reserved for requests the proxy refused, limits it enforced, and
/// transport failures.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    /// The provider name written into errors about this response.
    pub(crate) provider: &'static str,
    /// HTTP status, unchanged (3xx included: redirects are never followed).
    pub status: u16,
    /// Response headers, lowercase names, in upstream order, without hop-by-hop headers,
    /// `Set-Cookie`, `WWW-Authenticate`, `Proxy-Authenticate`, `Access-Control-*`,
    /// `Content-Length`, or any header whose value contains the token.
    pub headers: Vec<(String, String)>,
    /// The body, decompressed, within the size cap. Any occurrence of the token is replaced
    /// with `[REDACTED]`.
    pub body: Vec<u8>,
    /// The rate-limit state the response's headers reported.
    pub rate_limit: RateLimitState,
    /// How many attempts the call took (retries happen only for 429 and for `GET`s and
    /// GraphQL queries).
    pub attempts: u32,
    /// Lowercase names of the caller's request headers that were not forwarded.
    pub dropped_request_headers: Vec<String>,
}

impl ProxyResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` for an empty body).
    pub fn json(&self) -> Result<Value> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|_| {
            Error::contract("the response body is not valid JSON")
                .with_provider(self.provider)
                .with_operation("proxy")
                .with_status(self.status)
        })
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The parsed `Link` header(s). The URLs are the provider's, verbatim: to fetch the next
    /// page through the proxy, use [`crate::Proxy::list`] rather than following them.
    pub fn links(&self) -> Vec<Link> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "link")
            .flat_map(|(_, v)| link::parse(v))
            .collect()
    }
}

impl fmt::Debug for ProxyResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("rate_limit", &self.rate_limit)
            .field("attempts", &self.attempts)
            .field("dropped_request_headers", &self.dropped_request_headers)
            .finish()
    }
}
