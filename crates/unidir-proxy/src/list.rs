//! The unified list envelope over a REST API's `Link` pagination.
//!
//! Such APIs (Buildkite, GitHub, ...) page old endpoints by number (`page`, `per_page`) and
//! new ones by opaque token (`after`, `before`); both announce neighbours in the `Link`
//! header. The proxy reads the
//! page number or token out of `rel="next"`/`rel="prev"` and rebuilds the next request from
//! its configured base URL, so a hostile `Link` cannot aim the token anywhere.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use unidir_core::{Cursor, CursorBinding, Error, Filters, Page, Result};
use unidir_http::link;
use unidir_http::paging::{self, PageNumber, PageToken};
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

/// The cursor list kind of the proxy's REST lists (raw provider objects, no unified resource).
const REST_LIST: &str = "rest";

/// The proxy keeps no walk, so a page number is bounded only by what it can hold.
const MAX_PAGES: u64 = u32::MAX as u64;

/// Where a page starts: the kit's positions ([`unidir_http::paging`]), serialised into the
/// cursor's state (never a URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub(crate) enum Position {
    /// Page-number pagination.
    #[serde(rename = "p")]
    Page(PageNumber),
    /// Token pagination, forwards.
    #[serde(rename = "a")]
    After(PageToken),
    /// Token pagination, backwards.
    #[serde(rename = "b")]
    Before(PageToken),
}

impl Position {
    fn size(&self) -> u32 {
        match self {
            Self::Page(at) => at.size,
            Self::After(at) | Self::Before(at) => at.n,
        }
    }

    /// The query parameters this position adds. The first page sends only `per_page`, which
    /// both pagination styles understand.
    pub(crate) fn params(&self) -> Vec<(&'static str, String)> {
        let size = ("per_page", self.size().to_string());
        match self {
            Self::Page(PageNumber { page: 1, .. }) => vec![size],
            Self::Page(at) => vec![("page", at.page.to_string()), size],
            Self::After(at) => vec![("after", at.t.clone()), size],
            Self::Before(at) => vec![("before", at.t.clone()), size],
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
    // The distinct provider name, a list kind that is no unified resource and the scope
    // keep these cursors apart from the adapter's and from other passthrough lists.
    CursorBinding::for_list(
        &cursor_provider(provider),
        REST_LIST,
        &Filters::default(),
        &[request.method.as_str(), &request.path, &query],
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
        return Ok(Position::Page(PageNumber::first(size)));
    };
    match binding.decode(cursor).map_err(tag)? {
        Position::Page(at) => at.resume(MAX_PAGE_SIZE, MAX_PAGES).map(Position::Page),
        Position::After(at) => at.resume(MAX_PAGE_SIZE).map(Position::After),
        Position::Before(at) => at.resume(MAX_PAGE_SIZE).map(Position::Before),
    }
    .map_err(tag)
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
            Ok(page) if page >= 1 => Ok(Some(Position::Page(PageNumber { page, size }))),
            _ => Err(contract.error(format!(
                "the Link header's rel=\"{rel}\" has no valid page number"
            ))),
        };
    }
    let (param, make): (&str, fn(PageToken) -> Position) = if rel == "next" {
        ("after", Position::After)
    } else {
        ("before", Position::Before)
    };
    match link::query_param(url, param) {
        Some(t) if paging::plain_token(&t) => Ok(Some(make(PageToken { t, n: size }))),
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
        // Page after page, exactly: the kit's check (a loop or skipped rows otherwise).
        Some(Position::Page(next)) => match position {
            Position::Page(at) => at
                .next(Some(next.page), MAX_PAGES, "the Link header's")
                .map_err(|e| contract.error(e.message()))?
                .map(Position::Page),
            _ => Some(Position::Page(next)),
        },
        Some(Position::After(next)) => {
            let current = match position {
                Position::After(at) => Some(at.t.as_str()),
                _ => None,
            };
            PageToken::check_next(current, &next.t).map_err(|e| contract.error(e.message()))?;
            Some(Position::After(next))
        }
        other => other,
    };
    let prev = match (linked(&links, "prev", size, &contract)?, position) {
        (Some(Position::Page(prev)), Position::Page(at)) if prev.page >= at.page => {
            return Err(contract.error(format!(
                "the Link header's prev page ({}) does not come before page {}",
                prev.page, at.page
            )));
        }
        (Some(found), _) => Some(found),
        (None, Position::Page(at)) => at.prev().map(Position::Page),
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
        let cursor = b
            .encode(&Position::Page(PageNumber { page: 3, size: 2 }))
            .expect("encode");
        assert_eq!(
            start(P, &b, Some(&cursor), Some(50)).expect("decode"),
            Position::Page(PageNumber { page: 3, size: 2 })
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
            b.encode(&Position::After(PageToken {
                t: "https://evil.example/".into(),
                n: 2
            }))
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

    /// The proxy's list cursors are no unified resource: even under the proxy's own provider
    /// name, a users cursor is refused by a proxy list and a proxy cursor by a users list.
    #[test]
    fn proxy_and_resource_cursors_refuse_each_other() {
        let b = binding(P, &ProxyRequest::get("/v2/x"));
        let users = CursorBinding::new(
            &cursor_provider(P),
            unidir_core::Resource::Users,
            &Filters::default(),
            &[],
        );
        let theirs = users
            .encode(&Position::Page(PageNumber { page: 2, size: 1 }))
            .expect("encode");
        let err = start(P, &b, Some(&theirs), None).expect_err("users cursor");
        assert_eq!(err.kind(), ErrorKind::InvalidCursor);
        assert!(err.message().contains("issued for users"), "{err}");
        let ours = b
            .encode(&Position::Page(PageNumber { page: 2, size: 1 }))
            .expect("encode");
        let err = users.decode::<Position>(&ours).expect_err("proxy cursor");
        assert_eq!(err.kind(), ErrorKind::InvalidCursor);
    }

    fn answer(link: &str) -> ProxyResponse {
        ProxyResponse {
            provider: P,
            status: 200,
            headers: vec![("link".into(), link.into())],
            body: br#"[{"id":"1"}]"#.to_vec(),
            rate_limit: unidir_http::RateLimitState::default(),
            attempts: 1,
            dropped_request_headers: Vec::new(),
        }
    }

    #[test]
    fn next_page_must_be_exactly_the_page_after() {
        let b = binding(P, &ProxyRequest::get("/v2/x"));
        let at = Position::Page(PageNumber { page: 2, size: 1 });
        let link = |p: u32| format!("<https://api.example/v2/x?page={p}&per_page=1>; rel=\"next\"");
        let page = page(P, &b, &at, &answer(&link(3))).expect("page 3 follows page 2");
        let next = page.next_cursor.expect("a next cursor");
        assert_eq!(
            b.decode::<Position>(&next).expect("decode"),
            Position::Page(PageNumber { page: 3, size: 1 })
        );
        // Going back loops; jumping ahead skips rows.
        for p in [1, 2, 4] {
            let err = super::page(P, &b, &at, &answer(&link(p))).expect_err("not the next page");
            assert_eq!(err.kind(), ErrorKind::ContractViolation, "page {p}");
            assert_eq!(err.status(), Some(200));
        }
    }

    #[test]
    fn first_page_sends_only_per_page() {
        assert_eq!(
            Position::Page(PageNumber::first(30)).params(),
            vec![("per_page", "30".to_owned())]
        );
        assert_eq!(
            Position::After(PageToken {
                t: "abc".into(),
                n: 5
            })
            .params(),
            vec![("after", "abc".to_owned()), ("per_page", "5".to_owned())]
        );
    }
}
