//! The page sizer's arithmetic: page-size variables found by the estimator, shrunk until the
//! calibrated cost fits a target (the outermost page first, nested pages when even a page of
//! one would not fit). The decisions around it are in `calibration.rs`.

use serde_json::Value;

use crate::complexity::{Document, PageVar};

pub(crate) fn scaled(points: u64, factor: f64) -> u64 {
    let x = (points as f64 * factor).ceil();
    if x >= u64::MAX as f64 {
        u64::MAX
    } else {
        x as u64
    }
}

pub(crate) fn size_of(variables: &Value, name: &str) -> Option<u64> {
    variables.get(name).and_then(Value::as_u64)
}

pub(crate) fn set(variables: &mut Value, name: &str, size: u64) {
    if let Some(map) = variables.as_object_mut() {
        map.insert(name.to_owned(), Value::from(size));
    }
}

/// The outermost page variables that hold a size.
pub(crate) fn outer<'a>(vars: &'a [PageVar], variables: &Value) -> Vec<&'a PageVar> {
    let set: Vec<&PageVar> = vars
        .iter()
        .filter(|v| size_of(variables, &v.name).is_some())
        .collect();
    let depth = set.first().map(|v| v.depth);
    set.into_iter().filter(|v| Some(v.depth) == depth).collect()
}

/// The largest outer size (≤ the current one) whose cost is within `target`; 0 if none.
pub(crate) fn largest_outer(
    vars: &[PageVar],
    variables: &mut Value,
    target: u64,
    cost: &dyn Fn(&Value) -> u64,
) -> u64 {
    let outer: Vec<PageVar> = outer(vars, variables).into_iter().cloned().collect();
    let Some(current) = outer.first().and_then(|v| size_of(variables, &v.name)) else {
        return 0;
    };
    let saved = variables.clone();
    let (mut lo, mut hi) = (0, current);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        for v in &outer {
            set(variables, &v.name, mid);
        }
        if cost(variables) <= target {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    *variables = saved;
    lo
}

/// Shrinks the page sizes until the cost is within `target`: the outer page (unless `fixed`),
/// then the nested ones. Whether it fits.
pub(crate) fn shrink(
    _doc: &Document,
    vars: &[PageVar],
    variables: &mut Value,
    target: u64,
    fixed: bool,
    cost: &dyn Fn(&Value) -> u64,
) -> bool {
    let outer: Vec<PageVar> = outer(vars, variables).into_iter().cloned().collect();
    let nested: Vec<PageVar> = vars
        .iter()
        .filter(|v| !outer.contains(v) && size_of(variables, &v.name).is_some())
        .cloned()
        .collect();
    for round in 0..2 {
        if !fixed {
            let best = largest_outer(vars, variables, target, cost);
            if best >= 1 {
                for v in &outer {
                    set(variables, &v.name, best);
                }
                return true;
            }
        } else if cost(variables) <= target {
            return true;
        }
        if round == 1 || nested.is_empty() {
            break;
        }
        // Not even an outer page of one fits: shrink the nested pages by the ratio.
        let mut probe = variables.clone();
        if !fixed {
            for v in &outer {
                set(&mut probe, &v.name, 1);
            }
        }
        let over = cost(&probe).max(1);
        let factor = target as f64 / over as f64;
        for v in &nested {
            let size = size_of(variables, &v.name).unwrap_or(1);
            set(
                variables,
                &v.name,
                ((size as f64 * factor).floor() as u64).max(1),
            );
        }
    }
    cost(variables) <= target
}
