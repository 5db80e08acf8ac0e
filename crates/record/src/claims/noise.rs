//! Weighing a verdict against the interference its cases suffered.
//!
//! conpar runs on machines that are rarely idle. Other programs only ever
//! take CPU time away from a case, so they can only make a case slower: a
//! comparison that *failed* while the compared cases lost a good share of
//! their CPUs to others shows the neighbours, not the model, and is
//! **inconclusive** with that share as its reason. A comparison that held
//! stands — except where a slowed-down *baseline* could make it hold by
//! itself (a speedup over a sequential run that others slowed down more than
//! the parallel one): there, a baseline that lost much more than the model
//! is inconclusive too. On an idle machine nothing is weighed away: a
//! contradicted claim says "does not hold".

use super::{Claim, Status};
use crate::verdict::{Interference, Outcome, Verdict};

/// A case is *busy* when other programs (and the hypervisor's steal) took
/// at least this share of its CPUs' capacity. `/proc/stat` counts in ticks
/// (10 ms on most kernels), so a measured share below a tenth is within the
/// counting of a short case; a fifth is two busy CPUs' worth in ten, which
/// slows a CPU-bound case by about that much — more than the margins of the
/// timing claims (C2 allows 1.20×, C3 and C11 need 0.70 efficiency).
pub const BUSY_MIN: f64 = 0.20;

/// A baseline is *slowed more* when it lost at least this much more of its
/// CPUs than the case it is compared with (C3, C11).
pub const ASYMMETRY_MIN: f64 = 0.20;

/// The claims whose "holds" rests on a baseline that other programs could
/// slow down: a speedup over the sequential run.
pub fn baseline_sensitive(claim: Claim) -> bool {
    matches!(claim, Claim::C3 | Claim::C11)
}

/// The interference of one compared case, by its model's name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load<'a> {
    /// The model whose case it is.
    pub model: &'a str,
    /// What that case suffered.
    pub interference: Interference,
}

/// `other programs took 48 % of the CPUs while `x` ran (steal 3 %)`.
pub fn busy_reason(l: &Load<'_>) -> String {
    let i = &l.interference;
    let steal = if i.steal_fraction >= 0.01 {
        format!(
            " (the hypervisor's steal {:.0} % of it)",
            100.0 * i.steal_fraction
        )
    } else {
        String::new()
    };
    format!(
        "other programs took {:.0} % of the CPUs while `{}` ran{steal}",
        100.0 * i.taken_fraction(),
        l.model
    )
}

/// The outcome of a comparison made across binaries: it holds; failing,
/// it is inconclusive when the compared cases lost at least [`BUSY_MIN`] of
/// their CPUs to other programs (`taken`; the reason says so, `while`
/// naming what ran: `the requests ran`), and does not hold otherwise.
pub fn across(holds: bool, taken: f64, while_: &str) -> (Status, Option<String>) {
    if holds {
        (Status::Holds, None)
    } else if taken >= BUSY_MIN {
        let reason = format!(
            "other programs took {:.0} % of the CPUs while {while_}",
            100.0 * taken
        );
        (Status::Inconclusive, Some(reason))
    } else {
        (Status::DoesNotHold, None)
    }
}

/// The busiest of `loads`, if it is busy.
pub fn busiest<'a>(loads: &'a [Load<'a>]) -> Option<&'a Load<'a>> {
    loads
        .iter()
        .filter(|l| l.interference.taken_fraction() >= BUSY_MIN)
        .max_by(|a, b| {
            a.interference
                .taken_fraction()
                .total_cmp(&b.interference.taken_fraction())
        })
}

