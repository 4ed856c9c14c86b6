//! `grant`, `revoke`, `plan`, `apply`: group memberships, idempotent, with explicit outcomes.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;

use serde::Serialize;
use unidir_core::provision::{
    self, AppliedChange, ApplyReport, ChangeKind, DesiredState, Plan, PlanProblem, PlannedChange,
    resolve_group_role,
};
use unidir_core::{ErrorKind, Group, MembershipResult, Outcome, UserRef};

use crate::cli::Format;
use crate::commands::read::group_id;
use crate::connect::Connection;
use crate::exit::{self, CliResult, Failure, code};
use crate::input;
use crate::output::{self, Out, Table};
use crate::secret_guard;

/// What `grant`/`revoke` print with `--json`.
#[derive(Debug, Serialize)]
struct Printed<'a> {
    #[serde(flatten)]
    result: &'a MembershipResult,
    group: Option<&'a str>,
    user: &'a str,
    message: String,
}

/// A group for a write, or the `group_not_found` outcome.
async fn target_group(conn: &Connection, key: &str) -> CliResult<Option<Group>> {
    match group_id(conn, key).await {
        Ok(group) => Ok(Some(group)),
        Err(Failure::Coded(code::NOT_FOUND, _)) => Ok(None),
        Err(other) => Err(other),
    }
}

fn describe(result: &MembershipResult, group: &str, user: &str) -> String {
    let role = |r: &Option<String>| r.as_deref().unwrap_or("-").to_owned();
    match result.outcome {
        // A group without roles: a member, no role to name.
        Outcome::Created if result.role_id.is_none() => format!("{user} added to {group}"),
        Outcome::Unchanged if result.role_id.is_none() => {
            format!("{user} is already in {group}; nothing written")
        }
        Outcome::Created => format!("{user} added to {group} as {}", role(&result.role_id)),
        Outcome::RoleChanged => format!(
            "{user} in {group}: {} -> {}",
            role(&result.previous_role_id),
            role(&result.role_id)
        ),
        Outcome::Unchanged => format!(
            "{user} is already {} in {group}; nothing written",
            role(&result.role_id)
        ),
        Outcome::Removed => format!(
            "{user} removed from {group} (was {})",
            role(&result.previous_role_id)
        ),
        Outcome::AlreadyAbsent => {
            format!("{user} is not a member of {group}; nothing written")
        }
        Outcome::NotAMember => format!("{user} is not a member of {group}; nothing written"),
        Outcome::UserNotInOrganization => format!(
            "{user} is not a member of the organization; unidir never invites, so nothing was written"
        ),
        Outcome::GroupNotFound => format!("no group with id, slug or name {group}"),
        other => format!("{user} in {group}: {other}"),
    }
}

fn print_result(
    out: &mut Out,
    result: &MembershipResult,
    group: Option<&Group>,
    group_key: &str,
    user: &str,
) -> CliResult {
    let group_label = group.map_or_else(
        || format!("{group_key:?}"),
        |g| format!("{} ({})", g.name, g.slug.as_deref().unwrap_or(&g.id)),
    );
    let message = describe(result, &group_label, user);
    match out.format {
        Format::Table => out.line(format!("{}: {message}", result.outcome))?,
        Format::Json | Format::Ndjson => {
            let printed = Printed {
                result,
                group: group.map(|g| g.name.as_str()),
                user,
                message,
            };
            if out.format == Format::Json {
                out.json(&printed)?;
            } else {
                out.ndjson(&printed)?;
            }
        }
    }
    if result.outcome.is_failure() {
        out.flush()?;
        return Err(Failure::Reported(code::PROVISIONING));
    }
    Ok(())
}

fn not_found_result(group: &str) -> MembershipResult {
    MembershipResult::new(Outcome::GroupNotFound, group)
}

fn simulated_note(conn: &Connection) {
    if conn.is_simulated() {
        output::note(
            "changes to the built-in simulator last only for this command; set BUILDKITE_API_TOKEN to change a real organization",
        );
    }
}

/// `unidir grant <group> <user> [--role <role>]`; without a role, the group's default (or
/// none, where the group has no roles).
pub(crate) async fn grant(
    conn: &Connection,
    out: &mut Out,
    group: &str,
    user: &str,
    role: Option<&str>,
) -> CliResult {
    let role = match role {
        Some(role) => Some(resolve_group_role(conn.directory.as_ref(), role.trim()).await?),
        None => None,
    };
    let user_ref = UserRef::parse(user);
    let Some(found) = target_group(conn, group).await? else {
        return print_result(out, &not_found_result(group), None, group, user);
    };
    simulated_note(conn);
    let result = conn
        .directory
        .add_group_member(&found.id, &user_ref, role.as_deref())
        .await?;
    print_result(out, &result, Some(&found), group, user)
}

