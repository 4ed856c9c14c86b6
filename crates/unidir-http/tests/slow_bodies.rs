//! A body that starts and then drips or stalls is announced like an answer that never
//! starts: a person at a terminal is told the provider is still sending, and how much came.

use std::sync::Arc;
use std::time::Duration;

use unidir_core::ErrorKind;
use unidir_http::testing::hostile::{HostileServer, Reply};
use unidir_http::testing::{RecordingObserver, RecordingSleeper};
use unidir_http::{HttpClientBuilder, NOTICE_AFTER, RetryPolicy, WaitReason};

#[tokio::test]
async fn a_body_that_stalls_after_its_headers_is_announced_with_the_bytes_received() {
    let body = format!("[{}]", "\"x\",".repeat(100));
    let server = HostileServer::start(move |_| {
        Reply::raw_json(200, body.clone().into_bytes()).hang_after(40)
    })
    .await;
    let observer = RecordingObserver::default();
    let http = HttpClientBuilder::new("test")
        // Past the notice, so the wait is announced before the attempt gives up.
        .with_timeout(NOTICE_AFTER + Duration::from_millis(800))
        .with_retry_policy(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        })
        .with_sleeper(Arc::new(RecordingSleeper::default()))
        .with_observer(Arc::new(observer.clone()))
        .build()
        .expect("client");
    let url = server.url();
    let err = http
        .execute("read", true, || http.reqwest().get(&url))
        .await
        .expect_err("the body never ends");
    assert_eq!(err.kind(), ErrorKind::Upstream, "{err}");
    let notices = observer.notices();
    let slow: Vec<_> = notices
        .iter()
        .filter(|n| matches!(n.reason, WaitReason::SlowBody { .. }))
        .collect();
    assert_eq!(slow.len(), 1, "{notices:?}");
    assert_eq!(slow[0].reason, WaitReason::SlowBody { received: 40 });
    assert!(
        slow[0].text.contains("40 bytes"),
        "the notice says how much came: {}",
        slow[0].text
    );
    assert!(
        !notices.iter().any(|n| n.reason == WaitReason::SlowResponse),
        "the headers came at once: {notices:?}"
    );
}
