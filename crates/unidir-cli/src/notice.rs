//! What the CLI says on stderr while it waits: rate-limit resets, retries, slow answers
//! (every wait over two seconds), what a read adapted to or could not read (reports), and
//! duplicates dropped from a listing.

use unidir_buildkite::{Notice, Observer, Report, ReportKind};

use crate::output;

/// Prints each wait notice as one `unidir: ...` line on stderr.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StderrNotices;

impl Observer for StderrNotices {
    fn notice(&self, notice: &Notice<'_>) {
        output::note(notice);
    }

    fn report(&self, report: &Report) {
        output::note(format_args!("warning: {report}"));
    }
}

/// Warns when a walk dropped objects that showed up again on a later page: a
/// [`ReportKind::Repeats`] report, printed as every other report is.
pub(crate) fn warn_duplicates(what: &'static str, duplicates: u64) {
    if duplicates > 0 {
        StderrNotices.report(&Report::new(
            operation(what),
            ReportKind::Repeats,
            duplicates,
            format!(
                "{duplicates} {what} appeared on more than one page (the list changed while it was read); each is shown once"
            ),
        ));
    }
}

/// The read that listed `what`.
fn operation(what: &str) -> &'static str {
    match what {
        "users" => "list_users",
        "groups" => "list_groups",
        "organizations" => "list_organizations",
        "roles" => "list_roles",
        "group_memberships" | "members" | "memberships" => "list_group_members",
        _ => "list",
    }
}