/// `unidir revoke <group> <user>`.
pub(crate) async fn revoke(conn: &Connection, out: &mut Out, group: &str, user: &str) -> CliResult {
    let user_ref = UserRef::parse(user);
    let Some(found) = target_group(conn, group).await? else {
        return print_result(out, &not_found_result(group), None, group, user);
    };
    simulated_note(conn);
    let result = conn
        .directory
        .remove_group_member(&found.id, &user_ref)
        .await?;
    print_result(out, &result, Some(&found), group, user)
}

/// Reads (at most 16 MiB) and parses a desired-state file; unknown keys are refused.
pub(crate) fn read_desired(path: &Path) -> CliResult<DesiredState> {
    let text = input::read_capped(path)?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::Usage(format!(
            "{} is not a desired-state file: {e} (expected {{\"groups\":[{{\"group\":\"<id or slug>\",\"members\":[{{\"user\":\"<id or email>\",\"role\":\"maintainer\"}}],\"remove_unlisted\":false}}]}}; \"role\" is optional)",
            path.display()
        ))
    })
}

fn action(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Add => "add",
        ChangeKind::ChangeRole => "change role",
        ChangeKind::Remove => "remove",
    }
}

fn user_label(change: &PlannedChange) -> String {
    match &change.user_label {
        Some(label) => format!("{label} ({})", change.user_id),
        None => change.user_id.clone(),
    }
}

fn role_label(change: &PlannedChange) -> String {
    let short = |r: &Option<String>| {
        r.as_deref()
            .map_or_else(|| "-".to_owned(), |r| output::short_role(r).to_owned())
    };
    match change.kind {
        ChangeKind::Add => short(&change.role_id),
        ChangeKind::ChangeRole => format!(
            "{} -> {}",
            short(&change.previous_role_id),
            short(&change.role_id)
        ),
        ChangeKind::Remove => format!("(was {})", short(&change.previous_role_id)),
    }
}

fn plan_table(plan: &Plan) -> Table {
    let mut table = output::table(&["ACTION", "GROUP", "USER", "ROLE"]);
    for change in &plan.changes {
        table.row(vec![
            action(change.kind).to_owned(),
            change.group_name.clone(),
            user_label(change),
            role_label(change),
        ]);
    }
    table
}

fn problems_table(problems: &[PlanProblem]) -> Table {
    let mut table = output::table(&["PROBLEM", "GROUP", "USER", "DETAIL"]);
    for p in problems {
        table.row(vec![
            p.outcome.to_string(),
            p.group.clone(),
            output::opt(p.user.as_deref()),
            p.message.clone(),
        ]);
    }
    table
}

fn counts(plan: &Plan) -> String {
    let n = |k: ChangeKind| plan.changes.iter().filter(|c| c.kind == k).count();
    format!(
        "{} to add, {} to change, {} to remove",
        n(ChangeKind::Add),
        n(ChangeKind::ChangeRole),
        n(ChangeKind::Remove)
    )
}

/// `unidir plan <file>`: the dry run. Exits 8 when something in the file cannot be applied.
pub(crate) async fn plan(conn: &Connection, out: &mut Out, file: &Path) -> CliResult {
    let desired = read_desired(file)?;
    let plan = provision::plan(conn.directory.as_ref(), &desired).await?;
    match out.format {
        Format::Json => out.json(&plan)?,
        Format::Ndjson => {
            for change in &plan.changes {
                out.ndjson(change)?;
            }
            for problem in &plan.problems {
                out.ndjson(problem)?;
            }
        }
        Format::Table => {
            if plan.is_empty() {
                out.line(format!(
                    "No changes: the directory already matches {}.",
                    file.display()
                ))?;
            } else {
                if !plan.changes.is_empty() {
                    out.table(&plan_table(&plan))?;
                }
                if !plan.problems.is_empty() {
                    out.table(&problems_table(&plan.problems))?;
                }
                let next = if plan.problems.is_empty() {
                    format!(
                        "run `unidir apply {}` to make these changes",
                        file.display()
                    )
                } else {
                    "`unidir apply` refuses a plan with problems".to_owned()
                };
                let away = plan.removals_and_downgrades().count();
                let confirm = if away > 0 && plan.problems.is_empty() {
                    format!(
                        "; {away} remove or downgrade a member, so apply asks for confirmation (or --yes)"
                    )
                } else {
                    String::new()
                };
                out.line(format!(
                    "Plan: {}; {} problems. Nothing was written ({next}{confirm}).",
                    counts(&plan),
                    plan.problems.len(),
                ))?;
            }
        }
    }
    if plan.problems.is_empty() {
        Ok(())
    } else {
        out.flush()?;
        Err(Failure::Reported(code::PROVISIONING))
    }
}

