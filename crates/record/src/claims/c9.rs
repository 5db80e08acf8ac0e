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
/// CPUs made `expected` increments in all; `interleaved` counts the
/// increments of `load-store` whose load found another thread's write since
/// the thread's own last store — proof that the racing threads met.
///
/// A synchronised model that lost an update does not hold, whatever else
/// ran. An unsynchronised one that lost none *and never met another thread*
/// could not show the race (inconclusive: on CPUs others keep busy the
/// threads may run one after another); one that met the others and still
/// lost nothing does not hold.
pub fn verdict(
    racy: Raced,
    atomic: Raced,
    mutex: Raced,
    interleaved: u64,
    units: usize,
    parallel: usize,
    expected: u64,
) -> Verdict {
    let text = |how: &str| {
        format!(
            "{units} threads on {parallel} CPU(s), {expected} increments: load-store lost {} ({:.1} %) at {:.1} ns/increment; \
             fetch-add lost {} at {:.1} ns; mutex lost {} at {:.1} ns: {how}",
            racy.lost,
            100.0 * racy.lost as f64 / expected as f64,
            racy.ns_per_increment,
            atomic.lost,
            atomic.ns_per_increment,
            mutex.lost,
            mutex.ns_per_increment
        )
    };
    if atomic.lost > 0 || mutex.lost > 0 {
        // A synchronised counter that loses an update is broken, however
        // busy the machine: nothing is weighed away.
        return Verdict::new(
            Claim::C9,
            false,
            text("a synchronised counter lost updates"),
        );
    }
    let v = if racy.lost > 0 {
        Verdict::new(
            Claim::C9,
            true,
            text("unsynchronised read-modify-writes lost updates, synchronised ones did not"),
        )
    } else if interleaved == 0 {
        Verdict::inconclusive(
            Claim::C9,
            text("nothing raced"),
            format!(
                "the racing threads never met: none of load-store's {expected} increments saw another thread's write"
            ),
        )
    } else {
        Verdict::new(
            Claim::C9,
            false,
            text(&format!(
                "load-store's threads met {interleaved} time(s), yet no update was lost"
            )),
        )
    };
    v.comparing(["load-store", "fetch-add", "mutex"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;

    #[test]
    fn reads_the_losses_and_the_meetings() {
        let r = |lost, ns| Raced {
            lost,
            ns_per_increment: ns,
        };
        assert!(verdict(r(500, 2.0), r(0, 10.0), r(0, 30.0), 900, 2, 2, 1000).holds());
        let v = verdict(r(0, 2.0), r(0, 10.0), r(0, 30.0), 0, 2, 2, 1000);
        assert_eq!(v.outcome, Outcome::Inconclusive, "the threads never met");
        assert!(v.reason.unwrap().contains("never met"));
        let v = verdict(r(0, 2.0), r(0, 10.0), r(0, 30.0), 40, 2, 2, 1000);
        assert_eq!(v.outcome, Outcome::DoesNotHold, "they met and lost nothing");
        let v = verdict(r(500, 2.0), r(1, 10.0), r(0, 30.0), 900, 2, 2, 1000);
        assert_eq!(v.outcome, Outcome::DoesNotHold);
    }
}
