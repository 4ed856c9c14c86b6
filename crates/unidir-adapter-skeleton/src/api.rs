//! Requests to the toy API and the mapping of its failures to typed errors.

use std::fmt;

use reqwest::header::{ACCEPT, AUTHORIZATION};
use serde_json::Value;
use unidir_core::{Error, Result};
use unidir_http::status::{self, StatusHook};
use unidir_http::{HttpClient, SecretToken, upstream_text};
use url::Url;

use crate::PROVIDER;

/// Sets the provider and operation on an error raised here (every error an adapter returns
/// names both; the conformance suite checks it).
pub(crate) fn tag(operation: &'static str) -> impl Fn(Error) -> Error {
    move |e| e.with_provider(PROVIDER).with_operation(operation)
}

/// The provider broke its own contract (a body that is not JSON, a page that skips ahead).
pub(crate) fn contract(operation: &'static str, message: impl Into<String>) -> Error {
    tag(operation)(Error::contract(message))
}

/// Toy ids are short runs of letters, digits, `-` and `_`. Anything else is refused before a
/// URL is built, and the refusal does not echo it: caller text never reaches a path, a log
/// line or a message unchecked.
pub(crate) fn check_id(operation: &'static str, what: &str, id: &str) -> Result<()> {
    let plain = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        Ok(())
    } else {
        Err(tag(operation)(Error::invalid_input(format!(
            "a toy {what} id is 1 to 64 letters, digits, '-' or '_'"
        ))))
    }
}

/// What only the toy knows about its error answers: the message is in `{"error": "..."}`.
/// The status → error-kind table itself is shared ([`unidir_http::status`]).
#[derive(Debug)]
struct ToyStatuses;

impl StatusHook for ToyStatuses {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn display_name(&self) -> &str {
        "The toy API"
    }

    fn message(&self, body: &[u8], token: Option<&SecretToken>) -> Option<String> {
        let value: Value = serde_json::from_slice(body).ok()?;
        // Provider text is untrusted: scrubbed of the token, escaped and bounded.
        value
            .get("error")?
            .as_str()
            .map(|m| upstream_text(m, token))
    }
}

pub(crate) struct Api {
    http: HttpClient,
    token: SecretToken,
    base: Url,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("token", &self.token)
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Api {
    pub(crate) fn new(http: HttpClient, token: SecretToken, base: Url) -> Self {
        Self { http, token, base }
    }

    /// `base/api/<segments...>?<query>`, each segment percent-encoded on its own.
    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| Error::invalid_input("the toy API URL cannot take a path"))?
            .pop_if_empty()
            .push("api")
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// `GET /api/...`, which must answer 2xx with JSON. Reads are idempotent, so the client
    /// may retry them (5xx, timeouts) and waits out rate limits.
    pub(crate) async fn get(
        &self,
        operation: &'static str,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Value> {
        let url = self.url(segments, query).map_err(tag(operation))?;
        let response = self
            .http
            .execute(operation, true, || {
                self.http
                    .reqwest()
                    .get(url.clone())
                    .header(AUTHORIZATION, self.token.bearer_header())
                    .header(ACCEPT, "application/json")
            })
            .await?;
        if !response.is_success() {
            return Err(status::error_for_response(
                &ToyStatuses,
                operation,
                &response,
                Some(&self.token),
            ));
        }
        serde_json::from_slice(&response.body).map_err(|_| {
            contract(
                operation,
                "the toy API answered with a body that is not JSON",
            )
            .with_status(response.status)
        })
    }
}

#[cfg(test)]
mod tests {
    use unidir_core::ErrorKind;

    use super::*;

    #[test]
    fn ids_that_could_bend_a_url_are_refused_without_echo() {
        for id in ["u_1", "grp-2", "00000000-0000-4000-8000-000000000000"] {
            check_id("get_user", "user", id).expect(id);
        }
        let long = "a".repeat(65);
        for id in ["", "../org", "a/b", "a?b", "a b", "ü", long.as_str()] {
            let e = check_id("get_user", "user", id).expect_err(id);
            assert_eq!(
                (e.kind(), e.provider(), e.operation()),
                (ErrorKind::InvalidInput, PROVIDER, "get_user")
            );
            assert!(id.is_empty() || !e.message().contains(id), "{e}");
        }
    }

    #[test]
    fn error_bodies_are_read_scrubbed() {
        let token = SecretToken::new("toy_s3cret").expect("valid");
        let body = br#"{"error": "token toy_s3cret is \u001b[31mrevoked"}"#;
        let message = ToyStatuses.message(body, Some(&token)).expect("a message");
        assert!(!message.contains("toy_s3cret"), "{message}");
        assert!(!message.contains('\u{1b}'), "{message}");
        assert_eq!(ToyStatuses.message(b"<html>", Some(&token)), None);
        let e = status::error_for_status(
            &ToyStatuses,
            "list_users",
            401,
            Some(message),
            status::RetryWait::none(),
        );
        assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    }
}
