//! What the conformance suite cannot see: rate limits and retries (asserted on a recording
//! sleeper, never by sleeping), the token canary, the provider breaking its paging contract,
//! walk bounds, and caller ids that never reach the server.

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use unidir_conformance::World;
use unidir_core::{Directory, DirectoryExt, ErrorKind, GetOptions, ListQuery, WalkLimits};
use unidir_http::HttpOptions;
use unidir_http::testing::{LogCapture, Outputs, RecordingSleeper};
use unidir_sim_harness::{Fault, LimitScope};

use support::sim::Quirk;

#[tokio::test]
async fn rate_limits_are_waited_out_and_server_errors_retried() {
    let world = World::small();
    let server = support::serve(&world).await;
    let sleeper = RecordingSleeper::default();
    let toy = support::builder(&server)
        .with_http_options(HttpOptions::new().with_sleeper(Arc::new(sleeper.clone())))
        .build()
        .expect("valid");

    // A 429 whose `x-ratelimit-reset` is a Unix time 7 s ahead: waited out, then retried.
    server.inject(Fault::rate_limited(7, LimitScope::User));
    let users = toy.list_users(&ListQuery::new()).await.expect("retried");
    assert_eq!(users.result_count(), world.users.len());
    let waits = sleeper.delays();
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(
        waits[0] > Duration::from_secs(5) && waits[0] <= Duration::from_secs(7),
        "{waits:?}"
    );

    // A 503 on an idempotent read: retried after a short backoff.
    server.inject(Fault::server_error(503));
    let groups = toy.list_groups(&ListQuery::new()).await.expect("retried");
    assert_eq!(groups.result_count(), world.groups.len());
    let waits = sleeper.delays();
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert!(waits[1] < Duration::from_secs(1), "{waits:?}");
    assert_eq!(server.request_count(), 4);
    server.shutdown().await;
}

#[tokio::test]
async fn a_wrong_token_is_unauthenticated_and_no_token_leaks() {
    const WRONG: &str = "toy_wrong_41c2e8";
    let logs = LogCapture::start();
    let server = support::serve(&World::small()).await;
    let mut outputs = Outputs::default();

    let wrong = support::builder(&server)
        .with_token(WRONG)
        .build()
        .expect("valid");
    let refused = wrong.list_users(&ListQuery::new()).await;
    let error = refused.as_ref().expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Unauthenticated);
    assert_eq!(error.message(), "bad credentials");
    outputs.result(&refused);
    outputs.push(format!("{wrong:?}"));

    let right = support::builder(&server).build().expect("valid");
    outputs.result(&right.me(&GetOptions::new()).await);
    outputs.result(&right.get_user("u_404", &GetOptions::new()).await);
    outputs.push(format!("{right:?}"));

    for secret in [support::TOKEN, WRONG] {
        outputs.assert_free_of(secret);
        logs.assert_free_of(secret);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_provider_breaking_the_paging_contract_is_a_contract_violation() {
    let server = support::serve(&World::small()).await;
    let toy = support::builder(&server).build().expect("valid");
    let two = ListQuery::new().with_limit(2);

    server.provider().set_quirk(Some(Quirk::SkipsPages));
    let skipped = toy.list_users(&two).await.expect_err("refused");
    assert_eq!(skipped.kind(), ErrorKind::ContractViolation, "{skipped}");
    let walk: Result<Vec<_>, _> = toy.users(two.clone()).try_collect().await;
    assert_eq!(
        walk.expect_err("never a short list").kind(),
        ErrorKind::ContractViolation
    );

    server.provider().set_quirk(Some(Quirk::OversizedPages));
    let oversized = toy.list_groups(&two).await.expect_err("refused");
    assert_eq!(
        oversized.kind(),
        ErrorKind::ContractViolation,
        "{oversized}"
    );

    server.provider().set_quirk(None);
    let everyone: Vec<_> = toy.users(two).try_collect().await.expect("walks");
    assert_eq!(everyone.len(), 5);
    server.shutdown().await;
}

#[tokio::test]
async fn walks_stop_at_their_bound() {
    let server = support::serve(&World::small()).await;
    let toy = support::builder(&server)
        .with_walk_limits(WalkLimits::default().with_max_pages(2))
        .build()
        .expect("valid");
    // Five users one per page need five pages: the walk stops with an error, never a
    // truncated list.
    let walk: Result<Vec<_>, _> = toy
        .users(ListQuery::new().with_limit(1))
        .try_collect()
        .await;
    let error = walk.expect_err("bounded");
    assert_eq!(error.kind(), ErrorKind::ContractViolation);
    assert!(error.message().contains("max_pages"), "{error}");
    let fits: Vec<_> = toy
        .users(ListQuery::new().with_limit(3))
        .try_collect()
        .await
        .expect("two pages");
    assert_eq!(fits.len(), 5);
    server.shutdown().await;
}

#[tokio::test]
async fn caller_ids_never_reach_the_server_unchecked() {
    let server = support::serve(&World::small()).await;
    let toy = support::builder(&server).build().expect("valid");
    let o = GetOptions::new();
    for id in ["../org", "u_1/../../org", "u_1?x=1", "u_1#f", ""] {
        let e = toy.get_user(id, &o).await.expect_err(id);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{id}");
        let e = toy
            .list_group_members(id, &ListQuery::new())
            .await
            .expect_err(id);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{id}");
    }
    assert_eq!(server.request_count(), 0);
    server.shutdown().await;
}
