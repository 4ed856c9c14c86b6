//! Unified cursors and list paging: REST `page`/`per_page` with the `Link` header (page
//! after page within the walk limits), GraphQL `pageInfo` with its cursors checked, and the
//! offset of a fixed list, all carried in one opaque [`Position`] bound to its query. The
//! positions and the contract checks are the adapter kit's ([`unidir_http::paging`]).

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use unidir_core::{CursorBinding, ListQuery, Page, Resource, Result};
use unidir_http::paging::{self, Offset, PageNumber, RelayPosition};

use super::{Buildkite, binding, tag};
use crate::api::contract;
use crate::map;
use crate::wire::PageInfo;

/// Buildkite's REST `per_page` maximum; also the GraphQL page size cap unidir uses, to stay
/// far below the 50,000-point per-query complexity limit with nested teams.
pub(super) const MAX_PAGE: u32 = 100;

/// Where a unified cursor resumes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "m")]
pub(super) enum Position {
    /// A REST page.
    #[serde(rename = "rest")]
    Rest(PageNumber),
    /// GraphQL connection cursor: forward from `a` or backward from `b`.
    #[serde(rename = "gql")]
    Gql(RelayPosition),
    /// Offset into a fixed list.
    #[serde(rename = "off")]
    Offset(Offset),
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
        Position::Gql(RelayPosition { a, .. }) => Ok(a),
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
        let at = match &query.cursor {
            None => PageNumber::first(
                query
                    .page_size(MAX_PAGE, MAX_PAGE)
                    .map_err(tag(operation))?,
            ),
            Some(cursor) => match binding.decode::<Position>(cursor).map_err(tag(operation))? {
                // The page number carries the size; a limit that differs is refused.
                Position::Rest(at) => query
                    .page_size(MAX_PAGE, MAX_PAGE)
                    .and_then(|_| at.resume(MAX_PAGE, self.walk_limits.max_pages)),
                _ => Err(paging::not_a_page()),
            }
            .map_err(tag(operation))?,
        };
        let (items, next) = self
            .fetch_page(operation, segments, extra, at.page, at.size)
            .await?;
        let encode = |at: Option<PageNumber>| {
            at.map(|at| binding.encode(&Position::Rest(at)))
                .transpose()
                .map_err(tag(operation))
        };
        let next = encode(next.map(|page| PageNumber {
            page,
            size: at.size,
        }))?;
        Ok(Page::new(items, next, encode(at.prev())?))
    }

    /// One REST page: its items and the next page number from the `Link` header. An empty
    /// page ends the list (past the last page Buildkite answers `[]`); a next page that does
    /// not come after this one is a `ContractViolation`, never a loop.
    ///
    /// The items are decoded straight from the body as `T` (`Value` to keep them raw). A body
    /// that does not decode is decoded again through `Value`, for the precise error: not
    /// JSON, not a list, or which field of which item.
    pub(crate) async fn fetch_page<T: DeserializeOwned + Keyed>(
        &self,
        operation: &'static str,
        segments: &[&str],
        extra: &[(&str, String)],
        page: u32,
        size: u32,
    ) -> Result<(Vec<T>, Option<u32>)> {
        let mut params = vec![("page", page.to_string()), ("per_page", size.to_string())];
        params.extend(extra.iter().cloned());
        let rest = self.api.get_bytes(operation, segments, &params).await?;
        let next_link = rest.page_of("next", operation)?;
        // Typed only where the `Value` route would accept the body too (api/clean.rs).
        let items: Vec<T> = match crate::api::typed(&rest.body) {
            Some(items) => items,
            None => {
                let body = rest.into_value(operation)?.body;
                map::into_array(operation, body)?
                    .iter()
                    .map(|raw| map::decode(operation, T::WHAT, raw))
                    .collect::<Result<_>>()?
            }
        };
        if items.is_empty() {
            return Ok((items, None));
        }
        let next = PageNumber { page, size }
            .next(next_link, self.walk_limits.max_pages, "the Link header's")
            .map_err(tag(operation))?;
        Ok((items, next.map(|n| n.page)))
    }

    /// A connection's decoded `pageInfo` (its absence is `missing`, a contract violation),
    /// with its cursors checked as they arrive: a provider cursor is carried inside the
    /// unified cursor, so one that is empty, longer than 512 characters, not printable
    /// ASCII, or holding the token is the provider's contract violation here rather than the
    /// caller's invalid cursor on the next call.
    pub(crate) fn checked_page_info(
        &self,
        operation: &'static str,
        info: Option<PageInfo>,
        missing: &'static str,
    ) -> Result<PageInfo> {
        let info = info.ok_or_else(|| contract(operation, missing))?;
        let cursors = [&info.end_cursor, &info.start_cursor].into_iter().flatten();
        paging::check_relay_cursors("Buildkite", cursors.map(String::as_str), |c| {
            self.api.holds_token(c)
        })
        .map_err(tag(operation))?;
        Ok(info)
    }

    /// Every item of a REST list, page after page (100 per page), within the walk limits.
    /// An item whose key (see [`Keyed`]) was already seen (rows shifting between pages) is
    /// dropped and counted in a warning.
    pub(crate) async fn rest_walk<T: DeserializeOwned + Keyed>(
        &self,
        operation: &'static str,
        segments: &[&str],
        extra: &[(&str, String)],
    ) -> Result<Vec<T>> {
        let mut all = Vec::new();
        self.rest_walk_each(operation, segments, extra, |item| {
            all.push(item);
            Ok(())
        })
        .await?;
        Ok(all)
    }

    /// [`Self::rest_walk`] handing each item to `each` as its page arrives, so a long list
    /// (the members of an `Everyone` team) is never held whole; seen keys are kept as 16-byte
    /// digests.
    pub(crate) async fn rest_walk_each<T: DeserializeOwned + Keyed>(
        &self,
        operation: &'static str,
        segments: &[&str],
        extra: &[(&str, String)],
        mut each: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        let mut budget = self.walk_limits.start();
        let mut seen: HashSet<u128> = HashSet::new();
        let mut duplicates = 0u64;
        let mut page = 1u32;
        loop {
            budget.before_page().map_err(tag(operation))?;
            let (items, next) = self
                .fetch_page::<T>(operation, segments, extra, page, MAX_PAGE)
                .await?;
            budget.add_items(items.len()).map_err(tag(operation))?;
            for item in items {
                let fresh = match item.key() {
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
                        // Said through the one channel (the CLI prints it), not only logged.
                        self.api.report(unidir_http::Report::new(
                            operation,
                            unidir_http::ReportKind::Repeats,
                            duplicates,
                            format!(
                                "{duplicates} rows came again on a later page of a list (it changed while it was read); each is kept once"
                            ),
                        ));
                    }
                    return Ok(());
                }
            }
        }
    }
}

