//! `kitchen`: the seed notes' kitchen, one process per order.
//!
//! Orders of ramen, fried rice and spicy pork; every dish is prep steps (CPU
//! work, the kernel) and cooking steps (waiting, `sleep`). A sample is one
//! order's completion time from the start; the wall time is the makespan.
//! The prep units come from the calibration, which every order process
//! inherits through the fork with the rest of the plan.
//!
//! Models:
//! - `sequential`: this process cooks one order after another, watching every
//!   pot: the makespan is the sum of the orders.
//! - `process-per-order`: one forked process per order, all started at once
//!   (forking is inside the makespan: it is the model's cost); each cooks its
//!   order and sends its prep checksum and completion time through a pipe.
//!   Waiting overlaps across processes even on one CPU (C1).

use std::time::Instant;

use anyhow::Context as _;

use harness::cli::KitchenArgs;
use harness::kitchen::{self, wait_blocking};
use harness::{Common, Session, UsageError, guard, limits};
use workload::{Checksum, KitchenPlan};

use crate::child::{SingleThreaded, fork_child, gather, pipe, send_words, wait_all};
use crate::workers::{checksum_words, words_checksum};

harness::models! {
    /// The models of this experiment, in the order they run.
    pub enum Model {
        /// This process cooks one order after another.
        Sequential = "sequential",
        /// One forked process per order, all started at once.
        ProcessPerOrder = "process-per-order",
    }
}

/// The models of this experiment, in the order they run.
pub const MODELS: &[Model] = Model::ALL;

pub use harness::kitchen::{Cooked, sequential};

/// One forked process per order; the makespan ends when the last order's
/// answer arrives.
pub fn process_per_order(plan: &KitchenPlan) -> anyhow::Result<Cooked> {
    let proof = SingleThreaded::check()?;
    let n = plan.orders.len();
    let mut children = Vec::with_capacity(n);
    let mut pipes = Vec::with_capacity(n);
    // `Instant` is the monotonic clock, the same in every process.
    let start = Instant::now();
    for i in 0..n {
        let (answer_r, mut answer_w) = pipe()?;
        children.push(fork_child(&proof, "order process", i, || {
            let sum = plan.cook_blocking(i, wait_blocking);
            let [s, c] = checksum_words(sum);
            send_words(&mut answer_w, [s, c, start.elapsed().as_nanos() as u64])?;
            Ok(())
        })?);
        pipes.push(answer_r);
    }
    let answers = gather::<3>(&mut children, &pipes)?;
    let makespan = start.elapsed();
    wait_all(children)?;
    Ok(Cooked {
        checksum: answers
            .iter()
            .map(|a| words_checksum([a[0], a[1]]))
            .fold(Checksum::default(), Checksum::merge),
        done_ns: answers.iter().map(|a| a[2]).collect(),
        makespan,
    })
}

/// `process kitchen`.
pub fn run(common: &Common, args: &KitchenArgs) -> anyhow::Result<()> {
    let orders = args.orders as usize;
    if orders >= guard::MAX_CHILDREN {
        return Err(UsageError(format!(
            "--orders {orders} is more than the {} children the child guard can track; ask for fewer",
            guard::MAX_CHILDREN - 1
        ))
        .into());
    }
    limits::check_processes(args.orders)?;
    // One pipe per order is open until its answer is read.
    limits::ensure_open_files(args.orders)?;
    let mut s = Session::start("process", "kitchen", common)?;
    let models = s.select_models(MODELS)?;
    let parallelism = s.workers().min(s.cores.cpus.len());
    let per_ms = s.units_per_ms(&args.calibration);
    let plan = KitchenPlan::new(orders, per_ms, common.seed);
    let expected = plan.expected_checksum();
    if parallelism > 1 {
        s.note(&format!(
            "{} is decided on one CPU (--cores 1); on {parallelism} CPUs the orders' processes also run in parallel",
            harness::Claim::C1
        ));
    }
    for rep in 0..common.reps {
        let mut walls: Vec<(&str, f64)> = Vec::new();
        for &model in &models {
            let (workers, cpus) = match model {
                Model::Sequential => (1, 1),
                Model::ProcessPerOrder => (orders, parallelism),
            };
            let case = s
                .case(model.name(), "", rep)
                .param("orders", args.orders)
                .param("units_per_ms", per_ms)
                .param("workers", workers);
            let cooked = match model {
                Model::Sequential => sequential(&plan),
                Model::ProcessPerOrder => {
                    process_per_order(&plan).with_context(|| format!("{model}, rep {}", rep + 1))?
                }
            };
            cooked.check(model.name(), &plan, expected)?;
            walls.push((model.name(), cooked.makespan_ms()));
            // No model here is concurrent only or parallel only: no C4.
            let on_one_cpu = model == Model::ProcessPerOrder && parallelism == 1;
            let verdict =
                kitchen::verdict(&walls, model.name(), &plan, parallelism, on_one_cpu, None);
            let out = cooked.outcome(&plan, cpus).verdict(verdict);
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}
