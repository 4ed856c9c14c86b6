//! Walking every page of a list as a stream, within bounds.
//!
//! Providers fetch one page at a time; these helpers turn a page-fetching function into a
//! stream of pages or items. They stop only when a page has no `next_cursor`, and every walk
//! is bounded by [`WalkLimits`] (pages, items, time), so a provider that hands out fresh
//! cursors forever cannot keep a caller walking until it is killed. Each failure is a
//! [`crate::ErrorKind::ContractViolation`] error that names what happened:
//!
//! - a cursor the provider already returned (a loop that would spin forever, or with a page
//!   cap silently truncate the list);
//! - a bound of [`WalkLimits`] exceeded (named in the message).
//!
//! [`Walker`] also drops items whose key ([`Keyed`]) was already emitted earlier in the walk
//! — page-number paging over a changing set can legitimately shift rows onto the next page —
//! and counts them in [`WalkStats::duplicates`], so nothing is emitted twice and nothing is
//! dropped silently.

use std::borrow::Cow;
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::cursor::Cursor;
use crate::error::{Error, Result};
use crate::model::{Group, GroupMembership, Organization, Role, User};
use crate::page::{ListQuery, Page};
use crate::seen::SeenKeys;
use crate::text::bounded;

/// Bounds of one walk over every page of a list. The defaults are generous enough for an
/// organization of a million users read 100 at a time; exceeding one is a
/// `ContractViolation` error naming the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalkLimits {
    /// Most pages one walk fetches (default 100,000).
    pub max_pages: u64,
    /// Most items one walk yields (default 10,000,000).
    pub max_items: u64,
    /// Longest one walk may run, checked before each page (default 24 h). Each page's own
    /// requests are bounded by the adapter's per-operation deadline.
    pub deadline: Duration,
}

impl Default for WalkLimits {
    fn default() -> Self {
        Self {
            max_pages: 100_000,
            max_items: 10_000_000,
            deadline: Duration::from_secs(24 * 3600),
        }
    }
}

impl WalkLimits {
    /// Sets the most pages one walk fetches.
    pub fn with_max_pages(mut self, max_pages: u64) -> Self {
        self.max_pages = max_pages;
        self
    }

    /// Sets the most items one walk yields.
    pub fn with_max_items(mut self, max_items: u64) -> Self {
        self.max_items = max_items;
        self
    }

    /// Sets the longest one walk may run.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Starts counting one walk against these limits.
    pub fn start(&self) -> WalkBudget {
        WalkBudget {
            limits: *self,
            started: Instant::now(),
            pages: 0,
            items: 0,
        }
    }
}

/// One walk's use of its [`WalkLimits`]. Adapters use it for their own internal walks
/// (nested lists included), so every walk in the process has the same bounds.
#[derive(Debug, Clone)]
pub struct WalkBudget {
    limits: WalkLimits,
    started: Instant,
    pages: u64,
    items: u64,
}

impl WalkBudget {
    /// Call before fetching a page: fails when the page or time bound is reached.
    pub fn before_page(&mut self) -> Result<()> {
        if self.pages >= self.limits.max_pages {
            return Err(bound_error(format!(
                "the walk reached its bound of {} pages (WalkLimits::max_pages) and the \
                 provider still reports more; stopping instead of walking forever",
                self.limits.max_pages
            )));
        }
        if self.started.elapsed() >= self.limits.deadline {
            return Err(bound_error(format!(
                "the walk ran past its deadline of {}s (WalkLimits::deadline) after {} pages",
                self.limits.deadline.as_secs(),
                self.pages
            )));
        }
        self.pages += 1;
        Ok(())
    }

    /// Call with the number of items a page brought: fails past the item bound.
    pub fn add_items(&mut self, count: usize) -> Result<()> {
        self.items = self.items.saturating_add(count as u64);
        if self.items > self.limits.max_items {
            return Err(bound_error(format!(
                "the walk passed its bound of {} items (WalkLimits::max_items)",
                self.limits.max_items
            )));
        }
        Ok(())
    }

    /// Pages fetched so far.
    pub fn pages(&self) -> u64 {
        self.pages
    }
}

fn bound_error(message: String) -> Error {
    Error::contract(message).with_operation("paginate")
}

/// What a walk did: pages fetched, items emitted, duplicates dropped. Shared, so it can be
/// read while (and after) the stream runs.
#[derive(Debug, Default)]
pub struct WalkStats {
    pages: AtomicU64,
    items: AtomicU64,
    duplicates: AtomicU64,
}

impl WalkStats {
    /// Pages fetched.
    pub fn pages(&self) -> u64 {
        self.pages.load(Ordering::Relaxed)
    }

    /// Items emitted (duplicates not included).
    pub fn items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }

    /// Items dropped because an item with the same key was already emitted.
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }
}

/// The identity of a listed object within one walk.
pub trait Keyed {
    /// A key unique within one list (the object id; group and user for memberships).
    fn key(&self) -> Cow<'_, str>;
}

macro_rules! keyed_by_id {
    ($($ty:ty),*) => {$(
        impl Keyed for $ty {
            fn key(&self) -> Cow<'_, str> {
                Cow::Borrowed(&self.id)
            }
        }
    )*};
}
keyed_by_id!(User, Group, Organization, Role);

impl Keyed for GroupMembership {
    fn key(&self) -> Cow<'_, str> {
        Cow::Owned(format!("{}\u{0}{}", self.group_id, self.user_id))
    }
}