/// Weighs `v` against the interference of its compared cases (`loads`, the
/// baseline first where the claim has one), by the rule in the module
/// documentation. An inconclusive verdict stays as it is.
pub fn weigh(v: &mut Verdict, loads: &[Load<'_>]) {
    match v.outcome {
        Outcome::Inconclusive => {}
        Outcome::DoesNotHold => {
            if let Some(l) = busiest(loads) {
                v.outcome = Outcome::Inconclusive;
                v.reason = Some(busy_reason(l));
            }
        }
        Outcome::Holds => {
            let Some((base, rest)) = loads.split_first() else {
                return;
            };
            if !baseline_sensitive(v.claim) || rest.is_empty() {
                return;
            }
            let least = rest
                .iter()
                .min_by(|a, b| {
                    a.interference
                        .taken_fraction()
                        .total_cmp(&b.interference.taken_fraction())
                })
                .expect("not empty");
            let (b, m) = (
                base.interference.taken_fraction(),
                least.interference.taken_fraction(),
            );
            if b - m >= ASYMMETRY_MIN {
                v.outcome = Outcome::Inconclusive;
                v.reason = Some(format!(
                    "other programs took {:.0} % of the CPUs while the baseline `{}` ran but {:.0} % while `{}` \
                     ran: the speedup may be theirs",
                    100.0 * b,
                    base.model,
                    100.0 * m,
                    least.model
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(model: &str, others: f64) -> Load<'_> {
        Load {
            model,
            interference: Interference {
                others_cpu_fraction: others,
                steal_fraction: 0.0,
                cpu_pressure_fraction: None,
                run_delay_ns: None,
                window_ns: 1_000_000,
            },
        }
    }

    #[test]
    fn a_failure_on_busy_cpus_is_inconclusive_and_on_idle_ones_stands() {
        let mut v = Verdict::new(Claim::C2, false, "1.30×");
        weigh(&mut v, &[load("sequential", 0.0), load("pool", 0.05)]);
        assert_eq!(v.outcome, Outcome::DoesNotHold, "idle: the failure stands");
        weigh(&mut v, &[load("sequential", 0.48), load("pool", 0.05)]);
        assert_eq!(v.outcome, Outcome::Inconclusive);
        let r = v.reason.unwrap();
        assert!(r.contains("48 %") && r.contains("`sequential`"), "{r}");
    }

    #[test]
    fn across_binaries_a_busy_failure_is_inconclusive_with_its_share() {
        assert_eq!(across(true, 0.9, "x ran"), (Status::Holds, None));
        assert_eq!(across(false, 0.05, "x ran"), (Status::DoesNotHold, None));
        let (status, reason) = across(false, 0.48, "the requests ran");
        assert_eq!(status, Status::Inconclusive);
        assert_eq!(
            reason.as_deref(),
            Some("other programs took 48 % of the CPUs while the requests ran")
        );
    }

    #[test]
    fn a_speedup_over_a_slowed_baseline_is_inconclusive() {
        let mut v = Verdict::new(Claim::C3, true, "1.9×");
        weigh(&mut v, &[load("sequential", 0.5), load("rayon", 0.1)]);
        assert_eq!(v.outcome, Outcome::Inconclusive);
        let mut v = Verdict::new(Claim::C3, true, "1.9×");
        weigh(&mut v, &[load("sequential", 0.5), load("rayon", 0.45)]);
        assert_eq!(
            v.outcome,
            Outcome::Holds,
            "both equally busy: the ratio stands"
        );
        let mut v = Verdict::new(Claim::C1, true, "x");
        weigh(&mut v, &[load("sequential", 0.9), load("c", 0.0)]);
        assert_eq!(v.outcome, Outcome::Holds, "C1 rests on no CPU baseline");
    }
}

/// Every claim's own rule, fed numbers that pass and numbers that fail,
/// weighed on an idle machine and on a busy one: each of the three outcomes
/// comes out where it should.
#[cfg(test)]
mod every_claim {
    use std::time::Duration;

    use super::*;
    use crate::claims::{c1, c2, c3, c4, c5, c6, c7, c8, c9, c11, c12, c13};

    fn loads(v: &Verdict, taken: f64) -> Vec<Load<'_>> {
        v.compared
            .iter()
            .map(|m| Load {
                model: m.as_str(),
                interference: Interference {
                    others_cpu_fraction: taken,
                    steal_fraction: 0.0,
                    cpu_pressure_fraction: None,
                    run_delay_ns: None,
                    window_ns: 1,
                },
            })
            .collect()
    }

    fn weighed(mut v: Verdict, taken: f64) -> Outcome {
        let l: Vec<Load<'_>> = loads(&v, taken)
            .into_iter()
            .map(|l| Load { model: "m", ..l })
            .collect();
        weigh(&mut v, &l);
        v.outcome
    }

    /// C13's four quadrants; the blocking callers worked (`false`) or not.
    fn quadrants(ok: bool) -> Vec<c13::Quadrant<'static>> {
        use c13::{Call, Flow};
        let q = |model, flow, call, wall_ms, units| c13::Quadrant {
            model,
            flow,
            call,
            wall_ms,
            units,
            units_per_ms: 288.0,
        };
        let blocked = if ok { 0 } else { 30_000 };
        vec![
            q("sb", Flow::Sync, Call::Blocking, 203.0, blocked),
            q("sn", Flow::Sync, Call::NonBlocking, 204.0, 54_000),
            q("ab", Flow::Async, Call::Blocking, 21.0, 0),
            q("an", Flow::Async, Call::NonBlocking, 21.5, 5_500),
        ]
    }

    /// `(claim, a passing verdict, a failing one)` from each rule.
    fn cases() -> Vec<(Claim, Verdict, Verdict)> {
        let k = c1::KitchenBounds {
            orders: 3,
            longest_order_ms: 52.0,
            sum_of_orders_ms: 125.0,
            ideal_one_cpu_ms: 52.0,
        };
        let m4 = c4::Models {
            both: "b",
            parallel_only: "p",
            concurrent_only: "c",
        };
        let tail = |ns| c6::Tail {
            ns,
            quantile: 0.99,
            samples: 1000,
        };
        let stall = |b, a| c6::Stall {
            blocking_sleep: tail(b),
            async_sleep: tail(a),
            spawn_blocking: tail(a),
        };
        let raced = |lost| c9::Raced {
            lost,
            ns_per_increment: 1.0,
        };
        let row = |served| c12::Row {
            model: "d".into(),
            connections: 100,
            served,
            unanswered: 100 - served,
            requests_per_s: 1.0,
            p99_ns: 1,
            threads: 1,
            rss_per_connection_bytes: 1.0,
        };
        let block = Duration::from_millis(20);
        let s = |v: Option<Verdict>| v.expect("decided");
        vec![
            (
                Claim::C1,
                s(c1::verdict(&[("sequential", 126.0), ("x", 53.0)], "x", &k)),
                s(c1::verdict(&[("sequential", 126.0), ("x", 90.0)], "x", &k)),
            ),
            (
                Claim::C2,
                s(c2::verdict(&[("pool", 1.0)], 1, "balanced", "one thread")),
                s(c2::verdict(&[("pool", 1.4)], 1, "balanced", "one thread")),
            ),
            (
                Claim::C3,
                s(c3::verdict(&[("rayon", 1.9)], 2, "balanced", "one thread")),
                s(c3::verdict(&[("rayon", 1.1)], 2, "balanced", "one thread")),
            ),
            (
                Claim::C4,
                s(c4::verdict(
                    &[("p", 400.0), ("c", 300.0), ("b", 120.0)],
                    m4,
                    3,
                    100.0,
                )),
                s(c4::verdict(
                    &[("p", 100.0), ("c", 300.0), ("b", 120.0)],
                    m4,
                    3,
                    100.0,
                )),
            ),
            (
                Claim::C5,
                c5::verdict(
                    &[
                        ("seq", c5::Expect::Waits, 1010.0),
                        ("conc", c5::Expect::Overlaps, 22.0),
                    ],
                    50,
                    20.0,
                ),
                c5::verdict(
                    &[
                        ("seq", c5::Expect::Waits, 1010.0),
                        ("conc", c5::Expect::Overlaps, 400.0),
                    ],
                    50,
                    20.0,
                ),
            ),
            (
                Claim::C6,
                c6::stall(stall(19_000_000, 1_000_000), block, 1, "smol"),
                c6::stall(stall(19_000_000, 9_000_000), block, 1, "smol"),
            ),
            (
                Claim::C7,
                s(c7::spawn(&[("fork-exit", 150_000)], 20_000)),
                s(c7::spawn(&[("fork-exit", 15_000)], 20_000)),
            ),
            (
                Claim::C8,
                c8::verdict(2e9, 8e9, 1 << 20, "same-cpu"),
                c8::verdict(8e9, 2e9, 1 << 20, "same-cpu"),
            ),
            (
                Claim::C9,
                c9::verdict(raced(500), raced(0), raced(0), 900, 2, 2, 1000),
                c9::verdict(raced(0), raced(0), raced(0), 900, 2, 2, 1000),
            ),
            (
                Claim::C11,
                s(c11::verdict(1.0, ("procs", 1.9), "p", 2)),
                s(c11::verdict(1.0, ("procs", 1.1), "p", 2)),
            ),
            (
                Claim::C12,
                s(c12::verdict(&[row(100)], ("d", "x"))),
                s(c12::verdict(&[row(40)], ("d", "x"))),
            ),
            (
                Claim::C13,
                c13::verdict(&quadrants(true), 10, 20.0, &[]),
                c13::verdict(&quadrants(false), 10, 20.0, &[]),
            ),
        ]
    }

    #[test]
    fn what_load_cannot_cause_is_never_weighed_away() {
        let unit = |pss| c7::UnitMemory {
            pss,
            rss: pss,
            page_tables: 0.0,
            kernel_stack: 0.0,
        };
        let raced = |lost| c9::Raced {
            lost,
            ns_per_increment: 1.0,
        };
        for v in [
            c7::memory(&unit(10.0), &unit(20.0)),
            c9::verdict(raced(500), raced(3), raced(0), 900, 2, 2, 1000),
        ] {
            assert_eq!(weighed(v, 0.9), Outcome::DoesNotHold);
        }
    }

    #[test]
    fn each_rule_gives_each_outcome() {
        for (claim, pass, fail) in cases() {
            assert_eq!((pass.claim, fail.claim), (claim, claim));
            assert_eq!(
                weighed(pass.clone(), 0.0),
                Outcome::Holds,
                "{claim}: {}",
                pass.text
            );
            assert_eq!(
                weighed(pass, 0.5),
                Outcome::Holds,
                "{claim}: a busy machine takes nothing from a pass"
            );
            assert_eq!(
                weighed(fail.clone(), 0.0),
                Outcome::DoesNotHold,
                "{claim}: a failure on a quiet machine stands: {}",
                fail.text
            );
            assert_eq!(
                weighed(fail, 0.5),
                Outcome::Inconclusive,
                "{claim}: the same numbers on busy CPUs are inconclusive"
            );
        }
    }
}
