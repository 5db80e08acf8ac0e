//! C4 — parallelism and concurrency coexist: "three cores, one hundred
//! orders each".
//!
//! Decided by `kitchen` on more than one CPU, where the orders' prep work
//! needs more than one CPU: the model that is both parallel and concurrent
//! beats each alone.

use super::{Claim, find};
use crate::Verdict;

/// C4 is decided only where one CPU would need at least this many times the
/// best possible makespan on N CPUs: where the orders' prep work needs more
/// than one CPU, so that parallelism has something to add to concurrency.
/// With a few orders the waiting hides all the prep on one CPU (the best
/// possible makespan is the longest order on 1 CPU and on N alike), the
/// models differ by noise, and the case decides nothing.
pub const MIN_CPU_BOUND: f64 = 1.5;

/// The seed's own case: 3 cores.
pub const SEED_CORES: u64 = 3;
/// The seed's own case: 100 orders for each of the 3 cores.
pub const SEED_ORDERS: u64 = 300;

/// Whether a kitchen case with these best possible makespans on one CPU and
/// on `parallelism` CPUs decides C4 (see [`MIN_CPU_BOUND`]).
pub fn decides(ideal_one_cpu_ms: f64, ideal_ms: f64) -> bool {
    ideal_one_cpu_ms >= MIN_CPU_BOUND * ideal_ms
}

/// Whether a record is the seed's own case, which decides C4 where it ran.
pub fn is_seed_case(cores: u64, orders: Option<u64>) -> bool {
    cores == SEED_CORES && orders == Some(SEED_ORDERS)
}

/// The three models C4 compares: both at once, and each alone.
#[derive(Debug, Clone, Copy)]
pub struct Models<'a> {
    /// Parallel and concurrent at once (orders overlap on every CPU).
    pub both: &'a str,
    /// Parallel only: one order at a time per CPU.
    pub parallel_only: &'a str,
    /// Concurrent only: every order overlapping on one CPU.
    pub concurrent_only: &'a str,
}

/// On `cpus` CPUs, the model that is both beats the parallel-only and the
/// concurrent-only one. `ideal_ms` is the best possible makespan on those
/// CPUs, for the text. `None` until all three were measured.
pub fn verdict(
    makespans: &[(&str, f64)],
    m: Models<'_>,
    cpus: usize,
    ideal_ms: f64,
) -> Option<Verdict> {
    let both = find(makespans, m.both)?;
    let par = find(makespans, m.parallel_only)?;
    let conc = find(makespans, m.concurrent_only)?;
    let holds = both < par && both < conc;
    let how = if holds {
        "both at once beat each alone"
    } else if both >= par {
        "parallel only was as fast"
    } else {
        "concurrent only was as fast"
    };
    Some(
        Verdict::new(
            Claim::C4,
            holds,
            format!(
                "on {cpus} CPUs: parallel + concurrent ({}) {both:.1} ms (best possible {ideal_ms:.1} ms) \
                 vs parallel only ({}) {par:.1} ms vs concurrent only ({}, 1 CPU) {conc:.1} ms: {how}",
                m.both, m.parallel_only, m.concurrent_only
            ),
        )
        .comparing([m.parallel_only, m.concurrent_only, m.both]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREADS: Models<'static> = Models {
        both: "thread-per-order",
        parallel_only: "parallel-only",
        concurrent_only: "concurrent-only",
    };

    #[test]
    fn needs_both_to_beat_each_alone() {
        let w = [
            ("parallel-only", 400.0),
            ("concurrent-only", 300.0),
            ("thread-per-order", 120.0),
        ];
        let v = verdict(&w, THREADS, 3, 100.0).unwrap();
        assert_eq!((v.claim, v.holds()), (Claim::C4, true));
        assert!(v.text.contains("concurrent-only"), "{}", v.text);
        let w = [
            ("parallel-only", 100.0),
            ("concurrent-only", 300.0),
            ("thread-per-order", 120.0),
        ];
        assert!(!verdict(&w, THREADS, 3, 100.0).unwrap().holds());
        let w = [
            ("parallel-only", 400.0),
            ("concurrent-only", 100.0),
            ("thread-per-order", 120.0),
        ];
        assert!(!verdict(&w, THREADS, 3, 100.0).unwrap().holds());
        assert!(verdict(&w[1..], THREADS, 3, 100.0).is_none());
    }

    #[test]
    fn the_seed_case_and_the_cpu_bound() {
        assert!(is_seed_case(3, Some(300)));
        assert!(!is_seed_case(3, Some(3)) && !is_seed_case(2, Some(300)));
        assert!(decides(300.0, 100.0) && !decides(52.0, 52.0));
    }
}
