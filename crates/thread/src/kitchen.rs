//! `kitchen`: the seed notes' kitchen, cooked by threads.
//!
//! Orders of ramen, fried rice and spicy pork; every dish is prep steps (CPU
//! work, the kernel) and cooking steps (waiting, `thread::sleep`). A sample is
//! one order's completion time from the start; the wall time is the makespan.
//!
//! Models:
//! - `sequential`: one cook, one order after another, watching every pot:
//!   the makespan is the sum of the orders.
//! - `parallel-only`: N cooks (one per core), each cooking its next order
//!   start to finish: parallel, not concurrent.
//! - `concurrent-only`: a thread per order, all pinned to one CPU: while one
//!   order's water boils, another's vegetables are chopped (C1).
//! - `thread-per-order`: a thread per order on all N CPUs: both at once (C4).
//!
//! On one CPU the middle two equal the others, so they are skipped unless named.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Instant;

use harness::claims::c4;
use harness::cli::KitchenArgs;
use harness::cores::pin_current_thread;
use harness::kitchen::{self, wait_blocking};
use harness::{Common, Session, limits};
use workload::{Checksum, KitchenPlan};

harness::models! {
    /// The models of this experiment, in the order they run.
    pub enum Model {
        /// One cook, one order after another.
        Sequential = "sequential",
        /// N cooks, each cooking its next order start to finish.
        ParallelOnly = "parallel-only",
        /// A thread per order, all pinned to one CPU.
        ConcurrentOnly = "concurrent-only",
        /// A thread per order on all N CPUs.
        ThreadPerOrder = "thread-per-order",
    }
}

/// The models of this experiment, in the order they run.
pub const MODELS: &[Model] = Model::ALL;

impl Model {
    /// True for the models that start one thread per order.
    pub const fn thread_per_order(self) -> bool {
        match self {
            Model::Sequential | Model::ParallelOnly => false,
            Model::ConcurrentOnly | Model::ThreadPerOrder => true,
        }
    }

    /// True for the models that are another one on one CPU (skipped there
    /// unless named): parallel-only is sequential, concurrent-only is
    /// thread-per-order.
    pub const fn same_as_another_on_one_cpu(self) -> bool {
        match self {
            Model::Sequential | Model::ThreadPerOrder => false,
            Model::ParallelOnly | Model::ConcurrentOnly => true,
        }
    }

    /// True when the model is concurrency confined to one CPU, with
    /// `parallelism` CPUs for the run: the case that decides C1.
    pub const fn concurrent_on_one_cpu(self, parallelism: usize) -> bool {
        match self {
            Model::Sequential | Model::ParallelOnly => false,
            Model::ConcurrentOnly => true,
            Model::ThreadPerOrder => parallelism == 1,
        }
    }
}

pub use harness::kitchen::{Cooked, sequential};

