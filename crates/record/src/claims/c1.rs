//! C1 — concurrency overlaps waiting, even on one core.
//!
//! Decided by `kitchen` on one CPU: the concurrent cook finishes in about the
//! time of the longest order, the sequential one in about the sum of them.

use super::{Claim, SEQUENTIAL, find};
use crate::Verdict;

/// The concurrent makespan on one CPU may exceed the best possible one by this factor at most.
/// "About the longest order": a sleeping task wakes a timer tick late (tokio's wheel
/// ticks in whole milliseconds) and shares one CPU, so a few milliseconds over the
/// ideal are the mechanism, not a failure; the sequential cook is 2.4× the ideal
/// with three orders and ~40× with three hundred, far beyond this margin.
pub const MAX_OVER_IDEAL: f64 = 1.25;
/// The sequential makespan must reach at least this share of the sum of the orders.
pub const MIN_OF_SUM: f64 = 0.90;

/// What a kitchen plan allows, in milliseconds: what C1 measures makespans against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KitchenBounds {
    /// Number of orders.
    pub orders: usize,
    /// The longest single order (its prep and its waiting), milliseconds.
    pub longest_order_ms: f64,
    /// All orders one after another, milliseconds.
    pub sum_of_orders_ms: f64,
    /// The best possible makespan on one CPU, milliseconds.
    pub ideal_one_cpu_ms: f64,
}

/// `makespans` holds the `(model, makespan in ms)` of this repetition;
/// `concurrent` is the model whose orders overlapped on one CPU. Holds when
/// it finished within [`MAX_OVER_IDEAL`] × the best possible makespan on
/// one CPU, the [`SEQUENTIAL`] cook took at least [`MIN_OF_SUM`] × the sum
/// of the orders, and the concurrent cook was the faster. `None` until both
/// were measured.
pub fn verdict(makespans: &[(&str, f64)], concurrent: &str, k: &KitchenBounds) -> Option<Verdict> {
    let seq = find(makespans, SEQUENTIAL)?;
    let conc = find(makespans, concurrent)?;
    let (ideal, sum) = (k.ideal_one_cpu_ms, k.sum_of_orders_ms);
    let overlapped = conc <= MAX_OVER_IDEAL * ideal;
    let waited = seq >= MIN_OF_SUM * sum;
    let holds = overlapped && waited && conc < seq;
    let how = if holds {
        "the waits overlapped"
    } else if !waited {
        "the sequential cook did not wait out every order"
    } else {
        "the concurrent cook did not overlap the waits"
    };
    Some(
        Verdict::new(
            Claim::C1,
            holds,
            format!(
                "{} orders on 1 CPU: concurrent ({concurrent}) {conc:.1} ms vs best possible {ideal:.1} ms \
                 (longest order {:.0} ms); sequential {seq:.1} ms vs sum of orders {sum:.0} ms: {how}",
                k.orders, k.longest_order_ms
            ),
        )
        .comparing([SEQUENTIAL, concurrent]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three orders, one of each dish, as `KitchenPlan::new(3, …)` draws them.
    const K: KitchenBounds = KitchenBounds {
        orders: 3,
        longest_order_ms: 52.0,
        sum_of_orders_ms: 125.0,
        ideal_one_cpu_ms: 52.0,
    };

    #[test]
    fn compares_the_concurrent_model_with_sequential() {
        let v = verdict(
            &[(SEQUENTIAL, 126.0), ("thread-per-order", 53.0)],
            "thread-per-order",
            &K,
        )
        .unwrap();
        assert!(v.holds(), "{}", v.text);
        assert_eq!(v.claim, Claim::C1);
        assert!(v.text.contains("thread-per-order"), "{}", v.text);
        // Concurrent but far from the best possible makespan.
        let v = verdict(
            &[(SEQUENTIAL, 126.0), ("process-per-order", 120.0)],
            "process-per-order",
            &K,
        );
        assert!(!v.unwrap().holds());
        // A sequential cook much faster than the sum of the orders did not wait.
        assert!(
            !verdict(&[(SEQUENTIAL, 60.0), ("x", 53.0)], "x", &K)
                .unwrap()
                .holds()
        );
        // Concurrent no faster than sequential.
        let tight = KitchenBounds {
            sum_of_orders_ms: 50.0,
            ..K
        };
        assert!(
            !verdict(&[(SEQUENTIAL, 50.0), ("x", 52.0)], "x", &tight)
                .unwrap()
                .holds()
        );
    }

    #[test]
    fn needs_both_models() {
        assert!(verdict(&[("process-per-order", 53.0)], "process-per-order", &K).is_none());
        assert!(verdict(&[(SEQUENTIAL, 126.0)], "tokio-current-thread", &K).is_none());
    }
}
