//! The `kitchen` experiment's common ground: what a model reports ([`Cooked`]),
//! the one check every model passes, the figures of its record, and the
//! `sequential` cook that every binary measures first.
//!
//! The orders themselves are `workload`'s [`KitchenPlan`]; how a model
//! overlaps them (threads, processes, tasks) is the concept crate's part.

use std::thread;
use std::time::{Duration, Instant};

use workload::{Checksum, KitchenPlan};

use record::claims::c1::{self, KitchenBounds};
use record::claims::c4;
use record::{Verdict, hist};

use crate::session::Outcome;

/// What a model produced: the prep checksum, each order's completion time
/// since the start, and the makespan.
#[derive(Debug, Clone, PartialEq)]
pub struct Cooked {
    /// Checksum of all prep work.
    pub checksum: Checksum,
    /// Completion time of each order, nanoseconds since the start.
    pub done_ns: Vec<u64>,
    /// Time until the last order was done.
    pub makespan: Duration,
}

/// Waits `ms` milliseconds by blocking the calling thread: a cook who stands
/// and watches the pot.
pub fn wait_blocking(ms: u32) {
    thread::sleep(Duration::from_millis(u64::from(ms)));
}

/// One cook, order after order, watching every pot (`sequential`): the
/// makespan is the sum of the orders.
pub fn sequential(plan: &KitchenPlan) -> Cooked {
    let start = Instant::now();
    let mut checksum = Checksum::default();
    let mut done_ns = Vec::with_capacity(plan.orders.len());
    for i in 0..plan.orders.len() {
        checksum = checksum.merge(plan.cook_blocking(i, wait_blocking));
        done_ns.push(start.elapsed().as_nanos() as u64);
    }
    Cooked {
        checksum,
        done_ns,
        makespan: start.elapsed(),
    }
}

/// The plan's bounds, for the C1 verdict.
pub fn bounds(plan: &KitchenPlan) -> KitchenBounds {
    KitchenBounds {
        orders: plan.orders.len(),
        longest_order_ms: f64::from(plan.longest_order_ms()),
        sum_of_orders_ms: plan.sum_ms() as f64,
        ideal_one_cpu_ms: plan.ideal_makespan_ms(1),
    }
}

/// The verdict the case of `model` decides, from the makespans of this
/// repetition so far: C1 when `model` is the concurrent model confined to one
/// CPU (`concurrent_on_one_cpu`), C4 when it is `models.both` on more than one.
pub fn verdict(
    makespans: &[(&str, f64)],
    model: &str,
    plan: &KitchenPlan,
    parallelism: usize,
    concurrent_on_one_cpu: bool,
    models: Option<c4::Models<'_>>,
) -> Option<Verdict> {
    if concurrent_on_one_cpu {
        return c1::verdict(makespans, model, &bounds(plan));
    }
    let models = models.filter(|m| m.both == model && parallelism > 1)?;
    // C4 is about orders that need more than one CPU (see `c4::MIN_CPU_BOUND`).
    if !c4::decides(
        plan.ideal_makespan_ms(1),
        plan.ideal_makespan_ms(parallelism),
    ) {
        return None;
    }
    c4::verdict(
        makespans,
        models,
        parallelism,
        plan.ideal_makespan_ms(parallelism),
    )
}

impl Cooked {
    /// The makespan in milliseconds.
    pub fn makespan_ms(&self) -> f64 {
        self.makespan.as_secs_f64() * 1e3
    }

    /// Fails the run unless `model` cooked every order of `plan` and its
    /// prep checksum is `expected` (the plan's, computed once per run).
    pub fn check(&self, model: &str, plan: &KitchenPlan, expected: Checksum) -> anyhow::Result<()> {
        let orders = plan.orders.len();
        anyhow::ensure!(
            self.checksum == expected && self.done_ns.len() == orders,
            "{model} cooked {} of {orders} orders with checksum {} instead of {}",
            self.done_ns.len(),
            self.checksum.hex(),
            expected.hex()
        );
        Ok(())
    }

