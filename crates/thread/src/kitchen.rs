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
use std::time::{Duration, Instant};

use harness::cli::KitchenArgs;
use harness::cores::pin_current_thread;
use harness::{Common, Outcome, Session, Verdict, hist, limits};
use workload::{Checksum, KitchenPlan};

/// The models of this experiment, in the order they run.
pub const MODELS: &[&str] = &[
    "sequential",
    "parallel-only",
    "concurrent-only",
    "thread-per-order",
];

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

/// One cook, order after order.
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
                            sum = sum.merge(plan.cook_blocking(i, wait_ms));
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
                        let sum = plan.cook_blocking(i, wait_ms);
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
        models.retain(|m| *m != "parallel-only" && *m != "concurrent-only");
        s.note("on one CPU parallel-only is sequential and concurrent-only is thread-per-order: skipped");
    }
    if models
        .iter()
        .any(|m| m.contains("order") || *m == "concurrent-only")
    {
        limits::check_threads(args.orders, 2 << 20)?;
    }
    let per_ms = s.units_per_ms(&args.calibration);
    let plan = KitchenPlan::new(orders, per_ms, common.seed);
    let expected = plan.expected_checksum();
    let first_cpu = s.cores.cpus[0];
    let ideal_1 = plan.ideal_makespan_ms(1);
    let ideal_n = plan.ideal_makespan_ms(parallelism);
    for rep in 0..common.reps {
        let mut walls: Vec<(&str, f64)> = Vec::new();
        for &model in &models {
            let one_cpu =
                model == "concurrent-only" || (model == "thread-per-order" && parallelism == 1);
            let case = s
                .case(model, "", rep)
                .param("orders", args.orders)
                .param("units_per_ms", per_ms)
                .param(
                    "workers",
                    if model == "sequential" || one_cpu {
                        1
                    } else {
                        s.workers()
                    },
                );
            let cooked = match model {
                "sequential" => sequential(&plan),
                "parallel-only" => parallel_only(&plan, s.workers())?,
                "concurrent-only" => thread_per_order(&plan, Some(first_cpu))?,
                _ => thread_per_order(&plan, None)?,
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
            let ideal = if one_cpu || model == "sequential" {
                ideal_1
            } else {
                ideal_n
            };
            let mut out = Outcome::new(orders as u64)
                .wall(cooked.makespan)
                .checksum(cooked.checksum)
                .histogram(h)
                .figure("makespan_ms", ms)
                .figure("longest_order_ms", f64::from(plan.longest_order_ms()))
                .figure("sum_of_orders_ms", plan.sum_ms() as f64)
                .figure("ideal_makespan_ms", ideal)
                .figure("makespan_over_ideal", ms / ideal);
            let verdict = if one_cpu {
                c1(&walls, &plan)
            } else if model == "thread-per-order" {
                c4(&walls, parallelism, ideal_n)
            } else {
                None
            };
            if let Some(v) = verdict {
                out = out.verdict(v);
            }
            let r = case.finish(&s, out)?;
            s.emit(r)?;
        }
    }
    s.finish()
}

/// C1: on one CPU the concurrent cook finishes near the longest order (or the
/// CPU bound), the sequential one near the sum of all orders.
pub fn c1(walls: &[(&str, f64)], plan: &KitchenPlan) -> Option<Verdict> {
    let seq = walls.iter().find(|w| w.0 == "sequential")?.1;
    let conc = walls.last()?.1;
    let ideal = plan.ideal_makespan_ms(1);
    let sum = plan.sum_ms() as f64;
    let holds = conc <= 1.15 * ideal && seq >= 0.90 * sum && conc < seq;
    Some(Verdict::new(
        "C1",
        holds,
        format!(
            "{} orders on 1 CPU: concurrent {conc:.1} ms vs best possible {ideal:.1} ms (longest order {} ms); \
             sequential {seq:.1} ms vs sum of orders {sum:.0} ms",
            plan.orders.len(),
            plan.longest_order_ms()
        ),
    ))
}

/// C4: parallel and concurrent together beat either alone.
pub fn c4(walls: &[(&str, f64)], cores: usize, ideal: f64) -> Option<Verdict> {
    let get = |m: &str| walls.iter().find(|w| w.0 == m).map(|w| w.1);
    let both = walls.last()?.1;
    let (par, conc) = (get("parallel-only")?, get("concurrent-only")?);
    Some(Verdict::new(
        "C4",
        both < par && both < conc,
        format!(
            "on {cores} CPUs: parallel + concurrent {both:.1} ms (best possible {ideal:.1} ms) vs parallel only {par:.1} ms \
             vs concurrent only (1 CPU) {conc:.1} ms"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn verdicts_compare_the_right_models() {
        let plan = KitchenPlan::new(3, 5.0, 1);
        let v = c1(&[("sequential", 126.0), ("thread-per-order", 53.0)], &plan).unwrap();
        assert!(v.holds, "{}", v.text);
        let v = c1(&[("sequential", 126.0), ("thread-per-order", 120.0)], &plan).unwrap();
        assert!(!v.holds);
        let w = [
            ("parallel-only", 400.0),
            ("concurrent-only", 300.0),
            ("thread-per-order", 120.0),
        ];
        assert!(c4(&w, 3, 100.0).unwrap().holds);
        let w = [
            ("parallel-only", 100.0),
            ("concurrent-only", 300.0),
            ("thread-per-order", 120.0),
        ];
        assert!(!c4(&w, 3, 100.0).unwrap().holds);
    }
}
