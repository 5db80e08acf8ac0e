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

use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use harness::cli::KitchenArgs;
use harness::{Common, Outcome, Session, UsageError, Verdict, guard, hist, limits};
use workload::{Checksum, KitchenPlan};

use crate::child::{SingleThreaded, fork_child, gather, pipe, send_words, wait_all};
use crate::workers::{checksum_words, words_checksum};

/// The models of this experiment, in the order they run.
pub const MODELS: &[&str] = &["sequential", "process-per-order"];

/// What a model produced: the prep checksum, each order's completion time
/// since the start, and the makespan.
#[derive(Debug)]
pub struct Cooked {
    /// Checksum of all prep work.
    pub checksum: Checksum,
    /// Completion time of each order, nanoseconds since the start.
    pub done_ns: Vec<u64>,
    /// Time until the last order was done.
    pub makespan: Duration,
}

fn wait_ms(ms: u32) {
    thread::sleep(Duration::from_millis(u64::from(ms)));
}

/// One cook, order after order, in this process.
pub fn sequential(plan: &KitchenPlan) -> Cooked {
    let start = Instant::now();
    let mut checksum = Checksum::default();
    let mut done_ns = Vec::with_capacity(plan.orders.len());
    for i in 0..plan.orders.len() {
        checksum = checksum.merge(plan.cook_blocking(i, wait_ms));
        done_ns.push(start.elapsed().as_nanos() as u64);
    }
    Cooked {
        checksum,
        done_ns,
        makespan: start.elapsed(),
    }
}

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
            let sum = plan.cook_blocking(i, wait_ms);
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
    let ideal = plan.ideal_makespan_ms(parallelism);
    if parallelism > 1 {
        s.note(&format!(
            "C1 is decided on one CPU (--cores 1); on {parallelism} CPUs the orders' processes also run in parallel"
        ));
    }
    for rep in 0..common.reps {
        let mut walls: Vec<(&str, f64)> = Vec::new();
        for &model in &models {
            let case = s
                .case(model, "", rep)
                .param("orders", args.orders)
                .param("units_per_ms", per_ms)
                .param("workers", if model == "sequential" { 1 } else { orders });
            let cooked = match model {
                "sequential" => sequential(&plan),
                _ => {
                    process_per_order(&plan).with_context(|| format!("{model}, rep {}", rep + 1))?
                }
            };
            anyhow::ensure!(
                cooked.checksum == expected && cooked.done_ns.len() == orders,
                "{model} cooked {} of {orders} orders with checksum {} instead of {}",
                cooked.done_ns.len(),
                cooked.checksum.hex(),
                expected.hex()
            );
            let ms = cooked.makespan.as_secs_f64() * 1e3;
            walls.push((model, ms));
            let mut h = hist::new();
            cooked
                .done_ns
                .iter()
                .for_each(|&ns| hist::record(&mut h, ns));
            let model_ideal = if model == "sequential" {
                plan.ideal_makespan_ms(1)
            } else {
                ideal
            };
            let mut out = Outcome::new(orders as u64)
                .wall(cooked.makespan)
                .checksum(cooked.checksum)
                .histogram(h)
                .figure("makespan_ms", ms)
                .figure("longest_order_ms", f64::from(plan.longest_order_ms()))
                .figure("sum_of_orders_ms", plan.sum_ms() as f64)
                .figure("ideal_makespan_ms", model_ideal)
                .figure("makespan_over_ideal", ms / model_ideal);
            if model == "process-per-order"
                && parallelism == 1
                && let Some(v) = c1(&walls, &plan)
            {
                out = out.verdict(v);
            }
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}

/// C1: on one CPU the processes finish near the longest order (or the CPU
/// bound), the sequential cook near the sum of all orders.
pub fn c1(walls: &[(&str, f64)], plan: &KitchenPlan) -> Option<Verdict> {
    let seq = walls.iter().find(|w| w.0 == "sequential")?.1;
    let conc = walls.iter().find(|w| w.0 == "process-per-order")?.1;
    let ideal = plan.ideal_makespan_ms(1);
    let sum = plan.sum_ms() as f64;
    let holds = conc <= 1.15 * ideal && seq >= 0.90 * sum && conc < seq;
    Some(Verdict::new(
        "C1",
        holds,
        format!(
            "{} orders on 1 CPU: one process per order {conc:.1} ms vs best possible {ideal:.1} ms \
             (longest order {} ms); sequential {seq:.1} ms vs sum of orders {sum:.0} ms",
            plan.orders.len(),
            plan.longest_order_ms()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_compares_the_right_models() {
        let plan = KitchenPlan::new(3, 5.0, 1);
        let v = c1(&[("sequential", 126.0), ("process-per-order", 53.0)], &plan).unwrap();
        assert!(v.holds, "{}", v.text);
        let v = c1(
            &[("sequential", 126.0), ("process-per-order", 120.0)],
            &plan,
        )
        .unwrap();
        assert!(!v.holds);
        assert!(c1(&[("process-per-order", 53.0)], &plan).is_none());
    }

    #[test]
    fn sequential_cooks_every_order() {
        let plan = KitchenPlan::new(3, 5.0, 1);
        let cooked = sequential(&plan);
        assert_eq!(cooked.checksum, plan.expected_checksum());
        assert!(cooked.makespan >= Duration::from_millis(u64::from(plan.longest_order_ms())));
    }
}
