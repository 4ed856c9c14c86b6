//! The proxy: validate, build the URL from configuration, inject the token, send, filter.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderValue;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Map, Value};
use tracing::{debug, warn};
use unidir_core::{Cursor, Error, Page, Result};
use unidir_http::{HttpClient, OriginGuard, RawResponse, SecretToken};
use url::Url;

use crate::config::ProxyBuilder;
use crate::graphql;
use crate::list;
use crate::request::{GraphqlRequest, Method, ProxyRequest};
use crate::response::ProxyResponse;
use crate::rules::ProxyRules;
use crate::validate::{self, FilteredHeaders};

pub(crate) const OP_REST: &str = "proxy";
pub(crate) const OP_GRAPHQL: &str = "proxy_graphql";
pub(crate) const OP_LIST: &str = "proxy_list";

/// An `InvalidInput` error for a request the proxy refused.
pub(crate) fn rejected(
    provider: &'static str,
    operation: &'static str,
    message: impl Into<String>,
) -> Error {
    Error::invalid_input(message)
        .with_provider(provider)
        .with_operation(operation)
}

/// A passthrough proxy for one provider connection (one token, optionally one
/// organization), applying that provider's [`ProxyRules`]. Cheap to clone; clones share the
/// HTTP connection pool and the rate-limit cooldown.
///
/// Every request is checked before anything is sent: the path is validated as a raw string,
/// the URL is built from the configured origin (never by joining caller input), headers are
/// filtered through an allow-list, and the token is injected by the proxy. Redirects are
/// returned, never followed.
#[derive(Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: HttpClient,
    pub(crate) token: SecretToken,
    pub(crate) rest: Url,
    pub(crate) rest_base_path: String,
    pub(crate) graphql: Option<Url>,
    pub(crate) organization: Option<String>,
    pub(crate) pin: bool,
    pub(crate) prefixes: Option<Vec<String>>,
    pub(crate) rules: ProxyRules,
    pub(crate) graphql_enabled: bool,
    pub(crate) timeout: Duration,
    pub(crate) max_request_bytes: usize,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Proxy")
            .field("provider", &i.rules.provider())
            .field("token", &i.token)
            .field("rest", &i.rest.as_str())
            .field("graphql", &i.graphql.as_ref().map(Url::as_str))
            .field("organization", &i.organization)
            .field("pin", &i.pin)
            .field("prefixes", &i.prefixes)
            .field("graphql_enabled", &i.graphql_enabled)
            .field("http", &i.http)
            .finish()
    }
}

/// A request that passed every check, ready to send.
struct Prepared {
    method: Method,
    url: Url,
    headers: FilteredHeaders,
    body: Option<Vec<u8>>,
    template: String,
}

impl Proxy {
    /// Starts a configuration for the provider `rules` describe (its crate builds them, e.g.
    /// `unidir_buildkite::proxy_rules()`).
    pub fn builder(rules: ProxyRules) -> ProxyBuilder {
        ProxyBuilder::new(rules)
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    #[cfg(test)]
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The provider rules this proxy applies.
    pub fn rules(&self) -> &ProxyRules {
        &self.inner.rules
    }

    fn provider(&self) -> &'static str {
        self.inner.rules.provider()
    }

    /// The organization this proxy is configured for, if any.
    pub fn organization(&self) -> Option<&str> {
        self.inner.organization.as_deref()
    }

    /// Whether REST paths are pinned to [`Proxy::organization`].
    pub fn is_pinned(&self) -> bool {
        self.inner.pin
    }

    /// Checks `request` exactly as [`Proxy::send`] would, without sending it.
    pub fn check(&self, request: &ProxyRequest) -> Result<()> {
        self.prepare(OP_REST, request, &[]).map(|_| ())
    }

    /// Sends a REST request and returns the upstream answer, whatever its status.
    ///
    /// Errors: `InvalidInput` when the request is refused (nothing is sent); `RateLimited`
    /// when the rate-limit wait exceeds the policy's cap; `Upstream` for timeouts and
    /// connection failures; `ContractViolation` when the body exceeds the size cap.
    pub async fn send(&self, request: ProxyRequest) -> Result<ProxyResponse> {
        let prepared = self.prepare(OP_REST, &request, &[])?;
        self.execute(OP_REST, prepared, None).await
    }

