//! The toy's page-number paging behind a unified cursor.
//!
//! A unified cursor ([`CursorBinding`]) carries the page number and the page size and is
//! bound to the provider, the resource, the filters and the scope (the group of a member
//! list): a cursor replayed on another query is `InvalidCursor`, never the wrong rows. The
//! cursor keeps the page size it was issued with, so a caller changing `limit` mid-walk
//! cannot skip or repeat rows. The provider's answers are checked too: a page longer than
//! asked for, or a `next_page` that is not the next page (a loop, or rows skipped), is a
//! `ContractViolation`, never a silently wrong list.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use unidir_core::{Cursor, CursorBinding, Error, ListQuery, Resource, Result, WalkLimits};

use crate::PROVIDER;
use crate::api::{Api, contract, tag};
use crate::wire::decode;

/// Page size when the caller sets no `limit`.
pub(crate) const DEFAULT_PAGE: u32 = 20;
/// The toy's `per_page` maximum; a larger `limit` is clamped to it.
pub(crate) const MAX_PAGE: u32 = 50;

/// Where a unified cursor resumes: page `p` of size `n`. Unknown fields are refused, so a
/// checksummed cursor carrying state this adapter never wrote is `InvalidCursor`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Position {
    p: u32,
    n: u32,
}

/// One page of the toy's list envelope.
#[derive(Deserialize)]
struct ToyPage {
    items: Vec<Value>,
    next_page: Option<u32>,
}

/// One list request: which list, scoped how, and what to add to the query string.
pub(crate) struct List<'a> {
    pub(crate) operation: &'static str,
    pub(crate) resource: Resource,
    /// Path segments after `/api`.
    pub(crate) segments: &'a [&'a str],
    /// What selects the list besides its filters (the group of a member list).
    pub(crate) scope: &'a [&'a str],
    /// Provider query parameters for the caller's filters.
    pub(crate) params: Vec<(&'static str, String)>,
}

/// One page of raw items with the unified cursors around it.
pub(crate) struct RawPage {
    pub(crate) items: Vec<Value>,
    pub(crate) next: Option<Cursor>,
    pub(crate) prev: Option<Cursor>,
}

/// Whether `page` is a page a walk within `limits` may ask for (so neither a cursor nor the
/// provider can make us request page 4294967295).
fn in_bounds(page: u32, limits: &WalkLimits) -> bool {
    page >= 1 && u64::from(page) <= limits.max_pages
}

impl List<'_> {
    /// Reads the page `query` asks for.
    pub(crate) async fn fetch(
        self,
        api: &Api,
        query: &ListQuery,
        limits: &WalkLimits,
    ) -> Result<RawPage> {
        let op = self.operation;
        let binding = CursorBinding::new(PROVIDER, self.resource, &query.filters, self.scope);
        // `limit: 0` is refused even with a cursor; the size then comes from the cursor.
        let size = query.page_size(DEFAULT_PAGE, MAX_PAGE).map_err(tag(op))?;
        let (page, size) = match &query.cursor {
            None => (1, size),
            Some(cursor) => match binding.decode::<Position>(cursor).map_err(tag(op))? {
                Position { p, n } if in_bounds(p, limits) && (1..=MAX_PAGE).contains(&n) => (p, n),
                _ => {
                    return Err(tag(op)(Error::invalid_cursor(
                        "cursor is not a page of this list",
                    )));
                }
            },
        };
        let mut params = vec![("page", page.to_string()), ("per_page", size.to_string())];
        params.extend(self.params);
        let body = api.get(op, self.segments, &params).await?;
        let ToyPage { items, next_page } = decode(op, "page", &body)?;
        if items.len() > size as usize {
            return Err(contract(
                op,
                format!(
                    "the toy API sent {} items for a page of {size}",
                    items.len()
                ),
            ));
        }
        let next = match next_page {
            None => None,
            // Page-number paging moves one page at a time: a next page that goes back
            // loops, one that jumps ahead skips rows.
            Some(n) if n != page.saturating_add(1) => {
                return Err(contract(
                    op,
                    format!("the toy API's next page ({n}) is not the page after page {page}"),
                ));
            }
            Some(n) if !in_bounds(n, limits) => {
                return Err(contract(
                    op,
                    format!(
                        "the list goes on past {} pages (WalkLimits::max_pages); stopping",
                        limits.max_pages
                    ),
                ));
            }
            Some(n) => Some(
                binding
                    .encode(&Position { p: n, n: size })
                    .map_err(tag(op))?,
            ),
        };
        let prev = if page > 1 {
            Some(
                binding
                    .encode(&Position {
                        p: page - 1,
                        n: size,
                    })
                    .map_err(tag(op))?,
            )
        } else {
            None
        };
        Ok(RawPage { items, next, prev })
    }
}