/// An item of a REST list and the field that identifies it, by which rows repeated across
/// pages are dropped.
pub(crate) trait Keyed {
    /// What the item is, for errors.
    const WHAT: &'static str;
    fn key(&self) -> Option<&str>;
}

/// A raw item is identified by its `id` (teams, members, organizations).
impl Keyed for Value {
    const WHAT: &'static str = "item";
    fn key(&self) -> Option<&str> {
        self.get("id").and_then(Value::as_str)
    }
}

impl Keyed for crate::wire::RestTeam {
    const WHAT: &'static str = "team";
    fn key(&self) -> Option<&str> {
        Some(&self.id)
    }
}

impl Keyed for crate::wire::RestTeamRef {
    const WHAT: &'static str = "team";
    fn key(&self) -> Option<&str> {
        Some(&self.id)
    }
}

impl Keyed for crate::wire::RestOrganization {
    const WHAT: &'static str = "organization";
    fn key(&self) -> Option<&str> {
        Some(&self.id)
    }
}

impl Keyed for crate::wire::RestMember {
    const WHAT: &'static str = "member";
    fn key(&self) -> Option<&str> {
        Some(&self.id)
    }
}

impl Keyed for crate::wire::RestTeamMember {
    const WHAT: &'static str = "team member";
    fn key(&self) -> Option<&str> {
        Some(&self.user_id)
    }
}

/// Decodes every raw item of a REST page as `W` and maps it, keeping the cursors.
pub(super) fn map_page<W: serde::de::DeserializeOwned, T>(
    operation: &'static str,
    what: &str,
    page: Page<Value>,
    keep: bool,
    mut convert: impl FnMut(W, Option<Value>) -> T,
) -> Result<Page<T>> {
    let mut out = Vec::with_capacity(page.result.len());
    for raw in page.result {
        let item = map::decode(operation, what, &raw)?;
        out.push(convert(item, keep.then_some(raw)));
    }
    Ok(Page::new(out, page.next_cursor, page.prev_cursor))
}
