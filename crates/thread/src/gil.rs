//! `gil`: the `cpu` work with one global lock held around every task, the way
//! CPython's global interpreter lock serialises bytecode.
//!
//! Models:
//! - `sequential`: one thread, no lock; the baseline.
//! - `gil-threads`: N workers take tasks from a shared counter, and hold one
//!   process-wide mutex while computing each: only one computes at a time.
//! - `no-gil-threads`: the same workers without the lock.
//!
//! With the lock, threads flat-line at a speedup of about 1 whatever the core
//! count; without it they scale. `process gil` runs the same locked work in
//! one process per core, each with its own lock, and scales: that is why
//! Python's rule is "parallelism = multiprocessing" (C11).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use harness::cli::CpuArgs;
use harness::{Common, Outcome, Session, Verdict};
use workload::{Checksum, TaskPlan};

use crate::cpu::{sequential, total_units};
use crate::speedup;
use crate::workers::timed_workers;

/// The models of this experiment, in the order they run (baseline first).
pub const MODELS: &[&str] = &["sequential", "gil-threads", "no-gil-threads"];

/// N workers (pinned round-robin to `cpus`) share the tasks dynamically;
/// with `gil`, each task runs while holding that one lock.
pub fn workers_with_lock(
    plan: &TaskPlan,
    workers: usize,
    cpus: &[usize],
    gil: Option<&Mutex<()>>,
) -> anyhow::Result<(Checksum, Duration)> {
    let next = AtomicUsize::new(0);
    let (parts, d) = timed_workers(workers, cpus, |_| {
        let mut c = Checksum::default();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= plan.len() {
                return c;
            }
            let _held = gil.map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
            c.add(plan.run_task(i));
        }
    })?;
    Ok((
        parts.into_iter().fold(Checksum::default(), Checksum::merge),
        d,
    ))
}

/// `thread gil`.
pub fn run(common: &Common, args: &CpuArgs) -> anyhow::Result<()> {
    let mut s = Session::start("thread", "gil", common)?;
    let models = s.select_models(MODELS)?;
    let workers = s.workers();
    let parallelism = workers.min(s.cores.cpus.len());
    let (units, per_ms) = total_units(&s, args);
    if parallelism == 1 {
        s.note(
            "C11 needs 2 or more CPUs (--cores 2+): on one CPU nothing can scale, lock or no lock",
        );
    }
    let gil = Mutex::new(());
    for rep in 0..common.reps {
        for dist in args.dist.dists() {
            let plan = TaskPlan::new(dist, args.tasks as usize, units, common.seed);
            let mut expected = (!models.contains(&"sequential")).then(|| plan.expected_checksum());
            let mut seq_ns = None;
            let mut speedups: Vec<(&str, f64)> = Vec::new();
            for (i, &model) in models.iter().enumerate() {
                let mut case = s
                    .case(model, dist.name(), rep)
                    .param("tasks", args.tasks)
                    .param("work_units", units)
                    .param("dist", dist.name())
                    .param("workers", if model == "sequential" { 1 } else { workers });
                if let Some(u) = per_ms {
                    case.set_param("units_per_ms", u);
                }
                let (sum, wall) = match model {
                    "sequential" => sequential(&plan),
                    "gil-threads" => workers_with_lock(&plan, workers, &s.cores.cpus, Some(&gil))?,
                    _ => workers_with_lock(&plan, workers, &s.cores.cpus, None)?,
                };
                let want = *expected.get_or_insert(sum);
                anyhow::ensure!(
                    sum == want,
                    "{model} produced checksum {} instead of {}",
                    sum.hex(),
                    want.hex()
                );
                let mut out = Outcome::new(plan.len() as u64).wall(wall).checksum(sum);
                let wall_ns = wall.as_nanos() as u64;
                if model == "sequential" {
                    seq_ns = Some(wall_ns);
                } else if let Some(base) = seq_ns {
                    let (x, eff) = speedup(base, wall_ns, parallelism);
                    speedups.push((model, x));
                    out = out.figure("speedup", x).figure("efficiency", eff);
                }
                if i + 1 == models.len()
                    && dist == workload::Dist::Balanced
                    && let Some(v) = verdict(&speedups, parallelism)
                {
                    out = out.verdict(v);
                }
                let r = case.finish(&s, out)?;
                s.emit(r)?;
            }
        }
    }
    s.finish()
}

/// C11: locked threads stay near 1×, unlocked ones scale.
fn verdict(speedups: &[(&str, f64)], parallelism: usize) -> Option<Verdict> {
    if parallelism < 2 {
        return None;
    }
    let get = |m: &str| speedups.iter().find(|(n, _)| *n == m).map(|(_, x)| *x);
    let (gil, free) = (get("gil-threads")?, get("no-gil-threads")?);
    let free_eff = free / parallelism as f64;
    Some(Verdict::new(
        "C11",
        gil <= 1.10 && free_eff >= 0.70,
        format!(
            "on {parallelism} CPUs threads holding one global lock ran {gil:.2}× one thread (flat: ≤ 1.10), \
             the same threads without it {free:.2}× (efficiency {free_eff:.2}); processes, each with its own lock, \
             are the way around it (process gil)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use workload::Dist;

    #[test]
    fn the_lock_does_not_change_the_work() {
        let plan = TaskPlan::new(Dist::Balanced, 20, 200, 3);
        let m = Mutex::new(());
        let (want, _) = sequential(&plan);
        assert_eq!(workers_with_lock(&plan, 3, &[], Some(&m)).unwrap().0, want);
        assert_eq!(workers_with_lock(&plan, 3, &[], None).unwrap().0, want);
    }

    #[test]
    fn verdict_needs_both_models_and_two_cpus() {
        assert!(verdict(&[("gil-threads", 1.0), ("no-gil-threads", 3.8)], 1).is_none());
        assert!(verdict(&[("gil-threads", 1.0)], 4).is_none());
        assert!(
            verdict(&[("gil-threads", 1.0), ("no-gil-threads", 3.8)], 4)
                .unwrap()
                .holds
        );
        assert!(
            !verdict(&[("gil-threads", 2.5), ("no-gil-threads", 3.8)], 4)
                .unwrap()
                .holds
        );
    }
}
