//! `kitchen`: the seed notes' kitchen, cooked by async tasks.
//!
//! The orders of `thread kitchen` (the same [`KitchenPlan`], calibration and
//! checksum): every order is a task; prep steps are CPU work done in the task
//! (the kernel), cook steps are an async sleep, so while one order's water
//! boils the thread chops another's vegetables. A sample is one order's
//! completion time from the start; the wall time is the makespan.
//!
//! Models:
//! - `sequential`: one cook, order after order, watching every pot
//!   (`thread::sleep`): the makespan is the sum of the orders.
//! - `parallel-only`: tasks on a tokio multi-thread runtime of N workers whose
//!   cook steps *block* (`thread::sleep`): each worker cooks one order at a
//!   time, start to finish: parallel, not concurrent.
//! - `tokio-current-thread`: every order a task on one thread, pinned to the
//!   first CPU: concurrency alone, the makespan close to the longest order
//!   when prep is short (C1).
//! - `tokio-multi-thread`, `smol`, `async-std`: every order a task on N
//!   executor threads: parallel and concurrent at once (C4).
//!
//! On one CPU `parallel-only` is `sequential`, so it is skipped unless named.

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::claims::c4;
use harness::cli::KitchenArgs;
use harness::kitchen::{self, wait_blocking};
use harness::{Common, Session};
use workload::{Action, Checksum, KitchenPlan};

use crate::rt::{self, Job, Kind, Rt, Spec, ThreadsSeen, thread_tag};

harness::models! {
    /// The models of this experiment, in the order they run.
    pub enum Model {
        /// The baseline: one cook, blocking.
        Sequential = "sequential",
        /// N workers that block while the pot cooks.
        ParallelOnly = "parallel-only",
        /// Every order a task on one thread, pinned to the first CPU.
        TokioCurrentThread = "tokio-current-thread",
        /// Every order a task on tokio's N worker threads.
        TokioMultiThread = "tokio-multi-thread",
        /// Every order a task on smol's N executor threads.
        Smol = "smol",
        /// Every order a task on async-std's executor threads (discontinued).
        #[cfg(feature = "async-std")]
        AsyncStd = "async-std",
    }
}

/// The models of this experiment, in the order they run.
pub const MODELS: &[Model] = Model::ALL;

impl Model {
    /// The runtime the model runs on; `None` for `sequential`.
    pub const fn kind(self) -> Option<Kind> {
        match self {
            Model::Sequential => None,
            Model::ParallelOnly | Model::TokioMultiThread => Some(Kind::TokioMultiThread),
            Model::TokioCurrentThread => Some(Kind::TokioCurrentThread),
            Model::Smol => Some(Kind::Smol),
            #[cfg(feature = "async-std")]
            Model::AsyncStd => Some(Kind::AsyncStd),
        }
    }

    /// True when the cook steps block their thread (`thread::sleep`) rather
    /// than await the runtime's sleep.
    pub const fn blocks(self) -> bool {
        match self {
            Model::Sequential | Model::ParallelOnly => true,
            Model::TokioCurrentThread | Model::TokioMultiThread | Model::Smol => false,
            #[cfg(feature = "async-std")]
            Model::AsyncStd => false,
        }
    }
}

pub use harness::kitchen::{Cooked, sequential};

/// What a run of [`AllOrders`] did: the orders cooked, and which threads did
/// the prep work, how much each.
#[derive(Debug)]
pub struct Served {
    /// The orders cooked.
    pub cooked: Cooked,
    /// Which threads did the prep work, and how much each.
    pub cooks: ThreadsSeen,
}

/// Cooks order `i` in a task: prep on the CPU, cook steps as an async sleep
/// (or a blocking one, for `parallel-only`). Returns the prep checksum and
/// the completion time since `start`.
async fn cook<R: Rt>(
    rt: R,
    plan: Arc<KitchenPlan>,
    i: usize,
    start: Instant,
    block: bool,
) -> (Checksum, u64, ThreadsSeen) {
    let mut sum = Checksum::default();
    let mut cooks = ThreadsSeen::default();
    for a in plan.actions(i) {
        match a {
            Action::Prep { units, .. } => {
                sum.add(a.run_prep().unwrap_or_default());
                cooks.add(thread_tag(), units);
            }
            Action::Wait { ms } if block => wait_blocking(ms),
            Action::Wait { ms } => rt.sleep(Duration::from_millis(u64::from(ms))).await,
        }
    }
    (sum, start.elapsed().as_nanos() as u64, cooks)
}

/// Every order a task, all spawned at once from a task on the runtime.
#[derive(Debug, Clone)]
pub struct AllOrders {
    /// The orders.
    pub plan: Arc<KitchenPlan>,
    /// Cook steps block the thread (`parallel-only`) instead of sleeping asynchronously.
    pub block: bool,
}

impl Job for AllOrders {
    type Output = Served;