/// `cooks` threads, each taking the next order and cooking it start to finish.
pub fn parallel_only(plan: &KitchenPlan, cooks: usize) -> anyhow::Result<Cooked> {
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let parts = thread::scope(|s| {
        let handles: Vec<_> = (0..cooks)
            .map(|c| {
                let next = &next;
                thread::Builder::new()
                    .name(format!("cook-{c}"))
                    .spawn_scoped(s, move || {
                        let mut sum = Checksum::default();
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= plan.orders.len() {
                                return (sum, done);
                            }
                            sum = sum.merge(plan.cook_blocking(i, wait_blocking));
                            done.push(start.elapsed().as_nanos() as u64);
                        }
                    })
                    .map_err(|e| anyhow::anyhow!("cannot start cook thread {c}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a cook thread panicked"))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let makespan = start.elapsed();
    let mut checksum = Checksum::default();
    let mut done_ns = Vec::new();
    for (c, d) in parts {
        checksum = checksum.merge(c);
        done_ns.extend(d);
    }
    Ok(Cooked {
        checksum,
        done_ns,
        makespan,
    })
}

/// A thread per order; with `cpu`, every order thread pins itself to that one CPU.
pub fn thread_per_order(plan: &KitchenPlan, cpu: Option<usize>) -> anyhow::Result<Cooked> {
    let start = Instant::now();
    let parts = thread::scope(|s| {
        let handles: Vec<_> = (0..plan.orders.len())
            .map(|i| {
                thread::Builder::new()
                    .spawn_scoped(s, move || -> anyhow::Result<(Checksum, u64)> {
                        if let Some(c) = cpu {
                            pin_current_thread(c)?;
                        }
                        let sum = plan.cook_blocking(i, wait_blocking);
                        Ok((sum, start.elapsed().as_nanos() as u64))
                    })
                    .map_err(|e| anyhow::anyhow!("cannot start the thread of order {i}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("an order thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let makespan = start.elapsed();
    let checksum = parts.iter().fold(Checksum::default(), |c, p| c.merge(p.0));
    Ok(Cooked {
        checksum,
        done_ns: parts.into_iter().map(|p| p.1).collect(),
        makespan,
    })
}

/// `thread kitchen`.
pub fn run(common: &Common, args: &KitchenArgs) -> anyhow::Result<()> {
    let orders = args.orders as usize;
    let mut s = Session::start("thread", "kitchen", common)?;
    let mut models = s.select_models(MODELS)?;
    let parallelism = s.workers().min(s.cores.cpus.len());
    if parallelism == 1 && common.models.is_empty() {
        models.retain(|m| !m.same_as_another_on_one_cpu());
        s.note("on one CPU parallel-only is sequential and concurrent-only is thread-per-order: skipped");
    }
    if models.iter().any(|m| m.thread_per_order()) {
        limits::check_threads(args.orders, 2 << 20)?;
    }
    let per_ms = s.units_per_ms(&args.calibration);
    let plan = KitchenPlan::new(orders, per_ms, common.seed);
    let expected = plan.expected_checksum();
    let first_cpu = s.cores.cpus[0];
    for rep in 0..common.reps {
        let mut walls: Vec<(&str, f64)> = Vec::new();
        for &model in &models {
            let one_cpu = model.concurrent_on_one_cpu(parallelism);
            let case = s
                .case(model.name(), "", rep)
                .param("orders", args.orders)
                .param("units_per_ms", per_ms)
                .param(
                    "workers",
                    if model == Model::Sequential || one_cpu {
                        1
                    } else {
                        s.workers()
                    },
                );
            let cooked = match model {
                Model::Sequential => sequential(&plan),
                Model::ParallelOnly => parallel_only(&plan, s.workers())?,
                Model::ConcurrentOnly => thread_per_order(&plan, Some(first_cpu))?,
                Model::ThreadPerOrder => thread_per_order(&plan, None)?,
            };
            cooked.check(model.name(), &plan, expected)?;
            walls.push((model.name(), cooked.makespan_ms()));
            let cpus = if one_cpu || model == Model::Sequential {
                1
            } else {
                parallelism
            };
            let verdict = kitchen::verdict(
                &walls,
                model.name(),
                &plan,
                parallelism,
                one_cpu,
                Some(C4_MODELS),
            );
            let out = cooked.outcome(&plan, cpus).verdict(verdict);
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}

/// The models C4 compares: both at once, and each alone.
const C4_MODELS: c4::Models<'static> = c4::Models {
    both: Model::ThreadPerOrder.name(),
    parallel_only: Model::ParallelOnly.name(),
    concurrent_only: Model::ConcurrentOnly.name(),
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_model_cooks_every_order() {
        // A tiny calibration keeps prep short; waiting is real (about 50 ms per model).
        let plan = KitchenPlan::new(3, 5.0, 1);
        let want = plan.expected_checksum();
        let cpu = harness::cores::allowed_cpus().unwrap()[0];
        for cooked in [
            thread_per_order(&plan, Some(cpu)).unwrap(),
            thread_per_order(&plan, None).unwrap(),
            parallel_only(&plan, 2).unwrap(),
        ] {
            assert_eq!(cooked.checksum, want);
            assert_eq!(cooked.done_ns.len(), 3);
            assert!(
                cooked.makespan >= Duration::from_millis(50),
                "no order can beat its own waiting"
            );
        }
    }
}
