//! Walking every page of a list as a stream.
//!
//! Providers fetch one page at a time; these helpers turn a page-fetching function into a
//! stream of pages or items. They stop only when a page has no `next_cursor`. A provider that
//! hands back a cursor it already returned would make a naive loop spin forever or (with a
//! page cap) silently truncate the list, so that case is a
//! [`crate::ErrorKind::ContractViolation`] error instead.

use std::collections::HashSet;
use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::page::{ListQuery, Page};

/// Streams every page, starting at `query` (including its cursor, if any).
///
/// The stream ends after the page without `next_cursor`, or after the first error. Errors
/// for a repeated cursor name the last cursor that worked, so a caller can resume.
pub fn paginate_pages<'a, T, F, Fut>(query: ListQuery, fetch: F) -> BoxStream<'a, Result<Page<T>>>
where
    T: Send + 'a,
    F: FnMut(ListQuery) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    struct Walk<F> {
        query: ListQuery,
        fetch: F,
        seen: HashSet<Cursor>,
        done: bool,
    }

    let mut seen = HashSet::new();
    if let Some(start) = &query.cursor {
        seen.insert(start.clone());
    }
    let walk = Walk {
        query,
        fetch,
        seen,
        done: false,
    };
    stream::try_unfold(walk, |mut walk| async move {
        if walk.done {
            return Ok(None);
        }
        let page = (walk.fetch)(walk.query.clone()).await?;
        match &page.next_cursor {
            None => walk.done = true,
            Some(next) => {
                if !walk.seen.insert(next.clone()) {
                    let last_good = walk
                        .query
                        .cursor
                        .as_ref()
                        .map_or_else(|| "(first page)".to_owned(), Cursor::to_string);
                    return Err(Error::contract(format!(
                        "the provider returned a page cursor it had already returned; \
                         stopping instead of looping (last good cursor: {last_good})"
                    ))
                    .with_operation("paginate"));
                }
                walk.query.cursor = Some(next.clone());
            }
        }
        Ok(Some((page, walk)))
    })
    .boxed()
}

/// Streams every item of every page, starting at `query`.
pub fn paginate<'a, T, F, Fut>(query: ListQuery, fetch: F) -> BoxStream<'a, Result<T>>
where
    T: Send + 'a,
    F: FnMut(ListQuery) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    paginate_pages(query, fetch)
        .map_ok(|page| stream::iter(page.result.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}
