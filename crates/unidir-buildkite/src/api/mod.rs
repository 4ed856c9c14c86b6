//! Requests to Buildkite and the mapping of its answers to typed errors.

mod clean;
mod errors;
mod sized;

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use unidir_core::{Error, Result};
use unidir_http::link::{self, Link};
use unidir_http::{HttpClient, RawResponse, SecretToken};
use url::Url;

use crate::PROVIDER;
pub(crate) use clean::{clean_data, typed};
pub(crate) use errors::Statuses;
pub use errors::error_for_status;
use errors::{graphql_body_error, graphql_messages, graphql_status_error};

/// A successful REST answer.
#[derive(Debug)]
pub(crate) struct Rest {
    pub(crate) body: Value,
}

/// A successful REST answer whose body is not decoded yet, so the caller can decode it
/// straight into the types it needs (no `Value` tree: see [`Api::get_bytes`]).
#[derive(Debug)]
pub(crate) struct RestBytes {
    pub(crate) body: Vec<u8>,
    pub(crate) status: u16,
    pub(crate) links: Vec<Link>,
}

impl RestBytes {
    /// The body as a `Value`, with the errors of a body that is not JSON.
    pub(crate) fn into_value(self, operation: &'static str) -> Result<Rest> {
        let body = if self.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&self.body).map_err(|_| {
                contract(
                    operation,
                    "Buildkite answered with a body that is not valid JSON",
                )
                .with_status(self.status)
            })?
        };
        Ok(Rest { body })
    }

    /// The page number `rel` points at, if the `Link` header has that relation.
    pub(crate) fn page_of(&self, rel: &str, operation: &'static str) -> Result<Option<u32>> {
        page_of(&self.links, rel, operation)
    }
}

/// The page number `rel` points at, if the `Link` header has that relation.
fn page_of(links: &[Link], rel: &str, operation: &'static str) -> Result<Option<u32>> {
    let Some(url) = link::find(links, rel) else {
        return Ok(None);
    };
    link::query_param(url, "page")
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| *p >= 1)
        .map(Some)
        .ok_or_else(|| {
            contract(
                operation,
                format!("the Link header's rel=\"{rel}\" has no valid page number"),
            )
        })
}

pub(crate) fn contract(operation: &'static str, message: impl Into<String>) -> Error {
    Error::contract(message)
        .with_provider(PROVIDER)
        .with_operation(operation)
}

pub(crate) fn invalid(operation: &'static str, message: impl Into<String>) -> Error {
    Error::invalid_input(message)
        .with_provider(PROVIDER)
        .with_operation(operation)
}

/// Buildkite UUIDs (users, teams) are hex and dashes; anything else never reaches a URL.
pub(crate) fn check_id(operation: &'static str, what: &str, id: &str) -> Result<()> {
    let ok = (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            operation,
            format!("{what} id must be a Buildkite UUID"),
        ))
    }
}

/// A user id as Buildkite writes it: a UUID (8-4-4-4-12 hexadecimal digits), lower-cased
/// (Buildkite's ids are lower-case; an upper-case copy names the same user). Anything else,
/// such as a name where an id belongs, is invalid input naming the expected form.
pub(crate) fn canonical_user_id(operation: &'static str, id: &str) -> Result<String> {
    let groups: Vec<&str> = id.split('-').collect();
    let shaped = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    if shaped {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(invalid(
            operation,
            format!(
                "user \"{}\" is neither an e-mail address nor a Buildkite user id (a UUID such as 0f3c9a4e-1b2d-4c5e-8f70-112233445566)",
                unidir_core::text::bounded(id, 64)
            ),
        ))
    }
}

/// Organization slugs: lowercase letters, digits, `-` and `_`.
pub(crate) fn check_slug(slug: &str) -> Result<()> {
    let ok = (1..=100).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "organization slug may only hold letters, digits, '-' and '_'",
        ))
    }
}

pub(crate) struct Api {
    http: HttpClient,
    /// The same client with its own cooldown: GraphQL points and REST requests are metered
    /// by independent budgets, so a wait for one never stalls the other.
    gql_http: HttpClient,
    token: SecretToken,
    rest: Url,
    graphql: Url,
    pub(crate) org: String,
    /// Optional GraphQL fields the server rejected; never asked for again (drift.rs).
    optional: crate::drift::OptionalFields,
    /// What Buildkite charges per operation, and the page sizer (calibration.rs).
    pub(crate) calibration: crate::calibration::Calibration,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("token", &self.token)
            .field("rest", &self.rest.as_str())
            .field("graphql", &self.graphql.as_str())
            .field("org", &self.org)
            .finish()
    }
}

impl Api {
    pub(crate) fn new(
        http: HttpClient,
        token: SecretToken,
        rest: Url,
        graphql: Url,
        org: String,
    ) -> Self {
        Self {
            gql_http: http.with_own_budget(),
            http,
            token,
            rest,
            graphql,
            org,
            optional: crate::drift::OptionalFields::default(),
            calibration: crate::calibration::Calibration::default(),
        }
    }

    /// Waits until the REST budget has a request left (see [`HttpClient::reserve`]).
    pub(crate) async fn reserve_rest(&self, operation: &'static str) -> Result<()> {
        self.http.reserve(operation, 1).await
    }

    /// Waits until the GraphQL budget can pay `points` (see [`HttpClient::reserve`]).
    pub(crate) async fn reserve_graphql(&self, operation: &'static str, points: u64) -> Result<()> {
        self.gql_http.reserve(operation, points).await
    }

    /// GraphQL points left in the current window, as the last response said.
    pub(crate) fn graphql_remaining(&self) -> Option<u64> {
        self.gql_http.known_remaining()
    }