fn applied_line(applied: &AppliedChange) -> (String, String) {
    let change = &applied.change;
    let short = |r: &Option<String>| {
        r.as_deref()
            .map_or_else(|| "-".to_owned(), |r| output::short_role(r).to_owned())
    };
    let user = user_label(change);
    let group = &change.group_name;
    let subject = match change.kind {
        ChangeKind::Add => format!("add {user} to {group} as {}", short(&change.role_id)),
        ChangeKind::ChangeRole => format!(
            "change {user} in {group}: {} -> {}",
            short(&change.previous_role_id),
            short(&change.role_id)
        ),
        ChangeKind::Remove => format!(
            "remove {user} from {group} (was {})",
            short(&change.previous_role_id)
        ),
    };
    match (&applied.result, &applied.error) {
        (Some(result), _) => (result.outcome.to_string(), subject),
        (None, Some(error)) => (
            "error".to_owned(),
            format!("{subject}: {}", exit::explain(error)),
        ),
        (None, None) => ("error".to_owned(), subject),
    }
}

/// Exit code of an incomplete apply: the error's own code when every change failed for the
/// same kind of reason (a missing scope, a rejected token), 8 otherwise.
fn apply_code(report: &ApplyReport) -> u8 {
    let errors: Vec<ErrorKind> = report
        .applied
        .iter()
        .filter_map(|a| a.error.as_ref().map(|e| e.kind))
        .collect();
    match errors.first() {
        Some(first)
            if report.succeeded() == 0
                && errors.len() == report.applied.len()
                && errors.iter().all(|k| k == first) =>
        {
            exit::code_of(*first)
        }
        _ => code::PROVISIONING,
    }
}

/// Whether `apply` may go ahead with the removals and downgrades of `plan`: yes with
/// `--yes`; otherwise the plan is shown on `prompt` and a person at a terminal (`interactive`)
/// types `yes`; without a terminal it is a usage error. Nothing has been written either way.
fn confirm(
    plan: &Plan,
    file: &Path,
    yes: bool,
    interactive: bool,
    answer: &mut impl BufRead,
    prompt: &mut impl Write,
) -> CliResult {
    let away = plan.removals_and_downgrades().count();
    if away == 0 || yes {
        return Ok(());
    }
    let file = file.display();
    if !interactive {
        return Err(Failure::Usage(format!(
            "{file} would remove or downgrade {away} group member(s) and stdin is not a terminal to ask; nothing was changed. Review with `unidir plan {file}`, then run `unidir apply --yes {file}`"
        )));
    }
    let asked = (|| {
        writeln!(prompt, "{}", plan_table(plan))?;
        write!(
            prompt,
            "Plan: {}. {away} of these remove or downgrade a member.\nApply? Type 'yes' to continue: ",
            counts(plan)
        )?;
        prompt.flush()?;
        let mut line = String::new();
        answer.read_line(&mut line)?;
        Ok::<_, std::io::Error>(line)
    })();
    match asked {
        Ok(line) if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") => Ok(()),
        Ok(_) => Err(Failure::Coded(
            code::OTHER,
            "apply cancelled; nothing was changed".to_owned(),
        )),
        Err(e) => Err(Failure::Io(
            "could not ask for confirmation; nothing was changed".to_owned(),
            e,
        )),
    }
}

/// `unidir apply <file> [--yes]`: refuses a plan with problems, confirms removals and
/// downgrades, then applies.
pub(crate) async fn apply(conn: &Connection, out: &mut Out, file: &Path, yes: bool) -> CliResult {
    let desired = read_desired(file)?;
    let directory = conn.directory.as_ref();
    let plan = provision::plan(directory, &desired).await?;
    if !plan.problems.is_empty() {
        return refuse(out, &plan, file);
    }
    if plan.removals_and_downgrades().next().is_some() && !yes {
        // Reading a person's answer blocks: keep it off the async workers' hot path.
        tokio::task::block_in_place(|| {
            let stdin = io::stdin();
            confirm(
                &plan,
                file,
                yes,
                stdin.is_terminal(),
                &mut stdin.lock(),
                &mut secret_guard::guard(io::stderr().lock()),
            )
        })?;
    }
    if !plan.changes.is_empty() {
        simulated_note(conn);
    }
    let report = provision::apply(directory, &plan).await;
    match out.format {
        Format::Json => out.json(&report)?,
        Format::Ndjson => {
            for applied in &report.applied {
                out.ndjson(applied)?;
            }
            for problem in &report.problems {
                out.ndjson(problem)?;
            }
        }
        Format::Table => {
            if report.applied.is_empty() && report.problems.is_empty() {
                out.line(format!(
                    "Nothing changed: the directory already matches {}.",
                    file.display()
                ))?;
            } else {
                if !report.applied.is_empty() {
                    let mut table = output::table(&["OUTCOME", "CHANGE"]);
                    for applied in &report.applied {
                        let (outcome, detail) = applied_line(applied);
                        table.row(vec![outcome, detail]);
                    }
                    out.table(&table)?;
                }
                if !report.problems.is_empty() {
                    out.table(&problems_table(&report.problems))?;
                }
                out.line(format!(
                    "Applied: {} succeeded, {} failed; {} problems not attempted.",
                    report.succeeded(),
                    report.failed(),
                    report.problems.len()
                ))?;
            }
        }
    }
    if report.is_complete() {
        Ok(())
    } else {
        out.flush()?;
        Err(Failure::Reported(apply_code(&report)))
    }
}

