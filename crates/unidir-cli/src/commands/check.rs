//! `unidir check`: is this token, for this organization, good for what unidir does?
//!
//! Checks, in order: authentication (the token is accepted), the token's scopes against
//! what each operation needs (as the adapter's `capabilities()` reports them: the CLI keeps
//! no scope table of its own), the organization, and live reads of one page of users, teams
//! and one team's members. Every check is PASS, WARN (works, degraded), FAIL (with the
//! missing scope named when that is the cause) or SKIP (an earlier failure makes it moot).

use serde::Serialize;
use unidir_core::{
    Capabilities, Error, ErrorKind, ListQuery, Operation, OperationScopes, Resource,
    ResourceSupport,
};

use crate::cli::Format;
use crate::connect::Connection;
use crate::exit::{self, CliResult, Failure, TOKEN_PAGE, code};
use crate::output::{self, Out};

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    /// Works.
    Pass,
    /// Works, but degraded.
    Warn,
    /// Does not work.
    Fail,
    /// Not run.
    Skip,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
            Self::Skip => "SKIP",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    /// What was checked.
    pub(crate) name: String,
    /// The verdict.
    pub(crate) status: Status,
    /// What was found, or what to do.
    pub(crate) detail: String,
    /// The scope whose absence causes a FAIL or WARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) missing_scope: Option<String>,
    /// Exit code this failure maps to.
    #[serde(skip)]
    code: u8,
}

impl Check {
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status: Status::Pass,
            detail: detail.into(),
            missing_scope: None,
            code: 0,
        }
    }

    fn skip(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            status: Status::Skip,
            ..Self::pass(name, detail)
        }
    }

    fn failed(name: impl Into<String>, error: &Error) -> Self {
        let body = error.to_body();
        let detail = match (&body.kind, &body.missing_scope) {
            (ErrorKind::PermissionDenied, Some(scope)) => format!(
                "missing scope {scope}: Buildkite refused {}{}",
                body.operation,
                body.status
                    .map(|s| format!(" (HTTP {s})"))
                    .unwrap_or_default()
            ),
            _ => exit::explain(&body),
        };
        Self {
            name: name.into(),
            status: Status::Fail,
            detail,
            missing_scope: body.missing_scope.clone(),
            code: exit::code_of(body.kind),
        }
    }
}

/// How the report names a resource's operations: the commands that use them.
fn label(resource: Resource, writes: bool) -> &'static str {
    match resource {
        _ if writes => "grant/revoke/apply",
        Resource::Me => "me",
        Resource::Organizations => "orgs",
        Resource::Users => "users",
        Resource::Groups => "groups",
        Resource::Roles => "roles",
        Resource::GroupMembers => "members",
        Resource::UserGroups => "user groups",
        other => other.as_str(),
    }
}

fn names(operations: &[Operation]) -> String {
    let names: Vec<&str> = operations.iter().map(|op| op.as_str()).collect();
    names.join(", ")
}

/// Pushes `item` unless already there (scopes keep the adapter's order).
fn push_once<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// One verdict for some operations of a resource, from the scopes the adapter reports. A
/// missing scope a read needs is a FAIL; one only writes need is a WARN (grant, revoke and
/// apply are optional); one whose absence only degrades an operation is a WARN.
fn judge(support: &ResourceSupport, operations: &[Operation], writes: bool) -> Check {
    let name = format!("scopes for {}", label(support.resource, writes));
    let reported: Vec<&OperationScopes> = operations
        .iter()
        .filter_map(|op| support.scopes_of(*op))
        .collect();
    if reported.is_empty() {
        // The adapter reports availability only.
        if let Some(first) = support
            .missing_scopes
            .first()
            .filter(|_| !support.available)
        {
            let missing = support.missing_scopes.join(", ");
            return Check {
                detail: format!("missing scope {missing}: create a token with it at {TOKEN_PAGE}"),
                status: Status::Fail,
                missing_scope: Some(first.clone()),
                code: code::PERMISSION,
                ..Check::pass(name, "")
            };
        }
        return Check::pass(name, "no scope reported");
    }
    let mut held = Vec::new();
    let mut blocking = Vec::new();
    let mut blocked_ops = Vec::new();
    let mut degrading: Vec<(&str, &str)> = Vec::new();
    for scopes in &reported {
        for need in &scopes.scopes {
            match (&need.degraded_without, need.granted) {
                (_, true) => push_once(&mut held, need.scope.as_str()),
                (None, false) => {
                    push_once(&mut blocking, need.scope.as_str());
                    push_once(&mut blocked_ops, scopes.operation);
                }
                (Some(effect), false) => push_once(&mut degrading, (&need.scope, effect)),
            }
        }
    }
    if let Some(first) = blocking.first() {
        let missing = blocking.join(", ");
        if writes {
            return Check {
                status: Status::Warn,
                detail: format!(
                    "missing scope {missing}: grant, revoke and apply will fail; plan still works"
                ),
                missing_scope: Some((*first).to_owned()),
                ..Check::pass(name, "")
            };
        }
        let only = if blocked_ops.len() < reported.len() {
            format!(" ({} fails)", names(&blocked_ops))
        } else {
            String::new()
        };
        return Check {
            status: Status::Fail,
            detail: format!(
                "missing scope {missing}{only}: create a token with {} at {TOKEN_PAGE}",
                blocking.join(" ")
            ),
            missing_scope: Some((*first).to_owned()),
            code: code::PERMISSION,
            ..Check::pass(name, "")
        };
    }
    if let Some((first, _)) = degrading.first() {
        let scopes: Vec<&str> = degrading.iter().map(|(s, _)| *s).collect();
        let effects: Vec<&str> = degrading.iter().map(|(_, e)| *e).collect();
        return Check {
            status: Status::Warn,
            detail: format!(
                "missing scope {}: {}",
                scopes.join(", "),
                effects.join("; ")
            ),
            missing_scope: Some((*first).to_owned()),
            ..Check::pass(name, "")
        };
    }
    Check::pass(
        name,
        if held.is_empty() {
            "no scope needed".to_owned()
        } else {
            format!("has {}", held.join(", "))
        },
    )
}