    /// Tells the observer (and the log) what a read adapted to or could not read.
    pub(crate) fn report(&self, report: unidir_http::Report) {
        self.http.report(report);
    }

    /// Whether provider text contains the token (such text is never passed on).
    pub(crate) fn holds_token(&self, text: &str) -> bool {
        self.token.appears_in(text)
    }

    /// `rest_root/v2/<segments...>?<query>`, each segment percent-encoded on its own.
    ///
    /// A segment that is empty, `.` or `..` is refused: the URL would silently drop it and
    /// address another resource (`teams/../members` is `teams/members`). Ids from callers are
    /// checked before they get here, so such a segment came from Buildkite.
    pub(crate) fn rest_url(
        &self,
        operation: &'static str,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Url> {
        if segments.iter().any(|s| matches!(*s, "" | "." | "..")) {
            return Err(contract(
                operation,
                "an id from Buildkite is empty or a dot segment, so it cannot name a resource",
            ));
        }
        let mut url = self.rest.clone();
        url.path_segments_mut()
            .map_err(|_| Error::invalid_input("the REST URL cannot take a path"))?
            .pop_if_empty()
            .push("v2")
            .extend(segments);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// `GET /v2/...` that must answer 2xx with JSON.
    pub(crate) async fn get(
        &self,
        operation: &'static str,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Rest> {
        self.get_bytes(operation, segments, query)
            .await?
            .into_value(operation)
    }

    /// [`Self::get`] without decoding the body.
    pub(crate) async fn get_bytes(
        &self,
        operation: &'static str,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<RestBytes> {
        let url = self.rest_url(operation, segments, query)?;
        let response = self
            .http
            .execute(operation, true, || {
                self.http
                    .reqwest()
                    .get(url.clone())
                    .header(reqwest::header::AUTHORIZATION, self.token.bearer_header())
                    .header(reqwest::header::ACCEPT, "application/json")
            })
            .await?;
        self.rest_bytes(operation, response)
    }

    /// A REST write (`POST`/`PATCH`/`DELETE`). Never replayed after an ambiguous failure:
    /// the caller reads the state back instead.
    pub(crate) async fn write(
        &self,
        operation: &'static str,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<Value>,
    ) -> Result<RawResponse> {
        let url = self.rest_url(operation, segments, &[])?;
        self.http
            .execute(operation, false, || {
                let mut request = self
                    .http
                    .reqwest()
                    .request(method.clone(), url.clone())
                    .header(reqwest::header::AUTHORIZATION, self.token.bearer_header())
                    .header(reqwest::header::ACCEPT, "application/json");
                if let Some(body) = &body {
                    request = request.json(body);
                }
                request
            })
            .await
    }

    pub(crate) fn rest_bytes(
        &self,
        operation: &'static str,
        response: RawResponse,
    ) -> Result<RestBytes> {
        if !response.is_success() {
            return Err(self.rest_error(operation, &response));
        }
        let links = response
            .headers
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(link::parse)
            .collect::<Vec<_>>();
        if links.len() > link::MAX_LINKS {
            return Err(
                contract(operation, link::too_many(links.len())).with_status(response.status)
            );
        }
        Ok(RestBytes {
            body: response.body,
            status: response.status,
            links,
        })
    }

    /// Runs a GraphQL operation and returns its `data`, decoded straight from the body into
    /// `T`. Any `errors` entry is a typed error: partial data is never passed off as complete.
    /// Page sizes in `variables` are the adapter's own: the sizer may shrink them (see
    /// [`Api::graphql_sized`]).
    pub(crate) async fn graphql<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        document: &str,
        operation_name: &str,
        variables: Value,
    ) -> Result<T> {
        self.graphql_sized(operation, document, operation_name, variables, false)
            .await
    }

    /// One GraphQL request as sent (one attempt of [`Api::graphql_sized`]).
    async fn send_graphql(
        &self,
        operation: &'static str,
        sent: &str,
        operation_name: &str,
        variables: &Value,
    ) -> Result<RawResponse> {
        let body =
            json!({ "query": sent, "operationName": operation_name, "variables": variables });
        let url = self.graphql.clone();
        // GraphQL reads are idempotent (all operations here are queries).
        self.gql_http
            .execute(operation, true, || {
                self.gql_http
                    .reqwest()
                    .post(url.clone())
                    .header(reqwest::header::AUTHORIZATION, self.token.bearer_header())
                    // The server's requested and actual complexity come back in headers.
                    .header("Buildkite-Include-Query-Stats", "true")
                    .json(&body)
            })
            .await
    }

    /// The answer's `data`, or its typed error; `Ok(None)`: ask again (an optional field
    /// this server's schema lacks was dropped).
    fn graphql_answer<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        sent: &str,
        response: &RawResponse,
    ) -> Result<Option<T>> {
        if response.is_success()
            && let Some(data) = clean_data(&response.body)
        {
            return Ok(Some(data));
        }
        let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
        let messages = graphql_messages(parsed.as_ref(), Some(&self.token));
        if !response.is_success() {
            return Err(graphql_status_error(
                operation,
                response,
                &messages,
                &self.token,
            ));
        }
        let mut parsed = parsed.ok_or_else(|| {
            contract(
                operation,
                "Buildkite GraphQL answered with a body that is not valid JSON",
            )
            .with_status(response.status)
        })?;
        if !messages.is_empty() {
            if self.optional.retry_without(sent, &parsed) {
                return Ok(None);
            }
            return Err(graphql_body_error(operation, &messages));
        }
        match parsed.get_mut("data").map(Value::take) {
            Some(data) if !data.is_null() => {
                crate::map::decode(operation, "GraphQL data", &data).map(Some)
            }
            _ => Err(contract(
                operation,
                "Buildkite GraphQL answered without data or errors",
            )),
        }
    }
}
