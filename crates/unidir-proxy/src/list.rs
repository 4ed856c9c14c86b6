//! The unified list envelope over a REST API's `Link` pagination.
//!
//! Such APIs (Buildkite, GitHub, ...) page old endpoints by number (`page`, `per_page`) and
//! new ones by opaque token (`after`, `before`); both announce neighbours in the `Link`
//! header. The proxy reads the
//! page number or token out of `rel="next"`/`rel="prev"` and rebuilds the next request from
//! its configured base URL, so a hostile `Link` cannot aim the token anywhere.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use unidir_core::{Cursor, CursorBinding, Error, Filters, Page, Resource, Result};
use unidir_http::link;
use unidir_http::status::{self, RetryWait, StatusHook};

use crate::proxy::{OP_LIST, rejected};
use crate::request::ProxyRequest;
use crate::response::ProxyResponse;

/// Query parameters the proxy owns while listing.
pub(crate) const RESERVED: &[&str] = &["page", "per_page", "after", "before"];

/// The largest `per_page` the proxy asks for (Buildkite's and GitHub's maximum), also the
/// default page size.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Cursors of the passthrough carry their own provider name, `<provider>-proxy`, so a cursor
/// of the provider's adapter (or any other list) is refused with `InvalidCursor`.
fn cursor_provider(provider: &str) -> String {
    format!("{provider}-proxy")
}

/// Longest provider pagination token accepted from a `Link` header.
const MAX_TOKEN_LEN: usize = 1024;

/// Where a page starts. Serialised into the cursor's state (never a URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub(crate) enum Position {
    /// Page-number pagination.
    #[serde(rename = "p")]
    Page { p: u32, n: u32 },
    /// Token pagination, forwards.
    #[serde(rename = "a")]
    After { t: String, n: u32 },
    /// Token pagination, backwards.
    #[serde(rename = "b")]
    Before { t: String, n: u32 },
}

impl Position {
    fn size(&self) -> u32 {
        match self {
            Self::Page { n, .. } | Self::After { n, .. } | Self::Before { n, .. } => *n,
        }
    }

    /// The query parameters this position adds. The first page sends only `per_page`, which
    /// both pagination styles understand.
    pub(crate) fn params(&self) -> Vec<(&'static str, String)> {
        let size = ("per_page", self.size().to_string());
        match self {
            Self::Page { p: 1, .. } => vec![size],
            Self::Page { p, .. } => vec![("page", p.to_string()), size],
            Self::After { t, .. } => vec![("after", t.clone()), size],
            Self::Before { t, .. } => vec![("before", t.clone()), size],
        }
    }
}

/// Binds cursors to the method, path and query (order-insensitive) of the list.
pub(crate) fn binding(provider: &str, request: &ProxyRequest) -> CursorBinding {
    let mut query: Vec<String> = request
        .query
        .iter()
        .map(|(k, v)| {
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair(k, v)
                .finish()
        })
        .collect();
    query.sort();
    let query = query.join("&");
    // The distinct provider name, the resource and the scope keep these cursors apart from
    // the adapter's and from other passthrough lists.
    CursorBinding::new(
        &cursor_provider(provider),
        Resource::Passthrough,
        &Filters::default(),
        &["rest_list", request.method.as_str(), &request.path, &query],
    )
}

/// The position to read: from the cursor, else page 1 with `limit` items.
pub(crate) fn start(
    provider: &'static str,
    binding: &CursorBinding,
    cursor: Option<&Cursor>,
    limit: Option<u32>,
) -> Result<Position> {
    let tag = |e: Error| e.with_provider(provider).with_operation(OP_LIST);
    let Some(cursor) = cursor else {
        let size = match limit {
            None => MAX_PAGE_SIZE,
            Some(0) => return Err(rejected(provider, OP_LIST, "limit must be at least 1")),
            Some(n) => n.min(MAX_PAGE_SIZE),
        };
        return Ok(Position::Page { p: 1, n: size });
    };
    let position: Position = binding.decode(cursor).map_err(tag)?;
    let valid = match &position {
        Position::Page { p, n } => *p >= 1 && (1..=MAX_PAGE_SIZE).contains(n),
        Position::After { t, n } | Position::Before { t, n } => {
            valid_token(t) && (1..=MAX_PAGE_SIZE).contains(n)
        }
    };
    if valid {
        Ok(position)
    } else {
        Err(tag(Error::invalid_cursor(
            "cursor is not a page of this list",
        )))
    }
}

fn valid_token(token: &str) -> bool {
    (1..=MAX_TOKEN_LEN).contains(&token.len())
        && token.bytes().all(|b| b.is_ascii_graphic())
        && !token.contains("://")
}

/// A `ContractViolation` of `provider`'s list answer.
struct Contract {
    provider: &'static str,
    status: u16,
}

impl Contract {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::contract(message)
            .with_provider(self.provider)
            .with_operation(OP_LIST)
            .with_status(self.status)
    }
}

/// The link relation `rel` as a position of size `size`, if present.
fn linked(
    links: &[link::Link],
    rel: &str,
    size: u32,
    contract: &Contract,
) -> Result<Option<Position>> {
    let Some(url) = link::find(links, rel) else {
        return Ok(None);
    };
    if let Some(page) = link::query_param(url, "page") {
        return match page.parse::<u32>() {
            Ok(p) if p >= 1 => Ok(Some(Position::Page { p, n: size })),
            _ => Err(contract.error(format!(
                "the Link header's rel=\"{rel}\" has no valid page number"
            ))),
        };
    }
    let (param, make): (&str, fn(String, u32) -> Position) = if rel == "next" {
        ("after", |t, n| Position::After { t, n })
    } else {
        ("before", |t, n| Position::Before { t, n })
    };
    match link::query_param(url, param) {
        Some(token) if valid_token(&token) => Ok(Some(make(token, size))),
        _ => Err(contract.error(format!(
            "the Link header's rel=\"{rel}\" has neither a page number nor a valid {param} token"
        ))),
    }
}