    async fn run<R: Rt>(self, rt: R) -> anyhow::Result<Served> {
        let start = Instant::now();
        let handles: Vec<_> = (0..self.plan.orders.len())
            .map(|i| {
                let order = cook(rt.clone(), Arc::clone(&self.plan), i, start, self.block);
                rt.spawn(order)
            })
            .collect();
        let mut checksum = Checksum::default();
        let mut done_ns = Vec::with_capacity(handles.len());
        let mut cooks = ThreadsSeen::default();
        for h in handles {
            let (c, ns, seen) = h.await?;
            checksum = checksum.merge(c);
            done_ns.push(ns);
            cooks.merge(&seen);
        }
        Ok(Served {
            cooked: Cooked {
                checksum,
                done_ns,
                makespan: start.elapsed(),
            },
            cooks,
        })
    }
}

/// The runtime of a model (`None` for `sequential`): `workers` executor
/// threads pinned round-robin to `cpus`; `tokio-current-thread`'s one thread
/// is pinned to the first, so it is one core.
pub fn spec_for(model: Model, workers: usize, cpus: &[usize]) -> Option<Spec> {
    Some(Spec::new(model.kind()?, workers).pinned(cpus.to_vec()))
}

/// `coroutine kitchen`.
pub fn run(common: &Common, args: &KitchenArgs) -> anyhow::Result<()> {
    let orders = args.orders as usize;
    let mut s = Session::start("coroutine", "kitchen", common)?;
    rt::prepare(&s)?;
    let mut models = s.select_models(MODELS)?;
    rt::note_discontinued(&s, models.iter().filter_map(|m| m.kind()));
    let parallelism = s.workers().min(s.cores.cpus.len());
    if parallelism == 1 && common.models.is_empty() {
        models.retain(|&m| m != Model::ParallelOnly);
        s.note("on one CPU parallel-only is sequential: skipped");
    }
    let per_ms = s.units_per_ms(&args.calibration);
    let plan = Arc::new(KitchenPlan::new(orders, per_ms, common.seed));
    let expected = plan.expected_checksum();
    for rep in 0..common.reps {
        let mut walls: Vec<(&str, f64)> = Vec::new();
        for &model in &models {
            let spec = spec_for(model, s.workers(), &s.cores.cpus);
            let one_cpu = spec
                .as_ref()
                .is_none_or(|sp| sp.kind.single_threaded() || parallelism == 1);
            let mut case = s
                .case(model.name(), "", rep)
                .param("orders", args.orders)
                .param("units_per_ms", per_ms)
                .param("clock", "inside-runtime");
            let (cooked, cooks) = match &spec {
                None => {
                    case.set_param("workers", 1);
                    (sequential(&plan), None)
                }
                Some(spec) => {
                    let workers = if one_cpu { 1 } else { spec.worker_threads() };
                    case = spec
                        .annotate(case)
                        .param("workers", workers)
                        .param("waits", if model.blocks() { "blocking" } else { "async" });
                    let job = AllOrders {
                        plan: Arc::clone(&plan),
                        block: model.blocks(),
                    };
                    let served = rt::run(spec, job)?;
                    (served.cooked, Some(served.cooks))
                }
            };
            cooked.check(model.name(), &plan, expected)?;
            let ms = cooked.makespan_ms();
            walls.push((model.name(), ms));
            let longest = f64::from(plan.longest_order_ms());
            let mut out = cooked
                .outcome(&plan, if one_cpu { 1 } else { parallelism })
                .figure("makespan_over_longest", ms / longest);
            if let Some(cooks) = &cooks {
                out = out
                    .figure("worker_threads_seen", cooks.count() as f64)
                    .figure("busiest_thread_work_share", cooks.busiest_share());
            }
            let concurrent_on_one_cpu = model == Model::TokioCurrentThread;
            out = out.verdict(kitchen::verdict(
                &walls,
                model.name(),
                &plan,
                parallelism,
                concurrent_on_one_cpu,
                Some(C4_MODELS),
            ));
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}

/// The models C4 compares: tasks on N workers (both at once), blocking waits
/// on N workers (parallel only), tasks on one thread (concurrent only).
const C4_MODELS: c4::Models<'static> = c4::Models {
    both: Model::TokioMultiThread.name(),
    parallel_only: Model::ParallelOnly.name(),
    concurrent_only: Model::TokioCurrentThread.name(),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_cooks_every_order() {
        // A tiny calibration keeps prep short; waiting is real (about 50 ms per model).
        let plan = Arc::new(KitchenPlan::new(3, 5.0, 1));
        let want = plan.expected_checksum();
        let cpus = harness::cores::allowed_cpus().unwrap();
        for &model in &MODELS[1..] {
            let spec = spec_for(model, 2, &cpus).unwrap();
            let job = AllOrders {
                plan: Arc::clone(&plan),
                block: model.blocks(),
            };
            let cooked = rt::run(&spec, job).unwrap().cooked;
            assert_eq!(cooked.checksum, want, "{model}");
            assert_eq!(cooked.done_ns.len(), 3);
            assert!(
                cooked.makespan >= Duration::from_millis(50),
                "no order can beat its own waiting"
            );
        }
    }
}
