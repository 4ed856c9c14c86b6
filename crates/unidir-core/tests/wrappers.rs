//! A directory behind `Arc` or `Box` is the directory (every method forwarded, defaulted
//! ones included), and `Arc` streams own it (`'static`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use unidir_core::{
    ArcDirectoryExt, Capabilities, Cursor, Directory, DirectoryExt, ErrorKind, GetOptions, Group,
    GroupMembership, ListQuery, Me, MemoryDirectory, Organization, Page, Result, Role, User,
    UserRef, WalkLimits, async_trait, sample_directory,
};

/// The sample directory with the two methods a wrapper most easily forgets to forward
/// overridden: `walk_limits` and `read_users` (which hands the users out one batch each).
#[derive(Debug)]
struct Probe {
    inner: MemoryDirectory,
    batches: AtomicUsize,
}

fn probe() -> Probe {
    Probe {
        inner: sample_directory(),
        batches: AtomicUsize::new(0),
    }
}

const PROBE_PAGES: u64 = 77;

#[async_trait]
impl Directory for Probe {
    fn provider(&self) -> &'static str {
        "probe"
    }

    fn walk_limits(&self) -> WalkLimits {
        WalkLimits::default().with_max_pages(PROBE_PAGES)
    }

    async fn capabilities(&self) -> Result<Capabilities> {
        self.inner.capabilities().await
    }

    async fn me(&self, options: &GetOptions) -> Result<Me> {
        self.inner.me(options).await
    }

    async fn list_organizations(&self, query: &ListQuery) -> Result<Page<Organization>> {
        self.inner.list_organizations(query).await
    }

    async fn get_organization(&self, id: &str, options: &GetOptions) -> Result<Organization> {
        self.inner.get_organization(id, options).await
    }

    async fn list_users(&self, query: &ListQuery) -> Result<Page<User>> {
        self.inner.list_users(query).await
    }

    fn read_users(&self, query: ListQuery) -> BoxStream<'_, Result<Vec<User>>> {
        self.inner
            .users(query)
            .map_ok(|user| {
                self.batches.fetch_add(1, Ordering::Relaxed);
                vec![user]
            })
            .boxed()
    }

    async fn get_user(&self, id: &str, options: &GetOptions) -> Result<User> {
        self.inner.get_user(id, options).await
    }

    async fn list_groups(&self, query: &ListQuery) -> Result<Page<Group>> {
        self.inner.list_groups(query).await
    }

    async fn get_group(&self, id: &str, options: &GetOptions) -> Result<Group> {
        self.inner.get_group(id, options).await
    }

    async fn list_roles(&self, query: &ListQuery) -> Result<Page<Role>> {
        self.inner.list_roles(query).await
    }

    async fn get_role(&self, id: &str, options: &GetOptions) -> Result<Role> {
        self.inner.get_role(id, options).await
    }

    async fn list_group_members(
        &self,
        group_id: &str,
        query: &ListQuery,
    ) -> Result<Page<GroupMembership>> {
        self.inner.list_group_members(group_id, query).await
    }

    async fn list_user_groups(&self, user_id: &str, query: &ListQuery) -> Result<Page<Group>> {
        self.inner.list_user_groups(user_id, query).await
    }

    async fn add_group_member(
        &self,
        group_id: &str,
        user: &UserRef,
        role_id: Option<&str>,
    ) -> Result<unidir_core::MembershipResult> {
        self.inner.add_group_member(group_id, user, role_id).await
    }

    async fn change_group_member_role(
        &self,
        group_id: &str,
        user: &UserRef,
        role_id: &str,
    ) -> Result<unidir_core::MembershipResult> {
        self.inner
            .change_group_member_role(group_id, user, role_id)
            .await
    }

    async fn remove_group_member(
        &self,
        group_id: &str,
        user: &UserRef,
    ) -> Result<unidir_core::MembershipResult> {
        self.inner.remove_group_member(group_id, user).await
    }
}

