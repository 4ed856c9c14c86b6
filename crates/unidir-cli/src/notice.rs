//! What the CLI says on stderr while it waits: rate-limit resets, retries, slow answers
//! (every wait over two seconds), what a read adapted to or could not read (reports), and
//! duplicates dropped from a listing.

use unidir_buildkite::{Notice, Observer, Report};

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

/// Warns when a walk dropped objects that showed up again on a later page.
pub(crate) fn warn_duplicates(what: &str, duplicates: u64) {
    if duplicates > 0 {
        output::note(format!(
            "warning: {duplicates} {what} appeared on more than one page (the list changed while it was read); each is shown once"
        ));
    }
}
