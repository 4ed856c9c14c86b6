//! What Buildkite really charges, learned per operation, and the one page sizer every GraphQL
//! request goes through.
//!
//! The estimator (`complexity.rs`) is the adapter's model; the server is the authority. Each
//! answer's `RateLimit-Complexity-Requested` (or the `N` of a refused query's "Query has
//! complexity of N, which exceeds max complexity of M") calibrates the model: the server's
//! figure ÷ the estimate, per `operationName`. The sizer then chooses page sizes by the
//! calibrated estimate: under the per-query cap `M` (default 50,000), and, while the server
//! may charge what a query requests before it runs (not known to charge the actual cost
//! after), under the budget left. The outermost page shrinks first, nested pages when even a
//! page of one would not fit; a page size the caller chose is never shrunk.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::complexity::{Document, PageVar};
use crate::page_sizer::{largest_outer, outer, scaled, set, shrink, size_of};

/// Buildkite's documented cap on one query's requested complexity.
pub(crate) const DEFAULT_CAP: u64 = 50_000;
/// A shrunk page aims this far under the cap, so a slightly dearer next page still fits.
const CAP_MARGIN: f64 = 0.8;
/// And this far under the budget left, once the server has priced the operation; before
/// that, half of it: a server stricter than the model by up to 2× still finds it fits.
const BUDGET_MARGIN: f64 = 0.9;
const UNCALIBRATED_BUDGET_MARGIN: f64 = 0.5;
/// The server's figure differs from the estimate by more than this: say so (once).
const DRIFT: f64 = 1.1;
/// Operation names are the adapter's own; the bound keeps the map small whatever happens.
const MAX_OPERATIONS: usize = 64;
/// Figures past this are not a complexity (untrusted input).
const MAX_FIGURE: u64 = 1_000_000_000_000;

/// When the server charges GraphQL points, as observed from its budget headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charging {
    Unknown,
    /// The actual complexity, after the query (Buildkite's documented accounting).
    Actual,
    /// The requested complexity, before the query runs.
    Requested,
}

#[derive(Debug, Clone, Copy)]
struct OpCal {
    /// Server figure ÷ estimate.
    ratio: f64,
    /// Actual ÷ requested, as the server reported them (for pacing).
    actual_share: f64,
    /// The server has priced this operation.
    calibrated: bool,
    drift_reported: bool,
    shrink_reported: bool,
}

impl Default for OpCal {
    fn default() -> Self {
        Self {
            ratio: 1.0,
            actual_share: 1.0,
            calibrated: false,
            drift_reported: false,
            shrink_reported: false,
        }
    }
}

#[derive(Debug)]
struct State {
    ops: HashMap<String, OpCal>,
    cap: u64,
    charging: Charging,
    /// The smallest GraphQL budget limit a response named (one window's points).
    limit: Option<u64>,
}

/// Per-client calibration (shared by everything that shares the `Api`).
#[derive(Debug)]
pub(crate) struct Calibration(Mutex<State>);

impl Default for Calibration {
    fn default() -> Self {
        Self(Mutex::new(State {
            ops: HashMap::new(),
            cap: DEFAULT_CAP,
            charging: Charging::Unknown,
            limit: None,
        }))
    }
}

/// What the sizer decided for one request.
#[derive(Debug)]
pub(crate) enum Fit {
    /// Send it, with a sentence when it shrank a page (the first time only).
    Send { shrunk: Option<String> },
    /// A caller-chosen page over the cap: the largest page that fits (0: none).
    TooLarge { cost: u64, cap: u64, largest: u64 },
    /// Not even the smallest page fits the budget left: wait until it holds `cost`.
    Wait { cost: u64 },
}

/// What one answer taught, for the log and (on drift) a report.
#[derive(Debug)]
pub(crate) struct Observed {
    pub(crate) ratio: f64,
    pub(crate) drifted: bool,
}

