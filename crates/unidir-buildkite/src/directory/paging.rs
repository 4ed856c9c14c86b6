//! Unified cursors and list paging: REST `page`/`per_page` with the `Link` header (page
//! after page within the walk limits), GraphQL `pageInfo` with its cursors checked, and the
//! offset of a fixed list, all carried in one opaque [`Position`] bound to its query.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use unidir_core::{CursorBinding, Error, ListQuery, Page, Resource, Result};

use super::{Buildkite, binding, tag};
use crate::api::contract;
use crate::map;
use crate::wire::PageInfo;

/// Buildkite's REST `per_page` maximum; also the GraphQL page size cap unidir uses, to stay
/// far below the 50,000-point per-query complexity limit with nested teams.
pub(super) const MAX_PAGE: u32 = 100;
/// Longest GraphQL connection cursor accepted back from a caller's unified cursor.
const MAX_GQL_CURSOR: usize = 512;

/// A GraphQL connection cursor unidir will carry: 1 to 512 printable ASCII characters. The
/// same rule checks cursors arriving from Buildkite and coming back inside unified cursors.
pub(super) fn plain_gql_cursor(cursor: &str) -> bool {
    !cursor.is_empty()
        && cursor.len() <= MAX_GQL_CURSOR
        && cursor.bytes().all(|c| c.is_ascii_graphic())
}

/// Where a unified cursor resumes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "m")]
pub(super) enum Position {
    /// REST page `p` of size `n`.
    #[serde(rename = "rest")]
    Rest { p: u32, n: u32 },
    /// GraphQL connection cursor: forward from `a` or backward from `b`.
    #[serde(rename = "gql")]
    Gql {
        a: Option<String>,
        b: Option<String>,
    },
    /// Offset into a fixed list.
    #[serde(rename = "off")]
    Offset { o: usize },
}

/// The binding of the users list for `query`, and the GraphQL `after` position a page's
/// `next_cursor` carries (for a full read that walks `UnidirMembers` pages itself).
pub(crate) fn users_binding(query: &ListQuery) -> CursorBinding {
    binding(Resource::Users, query, &[])
}

pub(crate) fn graphql_after(
    binding: &CursorBinding,
    cursor: &unidir_core::Cursor,
) -> Result<Option<String>> {
    match binding
        .decode::<Position>(cursor)
        .map_err(tag("list_users"))?
    {
        Position::Gql { a, .. } => Ok(a),
        _ => Err(contract(
            "list_users",
            "a GraphQL page gave a cursor of another kind",
        )),
    }
}

impl Buildkite {
    /// One REST page: returns its items and the unified next/prev cursors.
    pub(super) async fn rest_page(
        &self,
        operation: &'static str,
        segments: &[&str],
        extra: &[(&str, String)],
        query: &ListQuery,
        binding: &CursorBinding,
    ) -> Result<Page<Value>> {
        let (page, size) = match &query.cursor {
            None => (
                1,
                query
                    .page_size(MAX_PAGE, MAX_PAGE)
                    .map_err(tag(operation))?,
            ),
            Some(cursor) => match binding.decode::<Position>(cursor).map_err(tag(operation))? {
                Position::Rest { p, n }
                    if self.page_in_bounds(p) && (1..=MAX_PAGE).contains(&n) =>
                {
                    (p, n)
                }
                _ => {
                    return Err(tag(operation)(Error::invalid_cursor(
                        "cursor is not a page of this list",
                    )));
                }
            },
        };
        let (items, next) = self
            .fetch_page(operation, segments, extra, page, size)
            .await?;
        let next = next
            .map(|n| binding.encode(&Position::Rest { p: n, n: size }))
            .transpose()
            .map_err(tag(operation))?;
        let prev = if page > 1 {
            Some(
                binding
                    .encode(&Position::Rest {
                        p: page - 1,
                        n: size,
                    })
                    .map_err(tag(operation))?,
            )
        } else {
            None
        };
        Ok(Page::new(items, next, prev))
    }

