//! `me`, `orgs`, `users`, `groups`, `roles`, `members`, `user`.

use std::sync::Arc;

use futures::TryStreamExt;
use futures::stream::{BoxStream, StreamExt};
use serde::Serialize;
use unidir_core::provision::{resolve_group, resolve_group_role};
use unidir_core::{
    Cursor, Detail, Directory, DirectoryExt, GetOptions, Group, GroupMembership, ListQuery, Me,
    Organization, Page, Result, Role, User, UserRef, Walker, find_user_by_email,
};

use crate::cli::{Format, ListArgs};
use crate::connect::Connection;
use crate::exit::{CliResult, Failure, code};
use crate::output::{self, Out, Table};

type Pages<'a, T> = BoxStream<'a, Result<Page<T>>>;

/// The list query of `args`.
fn query(args: &ListArgs, remote_data: bool) -> ListQuery {
    let mut query = ListQuery::new().with_remote_data(remote_data);
    if let Some(limit) = args.limit {
        query = query.with_limit(limit);
    }
    if let Some(cursor) = &args.cursor {
        query = query.with_cursor(Cursor::new(cursor.trim()));
    }
    query
}

/// Prints a list: one page (`--page`/`--cursor`) or every page.
async fn emit<T: Serialize + Send>(
    out: &mut Out,
    args: &ListArgs,
    mut pages: Pages<'_, T>,
    walker: &Walker,
    render: impl Fn(&[T]) -> Table,
    noun: &'static str,
) -> CliResult {
    if args.single_page() {
        let page = pages
            .try_next()
            .await?
            .unwrap_or_else(|| Page::complete(Vec::new()));
        match out.format {
            Format::Json => out.json(&page)?,
            Format::Ndjson => out.items(&page.result)?,
            Format::Table => {
                out.table(&render(&page.result))?;
                out.line(format!(
                    "({} on this page)",
                    counted(page.result_count(), noun)
                ))?;
            }
        }
        if out.format != Format::Json {
            out.flush()?;
            match &page.next_cursor {
                Some(next) => output::note(format!("next page: --cursor {next}")),
                None => output::note("this is the last page"),
            }
        }
        return Ok(());
    }
    // Every page: printed as it arrives, so memory holds one page (and, for the table, at
    // most TABLE_CHUNK rows), however long the list is.
    let mut total = 0usize;
    match out.format {
        Format::Ndjson => {
            while let Some(page) = pages.try_next().await? {
                out.items(&page.result)?;
                out.flush()?;
            }
        }
        Format::Json => {
            let mut array = out.json_array();
            while let Some(page) = pages.try_next().await? {
                for item in &page.result {
                    array.push(out, item)?;
                }
            }
            array.finish(out)?;
        }
        Format::Table => {
            let mut rows: Vec<T> = Vec::new();
            while let Some(page) = pages.try_next().await? {
                for item in page.result {
                    rows.push(item);
                    if rows.len() == TABLE_CHUNK {
                        total += rows.len();
                        out.table(&render(&rows))?;
                        out.flush()?;
                        rows.clear();
                    }
                }
            }
            // A list of up to TABLE_CHUNK rows is one table, as before; a longer one ends
            // with the remainder (no empty table after an exact multiple).
            if total == 0 || !rows.is_empty() {
                total += rows.len();
                out.table(&render(&rows))?;
            }
            out.line(format!("({})", counted(total, noun)))?;
        }
    }
    crate::notice::warn_duplicates(noun, walker.stats().duplicates());
    Ok(())
}

/// Rows per table in table mode: a longer list prints one table per block of this many
/// rows, each with its header, instead of holding the whole list to size the columns.
pub(crate) const TABLE_CHUNK: usize = 1000;

/// `1 user`, `2 users`.
fn counted(n: usize, plural: &str) -> String {
    if n == 1 {
        format!("1 {}", plural.strip_suffix('s').unwrap_or(plural))
    } else {
        format!("{n} {plural}")
    }
}

