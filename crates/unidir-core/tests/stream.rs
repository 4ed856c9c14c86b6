//! The stream helpers walk every page and fail loudly on a repeated cursor.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{StreamExt, TryStreamExt};
use unidir_core::{
    Cursor, Directory, DirectoryExt, ErrorKind, GroupMembership, Keyed, ListQuery, Page, User,
    WalkLimits, Walker, paginate, paginate_pages, sample_directory,
};

#[tokio::test]
async fn walks_every_page_exactly_once() {
    let dir = sample_directory();
    let pages: Vec<_> = paginate_pages(ListQuery::new().with_limit(1), |q| {
        let dir = &dir;
        async move { dir.list_users(&q).await }
    })
    .try_collect()
    .await
    .expect("pages");
    assert_eq!(pages.len(), 4, "four users, one per page");
    let ids: Vec<String> = pages
        .iter()
        .flat_map(|p| p.result.iter().map(|u| u.id.clone()))
        .collect();
    assert_eq!(ids, ["u-1", "u-2", "u-3", "u-4"]);

    let via_ext: Vec<_> = dir
        .users(ListQuery::new().with_limit(3))
        .try_collect()
        .await
        .expect("users");
    assert_eq!(via_ext.len(), 4);
}

#[tokio::test]
async fn works_through_arc_dyn() {
    let dir: Arc<dyn Directory> = Arc::new(sample_directory());
    let groups: Vec<_> = dir
        .groups(ListQuery::new().with_limit(1))
        .try_collect()
        .await
        .expect("groups");
    assert_eq!(groups.len(), 2);
    let members: Vec<_> = dir
        .group_members("g-1", ListQuery::new().with_limit(1))
        .try_collect()
        .await
        .expect("members");
    assert_eq!(members.len(), 2);
}

#[tokio::test]
async fn repeated_cursor_is_an_error_not_a_short_list() {
    let calls = AtomicUsize::new(0);
    let looping = Cursor::new("loop");
    let result: Result<Vec<u32>, _> = paginate(ListQuery::new(), |_q| {
        let n = calls.fetch_add(1, Ordering::SeqCst) as u32;
        let next = Some(looping.clone());
        async move { Ok(Page::new(vec![n], next, None)) }
    })
    .try_collect()
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContractViolation);
    assert!(err.message().contains("already returned"), "{err}");
    assert!(err.message().contains("last good cursor: loop"), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "stops at the first repeat");
}

#[tokio::test]
async fn cursor_equal_to_the_starting_one_is_a_loop() {
    let start = Cursor::new("start");
    let result: Result<Vec<u32>, _> = paginate(ListQuery::new().with_cursor(start.clone()), |_q| {
        let next = Some(start.clone());
        async move { Ok(Page::new(vec![1], next, None)) }
    })
    .try_collect()
    .await;
    assert_eq!(result.unwrap_err().kind(), ErrorKind::ContractViolation);
}

#[tokio::test]
async fn errors_end_the_stream_after_the_good_items() {
    let dir = sample_directory();
    let mut calls = 0;
    let mut stream = paginate(ListQuery::new().with_limit(2), |q| {
        calls += 1;
        let fail = calls == 2;
        let dir = &dir;
        async move {
            if fail {
                Err(unidir_core::Error::new(ErrorKind::Upstream, "boom"))
            } else {
                dir.list_users(&q).await
            }
        }
    });
    let mut seen = 0;
    let err = loop {
        match stream.try_next().await {
            Ok(Some(_)) => seen += 1,
            Ok(None) => panic!("stream ended without surfacing the failure"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, 2);
    assert_eq!(err.kind(), ErrorKind::Upstream);
}

/// A provider that hands out a fresh cursor forever is stopped at the page bound, with an
/// error naming the bound, not walked until the process is killed.
#[tokio::test]
async fn fresh_cursors_forever_stop_at_the_page_bound() {
    let calls = AtomicUsize::new(0);
    let limits = WalkLimits::default().with_max_pages(50);
    let walker = Walker::new(limits);
    let result: Result<Vec<User>, _> = walker
        .items(ListQuery::new(), |_q| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            // Ends the test quickly, instead of hanging it, if the bound ever stops working.
            let runaway = n >= 1_000;
            async move {
                if runaway {
                    return Err(unidir_core::Error::new(ErrorKind::Upstream, "runaway walk"));
                }
                let user = sample_user(&format!("u-{n}"));
                Ok(Page::new(
                    vec![user],
                    Some(Cursor::new(format!("c{n}"))),
                    None,
                ))
            }
        })
        .try_collect()
        .await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContractViolation);
    assert!(err.message().contains("50 pages"), "{err}");
    assert!(err.message().contains("max_pages"), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 50);
    assert_eq!(walker.stats().pages(), 50);

    // The default bound applies to the plain helpers too.
    assert_eq!(WalkLimits::default().max_pages, 100_000);
}