    /// Sends a GraphQL document (`POST {"query", "variables", "operationName"}`) to the
    /// configured GraphQL endpoint. The answer comes back as is, `errors` included.
    /// A document with a `mutation` (or `subscription`) is never retried after a 5xx or a
    /// timeout; a query is. Refused when no GraphQL endpoint is configured.
    pub async fn graphql(&self, request: GraphqlRequest) -> Result<ProxyResponse> {
        let reject = |message: &str| {
            let error = rejected(self.provider(), OP_GRAPHQL, message);
            warn!(
                operation = OP_GRAPHQL,
                reason = message,
                "proxy request rejected"
            );
            error
        };
        let Some(endpoint) = self
            .inner
            .graphql
            .as_ref()
            .filter(|_| self.inner.graphql_enabled)
        else {
            return Err(reject("the GraphQL passthrough is disabled for this proxy"));
        };
        if request.query.trim().is_empty() {
            return Err(reject("the GraphQL query is empty"));
        }
        if !matches!(
            request.variables,
            None | Some(Value::Null) | Some(Value::Object(_))
        ) {
            return Err(reject("GraphQL variables must be a JSON object"));
        }
        if let Some(name) = &request.operation_name {
            let valid = name.len() <= 256
                && name.chars().enumerate().all(|(i, c)| {
                    c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                })
                && !name.is_empty();
            if !valid {
                return Err(reject("the GraphQL operation name is not a valid name"));
            }
        }
        let mut headers =
            validate::filter_headers(&request.headers, self.inner.rules.forwarded_headers())
                .map_err(|m| reject(&m))?;
        headers.forward.remove(CONTENT_TYPE);
        headers
            .forward
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let mut body = Map::new();
        body.insert("query".into(), Value::String(request.query.clone()));
        if let Some(variables) = &request.variables {
            body.insert("variables".into(), variables.clone());
        }
        if let Some(name) = &request.operation_name {
            body.insert("operationName".into(), Value::String(name.clone()));
        }
        let body = Value::Object(body).to_string().into_bytes();
        if body.len() > self.inner.max_request_bytes {
            return Err(reject(
                "the GraphQL request is larger than the request size limit",
            ));
        }
        let read_only = graphql::is_read_only(&request.query);
        let prepared = Prepared {
            method: Method::Post,
            url: endpoint.clone(),
            headers,
            body: Some(body),
            template: if read_only {
                "graphql query"
            } else {
                "graphql mutation"
            }
            .to_owned(),
        };
        self.execute(OP_GRAPHQL, prepared, Some(read_only)).await
    }

    /// Reads one page of a REST list endpoint as the unified envelope
    /// (`{"result", "next_cursor", "prev_cursor", "result_count"}`).
    ///
    /// `request` must be a `GET` without a body and without `page`, `per_page`, `after` or
    /// `before` in its query: the proxy sets those from `cursor` (absent for the first page)
    /// and `limit` (`1..=100`, default 100; a cursor keeps the page size it was issued
    /// with). The cursors come from the `Link` header's `rel="next"`/`rel="prev"` page
    /// numbers (or `after`/`before` tokens on cursor-paginated endpoints); the link URLs
    /// themselves are never followed. Cursors are bound to the path and query, hold
    /// no URL, and are rejected with `InvalidCursor` on any other list.
    ///
    /// Unlike [`Proxy::send`], a non-2xx answer is an error here (there is no page to
    /// return): `NotFound`, `Unauthenticated`, `PermissionDenied`, `RateLimited`,
    /// `InvalidInput` or `Upstream`, with the status.
    pub async fn list(
        &self,
        request: ProxyRequest,
        cursor: Option<&Cursor>,
        limit: Option<u32>,
    ) -> Result<Page<Value>> {
        let provider = self.provider();
        if request.method != Method::Get || request.body.is_some() {
            return Err(rejected(
                provider,
                OP_LIST,
                "list needs a GET request without a body",
            ));
        }
        let mut prepared = self.prepare(OP_LIST, &request, list::RESERVED)?;
        let binding = list::binding(provider, &request);
        let position = list::start(provider, &binding, cursor, limit)?;
        {
            let mut pairs = prepared.url.query_pairs_mut();
            for (name, value) in position.params() {
                pairs.append_pair(name, &value);
            }
        }
        self.same_origin(OP_LIST, &prepared.url, &self.inner.rest)?;
        let response = self.execute(OP_LIST, prepared, None).await?;
        if !response.is_success() {
            return Err(list::status_error(
                self.inner.rules.status_hook(),
                &response,
            ));
        }
        list::page(provider, &binding, &position, &response)
    }

