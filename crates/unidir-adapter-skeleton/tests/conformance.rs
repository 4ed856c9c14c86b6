//! The skeleton over its simulator passes every conformance check it declares; what it does
//! not declare is skipped, and answers `Unsupported`.

mod support;

use unidir_conformance::{Status, World, run_all};

#[tokio::test]
async fn the_skeleton_passes_every_check_it_declares() {
    let world = World::small();
    let server = support::serve(&world).await;
    let toy = support::builder(&server)
        .build()
        .expect("valid configuration");

    let report = run_all(&toy, &world).await;
    report.assert_passed();
    eprintln!("{report}");

    let status = |name: &str| {
        report
            .check(name)
            .map(|c| c.status.clone())
            .unwrap_or_else(|| panic!("no check {name}\n{report}"))
    };
    // What the skeleton declares ran and held (a sample from every suite).
    for name in [
        "capabilities.consistent",
        "capabilities.declared_work",
        "capabilities.undeclared_unsupported",
        "listing.organizations",
        "listing.users",
        "listing.groups",
        "listing.group_members",
        "get.users",
        "get.groups",
        "get.not_found",
        "get.missing_parent",
        "me.identity",
        "filters.users.email",
        "filters.undeclared_refused",
        "paging.users.every_item_once",
        "paging.roles.cursor_bound_to_query",
        "paging.group_members.cursor_bound_to_query",
        "paging.groups.invalid_cursor_refused",
        "paging.empty_results",
        "errors.limit_zero",
        "errors.hostile_ids",
    ] {
        assert_eq!(status(name), Status::Passed, "{name}\n{report}");
    }
    // What it does not declare was skipped, not failed.
    for name in [
        "get.organization",
        "get.roles",
        "listing.user_groups",
        "filters.users.status",
        "provision.add",
        "provision.plan_apply_converges",
    ] {
        assert!(
            matches!(status(name), Status::Skipped(_)),
            "{name}\n{report}"
        );
    }
    server.shutdown().await;
}