/// Builds the envelope from a 2xx answer.
pub(crate) fn page(
    provider: &'static str,
    binding: &CursorBinding,
    position: &Position,
    response: &ProxyResponse,
) -> Result<Page<Value>> {
    let contract = Contract {
        provider,
        status: response.status,
    };
    let body = response.json()?;
    let items = match body {
        Value::Array(items) => items,
        Value::Object(mut object) => match object.remove("items") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(
                    contract.error("the list answer is neither an array nor {\"items\": [...]}")
                );
            }
        },
        _ => {
            return Err(
                contract.error("the list answer is neither an array nor {\"items\": [...]}")
            );
        }
    };
    let links = response.links();
    let size = position.size();
    let next = match linked(&links, "next", size, &contract)? {
        // Past the end such APIs answer `[]`; an empty page ends the walk too.
        _ if items.is_empty() => None,
        Some(Position::Page { p: next, .. }) => match position {
            Position::Page { p, .. } if next <= *p => {
                return Err(contract.error(format!(
                    "the Link header's next page ({next}) does not come after page {p}"
                )));
            }
            _ => Some(Position::Page { p: next, n: size }),
        },
        Some(Position::After { t, n }) => {
            if matches!(position, Position::After { t: current, .. } if *current == t) {
                return Err(contract.error("the Link header's next token repeats the current one"));
            }
            Some(Position::After { t, n })
        }
        other => other,
    };
    let prev = match (linked(&links, "prev", size, &contract)?, position) {
        (Some(Position::Page { p: prev, .. }), Position::Page { p, .. }) if prev >= *p => {
            return Err(contract.error(format!(
                "the Link header's prev page ({prev}) does not come before page {p}"
            )));
        }
        (Some(found), _) => Some(found),
        (None, Position::Page { p, n }) if *p > 1 => Some(Position::Page { p: p - 1, n: *n }),
        (None, _) => None,
    };
    let encode = |position: Option<Position>| -> Result<Option<Cursor>> {
        position
            .map(|p| {
                binding
                    .encode(&p)
                    .map_err(|e| e.with_provider(provider).with_operation(OP_LIST))
            })
            .transpose()
    };
    Ok(Page::new(items, encode(next)?, encode(prev)?))
}

/// The error for a non-2xx answer to a list request: the shared status table
/// ([`unidir_http::status`]) with the provider's hook, the same mapping its adapter uses,
/// which keeps provider text only through `unidir_http::upstream_text`. `response` has
/// already been filtered, so the token is gone from its body before any text is read out.
pub(crate) fn status_error(hook: &dyn StatusHook, response: &ProxyResponse) -> Error {
    status::error_for_status(
        hook,
        OP_LIST,
        response.status,
        hook.message(&response.body, None),
        RetryWait::from_retry_after(response.rate_limit.wait_after_429()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ProxyRequest;
    use unidir_core::ErrorKind;

    const P: &str = "example";

    #[test]
    fn cursors_round_trip_and_bind_to_the_query() {
        let request =
            ProxyRequest::get("/v2/organizations/acme/members").with_query("role", "admin");
        let b = binding(P, &request);
        let cursor = b.encode(&Position::Page { p: 3, n: 2 }).expect("encode");
        assert_eq!(
            start(P, &b, Some(&cursor), Some(50)).expect("decode"),
            Position::Page { p: 3, n: 2 }
        );
        let other = binding(P, &ProxyRequest::get("/v2/organizations/acme/members"));
        let err = start(P, &other, Some(&cursor), None).expect_err("other query");
        assert_eq!(err.kind(), ErrorKind::InvalidCursor);
        let err = start(P, &b, Some(&Cursor::new("garbage!")), None).expect_err("garbage");
        assert_eq!(err.kind(), ErrorKind::InvalidCursor);
        assert_eq!(err.provider(), P);
        // Another provider's proxy cursor is refused too.
        let theirs = binding("other", &request);
        let err = start(P, &theirs, Some(&cursor), None).expect_err("other provider");
        assert_eq!(err.kind(), ErrorKind::InvalidCursor);
        assert!(
            b.encode(&Position::After {
                t: "https://evil.example/".into(),
                n: 2
            })
            .is_err()
        );
        // Query order does not matter.
        let swapped = binding(
            P,
            &ProxyRequest::get("/v2/x")
                .with_query("a", "1")
                .with_query("b", "2"),
        );
        let straight = binding(
            P,
            &ProxyRequest::get("/v2/x")
                .with_query("b", "2")
                .with_query("a", "1"),
        );
        assert_eq!(swapped, straight);
    }

    #[test]
    fn first_page_sends_only_per_page() {
        assert_eq!(
            Position::Page { p: 1, n: 30 }.params(),
            vec![("per_page", "30".to_owned())]
        );
        assert_eq!(
            Position::After {
                t: "abc".into(),
                n: 5
            }
            .params(),
            vec![("after", "abc".to_owned()), ("per_page", "5".to_owned())]
        );
    }
}