    /// One REST page: its items and the next page number from the `Link` header. An empty
    /// page ends the list (past the last page Buildkite answers `[]`); a next page that does
    /// not come after this one is a `ContractViolation`, never a loop.
    pub(crate) async fn fetch_page(
        &self,
        operation: &'static str,
        segments: &[&str],
        extra: &[(&str, String)],
        page: u32,
        size: u32,
    ) -> Result<(Vec<Value>, Option<u32>)> {
        let mut params = vec![("page", page.to_string()), ("per_page", size.to_string())];
        params.extend(extra.iter().cloned());
        let rest = self.api.get(operation, segments, &params).await?;
        let next_link = rest.page_of("next", operation)?;
        let items = map::into_array(operation, rest.body)?;
        let next = match next_link {
            _ if items.is_empty() => None,
            // Page-number paging moves one page at a time: a next link that goes back loops,
            // one that jumps ahead skips rows silently.
            Some(n) if n != page.saturating_add(1) => {
                return Err(contract(
                    operation,
                    format!("the Link header's next page ({n}) is not the page after page {page}"),
                ));
            }
            Some(n) if !self.page_in_bounds(n) => {
                return Err(contract(
                    operation,
                    format!(
                        "the list goes on past {} pages (WalkLimits::max_pages); stopping",
                        self.walk_limits.max_pages
                    ),
                ));
            }
            next => next,
        };
        Ok((items, next))
    }

    /// A GraphQL `pageInfo`, with its cursors checked as they arrive: a provider cursor is
    /// carried inside the unified cursor, so one that is empty, longer than 512 characters,
    /// not printable ASCII, or holding the token is the provider's contract violation here
    /// rather than the caller's invalid cursor on the next call.
    pub(crate) fn page_info(&self, operation: &'static str, value: &Value) -> Result<PageInfo> {
        let info: PageInfo = map::decode(operation, "pageInfo", value)?;
        for cursor in [&info.end_cursor, &info.start_cursor].into_iter().flatten() {
            if !plain_gql_cursor(cursor) || self.api.holds_token(cursor) {
                return Err(contract(
                    operation,
                    "Buildkite returned a page cursor that is empty, too long, not printable \
                     ASCII or holds the token",
                ));
            }
        }
        Ok(info)
    }

    /// Whether a page number is within the walk bound (so a cursor or a `Link` header
    /// cannot make us ask for page 4294967295).
    fn page_in_bounds(&self, page: u32) -> bool {
        page >= 1 && u64::from(page) <= self.walk_limits.max_pages
    }

    /// Every item of a REST list, page after page (100 per page), within the walk limits.
    /// An item whose `key` field was already seen (rows shifting between pages) is dropped
    /// and counted in a warning.
    pub(crate) async fn rest_walk(
        &self,
        operation: &'static str,
        segments: &[&str],
        extra: &[(&str, String)],
        key: &str,
    ) -> Result<Vec<Value>> {
        let mut all = Vec::new();
        self.rest_walk_each(operation, segments, extra, key, |item| {
            all.push(item);
            Ok(())
        })
        .await?;
        Ok(all)
    }

    /// [`Self::rest_walk`] handing each item to `each` as its page arrives, so a long list
    /// (the members of an `Everyone` team) is never held whole; seen keys are kept as 16-byte
    /// digests.
    pub(crate) async fn rest_walk_each(
        &self,
        operation: &'static str,
        segments: &[&str],
        extra: &[(&str, String)],
        key: &str,
        mut each: impl FnMut(Value) -> Result<()>,
    ) -> Result<()> {
        let mut budget = self.walk_limits.start();
        let mut seen: HashSet<u128> = HashSet::new();
        let mut duplicates = 0u64;
        let mut page = 1u32;
        loop {
            budget.before_page().map_err(tag(operation))?;
            let (items, next) = self
                .fetch_page(operation, segments, extra, page, MAX_PAGE)
                .await?;
            budget.add_items(items.len()).map_err(tag(operation))?;
            for item in items {
                let fresh = match item.get(key).and_then(Value::as_str) {
                    Some(id) => seen.insert(crate::team_index::digest(id)),
                    None => true,
                };
                if fresh {
                    each(item)?;
                } else {
                    duplicates += 1;
                }
            }
            match next {
                Some(n) => page = n,
                None => {
                    if duplicates > 0 {
                        tracing::warn!(
                            operation,
                            duplicates,
                            "dropped items repeated across pages"
                        );
                    }
                    return Ok(());
                }
            }
        }
    }
}

/// Decodes every raw item of a REST page as `W` and maps it, keeping the cursors.
pub(super) fn map_page<W: serde::de::DeserializeOwned, T>(
    operation: &'static str,
    what: &str,
    page: Page<Value>,
    mut convert: impl FnMut(W, &Value) -> T,
) -> Result<Page<T>> {
    let mut out = Vec::with_capacity(page.result.len());
    for raw in &page.result {
        out.push(convert(map::decode(operation, what, raw)?, raw));
    }
    Ok(Page::new(out, page.next_cursor, page.prev_cursor))
}
