//! The full read against a server that counts GraphQL complexity differently from the
//! adapter's model of it (issue 16, A1): a stricter rule (each edge object charged too) and
//! charge-before accounting (the requested points are charged before the query runs). The
//! read completes with the same users as against the documented rules, gets no 429, says
//! what it adapted to (a `Report` of kind `Adapted`) and logs its calibration.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::TryStreamExt;
use unidir_buildkite::{Buildkite, GraphqlMode, ReportKind};
use unidir_buildkite_sim::{Accounting, CostRule, RunningSimulator, SimConfig, Simulator};
use unidir_core::{Detail, DirectoryExt, ListQuery, User};
use unidir_http::testing::{LogCapture, RecordingObserver};

fn directory(sim: &RunningSimulator, observer: &RecordingObserver) -> Buildkite {
    Buildkite::builder()
        .with_token(sim.default_token())
        .with_organization(sim.org_slug())
        .with_rest_url(sim.base_url().as_str())
        .with_graphql_url(sim.graphql_url().as_str())
        .with_graphql(GraphqlMode::Auto)
        .with_observer(Arc::new(observer.clone()))
        .build()
        .expect("directory")
}

/// Every user with every `(team, role)` and the attributes both details share, by id.
type Row = (
    String,
    Option<String>,
    BTreeSet<(String, Option<String>)>,
    BTreeSet<String>,
);

fn rows(users: &[User]) -> Vec<Row> {
    let mut rows: Vec<Row> = users
        .iter()
        .map(|u| {
            (
                u.id.clone(),
                u.name.clone(),
                u.groups
                    .iter()
                    .map(|g| (g.id.clone(), g.role_id.clone()))
                    .collect(),
                u.roles.iter().map(|r| r.id.clone()).collect(),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// The simulator's own memberships (the per-team truth), as `rows` has them.
fn truth(sim: &RunningSimulator) -> BTreeSet<(String, String, String)> {
    let snapshot = sim.snapshot();
    snapshot
        .members
        .iter()
        .flat_map(|m| {
            snapshot
                .teams_of(&m.user_uuid)
                .into_iter()
                .map(|tm| {
                    (
                        m.user_uuid.clone(),
                        tm.team_uuid.clone(),
                        format!("team:{}", tm.role.as_rest()),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn memberships(users: &[User]) -> BTreeSet<(String, String, String)> {
    users
        .iter()
        .flat_map(|u| {
            u.groups.iter().map(|g| {
                (
                    u.id.clone(),
                    g.id.clone(),
                    g.role_id.clone().unwrap_or_default(),
                )
            })
        })
        .collect()
}

/// 237 members (the organization) under Buildkite's default budgets, windows 300×
/// shorter (1 s GraphQL windows: a client waiting for a reset over-waits, never under-waits); the GraphQL budget covers the members with nested teams, so the planner takes
/// the nested walk, whose first page the stricter rule prices over the 50,000-point cap.
fn config(rule: CostRule, accounting: Accounting) -> SimConfig {
    SimConfig::default()
        .with_users(237)
        .with_teams(12)
        .with_time_scale(300)
        .with_cost_rule(rule)
        .with_accounting(accounting)
}

async fn read(bk: &Buildkite, detail: Detail, label: &str) -> Vec<User> {
    bk.users(ListQuery::new().with_detail(detail))
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{label}: the full read completes: {e}"))
}

#[tokio::test]
async fn full_read_completes_under_a_stricter_cost_rule_and_charge_before() {
    let logs = LogCapture::start();
    let baseline = {
        let sim = Simulator::start(config(CostRule::Documented, Accounting::ChargeActual))
            .await
            .expect("sim");
        let users = read(
            &directory(&sim, &RecordingObserver::default()),
            Detail::Full,
            "baseline",
        )
        .await;
        assert_eq!(
            memberships(&users),
            truth(&sim),
            "baseline: every membership"
        );
        rows(&users)
    };
    for (rule, accounting) in [
        (CostRule::EdgesCharged, Accounting::ChargeActual),
        (CostRule::Documented, Accounting::ChargeRequested),
        (CostRule::EdgesCharged, Accounting::ChargeRequested),
    ] {
        let sim = Simulator::start(config(rule, accounting))
            .await
            .expect("sim");
        for detail in [Detail::Full, Detail::Essential] {
            let label = format!("{rule:?} {accounting:?} {detail:?}");
            let observer = RecordingObserver::default();
            let bk = directory(&sim, &observer);
            let before = sim.stats();
            let users = read(&bk, detail, &label).await;
            let after = sim.stats();
            assert_eq!(rows(&users), baseline, "{label}: the baseline's users");
            assert_eq!(
                memberships(&users),
                truth(&sim),
                "{label}: every membership"
            );
            assert_eq!(
                after.graphql_rate_limited, before.graphql_rate_limited,
                "{label}: no GraphQL 429"
            );
            assert_eq!(
                after.rest_rate_limited, before.rest_rate_limited,
                "{label}: no REST 429"
            );
            if rule == CostRule::EdgesCharged {
                let reports = observer.reports();
                assert!(
                    reports.iter().any(|r| r.kind == ReportKind::Adapted),
                    "{label}: the adaptation is reported: {reports:?}"
                );
            }
        }
    }
    let text = logs.text();
    assert!(
        text.contains("graphql complexity calibrated")
            && text.contains("estimate=")
            && text.contains("server=")
            && text.contains("ratio="),
        "the calibration is logged"
    );
}

/// Only a page size the caller chose surfaces a refusal, and its error names the largest page
/// that fits, which then works; a read without a size adapts instead.
#[tokio::test]
async fn a_caller_chosen_page_too_large_names_the_largest_that_fits() {
    use unidir_core::{Directory, ErrorKind};
    // Every test of this binary logs into a capture of its own: a thread without a
    // subscriber that reaches a log line first can leave it disabled for the thread whose
    // test reads the calibration event (tracing caches callsite interest).
    let _logs = LogCapture::start();
    let sim = Simulator::start(
        SimConfig::unlimited()
            .with_users(30)
            .with_cost_rule(CostRule::EdgesCharged)
            .with_max_query_complexity(Some(500)),
    )
    .await
    .expect("sim");
    let observer = RecordingObserver::default();
    let bk = directory(&sim, &observer);
    let error = bk
        .list_users(&ListQuery::new().with_limit(100))
        .await
        .expect_err("a page of 100 cannot fit 500 points");
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    let message = error.message();
    let largest: u32 = message
        .split("the largest page that fits is ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("names the largest page: {message}"));
    assert!((1..100).contains(&largest), "{message}");
    let page = bk
        .list_users(&ListQuery::new().with_limit(largest))
        .await
        .expect("the largest page that fits is served");
    assert_eq!(page.result.len(), largest as usize);
    // Without a page size the same directory adapts and reads everyone.
    let users = read(&bk, Detail::Full, "no limit").await;
    assert_eq!(users.len(), 30);
}