/// What every method answers, as text (errors by kind): two directories that answer alike
/// give the same transcript. Writes run last and show only their outcome.
async fn transcript<D: Directory + ?Sized>(d: &D) -> Vec<String> {
    let q = ListQuery::new().with_limit(2);
    let o = GetOptions::with_remote_data();
    let show = |r: std::result::Result<String, unidir_core::Error>| match r {
        Ok(text) => text,
        Err(e) => format!("error {:?}", e.kind()),
    };
    let dbg = |v: &dyn std::fmt::Debug| format!("{v:?}");
    let u = UserRef::Id("u-3".into());
    vec![
        d.provider().to_owned(),
        dbg(&d.walk_limits()),
        show(d.capabilities().await.map(|c| dbg(&c))),
        show(d.me(&o).await.map(|m| dbg(&m))),
        show(d.list_organizations(&q).await.map(|p| dbg(&p))),
        show(d.get_organization("org-1", &o).await.map(|x| dbg(&x))),
        show(d.list_users(&q).await.map(|p| dbg(&p))),
        show(
            d.read_users(ListQuery::new())
                .try_collect::<Vec<_>>()
                .await
                .map(|b| dbg(&b)),
        ),
        show(d.get_user("u-2", &o).await.map(|x| dbg(&x))),
        show(d.list_groups(&q).await.map(|p| dbg(&p))),
        show(d.get_group("g-2", &o).await.map(|x| dbg(&x))),
        show(d.list_roles(&q).await.map(|p| dbg(&p))),
        show(d.get_role("group:member", &o).await.map(|x| dbg(&x))),
        show(d.list_group_members("g-1", &q).await.map(|p| dbg(&p))),
        show(d.list_user_groups("u-1", &q).await.map(|p| dbg(&p))),
        show(
            d.add_group_member("g-2", &u, Some("group:member"))
                .await
                .map(|r| dbg(&r.outcome)),
        ),
        show(
            d.change_group_member_role("g-2", &u, "group:maintainer")
                .await
                .map(|r| dbg(&r.outcome)),
        ),
        show(
            d.remove_group_member("g-2", &u)
                .await
                .map(|r| dbg(&r.outcome)),
        ),
    ]
}

#[tokio::test]
async fn arc_and_box_forward_every_method() {
    let direct = transcript(&probe()).await;
    assert_eq!(direct[0], "probe");
    assert!(direct[1].contains(&format!("max_pages: {PROBE_PAGES}")));
    assert!(
        direct.iter().all(|l| !l.contains("Unsupported")),
        "the probe implements everything: {direct:#?}"
    );

    let arc = Arc::new(probe());
    assert_eq!(transcript(&arc).await, direct, "Arc<Probe>");
    assert!(
        arc.batches.load(Ordering::Relaxed) > 0,
        "the probe's read_users ran"
    );
    let dyn_arc: Arc<dyn Directory> = Arc::new(probe());
    assert_eq!(transcript(&dyn_arc).await, direct, "Arc<dyn Directory>");
    let boxed: Box<dyn Directory> = Box::new(probe());
    assert_eq!(transcript(&boxed).await, direct, "Box<dyn Directory>");
    let nested: Box<Arc<dyn Directory>> = Box::new(Arc::new(probe()));
    assert_eq!(transcript(&nested).await, direct, "Box<Arc<dyn Directory>>");
}

/// A metrics wrapper written once, generic over the directory it wraps.
#[derive(Debug)]
struct Counting<D> {
    inner: D,
    calls: AtomicUsize,
}

impl<D: Directory> Counting<D> {
    async fn users_named(&self) -> Result<Vec<Option<String>>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let users: Vec<User> = self.inner.users(ListQuery::new()).try_collect().await?;
        Ok(users.into_iter().map(|u| u.name).collect())
    }
}

