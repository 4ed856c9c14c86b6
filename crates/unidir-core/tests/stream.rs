//! The stream helpers walk every page and fail loudly on a repeated cursor.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::TryStreamExt;
use unidir_core::{
    Cursor, Directory, DirectoryExt, ErrorKind, ListQuery, Page, paginate, paginate_pages,
    sample_directory,
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
