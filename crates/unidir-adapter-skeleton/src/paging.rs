//! The toy's page-number paging behind a unified cursor.
//!
//! A unified cursor ([`CursorBinding`]) carries the page number and the page size (the
//! kit's [`PageNumber`], which also holds the contract checks and walk bounds) and is
//! bound to the provider, the resource, the filters and the scope (the group of a member
//! list): a cursor replayed on another query is `InvalidCursor`, never the wrong rows. The
//! cursor keeps the page size it was issued with, so a caller changing `limit` mid-walk
//! cannot skip or repeat rows. The provider's answers are checked too: a page longer than
//! asked for, or a `next_page` that is not the next page (a loop, or rows skipped), is a
//! `ContractViolation`, never a silently wrong list.

use serde::Deserialize;
use serde_json::Value;
use unidir_core::{Cursor, CursorBinding, ListQuery, Resource, Result, WalkLimits};
use unidir_http::paging::PageNumber;

use crate::PROVIDER;
use crate::api::{Api, contract, tag};
use crate::wire::decode;

/// Page size when the caller sets no `limit`.
pub(crate) const DEFAULT_PAGE: u32 = 20;
/// The toy's `per_page` maximum; a larger `limit` is clamped to it.
pub(crate) const MAX_PAGE: u32 = 50;

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

impl List<'_> {
    /// Reads the page `query` asks for.
    pub(crate) async fn fetch(
        self,
        api: &Api,
        query: &ListQuery,
        limits: &WalkLimits,
    ) -> Result<RawPage> {
        let op = self.operation;
        // `limit: 0` is refused even with a cursor, and so is a limit other than the
        // cursor's page size (which its cursors carry, so the walk keeps it).
        let size = query.page_size(DEFAULT_PAGE, MAX_PAGE).map_err(tag(op))?;
        let binding = CursorBinding::new(PROVIDER, self.resource, &query.filters, self.scope)
            .with_page_size(size);
        let at = match &query.cursor {
            None => PageNumber::first(size),
            Some(cursor) => binding
                .decode::<PageNumber>(cursor)
                .and_then(|at| at.resume(MAX_PAGE, limits.max_pages))
                .map_err(tag(op))?,
        };
        let mut params = vec![
            ("page", at.page.to_string()),
            ("per_page", at.size.to_string()),
        ];
        params.extend(self.params);
        let body = api.get(op, self.segments, &params).await?;
        let ToyPage { items, next_page } = decode(op, "page", &body)?;
        if items.len() > at.size as usize {
            return Err(contract(
                op,
                format!(
                    "the toy API sent {} items for a page of {}",
                    items.len(),
                    at.size
                ),
            ));
        }
        // Page-number paging moves one page at a time: a next page that goes back loops, one
        // that jumps ahead skips rows; and the walk stays within its bound.
        let next = at
            .next(next_page, limits.max_pages, "the toy API's")
            .map_err(tag(op))?;
        let encode = |at: Option<PageNumber>| {
            at.map(|at| binding.encode(&at))
                .transpose()
                .map_err(tag(op))
        };
        let (next, prev) = (encode(next)?, encode(at.prev())?);
        Ok(RawPage { items, next, prev })
    }
}