/// A plan with problems is not applied at all: the problems are printed (as an apply report
/// with nothing applied, in JSON) and the command exits 8.
fn refuse(out: &mut Out, plan: &Plan, file: &Path) -> CliResult {
    let report = ApplyReport {
        applied: Vec::new(),
        problems: plan.problems.clone(),
    };
    match out.format {
        Format::Json => out.json(&report)?,
        Format::Ndjson => {
            for problem in &report.problems {
                out.ndjson(problem)?;
            }
        }
        Format::Table => out.table(&problems_table(&report.problems))?,
    }
    out.flush()?;
    Err(Failure::Coded(
        code::PROVISIONING,
        format!(
            "apply refused: {} has {} problem(s), listed above; nothing was changed. Fix the file and check it with `unidir plan {}`",
            file.display(),
            plan.problems.len(),
            file.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removal() -> Plan {
        Plan {
            changes: vec![PlannedChange {
                kind: ChangeKind::Remove,
                group_id: "g-1".into(),
                group_name: "Platform\u{1b}[2J".into(),
                user_id: "u-1".into(),
                user_label: Some("ada@acme.example".into()),
                role_id: None,
                previous_role_id: Some("team:maintainer".into()),
            }],
            problems: Vec::new(),
        }
    }

    fn ask(plan: &Plan, yes: bool, interactive: bool, typed: &str) -> (CliResult, String) {
        let mut prompt = Vec::new();
        let result = confirm(
            plan,
            Path::new("desired.json"),
            yes,
            interactive,
            &mut typed.as_bytes(),
            &mut prompt,
        );
        (result, String::from_utf8(prompt).expect("utf-8"))
    }

    #[test]
    fn removals_need_yes_or_a_person_at_a_terminal() {
        let plan = removal();
        let (result, prompt) = ask(&plan, false, false, "yes\n");
        assert!(
            matches!(result, Err(Failure::Usage(ref m)) if m.contains("--yes") && m.contains("not a terminal")),
            "{result:?}"
        );
        assert!(prompt.is_empty(), "nobody to ask: {prompt}");
        assert!(ask(&plan, true, false, "").0.is_ok(), "--yes");
        for typed in ["yes\n", "y\n", " YES \n"] {
            let (result, prompt) = ask(&plan, false, true, typed);
            assert!(result.is_ok(), "{typed:?}: {result:?}");
            assert!(
                prompt.contains("| remove") && prompt.contains("Type 'yes'"),
                "{prompt}"
            );
            assert!(prompt.contains("Platform\\u{1b}[2J") && !prompt.contains('\u{1b}'));
        }
        for typed in ["no\n", "\n", "", "yess\n"] {
            let (result, _) = ask(&plan, false, true, typed);
            assert!(
                matches!(result, Err(Failure::Coded(1, ref m)) if m.contains("nothing was changed")),
                "{typed:?}: {result:?}"
            );
        }
    }

    #[test]
    fn a_membership_without_a_role_is_told_without_one() {
        let result = |outcome, role: Option<&str>| {
            MembershipResult::new(outcome, "g-1")
                .with_user_id("u-1".to_owned())
                .with_role_id(role.map(str::to_owned))
        };
        assert_eq!(
            describe(&result(Outcome::Created, None), "Guild", "ada"),
            "ada added to Guild"
        );
        assert_eq!(
            describe(&result(Outcome::Unchanged, None), "Guild", "ada"),
            "ada is already in Guild; nothing written"
        );
        assert_eq!(
            describe(
                &result(Outcome::Created, Some("team:member")),
                "Guild",
                "ada"
            ),
            "ada added to Guild as team:member"
        );
    }

    #[test]
    fn additions_and_promotions_are_not_asked_about() {
        let mut plan = removal();
        plan.changes[0].kind = ChangeKind::ChangeRole;
        plan.changes[0].previous_role_id = Some("team:member".into());
        plan.changes[0].role_id = Some("team:maintainer".into());
        let (result, prompt) = ask(&plan, false, false, "");
        assert!(result.is_ok() && prompt.is_empty(), "{result:?}");
        plan.changes[0].kind = ChangeKind::Add;
        assert!(ask(&plan, false, false, "").0.is_ok());
    }
}