#[tokio::test]
async fn item_and_time_bounds_are_enforced() {
    let walker = Walker::new(WalkLimits::default().with_max_items(5));
    let mut n = 0;
    let result: Result<Vec<User>, _> = walker
        .items(ListQuery::new(), |_q| {
            n += 1;
            let page: Vec<User> = (0..3).map(|i| sample_user(&format!("{n}-{i}"))).collect();
            async move { Ok(Page::new(page, Some(Cursor::new(format!("c{n}"))), None)) }
        })
        .try_collect()
        .await;
    let err = result.unwrap_err();
    assert!(err.message().contains("5 items"), "{err}");

    let walker = Walker::new(WalkLimits::default().with_deadline(std::time::Duration::ZERO));
    let result: Result<Vec<User>, _> = walker
        .items(ListQuery::new(), |_q| async move {
            Ok(Page::new(vec![sample_user("x")], None, None))
        })
        .try_collect()
        .await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContractViolation);
    assert!(err.message().contains("deadline"), "{err}");
}

/// Page-number paging over a changing set can shift a row onto the next page: it is
/// emitted once, and the drop is counted.
#[tokio::test]
async fn duplicates_across_pages_are_dropped_and_counted() {
    let pages = [vec!["a", "b", "c"], vec!["c", "d", "a"], vec!["e"]];
    let walker = Walker::new(WalkLimits::default());
    let mut i = 0;
    let users: Vec<User> = walker
        .items(ListQuery::new(), |_q| {
            let ids = pages[i].clone();
            i += 1;
            let next = (i < pages.len()).then(|| Cursor::new(format!("p{i}")));
            async move {
                Ok(Page::new(
                    ids.into_iter().map(sample_user).collect(),
                    next,
                    None,
                ))
            }
        })
        .try_collect()
        .await
        .expect("walk");
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    let stats = walker.stats();
    assert_eq!(stats.duplicates(), 2);
    assert_eq!(stats.items(), 5);
    assert_eq!(stats.pages(), 3);

    // Memberships are keyed by group and user together.
    let m = |g: &str, u: &str| GroupMembership::new(g, u);
    assert_ne!(m("g1", "u1").key(), m("g2", "u1").key());
    assert_eq!(m("g1", "u1").key(), m("g1", "u1").key());
}

/// The budget adapters use for their own (nested) walks: counts pages, and allows exactly
/// `max_pages` pages and `max_items` items.
#[test]
fn budget_allows_exactly_its_bounds() {
    let mut budget = WalkLimits::default()
        .with_max_pages(2)
        .with_max_items(6)
        .start();
    assert_eq!(budget.pages(), 0);
    budget.before_page().expect("first page");
    budget.add_items(3).expect("three items");
    assert_eq!(budget.pages(), 1);
    budget.before_page().expect("second page");
    budget.add_items(3).expect("exactly max_items items");
    assert_eq!(budget.pages(), 2);
    let err = budget.before_page().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContractViolation);
    assert!(err.message().contains("2 pages"), "{err}");
    assert_eq!(budget.pages(), 2, "a refused page is not counted");
    let err = budget.add_items(1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ContractViolation);
    assert!(err.message().contains("6 items"), "{err}");
}

fn sample_user(id: &str) -> User {
    serde_json::from_value(serde_json::json!({ "id": id, "status": "active", "emails": [], "roles": [], "groups": [] })).expect("user")
}

/// A full read larger than the walker keeps in memory (its seen keys move to a temporary
/// file past a few thousand): a user repeated in a later batch, long after the move, is
/// still dropped, and every other user still comes out once.
#[tokio::test]
async fn a_read_past_the_in_memory_keys_still_drops_every_repeat() {
    let batch = |range: std::ops::Range<usize>| -> Vec<User> {
        range.map(|i| sample_user(&format!("user-{i}"))).collect()
    };
    let mut batches = Vec::new();
    for start in (0..20_000).step_by(500) {
        batches.push(Ok(batch(start..start + 500)));
    }
    // Repeats of early and late users, after the set has moved.
    batches.push(Ok(batch(0..3)));
    batches.push(Ok(batch(19_990..20_001)));
    let walker = Walker::new(WalkLimits::default());
    let users: Vec<Vec<User>> = walker
        .batches(futures::stream::iter(batches).boxed())
        .try_collect()
        .await
        .expect("walk");
    let ids: Vec<&str> = users.iter().flatten().map(|u| u.id.as_str()).collect();
    assert_eq!(ids.len(), 20_001);
    assert_eq!(ids.last(), Some(&"user-20000"));
    let unique: std::collections::HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 20_001);
    assert_eq!(walker.stats().duplicates(), 13);
}