impl Calibration {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn op<'a>(state: &'a mut State, name: &str) -> Option<&'a mut OpCal> {
        if !state.ops.contains_key(name) && state.ops.len() >= MAX_OPERATIONS {
            return None;
        }
        Some(state.ops.entry(name.to_owned()).or_default())
    }

    /// Server figure ÷ estimate for `name` (1 until the server said).
    pub(crate) fn ratio(&self, name: &str) -> f64 {
        self.lock().ops.get(name).map_or(1.0, |c| c.ratio)
    }

    pub(crate) fn charging(&self) -> Charging {
        self.lock().charging
    }

    /// The calibrated requested cost of `doc` with `variables`.
    pub(crate) fn cost(&self, name: &str, doc: &Document, variables: &Value) -> u64 {
        scaled(doc.requested(variables), self.ratio(name))
    }

    /// What to reserve before sending: the requested cost where the server may charge it
    /// up front, else the share of it the server's actual figures have been.
    pub(crate) fn pacing_cost(&self, name: &str, doc: &Document, variables: &Value) -> u64 {
        let requested = self.cost(name, doc, variables);
        let state = self.lock();
        let op = state.ops.get(name).filter(|c| c.calibrated);
        let share = match (state.charging, op) {
            (Charging::Requested, _) => 1.0,
            // Nothing known of this operation's actual cost yet: a point, as before.
            (_, None) => return 1,
            (_, Some(op)) => op.actual_share,
        };
        scaled(requested, share).max(1)
    }

    /// Records an answer's figures: `requested`/`actual` from its headers, `dropped` the
    /// points the budget left fell by across the request (when the window did not reset).
    pub(crate) fn observe(
        &self,
        name: &str,
        estimate: u64,
        requested: Option<u64>,
        actual: Option<u64>,
        dropped: Option<u64>,
        limit: Option<u64>,
    ) -> Option<Observed> {
        let mut state = self.lock();
        if let Some(limit) = limit.filter(|l| (1..=MAX_FIGURE).contains(l)) {
            state.limit = Some(state.limit.map_or(limit, |l| l.min(limit)));
        }
        let requested = requested.filter(|r| (1..=MAX_FIGURE).contains(r))?;
        if let (Some(actual), Some(dropped)) = (actual, dropped) {
            // Only a query whose two figures differ clearly tells the accountings apart.
            if requested > actual.saturating_mul(2).saturating_add(10) {
                if dropped.saturating_mul(10) >= requested.saturating_mul(9) {
                    state.charging = Charging::Requested;
                } else if dropped <= actual.saturating_add(requested) / 2 {
                    state.charging = Charging::Actual;
                }
            }
        }
        let cal = Self::op(&mut state, name)?;
        if estimate == 0 {
            return None;
        }
        cal.ratio = requested as f64 / estimate as f64;
        cal.calibrated = true;
        if let Some(actual) = actual.filter(|a| *a <= MAX_FIGURE) {
            // Smoothed: pages differ in how full they are.
            let share = (actual as f64 / requested as f64).min(1.0);
            cal.actual_share = 0.5 * cal.actual_share + 0.5 * share;
        }
        let drifted = cal.ratio > DRIFT && !cal.drift_reported;
        cal.drift_reported |= drifted;
        Some(Observed {
            ratio: cal.ratio,
            drifted,
        })
    }

    /// A refused query: the server's `requested` (if it gave one) calibrates, its `cap` (if it
    /// gave one) replaces the default; without a number the model is taken to be half right.
    pub(crate) fn refused(
        &self,
        name: &str,
        estimate: u64,
        requested: Option<u64>,
        cap: Option<u64>,
    ) {
        let mut state = self.lock();
        if let Some(cap) = cap.filter(|c| (1..=MAX_FIGURE).contains(c)) {
            state.cap = cap;
        }
        let Some(cal) = Self::op(&mut state, name) else {
            return;
        };
        cal.calibrated = true;
        match requested.filter(|r| (1..=MAX_FIGURE).contains(r)) {
            Some(requested) if estimate > 0 => {
                cal.ratio = cal.ratio.max(requested as f64 / estimate as f64);
            }
            _ => cal.ratio = (cal.ratio * 2.0).min(1e6),
        }
    }

    /// Chooses the page sizes in `variables` for `doc` (see the module docs). `fixed`: the
    /// outermost page size is the caller's and is never changed. `remaining`: the GraphQL
    /// budget left, when known.
    pub(crate) fn fit(
        &self,
        name: &str,
        doc: &Document,
        variables: &mut Value,
        fixed: bool,
        remaining: Option<u64>,
    ) -> Fit {
        let ratio = self.ratio(name);
        let (cap, charging, limit, calibrated) = {
            let s = self.lock();
            let calibrated = s.ops.get(name).is_some_and(|c| c.calibrated);
            (s.cap, s.charging, s.limit, calibrated)
        };
        let margin = if calibrated {
            BUDGET_MARGIN
        } else {
            UNCALIBRATED_BUDGET_MARGIN
        };
        let cost = |v: &Value| scaled(doc.requested(v), ratio);
        let vars = doc.page_vars();
        let start = cost(variables);
        // Why a page shrank, when it is worth saying: a provider that disagrees with the model
        // (not the adapter's own caution before it knows how the server charges).
        let mut shrunk: Option<String> = None;
        if start > cap {
            let target = scaled(cap, CAP_MARGIN);
            if shrink(doc, &vars, variables, target, fixed, &cost) {
                shrunk = Some(format!("over Buildkite's cap of {cap} points a query"));
            }
            if fixed && cost(variables) > cap {
                return Fit::TooLarge {
                    cost: start,
                    cap,
                    largest: largest_outer(&vars, variables, cap, &cost),
                };
            }
        }
        let budget = match charging {
            Charging::Actual => None,
            Charging::Unknown | Charging::Requested => remaining.or(limit),
        };
        if let Some(budget) = budget
            && cost(variables) > scaled(budget, margin)
        {
            let before = variables.clone();
            if !fixed && shrink(doc, &vars, variables, scaled(budget, margin), false, &cost) {
                if charging == Charging::Requested {
                    shrunk = Some(format!(
                        "more than the {budget} points left, which Buildkite charges before a query runs"
                    ));
                } else {
                    tracing::debug!(
                        operation = name,
                        budget,
                        "a page sized to the budget left until Buildkite's accounting is known"
                    );
                }
            } else if charging == Charging::Requested {
                *variables = before;
                return Fit::Wait {
                    cost: cost(variables),
                };
            } else {
                // Not known to charge up front, and no page fits the budget left: send it
                // as it is, as Buildkite documents (the actual cost is charged after).
                *variables = before;
            }
        }
        let cost = cost(variables);
        let shrunk =
            shrunk.and_then(|why| self.shrink_sentence(name, start, cost, &why, &vars, variables));
        Fit::Send { shrunk }
    }

    /// The largest caller page that fits the cap with the other sizes as they are.
    pub(crate) fn largest(&self, name: &str, doc: &Document, variables: &Value) -> u64 {
        let ratio = self.ratio(name);
        let cap = self.lock().cap;
        let vars = doc.page_vars();
        let cost = |v: &Value| scaled(doc.requested(v), ratio);
        let mut variables = variables.clone();
        let largest = largest_outer(&vars, &mut variables, cap, &cost);
        if largest > 0 {
            return largest;
        }
        // With the nested pages (the adapter's) at their smallest.
        let outer: Vec<PageVar> = outer(&vars, &variables).into_iter().cloned().collect();
        for v in vars.iter().filter(|v| !outer.contains(v)) {
            if size_of(&variables, &v.name).is_some() {
                set(&mut variables, &v.name, 1);
            }
        }
        largest_outer(&vars, &mut variables, cap, &cost)
    }

    fn shrink_sentence(
        &self,
        name: &str,
        start: u64,
        cost: u64,
        why: &str,
        vars: &[PageVar],
        variables: &Value,
    ) -> Option<String> {
        let mut state = self.lock();
        let cal = Self::op(&mut state, name)?;
        if std::mem::replace(&mut cal.shrink_reported, true) {
            return None;
        }
        let sizes: Vec<String> = vars
            .iter()
            .filter_map(|v| Some(format!("{} {}", v.name, variables.get(&v.name)?.as_u64()?)))
            .collect();
        Some(format!(
            "{name} would cost about {start} points, {why}; asking for smaller pages ({}: about {cost} points) instead",
            sizes.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::page_sizer::set;

    const MEMBERS: &str = include_str!("graphql/members.graphql");

    #[test]
    fn a_refusal_calibrates_and_the_next_pages_fit() {
        let doc = Document::parse(MEMBERS).expect("parses");
        let cal = Calibration::default();
        let mut v = json!({ "first": 500, "teamsFirst": 40 });
        // The documented rule: 44,004 fits.
        assert!(matches!(
            cal.fit("M", &doc, &mut v, false, None),
            Fit::Send { shrunk: None, .. }
        ));
        assert_eq!(v["first"], 500);
        // A stricter server said 64,504.
        cal.refused("M", doc.requested(&v), Some(64_504), Some(50_000));
        let Fit::Send { shrunk } = cal.fit("M", &doc, &mut v, false, None) else {
            panic!("fits");
        };
        let cost = cal.cost("M", &doc, &v);
        assert!(cost <= 40_000 && shrunk.is_some(), "{cost}");
        let first = v["first"].as_u64().expect("size");
        assert!((250..500).contains(&first), "{first}");
        assert_eq!(v["teamsFirst"], 40, "the outer page shrinks first");
        // A caller's page of 500 is never shrunk: the nested teams (the adapter's) are.
        let mut v = json!({ "first": 500, "teamsFirst": 40 });
        assert!(matches!(
            cal.fit("M", &doc, &mut v, true, None),
            Fit::Send { .. }
        ));
        assert_eq!(v["first"], 500);
        assert!(v["teamsFirst"].as_u64().expect("size") < 40);
        // One too large even so: the error names the largest page that fits.
        let mut v = json!({ "first": 5_000, "teamsFirst": 40 });
        assert!(matches!(
            cal.fit("M", &doc, &mut v, true, None),
            Fit::TooLarge {
                cap: 50_000,
                largest: 1..,
                ..
            }
        ));
        let wide = json!({ "first": 5_000, "teamsFirst": 40 });
        let largest = cal.largest("M", &doc, &wide);
        let mut at = json!({ "first": largest, "teamsFirst": 40 });
        assert!(cal.cost("M", &doc, &at) <= 50_000);
        set(&mut at, "first", largest + 1);
        assert!(cal.cost("M", &doc, &at) > 50_000);
        // No number: the model is taken as half right, so the page halves.
        cal.refused("N", doc.requested(&v), None, None);
        assert!((cal.ratio("N") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn charge_before_is_detected_and_pages_fit_the_budget_left() {
        let doc = Document::parse(MEMBERS).expect("parses");
        let cal = Calibration::default();
        // Unknown accounting: a page asks for at most half the budget left, when one fits.
        let mut v = json!({ "first": 500, "teamsFirst": 40 });
        let Fit::Send { .. } = cal.fit("M", &doc, &mut v, false, Some(5_000)) else {
            panic!("fits");
        };
        let cost = cal.cost("M", &doc, &v);
        assert!(
            cost <= 2_500,
            "{cost}: half the budget before the server priced it"
        );
        // The budget fell by the requested figure, not the actual one: charge-before.
        cal.observe(
            "M",
            cost,
            Some(cost),
            Some(cost / 10),
            Some(cost),
            Some(5_000),
        );
        assert_eq!(cal.charging(), Charging::Requested);
        let mut v = json!({ "first": 1, "teamsFirst": 40 });
        assert!(matches!(
            cal.fit("M", &doc, &mut v, false, Some(10)),
            Fit::Wait { .. }
        ));
        assert_eq!(v["teamsFirst"], 40, "unchanged when it waits");
        // The budget fell by the actual figure: the documented accounting, the cap only.
        cal.observe(
            "M",
            cost,
            Some(cost),
            Some(cost / 10),
            Some(cost / 10),
            None,
        );
        assert_eq!(cal.charging(), Charging::Actual);
        let mut v = json!({ "first": 500, "teamsFirst": 40 });
        assert!(matches!(
            cal.fit("M", &doc, &mut v, false, Some(10)),
            Fit::Send { .. }
        ));
        assert_eq!(v["first"], 500);
        // Garbage figures are ignored.
        assert!(
            cal.observe("M", 10, Some(u64::MAX), None, None, None)
                .is_none()
        );
        assert!(cal.observe("M", 10, Some(0), None, None, None).is_none());
    }
}