/// `unidir me`.
pub(crate) async fn me(conn: &Connection, out: &mut Out, remote_data: bool) -> CliResult {
    let options = GetOptions::new().remote_data(remote_data);
    let me = conn.directory.me(&options).await?;
    match out.format {
        Format::Json => out.json(&me)?,
        Format::Ndjson => out.ndjson(&me)?,
        Format::Table => out.table(&me_table(&me))?,
    }
    Ok(())
}

fn me_table(me: &Me) -> Table {
    let credential = me.credential.as_ref();
    output::key_values(vec![
        ("USER ID", me.user.id.clone()),
        ("NAME", output::opt(me.user.name.as_deref())),
        ("EMAIL", output::opt(me.user.primary_email())),
        ("SCOPES", me.scopes.join(" ")),
        (
            "ORGANIZATIONS",
            me.organizations
                .iter()
                .map(|o| o.slug.clone().unwrap_or_else(|| o.name.clone()))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (
            "TOKEN ID",
            output::opt(credential.and_then(|c| c.id.as_deref())),
        ),
        (
            "TOKEN DESCRIPTION",
            output::opt(credential.and_then(|c| c.description.as_deref())),
        ),
        (
            "TOKEN EXPIRES",
            credential
                .and_then(|c| c.expires_at.as_ref())
                .map_or_else(|| "never".to_owned(), |t| output::time(Some(t))),
        ),
    ])
}

/// `unidir orgs`.
pub(crate) async fn orgs(
    conn: &Connection,
    out: &mut Out,
    args: &ListArgs,
    remote_data: bool,
) -> CliResult {
    let dir = Arc::clone(&conn.directory);
    let walker = Walker::new(conn.directory.walk_limits());
    let pages = walker.pages(query(args, remote_data), move |q| {
        let dir = Arc::clone(&dir);
        async move { dir.list_organizations(&q).await }
    });
    emit(out, args, pages, &walker, orgs_table, "organizations").await
}

fn orgs_table(orgs: &[Organization]) -> Table {
    let mut table = output::table(&["ID", "SLUG", "NAME", "CREATED", "WEB URL"]);
    for org in orgs {
        table.row(vec![
            org.id.clone(),
            output::opt(org.slug.as_deref()),
            org.name.clone(),
            output::date(org.created_at.as_ref()),
            output::opt(org.web_url.as_deref()),
        ]);
    }
    table
}

/// Filters of `unidir users`.
#[derive(Debug, Default)]
pub(crate) struct UserFilters {
    /// `--email`.
    pub(crate) email: Option<String>,
    /// `--role`.
    pub(crate) role: Option<String>,
    /// `--group`.
    pub(crate) group: Option<String>,
    /// `--detail`.
    pub(crate) detail: Detail,
    /// `--with`.
    pub(crate) fields: Vec<unidir_core::UserField>,
}

/// `unidir users`.
pub(crate) async fn users(
    conn: &Connection,
    out: &mut Out,
    args: &ListArgs,
    filters: &UserFilters,
    remote_data: bool,
) -> CliResult {
    let mut query = query(args, remote_data);
    if let Some(email) = &filters.email {
        query = query.with_email(email.trim());
    }
    if let Some(role) = &filters.role {
        query = query.with_role_id(any_role(conn.directory.as_ref(), role).await?);
    }
    if let Some(group) = &filters.group {
        query = query.with_group_id(group_id(conn, group).await?.id);
    }
    let query = filters
        .fields
        .iter()
        .fold(query.with_detail(filters.detail), |q, &f| q.with_field(f));
    let walker = Walker::new(conn.directory.walk_limits());
    if args.single_page() {
        let dir = Arc::clone(&conn.directory);
        let pages = walker.pages(query, move |q| {
            let dir = Arc::clone(&dir);
            async move { dir.list_users(&q).await }
        });
        return emit(out, args, pages, &walker, users_table, "users").await;
    }
    // Every page: a full read, which the adapter may plan as a whole.
    let pages = walker
        .batches(conn.directory.read_users(query))
        .map_ok(Page::complete)
        .boxed();
    emit(out, args, pages, &walker, users_table, "users").await
}

fn users_table(users: &[User]) -> Table {
    let mut table = output::table(&["ID", "NAME", "EMAIL", "ORG ROLE", "GROUPS"]);
    for user in users {
        table.row(vec![
            user.id.clone(),
            output::opt(user.name.as_deref()),
            output::opt(user.primary_email()),
            output::org_roles(user),
            output::groups_of(user),
        ]);
    }
    table
}

/// A role of any scope: an id (`org:admin`), or an unambiguous short name (`admin`).
async fn any_role(directory: &dyn Directory, key: &str) -> CliResult<String> {
    let key = key.trim();
    let roles: Vec<Role> = directory.roles(ListQuery::new()).try_collect().await?;
    if let Some(role) = roles.iter().find(|r| r.id == key) {
        return Ok(role.id.clone());
    }
    let matching: Vec<&Role> = roles
        .iter()
        .filter(|r| output::short_role(&r.id) == key || r.name.eq_ignore_ascii_case(key))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(Failure::Usage(format!(
            "{key:?} is not a role; expected one of {}",
            roles
                .iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        many => Err(Failure::Usage(format!(
            "{key:?} is ambiguous; use one of {}",
            many.iter()
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// A group by id, slug or name, or a not-found failure naming the organization.
pub(crate) async fn group_id(conn: &Connection, key: &str) -> CliResult<Group> {
    match resolve_group(conn.directory.as_ref(), key.trim()).await? {
        Some(group) => Ok(group),
        None => Err(Failure::Coded(
            code::NOT_FOUND,
            format!(
                "no group with id, slug or name {key:?} in organization {} (`unidir groups` lists them)",
                conn.org.as_deref().unwrap_or("-")
            ),
        )),
    }
}

/// `unidir groups`.
pub(crate) async fn groups(
    conn: &Connection,
    out: &mut Out,
    args: &ListArgs,
    remote_data: bool,
) -> CliResult {
    let dir = Arc::clone(&conn.directory);
    let walker = Walker::new(conn.directory.walk_limits());
    let pages = walker.pages(query(args, remote_data), move |q| {
        let dir = Arc::clone(&dir);
        async move { dir.list_groups(&q).await }
    });
    emit(out, args, pages, &walker, groups_table, "groups").await
}

fn groups_table(groups: &[Group]) -> Table {
    let mut table = output::table(&["ID", "SLUG", "NAME", "PRIVACY", "DEFAULT"]);
    for group in groups {
        table.row(vec![
            group.id.clone(),
            output::opt(group.slug.as_deref()),
            group.name.clone(),
            output::opt(group.privacy.as_ref()),
            output::yes_no(group.is_default),
        ]);
    }
    table
}

/// `unidir roles`.
pub(crate) async fn roles(
    conn: &Connection,
    out: &mut Out,
    args: &ListArgs,
    remote_data: bool,
) -> CliResult {
    let dir = Arc::clone(&conn.directory);
    let walker = Walker::new(conn.directory.walk_limits());
    let pages = walker.pages(query(args, remote_data), move |q| {
        let dir = Arc::clone(&dir);
        async move { dir.list_roles(&q).await }
    });
    emit(out, args, pages, &walker, roles_table, "roles").await
}

fn roles_table(roles: &[Role]) -> Table {
    let mut table = output::table(&["ID", "NAME", "SCOPE", "DESCRIPTION"]);
    for role in roles {
        table.row(vec![
            role.id.clone(),
            role.name.clone(),
            role.scope.to_string(),
            output::opt(role.description.as_deref()),
        ]);
    }
    table
}

/// `unidir members <group>`.
pub(crate) async fn members(
    conn: &Connection,
    out: &mut Out,
    group: &str,
    args: &ListArgs,
    role: Option<&str>,
    remote_data: bool,
) -> CliResult {
    let group = group_id(conn, group).await?;
    let mut query = query(args, remote_data);
    if let Some(role) = role {
        query = query.with_role_id(resolve_group_role(conn.directory.as_ref(), role).await?);
    }
    let dir = Arc::clone(&conn.directory);
    let id = group.id.clone();
    let walker = Walker::new(conn.directory.walk_limits());
    let pages = walker.pages(query, move |q| {
        let dir = Arc::clone(&dir);
        let id = id.clone();
        async move { dir.list_group_members(&id, &q).await }
    });
    if out.format == Format::Table {
        out.line(format!(
            "Group {} ({})",
            group.name,
            group.slug.as_deref().unwrap_or(&group.id)
        ))?;
    }
    emit(out, args, pages, &walker, members_table, "members").await
}

fn members_table(members: &[GroupMembership]) -> Table {
    // Buildkite's team member lists carry no e-mail: show the column only when filled.
    let emails = members.iter().any(|m| m.user_email.is_some());
    let mut headers = vec!["USER ID", "NAME"];
    if emails {
        headers.push("EMAIL");
    }
    headers.extend(["ROLE", "SINCE"]);
    let mut table = output::table(&headers);
    for m in members {
        let mut row = vec![m.user_id.clone(), output::opt(m.user_name.as_deref())];
        if emails {
            row.push(output::opt(m.user_email.as_deref()));
        }
        row.push(
            m.role_id
                .as_deref()
                .map_or_else(|| "-".to_owned(), |r| output::short_role(r).to_owned()),
        );
        row.push(output::date(m.created_at.as_ref()));
        table.row(row);
    }
    table
}

/// Finds a user by id or e-mail, or fails with a not-found message naming the organization.
pub(crate) async fn find_user(conn: &Connection, raw: &str, remote_data: bool) -> CliResult<User> {
    let org = conn.org.as_deref().unwrap_or("-");
    match UserRef::parse(raw) {
        UserRef::Email(email) => {
            match find_user_by_email(conn.directory.as_ref(), &email, remote_data).await? {
                Some(user) => Ok(user),
                None => Err(Failure::Coded(
                    code::NOT_FOUND,
                    format!("no member of organization {org} has the e-mail {email}"),
                )),
            }
        }
        UserRef::Id(id) => {
            let options = GetOptions::new().remote_data(remote_data);
            match conn.directory.get_user(&id, &options).await {
                Ok(user) => Ok(user),
                Err(e) if e.kind() == unidir_core::ErrorKind::NotFound => Err(Failure::Coded(
                    code::NOT_FOUND,
                    format!("no member of organization {org} has the id {id}"),
                )),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// `unidir user <id|email>`.
pub(crate) async fn user(
    conn: &Connection,
    out: &mut Out,
    raw: &str,
    remote_data: bool,
) -> CliResult {
    let user = find_user(conn, raw, remote_data).await?;
    match out.format {
        Format::Json => out.json(&user)?,
        Format::Ndjson => out.ndjson(&user)?,
        Format::Table => out.table(&user_table(&user))?,
    }
    Ok(())
}

fn user_table(user: &User) -> Table {
    let emails: Vec<String> = user
        .emails
        .iter()
        .map(|e| {
            if e.is_primary {
                format!("{} (primary)", e.email)
            } else {
                e.email.clone()
            }
        })
        .collect();
    output::key_values(vec![
        ("ID", user.id.clone()),
        ("NAME", output::opt(user.name.as_deref())),
        ("USERNAME", output::opt(user.username.as_deref())),
        (
            "EMAILS",
            if emails.is_empty() {
                "-".to_owned()
            } else {
                emails.join(" ")
            },
        ),
        ("STATUS", user.status.to_string()),
        ("ORG ROLE", output::org_roles(user)),
        ("GROUPS", output::groups_of(user)),
        ("2FA", output::yes_no(user.is_2fa_enabled)),
        ("SSO REQUIRED", output::yes_no(user.is_sso_required)),
        ("BOT", output::yes_no(user.is_bot)),
        ("JOINED", output::time(user.created_at.as_ref())),
        ("LAST ACTIVE", output::time(user.last_active_at.as_ref())),
    ])
}
