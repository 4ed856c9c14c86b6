//! What a caller asks the proxy to send.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;
use unidir_core::Error;

use crate::validate::FORWARDED_REQUEST_HEADERS;

/// The HTTP methods the proxy forwards. Anything else (`HEAD`, `OPTIONS`, `TRACE`,
/// `CONNECT`, ...) cannot be expressed, and parsing it fails with `InvalidInput`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: the only method retried after a 5xx, a timeout or a dropped connection.
    Get,
    /// `POST`.
    Post,
    /// `PUT` (some APIs use it for actions, e.g. Buildkite's `rebuild`, which are not
    /// idempotent).
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method name, uppercase.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    /// Whether a failed attempt may be replayed. Only `GET`: a `PUT` may create something
    /// (Buildkite's `PUT .../rebuild` creates a build) and a replayed `DELETE` turns success
    /// into a 404, so writes are never retried blindly. (A 429 is retried for every method:
    /// it means "not processed".)
    pub fn is_idempotent(self) -> bool {
        self == Self::Get
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Self::Get => reqwest::Method::GET,
            Self::Post => reqwest::Method::POST,
            Self::Put => reqwest::Method::PUT,
            Self::Patch => reqwest::Method::PATCH,
            Self::Delete => reqwest::Method::DELETE,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = Error;

    /// Parses `GET`, `POST`, `PUT`, `PATCH` or `DELETE` (ASCII case-insensitive, no
    /// surrounding whitespace).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const METHODS: [Method; 5] = [
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ];
        METHODS
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                // Parsed before any provider is involved.
                crate::proxy::rejected(
                    "unidir-proxy",
                    "proxy",
                    "the method is not allowed (GET, POST, PUT, PATCH or DELETE)",
                )
            })
    }
}

/// A REST request to pass through.
///
/// `path` is relative to the API root and starts with the provider's path prefix
/// ([`crate::ProxyRules::with_path_prefix`], e.g. `/v2/`); the query goes in `query` (never
/// in `path`); `headers` are filtered (see [`crate::FORWARDED_REQUEST_HEADERS`]).
/// Its `Debug` output shows only forwarded header values and the body's length.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyRequest {
    /// The method.
    pub method: Method,
    /// Path relative to the API root, e.g. `/v2/organizations/acme/pipelines`.
    pub path: String,
    /// Query parameters, decoded; they are percent-encoded when the URL is built.
    pub query: Vec<(String, String)>,
    /// Caller headers; only the allow-listed ones go upstream.
    pub headers: Vec<(String, String)>,
    /// Request body; `Content-Type` defaults to `application/json`.
    pub body: Option<Vec<u8>>,
}

impl ProxyRequest {
    /// A request with no query, headers or body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::Get, path)
    }

    /// `POST path`.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::Post, path)
    }

    /// `PUT path`.
    pub fn put(path: impl Into<String>) -> Self {
        Self::new(Method::Put, path)
    }

    /// `PATCH path`.
    pub fn patch(path: impl Into<String>) -> Self {
        Self::new(Method::Patch, path)
    }

    /// `DELETE path`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::Delete, path)
    }

    /// Adds a query parameter.
    pub fn with_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds a header (dropped unless it is on the allow-list).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the raw body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets a JSON body.
    pub fn with_json(self, body: &Value) -> Self {
        self.with_body(body.to_string())
    }
}

/// Header values are shown only for the headers forwarded for every provider; anything else
/// (a caller's own `Authorization`, `Cookie`, a provider-specific header, ...) is printed as
/// `[REDACTED]`.
fn debug_headers(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = FORWARDED_REQUEST_HEADERS
                .iter()
                .any(|f| f.eq_ignore_ascii_case(name.trim()));
            (
                name.as_str(),
                if shown { value.as_str() } else { "[REDACTED]" },
            )
        })
        .collect()
}

/// Query values are shown, except those of credential-like names.
fn debug_query(query: &[(String, String)]) -> Vec<(&str, &str)> {
    query
        .iter()
        .map(|(name, value)| {
            let base = name.split('[').next().unwrap_or(name).trim();
            let hidden = crate::validate::FORBIDDEN_QUERY_NAMES
                .iter()
                .any(|f| f.eq_ignore_ascii_case(base));
            (
                name.as_str(),
                if hidden { "[REDACTED]" } else { value.as_str() },
            )
        })
        .collect()
}

impl fmt::Debug for ProxyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &debug_query(&self.query))
            .field("headers", &debug_headers(&self.headers))
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .finish()
    }
}

/// A GraphQL request: `POST {"query", "variables", "operationName"}` to the configured
/// GraphQL endpoint. Retried only when the document holds no `mutation` or `subscription`.
#[derive(Clone, PartialEq)]
pub struct GraphqlRequest {
    /// The GraphQL document.
    pub query: String,
    /// Variables: a JSON object, or `None`.
    pub variables: Option<Value>,
    /// Which operation of the document to run.
    pub operation_name: Option<String>,
    /// Caller headers; only the allow-listed ones go upstream (`Content-Type` is always
    /// `application/json`).
    pub headers: Vec<(String, String)>,
}

impl GraphqlRequest {
    /// A request for `query` with no variables.
    pub fn new(query: impl Into<String>) -> Self {
        Self {
            query: query.into(),
            variables: None,
            operation_name: None,
            headers: Vec::new(),
        }
    }

    /// Sets the variables (a JSON object).
    pub fn with_variables(mut self, variables: Value) -> Self {
        self.variables = Some(variables);
        self
    }

    /// Sets the operation name.
    pub fn with_operation_name(mut self, name: impl Into<String>) -> Self {
        self.operation_name = Some(name.into());
        self
    }

    /// Adds a header (dropped unless it is on the allow-list, which the provider's rules
    /// may extend, e.g. with Buildkite's `Buildkite-Include-Query-Stats`).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl fmt::Debug for GraphqlRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphqlRequest")
            .field("query_len", &self.query.len())
            .field("has_variables", &self.variables.is_some())
            .field("operation_name", &self.operation_name)
            .field("headers", &debug_headers(&self.headers))
            .finish()
    }
}