/// The scope checks: the scopes the adapter judged, then one line for the reads of each
/// resource and one for its writes.
fn scope_checks(caps: &Capabilities) -> Vec<Check> {
    let mut held = Vec::new();
    let mut lacking = Vec::new();
    for need in caps
        .resources
        .iter()
        .flat_map(|r| &r.required_scopes)
        .flat_map(|o| &o.scopes)
    {
        if need.granted {
            push_once(&mut held, need.scope.as_str());
        } else {
            push_once(&mut lacking, need.scope.as_str());
        }
    }
    let summary = match (held.is_empty(), lacking.is_empty()) {
        (true, true) => "the adapter reports no scopes".to_owned(),
        _ if lacking.is_empty() => format!("of the scopes used: has {}", held.join(" ")),
        _ if held.is_empty() => format!("of the scopes used: lacks {}", lacking.join(" ")),
        _ => format!(
            "of the scopes used: has {}; lacks {}",
            held.join(" "),
            lacking.join(" ")
        ),
    };
    let mut checks = vec![Check::pass("token scopes", summary)];
    for support in &caps.resources {
        let (writes, reads): (Vec<Operation>, Vec<Operation>) =
            support.operations.iter().partition(|op| op.is_write());
        if !reads.is_empty() {
            checks.push(judge(support, &reads, false));
        }
        if !writes.is_empty() {
            checks.push(judge(support, &writes, true));
        }
    }
    checks
}