/// Walks lists within [`WalkLimits`], dropping and counting duplicates.
#[derive(Debug, Clone)]
pub struct Walker {
    limits: WalkLimits,
    stats: Arc<WalkStats>,
}

impl Walker {
    /// A walker with these limits and fresh statistics.
    pub fn new(limits: WalkLimits) -> Self {
        Self {
            limits,
            stats: Arc::default(),
        }
    }

    /// The statistics of the walk (updated as the stream runs).
    pub fn stats(&self) -> Arc<WalkStats> {
        Arc::clone(&self.stats)
    }

    /// Streams every page from `query` on, each without items already emitted.
    pub fn pages<'a, T, F, Fut>(&self, query: ListQuery, fetch: F) -> BoxStream<'a, Result<Page<T>>>
    where
        T: Keyed + Send + 'a,
        F: FnMut(ListQuery) -> Fut + Send + 'a,
        Fut: Future<Output = Result<Page<T>>> + Send + 'a,
    {
        let mut dedupe = self.dedupe();
        bounded_pages(query, self.limits, fetch)
            .map_ok(move |mut page| {
                dedupe.retain_fresh(&mut page.result);
                page
            })
            .boxed()
    }

    /// The batches of a full read (see
    /// [`Directory::read_users`](crate::Directory::read_users)), each item once; every batch
    /// counts as a page.
    pub fn batches<'a, T>(
        &self,
        batches: BoxStream<'a, Result<Vec<T>>>,
    ) -> BoxStream<'a, Result<Vec<T>>>
    where
        T: Keyed + Send + 'a,
    {
        let mut dedupe = self.dedupe();
        batches
            .map_ok(move |mut batch| {
                dedupe.retain_fresh(&mut batch);
                batch
            })
            .boxed()
    }

    fn dedupe(&self) -> Dedupe {
        Dedupe {
            stats: Arc::clone(&self.stats),
            seen: SeenKeys::default(),
        }
    }
}

/// Drops items already emitted in a walk, and counts what passes and what is dropped.
struct Dedupe {
    stats: Arc<WalkStats>,
    // 16-byte digests, not the ids; past 2,048 they move to an unlinked temporary
    // file, so a walk of a million users holds no more memory than one of ten thousand.
    seen: SeenKeys,
}

impl Dedupe {
    fn retain_fresh<T: Keyed>(&mut self, items: &mut Vec<T>) {
        let before = items.len();
        items.retain(|item| self.seen.insert(&item.key()));
        let dropped = (before - items.len()) as u64;
        self.stats.pages.fetch_add(1, Ordering::Relaxed);
        self.stats
            .items
            .fetch_add(items.len() as u64, Ordering::Relaxed);
        self.stats.duplicates.fetch_add(dropped, Ordering::Relaxed);
    }
}

impl Walker {
    /// Streams every item from `query` on, each once.
    pub fn items<'a, T, F, Fut>(&self, query: ListQuery, fetch: F) -> BoxStream<'a, Result<T>>
    where
        T: Keyed + Send + 'a,
        F: FnMut(ListQuery) -> Fut + Send + 'a,
        Fut: Future<Output = Result<Page<T>>> + Send + 'a,
    {
        flatten(self.pages(query, fetch))
    }
}

/// Streams every page, starting at `query` (including its cursor, if any), within the
/// default [`WalkLimits`].
///
/// The stream ends after the page without `next_cursor`, or after the first error. Errors
/// for a repeated cursor name the last cursor that worked, so a caller can resume.
pub fn paginate_pages<'a, T, F, Fut>(query: ListQuery, fetch: F) -> BoxStream<'a, Result<Page<T>>>
where
    T: Send + 'a,
    F: FnMut(ListQuery) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    bounded_pages(query, WalkLimits::default(), fetch)
}

/// Streams every item of every page, starting at `query`, within the default
/// [`WalkLimits`].
pub fn paginate<'a, T, F, Fut>(query: ListQuery, fetch: F) -> BoxStream<'a, Result<T>>
where
    T: Send + 'a,
    F: FnMut(ListQuery) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    flatten(paginate_pages(query, fetch))
}

/// [`paginate_pages`] with explicit limits.
pub fn bounded_pages<'a, T, F, Fut>(
    query: ListQuery,
    limits: WalkLimits,
    fetch: F,
) -> BoxStream<'a, Result<Page<T>>>
where
    T: Send + 'a,
    F: FnMut(ListQuery) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    struct Walk<F> {
        query: ListQuery,
        fetch: F,
        seen: HashSet<Cursor>,
        budget: WalkBudget,
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
        budget: limits.start(),
        done: false,
    };
    stream::try_unfold(walk, |mut walk| async move {
        if walk.done {
            return Ok(None);
        }
        walk.budget.before_page()?;
        let page = (walk.fetch)(walk.query.clone()).await?;
        walk.budget.add_items(page.result.len())?;
        match &page.next_cursor {
            None => walk.done = true,
            Some(next) => {
                if !walk.seen.insert(next.clone()) {
                    let last_good = walk
                        .query
                        .cursor
                        .as_ref()
                        .map_or_else(|| "(first page)".to_owned(), |c| bounded(c.as_str(), 200));
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

fn flatten<'a, T: Send + 'a>(pages: BoxStream<'a, Result<Page<T>>>) -> BoxStream<'a, Result<T>> {
    pages
        .map_ok(|page| stream::iter(page.result.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}
