//! `unidir check`: is this token, for this organization, good for what unidir does?
//!
//! Checks, in order: authentication (the token is accepted), the token's scopes against
//! what each operation needs, the organization, and live reads of one page of users, teams
//! and one team's members. Every check is PASS, WARN (works, degraded), FAIL (with the
//! missing scope named when that is the cause) or SKIP (an earlier failure makes it moot).

use serde::Serialize;
use unidir_core::{Error, ErrorKind, ListQuery};
use unidir_proxy::ProxyRequest;

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

/// What one operation needs from the token (Buildkite scope names).
struct Need {
    name: &'static str,
    required: Vec<&'static str>,
    /// Missing these degrades the operation instead of breaking it.
    recommended: Vec<(&'static str, &'static str)>,
}

fn needs(scopes: &[String]) -> Vec<Need> {
    let has = |s: &str| scopes.iter().any(|t| t == s);
    // Without GraphQL, users are read over REST and their team roles come from walking
    // every team, which needs read_teams.
    let mut users = vec!["read_organizations"];
    if !has("graphql") {
        users.push("read_teams");
    }
    vec![
        Need {
            name: "scopes for me",
            required: vec!["read_user", "read_organizations"],
            recommended: vec![],
        },
        Need {
            name: "scopes for orgs",
            required: vec!["read_organizations"],
            recommended: vec![],
        },
        Need {
            name: "scopes for users",
            required: users,
            recommended: vec![(
                "graphql",
                "users are read over REST: no join date, 2FA, SSO or last activity, and one request per team",
            )],
        },
        Need {
            name: "scopes for groups",
            required: vec!["read_teams"],
            recommended: vec![],
        },
        Need {
            name: "scopes for members",
            required: vec!["read_teams"],
            recommended: vec![],
        },
        Need {
            name: "scopes for grant/revoke/apply",
            required: vec![],
            recommended: vec![(
                "write_teams",
                "grant, revoke and apply will fail; plan still works",
            )],
        },
    ]
}

fn judge(need: &Need, scopes: &[String]) -> Check {
    let has = |s: &str| scopes.iter().any(|t| t == s);
    let missing: Vec<&str> = need.required.iter().copied().filter(|s| !has(s)).collect();
    if let Some(first) = missing.first() {
        return Check {
            name: need.name.to_owned(),
            status: Status::Fail,
            detail: format!(
                "missing scope {}: create a token with {} at {TOKEN_PAGE}",
                missing.join(", "),
                missing.join(" ")
            ),
            missing_scope: Some((*first).to_owned()),
            code: code::PERMISSION,
        };
    }
    if let Some((scope, effect)) = need.recommended.iter().find(|(s, _)| !has(s)) {
        return Check {
            name: need.name.to_owned(),
            status: Status::Warn,
            detail: format!("missing scope {scope}: {effect}"),
            missing_scope: Some((*scope).to_owned()),
            code: 0,
        };
    }
    let mut held: Vec<&str> = need.required.clone();
    held.extend(need.recommended.iter().map(|(s, _)| *s));
    Check::pass(
        need.name,
        if held.is_empty() {
            "no scope needed".to_owned()
        } else {
            format!("has {}", held.join(", "))
        },
    )
}

/// The token's scopes, read from `GET /v2/access-token` (which needs no scope).
async fn token_scopes(conn: &Connection) -> Result<Vec<String>, Error> {
    let response = conn
        .proxy()?
        .send(ProxyRequest::get("/v2/access-token"))
        .await?;
    if !response.is_success() {
        let kind = match response.status {
            401 => ErrorKind::Unauthenticated,
            403 => ErrorKind::PermissionDenied,
            429 => ErrorKind::RateLimited,
            _ => ErrorKind::Upstream,
        };
        return Err(Error::new(kind, "could not read the token's scopes")
            .with_provider("buildkite")
            .with_operation("access_token")
            .with_status(response.status));
    }
    let body = response.json()?;
    Ok(body
        .get("scopes")
        .and_then(|s| s.as_array())
        .map(|list| {
            list.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
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

    // 1. Authentication: any answer but 401 means the token is known.
    if let Err(error) = dir.capabilities().await {
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
    checks.push(Check::pass(
        "authentication",
        if conn.is_simulated() {
            "the token was accepted (built-in simulator)"
        } else {
            "the token was accepted"
        },
    ));

    // 2. Scopes against what each operation needs.
    match token_scopes(conn).await {
        Ok(scopes) => {
            checks.push(Check::pass(
                "token scopes",
                if scopes.is_empty() {
                    "(none)".to_owned()
                } else {
                    scopes.join(" ")
                },
            ));
            checks.extend(needs(&scopes).iter().map(|need| judge(need, &scopes)));
        }
        Err(error) => checks.push(Check::failed("token scopes", &error)),
    }

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

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn missing_read_teams_fails_groups_and_names_the_scope() {
        let held = scopes(&["read_user", "read_organizations", "graphql"]);
        let checks: Vec<Check> = needs(&held).iter().map(|n| judge(n, &held)).collect();
        let groups = checks
            .iter()
            .find(|c| c.name == "scopes for groups")
            .expect("groups");
        assert_eq!(groups.status, Status::Fail);
        assert_eq!(groups.missing_scope.as_deref(), Some("read_teams"));
        assert!(groups.detail.contains("read_teams"));
        let users = checks
            .iter()
            .find(|c| c.name == "scopes for users")
            .expect("users");
        assert_eq!(users.status, Status::Pass);
        let writes = checks.last().expect("writes");
        assert_eq!(writes.status, Status::Warn);
        assert_eq!(writes.missing_scope.as_deref(), Some("write_teams"));
    }

    #[test]
    fn no_graphql_is_a_warning_and_needs_read_teams() {
        let held = scopes(&[
            "read_user",
            "read_organizations",
            "read_teams",
            "write_teams",
        ]);
        let users = needs(&held)
            .into_iter()
            .find(|n| n.name == "scopes for users")
            .map(|n| judge(&n, &held))
            .expect("users");
        assert_eq!(users.status, Status::Warn);
        assert_eq!(users.missing_scope.as_deref(), Some("graphql"));
    }
}
