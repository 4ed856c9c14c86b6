//! The REST full read of a large organization joins its memberships and member pages on
//! disk (partition files, one partition at a time): forced here on a small simulated
//! organization, it returns exactly the in-memory join's users, and its temporary files are
//! never listed in their directory and are closed once the read ends, fails or is dropped.

use std::path::Path;

use futures::{StreamExt, TryStreamExt};
use unidir_buildkite::{Buildkite, BuildkiteBuilder, GraphqlMode};
use unidir_buildkite_sim::{Fault, RunningSimulator, SimConfig, Simulator};
use unidir_core::{Detail, DirectoryExt, ListQuery, User};

fn builder(sim: &RunningSimulator) -> BuildkiteBuilder {
    Buildkite::builder()
        .with_token(sim.default_token())
        .with_organization(sim.org_slug())
        .with_rest_url(sim.base_url().as_str())
        .with_graphql_url(sim.graphql_url().as_str())
        .with_graphql(GraphqlMode::Disabled)
}

/// On disk past 50 memberships (the organization has ≈ 2.5 per user), in `dir`.
fn on_disk(sim: &RunningSimulator, dir: &Path) -> Buildkite {
    builder(sim)
        .with_full_read_memberships_in_memory(50)
        .with_full_read_temp_dir(dir)
        .build()
        .expect("directory")
}

async fn read(bk: &Buildkite, query: ListQuery) -> Vec<User> {
    let mut users: Vec<User> = bk.users(query).try_collect().await.expect("full read");
    users.sort_by(|a, b| a.id.cmp(&b.id));
    users
}

/// This process's open files under `dir`.
fn open_files_under(dir: &Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("fd list")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.starts_with(dir))
        .count()
}

fn listed(dir: &Path) -> usize {
    std::fs::read_dir(dir).expect("temp dir").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disk_join_gives_exactly_the_in_memory_users() {
    let sim = Simulator::start(SimConfig::unlimited().with_users(400).with_teams(30))
        .await
        .expect("sim");
    let dir = tempfile::tempdir().expect("temp dir");
    let in_memory = builder(&sim).build().expect("directory");
    for (detail, remote_data) in [
        (Detail::Essential, false),
        (Detail::Full, false),
        (Detail::Essential, true),
    ] {
        let query = || {
            ListQuery::new()
                .with_detail(detail)
                .with_remote_data(remote_data)
        };
        let expected = read(&in_memory, query()).await;
        let bk = on_disk(&sim, dir.path());
        // The disk is really used: after the first user, partition files are open in `dir`
        // (an in-memory join opens none there).
        let mut stream = bk.users(query());
        let mut got = vec![stream.next().await.expect("a user").expect("no error")];
        let open = open_files_under(dir.path());
        assert!(
            open > 0,
            "{detail:?}: joined on disk, {open} files open in the temp dir"
        );
        while let Some(user) = stream.try_next().await.expect("full read") {
            got.push(user);
        }
        drop(stream);
        got.sort_by(|a, b| a.id.cmp(&b.id));
        let in_memory_files = {
            let mut stream = in_memory.users(query());
            stream.next().await.expect("a user").expect("no error");
            open_files_under(dir.path())
        };
        assert_eq!(
            in_memory_files, 0,
            "the in-memory join writes nothing there"
        );
        assert_eq!(expected.len(), 400, "every member");
        assert!(
            expected.iter().any(|u| u.groups.len() > 2),
            "real memberships"
        );
        // Every field, groups in team order and roles included, and the raw rows.
        assert_eq!(got, expected, "{detail:?}, remote data {remote_data}");
        assert_eq!(listed(dir.path()), 0, "nothing listed in the directory");
        assert_eq!(
            open_files_under(dir.path()),
            0,
            "every file closed after the read"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_abandoned_disk_join_leaves_no_file_open() {
    let sim = Simulator::start(SimConfig::unlimited().with_users(300).with_teams(20))
        .await
        .expect("sim");
    let dir = tempfile::tempdir().expect("temp dir");
    let bk = on_disk(&sim, dir.path());

    // The member pages fail after every team was read (and spilled): the read fails.
    let members = format!("/v2/organizations/{}/members", sim.org_slug());
    sim.inject(
        Fault::server_error(500)
            .with_times(1_000)
            .with_path_prefix(members),
    );
    let error = bk
        .users(ListQuery::new())
        .try_collect::<Vec<User>>()
        .await
        .expect_err("the member pages fail");
    assert_eq!(error.status(), Some(500), "{error}");
    assert_eq!(open_files_under(dir.path()), 0, "closed after the error");
    assert_eq!(listed(dir.path()), 0);
    sim.clear_faults();

    // A caller that stops after the first batch: the files close with the stream.
    let mut stream = bk.users(ListQuery::new());
    let first = stream.next().await.expect("a user").expect("no error");
    assert!(!first.id.is_empty());
    // Mid-join: partitions not yet joined are open (each is closed once joined).
    let open = open_files_under(dir.path());
    assert!(open > 0 && open <= 64, "{open} partition files open");
    assert_eq!(listed(dir.path()), 0);
    drop(stream);
    assert_eq!(
        open_files_under(dir.path()),
        0,
        "closed when the stream is dropped"
    );
    assert_eq!(listed(dir.path()), 0);
}
