//! C9 — shared memory brings synchronization problems.
//!
//! Decided by `race`: threads incrementing one counter without
//! synchronisation lose updates; an atomic add and a mutex do not.

use super::Claim;
use crate::Verdict;

/// One model's run: updates lost and the cost of one increment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Raced {
    /// Increments that never reached the counter.
    pub lost: u64,
    /// Wall time per increment, nanoseconds.
    pub ns_per_increment: f64,
}

/// The unsynchronised model (`load-store`) loses updates, the synchronised
/// ones (`fetch-add`, `mutex`) lose none. `units` threads on `parallel`
/// CPUs made `expected` increments in all.
pub fn verdict(
    racy: Raced,
    atomic: Raced,
    mutex: Raced,
    units: usize,
    parallel: usize,
    expected: u64,
) -> Verdict {
    let holds = racy.lost > 0 && atomic.lost == 0 && mutex.lost == 0;
    Verdict::new(
        Claim::C9,
        holds,
        format!(
            "{units} threads on {parallel} CPU(s), {expected} increments: load-store lost {} ({:.1} %) at {:.1} ns/increment; \
             fetch-add lost {} at {:.1} ns; mutex lost {} at {:.1} ns",
            racy.lost,
            100.0 * racy.lost as f64 / expected as f64,
            racy.ns_per_increment,
            atomic.lost,
            atomic.ns_per_increment,
            mutex.lost,
            mutex.ns_per_increment
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_losses() {
        let r = |lost, ns| Raced {
            lost,
            ns_per_increment: ns,
        };
        assert!(verdict(r(500, 2.0), r(0, 10.0), r(0, 30.0), 2, 2, 1000).holds);
        assert!(!verdict(r(0, 2.0), r(0, 10.0), r(0, 30.0), 2, 2, 1000).holds);
        assert!(!verdict(r(500, 2.0), r(1, 10.0), r(0, 30.0), 2, 2, 1000).holds);
    }
}