    /// Validates `request` and builds its URL. Nothing is sent.
    fn prepare(
        &self,
        operation: &'static str,
        request: &ProxyRequest,
        reserved: &[&str],
    ) -> Result<Prepared> {
        let reject = |message: &str| {
            warn!(
                operation,
                method = request.method.as_str(),
                reason = message,
                "proxy request rejected"
            );
            rejected(self.provider(), operation, message)
        };
        let rules = &self.inner.rules;
        validate::check_path(&request.path, rules.path_prefix()).map_err(|r| reject(&r))?;
        let path = request.path.as_str();
        if self.inner.pin
            && let Some(org) = &self.inner.organization
        {
            rules
                .check_pinned(path, org, request.method)
                .map_err(|r| reject(&r))?;
        }
        if let Some(prefixes) = &self.inner.prefixes
            && !prefixes.iter().any(|p| validate::under_prefix(path, p))
        {
            return Err(reject("the path is not under an allowed prefix"));
        }
        validate::check_query(&request.query, reserved).map_err(|m| reject(&m))?;
        let headers = validate::filter_headers(&request.headers, rules.forwarded_headers())
            .map_err(|m| reject(&m))?;
        if let Some(body) = &request.body {
            if request.method == Method::Get {
                return Err(reject("a GET request cannot have a body"));
            }
            if body.len() > self.inner.max_request_bytes {
                return Err(reject(
                    "the request body is larger than the request size limit",
                ));
            }
        }
        // Build from the configured origin plus the validated path: no `join`, no splicing.
        let expected = format!("{}{}", self.inner.rest_base_path, path);
        let mut url = self.inner.rest.clone();
        url.set_path(&expected);
        url.set_query(None);
        url.set_fragment(None);
        if url.path() != expected {
            return Err(reject("the path would be altered by URL parsing"));
        }
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&request.query);
        }
        self.same_origin(operation, &url, &self.inner.rest)?;
        Ok(Prepared {
            method: request.method,
            url,
            headers,
            body: request.body.clone(),
            template: rules.path_template(path),
        })
    }

    /// Checked before anything is sent (so [`Proxy::check`] agrees with [`Proxy::send`]):
    /// the final URL is on the configured REST origin, by the same [`OriginGuard`] rule the
    /// HTTP client applies again on every attempt.
    fn same_origin(&self, operation: &'static str, url: &Url, base: &Url) -> Result<()> {
        if OriginGuard::new([base]).allows(url) {
            Ok(())
        } else {
            warn!(operation, "proxy request rejected: origin mismatch");
            Err(rejected(
                self.provider(),
                operation,
                "the request would leave the configured API origin",
            ))
        }
    }

    /// Sends a prepared request through the shared client and filters the answer.
    /// `idempotent` overrides the method's own rule (GraphQL queries are POSTs that read).
    async fn execute(
        &self,
        operation: &'static str,
        prepared: Prepared,
        idempotent: Option<bool>,
    ) -> Result<ProxyResponse> {
        let Prepared {
            method,
            url,
            mut headers,
            body,
            template,
        } = prepared;
        if !headers.dropped.is_empty() {
            debug!(operation, dropped = ?headers.dropped, "request headers not forwarded");
        }
        if !headers.forward.contains_key(ACCEPT) {
            headers
                .forward
                .insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        if body.is_some() && !headers.forward.contains_key(CONTENT_TYPE) {
            headers
                .forward
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let idempotent = idempotent.unwrap_or(method.is_idempotent());
        let started = Instant::now();
        debug!(operation, method = method.as_str(), path = %template, "proxy request");
        let inner = &self.inner;
        let result = inner
            .http
            .execute(operation, idempotent, || {
                let mut builder = inner
                    .http
                    .reqwest()
                    .request(method.to_reqwest(), url.clone())
                    .timeout(inner.timeout)
                    .headers(headers.forward.clone())
                    .header(AUTHORIZATION, inner.token.bearer_header());
                if let Some(body) = &body {
                    builder = builder.body(body.clone());
                }
                builder
            })
            .await;
        let raw = match result {
            Ok(raw) => raw,
            Err(error) => {
                warn!(
                    operation,
                    method = method.as_str(),
                    path = %template,
                    kind = %error.kind(),
                    "proxy request failed"
                );
                return Err(error);
            }
        };
        let response = self.filter(raw, headers.dropped);
        debug!(
            operation,
            method = method.as_str(),
            path = %template,
            status = response.status,
            attempts = response.attempts,
            bytes = response.body.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "proxy response"
        );
        Ok(response)
    }

    /// Drops unsafe headers and removes the token from what goes back to the caller. The body
    /// stays byte-exact apart from the token (it is data, not text for a terminal); error
    /// messages built from it go through `unidir_http::upstream_text`.
    fn filter(&self, raw: RawResponse, dropped: Vec<String>) -> ProxyResponse {
        let headers = validate::filter_response_headers(&raw.headers, &self.inner.token);
        let (body, scrubbed) = self.inner.token.redact_bytes(raw.body);
        if scrubbed {
            warn!("the upstream response contained the token; it was redacted");
        }
        ProxyResponse {
            provider: self.provider(),
            status: raw.status,
            headers,
            body,
            rate_limit: raw.rate_limit,
            attempts: raw.attempts,
            dropped_request_headers: dropped,
        }
    }
}
