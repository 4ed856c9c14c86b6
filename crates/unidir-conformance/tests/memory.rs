//! The in-memory reference directory passes the whole suite.

use unidir_conformance::{Status, World, memory_directory, run_all};

#[tokio::test]
async fn memory_directory_passes_the_whole_suite() {
    let world = World::small();
    let directory = memory_directory(&world).expect("valid world");
    let report = run_all(&directory, &world).await;
    eprintln!("{report}");
    report.assert_passed();
    // The memory directory declares everything, always available; the world has one
    // organization, so there is no organization cursor to replay.
    let skipped: Vec<_> = report.skipped().map(|c| c.name.as_str()).collect();
    assert_eq!(
        skipped,
        [
            "capabilities.unavailable_refused",
            "paging.organizations.cursor_bound_to_query"
        ]
    );
    // The provisioning checks put the world back, so a second run passes too.
    run_all(&directory, &world).await.assert_passed();
}

#[tokio::test]
async fn without_a_credential_user_me_is_skipped_and_unsupported() {
    let mut world = World::small();
    world.me = None;
    let directory = memory_directory(&world).expect("valid world");
    let report = run_all(&directory, &world).await;
    report.assert_passed();
    assert!(matches!(
        report.check("me.identity").map(|c| &c.status),
        Some(Status::Skipped(why)) if why.contains("me.get")
    ));
    // The undeclared `me` was called and answered Unsupported.
    assert_eq!(
        report
            .check("capabilities.undeclared_unsupported")
            .map(|c| &c.status),
        Some(&Status::Passed)
    );
}

#[tokio::test]
async fn memory_passes_with_a_group_without_roles() {
    let world = World::mixed();
    let directory = memory_directory(&world).expect("valid world");
    let report = run_all(&directory, &world).await;
    eprintln!("{report}");
    report.assert_passed();
    assert_eq!(
        report.check("provision.roleless_group").map(|c| &c.status),
        Some(&Status::Passed)
    );
    // Put back as the world has it, so a second run passes too.
    run_all(&directory, &world).await.assert_passed();
}
