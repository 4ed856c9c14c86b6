//! GraphQL requests through the page sizer: every page size is chosen by the calibrated
//! estimate (calibration.rs) before sending, every answer's complexity figures calibrate the
//! estimate, and a query Buildkite refuses for its complexity is asked again with smaller
//! pages (a few times at most), unless the caller chose the page size.

use serde::de::DeserializeOwned;
use serde_json::Value;
use unidir_core::Result;
use unidir_http::{RawResponse, Report, ReportKind};

use super::Api;
use super::errors::{complexity_refusal, graphql_messages, too_complex};
use crate::calibration::Fit;
use crate::complexity::Document;

/// Refusals for complexity answered with smaller pages, per request.
const MAX_REFUSALS: u32 = 3;
/// Waits for a budget window before a page that does not fit the budget left, per request.
const MAX_WAITS: u32 = 3;

impl Api {
    /// [`Api::graphql`] with `fixed`: the outermost page size in `variables` is the caller's
    /// (`ListQuery::limit`), so it is never shrunk; a page too large for Buildkite's cap is
    /// then an `InvalidInput` error naming the largest page that fits.
    pub(crate) async fn graphql_sized<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        document: &str,
        operation_name: &str,
        mut variables: Value,
        fixed: bool,
    ) -> Result<T> {
        let (mut refusals, mut waits) = (0, 0);
        // Each optional-field retry drops at least one field, and the other retries are
        // bounded, so this ends.
        loop {
            let sent = self.optional.document(document);
            let doc = Document::parse(&sent);
            if let Some(doc) = &doc {
                let remaining = self.graphql_remaining();
                match self
                    .calibration
                    .fit(operation_name, doc, &mut variables, fixed, remaining)
                {
                    Fit::Send { shrunk, .. } => {
                        if let Some(message) = shrunk {
                            self.report(Report::new(operation, ReportKind::Adapted, 0, message));
                        }
                    }
                    Fit::TooLarge { cost, cap, largest } => {
                        let what = format!(
                            "this page would cost about {cost} points, over Buildkite's cap of {cap} a query"
                        );
                        return Err(too_complex(operation, &what, largest));
                    }
                    Fit::Wait { cost } if waits < MAX_WAITS => {
                        waits += 1;
                        self.reserve_graphql(operation, cost).await?;
                        continue;
                    }
                    Fit::Wait { .. } => {}
                }
            }
            let estimate = doc.as_ref().map(|d| d.requested(&variables));
            let before = self.graphql_remaining();
            let response = self
                .send_graphql(operation, &sent, operation_name, &variables)
                .await?;
            if let Some(estimate) = estimate {
                self.calibrate(operation, operation_name, estimate, before, &response);
            }
            if response.is_success()
                && let Some((doc, estimate)) = doc.as_ref().zip(estimate)
                && let Some((requested, cap)) = self.refusal(&response)
            {
                self.calibration
                    .refused(operation_name, estimate, requested, cap);
                let first = format!(
                    "Query has complexity of {}, which exceeds max complexity of {}",
                    requested.map_or("more".to_owned(), |n| n.to_string()),
                    cap.map_or("the cap".to_owned(), |n| n.to_string()),
                );
                if fixed {
                    // The caller's page stays; the nested sizes (the adapter's) may shrink.
                    let mut smaller = variables.clone();
                    let fit = self
                        .calibration
                        .fit(operation_name, doc, &mut smaller, true, None);
                    if refusals >= MAX_REFUSALS
                        || smaller == variables
                        || !matches!(fit, Fit::Send { .. })
                    {
                        let largest = self.calibration.largest(operation_name, doc, &variables);
                        return Err(too_complex(operation, &first, largest));
                    }
                }
                if refusals < MAX_REFUSALS {
                    refusals += 1;
                    self.report(Report::new(
                        operation,
                        ReportKind::Adapted,
                        0,
                        format!("Buildkite refused {operation_name} ({first}); asking again with smaller pages"),
                    ));
                    continue;
                }
            }
            if let Some(data) = self.graphql_answer(operation, &sent, &response)? {
                return Ok(data);
            }
        }
    }

    /// The complexity refusal in a 200 answer, if it is one.
    fn refusal(&self, response: &RawResponse) -> Option<(Option<u64>, Option<u64>)> {
        let parsed: Value = serde_json::from_slice(&response.body).ok()?;
        let messages = graphql_messages(Some(&parsed), Some(&self.token));
        complexity_refusal(messages.first()?)
    }

    /// Calibrates `operation_name` by the answer's `RateLimit-Complexity-*` headers (logged),
    /// and says so once when Buildkite counts much more than the estimate.
    fn calibrate(
        &self,
        operation: &'static str,
        operation_name: &str,
        estimate: u64,
        before: Option<u64>,
        response: &RawResponse,
    ) {
        let requested = figure(response, "ratelimit-complexity-requested");
        let actual = figure(response, "ratelimit-complexity-actual");
        let after = self.graphql_remaining();
        let dropped = before.zip(after).and_then(|(b, a)| b.checked_sub(a));
        let state = &response.rate_limit;
        let limit = [state.org.limit, state.user.limit]
            .into_iter()
            .flatten()
            .min();
        let Some(seen) =
            self.calibration
                .observe(operation_name, estimate, requested, actual, dropped, limit)
        else {
            return;
        };
        tracing::debug!(
            operation = operation_name,
            estimate,
            server = requested.unwrap_or(0),
            actual = actual.unwrap_or(0),
            ratio = seen.ratio,
            "graphql complexity calibrated"
        );
        if seen.drifted {
            self.report(Report::new(
                operation,
                ReportKind::Adapted,
                0,
                format!(
                    "Buildkite counts {operation_name} at {} points where the adapter estimated {estimate} (×{:.2}); page sizes and pacing follow Buildkite's figure",
                    requested.unwrap_or(0),
                    seen.ratio
                ),
            ));
        }
    }

    /// The calibrated requested cost of `document` with `variables` (0 for a document the
    /// estimator cannot read).
    pub(crate) fn graphql_cost(
        &self,
        operation_name: &str,
        document: &str,
        variables: &Value,
    ) -> u64 {
        Document::parse(document).map_or(0, |doc| {
            self.calibration.cost(operation_name, &doc, variables)
        })
    }

    /// What to reserve before a request of `document` (see
    /// [`crate::calibration::Calibration::pacing_cost`]); 1 for a document the estimator
    /// cannot read.
    pub(crate) fn graphql_pacing(
        &self,
        operation_name: &str,
        document: &str,
        variables: &Value,
    ) -> u64 {
        Document::parse(document).map_or(1, |doc| {
            self.calibration
                .pacing_cost(operation_name, &doc, variables)
        })
    }
}

/// A complexity header: digits only, bounded; anything else is ignored.
fn figure(response: &RawResponse, name: &str) -> Option<u64> {
    let text = response.headers.get(name)?.to_str().ok()?.trim();
    if text.is_empty() || text.len() > 13 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
