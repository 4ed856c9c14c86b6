//! What a run found: every check by name, with its status.

use std::fmt;
use std::future::Future;

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// It ran and held.
    Passed,
    /// It did not run, and why: the adapter does not declare what it needs (as OpenDAL's
    /// behaviour tests skip what a service's capability does not claim), or the world lacks
    /// the data it needs.
    Skipped(String),
    /// It ran and failed, with what was observed.
    Failed(String),
}

/// Why a check stopped early: it failed, or it found at run time that it cannot apply
/// (the list it probes is too short to have a cursor).
#[derive(Debug)]
pub(crate) enum Stop {
    Failed(String),
    Skipped(String),
}

impl From<String> for Stop {
    fn from(message: String) -> Self {
        Self::Failed(message)
    }
}

/// One check of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// Stable dotted name (`paging.users`, `provision.add`), used in known-failure lists.
    pub name: String,
    /// How it ended.
    pub status: Status,
}

/// A check expected to fail until the adapter is fixed: it still runs, its failure does not
/// fail [`Report::assert_passed_except`], and its passing does (so the list is emptied as
/// fixes land).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownFailure {
    /// The check's name.
    pub check: &'static str,
    /// Why it fails, for people.
    pub reason: &'static str,
}

/// Every check of a run, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The provider the suite ran against.
    pub provider: String,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// An empty report for `provider`.
    pub fn new(provider: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            checks: Vec::new(),
        }
    }

    /// Records a check that did not run.
    pub(crate) fn skip(&mut self, name: impl Into<String>, reason: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            status: Status::Skipped(reason.into()),
        });
    }

    /// Runs `check` unless `skip` gives a reason not to, and records it.
    pub(crate) async fn run<F, E>(
        &mut self,
        name: impl Into<String>,
        skip: Option<String>,
        check: F,
    ) where
        F: Future<Output = Result<(), E>>,
        E: Into<Stop>,
    {
        let name = name.into();
        let status = match skip {
            Some(reason) => Status::Skipped(reason),
            None => match check.await.map_err(Into::into) {
                Ok(()) => Status::Passed,
                Err(Stop::Failed(message)) => Status::Failed(message),
                Err(Stop::Skipped(reason)) => Status::Skipped(reason),
            },
        };
        self.checks.push(Check { name, status });
    }

    /// Appends the checks of another report.
    pub fn merge(&mut self, other: Report) {
        self.checks.extend(other.checks);
    }

    /// The check named `name`, if it was recorded.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// Checks that ran and held.
    pub fn passed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Passed)
    }

    /// Checks that did not run.
    pub fn skipped(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.status, Status::Skipped(_)))
    }

    /// Checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| matches!(c.status, Status::Failed(_)))
    }

    /// Whether no check failed.
    pub fn is_success(&self) -> bool {
        self.failures().next().is_none()
    }

    /// Panics with the whole report when a check failed.
    #[track_caller]
    pub fn assert_passed(&self) {
        self.assert_passed_except(&[]);
    }

    /// Panics with the whole report when a check failed that is not in `known`, or when a
    /// check in `known` passed (the entry is stale and must go).
    #[track_caller]
    pub fn assert_passed_except(&self, known: &[KnownFailure]) {
        let is_known = |name: &str| known.iter().any(|k| k.check == name);
        let unexpected: Vec<&str> = self
            .failures()
            .map(|c| c.name.as_str())
            .filter(|n| !is_known(n))
            .collect();
        let stale: Vec<&str> = known
            .iter()
            .filter(|k| {
                self.check(k.check)
                    .is_some_and(|c| c.status == Status::Passed)
            })
            .map(|k| k.check)
            .collect();
        let unknown: Vec<&str> = known
            .iter()
            .filter(|k| self.check(k.check).is_none())
            .map(|k| k.check)
            .collect();
        if !unexpected.is_empty() || !stale.is_empty() || !unknown.is_empty() {
            panic!(
                "conformance of {} failed\n  failed: {unexpected:?}\n  known failures that now pass \
                 (remove them from the list): {stale:?}\n  known failures naming no check: \
                 {unknown:?}\n\n{self}",
                self.provider
            );
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |s: fn(&Status) -> bool| self.checks.iter().filter(|c| s(&c.status)).count();
        writeln!(
            f,
            "conformance report for {}: {} passed, {} skipped, {} failed",
            self.provider,
            count(|s| *s == Status::Passed),
            count(|s| matches!(s, Status::Skipped(_))),
            count(|s| matches!(s, Status::Failed(_))),
        )?;
        for check in &self.checks {
            match &check.status {
                Status::Passed => writeln!(f, "  PASS {}", check.name)?,
                Status::Skipped(why) => writeln!(f, "  SKIP {} ({why})", check.name)?,
                Status::Failed(why) => writeln!(f, "  FAIL {}: {why}", check.name)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut r = Report::new("test");
        r.checks.push(Check {
            name: "a".into(),
            status: Status::Passed,
        });
        r.checks.push(Check {
            name: "b".into(),
            status: Status::Failed("boom".into()),
        });
        r.skip("c", "undeclared");
        r
    }

    #[test]
    fn a_failure_fails_unless_known() {
        let r = report();
        assert!(!r.is_success());
        assert!(std::panic::catch_unwind(|| r.assert_passed()).is_err());
        r.assert_passed_except(&[KnownFailure {
            check: "b",
            reason: "adapter bug",
        }]);
        let text = r.to_string();
        assert!(text.contains("FAIL b: boom"), "{text}");
        assert!(text.contains("SKIP c (undeclared)"), "{text}");
        assert!(text.contains("1 passed, 1 skipped, 1 failed"), "{text}");
    }

    #[test]
    fn a_known_failure_that_passes_or_names_nothing_is_stale() {
        let r = report();
        let known = |check| {
            [
                KnownFailure {
                    check: "b",
                    reason: "",
                },
                KnownFailure { check, reason: "" },
            ]
        };
        assert!(std::panic::catch_unwind(|| r.assert_passed_except(&known("a"))).is_err());
        assert!(std::panic::catch_unwind(|| r.assert_passed_except(&known("zzz"))).is_err());
        // A known failure whose check was skipped (undeclared) is not stale.
        r.assert_passed_except(&known("c"));
    }
}
