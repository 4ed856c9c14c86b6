//! Reports (what a read adapted to or could not read) reach the observer and the log.

use std::sync::Arc;

use unidir_http::testing::{LogCapture, RecordingObserver};
use unidir_http::{HttpClientBuilder, Report, ReportKind};

#[tokio::test]
async fn a_report_reaches_the_observer_and_the_log() {
    let logs = LogCapture::start();
    let observer = RecordingObserver::default();
    let client = HttpClientBuilder::new("test")
        .with_observer(Arc::new(observer.clone()))
        .build()
        .expect("client");
    client.report(Report::new(
        "list_users",
        ReportKind::FieldsUnknown,
        3,
        "3 users were read without their 2FA state",
    ));
    let reports = observer.reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind, ReportKind::FieldsUnknown);
    assert_eq!(reports[0].count, 3);
    assert_eq!(
        reports[0].to_string(),
        "list_users: 3 users were read without their 2FA state"
    );
    let text = logs.text();
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("fields_unknown"), "{text}");
    assert!(observer.notices().is_empty());
}