    /// The outcome of the case: one op per order, the makespan as wall time,
    /// the orders' completion times as samples, and the figures
    /// `makespan_ms`, `longest_order_ms`, `sum_of_orders_ms`,
    /// `ideal_makespan_ms` (the best possible on `cpus` CPUs, the ones the
    /// model could use) and `makespan_over_ideal`.
    pub fn outcome(&self, plan: &KitchenPlan, cpus: usize) -> Outcome {
        let ms = self.makespan_ms();
        let ideal = plan.ideal_makespan_ms(cpus);
        let mut h = hist::new();
        self.done_ns.iter().for_each(|&ns| hist::record(&mut h, ns));
        Outcome::new(plan.orders.len() as u64)
            .wall(self.makespan)
            .checksum(self.checksum)
            .histogram(h)
            .figure("makespan_ms", ms)
            .figure("longest_order_ms", f64::from(plan.longest_order_ms()))
            .figure("sum_of_orders_ms", plan.sum_ms() as f64)
            .figure("ideal_makespan_ms", ideal)
            .figure("makespan_over_ideal", ms / ideal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use record::Claim;

    #[test]
    fn sequential_cooks_every_order() {
        // A tiny calibration keeps prep short; waiting is real (about 125 ms).
        let plan = KitchenPlan::new(3, 5.0, 1);
        let cooked = sequential(&plan);
        assert!(
            cooked
                .check("sequential", &plan, plan.expected_checksum())
                .is_ok()
        );
        assert!(cooked.makespan >= Duration::from_millis(u64::from(plan.longest_order_ms())));
        assert!(
            cooked.done_ns.windows(2).all(|w| w[0] <= w[1]),
            "one after another"
        );
    }

    #[test]
    fn a_missing_order_or_a_wrong_checksum_fails() {
        let plan = KitchenPlan::new(3, 5.0, 1);
        let want = plan.expected_checksum();
        let short = Cooked {
            checksum: want,
            done_ns: vec![1, 2],
            makespan: Duration::from_millis(60),
        };
        let err = short.check("m", &plan, want).unwrap_err().to_string();
        assert!(err.contains("m cooked 2 of 3 orders"), "{err}");
        let wrong = Cooked {
            checksum: Checksum::default(),
            done_ns: vec![1, 2, 3],
            ..short
        };
        assert!(wrong.check("m", &plan, want).is_err());
    }

    #[test]
    fn the_outcome_carries_every_figure() {
        let plan = KitchenPlan::new(3, 5.0, 1);
        let cooked = Cooked {
            checksum: plan.expected_checksum(),
            done_ns: vec![30_000_000, 45_000_000, 104_000_000],
            makespan: Duration::from_millis(104),
        };
        let out = cooked.outcome(&plan, 1);
        assert_eq!(out.ops, 3);
        assert_eq!(out.histogram.as_ref().unwrap().len(), 3);
        assert_eq!(out.figures["makespan_ms"], 104.0);
        assert_eq!(out.figures["longest_order_ms"], 52.0);
        assert_eq!(out.figures["sum_of_orders_ms"], 125.0);
        assert_eq!(out.figures["ideal_makespan_ms"], 52.0);
        assert_eq!(out.figures["makespan_over_ideal"], 2.0);
    }

    #[test]
    fn the_concurrent_model_on_one_cpu_decides_c1_and_both_on_more_decides_c4() {
        let plan = KitchenPlan::new(3, 5.0, 1);
        let m = c4::Models {
            both: "b",
            parallel_only: "p",
            concurrent_only: "c",
        };
        let walls = [
            ("sequential", 126.0),
            ("p", 100.0),
            ("c", 58.0),
            ("b", 55.0),
        ];
        let v = verdict(&walls, "c", &plan, 2, true, Some(m)).unwrap();
        assert_eq!((v.claim, v.holds()), (Claim::C1, true));
        assert!(
            verdict(&walls, "b", &plan, 2, false, Some(m)).is_none(),
            "three orders fit one CPU: C4 is not decided by them"
        );
        // 300 orders of 10 ms prep per three need more than one CPU.
        let busy = KitchenPlan::new(300, 5.0, 1);
        let walls = [("p", 4200.0), ("c", 1000.0), ("b", 380.0)];
        let v = verdict(&walls, "b", &busy, 3, false, Some(m)).unwrap();
        assert_eq!((v.claim, v.holds()), (Claim::C4, true));
        assert!(
            verdict(&walls, "b", &busy, 1, false, Some(m)).is_none(),
            "C4 needs 2 CPUs"
        );
        assert!(verdict(&walls, "p", &busy, 3, false, Some(m)).is_none());
        assert!(verdict(&walls, "b", &busy, 3, false, None).is_none());
    }

    #[test]
    fn c1_reads_the_plans_bounds() {
        let plan = KitchenPlan::new(3, 5.0, 1);
        let k = bounds(&plan);
        let v = c1::verdict(
            &[("sequential", 126.0), ("thread-per-order", 53.0)],
            "thread-per-order",
            &k,
        );
        assert!(v.unwrap().holds());
        let v = c1::verdict(
            &[("sequential", 126.0), ("thread-per-order", 120.0)],
            "thread-per-order",
            &k,
        );
        assert!(!v.unwrap().holds());
    }
}