#[tokio::test]
async fn a_generic_wrapper_takes_a_shared_or_boxed_directory() {
    let shared: Arc<dyn Directory> = Arc::new(sample_directory());
    let over_arc = Counting {
        inner: Arc::clone(&shared),
        calls: AtomicUsize::new(0),
    };
    let over_box = Counting {
        inner: Box::new(sample_directory()) as Box<dyn Directory>,
        calls: AtomicUsize::new(0),
    };
    let names = over_arc.users_named().await.expect("names");
    assert_eq!(names.len(), 4);
    assert_eq!(over_box.users_named().await.expect("names"), names);
    assert_eq!(over_arc.calls.load(Ordering::Relaxed), 1);
    // The provisioning helpers are generic too: an Arc is passed as it is.
    let found = unidir_core::provision::resolve_group(&shared, "security")
        .await
        .expect("resolve");
    assert_eq!(found.map(|g| g.id).as_deref(), Some("g-2"));
}

fn everyone(directory: Arc<dyn Directory>) -> BoxStream<'static, Result<User>> {
    directory.into_users(ListQuery::new().with_limit(1))
}

#[tokio::test]
async fn arc_streams_own_the_directory() {
    let probe = Arc::new(probe());
    let expected: Vec<User> = probe
        .users(ListQuery::new())
        .try_collect()
        .await
        .expect("users");
    let batches_before = probe.batches.load(Ordering::Relaxed);

    // Returned from a function, the last other handle dropped, then walked on another task.
    let stream = everyone(Arc::clone(&probe) as Arc<dyn Directory>);
    let handle = Arc::downgrade(&probe);
    drop(probe);
    assert!(
        handle.upgrade().is_some(),
        "the stream keeps the directory alive"
    );
    let users = tokio::spawn(stream.try_collect::<Vec<User>>())
        .await
        .expect("task")
        .expect("users");
    assert_eq!(users, expected);
    let probe = handle.upgrade();
    assert!(
        probe.is_none(),
        "the walk ended and let go of the directory"
    );

    let shared: Arc<dyn Directory> = Arc::new(sample_directory());
    let groups: Vec<Group> = Arc::clone(&shared)
        .into_groups(ListQuery::new().with_limit(1))
        .try_collect()
        .await
        .expect("groups");
    let direct: Vec<Group> = shared
        .groups(ListQuery::new())
        .try_collect()
        .await
        .expect("groups");
    assert_eq!(groups, direct);
    let members: Vec<GroupMembership> = Arc::clone(&shared)
        .into_group_members("g-1".to_owned(), ListQuery::new().with_limit(1))
        .try_collect()
        .await
        .expect("members");
    assert_eq!(members.len(), 2);
    let of_ada: Vec<Group> = Arc::clone(&shared)
        .into_user_groups("u-1".to_owned(), ListQuery::new())
        .try_collect()
        .await
        .expect("groups");
    assert_eq!(of_ada.len(), 2);
    let roles: Vec<Role> = Arc::clone(&shared)
        .into_roles(ListQuery::new())
        .try_collect()
        .await
        .expect("roles");
    assert_eq!(roles.len(), 4);
    let orgs: Vec<Organization> = Arc::clone(&shared)
        .into_organizations(ListQuery::new())
        .try_collect()
        .await
        .expect("organizations");
    assert_eq!(orgs.len(), 1);
    assert!(batches_before > 0);
}

#[tokio::test]
async fn an_owned_stream_ends_after_an_error_and_can_be_dropped_early() {
    let shared: Arc<dyn Directory> = Arc::new(sample_directory());
    let bad = ListQuery::new().with_cursor(Cursor::new("garbage"));
    let all: Vec<Result<Group>> = Arc::clone(&shared).into_groups(bad).collect().await;
    assert_eq!(all.len(), 1, "one error, then the end: {all:?}");
    assert_eq!(
        all[0].as_ref().map(drop).unwrap_err().kind(),
        ErrorKind::InvalidCursor
    );

    let mut users = Arc::clone(&shared).into_users(ListQuery::new().with_limit(1));
    let first = users.next().await.expect("an item").expect("a user");
    assert_eq!(first.id, "u-1");
    drop(users);
    assert_eq!(Arc::strong_count(&shared), 1, "dropping the stream let go");
}