/// Runs every check.
pub(crate) async fn run_checks(conn: &Connection) -> Vec<Check> {
    let dir = conn.directory.as_ref();
    let org = conn.org.clone().unwrap_or_default();
    let mut checks = Vec::new();
    let later = [
        "token scopes",
        "organization",
        "user listing",
        "team listing",
        "member listing",
    ];

    // 1. Authentication: any answer but 401 means the token is known. The adapter reads
    // the token's scopes for its capabilities, so those are judged from the same answer.
    let caps = match dir.capabilities().await {
        Ok(caps) => caps,
        Err(error) => {
            let mut check = Check::failed("authentication", &error);
            if error.kind() == ErrorKind::Unauthenticated {
                check.detail = format!(
                    "the token was rejected: check BUILDKITE_API_TOKEN (mistyped, expired or revoked?); create one at {TOKEN_PAGE}"
                );
            }
            checks.push(check);
            checks.extend(
                later
                    .iter()
                    .map(|name| Check::skip(*name, "authentication failed")),
            );
            return checks;
        }
    };
    checks.push(Check::pass(
        "authentication",
        if conn.is_simulated() {
            "the token was accepted (built-in simulator)"
        } else {
            "the token was accepted"
        },
    ));

    // 2. Scopes against what each operation needs, as the adapter reports them.
    checks.extend(scope_checks(&caps));

    // 3. The organization.
    let org_name = format!("organization {org}");
    let org_ok = match dir.get_organization(&org, &Default::default()).await {
        Ok(found) => {
            checks.push(Check::pass(
                &org_name,
                format!("{} ({})", found.name, found.id),
            ));
            true
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {
            checks.push(Check {
                detail: format!(
                    "organization {org:?} not found or not visible to this token; check --org (`unidir orgs` lists the ones it can see)"
                ),
                ..Check::failed(&org_name, &error)
            });
            false
        }
        Err(error) => {
            checks.push(Check::failed(&org_name, &error));
            // Without read_organizations the organization may still be readable through
            // the other scopes: carry on.
            error.kind() == ErrorKind::PermissionDenied
        }
    };
    if !org_ok {
        checks.extend(
            later[2..]
                .iter()
                .map(|name| Check::skip(*name, "the organization is not readable")),
        );
        return checks;
    }

    // 4. Live reads.
    match dir.list_users(&ListQuery::new().with_limit(5)).await {
        Ok(page) => checks.push(Check::pass(
            "user listing",
            format!(
                "read {} users{}",
                page.result_count(),
                if page.next_cursor.is_some() {
                    " (first page of 5)"
                } else {
                    ""
                }
            ),
        )),
        Err(error) => checks.push(Check::failed("user listing", &error)),
    }
    let first_team = match dir.list_groups(&ListQuery::new()).await {
        Ok(page) => {
            checks.push(Check::pass(
                "team listing",
                format!(
                    "{} teams on the first page{}",
                    page.result_count(),
                    if page.next_cursor.is_some() {
                        " (more follow)"
                    } else {
                        ""
                    }
                ),
            ));
            page.result.into_iter().next()
        }
        Err(error) => {
            checks.push(Check::failed("team listing", &error));
            None
        }
    };
    match first_team {
        None if checks.last().is_some_and(|c| c.status == Status::Fail) => {
            checks.push(Check::skip("member listing", "no team could be listed"));
        }
        None => checks.push(Check::skip(
            "member listing",
            "the organization has no team",
        )),
        Some(team) => {
            let label = team.slug.clone().unwrap_or_else(|| team.name.clone());
            match dir.list_group_members(&team.id, &ListQuery::new()).await {
                Ok(page) => checks.push(Check::pass(
                    "member listing",
                    format!(
                        "{} members of team {label} on the first page",
                        page.result_count()
                    ),
                )),
                Err(error) => checks.push(Check::failed("member listing", &error)),
            }
        }
    }
    checks
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    organization: Option<&'a str>,
    simulated: bool,
    checks: &'a [Check],
}

/// `unidir check`.
pub(crate) async fn check(conn: &Connection, out: &mut Out) -> CliResult {
    let checks = run_checks(conn).await;
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = checks.iter().filter(|c| c.status == Status::Warn).count();
    let passed = checks.iter().filter(|c| c.status == Status::Pass).count();
    let skipped = checks.iter().filter(|c| c.status == Status::Skip).count();
    match out.format {
        Format::Json => out.json(&Report {
            ok: failed == 0,
            organization: conn.org.as_deref(),
            simulated: conn.is_simulated(),
            checks: &checks,
        })?,
        Format::Ndjson => {
            for check in &checks {
                out.ndjson(check)?;
            }
        }
        Format::Table => {
            let mut table = output::table(&["STATUS", "CHECK", "DETAIL"]);
            for check in &checks {
                table.row(vec![
                    check.status.label().to_owned(),
                    check.name.clone(),
                    check.detail.clone(),
                ]);
            }
            out.table(&table)?;
            out.line(format!(
                "{passed} passed, {warned} warned, {failed} failed, {skipped} skipped"
            ))?;
        }
    }
    match checks.iter().find(|c| c.status == Status::Fail) {
        Some(first) => {
            out.flush()?;
            Err(Failure::Reported(first.code.max(1)))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unidir_core::ScopeRequirement;

    use Operation::{Add, ChangeRole, Get, List, Remove};

    /// A provider-neutral capability answer shaped like a Buildkite one: `held` decides
    /// what is granted (the CLI only renders what an adapter reports).
    fn caps(held: &[&str]) -> Capabilities {
        let req = |s: &str| ScopeRequirement::required(s, held.contains(&s));
        let graphql = held.contains(&"graphql");
        let users = if graphql {
            vec![req("graphql")]
        } else {
            vec![
                req("read_organizations"),
                req("read_teams"),
                ScopeRequirement::optional("graphql", false, "users are read over REST"),
            ]
        };
        Capabilities::new(
            "test",
            vec![
                ResourceSupport::new(Resource::Me, &[Get])
                    .with_scopes(&[Get], &[req("read_user"), req("read_organizations")]),
                ResourceSupport::new(Resource::Users, &[List, Get])
                    .with_scopes(&[List], &users)
                    .with_scopes(&[Get], &[req("read_organizations"), req("graphql")]),
                ResourceSupport::new(Resource::Groups, &[List, Get])
                    .with_scopes(&[List, Get], &[req("read_teams")]),
                ResourceSupport::new(Resource::Roles, &[List]).with_scopes(&[List], &[]),
                ResourceSupport::new(Resource::GroupMembers, &[List, Add, ChangeRole, Remove])
                    .with_scopes(&[List], &[req("read_teams")])
                    .with_scopes(
                        &[Add, ChangeRole, Remove],
                        &[req("write_teams"), req("read_teams")],
                    ),
            ],
        )
    }

    fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} in {checks:#?}"))
    }

    #[test]
    fn missing_read_teams_fails_groups_and_names_the_scope() {
        let checks = scope_checks(&caps(&["read_user", "read_organizations", "graphql"]));
        let groups = find(&checks, "scopes for groups");
        assert_eq!(groups.status, Status::Fail);
        assert_eq!(groups.missing_scope.as_deref(), Some("read_teams"));
        assert!(groups.detail.contains("read_teams") && groups.detail.contains(TOKEN_PAGE));
        assert_eq!(groups.code, code::PERMISSION);
        assert_eq!(find(&checks, "scopes for users").status, Status::Pass);
        let writes = find(&checks, "scopes for grant/revoke/apply");
        assert_eq!(writes.status, Status::Warn, "writes are optional");
        assert_eq!(writes.missing_scope.as_deref(), Some("write_teams"));
        assert!(
            writes.detail.contains("plan still works"),
            "{}",
            writes.detail
        );
        let members = find(&checks, "scopes for members");
        assert_eq!(members.status, Status::Fail);
        assert_eq!(
            checks.iter().filter(|c| c.status == Status::Fail).count(),
            2,
            "{checks:#?}"
        );
    }

    #[test]
    fn no_graphql_is_a_warning_and_needs_read_teams() {
        let held = [
            "read_user",
            "read_organizations",
            "read_teams",
            "write_teams",
        ];
        let checks = scope_checks(&caps(&held));
        let users = find(&checks, "scopes for users");
        // `get` here needs graphql outright, so the line fails for it alone.
        assert_eq!(users.status, Status::Fail);
        assert!(users.detail.contains("(get fails)"), "{}", users.detail);
        let mut list_only = caps(&held);
        list_only.resources[1].operations = vec![List];
        let users = scope_checks(&list_only)
            .into_iter()
            .find(|c| c.name == "scopes for users")
            .expect("users");
        assert_eq!(users.status, Status::Warn);
        assert_eq!(users.missing_scope.as_deref(), Some("graphql"));
        assert!(users.detail.contains("read over REST"), "{}", users.detail);
        let without_read_teams = scope_checks(&caps(&["read_organizations"]));
        let users = find(&without_read_teams, "scopes for users");
        assert_eq!(users.status, Status::Fail);
        assert_eq!(users.missing_scope.as_deref(), Some("read_teams"));
    }

    #[test]
    fn a_full_token_passes_every_scope_check_and_lists_what_it_holds() {
        let held = [
            "read_user",
            "read_organizations",
            "read_teams",
            "write_teams",
            "graphql",
        ];
        let checks = scope_checks(&caps(&held));
        assert!(
            checks.iter().all(|c| c.status == Status::Pass),
            "{checks:#?}"
        );
        assert_eq!(find(&checks, "scopes for roles").detail, "no scope needed");
        assert_eq!(
            find(&checks, "scopes for grant/revoke/apply").detail,
            "has write_teams, read_teams"
        );
        let summary = &find(&checks, "token scopes").detail;
        assert_eq!(
            summary,
            "of the scopes used: has read_user read_organizations graphql read_teams write_teams"
        );
        let limited = scope_checks(&caps(&["read_teams"]));
        assert_eq!(
            find(&limited, "token scopes").detail,
            "of the scopes used: has read_teams; lacks read_user read_organizations graphql write_teams"
        );
    }

    #[test]
    fn an_adapter_without_scope_reports_is_judged_by_availability() {
        let caps = Capabilities::new(
            "test",
            vec![
                ResourceSupport::new(Resource::Groups, &[List]).missing(vec!["teams:read".into()]),
                ResourceSupport::new(Resource::Users, &[List]),
            ],
        );
        let checks = scope_checks(&caps);
        assert_eq!(
            find(&checks, "token scopes").detail,
            "the adapter reports no scopes"
        );
        let groups = find(&checks, "scopes for groups");
        assert_eq!(groups.status, Status::Fail);
        assert_eq!(groups.missing_scope.as_deref(), Some("teams:read"));
        assert_eq!(find(&checks, "scopes for users").status, Status::Pass);
    }
}
