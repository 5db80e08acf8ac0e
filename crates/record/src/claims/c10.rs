//! C10 — coroutines are lighter than threads.
//!
//! Decided by `report` across binaries ([`across`]): the fastest round trip
//! per placement (`pingpong`) and the smallest memory per unit (`memory`) of
//! threads and of coroutines.

use super::{Judged, Measured, Part, all_parts, ordered};
use crate::fmt::{fmt_bytes, fmt_ns};

/// The two kinds compared, heavier first.
pub const PAIR: [&str; 2] = ["thread", "coroutine"];

/// Holds when the coroutine is cheaper in every comparison: `pingpong` holds
/// `(placement, measured p50 round trips per kind)`, `memory` the memory per
/// unit per kind. `None` without a comparison.
pub fn across(pingpong: &[(String, Vec<Measured<'_>>)], memory: &[Measured<'_>]) -> Option<Judged> {
    let mut parts: Vec<Part> = pingpong
        .iter()
        .filter_map(|(place, v)| ordered(&format!("pingpong p50 ({place})"), &PAIR, v, fmt_ns))
        .collect();
    parts.extend(ordered("memory per unit", &PAIR, memory, fmt_bytes));
    all_parts(
        parts,
        "computed by report: the fastest pingpong model per placement (merged p50 round trip) and the smallest \
         memory per unit of threads and of coroutines (records' `unit`, else their binary); holds when the \
         coroutine is cheaper in every comparison"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Status;

    #[test]
    fn the_coroutine_must_win_every_comparison() {
        let m = |k, v: f64| {
            (
                k,
                Some(crate::claims::Point {
                    value: v,
                    label: "m".into(),
                    taken: 0.0,
                }),
            )
        };
        let pp = vec![(
            "same-cpu".to_string(),
            vec![m("thread", 4000.0), m("coroutine", 500.0)],
        )];
        let mem = [m("thread", 10_000.0), m("coroutine", 400.0)];
        assert_eq!(across(&pp, &mem).unwrap().status, Status::Holds);
        let heavy = [m("thread", 10_000.0), m("coroutine", 40_000.0)];
        assert_eq!(across(&pp, &heavy).unwrap().status, Status::DoesNotHold);
        assert!(across(&[], &[]).is_none());
    }
}
